"""Reading spec files: bytes to text, with located errors for bad input."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ragdsl.diagnostics import Diagnostic, Span, error

MAX_SPEC_BYTES = 16 * 1024 * 1024
MAX_NESTING = 64


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


def check_nesting(source: SourceFile) -> list[Diagnostic]:
    """Refuse absurd bracket nesting before it reaches recursive code."""
    depth = 0
    line, col = 1, 0
    in_string = in_comment = escaped = False
    for ch in source.text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
            in_comment = False
            in_string = False
            continue
        if in_comment:
            continue
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == "#":
            in_comment = True
        elif ch == '"':
            in_string = True
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                return [error("E003", f"brackets nested more than {MAX_NESTING} deep",
                              Span(source.display, line, col, line, col + 1),
                              help="flatten the expression; no ragdsl value needs this much nesting")]
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return []
