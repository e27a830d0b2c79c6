"""Diagnostics: located, explained user errors, and how they are printed.

User mistakes never raise; every phase returns a list of `Diagnostic`s and the
CLI renders them. Rendering follows rustc/HCL: the location, the numbered
source line with a caret under the span, then help.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Output stays bounded whatever the spec holds: a source line longer than
# MAX_EXCERPT columns shows a window around the span, with `…` where it is cut;
# a message, label, help or note shows at most MAX_TEXT characters, and any run
# of text without spaces in it (a name, value or path) at most MAX_WORD.
MAX_EXCERPT = 160
MAX_TEXT = 400
MAX_WORD = 80
_CONTEXT = 40  # columns shown before a span that starts far into a long line


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based, end-exclusive source range. `file` is the display path."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def start(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def short(self) -> str:
        return f"{self.line}:{self.col}"


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    span: Span | None = None
    label: str = ""
    help: str = ""
    notes: tuple[str, ...] = field(default=())
    redact: bool = False  # the span holds a secret: never echo it


    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "severity": self.severity.value,
            "code": self.code,
            "message": clip(self.message),
        }
        if self.span is not None:
            s = self.span
            out["span"] = {
                "file": s.file,
                "line": s.line,
                "col": s.col,
                "end_line": s.end_line,
                "end_col": s.end_col,
            }
        if self.label:
            out["label"] = clip(self.label)
        if self.help:
            out["help"] = clip(self.help)
        if self.notes:
            out["notes"] = [clip(note) for note in self.notes]
        return out


def error(code: str, message: str, span: Span | None = None, *, label: str = "",
          help: str = "", notes: Iterable[str] = (), redact: bool = False) -> Diagnostic:
    return Diagnostic(Severity.ERROR, code, message, span, label, help, tuple(notes), redact)


def warning(code: str, message: str, span: Span | None = None, *, label: str = "",
            help: str = "", notes: Iterable[str] = ()) -> Diagnostic:
    return Diagnostic(Severity.WARNING, code, message, span, label, help, tuple(notes))


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[object, ...]:
    span = d.span or Span("", 0, 0, 0, 0)
    return (span.file, span.line, span.col, d.code, d.message)


class ReportedError(Exception):
    """Raised to stop a command whose diagnostics were already collected."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} diagnostic(s)")
        self.diagnostics = diagnostics


def render(d: Diagnostic, sources: Mapping[str, str]) -> str:
    """Render one diagnostic; `sources` maps a span's file to its text."""
    head = f"{d.severity.value}[{d.code}]: {clip(d.message)}"
    lines = [head]
    span = d.span
    text = sources.get(span.file) if span else None
    if span is not None:
        lines.append(f"  --> {span.start()}")
    if span is not None and text is not None:
        bounds = _line_index(text).bounds(span.line)
        if bounds is not None:
            end_col = span.end_col if span.end_line == span.line else bounds[1] - bounds[0] + 1
            src, start, width = _excerpt(text, bounds, span.col, end_col)
            gutter = " " * len(str(span.line))
            if d.redact:
                src = src[:start] + "*" * width + src[start + width:]
            caret = " " * start + "^" * max(1, width)
            lines.append(f"{gutter} |")
            lines.append(f"{span.line} | {src}")
            lines.append(f"{gutter} | {caret}" + (f" {clip(d.label)}" if d.label else ""))
    pad = " " * (len(str(span.line)) if span else 1)
    for note in d.notes:
        lines.append(f"{pad} = note: {clip(note)}")
    if d.help:
        lines.append(f"{pad} = help: {clip(d.help)}")
    return "\n".join(lines)


def _excerpt(text: str, bounds: tuple[int, int], col: int, end_col: int) -> tuple[str, int, int]:
    """The part of a source line to print, the span's offset in it and its width.

    `bounds` are where the line starts and ends in `text`. A line of at most
    MAX_EXCERPT columns is printed whole. A longer one is cut to a window that
    starts a little before the span, with `…` at a cut end; the caret stays
    under the same characters and stops at the window's edge. Only the window
    is copied out of the text.
    """
    begin, end = bounds
    length = end - begin
    if length <= MAX_EXCERPT:
        return _printable(text[begin:end]), col - 1, end_col - col
    room = MAX_EXCERPT - 2  # two columns for the `…`s
    first = max(0, min(col - 1 - _CONTEXT, length - room))
    last = min(length, first + room)
    shown = ("…" if first else "") + _printable(text[begin + first:begin + last]) + ("…" if last < length else "")
    start = col - 1 - first + (1 if first else 0)
    width = min(end_col - 1, last) - (col - 1)
    return shown, start, width


class _LineIndex:
    """Finds a line of a text by number without splitting the text into lines.

    It keeps the offset of every STEP-th line; the regex engine skips the rest
    (up to STEP - 1 lines) at C speed. So a text of millions of lines costs a
    few thousand offsets, not a string per line.
    """

    STEP = 1024

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]  # where lines 1, 1 + STEP, 1 + 2 * STEP, ... start
        skip, pos = _skip(self.STEP), 0
        while (m := skip.match(text, pos)) is not None:
            pos = m.end()
            self.starts.append(pos)
        # The line found last: diagnostics come in order, so the next one is
        # on the same line or found by skipping on from it.
        self.last: tuple[int, tuple[int, int]] = (0, (0, 0))

    def bounds(self, number: int) -> tuple[int, int] | None:
        """Where line `number` (1-based) starts and ends (at its newline); None past the end."""
        if number < 1:
            return None
        last = self.last  # read once: the index is shared, through the cache
        if number == last[0]:
            return last[1]
        block = (number - 1) // self.STEP
        if block >= len(self.starts):
            return None
        line, pos = block * self.STEP + 1, self.starts[block]
        if line < last[0] < number:
            line, pos = last[0], last[1][0]
        if number > line:
            m = _skip(number - line).match(self.text, pos)
            if m is None:
                return None
            pos = m.end()
        end = self.text.find("\n", pos)
        self.last = (number, (pos, len(self.text) if end < 0 else end))
        return self.last[1]


@functools.lru_cache(maxsize=16)
def _line_index(text: str) -> _LineIndex:
    # Cached: a file with thousands of diagnostics is indexed once, not once each.
    return _LineIndex(text)


@functools.lru_cache(maxsize=256)
def _skip(lines: int) -> re.Pattern[str]:
    return re.compile(f"(?:[^\\n]*\\n){{{lines}}}")


def _printable(line: str) -> str:
    # Tabs would misalign the caret; control characters would garble a terminal.
    return "".join(" " if c == "\t" else (c if c.isprintable() else "?") for c in line)


def clip(text: str) -> str:
    """`text` cut to MAX_TEXT characters, and each run without spaces to MAX_WORD."""
    if len(text) <= MAX_WORD:
        return text
    text = _LONG_RUN.sub(lambda m: _middle(m.group(), MAX_WORD), text)
    return _middle(text, MAX_TEXT)


_LONG_RUN = re.compile(rf"\S{{{MAX_WORD + 1},}}")


def _middle(text: str, limit: int) -> str:
    # Both ends stay: a quoted name keeps its quotes, a path its file name.
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    diags = list(diagnostics)
    errors = sum(d.is_error for d in diags)
    warnings = len(diags) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"
