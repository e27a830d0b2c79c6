"""Text to AST, turning Lark's exceptions into located diagnostics.

When a file has syntax errors we re-parse it one top-level statement at a
time, so a user sees the first error of every broken declaration at once
instead of one error per run (and no cascade of follow-on errors).
"""

from __future__ import annotations

import re

from ragdsl.diagnostics import Diagnostic, Span, error
from ragdsl.source import SourceFile, check_nesting
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
    nesting = check_nesting(source)
    if nesting:
        return None, nesting
    from lark.exceptions import UnexpectedInput

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
    nesting = check_nesting(source)
    if nesting:
        return None, nesting
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
    for begin, end in zip(starts, starts[1:]):
        chunk = source.text[begin:end]
        if not chunk.strip():
            continue
        padded = "\n" * source.text.count("\n", 0, begin) + chunk
        try:
            parser().parse(padded, start="module")
        except UnexpectedInput as exc:
            diagnostics.append(_describe(exc, source, chunk_end=end))
            if len(diagnostics) >= MAX_SYNTAX_ERRORS:
                break
    if not diagnostics:  # the split hid the error (e.g. a statement spanning chunks)
        try:
            parser().parse(source.text, start="module")
        except UnexpectedInput as exc:
            diagnostics.append(_describe(exc, source))
    return diagnostics


def _describe(exc, source: SourceFile, chunk_end: int | None = None) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    line = getattr(exc, "line", None) or 1
    col = getattr(exc, "column", None) or 1
    if isinstance(exc, UnexpectedCharacters):
        lines = source.text.split("\n")
        text_line = lines[line - 1] if 0 < line <= len(lines) else ""
        char = text_line[col - 1] if 0 < col <= len(text_line) else "?"
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
            return _unexpected_end(source, expected, chunk_end)
        width = max(1, len(str(token)))
        span = Span(source.display, token.line, token.column, token.line, token.column + width)
        return error("E101", f"unexpected {_token_text(token)}", span,
                     label=f"expected {_expected_text(expected)}",
                     help=_token_help(str(token), expected))
    return error("E101", "syntax error", Span(source.display, line, col, line, col + 1))


def _unexpected_end(source: SourceFile, expected: list[str], chunk_end: int | None) -> Diagnostic:
    text = source.text if chunk_end is None else source.text[:chunk_end]
    opener = _unclosed_bracket(text)
    if opener is not None:
        char, line, col = opener
        closer = {"{": "}", "(": ")", "[": "]"}[char]
        return error("E101", f"'{char}' is never closed", Span(source.display, line, col, line, col + 1),
                     label=f"this '{char}' has no matching '{closer}'",
                     help=f"add '{closer}' where it should end")
    lines = text.rstrip("\n").split("\n")
    line = len(lines)
    col = len(lines[-1]) + 1
    return error("E101", "unexpected end of file", Span(source.display, line, max(1, col - 1), line, col),
                 label=f"expected {_expected_text(expected)}",
                 help="the statement here is incomplete")


def _unclosed_bracket(text: str) -> tuple[str, int, int] | None:
    stack: list[tuple[str, int, int]] = []
    line, col = 1, 0
    in_string = in_comment = escaped = False
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in text:
        col += 1
        if ch == "\n":
            line, col, in_comment, in_string = line + 1, 0, False, False
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
            stack.append((ch, line, col))
        elif ch in pairs and stack and stack[-1][0] == pairs[ch]:
            stack.pop()
    return stack[-1] if stack else None


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
