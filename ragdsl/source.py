"""Reading spec files: bytes to text, with located errors for bad input."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ragdsl.diagnostics import Diagnostic, Span, error

MAX_SPEC_BYTES = 16 * 1024 * 1024
MAX_NESTING = 64
MAX_TOKENS = 100_000  # per file; see check_limits
MAX_NAME_CHARS = 128

# A string literal: the grammar's STRING terminal (`grammar.py` puts this form in
# its place). Unrolled, so the regex engine keeps no state per plain character;
# with possessive quantifiers (Python 3.11+) none per escape either. The textbook
# form, /"(?:[^"\\\n]|\\.)*"/, costs about 120 bytes per character matched.
STRING_PATTERN = (r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"' if sys.version_info >= (3, 11)
                  else r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')


@dataclass(frozen=True)
class SourceFile:
    display: str  # the path shown in messages and spans: relative, posix
    path: Path  # absolute, for resolving relative paths inside the spec
    text: str

    @property
    def directory(self) -> Path:
        return self.path.parent


def display_path(path: Path) -> str:
    """A stable path for messages: relative to the working directory."""
    try:
        rel = os.path.relpath(path, Path.cwd())
    except ValueError:  # another drive on Windows
        rel = str(path)
    return Path(rel).as_posix()


def read_source(path: Path, display: str | None = None) -> tuple[SourceFile | None, list[Diagnostic]]:
    shown = display or display_path(path)
    whole = Span(shown, 1, 1, 1, 1)
    try:
        if path.is_dir():
            return None, [error("E601", f"'{shown}' is a directory, not a .rag file", whole)]
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            return None, [error("E004", f"spec file is too large ({size} bytes)", whole,
                                help=f"a spec may be at most {MAX_SPEC_BYTES // (1024 * 1024)} MiB; "
                                "split it into files joined by `import`")]
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [error("E601", f"file not found: '{shown}'", None,
                            help="check the path; relative paths are resolved from the working directory")]
    except OSError as exc:
        return None, [error("E601", f"cannot read '{shown}': {exc.strerror or exc}", None)]
    return decode(data, shown, path.resolve())


def decode(data: bytes, shown: str, path: Path) -> tuple[SourceFile | None, list[Diagnostic]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        return None, [error("E001", f"not UTF-8 text: invalid byte 0x{data[exc.start]:02x}",
                            Span(shown, line, col, line, col + 1),
                            help="spec files must be UTF-8 text; is this a binary file?")]
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return None, [error("E001", "not a text file: it contains a NUL byte",
                            Span(shown, line, col, line, col + 1),
                            help="spec files must be UTF-8 text; is this a binary file?")]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceFile(shown, path, text), []


def _position(data: bytes, offset: int) -> tuple[int, int]:
    prefix = data[:offset]
    line = prefix.count(b"\n") + 1
    col = len(prefix) - (prefix.rfind(b"\n") + 1) + 1
    return line, col


# One match per lexical item and the space before it, roughly as the grammar's
# lexer splits the text: a string (skipped in one step at C speed, however
# long), a comment, a number, a name, or one other character (a bracket or a
# punctuation mark). Only the groups that matter are numbered: 1 an opening
# bracket, 2 a closing one, 3 a name. Matched one after another (not searched
# for), so no position is tried twice.
_ITEM = re.compile(
    r"\s*(?:"
    + STRING_PATTERN + "?"  # a string; an unterminated one stops at the line's end
    r"|#[^\n]*"  # a comment
    r"|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"  # a number
    r"|([(\[{])|([)\]}])"  # brackets
    r"|([A-Za-z_][A-Za-z0-9_]*)"  # a name
    r"|\S)"  # anything else, one character at a time
)
_SPACE = re.compile(r"\s*")


def check_limits(source: SourceFile) -> list[Diagnostic]:
    """Refuse absurd nesting, token counts or names before they reach the parser.

    Brackets nested deeper than MAX_NESTING would exhaust recursive code; more
    than MAX_TOKENS tokens would cost the parser and checker Python objects
    (about 1 KB per token, all told) and seconds per hundred thousand; a name
    of megabytes would be compared with every declared name for a did-you-mean.
    One scan, in time linear in the number of tokens, stops at the first excess.
    """
    text = source.text
    depth = tokens = pos = 0
    while (m := _ITEM.match(text, pos)) is not None:
        pos = m.end()
        tokens += 1
        if tokens > MAX_TOKENS:
            space = _SPACE.match(text, m.start())  # always matches; the token starts after it
            start = space.end() if space else m.start()
            return [error("E004", f"spec file is too large (more than {MAX_TOKENS:,} tokens)",
                          _span_at(source, start, pos),
                          label="the limit is reached here",
                          help=f"a spec may hold at most {MAX_TOKENS:,} names, values and symbols; "
                          "split it into files joined by `import`, and keep large data in data files")]
        group = m.lastindex
        if group == 1:
            depth += 1
            if depth > MAX_NESTING:
                return [error("E003", f"brackets nested more than {MAX_NESTING} deep",
                              _span_at(source, m.start(1), m.end(1)),
                              help="flatten the expression; no ragdsl value needs this much nesting")]
        elif group == 2:
            depth = max(0, depth - 1)
        elif group == 3 and m.end(3) - m.start(3) > MAX_NAME_CHARS:
            return [error("E005", f"name is too long ({m.end(3) - m.start(3):,} characters)",
                          _span_at(source, m.start(3), m.end(3)),
                          help=f"a name may have at most {MAX_NAME_CHARS} characters")]
    return []


def bracket_offsets(text: str, start: int = 0, end: int | None = None) -> Iterator[int]:
    """Offsets of the brackets in text[start:end], outside strings and comments."""
    end = len(text) if end is None else end
    while (m := _ITEM.match(text, start, end)) is not None:
        start = m.end()
        if m.lastindex in (1, 2):
            yield m.start(m.lastindex)


def _span_at(source: SourceFile, start: int, end: int) -> Span:
    """The span of text[start:end], cut at the end of its line."""
    text = source.text
    line = text.count("\n", 0, start) + 1
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    end = min(end, len(text) if line_end < 0 else line_end)
    col = start - line_start + 1
    return Span(source.display, line, col, line, max(col + 1, end - line_start + 1))
