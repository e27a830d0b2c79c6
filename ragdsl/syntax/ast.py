"""The typed syntax tree of a `.rag` file.

Frozen dataclasses; every node carries the `Span` it was parsed from. The
declaration classes name the stage (`IndexDecl` here, `ir.Node(kind="index")`
after expansion) and share one shape: a kind, a name, and `key = value`
assignments checked later against the kind's schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Union

from ragdsl.diagnostics import Span

# ----------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Str:
    value: str
    span: Span


@dataclass(frozen=True)
class Num:
    value: int | float
    text: str  # as written, so fmt keeps "2e-4" rather than "0.0002"
    span: Span


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span


@dataclass(frozen=True)
class NoneLit:
    span: Span


@dataclass(frozen=True)
class Ref:
    """A name, possibly dotted: `base`, `bioasq_qa.test`."""

    parts: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class At:
    """`recall@5`: a metric with a cut-off."""

    name: str
    k: int
    span: Span


@dataclass(frozen=True)
class Kwarg:
    name: str
    value: Expr
    span: Span


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    kwargs: tuple[Kwarg, ...]
    span: Span
    name_span: Span

    def kwarg(self, name: str) -> Kwarg | None:
        return next((k for k in self.kwargs if k.name == name), None)


@dataclass(frozen=True)
class Sweep:
    """`sweep(a, b, c)`: one DAG node per value."""

    values: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Entry:
    key: str
    value: Expr
    span: Span
    key_span: Span


@dataclass(frozen=True)
class MapExpr:
    entries: tuple[Entry, ...]
    span: Span


Expr = Union[Str, Num, Bool, NoneLit, Ref, At, Call, Sweep, ListExpr, MapExpr]

# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Assign:
    key: str
    value: Expr
    span: Span
    key_span: Span


@dataclass(frozen=True)
class Param:
    """A pipeline template parameter: `name[: type][= default]`."""

    name: str
    type_name: str | None
    default: Expr | None
    span: Span


@dataclass(frozen=True)
class Decl:
    kind: ClassVar[str] = ""
    name: str
    body: tuple[Assign, ...]
    span: Span
    name_span: Span
    kind_span: Span
    short: bool = False  # written `model base = hf(...)` rather than a block
    params: tuple[Param, ...] | None = None

    def get(self, key: str) -> Assign | None:
        return next((a for a in self.body if a.key == key), None)

    def with_body(self, body: tuple[Assign, ...]) -> Decl:
        return replace(self, body=body)


@dataclass(frozen=True)
class ExperimentDecl(Decl):
    kind: ClassVar[str] = "experiment"


@dataclass(frozen=True)
class CorpusDecl(Decl):
    kind: ClassVar[str] = "corpus"


@dataclass(frozen=True)
class QuestionsDecl(Decl):
    kind: ClassVar[str] = "questions"


@dataclass(frozen=True)
class IndexDecl(Decl):
    kind: ClassVar[str] = "index"


@dataclass(frozen=True)
class ModelDecl(Decl):
    kind: ClassVar[str] = "model"


@dataclass(frozen=True)
class FinetuneDecl(Decl):
    kind: ClassVar[str] = "finetune"


@dataclass(frozen=True)
class PipelineDecl(Decl):
    kind: ClassVar[str] = "pipeline"


@dataclass(frozen=True)
class EvaluateDecl(Decl):
    kind: ClassVar[str] = "evaluate"


@dataclass(frozen=True)
class ReportDecl(Decl):
    kind: ClassVar[str] = "report"


@dataclass(frozen=True)
class SweepDecl(Decl):
    """`sweep sizes = [200, 500, 1000]`: a named axis; every use moves in lockstep."""

    kind: ClassVar[str] = "sweep"


DECL_CLASSES: dict[str, type[Decl]] = {
    cls.kind: cls
    for cls in (
        ExperimentDecl,
        CorpusDecl,
        QuestionsDecl,
        IndexDecl,
        ModelDecl,
        FinetuneDecl,
        PipelineDecl,
        EvaluateDecl,
        ReportDecl,
        SweepDecl,
    )
}

# Declarations written `kind name = expr` put the expression under this key.
SHORT_KEY: dict[str, str] = {"model": "source", "sweep": "values"}


@dataclass(frozen=True)
class ImportName:
    name: str
    alias: str | None
    span: Span

    @property
    def local(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class ImportDecl:
    """`import "x.rag"` (everything) or `from "x.rag" import a, b as c`."""

    path: str
    names: tuple[ImportName, ...] | None
    span: Span
    path_span: Span


@dataclass(frozen=True)
class Comment:
    text: str
    line: int
    col: int


@dataclass(frozen=True)
class Module:
    file: str
    imports: tuple[ImportDecl, ...]
    decls: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default=())
    # Statement order as written, for fmt: ("import", i) or ("decl", i).
    order: tuple[tuple[str, int], ...] = field(default=())


def walk(expr: Expr):
    """Yield `expr` and every expression inside it, depth first."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, Call):
            stack.extend(reversed([*e.args, *(k.value for k in e.kwargs)]))
        elif isinstance(e, (Sweep,)):
            stack.extend(reversed(e.values))
        elif isinstance(e, ListExpr):
            stack.extend(reversed(e.items))
        elif isinstance(e, MapExpr):
            stack.extend(reversed([en.value for en in e.entries]))
