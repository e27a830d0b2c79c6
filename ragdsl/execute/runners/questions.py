"""questions node: read a question set and split it into train and test by seed."""

from __future__ import annotations

from dataclasses import asdict

from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import write_jsonl


def run(ctx: NodeContext) -> Output:
    from ragdsl.data import DataError, attribution, read_questions, split_questions

    params = ctx.node.params
    seed = params.get("seed") if params.get("seed") is not None else ctx.seed
    ctx.note("reading questions")
    try:
        questions = read_questions(params["source"], ctx.locate)
        train, test = split_questions(questions, train=params.get("train") or 0, test=params.get("test"),
                                      seed=seed)
    except DataError as exc:
        raise NodeFailed(exc.message, exc.hint) from exc
    write_jsonl(ctx.workdir / "train.jsonl", (_record(q) for q in train))
    write_jsonl(ctx.workdir / "test.jsonl", (_record(q) for q in test))
    write_jsonl(ctx.workdir / "all.jsonl", (_record(q) for q in questions))
    return Output({"questions": len(questions), "train": len(train), "test": len(test), "seed": seed,
                   "attribution": attribution(params["source"])})


def _record(question) -> dict:
    record = asdict(question)
    record["answers"] = list(record["answers"])
    return record


def load(result, part: str) -> list[dict]:
    """A question set's part (train, test or all) as records."""
    from ragdsl.execute.runners._io import read_jsonl

    return list(read_jsonl(result.folder / f"{part or 'all'}.jsonl"))
