"""Finding the grammar file and building the (cached) Lark parser."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lark import Lark

_CANDIDATES = (
    Path(__file__).resolve().parent.parent / "grammar" / "rag.lark",  # inside a built wheel
    Path(__file__).resolve().parents[2] / "grammar" / "rag.lark",  # source checkout / editable
)


def grammar_path() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("ragdsl's grammar file rag.lark is missing from the installation")


@functools.cache
def parser() -> Lark:
    from lark import Lark

    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        start=["module", "expr", "override"],
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _collect_comment},
        edit_terminals=_edit_terminal,
    )


def _edit_terminal(terminal) -> None:
    # The same strings, matched without backtracking state per escape where
    # the re module can say so (possessive quantifiers, Python 3.11+).
    from ragdsl.source import STRING_PATTERN

    written = terminal.pattern.value.replace("\n", r"\n")  # Lark has turned `\n` into a newline
    if terminal.name == "STRING" and written == _GRAMMAR_STRING:
        terminal.pattern.value = STRING_PATTERN


_GRAMMAR_STRING = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'  # as written in rag.lark


# The grammar ignores comments; fmt needs them, so the lexer hands each one to
# whichever parse is collecting (a context variable keeps parses independent).
_comment_sink: contextvars.ContextVar[list | None] = contextvars.ContextVar("comment_sink", default=None)


def _collect_comment(token):
    sink = _comment_sink.get()
    if sink is not None:
        sink.append(token)
    return token


@contextlib.contextmanager
def collecting_comments() -> Iterator[list]:
    sink: list = []
    reset = _comment_sink.set(sink)
    try:
        yield sink
    finally:
        _comment_sink.reset(reset)
