"""Lark parse tree to the typed AST (`ragdsl.syntax.ast`)."""

from __future__ import annotations

import json
import math
import re

from lark import Token, Tree

from ragdsl.diagnostics import Diagnostic, Span, error
from ragdsl.suggest import did_you_mean, one_of
from ragdsl.syntax import ast

MAX_NUMBER_CHARS = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class Builder:
    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    # ------------------------------------------------------------ positions
    def span(self, item: Tree | Token) -> Span:
        if isinstance(item, Token):
            return Span(self.file, item.line or 1, item.column or 1,
                        item.end_line or item.line or 1, item.end_column or item.column or 1)
        meta = item.meta
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1, 1, 1)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    # -------------------------------------------------------------- module
    def module(self, tree: Tree, comments: tuple[ast.Comment, ...]) -> ast.Module:
        """The module's AST. Consumes `tree`: each statement's subtree is let go
        once built, so a large file never holds its whole tree and AST at once."""
        imports: list[ast.ImportDecl] = []
        decls: list[ast.Decl] = []
        order: list[tuple[str, int]] = []
        children = tree.children
        for i, child in enumerate(children):
            children[i] = None
            if not isinstance(child, Tree):
                continue
            if child.data in ("import_all", "import_from"):
                order.append(("import", len(imports)))
                imports.append(self.import_(child))
            elif child.data == "decl":
                decl = self.decl(child)
                if decl is not None:
                    order.append(("decl", len(decls)))
                    decls.append(decl)
        return ast.Module(self.file, tuple(imports), tuple(decls), comments, tuple(order))

    def import_(self, tree: Tree) -> ast.ImportDecl:
        path_tok = tree.children[0]
        path = self.string_value(path_tok)
        names = None
        if tree.data == "import_from":
            names = tuple(
                ast.ImportName(str(n.children[0]), str(n.children[1]) if n.children[1] else None, self.span(n))
                for n in tree.children[1:]
                if isinstance(n, Tree)
            )
        return ast.ImportDecl(path, names, self.span(tree), self.span(path_tok))

    def decl(self, tree: Tree) -> ast.Decl | None:
        kind_tok, name_tok, params_tree, body_tree = tree.children
        kind = str(kind_tok)
        cls = ast.DECL_CLASSES.get(kind)
        if cls is None:
            hint = did_you_mean(kind, ast.DECL_CLASSES)
            self.diagnostics.append(error(
                "E102", f"unknown declaration kind '{kind}'", self.span(kind_tok),
                label="not a declaration kind",
                help=hint or f"declarations are: {one_of(ast.DECL_CLASSES)}"))
            return None
        params = None
        if params_tree is not None:
            if kind != "pipeline":
                self.diagnostics.append(error(
                    "E103", f"only pipelines take parameters; '{kind}' does not", self.span(params_tree),
                    help=f"remove the parameter list after '{name_tok}'"))
            else:
                params = tuple(self.param(p) for p in params_tree.children if isinstance(p, Tree))
        elif kind == "pipeline":
            params = ()
        short = body_tree.data == "short_body"
        if short:
            key = ast.SHORT_KEY.get(kind)
            value = self.expr(body_tree.children[0])
            if key is None:
                self.diagnostics.append(error(
                    "E104", f"'{kind}' declarations take a block, not '= value'", self.span(body_tree),
                    help=f"write `{kind} {name_tok} {{ ... }}`"))
                body: tuple[ast.Assign, ...] = ()
            else:
                body = (ast.Assign(key, value, self.span(body_tree), self.span(name_tok)),)
        else:
            body = tuple(self.assign(a) for a in body_tree.children if isinstance(a, Tree))
        return cls(name=str(name_tok), body=body, span=self.span(tree), name_span=self.span(name_tok),
                   kind_span=self.span(kind_tok), short=short, params=params)

    def param(self, tree: Tree) -> ast.Param:
        name, type_name, default = tree.children
        return ast.Param(str(name), str(type_name) if type_name is not None else None,
                         self.expr(default) if default is not None else None, self.span(tree))

    def assign(self, tree: Tree) -> ast.Assign:
        key, value = tree.children
        return ast.Assign(str(key), self.expr(value), self.span(tree), self.span(key))

    # ---------------------------------------------------------- expressions
    def expr(self, tree: Tree | Token) -> ast.Expr:
        span = self.span(tree)
        if isinstance(tree, Token):  # a bare token only appears for refs of one name
            return ast.Ref((str(tree),), span)
        kind = tree.data
        kids = tree.children
        if kind == "string":
            return ast.Str(self.string_value(kids[0]), span)
        if kind == "number":
            return self.number(kids[0], span)
        if kind == "true":
            return ast.Bool(True, span)
        if kind == "false":
            return ast.Bool(False, span)
        if kind == "none":
            return ast.NoneLit(span)
        if kind == "ref":
            return ast.Ref(tuple(str(k) for k in kids), span)
        if kind == "at":
            digits = str(kids[1])
            if len(digits) > MAX_NUMBER_CHARS:
                self.diagnostics.append(error("E401", "cut-off too long", span, help="write e.g. recall@5"))
                digits = "0"
            return ast.At(str(kids[0]), int(digits), span)
        if kind == "list":
            return ast.ListExpr(tuple(self.expr(k) for k in kids if k is not None), span)
        if kind == "mapping":
            return ast.MapExpr(tuple(self.entry(k) for k in kids if k is not None), span)
        if kind == "call":
            return self.call(tree, span)
        raise AssertionError(f"unhandled expression {kind}")

    def call(self, tree: Tree, span: Span) -> ast.Expr:
        name_tok, *arg_trees = tree.children
        args: list[ast.Expr] = []
        kwargs: list[ast.Kwarg] = []
        seen: dict[str, Span] = {}
        for a in arg_trees:
            if a is None:
                continue
            if a.data == "kwarg":
                key, value = a.children
                kspan = self.span(key)
                if str(key) in seen:
                    self.diagnostics.append(error(
                        "E305", f"argument '{key}' given twice", kspan,
                        help=f"first given at {seen[str(key)].short()}; remove one"))
                seen[str(key)] = kspan
                kwargs.append(ast.Kwarg(str(key), self.expr(value), self.span(a)))
            else:
                if kwargs:
                    self.diagnostics.append(error(
                        "E106", "positional argument after a named one", self.span(a),
                        help="put positional arguments first"))
                args.append(self.expr(a.children[0]))
        if str(name_tok) == "sweep":
            if kwargs:
                self.diagnostics.append(error(
                    "E106", "sweep() takes values only, not named arguments", kwargs[0].span,
                    help="write sweep(200, 500, 1000); to name an axis declare `sweep NAME = [...]`"))
            return ast.Sweep(tuple(args), span)
        return ast.Call(str(name_tok), tuple(args), tuple(kwargs), span, self.span(name_tok))

    def entry(self, tree: Tree) -> ast.Entry:
        key_tok, value = tree.children
        key = self.string_value(key_tok) if key_tok.type == "STRING" else str(key_tok)
        return ast.Entry(key, self.expr(value), self.span(tree), self.span(key_tok))

    def number(self, tok: Token, span: Span) -> ast.Num:
        text = str(tok)
        value: int | float
        if len(text) > MAX_NUMBER_CHARS:
            value = 0
            self.diagnostics.append(error("E401", "number too long", span,
                                          help=f"numbers may have at most {MAX_NUMBER_CHARS} characters"))
        else:
            try:
                value = int(text)
            except ValueError:
                value = float(text)
            if isinstance(value, float) and not math.isfinite(value):
                value = 0.0
                self.diagnostics.append(error("E401", f"{text} is too large to represent", span,
                                              help="use a value between -1e308 and 1e308"))
        return ast.Num(value, text, span)

    def string_value(self, tok: Token) -> str:
        try:
            value = str(json.loads(tok))  # the token itself: no copy of a long string
        except ValueError:
            self.diagnostics.append(error(
                "E105", "invalid escape sequence in string", self.span(tok),
                help='strings accept \\" \\\\ \\n \\t \\uXXXX; write a backslash as \\\\'))
            return str(tok)[1:-1]
        if _SURROGATE.search(value):  # not UTF-8 encodable; found without encoding a copy
            self.diagnostics.append(error(
                "E105", "invalid \\u escape: a lone surrogate is not a character", self.span(tok),
                help="write the character itself, or a surrogate pair such as \\ud83d\\ude00"))
            return ""
        return value
