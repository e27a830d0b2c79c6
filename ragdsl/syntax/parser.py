"""Text to AST, turning Lark's exceptions into located diagnostics.

When a file has syntax errors we re-parse it one top-level statement at a
time, so a user sees the first error of every broken declaration at once
instead of one error per run (and no cascade of follow-on errors).
"""

from __future__ import annotations

import re

from ragdsl.collector import collector_paused
from ragdsl.diagnostics import Diagnostic, Span, error
from ragdsl.source import SourceFile, bracket_offsets, check_limits
from ragdsl.syntax import ast
from ragdsl.syntax.build import Builder
from ragdsl.syntax.grammar import collecting_comments, parser

MAX_SYNTAX_ERRORS = 20

_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "SIGNED_NUMBER": "a number",
    "INT": "an integer",
    "$END": "end of file",
}
_STATEMENT_START = re.compile(r"^[A-Za-z_]", re.MULTILINE)


def parse_module(source: SourceFile) -> tuple[ast.Module | None, list[Diagnostic]]:
    limits = check_limits(source)
    if limits:
        return None, limits
    from lark.exceptions import UnexpectedInput

    with collector_paused():
        try:
            with collecting_comments() as comments:
                tree = parser().parse(source.text, start="module")
        except UnexpectedInput:
            return None, _errors_by_statement(source)
        builder = Builder(source.display)
        module = builder.module(tree, tuple(ast.Comment(str(t), t.line, t.column) for t in comments))
    return module, builder.diagnostics


def parse_expr(text: str, file: str, start: str = "expr") -> tuple[object | None, list[Diagnostic]]:
    """Parse one expression or `a.b.c = expr` override (used by `--set`)."""
    from lark.exceptions import UnexpectedInput

    source = SourceFile(file, _NO_PATH, text)
    limits = check_limits(source)
    if limits:
        return None, limits
    try:
        tree = parser().parse(text, start=start)
    except UnexpectedInput as exc:
        return None, [_describe(exc, source)]
    builder = Builder(file)
    if start == "override":
        *names, value = tree.children
        return ([str(n) for n in names], builder.expr(value)), builder.diagnostics
    return builder.expr(tree), builder.diagnostics


def _errors_by_statement(source: SourceFile) -> list[Diagnostic]:
    from lark.exceptions import UnexpectedInput

    starts = [m.start() for m in _STATEMENT_START.finditer(source.text)] or [0]
    if starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(source.text))
    diagnostics: list[Diagnostic] = []
    brackets = _OpenBrackets(source.text)
    lines_before, counted_to = 0, 0
    for begin, end in zip(starts, starts[1:]):
        # Each chunk starts a line: it is parsed alone and its positions moved
        # down by the lines before it (counted once, as the chunks advance).
        lines_before += source.text.count("\n", counted_to, begin)
        counted_to = begin
        chunk = source.text[begin:end]
        if not chunk or chunk.isspace():
            continue
        try:
            parser().parse(chunk, start="module")
        except UnexpectedInput as exc:
            _move_down(exc, lines_before)
            diagnostics.append(_describe(exc, source, chunk_end=end, brackets=brackets))
            if len(diagnostics) >= MAX_SYNTAX_ERRORS:
                break
    if not diagnostics:  # the split hid the error (e.g. a statement spanning chunks)
        try:
            parser().parse(source.text, start="module")
        except UnexpectedInput as exc:
            diagnostics.append(_describe(exc, source))
    return diagnostics


def _move_down(exc, lines: int) -> None:
    """Shift a chunk's parse error to where the chunk sits in the file."""
    for holder, attribute in ((exc, "line"), (getattr(exc, "token", None), "line"),
                              (getattr(exc, "token", None), "end_line")):
        value = getattr(holder, attribute, None)
        if isinstance(value, int) and value > 0:  # Lark uses -1 or '?' for "no position"
            setattr(holder, attribute, value + lines)


class _OpenBrackets:
    """The brackets still open at a point of a text, outside strings and comments.

    It only moves forward, so describing every broken statement of a file
    scans the file once.
    """

    _OPENER = {")": "(", "]": "[", "}": "{"}

    def __init__(self, text: str):
        self.text = text
        self.scanned = 0
        self.stack: list[int] = []  # offsets of the open brackets

    def innermost(self, upto: int) -> int | None:
        if upto > self.scanned:
            text, stack = self.text, self.stack
            for at in bracket_offsets(text, self.scanned, upto):
                char = text[at]
                if char in "([{":
                    stack.append(at)
                elif stack and text[stack[-1]] == self._OPENER[char]:
                    stack.pop()
            self.scanned = upto
        return self.stack[-1] if self.stack else None


def _describe(exc, source: SourceFile, chunk_end: int | None = None,
              brackets: _OpenBrackets | None = None) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    line = getattr(exc, "line", None) or 1
    col = getattr(exc, "column", None) or 1
    if isinstance(exc, UnexpectedCharacters):
        char = getattr(exc, "char", None) or "?"
        span = Span(source.display, line, col, line, col + 1)
        help_ = ""
        if char == "'":
            help_ = 'strings use double quotes: "like this"'
        elif char == "=":
            help_ = "'==' is not an operator here; assign with a single '='"
        elif char in "+-*/%<>!&|":
            help_ = "ragdsl specs have no arithmetic or operators; write the value itself"
        shown = char if char.isprintable() else f"\\x{ord(char):02x}"
        return error("E101", f"unexpected character '{shown}'", span, label="not valid here", help=help_)
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        token = getattr(exc, "token", None)
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or [])
        at_end = token is None or token.type == "$END"
        if at_end:
            return _unexpected_end(source, expected, chunk_end, brackets or _OpenBrackets(source.text))
        width = max(1, len(token or ""))  # the token itself: no copy of a long one
        span = Span(source.display, token.line, token.column, token.line, token.column + width)
        return error("E101", f"unexpected {_token_text(token)}", span,
                     label=f"expected {_expected_text(expected)}",
                     help=_token_help(str(token), expected))
    return error("E101", "syntax error", Span(source.display, line, col, line, col + 1))


def _unexpected_end(source: SourceFile, expected: list[str], chunk_end: int | None,
                    brackets: _OpenBrackets) -> Diagnostic:
    text = source.text
    end = len(text) if chunk_end is None else chunk_end
    opener = brackets.innermost(end)
    if opener is not None:
        char = text[opener]
        line, col = _line_col(text, opener)
        closer = {"{": "}", "(": ")", "[": "]"}[char]
        return error("E101", f"'{char}' is never closed", Span(source.display, line, col, line, col + 1),
                     label=f"this '{char}' has no matching '{closer}'",
                     help=f"add '{closer}' where it should end")
    end = len(text[:end].rstrip("\n"))
    line, col = _line_col(text, end)
    return error("E101", "unexpected end of file", Span(source.display, line, max(1, col - 1), line, col),
                 label=f"expected {_expected_text(expected)}",
                 help="the statement here is incomplete")


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of text[offset]."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _token_text(token) -> str:
    if token.type == "NAME":
        return f"name '{token}'"
    if token.type == "STRING":
        return f"string {token}"
    if token.type in ("SIGNED_NUMBER", "INT"):
        return f"number {token}"
    return f"'{token}'"


def _expected_text(expected: list[str]) -> str:
    from ragdsl.syntax.grammar import parser as get_parser

    patterns = {t.name: t.pattern for t in get_parser().terminals}
    shown = []
    for name in expected:
        if name in _TERMINAL_NAMES:
            shown.append(_TERMINAL_NAMES[name])
            continue
        pattern = patterns.get(name)
        if pattern is not None and pattern.type == "str":
            shown.append(f"'{pattern.value}'")
        else:
            shown.append(name.lower())
    shown = sorted(set(shown))
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def _token_help(token: str, expected: list[str]) -> str:
    if "EQUAL" in expected and len(expected) <= 2:
        return "write `name = value`"
    if token in ("=",) and "LPAR" not in expected:
        return "a value is missing before this '=', or a name is misspelt"
    if "RBRACE" in expected and token not in ("}",):
        return "statements inside a block are `key = value`; separate them with newlines or ';'"
    return ""


class _NoPath:
    parent = None


_NO_PATH = _NoPath()  # type: ignore[assignment]
