"""Formatting files (the `fmt` command's library half)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.diagnostics import Diagnostic, has_errors
from ragdsl.source import read_source
from ragdsl.syntax.format import format_module
from ragdsl.syntax.parser import parse_module


@dataclass
class FormatResult:
    path: Path
    original: str = ""
    formatted: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return not self.diagnostics and self.original != self.formatted

    def diff(self) -> str:
        name = self.path.as_posix()
        return "".join(difflib.unified_diff(self.original.splitlines(True), self.formatted.splitlines(True),
                                            f"a/{name}", f"b/{name}"))


def format_text(text: str, name: str = "<text>") -> tuple[str | None, list[Diagnostic]]:
    from ragdsl.source import decode

    source, diags = decode(text.encode("utf-8"), name, Path.cwd() / name)
    if source is None:
        return None, diags
    module, diags = parse_module(source)
    if module is None or has_errors(diags):
        return None, diags
    return format_module(module), []


def format_file(path: Path) -> FormatResult:
    source, diags = read_source(path)
    if source is None:
        return FormatResult(path, diagnostics=diags)
    module, diags = parse_module(source)
    if module is None or has_errors(diags):
        return FormatResult(path, source.text, diagnostics=diags, sources={source.display: source.text})
    raw = path.read_bytes().decode("utf-8-sig")
    del source  # the module is all formatting needs: one copy of a large file less while it runs
    return FormatResult(path, raw, format_module(module))
