"""evaluate node: score every system's answers on the same questions, with statistics.

Objective metrics (EM, F1, format validity, fact updates, retrieval) are computed here; semantic
similarity runs Haystack's SASEvaluator on a local embedder; accuracy,
completeness and faithfulness are scored by the judge model(s), one batched
generation per judge and metric over all systems; each judge also scores its
rubric's calibration cases (cached, see ragdsl.evaluate.calibration).
Artifacts: scores.jsonl (one row per system and question), judgments.jsonl
(every judge reply, its parsed score and rationale), calibration.jsonl (every
calibration case's label and judge reply), questions.jsonl (the drill-down:
each question with every system's answer, contexts and scores) and
summary.json (means with bootstrap CIs, paired comparisons, judge agreement,
calibration agreement and parse failures).

Judge replies are kept in the node's checkpoint, one line per judged chunk
keyed by its prompts: a killed evaluation resumes without judging again what
it judged before (every judge call seeds itself, so the replies are the same).

With `answer_field`, every metric but format_validity scores that field of the
answers that are JSON objects with it (scoring.scored_prediction); the fact
metrics read each question's previous answers from the questions node, since
answers.jsonl does not carry question meta.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ragdsl.evaluate import calibration as cal
from ragdsl.evaluate import scoring, summary
from ragdsl.evaluate.judge import build_prompt, judge, parse_reply
from ragdsl.evaluate.rubric import BUILTIN, Rubric, RubricError, parse_rubric, rubrics_for
from ragdsl.execute.checkpoint import batch_key
from ragdsl.execute.context import NodeContext, NodeFailed, Output, Result
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
    # What the metrics score: the answers themselves, or with answer_field copies holding that field's value
    # (`answers` keep the raw text, for format_validity and the drill-down).
    scored = _scored(answers, params.get("answer_field"))
    scores: dict[str, dict[str, dict[str, float]]] = {s: {x: {} for x in metrics} for s in answers}
    rule = _format_rule(ctx, params) if "format_validity" in metrics else None
    facts = [x for x in metrics if scoring.kind_of(x) == "fact"]
    if facts:
        _add_previous(ctx, params, scored, facts)
    corpora: dict[str, list[str]] = {}  # system -> the corpora its retrieval searched
    for i in ctx.node.inputs:
        if i.role.startswith("corpus:"):
            corpora.setdefault(i.role.partition(":")[2], []).append(i.node)
    if corpora:
        _count_relevant(ctx, corpora, scored)
    for metric in [x for x in metrics if scoring.kind_of(x) in ("answer", "fact", "retrieval")]:
        for system, rows in scored.items():
            for row, raw in zip(rows, answers[system]):
                value = scoring.objective(metric, raw if metric == "format_validity" else row, rule)
                if value is not None:
                    scores[system][metric][row["id"]] = value
    if "semantic_similarity" in metrics:
        _similarity(ctx, params, scored, scores)
    judged = [x for x in metrics if scoring.kind_of(x) == "judge"]
    panel = _Panel([], {}, [], [], 0, 0)
    rubrics: dict[str, Rubric] = {}
    judge_seconds = 0.0
    if judged:
        rubrics, folders = _rubrics(ctx, params, judged)
        start = time.perf_counter()
        panel = _judge_all(ctx, params, rubrics, _calibrations(rubrics, folders), scored)
        judge_seconds = time.perf_counter() - start  # in the run record only: summary.json stays reproducible
        for system, by_metric in summary.combine_judges(panel.scores, params.get("judge_combine") or "mean").items():
            for metric, by_question in by_metric.items():
                scores[system][metric].update(by_question)
    judgments = panel.judgments
    # Agreement needs EM and F1 on the same answers, requested or not (they cost nothing).
    objective = {s: {x: {r["id"]: v for r in rows if (v := scoring.objective(x, r)) is not None}
                     for x in ("exact_match", "f1")} for s, rows in scored.items()}
    agreement = summary.judge_agreement({s: {**objective[s], **scores[s]} for s in scores}, judged)
    result = summary.summarise(scores, metrics, params.get("seed", ctx.seed))
    unparseable = {x: sum(1 for j in judgments if j["metric"] == x and j["error"]) for x in judged}
    info = {
        **result, "metrics": metrics, "systems": params["systems"], "agreement": agreement,
        "fingerprints": {s: ctx.upstream(n).fingerprint for s, n in params["systems"].items()},
        "questions": params["questions"]["node"].partition(".")[2] if isinstance(params["questions"], dict) else "",
        "judge": _judge_info(ctx, params, rubrics, panel, unparseable, judged) if judged else None,
        "calibration": panel.calibration if judged else [],
        # How each system generated: batched answers can depend on their batch neighbours.
        "generation": {s: {"batch_invariant": bool(ctx.upstream(n).outputs.get("batch_invariant", False))}
                       for s, n in sorted(params["systems"].items())},
    }
    if params.get("answer_field") is not None:
        info["answer_field"] = {"field": params["answer_field"], "answers": {s: len(rows) for s, rows in scored.items()},
                                "parsed": {s: sum(r["parsed"] for r in rows) for s, rows in scored.items()}}
    _write(ctx, answers, scored, scores, judgments, info)
    write_jsonl(ctx.workdir / "calibration.jsonl", panel.cases)
    table = {s: {**{x: e["mean"] for x, e in result["estimates"][s].items()}, "questions": len(answers[s])}
             for s in answers}
    attribution = ctx.upstream(params["questions"]).outputs.get("attribution", "")
    outputs = {"systems": len(answers), "not_computed": [], "attribution": attribution,
               "unparseable_judgments": sum(unparseable.values()), "questions": info["questions"]}
    if "answer_field" in info:
        outputs["parsed_answers"] = sum(info["answer_field"]["parsed"].values())
    if judgments:
        outputs |= {"judgments": len(judgments), "judge_seconds": round(judge_seconds, 1),
                    "calibration_judgments": panel.fresh, "calibrations_cached": panel.cached,
                    "calibration_warnings": sum(1 for c in panel.calibration if c["warning"])}
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


def _scored(answers: dict[str, list[dict]], field: str | None) -> dict[str, list[dict]]:
    """The answers as the metrics see them: without answer_field the same rows; with it, copies whose
    prediction is the field's value where the answer is a JSON object with that field, and `parsed`."""
    if field is None:
        return answers
    out: dict[str, list[dict]] = {}
    for system, rows in answers.items():
        out[system] = []
        for row in rows:
            prediction, parsed = scoring.scored_prediction(str(row.get("prediction") or ""), field)
            out[system].append({**row, "prediction": prediction, "parsed": parsed})
    return out


def _add_previous(ctx: NodeContext, params: dict, answers: dict[str, list[dict]], facts: list[str]) -> None:
    """Add to each answer its question's previous (outdated or counterfactual) answers, from the question
    records' meta["previous"]; fail when no evaluated question has any."""
    from ragdsl.execute.runners.questions import load

    ref = params["questions"]
    previous: dict[str, list[str]] = {}
    for q in load(ctx.upstream(ref), ref.get("part", "")):
        found = (q.get("meta") or {}).get("previous")
        kept = [str(p) for p in (found if isinstance(found, list) else [] if found is None else [found])
                if str(p).strip()]
        if kept:
            previous[q["id"]] = kept
    for rows in answers.values():
        for row in rows:
            if row["id"] in previous:
                row["previous"] = previous[row["id"]]
    if not any("previous" in row for rows in answers.values() for row in rows):
        questions = len({row["id"] for rows in answers.values() for row in rows})
        raise NodeFailed(
            f"{', '.join(facts)} need questions with previous (outdated or counterfactual) answers, and none of "
            f"the {questions} evaluated questions of {ref['node'].partition('.')[2]} has one",
            "set `previous` in the question source to the field holding them (e.g. jsonl(\"q.jsonl\", "
            "previous = \"old_answer\")), or use factbook(counterfactual = [...]) or "
            "factbook(changes_since = \"2015\")")


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


def _rubrics(ctx: NodeContext, params: dict, judged: list[str]) -> tuple[dict[str, Rubric], dict[str, Path]]:
    """The rubric of each judged metric, and the folder its calibration file is named relative to."""
    custom, folder = None, BUILTIN
    try:
        if params.get("rubric"):
            written = params["rubric"]["file"]
            path = ctx.locate(written)
            custom, folder = parse_rubric(path.read_text(encoding="utf-8"), written), path.parent
        rubrics = rubrics_for(judged, custom)
    except RubricError as exc:
        raise NodeFailed(str(exc), "docs/evaluation.md shows the rubric format") from exc
    return rubrics, {m: folder if r is custom else BUILTIN for m, r in rubrics.items()}


def _calibrations(rubrics: dict[str, Rubric], folders: dict[str, Path]) -> dict[str, cal.Calibration | None]:
    """Each rubric's calibration cases; None where the rubric names no calibration file."""
    out: dict[str, cal.Calibration | None] = {}
    for metric, rubric in rubrics.items():
        path = cal.calibration_path(rubric, folders[metric])
        try:
            out[metric] = cal.load_calibration(path, rubric) if path is not None else None
        except cal.CalibrationError as exc:
            raise NodeFailed(str(exc), "docs/evaluation.md shows the calibration file format") from exc
    return out


def _judge_refs(params: dict) -> list[dict]:
    """The judges, `judge = j` or `judge = [a, b]`, in a fixed order (their node ids)."""
    ref = params.get("judge")
    refs = ref if isinstance(ref, list) else [ref] if ref else []
    return sorted(refs, key=lambda r: r["node"])


def _judge_model(ctx: NodeContext, ref: dict) -> Result:
    model = ctx.upstream(ref)
    if model.kind != "model":
        raise NodeFailed(f"the judge {model.node} is a fine-tune; judging runs with a `model` declaration",
                         "judge with a base model (ideally stronger than the judged ones)")
    return model


def _judge_name(ref: dict) -> str:
    # from the reference, not the result: a model with the same weights as another shares its result
    return ref["node"].partition(".")[2]


def _settings(ctx: NodeContext, params: dict, ref: dict) -> dict:
    """The judge's generation settings: the same for the evaluation's answers and its calibration cases."""
    out = _judge_model(ctx, ref).outputs
    return dict(chat_template=out.get("chat_template", "auto"), precision=out.get("precision", "auto"),
                device=out.get("device", "auto"), max_new_tokens=params.get("judge_max_new_tokens") or 48,
                temperature=float(params.get("judge_temperature") or 0.0), seed=_judge_seed(ctx, params),
                batch_size=JUDGE_BATCH)


def _judge_seed(ctx: NodeContext, params: dict) -> int:
    return params["judge_seed"] if params.get("judge_seed") is not None else params.get("seed", ctx.seed)


class _Counter:
    """Judgments done out of the total, for progress and the checkpoint's resume line."""

    def __init__(self, total: int):
        self.done, self.total = 0, total


def _generator(ctx: NodeContext, params: dict, ref: dict) -> Callable[[list[str]], list[str]]:
    """The judge as `generate(prompts) -> replies`, loaded on its first call (a resumed evaluation
    may find every reply in its checkpoint and need no model at all)."""
    from ragdsl.execute.runners.index import model_folder
    from ragdsl.lower.components import LocalGenerator

    settings = _settings(ctx, params, ref)
    generator = None

    def generate(prompts: list[str]) -> list[str]:
        nonlocal generator
        if generator is None:
            ctx.note(f"loading the judge {_judge_name(ref)}")
            folder = model_folder(ref, "generator", ctx)
            generator = ctx.resources.get(("judge", str(folder), tuple(sorted(settings.items()))),
                                          lambda: LocalGenerator(str(folder), **settings))
            generator.warm_up()
        return generator.run(prompts=prompts)["replies"]
    return generate


def _resumable(ctx: NodeContext, name: str, generate: Callable[[list[str]], list[str]], counter: _Counter
               ) -> Callable[[list[str]], list[str]]:
    """`generate`, answering from the node's checkpoint what an earlier run of it judged already and
    keeping each new chunk's replies there; it advances the progress itself."""
    journal = ctx.checkpoint.journal("judgments") if ctx.checkpoint is not None else None

    def run(prompts: list[str]) -> list[str]:
        key = batch_key("judge", name, prompts)
        found = journal.get(key) if journal is not None else None
        counter.done += len(prompts)
        if found is not None and len(found) == len(prompts):
            ctx.resumed(len(prompts))
            return found
        replies = list(generate(prompts))
        ctx.advance(len(prompts))
        if journal is not None and ctx.checkpoint is not None:
            journal.append(key, replies)
            ctx.checkpoint.set_progress(counter.done, counter.total, "judgments")
        return replies
    return run


@dataclass
class _Panel:
    """What judging produced: every judgment of an answer, each judge's scores, calibration results."""

    judgments: list[dict]
    scores: dict[str, dict[str, dict[str, dict[str, float]]]]  # judge -> system -> metric -> question -> 0..1
    calibration: list[dict]  # summary.json's `calibration` rows
    cases: list[dict]  # calibration.jsonl rows
    fresh: int  # calibration cases judged now
    cached: int  # (judge, metric) calibrations read from the cache


@dataclass
class _Plan:
    """One judge's calibration of one metric: its prompts, cache key, and replies when cached."""

    metric: str
    calibration: cal.Calibration
    prompts: list[str]
    key: str | None
    material: dict | None
    replies: list[str] | None
    same_as: _Plan | None = None  # an earlier judge's identical calibration in this run


def _judge_all(ctx: NodeContext, params: dict, rubrics: dict[str, Rubric],
               calibrations: dict[str, cal.Calibration | None], answers: dict) -> _Panel:
    refs = _judge_refs(params)
    for ref in refs:
        _judge_model(ctx, ref)  # a fine-tune fails here, before anything loads
    cache = cal.default_cache()
    plans = {r["node"]: _plans(ctx, params, r, rubrics, calibrations, cache) for r in refs}
    items = [(system, row) for system, rows in answers.items() for row in rows]
    # Two judges with the same weights (and settings) share one calibration: judge it once.
    first: dict[str, _Plan] = {}
    for plan in (p for ps in plans.values() for p in ps if p.replies is None):
        if plan.key is not None and plan.key in first:
            plan.same_as = first[plan.key]
        elif plan.key is not None:
            first[plan.key] = plan
    fresh = sum(len(p.prompts) for ps in plans.values() for p in ps if p.replies is None and p.same_as is None)
    counter = _Counter(len(items) * len(rubrics) * len(refs) + fresh)
    ctx.started(total=counter.total, unit="judgments")
    panel = _Panel([], {}, [], [], fresh, sum(1 for ps in plans.values() for p in ps if p.replies is not None))
    for ref in refs:
        name = _judge_name(ref)
        generate = _resumable(ctx, name, _generator(ctx, params, ref), counter)
        own = panel.scores.setdefault(name, {s: {m: {} for m in rubrics} for s in answers})
        for metric, rubric in rubrics.items():
            for start in range(0, len(items), JUDGE_CHUNK):
                chunk = items[start:start + JUDGE_CHUNK]
                for (system, row), found in zip(chunk, judge(generate, rubric, [r for _, r in chunk])):
                    value = None if found.score is None else rubric.normalise(found.score)
                    if value is not None:
                        own[system][metric][row["id"]] = value
                    panel.judgments.append({"judge": name, "system": system, "id": row["id"], "metric": metric,
                                            "value": value, **found.as_dict()})
        for plan in plans[ref["node"]]:
            if plan.same_as is not None:
                plan.replies = plan.same_as.replies
            elif plan.replies is None:
                plan.replies = cal.judge_cases(generate, plan.prompts, JUDGE_CHUNK)
                if plan.key is not None:
                    cache.put(plan.key, plan.material, plan.replies)  # type: ignore[arg-type]
            _calibrated(panel, name, rubrics[plan.metric], plan)
        for metric in rubrics:
            if calibrations[metric] is None:
                panel.calibration.append({"metric": metric, "judge": name, **cal.not_available()})
    panel.calibration.sort(key=lambda c: (list(rubrics).index(c["metric"]), c["judge"]))
    return panel


def _plans(ctx: NodeContext, params: dict, ref: dict, rubrics: dict[str, Rubric],
           calibrations: dict[str, cal.Calibration | None], cache: cal.CalibrationCache) -> list[_Plan]:
    """The calibrations one judge runs, with the replies of those already in the cache."""
    identity = _judge_model(ctx, ref).outputs.get("identity")
    settings = {**_settings(ctx, params, ref), "chunk": JUDGE_CHUNK}
    plans = []
    for metric, rubric in rubrics.items():
        found = calibrations[metric]
        if found is None:
            continue
        prompts = [build_prompt(rubric, case.item()) for case in found.cases]
        if not identity:  # weights without an identity cannot be keyed: judge every time
            plans.append(_Plan(metric, found, prompts, None, None, None))
            continue
        material = cal.key_material(identity, rubric, found, settings, prompts)
        key = cal.cache_key(material)
        plans.append(_Plan(metric, found, prompts, key, material, cache.get(key, material, len(prompts))))
    return plans


def _calibrated(panel: _Panel, judge_name: str, rubric: Rubric, plan: _Plan) -> None:
    found = [parse_reply(reply, rubric.low, rubric.high) for reply in plan.replies or []]
    cases = plan.calibration.cases
    stats = cal.agreement([c.expected for c in cases], [j.score for j in found])
    panel.calibration.append({"metric": plan.metric, "judge": judge_name, "available": True, "reason": None,
                              "file": plan.calibration.file, "sha256": plan.calibration.sha256, **stats})
    panel.cases += [{"judge": judge_name, "metric": plan.metric, "id": c.id, "expected": c.expected,
                     "score": j.score, "error": j.error, "rationale": j.rationale, "why": c.why, "raw": j.raw}
                    for c, j in zip(cases, found)]


def _judge_info(ctx: NodeContext, params: dict, rubrics: dict[str, Rubric], panel: _Panel, unparseable: dict,
                judged: list[str]) -> dict:
    refs = _judge_refs(params)
    models = [ctx.upstream(r) for r in refs]
    names = [_judge_name(r) for r in refs]

    def joined(key: str):
        values = [m.outputs.get(key) for m in models]
        return values[0] if len(values) == 1 else ", ".join(str(v) for v in values)

    estimates = summary.judge_estimates(panel.scores, judged, params.get("seed", ctx.seed))
    judges = [{"name": name, "node": ref["node"], "reference": model.outputs.get("reference"),
               "identity": model.outputs.get("identity"),
               "judgments": sum(1 for j in panel.judgments if j["judge"] == name),
               "unparseable": {x: sum(1 for j in panel.judgments if j["judge"] == name and j["metric"] == x
                                      and j["error"]) for x in judged},
               "estimates": estimates.get(name, {})} for ref, name, model in zip(refs, names, models)]
    return {"model": ", ".join(names), "reference": joined("reference"), "identity": joined("identity"),
            "temperature": params.get("judge_temperature") or 0.0, "seed": _judge_seed(ctx, params),
            "max_new_tokens": params.get("judge_max_new_tokens"),
            "rubrics": {m: {"name": r.name, "version": r.version, "scale": f"{r.low}-{r.high}", "sha256": r.sha256,
                            "calibration": r.calibration} for m, r in rubrics.items()},
            "judgments": len(panel.judgments), "unparseable": unparseable,
            "combine": (params.get("judge_combine") or "mean") if len(refs) > 1 else None,
            "judges": judges, "pairwise": summary.judges_pairwise(panel.scores, judged)}


def _write(ctx: NodeContext, answers: dict, scored: dict, scores: dict, judgments: list[dict], info: dict) -> None:
    # `parsed` (answer_field) and `previous` (fact metrics) are written only where they were used, so the
    # artifacts of evaluations without them are as they were.
    write_jsonl(ctx.workdir / "scores.jsonl", (
        {"system": s, "id": r["id"], **({"parsed": r["parsed"]} if "parsed" in r else {}),
         **{x: scores[s][x].get(r["id"]) for x in info["metrics"]}}
        for s, rows in scored.items() for r in rows))
    write_jsonl(ctx.workdir / "judgments.jsonl", judgments)
    verdicts: dict[tuple[str, str, str], list[dict]] = {}
    for j in judgments:
        verdicts.setdefault((j["system"], j["id"], j["metric"]), []).append(j)
    how = (info["judge"] or {}).get("combine") or "mean"
    by_question: dict[str, dict] = {}
    for system, rows in answers.items():
        for r, seen in zip(rows, scored[system]):
            entry = by_question.setdefault(r["id"], {"id": r["id"], "question": r["question"],
                                                     "answers": r.get("answers") or [], "context": r.get("context"),
                                                     "systems": {}})
            if "previous" in seen:
                entry["previous"] = seen["previous"]
            entry["systems"][system] = {
                "prediction": r["prediction"], "contexts": [c.get("text", "") for c in r.get("contexts") or []],
                "scores": {x: scores[system][x].get(r["id"]) for x in info["metrics"]},
                "judge": {m: _verdict(found, how) for m in info["metrics"]
                          if (found := verdicts.get((system, r["id"], m)))}}
            if "parsed" in seen:
                entry["systems"][system] |= {"parsed": seen["parsed"], "scored": seen["prediction"]}
    write_jsonl(ctx.workdir / "questions.jsonl", (by_question[q] for q in sorted(by_question)))
    atomic_write_text(ctx.workdir / "summary.json", json.dumps(info, indent=2, sort_keys=True) + "\n")


def _verdict(judgments: list[dict], how: str) -> dict:
    """One answer's judged score on the rubric's scale, for the drill-down: the judge's reply, or with
    several judges their combined score and each judge's reply."""
    if len(judgments) == 1:
        j = judgments[0]
        return {"score": j["score"], "rationale": j["rationale"], "error": j["error"]}
    scored = [j["score"] for j in judgments if j["score"] is not None]
    return {"score": summary.combine(scored, how) if scored else None,
            "rationale": "; ".join(f"{j['judge']}: {j['rationale'] or j['error'] or ''}".rstrip(": ")
                                   for j in judgments),
            "error": None if scored else "no judge gave a score",
            "judges": {j["judge"]: {"score": j["score"], "rationale": j["rationale"], "error": j["error"]}
                       for j in judgments}}
