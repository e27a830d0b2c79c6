"""Diagnostics: located, explained user errors, and how they are printed.

User mistakes never raise; every phase returns a list of `Diagnostic`s and the
CLI renders them. Rendering follows rustc/HCL: the location, the numbered
source line with a caret under the span, then help.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


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
            "message": self.message,
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
            out["label"] = self.label
        if self.help:
            out["help"] = self.help
        if self.notes:
            out["notes"] = list(self.notes)
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
    head = f"{d.severity.value}[{d.code}]: {d.message}"
    lines = [head]
    span = d.span
    text = sources.get(span.file) if span else None
    if span is not None:
        lines.append(f"  --> {span.start()}")
    if span is not None and text is not None:
        source_lines = _lines(text)
        if 1 <= span.line <= len(source_lines):
            src = _printable(source_lines[span.line - 1])
            gutter = " " * len(str(span.line))
            end_col = span.end_col if span.end_line == span.line else len(src) + 1
            if d.redact:
                src = src[: span.col - 1] + "*" * (end_col - span.col) + src[end_col - 1:]
            width = max(1, end_col - span.col)
            caret = " " * (span.col - 1) + "^" * width
            lines.append(f"{gutter} |")
            lines.append(f"{span.line} | {src}")
            lines.append(f"{gutter} | {caret}" + (f" {d.label}" if d.label else ""))
    pad = " " * (len(str(span.line)) if span else 1)
    for note in d.notes:
        lines.append(f"{pad} = note: {note}")
    if d.help:
        lines.append(f"{pad} = help: {d.help}")
    return "\n".join(lines)


@functools.lru_cache(maxsize=16)
def _lines(text: str) -> list[str]:
    # Cached: a file with thousands of diagnostics is split once, not once each.
    return text.split("\n")


def _printable(line: str) -> str:
    # Tabs would misalign the caret; control characters would garble a terminal.
    return "".join(" " if c == "\t" else (c if c.isprintable() else "?") for c in line)


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
