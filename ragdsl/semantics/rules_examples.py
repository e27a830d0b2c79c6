"""Few-shot examples come from a train split: showing a model test questions with their answers
would score it on questions it has just been told the answers to."""

from __future__ import annotations

from collections.abc import Iterator

from ragdsl.diagnostics import Diagnostic, error
from ragdsl.syntax import ast


def _fewshot_pools(decl: ast.Decl) -> Iterator[ast.Expr]:
    """The `pool` argument of every fewshot(...) call written in a declaration."""
    for assign in decl.body:
        for expr in ast.walk(assign.value):
            if isinstance(expr, ast.Call) and expr.name == "fewshot":
                kwarg = expr.kwarg("pool")
                pool = kwarg.value if kwarg is not None else (expr.args[0] if expr.args else None)
                if pool is not None:
                    yield pool


def _bound(pipeline: ast.Decl, call: ast.Call, name: str) -> ast.Expr | None:
    """The argument a pipeline application gives parameter `name` (or its default)."""
    params = list(pipeline.params or ())
    for i, arg in enumerate(call.args):
        if i < len(params) and params[i].name == name:
            return arg
    kwarg = call.kwarg(name)
    if kwarg is not None:
        return kwarg.value
    return next((p.default for p in params if p.name == name), None)


def _pools(ctx) -> Iterator[ast.Expr]:
    """Every question-set reference a fewshot pool can take: written in place, or passed to a pipeline
    parameter by each application of the pipeline (each value of a sweep)."""
    parameter_pools: dict = {}  # pipeline key -> names of its parameters used as pools
    for key, decl in sorted(ctx.program.decls.items()):
        params = {p.name for p in decl.params or ()}
        for pool in _fewshot_pools(decl):
            if isinstance(pool, ast.Ref) and len(pool.parts) == 1 and pool.parts[0] in params:
                parameter_pools.setdefault(key, []).append(pool.parts[0])
            else:
                yield from (e for e in ast.walk(pool) if isinstance(e, ast.Ref))
    for call_span, p_key in sorted(ctx.resolution.pipeline_calls.items()):
        names = parameter_pools.get(p_key)
        if not names:
            continue
        call = _calls(ctx).get(call_span)
        for name in names:
            arg = _bound(ctx.program.decls[p_key], call, name) if call is not None else None
            if arg is not None:
                yield from (e for e in ast.walk(arg) if isinstance(e, ast.Ref))


def _calls(ctx) -> dict:
    """Every pipeline application by span."""
    found = {}
    for _, decl in ctx.program.decls.items():
        for assign in decl.body:
            for expr in ast.walk(assign.value):
                if isinstance(expr, ast.Call) and expr.span in ctx.resolution.pipeline_calls:
                    found[expr.span] = expr
    return found


def _evaluated(ctx) -> dict:
    """Question set -> [(split, where)] of every evaluation's `questions`."""
    from ragdsl.semantics.rules import _split_of

    found: dict = {}
    for _, decl in ctx.decls(ast.EvaluateDecl):
        assign = decl.get("questions")
        key = ctx.target(assign.value) if assign else None
        if key is not None and assign is not None:
            found.setdefault(key, []).append((_split_of(assign.value, "test"), assign.value))
    return found


def examples_from_train(ctx) -> Iterator[Diagnostic]:
    """E418: a few-shot pool names a test or whole question set, a set without a train split, the
    train split of a set an evaluation tests on whole (.all), or one that another seed splits apart."""
    from ragdsl.semantics.rules import _same_source_evaluated

    evaluated = _evaluated(ctx)
    for pool in _pools(ctx):
        key = ctx.target(pool)
        if key is None or ctx.program.decls[key].kind != "questions":
            continue
        split = pool.parts[1] if len(pool.parts) > 1 else "train"
        name = pool.parts[0]
        if split != "train":
            yield error("E418", f"few-shot examples from '{pool.dotted}', which holds test questions",
                        pool.span, label="examples must come from a train split",
                        help=f"draw examples from '{name}.train': evaluated questions never appear in a "
                             "prompt with their answers")
            continue
        overlap = next((where for split, where in evaluated.get(key, []) if split == "all"), None)
        if overlap is not None:
            yield error("E418", f"few-shot examples from '{pool.dotted}', whose questions an evaluation tests on",
                        pool.span, label="'all' includes this train split",
                        notes=[f"evaluated at {overlap.span.start()}"],
                        help=f"evaluate on '{name}.test', so examples and evaluated questions stay apart")
            continue
        for diagnostic in _same_source_evaluated(ctx, key, pool, evaluated):
            yield error("E418", "few-shot examples may be questions an evaluation tests on", pool.span,
                        label=diagnostic.label, notes=list(diagnostic.notes),
                        help="draw examples from the train split of the question set the evaluation tests on, "
                             "so one split keeps them apart")
        questions = ctx.program.decls[key]
        train = questions.get("train")
        if train is None or (isinstance(train.value, ast.Num) and train.value.value == 0):
            yield error("E418", f"few-shot examples from questions '{ctx.name(key)}', which has no training "
                        "split", pool.span, label="an empty pool",
                        help=f"set `train = 0.5` (a fraction or a count) in questions {ctx.name(key)}")
