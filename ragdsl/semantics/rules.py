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
from ragdsl.semantics.rules_examples import examples_from_train
from ragdsl.syntax import ast
from ragdsl.syntax.format import format_expr

# Metrics scored by the LLM judge (faithfulness too: the judge checks support by the retrieved passages).
JUDGED_METRICS = (*schema.JUDGE_METRICS, "faithfulness")


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
        judged = [i for i in metrics.value.items if isinstance(i, ast.Ref) and i.dotted in JUDGED_METRICS]
        if judged:
            names = " and ".join(f"'{i.dotted}'" for i in judged)
            yield error("E410", f"{names} {'is' if len(judged) == 1 else 'are'} scored by an LLM judge, "
                        "but no judge is set", judged[0].span, label="needs a judge",
                        help="add `judge = <model>` to the evaluation (a model not among the judged systems)")


def fact_metrics_need_previous(ctx: RuleContext) -> Iterator[Diagnostic]:
    """E419: fact_new/fact_old/fact_neither over questions whose source cannot give a previous answer."""
    for _, decl in ctx.decls(ast.EvaluateDecl):
        metrics, questions = decl.get("metrics"), decl.get("questions")
        if metrics is None or questions is None or not isinstance(metrics.value, ast.ListExpr):
            continue
        facts = [i for i in metrics.value.items if isinstance(i, ast.Ref) and i.dotted in schema.FACT_METRICS]
        key = ctx.target(questions.value)
        source = ctx.program.decls[key].get("source") if key is not None else None
        if not facts or source is None or _may_give_previous(source.value):
            continue
        yield error("E419", f"'{facts[0].dotted}' needs questions with previous (outdated or counterfactual) "
                    f"answers, and questions '{ctx.name(key)}' has none", facts[0].span,  # type: ignore[arg-type]
                    label="no previous answers to compare with", notes=[f"its source: {format_expr(source.value)}"],
                    help="map a field with `previous = \"field\"` in the source, or use factbook(counterfactual = "
                         "[...]) or factbook(changes_since = \"2015\")")


def _may_give_previous(source: ast.Expr) -> bool:
    """Whether a question source can carry previous answers (a sweep: whether any of its values can)."""
    if isinstance(source, ast.Sweep):
        return any(_may_give_previous(v) for v in source.values)
    if not isinstance(source, ast.Call):
        return True  # a parameter or something the checker reports elsewhere
    if source.name == "factbook":
        return source.kwarg("counterfactual") is not None or source.kwarg("changes_since") is not None
    if source.name in ("jsonl", "csv", "parquet", "hf_dataset"):
        return source.kwarg("previous") is not None
    return False


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
        if key is None or assign is None or not isinstance(ctx.program.decls.get(key), ast.QuestionsDecl):
            continue  # a corpus (format = documents()) has no test questions to leak
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
        yield from _same_source_evaluated(ctx, key, assign.value, evaluated)
        questions = ctx.program.decls[key]
        train = questions.get("train")
        no_train = train is None or (isinstance(train.value, ast.Num) and train.value.value == 0)
        if no_train and split == "train":
            yield error("E412", f"questions '{ctx.name(key)}' has no training split", assign.value.span,
                        help=f"set `train = 1000` (a count or a fraction) in questions {ctx.name(key)}")


def _source_identity(ctx: RuleContext, key: DeclKey) -> tuple[str, str] | None:
    """A questions declaration's source as written, with the folder its relative paths resolve in."""
    decl = ctx.program.decls.get(key)
    source = decl.get("source") if decl is not None else None
    if source is None:
        return None
    return str(key.file).rsplit("/", 1)[0], format_expr(source.value)


def _split_seed(ctx: RuleContext, key: DeclKey) -> str:
    """The seed a questions declaration splits with, as written ("" for the experiment seed)."""
    seed = ctx.program.decls[key].get("seed")
    return format_expr(seed.value) if seed is not None else ""


def _same_source_evaluated(ctx: RuleContext, key: DeclKey, data: ast.Expr,
                           evaluated: dict[DeclKey, list[tuple[str, ast.Expr]]]) -> Iterator[Diagnostic]:
    """Two question declarations over one source with different seeds shuffle it differently, so the
    train split of one can hold the test questions of the other. (With one seed, test comes from the
    front of the same order and train from its back, so they stay apart.)"""
    mine = _source_identity(ctx, key)
    for other, uses in sorted(evaluated.items()):
        if other == key or mine is None or _source_identity(ctx, other) != mine:
            continue
        if _split_seed(ctx, other) == _split_seed(ctx, key):
            continue
        where = uses[0][1]
        yield error("E411", "fine-tuning data may overlap the questions an evaluation tests on", data.span,
                    label=f"'{ctx.name(key)}' splits the same source as '{ctx.name(other)}' with another seed",
                    notes=[f"evaluated at {where.span.start()}"],
                    help=f"fine-tune on {ctx.name(other)}.train and evaluate on {ctx.name(other)}.test, so one "
                         "split keeps them apart")


def _alternatives(expr: ast.Expr | None) -> tuple[ast.Expr, ...]:
    """The values an expression takes: each value of an inline sweep, else the expression itself."""
    if expr is None:
        return ()
    return expr.values if isinstance(expr, ast.Sweep) else (expr,)


def documents_train_on_a_corpus(ctx: RuleContext) -> Iterator[Diagnostic]:
    """E414: `format = documents()` over a question set; E415: a corpus as data in another format;
    E306: a split of a corpus (the schema's parts are those of a question set).

    Passages are training text only with documents(), which has no question and no answer; the
    question formats need questions and gold answers.
    """
    corpora = [ctx.name(k) for k, _ in ctx.decls(ast.CorpusDecl)]
    for _, decl in ctx.decls(ast.FinetuneDecl):
        data, fmt = decl.get("data"), decl.get("format")
        if data is None:
            continue
        formats = _alternatives(fmt.value) if fmt is not None else ()
        documents = [f for f in formats if isinstance(f, ast.Call) and f.name == "documents"]
        others = [f for f in formats if not (isinstance(f, ast.Call) and f.name == "documents")]
        for value in _alternatives(data.value):
            key = ctx.target(value)
            if key is None:
                continue
            target = ctx.program.decls.get(key)
            if isinstance(target, ast.QuestionsDecl) and documents:
                example = f" (e.g. data = {corpora[0]})" if corpora else ""
                yield error("E414", f"format = documents() trains on a corpus's passages, but '{ctx.name(key)}' "
                            "is a question set", documents[0].span, label="needs a corpus as data",
                            notes=[f"data at {value.span.short()}"],
                            help=f"name a corpus in `data`{example}, or train on the questions with qa()")
            elif isinstance(target, ast.CorpusDecl) and isinstance(value, ast.Ref) and len(value.parts) > 1:
                yield error("E306", f"'{value.dotted}': a corpus has no parts to select", value.span,
                            help=f"write just '{value.parts[0]}'")
            elif isinstance(target, ast.CorpusDecl) and (others or fmt is None):
                shown = format_expr(others[0]) if others else "qa() (the default)"
                yield error("E415", f"corpus '{ctx.name(key)}' is fine-tuning data, but the format is {shown}",
                            value.span, label="passages have no questions or answers",
                            help="add `format = documents()` to train on its passages, or name a question set")


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


def _judges(decl: ast.Decl) -> list[ast.Expr]:
    """The judge expressions of an evaluation: `judge = j` or each item of `judge = [a, b]`."""
    judge = decl.get("judge")
    if judge is None:
        return []
    return list(judge.value.items) if isinstance(judge.value, ast.ListExpr) else [judge.value]


def judges_are_distinct(ctx: RuleContext) -> Iterator[Diagnostic]:
    """E304: a judge listed twice would score every answer twice and count double."""
    for _, decl in ctx.decls(ast.EvaluateDecl):
        seen: dict[DeclKey, ast.Expr] = {}
        for expr in _judges(decl):
            key = ctx.target(expr)
            if key is None:
                continue
            if key in seen:
                yield error("E304", f"judge '{ctx.name(key)}' is listed twice", expr.span,
                            notes=[f"first listed at {seen[key].span.short()}"], help="list each judge once")
            else:
                seen[key] = expr


def judge_is_not_judged(ctx: RuleContext) -> Iterator[Diagnostic]:
    """W401: a judge is the model of a judged system; W403: one is a fine-tune of the other's model.

    Checked for every judge of the evaluation; at most one warning per judge.
    """
    for _, decl in ctx.decls(ast.EvaluateDecl):
        systems = decl.get("systems")
        if systems is None or not isinstance(systems.value, ast.MapExpr):
            continue
        for judge in _judges(decl):
            judge_key = ctx.target(judge)
            if judge_key is not None:
                yield from _judge_warnings(ctx, judge, judge_key, systems.value)


def _judge_warnings(ctx: RuleContext, judge: ast.Expr, judge_key: DeclKey, systems: ast.MapExpr
                    ) -> Iterator[Diagnostic]:
    judge_root, judge_tuned = _lineage(ctx, judge_key)
    for entry in systems.entries:
        for gen in sorted(_generators(ctx, entry.value)):
            root, tuned = _lineage(ctx, gen)
            if not _same_model(ctx, root, judge_root):
                continue
            where = [f"system '{entry.key}' at {entry.span.short()}"]
            if gen == judge_key or not (tuned or judge_tuned):
                same = "" if gen == judge_key else f" (as '{ctx.name(gen)}', the same weights)"
                yield warning("W401", f"the judge '{ctx.name(judge_key)}' also generates system '{entry.key}'" + same,
                              judge.span, label="judges its own answers", notes=where,
                              help="LLM judges favour their own answers; use a different (ideally stronger) judge")
            else:
                yield warning("W403", f"the judge '{ctx.name(judge_key)}' and system '{entry.key}' share the "
                              f"base model '{ctx.name(root)}' (one is a fine-tune of it)",
                              judge.span, label="judges a relative's answers", notes=where,
                              help="a fine-tune keeps much of its base model's preferences; prefer a judge "
                                   "from another model family")
            return


def _lineage(ctx: RuleContext, key: DeclKey) -> tuple[DeclKey, bool]:
    """The model a model or fine-tune declaration starts from, and whether it was fine-tuned on the way."""
    seen, tuned = {key}, False
    while isinstance(ctx.program.decls.get(key), ast.FinetuneDecl):
        base = ctx.program.decls[key].get("base")
        target = ctx.target(base.value) if base else None
        if target is None or target in seen:
            break
        seen.add(target)
        key, tuned = target, True
    return key, tuned


def _same_model(ctx: RuleContext, a: DeclKey, b: DeclKey) -> bool:
    """One declaration, or two model declarations of the same weights (the same source)."""
    if a == b:
        return True
    da, db = ctx.program.decls.get(a), ctx.program.decls.get(b)
    if not (isinstance(da, ast.ModelDecl) and isinstance(db, ast.ModelDecl)):
        return False
    sa, sb = da.get("source"), db.get("source")
    return sa is not None and sb is not None and format_expr(sa.value) == format_expr(sb.value)


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
    fact_metrics_need_previous,
    no_training_on_test,
    documents_train_on_a_corpus,
    dense_needs_embedder,
    examples_from_train,
    judges_are_distinct,
    judge_is_not_judged,
    everything_is_used,
)


def apply_rules(program: Program, resolution: Resolution) -> tuple[nx.DiGraph, list[Diagnostic]]:
    graph = dependency_graph(program, resolution)
    ctx = RuleContext(program, resolution, graph)
    return graph, [d for rule in RULES for d in rule(ctx)]
