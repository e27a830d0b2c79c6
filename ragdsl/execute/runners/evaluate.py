"""evaluate node: score every system's answers on the same questions, with statistics.

Objective metrics (EM, F1, format validity, retrieval) are computed here; semantic
similarity runs Haystack's SASEvaluator on a local embedder; accuracy,
completeness and faithfulness are scored by the judge model, one batched
generation per metric over all systems. Artifacts: scores.jsonl (one row per
system and question), judgments.jsonl (every judge reply, its parsed score and
rationale), questions.jsonl (the drill-down: each question with every system's
answer, contexts and scores) and summary.json (means with bootstrap CIs, paired
comparisons, judge agreement and parse failures).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from ragdsl.evaluate import scoring, summary
from ragdsl.evaluate.judge import judge
from ragdsl.evaluate.rubric import Rubric, RubricError, parse_rubric, rubrics_for
from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import read_jsonl, write_jsonl
from ragdsl.execute.store import atomic_write_text

JUDGE_CHUNK = 32  # prompts per judge call: whole batches, and progress between them
JUDGE_BATCH = 8


def run(ctx: NodeContext) -> Output:
    params = ctx.node.params
    metrics = list(params["metrics"])
    unknown = [x for x in metrics if scoring.kind_of(x) == "unknown"]
    if unknown:
        raise NodeFailed(f"unknown metric(s): {', '.join(unknown)}", "see docs/evaluation.md for the metrics")
    answers = {label: _answers(ctx, node, params.get("limit")) for label, node in sorted(params["systems"].items())}
    scores: dict[str, dict[str, dict[str, float]]] = {s: {x: {} for x in metrics} for s in answers}
    rule = _format_rule(ctx, params) if "format_validity" in metrics else None
    corpora: dict[str, list[str]] = {}  # system -> the corpora its retrieval searched
    for i in ctx.node.inputs:
        if i.role.startswith("corpus:"):
            corpora.setdefault(i.role.partition(":")[2], []).append(i.node)
    if corpora:
        _count_relevant(ctx, corpora, answers)
    for metric in [x for x in metrics if scoring.kind_of(x) in ("answer", "retrieval")]:
        for system, rows in answers.items():
            for row in rows:
                value = scoring.objective(metric, row, rule)
                if value is not None:
                    scores[system][metric][row["id"]] = value
    if "semantic_similarity" in metrics:
        _similarity(ctx, params, answers, scores)
    judged = [x for x in metrics if scoring.kind_of(x) == "judge"]
    judgments: list[dict] = []
    rubrics: dict[str, Rubric] = {}
    judge_seconds = 0.0
    if judged:
        rubrics = _rubrics(ctx, params, judged)
        start = time.perf_counter()
        judgments = _judge_all(ctx, params, rubrics, answers, scores)
        judge_seconds = time.perf_counter() - start  # in the run record only: summary.json stays reproducible
    # Agreement needs EM and F1 on the same answers, requested or not (they cost nothing).
    objective = {s: {x: {r["id"]: v for r in rows if (v := scoring.objective(x, r)) is not None}
                     for x in ("exact_match", "f1")} for s, rows in answers.items()}
    agreement = summary.judge_agreement({s: {**objective[s], **scores[s]} for s in scores}, judged)
    result = summary.summarise(scores, metrics, params.get("seed", ctx.seed))
    unparseable = {x: sum(1 for j in judgments if j["metric"] == x and j["error"]) for x in judged}
    info = {
        **result, "metrics": metrics, "systems": params["systems"], "agreement": agreement,
        "fingerprints": {s: ctx.upstream(n).fingerprint for s, n in params["systems"].items()},
        "questions": params["questions"]["node"].partition(".")[2] if isinstance(params["questions"], dict) else "",
        "judge": _judge_info(ctx, params, rubrics, judgments, unparseable) if judged else None,
    }
    _write(ctx, answers, scores, judgments, info)
    table = {s: {**{x: e["mean"] for x, e in result["estimates"][s].items()}, "questions": len(answers[s])}
             for s in answers}
    attribution = ctx.upstream(params["questions"]).outputs.get("attribution", "")
    outputs = {"systems": len(answers), "not_computed": [], "attribution": attribution,
               "unparseable_judgments": sum(unparseable.values()), "questions": info["questions"]}
    if judgments:
        outputs |= {"judgments": len(judgments), "judge_seconds": round(judge_seconds, 1)}
    return Output(outputs, metrics=table)


def _count_relevant(ctx: NodeContext, corpora: dict[str, list[str]], answers: dict[str, list[dict]]) -> None:
    """Add to each retrieving answer how many passages of its searched corpora hold its gold evidence."""
    from ragdsl.evaluate.metrics import normalize_answer, relevant_ids

    ctx.note("counting relevant passages")
    normalised: dict[str, list[tuple[str, str]]] = {}
    counts: dict[tuple[tuple[str, ...], str], int] = {}
    for system, rows in answers.items():
        searched = tuple(sorted(set(corpora.get(system, ()))))
        for node in searched:
            if node not in normalised:
                normalised[node] = [(p["id"], normalize_answer(p["text"]))
                                    for p in read_jsonl(ctx.upstream(node).folder / "passages.jsonl")]
        for row in rows:
            gold = row.get("context")
            if not searched or not gold or "contexts" not in row:
                continue
            if (searched, gold) not in counts:
                counts[(searched, gold)] = sum(len(relevant_ids(normalised[n], gold)) for n in searched)
            row["relevant"] = counts[(searched, gold)]


def _answers(ctx: NodeContext, node: str, limit: int | None) -> list[dict]:
    rows = list(read_jsonl(ctx.upstream(node).folder / "answers.jsonl"))
    return rows[:limit] if limit else rows


def _format_rule(ctx: NodeContext, params: dict) -> scoring.FormatRule:
    pattern, schema_ref = params.get("format_regex"), params.get("format_schema")
    if pattern is None and schema_ref is None:
        raise NodeFailed("format_validity needs a format to check answers against",
                         'set `format_regex = "..."` or `format_schema = "schema.json"` in the evaluation')
    import re

    try:
        re.compile(pattern or "")
    except re.error as exc:
        raise NodeFailed(f"format_regex is not a valid regular expression: {exc}") from exc
    schema = None
    if schema_ref is not None:
        import jsonschema

        path = ctx.locate(schema_ref["file"])
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except (ValueError, jsonschema.SchemaError) as exc:
            raise NodeFailed(f"{schema_ref['file']} is not a valid JSON Schema: {str(exc).splitlines()[0]}") from exc
    return scoring.FormatRule(pattern, schema)


def _similarity(ctx: NodeContext, params: dict, answers: dict, scores: dict) -> None:
    from ragdsl.evaluate.similarity import semantic_similarity
    from ragdsl.execute.runners.index import model_folder

    ctx.note("loading the similarity model")
    folder = model_folder(params.get("similarity_model") or "all-minilm-l6-v2", "embedder", ctx)
    for system, rows in answers.items():
        values = semantic_similarity(folder, [r["prediction"] for r in rows], [r.get("answers") or [] for r in rows])
        for row, value in zip(rows, values):
            if value is not None:
                scores[system]["semantic_similarity"][row["id"]] = value


def _rubrics(ctx: NodeContext, params: dict, judged: list[str]) -> dict[str, Rubric]:
    custom = None
    try:
        if params.get("rubric"):
            written = params["rubric"]["file"]
            custom = parse_rubric(ctx.locate(written).read_text(encoding="utf-8"), written)
        return rubrics_for(judged, custom)
    except RubricError as exc:
        raise NodeFailed(str(exc), "docs/evaluation.md shows the rubric format") from exc


def _generator(ctx: NodeContext, params: dict) -> Callable[[list[str]], list[str]]:
    from ragdsl.execute.runners.index import model_folder
    from ragdsl.lower.components import LocalGenerator

    model = ctx.upstream(params["judge"])
    if model.kind != "model":
        raise NodeFailed(f"the judge {model.node} is a fine-tune; judging runs with a `model` declaration",
                         "judge with a base model (ideally stronger than the judged ones)")
    ctx.note("loading the judge")
    folder = model_folder(params["judge"], "generator", ctx)
    seed = params["judge_seed"] if params.get("judge_seed") is not None else params.get("seed", ctx.seed)
    out = model.outputs
    settings = dict(chat_template=out.get("chat_template", "auto"), precision=out.get("precision", "auto"),
                    device=out.get("device", "auto"), max_new_tokens=params.get("judge_max_new_tokens") or 48,
                    temperature=float(params.get("judge_temperature") or 0.0), seed=seed, batch_size=JUDGE_BATCH)
    generator = ctx.resources.get(("judge", str(folder), tuple(sorted(settings.items()))),
                                  lambda: LocalGenerator(str(folder), **settings))
    generator.warm_up()
    return lambda prompts: generator.run(prompts=prompts)["replies"]


def _judge_all(ctx: NodeContext, params: dict, rubrics: dict[str, Rubric], answers: dict, scores: dict) -> list[dict]:
    generate = _generator(ctx, params)
    items = [(system, row) for system, rows in answers.items() for row in rows]
    ctx.started(total=len(items) * len(rubrics), unit="judgments")
    out = []
    for metric, rubric in rubrics.items():
        for start in range(0, len(items), JUDGE_CHUNK):
            chunk = items[start:start + JUDGE_CHUNK]
            for (system, row), found in zip(chunk, judge(generate, rubric, [r for _, r in chunk])):
                value = None if found.score is None else rubric.normalise(found.score)
                if value is not None:
                    scores[system][metric][row["id"]] = value
                out.append({"system": system, "id": row["id"], "metric": metric, "value": value,
                            **found.as_dict()})
            ctx.advance(len(chunk))
    return out


def _judge_info(ctx: NodeContext, params: dict, rubrics: dict, judgments: list[dict], unparseable: dict) -> dict:
    model = ctx.upstream(params["judge"])
    return {"model": model.node.partition(".")[2], "reference": model.outputs.get("reference"),
            "identity": model.outputs.get("identity"), "temperature": params.get("judge_temperature") or 0.0,
            "seed": params["judge_seed"] if params.get("judge_seed") is not None else params.get("seed", ctx.seed),
            "max_new_tokens": params.get("judge_max_new_tokens"),
            "rubrics": {m: {"name": r.name, "version": r.version, "scale": f"{r.low}-{r.high}",
                            "sha256": r.sha256} for m, r in rubrics.items()},
            "judgments": len(judgments), "unparseable": unparseable}


def _write(ctx: NodeContext, answers: dict, scores: dict, judgments: list[dict], info: dict) -> None:
    write_jsonl(ctx.workdir / "scores.jsonl", (
        {"system": s, "id": r["id"], **{x: scores[s][x].get(r["id"]) for x in info["metrics"]}}
        for s, rows in answers.items() for r in rows))
    write_jsonl(ctx.workdir / "judgments.jsonl", judgments)
    rationale = {(j["system"], j["id"], j["metric"]): j for j in judgments}
    by_question: dict[str, dict] = {}
    for system, rows in answers.items():
        for r in rows:
            entry = by_question.setdefault(r["id"], {"id": r["id"], "question": r["question"],
                                                     "answers": r.get("answers") or [], "context": r.get("context"),
                                                     "systems": {}})
            entry["systems"][system] = {
                "prediction": r["prediction"], "contexts": [c.get("text", "") for c in r.get("contexts") or []],
                "scores": {x: scores[system][x].get(r["id"]) for x in info["metrics"]},
                "judge": {m: {"score": j["score"], "rationale": j["rationale"], "error": j["error"]}
                          for m in info["metrics"] if (j := rationale.get((system, r["id"], m)))}}
    write_jsonl(ctx.workdir / "questions.jsonl", (by_question[q] for q in sorted(by_question)))
    atomic_write_text(ctx.workdir / "summary.json", json.dumps(info, indent=2, sort_keys=True) + "\n")
