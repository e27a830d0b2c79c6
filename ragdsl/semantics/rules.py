"""Rules that span declarations. Each rule is one function in `RULES`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import networkx as nx

from ragdsl.diagnostics import Diagnostic, error, warning
from ragdsl.semantics import schema
from ragdsl.semantics.check import Resolution
from ragdsl.semantics.deps import dependency_graph, references
from ragdsl.semantics.program import DeclKey, Program
from ragdsl.syntax import ast


@dataclass
class RuleContext:
    program: Program
    resolution: Resolution
    graph: nx.DiGraph

    def decls(self, cls: type[ast.Decl]) -> list[tuple[DeclKey, ast.Decl]]:
        return [(k, d) for k, d in sorted(self.program.decls.items()) if isinstance(d, cls)]

    def target(self, expr: ast.Expr | None) -> DeclKey | None:
        if isinstance(expr, ast.Ref):
            return self.resolution.refs.get(expr.span)
        return None

    def name(self, key: DeclKey) -> str:
        return self.program.names[key]


Rule = Callable[[RuleContext], Iterator[Diagnostic]]


def no_cycles(ctx: RuleContext) -> Iterator[Diagnostic]:
    for component in sorted(nx.strongly_connected_components(ctx.graph), key=sorted):
        nodes = sorted(component)
        if len(nodes) == 1 and not ctx.graph.has_edge(nodes[0], nodes[0]):
            continue
        cycle = nx.find_cycle(ctx.graph.subgraph(nodes), source=nodes[0])
        path = [u for u, _ in cycle] + [cycle[0][0]]
        shown = " -> ".join(f"{ctx.program.decls[k].kind}.{ctx.name(k)}" for k in path)
        span = ctx.graph.edges[cycle[0]]["span"]
        yield error("E501", "declarations depend on each other in a cycle", span,
                    label="this reference closes the cycle", notes=[f"cycle: {shown}"],
                    help="a fine-tune or pipeline cannot (indirectly) use itself; break one reference")


def judge_for_judged_metrics(ctx: RuleContext) -> Iterator[Diagnostic]:
    for _, decl in ctx.decls(ast.EvaluateDecl):
        metrics = decl.get("metrics")
        if metrics is None or decl.get("judge") is not None or not isinstance(metrics.value, ast.ListExpr):
            continue
        judged = [i for i in metrics.value.items if isinstance(i, ast.Ref) and i.dotted in schema.JUDGE_METRICS]
        if judged:
            names = " and ".join(f"'{i.dotted}'" for i in judged)
            yield error("E410", f"{names} {'is' if len(judged) == 1 else 'are'} scored by an LLM judge, "
                        "but no judge is set", judged[0].span, label="needs a judge",
                        help="add `judge = <model>` to the evaluation (a model not among the judged systems)")


def _split_of(ref: ast.Expr | None, default: str) -> str:
    if isinstance(ref, ast.Ref) and len(ref.parts) > 1:
        return ref.parts[1]
    return default


def no_training_on_test(ctx: RuleContext) -> Iterator[Diagnostic]:
    evaluated: dict[DeclKey, list[tuple[str, ast.Expr]]] = {}
    for _, decl in ctx.decls(ast.EvaluateDecl):
        assign = decl.get("questions")
        key = ctx.target(assign.value) if assign else None
        if key is not None and assign is not None:
            evaluated.setdefault(key, []).append((_split_of(assign.value, "test"), assign.value))
    for _, decl in ctx.decls(ast.FinetuneDecl):
        assign = decl.get("data")
        key = ctx.target(assign.value) if assign else None
        if key is None or assign is None:
            continue
        split = _split_of(assign.value, "train")
        if split == "test":
            yield error("E411", "fine-tuning on test questions", assign.value.span,
                        label="the test split is for evaluation",
                        help=f"train on '{assign.value.parts[0]}.train'")  # type: ignore[union-attr]
            continue
        for eval_split, where in evaluated.get(key, []):
            if split == "all" or eval_split == "all" or eval_split == split:
                yield error("E411", "fine-tuning data overlaps the questions an evaluation tests on",
                            assign.value.span, label=f"'{split}' includes evaluated questions",
                            notes=[f"evaluated at {where.span.start()}"],
                            help="fine-tune on the .train split and evaluate on .test")
        questions = ctx.program.decls[key]
        train = questions.get("train")
        no_train = train is None or (isinstance(train.value, ast.Num) and train.value.value == 0)
        if no_train and split == "train":
            yield error("E412", f"questions '{ctx.name(key)}' has no training split", assign.value.span,
                        help=f"set `train = 1000` (a count or a fraction) in questions {ctx.name(key)}")


def dense_needs_embedder(ctx: RuleContext) -> Iterator[Diagnostic]:
    for _, decl in sorted(ctx.program.decls.items()):
        for assign in decl.body:
            for expr in ast.walk(assign.value):
                if not (isinstance(expr, ast.Call) and expr.name == "dense"):
                    continue
                index_expr = expr.args[0] if expr.args else getattr(expr.kwarg("index"), "value", None)
                key = ctx.target(index_expr)
                if key is None or not isinstance(ctx.program.decls[key], ast.IndexDecl):
                    continue
                if ctx.program.decls[key].get("embedder") is None:
                    yield error("E413", f"dense retrieval needs an embedder, but index '{ctx.name(key)}' has none",
                                expr.span, label="no embeddings to search",
                                help=f'add `embedder = "all-minilm-l6-v2"` to index {ctx.name(key)}, or use bm25()')


def judge_is_not_judged(ctx: RuleContext) -> Iterator[Diagnostic]:
    for _, decl in ctx.decls(ast.EvaluateDecl):
        judge = decl.get("judge")
        systems = decl.get("systems")
        judge_key = ctx.target(judge.value) if judge else None
        if judge_key is None or systems is None or not isinstance(systems.value, ast.MapExpr):
            continue
        for entry in systems.value.entries:
            if judge_key in _generators(ctx, entry.value):
                yield warning("W401", f"the judge '{ctx.name(judge_key)}' also generates system '{entry.key}'",
                              judge.value.span,  # type: ignore[union-attr]
                              label="judges its own answers",
                              notes=[f"system '{entry.key}' at {entry.span.short()}"],
                              help="LLM judges favour their own answers; use a different (ideally stronger) judge")
                break


def _generators(ctx: RuleContext, call: ast.Expr) -> set[DeclKey]:
    """The models a system call generates with (through the pipeline's `generate`)."""
    if not isinstance(call, ast.Call):
        return set()
    pipeline_key = ctx.resolution.pipeline_calls.get(call.span)
    if pipeline_key is None:
        return set()
    pipeline = ctx.program.decls[pipeline_key]
    generate = pipeline.get("generate")
    if generate is None or not isinstance(generate.value, ast.Ref):
        return set()
    names = [p.name for p in pipeline.params or ()]
    if generate.value.dotted in names:
        i = names.index(generate.value.dotted)
        arg = call.args[i] if i < len(call.args) else getattr(call.kwarg(names[i]), "value", None)
        values = arg.values if isinstance(arg, ast.Sweep) else (arg,)
        return {k for v in values if (k := ctx.target(v)) is not None}
    key = ctx.target(generate.value)
    return {key} if key else set()


def everything_is_used(ctx: RuleContext) -> Iterator[Diagnostic]:
    used = {target for key, decl in ctx.program.decls.items() for _, target in references(decl, ctx.resolution)
            if target != key}
    sinks = (ast.EvaluateDecl, ast.ReportDecl, ast.ExperimentDecl)
    root = ctx.program.root.display
    for key, decl in sorted(ctx.program.decls.items()):
        if key.file == root and key not in used and not isinstance(decl, sinks):
            yield warning("W101", f"{decl.kind} '{decl.name}' is never used", decl.name_span,
                          help="use it in an evaluation, or remove it")


RULES: tuple[Rule, ...] = (
    no_cycles,
    judge_for_judged_metrics,
    no_training_on_test,
    dense_needs_embedder,
    judge_is_not_judged,
    everything_is_used,
)


def apply_rules(program: Program, resolution: Resolution) -> tuple[nx.DiGraph, list[Diagnostic]]:
    graph = dependency_graph(program, resolution)
    ctx = RuleContext(program, resolution, graph)
    return graph, [d for rule in RULES for d in rule(ctx)]
