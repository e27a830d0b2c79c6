"""Reading every data source before a run: all data errors at once, located in the spec (E610).

`ragdsl check --data`, and `ragdsl run` before any node starts, read each
corpus and question source the way the ingest runners do (same readers, same
field mappings, same id and answer checks, the same train/test split), but
in collecting mode: every malformed line, every record missing a mapped
field, every ragged row is reported, not just the first. A source that
several nodes read is read once. Each problem is an E610 diagnostic at the
source call in the spec, with the file, record and field in its message and
the reader's hint as help; at most `cap` are reported per source, the last
of them noting how many more there are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragdsl.data.errors import DataError
from ragdsl.data.sources import (
    NAMED,
    PAIRED,
    read_corpus,
    read_questions,
    read_source,
    require_passages,
    require_questions,
    written_path,
)
from ragdsl.data.splits import split_questions
from ragdsl.diagnostics import Diagnostic, Span, error
from ragdsl.syntax import ast

if TYPE_CHECKING:
    from ragdsl.ir.nodes import Node

CODE = "E610"
CAP = 20  # problems reported per source; the rest are counted
INGEST = ("corpus", "questions")
EXCERPT = 40  # characters of a quoted value kept in a message
LABEL = "in the data read here"


@dataclass
class DataCheck:
    """What reading the sources found: diagnostics, and how much was read."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: int = 0  # distinct sources read
    records: int = 0  # passages and questions read without a problem

    @property
    def ok(self) -> bool:
        return not self.diagnostics


@dataclass
class _Problems:
    """The problems of one source: the first `cap` kept, the rest counted."""

    cap: int
    kept: list[DataError] = field(default_factory=list)
    count: int = 0

    def add(self, problem: DataError) -> None:
        self.count += 1
        if len(self.kept) < self.cap:
            self.kept.append(problem)


@dataclass
class _Read:
    """One distinct source and the ingest nodes that read it (the first locates its problems)."""

    source: dict
    nodes: list[Node]
    roles: set[str] = field(default_factory=set)


def validate_data(compilation, nodes: Collection[str] | None = None, cap: int = CAP) -> DataCheck:
    """Read the sources of the ingest nodes of a compiled spec (only those in `nodes`, if given)."""
    graph = compilation.graph
    assert graph is not None
    program = compilation.checked.program
    seed: int = compilation.plan.seed if compilation.plan is not None else 0
    reads: dict[str, _Read] = {}
    for node_id in graph.order():
        node = graph.node(node_id)
        if node.kind not in INGEST or (nodes is not None and node_id not in nodes):
            continue
        source = node.params["source"]
        paired = source.get("call") in (*PAIRED, *NAMED)  # read once for passages and questions
        key = json.dumps([source, node.data, None if paired else node.kind], sort_keys=True, default=str)
        read = reads.setdefault(key, _Read(source, []))
        read.nodes.append(node)
        read.roles.add(node.kind)
    check = DataCheck()
    for read in reads.values():
        check.sources += 1
        first = read.nodes[0]
        span = source_span(program, first)
        problems = _Problems(cap)
        questions = _read(read, _locator(graph, first), problems, check)
        check.diagnostics += _diagnostics(problems, span, read.source)
        if questions is None or problems.count:
            continue
        for node in read.nodes:  # the split, as the questions runner draws it
            if node.kind != "questions":
                continue
            params = node.params
            own_seed = params.get("seed")
            try:
                split_questions(questions, train=params.get("train") or 0, test=params.get("test"),
                                seed=int(own_seed) if own_seed is not None else seed)
            except DataError as problem:
                where = _setting_span(program, node, ("test", "train"))
                check.diagnostics.append(_diagnostic(problem, where, label=f"{node.id} splits them here"))
    return check


def _read(read: _Read, locate, problems: _Problems, check: DataCheck) -> list | None:
    """Read one source, collecting its problems; the questions it holds (None if it is not read as questions)."""
    source, questions = read.source, None
    try:
        if source.get("call") in (*PAIRED, *NAMED):
            passages, found = read_source(source, locate, on_error=problems.add)
            if "corpus" in read.roles:
                check.records += len(require_passages(source, passages))
            if "questions" in read.roles:
                questions = require_questions(source, found or [])
        elif "corpus" in read.roles:
            check.records += len(read_corpus(source, locate, on_error=problems.add))
        else:
            questions = read_questions(source, locate, on_error=problems.add)
    except DataError as problem:  # a problem that ends the read: an unreadable file, a missing dataset
        problems.add(problem)
    if questions is not None:
        check.records += len(questions)
    return questions


def _locator(graph, node: Node):
    """Input files as the runners see them (NodeContext.locate): by the hash the compiler recorded."""
    data = dict(node.data)

    def locate(written: str) -> Path:
        sha = data.get(written)
        if sha is None or sha not in graph.files:
            raise DataError(f"input file '{written}' is not part of {node.id}'s fingerprint")
        return graph.files[sha]

    return locate


def _diagnostics(problems: _Problems, span: Span, source: dict) -> list[Diagnostic]:
    out = [_diagnostic(p, span) for p in problems.kept]
    more = problems.count - len(problems.kept)
    if more:
        note = f"and {more:,} more data error{'s' if more != 1 else ''} in {_name(source)} (the first {len(out)} are shown)"
        out[-1] = _diagnostic(problems.kept[-1], span, notes=(note,))
    return out


def _diagnostic(problem: DataError, span: Span, label: str = LABEL, notes: tuple[str, ...] = ()) -> Diagnostic:
    return error(CODE, cut(problem.message), span, label=label, help=cut(problem.hint or ""), notes=notes)


def _name(source: dict) -> str:
    try:
        return written_path(source.get("args") or {})
    except ValueError:
        return "this source"


_QUOTED = re.compile(rf"(?<![\w'])'([^']{{{EXCERPT + 1},}})'(?!\w)")


def cut(message: str) -> str:
    """A message without the whole of a long value: quoted values longer than EXCERPT are cut,
    control characters (a newline inside an id) shown as '?'."""
    message = "".join(c if c.isprintable() else "?" for c in message)
    return _QUOTED.sub(lambda m: f"'{m.group(1)[:EXCERPT]}…'", message)


# -------------------------------------------------------------- where in the spec


def _decl(program, node: Node) -> ast.Decl | None:
    return next((d for d in program.decls.values() if d.span == node.span), None) if program else None


def _setting_span(program, node: Node, keys: tuple[str, ...]) -> Span:
    """The first of these settings written in the node's declaration, else the declaration."""
    decl = _decl(program, node)
    assigns = [a for a in (decl.get(k) for k in keys) if a is not None] if decl is not None else []
    return assigns[0].span if assigns else node.span


def source_span(program, node: Node) -> Span:
    """The source call that `node` reads, e.g. `jsonl("data/qa.jsonl")`, else its declaration."""
    decl = _decl(program, node)
    assign = decl.get("source") if decl is not None else None
    if assign is None:
        return node.span
    source = node.params["source"]
    calls = [c for c in _calls(assign.value) if c.name == source.get("call")]
    if len(calls) > 1:  # a sweep over sources: the one with this node's path or name
        wanted = _first_string(source.get("args") or {})
        calls = [c for c in calls if _written(c) == wanted] or calls[:1]
    return calls[0].span if calls else assign.value.span


def _calls(expr) -> list[ast.Call]:
    if isinstance(expr, ast.Call):
        return [expr]
    if isinstance(expr, ast.Sweep):
        return [c for value in expr.values for c in _calls(value)]
    if isinstance(expr, ast.ListExpr):
        return [c for item in expr.items for c in _calls(item)]
    return []


def _written(call: ast.Call) -> str | None:
    """The first string argument of a call as written: its path or dataset name."""
    for expr in (*call.args, *(k.value for k in call.kwargs if k.name in ("path", "name"))):
        if isinstance(expr, ast.Str):
            return expr.value
    return None


def _first_string(args: dict) -> str | None:
    for key in ("path", "name"):
        value = args.get(key)
        if isinstance(value, dict):
            value = value.get("file")
        if isinstance(value, str):
            return value
    return None
