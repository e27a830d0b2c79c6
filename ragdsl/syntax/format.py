"""`ragdsl fmt`: one canonical layout for every spec, keeping comments.

Layout: two-space indents, `key = value` one per line inside blocks, one
blank line between declarations (a group of one-line declarations of the
same kind may stay together), and values on one line unless they exceed
the width or hold comments, in which case one item per line with a trailing
comma. Comments stay attached to the statement, assignment or item they sit
on or above.
"""

from __future__ import annotations

import bisect
import json
import re

from ragdsl.syntax import ast

WIDTH = 88
INDENT = "  "
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_expr(expr: ast.Expr) -> str:
    """One expression on one line (used in messages and plans too)."""
    return _flat(expr)


def format_module(module: ast.Module) -> str:
    return _Formatter(module).run()


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _flat(e: ast.Expr) -> str:
    if isinstance(e, ast.Str):
        return _quote(e.value)
    if isinstance(e, ast.Num):
        return e.text
    if isinstance(e, ast.Bool):
        return "true" if e.value else "false"
    if isinstance(e, ast.NoneLit):
        return "none"
    if isinstance(e, ast.Ref):
        return e.dotted
    if isinstance(e, ast.At):
        return f"{e.name}@{e.k}"
    if isinstance(e, ast.Call):
        parts = [_flat(a) for a in e.args] + [f"{k.name} = {_flat(k.value)}" for k in e.kwargs]
        return f"{e.name}({', '.join(parts)})"
    if isinstance(e, ast.Sweep):
        return f"sweep({', '.join(_flat(v) for v in e.values)})"
    if isinstance(e, ast.ListExpr):
        return "[" + ", ".join(_flat(i) for i in e.items) + "]"
    if isinstance(e, ast.MapExpr):
        if not e.entries:
            return "{}"
        return "{ " + ", ".join(f"{_key(en.key)}: {_flat(en.value)}" for en in e.entries) + " }"
    raise AssertionError(type(e))


def _key(name: str) -> str:
    return name if _IDENT.match(name) else _quote(name)


class _Formatter:
    def __init__(self, module: ast.Module):
        self.module = module
        self.comments = {c.line: c for c in module.comments}
        self.lines = sorted(self.comments)  # comment lines, for range lookups by bisection
        self.cursor = 0  # lines before this index are all placed already
        self.done: set[int] = set()
        self.out: list[str] = []

    def _between(self, first: int, last: int) -> list[int]:
        """Comment lines in [first, last] not yet placed."""
        lo, hi = bisect.bisect_left(self.lines, first), bisect.bisect_right(self.lines, last)
        return [line for line in self.lines[lo:hi] if line not in self.done]

    # ------------------------------------------------------------ comments
    def leading(self, before_line: int, indent: str) -> None:
        while self.cursor < len(self.lines) and self.lines[self.cursor] in self.done:
            self.cursor += 1
        start = self.lines[self.cursor] if self.cursor < len(self.lines) else before_line
        pending = self._between(start, before_line - 1)
        for i, line in enumerate(pending):
            self.done.add(line)
            self.out.append(indent + self.comments[line].text.rstrip())
            following = pending[i + 1] if i + 1 < len(pending) else before_line
            if following - line > 1 and self.out[-1].strip():
                self.out.append("")  # the author separated this comment from what follows

    def trailing(self, span, next_line: int | None) -> str:
        c = self.comments.get(span.end_line)
        if c is None or span.end_line in self.done or c.col < span.end_col:
            return ""
        if next_line is not None and next_line <= span.end_line:
            return ""  # another statement follows on this line; it takes the comment
        self.done.add(span.end_line)
        return "  " + c.text.rstrip()

    def inside(self, e: ast.Expr) -> bool:
        s = e.span
        return any(line < s.end_line or self.comments[line].col < s.end_col
                   for line in self._between(s.line, s.end_line))

    # ------------------------------------------------------------- module
    def run(self) -> str:
        items: list[tuple[str, object]] = []
        for kind, index in self.module.order:
            items.append((kind, self.module.imports[index] if kind == "import" else self.module.decls[index]))
        previous: tuple[str, object] | None = None
        for i, (kind, node) in enumerate(items):
            nxt = items[i + 1][1].span.line if i + 1 < len(items) else None  # type: ignore[attr-defined]
            if previous is not None and self._needs_blank(previous, (kind, node)):
                self.out.append("")
            if kind == "import":
                self.import_(node, nxt)  # type: ignore[arg-type]
            else:
                self.decl(node, nxt)  # type: ignore[arg-type]
            previous = (kind, node)
        rest = [self.comments[line] for line in sorted(self.comments) if line not in self.done]
        if rest:
            if self.out:
                self.out.append("")
            self.out.extend(c.text.rstrip() for c in rest)
        lines: list[str] = []
        for line in self.out:
            if line == "" and (not lines or lines[-1] == "" or lines[-1].endswith(("{", "[", "("))):
                continue
            if line.strip()[:1] in ("}", "]", ")") and lines and lines[-1] == "":
                lines.pop()
            lines.append(line)
        text = "\n".join(lines).strip("\n")
        return text + "\n" if text else ""

    def _needs_blank(self, prev: tuple[str, object], cur: tuple[str, object]) -> bool:
        if prev[0] == "import" and cur[0] == "import":
            return False
        if prev[0] == "decl" and cur[0] == "decl":
            a, b = prev[1], cur[1]
            if a.short and b.short and a.kind == b.kind:  # type: ignore[attr-defined]
                # keep a group of one-liners together unless the author separated them
                return self._source_gap(a.span.end_line, b.span.line)  # type: ignore[attr-defined]
        return True

    def _source_gap(self, end_line: int, start_line: int) -> bool:
        between = [line for line in range(end_line + 1, start_line) if line not in self.comments]
        return bool(between)

    def import_(self, imp: ast.ImportDecl, nxt: int | None) -> None:
        self.leading(imp.span.line, "")
        if imp.names is None:
            text = f"import {_quote(imp.path)}"
        else:
            names = ", ".join(n.name + (f" as {n.alias}" if n.alias else "") for n in imp.names)
            text = f"from {_quote(imp.path)} import {names}"
        self.out.append(text + self.trailing(imp.span, nxt))

    def decl(self, decl: ast.Decl, nxt: int | None) -> None:
        self.leading(decl.span.line, "")
        head = f"{decl.kind} {decl.name}"
        if decl.params is not None and (decl.params or isinstance(decl, ast.PipelineDecl)):
            head += "(" + ", ".join(self.param(p) for p in decl.params) + ")"
        if decl.short and decl.body:
            value = decl.body[0].value
            lines = self.expr(value, "")
            lines[0] = f"{head} = {lines[0]}"
            lines[-1] += self.trailing(decl.span, nxt)
            self.out.extend(lines)
            return
        if not decl.body and not self._comments_within(decl.span):
            self.out.append(f"{head} {{}}" + self.trailing(decl.span, nxt))
            return
        self.out.append(head + " {")
        for j, assign in enumerate(decl.body):
            following = decl.body[j + 1].span.line if j + 1 < len(decl.body) else None
            if j > 0 and self._source_gap_with_comments(decl.body[j - 1].span.end_line, assign.span.line):
                self.out.append("")
            self.leading(assign.span.line, INDENT)
            lines = self.expr(assign.value, INDENT)
            lines[0] = f"{INDENT}{assign.key} = {lines[0]}"
            lines[-1] += self.trailing(assign.span, following)
            self.out.extend(lines)
        self.leading(decl.span.end_line, INDENT)
        self.out.append("}" + self.trailing(decl.span, nxt))

    def _source_gap_with_comments(self, end_line: int, start_line: int) -> bool:
        first = start_line
        while first - 1 in self.comments and first - 1 > end_line:
            first -= 1
        return first - end_line > 1

    def _comments_within(self, span) -> bool:
        return any(not (line == span.end_line and self.comments[line].col >= span.end_col)
                   for line in self._between(span.line, span.end_line))

    def param(self, p: ast.Param) -> str:
        text = p.name
        if p.type_name:
            text += f": {p.type_name}"
        if p.default is not None:
            text += f" = {_flat(p.default)}"
        return text

    # --------------------------------------------------------- expressions
    def expr(self, e: ast.Expr, indent: str) -> list[str]:
        """Lines of `e`; the first is placed after whatever precedes it."""
        flat = _flat(e)
        if len(indent) + len(flat) + 16 <= WIDTH and not self.inside(e):
            return [flat]
        inner = indent + INDENT
        if isinstance(e, ast.Call):
            items: list[tuple[str, ast.Expr, object]] = [("", a, a.span) for a in e.args]
            items += [(f"{k.name} = ", k.value, k.span) for k in e.kwargs]
            return self.block(f"{e.name}(", ")", items, inner, indent, flat, e.span)
        if isinstance(e, ast.Sweep):
            return self.block("sweep(", ")", [("", v, v.span) for v in e.values], inner, indent, flat, e.span)
        if isinstance(e, ast.ListExpr):
            return self.block("[", "]", [("", i, i.span) for i in e.items], inner, indent, flat, e.span)
        if isinstance(e, ast.MapExpr):
            items = [(f"{_key(en.key)}: ", en.value, en.span) for en in e.entries]
            return self.block("{", "}", items, inner, indent, flat, e.span)
        return [flat]

    def block(self, open_: str, close: str, items, inner: str, indent: str, flat: str, whole) -> list[str]:
        if not items:
            return self.expr_without_items(flat, whole, indent)
        saved, self.out = self.out, []
        for j, (prefix, value, span) in enumerate(items):
            following = items[j + 1][2].line if j + 1 < len(items) else None
            self.leading(span.line, inner)
            lines = self.expr(value, inner)
            lines[0] = inner + prefix + lines[0]
            lines[-1] += ","
            comment = self.trailing(span, following) or self.trailing(value.span, following)
            lines[-1] += comment
            self.out.extend(lines)
        # Comments after the last item (or between a name and its value) stay inside the brackets.
        for line in self._between(whole.line, whole.end_line):
            if line < whole.end_line or self.comments[line].col < whole.end_col:
                self.done.add(line)
                self.out.append(inner + self.comments[line].text.rstrip())
        body, self.out = self.out, saved
        return [open_, *body, indent + close]

    def expr_without_items(self, flat: str, span, indent: str) -> list[str]:
        inner = [line for line in self._between(span.line, span.end_line)
                 if line < span.end_line or self.comments[line].col < span.end_col]
        if not inner:
            return [flat]
        self.done.update(inner)
        return [flat[:-1], *(indent + INDENT + self.comments[line].text.rstrip() for line in inner), indent + flat[-1]]
