"""Which declarations each declaration refers to (after checking)."""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from ragdsl.semantics.check import Resolution
from ragdsl.semantics.program import DeclKey, Program
from ragdsl.syntax import ast


def decl_exprs(decl: ast.Decl) -> Iterator[ast.Expr]:
    for assign in decl.body:
        yield assign.value
    for param in decl.params or ():
        if param.default is not None:
            yield param.default


def references(decl: ast.Decl, resolution: Resolution) -> Iterator[tuple[ast.Expr, DeclKey]]:
    """(expression, target) for every reference inside `decl`, in source order."""
    for root in decl_exprs(decl):
        for expr in ast.walk(root):
            if isinstance(expr, ast.Ref):
                key = resolution.refs.get(expr.span)
                if key is not None:
                    yield expr, key
            elif isinstance(expr, ast.Call):
                key = resolution.pipeline_calls.get(expr.span)
                if key is not None:
                    yield expr, key


def dependency_graph(program: Program, resolution: Resolution) -> nx.DiGraph:
    """Edges go from a declaration to the declarations that use it."""
    graph = nx.DiGraph()
    for key, decl in program.decls.items():
        graph.add_node(key)
        for expr, target in references(decl, resolution):
            if target in program.decls:
                graph.add_edge(target, key, span=expr.span)
    return graph


def live_decls(program: Program, graph: nx.DiGraph) -> set[DeclKey]:
    """What the root spec compiles: its own declarations, what it imports, and their dependencies."""
    roots = set(program.scopes.get(program.root.display, {}).values())
    live = set(roots)
    for key in roots:
        live |= nx.ancestors(graph, key)
    return live
