"""Values after checking: substitution of sweep choices and pipeline arguments,
and the canonical JSON form that fingerprints hash."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from ragdsl.diagnostics import Span
from ragdsl.hashing import path_sha256
from ragdsl.semantics import schema
from ragdsl.semantics.check import Resolution
from ragdsl.semantics.program import DeclKey
from ragdsl.syntax import ast
from ragdsl.syntax.format import format_expr

_PLAIN = re.compile(r"^[\w.:/-]+$")


def substitute(expr: ast.Expr, choose: Mapping[Span, ast.Expr], bindings: Mapping[str, ast.Expr]) -> ast.Expr:
    """Replace sweeps by their chosen value and pipeline parameters by their arguments."""
    if isinstance(expr, ast.Sweep):
        return substitute(choose[expr.span], choose, {})
    if isinstance(expr, ast.Ref):
        if len(expr.parts) == 1 and expr.parts[0] in bindings:
            return substitute(bindings[expr.parts[0]], choose, {})
        if expr.span in choose:
            return choose[expr.span]
        return expr
    if isinstance(expr, ast.Call):
        return replace(expr, args=tuple(substitute(a, choose, bindings) for a in expr.args),
                       kwargs=tuple(replace(k, value=substitute(k.value, choose, bindings)) for k in expr.kwargs))
    if isinstance(expr, ast.ListExpr):
        return replace(expr, items=tuple(substitute(i, choose, bindings) for i in expr.items))
    if isinstance(expr, ast.MapExpr):
        return replace(expr, entries=tuple(replace(e, value=substitute(e.value, choose, bindings))
                                           for e in expr.entries))
    return expr


def label_value(expr: ast.Expr) -> str:
    """A sweep value as it appears in a node id: `500`, `0.0002`, `words`, `qa.test`."""
    if isinstance(expr, ast.Str) and _PLAIN.match(expr.value):
        return expr.value
    if isinstance(expr, ast.Num):
        return expr.text  # as written: 1e-4 stays 1e-4
    return format_expr(expr).replace(" = ", "=").replace(", ", ",")


def _number(value: int | float) -> int | float:
    # 1 and 1.0 are the same learning rate; hash them the same.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


@functools.cache
def default_expr(text: str) -> ast.Expr:
    from ragdsl.syntax.parser import parse_expr

    expr, diags = parse_expr(text, "<default>")
    assert expr is not None and not diags, f"bad built-in default {text!r}"
    return expr  # type: ignore[return-value]


class Canonicalizer:
    """Turns a substituted expression into plain JSON data.

    References become {"node": id}, files {"file": path as written} (their
    hashes are collected in `data`), constructor calls get every default
    filled in so `lora()` and `lora(r = 8)` hash alike.
    """

    def __init__(self, resolution: Resolution, pick: Callable[[DeclKey], str], sweeps: set[DeclKey]):
        self.resolution = resolution
        self.pick = pick
        self.sweeps = sweeps
        self.data: dict[str, str] = {}
        self.files: dict[str, Path] = {}  # sha256 -> absolute path, for the executor; never fingerprinted
        self.refs: list[tuple[str, str]] = []  # (node id, part) in order of appearance

    def __call__(self, expr: ast.Expr) -> object:
        word = self.resolution.words.get(expr.span)
        if word is not None:
            return word
        if isinstance(expr, ast.Str):
            found = self.resolution.paths.get(expr.span)
            if found is not None:
                path, kind = found
                sha = path_sha256(path, kind)
                self.data[expr.value] = sha
                self.files[sha] = path
                return {"file": expr.value}
            return expr.value
        if isinstance(expr, ast.Num):
            return _number(expr.value)
        if isinstance(expr, ast.Bool):
            return expr.value
        if isinstance(expr, ast.NoneLit):
            return None
        if isinstance(expr, ast.At):
            return f"{expr.name}@{expr.k}"
        if isinstance(expr, ast.Ref):
            key = self.resolution.refs.get(expr.span)
            if key is not None and key not in self.sweeps:
                node = self.pick(key)
                part = expr.parts[1] if len(expr.parts) > 1 else ""
                self.refs.append((node, part))
                return {"node": node, "part": part} if part else {"node": node}
            ctor = self.resolution.ctors.get(expr.span)
            if ctor is not None:
                return self.ctor(ctor, {}, [])
            return expr.dotted
        if isinstance(expr, ast.Call):
            if expr.name == schema.ENV_CALL:
                return {"env": expr.args[0].value if expr.args and isinstance(expr.args[0], ast.Str) else ""}
            ctor = self.resolution.ctors.get(expr.span)
            if ctor is None:
                return {"call": expr.name, "args": [self(a) for a in expr.args],
                        "kwargs": {k.name: self(k.value) for k in expr.kwargs}}
            given: dict[str, ast.Expr] = {}
            extra: list[ast.Expr] = []
            for i, arg in enumerate(expr.args):
                if ctor.variadic is not None:
                    extra.append(arg)
                else:
                    given[ctor.params[i].name] = arg
            given.update({k.name: k.value for k in expr.kwargs})
            return self.ctor(ctor, given, extra)
        if isinstance(expr, ast.ListExpr):
            return [self(i) for i in expr.items]
        if isinstance(expr, ast.MapExpr):
            return {e.key: self(e.value) for e in expr.entries}
        raise AssertionError(f"cannot canonicalize {type(expr).__name__}")

    def ctor(self, ctor: schema.CtorSpec, given: dict[str, ast.Expr], extra: list[ast.Expr]) -> dict:
        args: dict[str, object] = {}
        for param in ctor.params:
            if param.name in given:
                args[param.name] = self(given[param.name])
            elif param.omit_default:
                continue
            elif param.default_text is not None:
                args[param.name] = self.default(param.default_text)
            else:
                args[param.name] = None
        out: dict[str, object] = {"call": ctor.name, "args": args}
        if ctor.variadic is not None:
            out["items"] = [self(e) for e in extra]
        return out

    def default(self, text: str) -> object:
        return _default_value(text)


@functools.cache
def _default_value(text: str) -> object:
    """A built-in default's canonical value (constant, so computed once; never mutated)."""
    expr = default_expr(text)
    if isinstance(expr, ast.Call):
        # a built-in default like memory(): resolve it by name in any category
        canon = Canonicalizer(Resolution(), _no_refs, set())
        for group in schema.CTORS_BY_CATEGORY.values():
            if expr.name in group:
                return canon.ctor(group[expr.name], {}, [])
    return _plain(expr)


def _no_refs(key: DeclKey) -> str:
    raise AssertionError("built-in defaults refer to no declaration")


def _plain(expr: ast.Expr) -> object:
    if isinstance(expr, ast.Str):
        return expr.value
    if isinstance(expr, ast.Num):
        return _number(expr.value)
    if isinstance(expr, ast.Bool):
        return expr.value
    if isinstance(expr, ast.Ref):
        return expr.dotted
    if isinstance(expr, ast.ListExpr):
        return [_plain(i) for i in expr.items]
    return format_expr(expr)
