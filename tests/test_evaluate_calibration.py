"""Judge calibration: the labelled cases each rubric ships with, agreement statistics (against scipy and
scikit-learn), poor-agreement warnings, the cache, several judges, and custom rubrics without cases."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from test_evaluate_runner import calibration_cases, evaluate_context, scripted_judge

from ragdsl.evaluate import calibration as cal
from ragdsl.evaluate.judge import build_prompt, parse_reply
from ragdsl.evaluate.rubric import BUILTIN, JUDGED, builtin_rubric, parse_rubric
from ragdsl.execute.context import NodeContext, NodeFailed, Resources, Result
from ragdsl.execute.progress import QuietProgress
from ragdsl.execute.runners import evaluate
from ragdsl.ir.nodes import Input

# the label of each built-in calibration case, by the exact prompt the judge reads for it
LABELS = {build_prompt(builtin_rubric(m), c.item()): c.expected for m in JUDGED for c in calibration_cases(m)}


def labelled_judge(shift=lambda expected: expected):
    """A judge boundary that scores calibration cases `shift(label)` and evaluated answers as scripted_judge."""
    def generate(prompts: list[str]) -> list[str]:
        replies = []
        for prompt in prompts:
            label = LABELS.get(prompt)
            replies.append(scripted_judge([prompt])[0] if label is None
                           else json.dumps({"score": shift(label), "reason": "labelled"}))
        return replies
    return generate


def counting(generate, calls: list[int]):
    def wrapped(prompts):
        calls.append(len(prompts))
        return generate(prompts)
    return wrapped


def run(tmp_path: Path, monkeypatch, judges: dict[str, object], metrics=("accuracy", "exact_match"),
        cache: Path | None = None, identity=lambda node: f"sha256:{node}", **params) -> NodeContext:
    """The evaluate runner with one or several scripted judges (model node id -> generate)."""
    monkeypatch.setenv("RAGDSL_CACHE", str(cache or tmp_path / "cache"))
    ctx = evaluate_context(tmp_path, list(metrics), **params)
    results = dict(ctx.results)
    for node in judges:
        results[node] = Result(node, "model", node[-1] * 64, {"reference": f"{node}-ref", "identity": identity(node)},
                               tmp_path / "j")
    refs = [{"node": n} for n in judges]
    node_params = {**ctx.node.params, "judge": refs[0] if len(refs) == 1 else refs}
    inputs = tuple(i for i in ctx.node.inputs if i.role != "judge") + tuple(Input("judge", n) for n in judges)
    node = replace(ctx.node, params=node_params, inputs=inputs)
    monkeypatch.setattr(evaluate, "_generator", lambda ctx_, params_, ref: judges[ref["node"]])
    ctx = NodeContext(node, ctx.workdir, 7, results, ctx.files, Resources(), QuietProgress())
    evaluate.run(ctx)
    return ctx


def summary(ctx: NodeContext) -> dict:
    return json.loads((ctx.workdir / "summary.json").read_text())


# ------------------------------------------------------------------ the shipped cases


@pytest.mark.parametrize("metric", JUDGED)
def test_each_builtin_rubric_ships_labelled_cases_over_its_whole_scale(metric):
    rubric = builtin_rubric(metric)
    assert rubric.calibration == f"{metric}.calibration.jsonl"
    cases = calibration_cases(metric)
    assert 28 <= len(cases) <= 35
    assert len({c.id for c in cases}) == len(cases) and all(c.why for c in cases)
    counts = Counter(c.expected for c in cases)
    assert set(counts) == {1, 2, 3, 4, 5} and min(counts.values()) >= 3, counts
    ids = " ".join(c.id for c in cases)  # the hard cases the rubric's criteria decide
    for kind in ("exact-match" if metric != "faithfulness" else "stated-directly", "wrong", "hedged", "empty",
                 "verbose", "alias", "number"):
        assert kind in ids, kind


def test_the_cases_are_package_data_beside_the_rubrics():
    # hatch packages everything under ragdsl/ that git does not ignore; the wheel test builds it
    for metric in JUDGED:
        path = BUILTIN / f"{metric}.calibration.jsonl"
        assert path.is_file() and path.parent == BUILTIN


# ------------------------------------------------------------------ statistics


def test_agreement_matches_scipy_and_sklearn():
    from scipy.stats import kendalltau, spearmanr
    from sklearn.metrics import accuracy_score, mean_absolute_error

    rng = random.Random(3)
    expected = [rng.randint(1, 5) for _ in range(40)]
    scores = [None if i % 9 == 4 else float(min(5, max(1, e + rng.choice((-2, -1, 0, 0, 0, 1)))))
              for i, e in enumerate(expected)]
    found = cal.agreement(expected, scores)
    e = [x for x, s in zip(expected, scores) if s is not None]
    s = [x for x in scores if x is not None]
    assert (found["cases"], found["n"], found["unparseable"]) == (40, len(s), 40 - len(s))
    assert found["spearman"] == pytest.approx(spearmanr(s, e).statistic)
    assert found["kendall"] == pytest.approx(kendalltau(s, e).statistic)
    assert found["exact"] == pytest.approx(accuracy_score([int(x) for x in e], [int(x) for x in s]))
    assert found["mae"] == pytest.approx(mean_absolute_error(e, s))
    assert found["within_1"] == pytest.approx(sum(abs(a - b) <= 1 for a, b in zip(e, s)) / len(s))


@pytest.mark.parametrize(("scores", "warning"), [
    ([1, 2, 3, 4, 5] * 4, None),
    ([5, 4, 3, 2, 1] * 4, "Spearman -1.00 < 0.5; within one point on 20% of cases (< 70%)"),
    ([3] * 20, "the judge gave every case the same score; within one point on 60% of cases (< 70%)"),
    ([1, 2, 3, 4, 5] + [None] * 15, "only 5 of 20 cases scored (< 10); 15 of 20 replies unparseable (> 10%)"),
    ([1, 2, 3, 4, 5] * 3 + [None] * 5, "5 of 20 replies unparseable (> 10%)"),
    ([3, 4, 5, 5, 5] * 4, "within one point on 40% of cases (< 70%)"),  # ranks fine, scores inflated
])
def test_poor_agreement_is_flagged_with_its_reason(scores, warning):
    found = cal.agreement([1, 2, 3, 4, 5] * 4, scores)
    assert found["warning"] == warning


# ------------------------------------------------------------------ calibration files


RUBRIC = parse_rubric("---\nname: accuracy\nversion: 1\nscale: 1-5\ninputs: question, gold, answer\n---\nBe strict.\n")
GOOD = {"id": "a", "question": "Q?", "gold": ["x"], "answer": "x", "expected": 5, "why": "exact"}


@pytest.mark.parametrize(("rows", "message"), [
    (["{not json"], r"c\.jsonl:1: not a JSON object"),
    ([GOOD, {**GOOD, "expected": 6}], r"c\.jsonl:2: 'expected' must be an integer from 1 to 5"),
    ([{**GOOD, "expected": 4.5}], "'expected' must be an integer"),
    ([{**GOOD, "gold": []}], "the rubric shows 'gold', so the case needs 'gold'"),
    ([{k: v for k, v in GOOD.items() if k != "why"}], "'why' must be a string"),
    ([GOOD, GOOD], "id 'a' is used twice"),
    ([], "no cases"),
])
def test_bad_calibration_files_say_what_to_fix(rows, message):
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    with pytest.raises(cal.CalibrationError, match=message):
        cal.parse_calibration(text, RUBRIC, "c.jsonl")


def test_a_rubric_names_a_relative_jsonl_file():
    text = "---\nname: accuracy\nversion: 1\nscale: 1-5\ncalibration: {}\n---\nx\n"
    assert parse_rubric(text.format("mine.jsonl")).calibration == "mine.jsonl"
    with pytest.raises(Exception, match="is not a .jsonl file relative to the rubric"):
        parse_rubric(text.format("/etc/cases.jsonl"))


# ------------------------------------------------------------------ the evaluation


def test_calibration_agreement_sits_beside_the_judged_mean(tmp_path, monkeypatch):
    calls: list[int] = []
    ctx = run(tmp_path, monkeypatch, {"model.judge": counting(labelled_judge(), calls)})
    found = summary(ctx)
    (row,) = found["calibration"]
    cases = calibration_cases("accuracy")
    assert row == {"metric": "accuracy", "judge": "judge", "available": True, "reason": None,
                   "file": "accuracy.calibration.jsonl",
                   "sha256": cal.load_calibration(BUILTIN / "accuracy.calibration.jsonl", builtin_rubric("accuracy")).sha256,
                   "cases": len(cases), "n": len(cases), "unparseable": 0, "spearman": 1.0, "kendall": 1.0,
                   "exact": 1.0, "within_1": 1.0, "mae": 0.0, "warning": None}
    assert found["judge"]["rubrics"]["accuracy"]["calibration"] == "accuracy.calibration.jsonl"
    assert calls == [32, 8, len(cases)]  # the answers, then the cases, in the same chunks
    rows = [json.loads(line) for line in (ctx.workdir / "calibration.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [c.id for c in cases] and rows[0]["score"] == cases[0].expected
    assert rows[0]["why"] == cases[0].why and rows[0]["judge"] == "judge"


def test_a_judge_that_disagrees_with_the_labels_is_flagged(tmp_path, monkeypatch):
    ctx = run(tmp_path, monkeypatch, {"model.judge": labelled_judge(lambda e: 6 - e)})
    (row,) = summary(ctx)["calibration"]
    assert row["spearman"] == pytest.approx(-1.0) and row["warning"].startswith("Spearman -1.00 < 0.5")


def test_calibration_uses_the_evaluations_prompts_and_settings(tmp_path, monkeypatch):
    seen: list[str] = []
    run(tmp_path, monkeypatch, {"model.judge": lambda prompts: seen.extend(prompts) or labelled_judge()(prompts)})
    rubric = builtin_rubric("accuracy")
    assert seen[-len(calibration_cases("accuracy")):] == [build_prompt(rubric, c.item())
                                                           for c in calibration_cases("accuracy")]


def test_a_cached_calibration_gives_the_same_bytes_without_calling_the_judge(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first: list[int] = []
    a = run(tmp_path / "a", monkeypatch, {"model.judge": counting(labelled_judge(), first)}, cache=cache)
    second: list[int] = []
    b = run(tmp_path / "b", monkeypatch, {"model.judge": counting(labelled_judge(), second)}, cache=cache)
    assert first == [32, 8, len(calibration_cases("accuracy"))] and second == [32, 8]  # only the answers
    for name in ("summary.json", "calibration.jsonl", "judgments.jsonl"):
        assert (a.workdir / name).read_bytes() == (b.workdir / name).read_bytes(), name
    (entry,) = (cache / "judge-calibration").glob("*.json")
    assert json.loads(entry.read_text())["key"]["identity"] == "sha256:model.judge"
    # another setting of the evaluation is another key: judged again
    third: list[int] = []
    run(tmp_path / "c", monkeypatch, {"model.judge": counting(labelled_judge(), third)}, cache=cache,
        judge_max_new_tokens=32)
    assert third == [32, 8, len(calibration_cases("accuracy"))]
    # a damaged entry is judged again, never trusted
    entry.write_text('{"key": {}, "replies": []}')
    fourth: list[int] = []
    run(tmp_path / "d", monkeypatch, {"model.judge": counting(labelled_judge(), fourth)}, cache=cache)
    assert fourth == [32, 8, len(calibration_cases("accuracy"))]


def test_every_judged_metric_is_calibrated(tmp_path, monkeypatch):
    ctx = run(tmp_path, monkeypatch, {"model.judge": labelled_judge()},
              metrics=("accuracy", "completeness", "faithfulness"))
    rows = summary(ctx)["calibration"]
    assert [(r["metric"], r["n"], r["exact"]) for r in rows] == [
        (m, len(calibration_cases(m)), 1.0) for m in ("accuracy", "completeness", "faithfulness")]
    assert all(r["spearman"] == pytest.approx(1.0) and r["warning"] is None for r in rows)


# ------------------------------------------------------------------ several judges


def test_two_judges_are_averaged_and_their_agreement_reported(tmp_path, monkeypatch):
    from scipy.stats import kendalltau, spearmanr

    def harsh(prompts):  # one point lower than the scripted judge on evaluated answers, never below 1
        replies = []
        for reply in labelled_judge()(prompts):
            found = parse_reply(reply, 1, 5)
            replies.append(reply if found.score is None else json.dumps({"score": max(1, found.score - 1),
                                                                         "reason": "harsh"}))
        return replies

    ctx = run(tmp_path, monkeypatch, {"model.judge": labelled_judge(), "model.strict": harsh})
    found = summary(ctx)
    judge = found["judge"]
    assert judge["model"] == "judge, strict" and judge["combine"] == "mean"
    assert [j["name"] for j in judge["judges"]] == ["judge", "strict"] and judge["judgments"] == 80
    # base: pancreas (judge 5, strict 4) on even questions, liver (1 and 1) on odd ones
    by = {j["name"]: j for j in judge["judges"]}
    assert by["judge"]["estimates"]["base"]["accuracy"]["mean"] == pytest.approx(0.5)
    assert by["strict"]["estimates"]["base"]["accuracy"]["mean"] == pytest.approx(0.75 / 2)
    assert found["estimates"]["base"]["accuracy"]["mean"] == pytest.approx((0.5 + 0.375) / 2)
    assert by["strict"]["unparseable"] == {"accuracy": 2}
    scores = [json.loads(line) for line in (ctx.workdir / "scores.jsonl").read_text().splitlines()]
    assert scores[0]["accuracy"] == pytest.approx((1.0 + 0.75) / 2)
    (pair,) = judge["pairwise"]
    judgments = [json.loads(line) for line in (ctx.workdir / "judgments.jsonl").read_text().splitlines()]
    a = {(j["system"], j["id"]): j["score"] for j in judgments if j["judge"] == "judge" and j["score"]}
    b = {(j["system"], j["id"]): j["score"] for j in judgments if j["judge"] == "strict" and j["score"]}
    both = sorted(set(a) & set(b))
    assert (pair["a"], pair["b"], pair["n"], len(both)) == ("judge", "strict", 38, 38)
    assert pair["spearman"] == pytest.approx(spearmanr([a[k] for k in both], [b[k] for k in both]).statistic)
    assert pair["kendall"] == pytest.approx(kendalltau([a[k] for k in both], [b[k] for k in both]).statistic)
    assert pair["exact"] == pytest.approx(sum(a[k] == b[k] for k in both) / len(both))
    calibrated = {r["judge"]: r for r in found["calibration"]}
    assert calibrated["judge"]["exact"] == 1.0 and calibrated["strict"]["exact"] < 0.5  # one point low on >1
    assert calibrated["strict"]["within_1"] == 1.0 and calibrated["strict"]["warning"] is None
    q0 = json.loads((ctx.workdir / "questions.jsonl").read_text().splitlines()[0])
    verdict = q0["systems"]["base"]["judge"]["accuracy"]
    assert verdict["score"] == 4.5 and verdict["judges"]["strict"]["score"] == 4.0
    assert verdict["rationale"] == "judge: said the pancreas; strict: harsh"


def test_judges_with_the_same_weights_share_one_calibration(tmp_path, monkeypatch):
    a: list[int] = []
    b: list[int] = []
    ctx = run(tmp_path, monkeypatch, {"model.a": counting(labelled_judge(), a), "model.b": counting(labelled_judge(), b)},
              identity=lambda node: "sha256:same")
    assert a == [32, 8, len(calibration_cases("accuracy"))] and b == [32, 8]  # b reuses a's replies
    rows = summary(ctx)["calibration"]
    assert [r["judge"] for r in rows] == ["a", "b"] and rows[0] | {"judge": "b"} == rows[1]


def test_judges_combine_by_median_when_asked(tmp_path, monkeypatch):
    def fixed(score):
        return lambda prompts: [json.dumps({"score": score}) for _ in prompts]

    ctx = run(tmp_path, monkeypatch, {"model.a": fixed(1), "model.b": fixed(2), "model.c": fixed(5)},
              judge_combine="median")
    found = summary(ctx)
    assert found["judge"]["combine"] == "median"
    assert found["estimates"]["base"]["accuracy"]["mean"] == pytest.approx(0.25)  # median 2 -> (2 - 1) / 4
    assert len(found["judge"]["pairwise"]) == 3 and all(p["spearman"] is None for p in found["judge"]["pairwise"])


# ------------------------------------------------------------------ custom rubrics


def custom_rubric(tmp_path: Path, header: str = "") -> dict:
    (tmp_path / "strict.md").write_text("---\nname: accuracy\nversion: 1\nscale: 1-5\ninputs: question, gold, answer\n"
                                        f"{header}---\nBe strict.\n")
    return {"rubric": {"file": "strict.md"}}


def run_custom(tmp_path, monkeypatch, header: str = ""):
    import hashlib

    params = custom_rubric(tmp_path, header)
    sha = hashlib.sha256((tmp_path / "strict.md").read_bytes()).hexdigest()
    files = {sha: tmp_path / "strict.md"}  # as the executor hands a node its input files
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluate, "_generator", lambda ctx_, params_, ref: labelled_judge())
    ctx = evaluate_context(tmp_path, ["accuracy", "exact_match"], **params)
    node = replace(ctx.node, data=(("strict.md", sha),))
    ctx = NodeContext(node, ctx.workdir, 7, ctx.results, files, Resources(), QuietProgress())
    evaluate.run(ctx)
    return ctx


def test_a_custom_rubric_without_calibration_says_so(tmp_path, monkeypatch):
    ctx = run_custom(tmp_path, monkeypatch)
    (row,) = summary(ctx)["calibration"]
    assert row["available"] is False and row["reason"] == "the rubric names no calibration file"
    assert row["n"] == 0 and row["spearman"] is None and row["warning"] is None
    assert (ctx.workdir / "calibration.jsonl").read_text() == ""


def test_a_custom_rubric_uses_the_calibration_file_it_names(tmp_path, monkeypatch):
    cases = [{"id": f"c{i}", "question": "Which planet is the largest?", "gold": ["Jupiter"],
              "answer": answer, "expected": score, "why": "test"}
             for i, (answer, score) in enumerate([("Jupiter", 5), ("Saturn", 1)])]
    (tmp_path / "strict.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    ctx = run_custom(tmp_path, monkeypatch, "calibration: strict.jsonl\n")
    (row,) = summary(ctx)["calibration"]
    assert (row["available"], row["file"], row["cases"], row["n"]) == (True, "strict.jsonl", 2, 2)
    assert row["exact"] == 0.5  # the scripted judge gives both 1
    assert row["warning"] == "only 2 of 2 cases scored (< 10); within one point on 50% of cases (< 70%)"


def test_a_missing_calibration_file_fails_the_node(tmp_path, monkeypatch):
    with pytest.raises(NodeFailed, match="cannot read the calibration file missing.jsonl"):
        run_custom(tmp_path, monkeypatch, "calibration: missing.jsonl\n")


# ------------------------------------------------------------------ the plan


PLAN_SPEC = '''
pipeline rag(generator) { retrieve = bm25(idx); generate = generator }
evaluate e {
  systems = { base: rag(base) }
  questions = qa.test
  metrics = [accuracy, f1]
  judge = judge_model
}
'''


@pytest.fixture
def plan(tmp_path, monkeypatch):
    from helpers import isolate_weights, write_project

    from ragdsl.compiler import compile_spec

    isolate_weights(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)

    def fingerprints(spec: str = PLAN_SPEC):
        compilation = compile_spec(write_project(tmp_path, spec), [])
        assert compilation.ok, [(d.code, d.message) for d in compilation.diagnostics]
        return compilation.graph.node("evaluate.e"), {a.node.id: a.fingerprint.value for a in compilation.plan.actions}

    return fingerprints


def test_editing_a_builtin_calibration_file_reruns_the_evaluation(plan, tmp_path, monkeypatch):
    import shutil

    from ragdsl.evaluate import rubric

    node, before = plan()
    found = cal.load_calibration(BUILTIN / "accuracy.calibration.jsonl", builtin_rubric("accuracy"))
    assert node.params["calibrations"] == {"accuracy": found.sha256}
    edited = tmp_path / "rubrics"
    shutil.copytree(BUILTIN, edited)
    with (edited / "accuracy.calibration.jsonl").open("a") as f:
        f.write(json.dumps({**GOOD, "id": "new"}) + "\n")
    monkeypatch.setattr(rubric, "BUILTIN", edited)
    _, after = plan()
    assert {n for n in before if before[n] != after[n]} == {"evaluate.e"}


def test_a_custom_rubrics_calibration_file_is_fingerprinted(plan, tmp_path):
    (tmp_path / "strict.md").write_text("---\nname: accuracy\nversion: 1\nscale: 1-5\ncalibration: strict.jsonl\n"
                                        "---\nStrict.\n")
    (tmp_path / "strict.jsonl").write_text(json.dumps(GOOD) + "\n")
    spec = PLAN_SPEC.replace("judge = judge_model", 'judge = judge_model; rubric = "strict.md"')
    node, before = plan(spec)
    assert node.params["calibrations"]["accuracy"] == cal.parse_calibration(
        json.dumps(GOOD) + "\n", RUBRIC, "strict.jsonl").sha256
    (tmp_path / "strict.jsonl").write_text(json.dumps({**GOOD, "expected": 4}) + "\n")
    _, after = plan(spec)
    assert {n for n in before if before[n] != after[n]} == {"evaluate.e"}
    (tmp_path / "strict.md").write_text("---\nname: accuracy\nversion: 1\nscale: 1-5\n---\nStrict.\n")
    node, _ = plan(spec)
    assert "accuracy" not in node.params.get("calibrations", {})  # the custom rubric names none
