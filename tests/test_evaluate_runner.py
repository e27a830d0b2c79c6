"""The evaluate runner on hand-made answers: scores, statistics, judge failures counted, artifacts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ragdsl.diagnostics import Span
from ragdsl.evaluate.calibration import load_calibration
from ragdsl.evaluate.rubric import BUILTIN, builtin_rubric
from ragdsl.execute.context import NodeContext, NodeFailed, Resources, Result
from ragdsl.execute.progress import QuietProgress
from ragdsl.execute.runners import evaluate
from ragdsl.ir.nodes import Input, Node

GOLD = "Insulin is made in the pancreas. It lowers blood sugar."
QUESTIONS = [(f"q{i}", f"Question {i}?", ["the pancreas"]) for i in range(20)]
# base answers right on even questions; tuned on questions 0..17
PREDICTIONS = {"base": ["the pancreas" if i % 2 == 0 else "the liver" for i in range(20)],
               "tuned": ["pancreas" if i < 18 else "kidney" for i in range(20)]}
CONTEXTS = [{"text": "Bile is made in the liver."}, {"text": "Insulin is made in the pancreas."}]
# The searched corpus: the gold passage was split in two chunks, one of which was retrieved.
CORPUS = [{"id": "p1#0", "text": "Bile is made in the liver."},
          {"id": "p2#0", "text": "Insulin is made in the pancreas."},
          {"id": "p2#1", "text": "It lowers blood sugar."}]


def answers_file(folder: Path, system: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "answers.jsonl").open("w") as f:
        for (qid, question, gold), prediction in zip(QUESTIONS, PREDICTIONS[system]):
            f.write(json.dumps({"id": qid, "question": question, "answers": gold, "context": GOLD,
                                "prediction": prediction, "contexts": CONTEXTS}) + "\n")


def scripted_judge(prompts: list[str]) -> list[str]:
    """A judge boundary stand-in: 5 for answers naming the pancreas, 1 otherwise, one malformed reply."""
    replies = []
    for prompt in prompts:
        answer = prompt.rsplit("Answer: ", 1)[1].split("\n", 1)[0]
        if answer == "kidney":
            replies.append("I cannot rate this.")
        else:
            replies.append(json.dumps({"score": 5 if "pancreas" in answer else 1, "reason": f"said {answer}"}))
    return replies


def calibration_cases(metric: str):
    rubric = builtin_rubric(metric)
    return load_calibration(BUILTIN / rubric.calibration, rubric).cases


def evaluate_context(tmp_path: Path, metrics: list[str], judge: bool = True, **params) -> NodeContext:
    results = {"questions.qa": Result("questions.qa", "questions", "f" * 64, {"attribution": "SQuAD (CC BY-SA)"},
                                      tmp_path / "q")}
    inputs = [Input("questions", "questions.qa")]
    (tmp_path / "c").mkdir(parents=True, exist_ok=True)
    (tmp_path / "c" / "passages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in CORPUS))
    results["corpus.c"] = Result("corpus.c", "corpus", "c" * 64, {}, tmp_path / "c")
    systems = {}
    for system in PREDICTIONS:
        node = f"rag.e.{system}"
        answers_file(tmp_path / system, system)
        results[node] = Result(node, "rag", system[0] * 64, {}, tmp_path / system)
        systems[system] = node
        inputs += [Input(f"system:{system}", node), Input(f"corpus:{system}", "corpus.c")]
    if judge:
        results["model.judge"] = Result("model.judge", "model", "j" * 64,
                                        {"reference": "judge-model", "identity": "sha256:abc"}, tmp_path / "j")
        inputs.append(Input("judge", "model.judge"))
    full = {"systems": systems, "questions": {"node": "questions.qa", "part": "test"}, "metrics": metrics,
            "judge": {"node": "model.judge"} if judge else None, "rubric": None, "judge_temperature": 0,
            "judge_seed": None, "judge_max_new_tokens": 48, "similarity_model": "all-minilm-l6-v2",
            "format_regex": None, "format_schema": None, "contexts": "shared", "limit": None, "seed": 7, **params}
    node = Node("evaluate.e", "evaluate", "e", (), full, (), tuple(inputs), (), Span("spec.rag", 1, 1, 1, 1))
    work = tmp_path / "work"
    work.mkdir()
    return NodeContext(node, work, 7, results, {}, Resources(), QuietProgress())


def run_evaluation(tmp_path: Path, monkeypatch,
                   metrics=("accuracy", "exact_match", "f1", "recall@1", "recall@2", "ndcg@2", "mrr")):
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))  # calibration replies are cached there
    monkeypatch.setattr(evaluate, "_generator", lambda ctx, params, ref: scripted_judge)
    ctx = evaluate_context(tmp_path, list(metrics))
    return ctx, evaluate.run(ctx)


def test_scores_means_and_artifacts(tmp_path, monkeypatch):
    ctx, output = run_evaluation(tmp_path, monkeypatch)
    assert output.metrics["base"]["exact_match"] == pytest.approx(0.5)
    assert output.metrics["tuned"]["exact_match"] == pytest.approx(18 / 20)
    assert output.metrics["base"]["recall@1"] == 0.0 and output.metrics["base"]["mrr"] == 0.5
    # 1 of the 2 relevant chunks in the corpus retrieved, at rank 2 (trec_eval's recall and ndcg_cut)
    assert output.metrics["base"]["recall@2"] == 0.5
    assert output.metrics["base"]["ndcg@2"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # judged: normalised 1..5 -> 0..1; tuned's two "kidney" replies are unparseable and left out
    assert output.metrics["base"]["accuracy"] == pytest.approx(0.5)
    assert output.metrics["tuned"]["accuracy"] == 1.0
    assert output.outputs["unparseable_judgments"] == 2 and output.metrics["base"]["questions"] == 20
    summary = json.loads((ctx.workdir / "summary.json").read_text())
    assert summary["estimates"]["tuned"]["accuracy"]["n"] == 18
    assert summary["judge"]["unparseable"] == {"accuracy": 2} and summary["judge"]["judgments"] == 40
    assert summary["judge"]["rubrics"]["accuracy"]["version"] == "2"
    em = next(p for p in summary["paired"] if p["metric"] == "exact_match")
    assert (em["a"], em["b"], em["n"], em["test"]) == ("base", "tuned", 20, "permutation")
    assert em["diff"] == pytest.approx(0.5 - 18 / 20)
    assert em["significant"] and em["p"] == pytest.approx(22 / 1024)  # exact: 9 of 10 differences favour tuned
    acc = next(p for p in summary["paired"] if p["metric"] == "accuracy")
    assert acc["n"] == 18  # only questions both systems have a judged score for
    agreement = {(a["metric"], a["reference"]): a for a in summary["agreement"]}
    assert agreement[("accuracy", "exact_match")]["spearman"] == pytest.approx(1.0)
    scores = [json.loads(line) for line in (ctx.workdir / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 40 and scores[-1] == {"system": "tuned", "id": "q19", "accuracy": None,
                                                "exact_match": 0.0, "f1": 0.0, "recall@1": 0.0, "recall@2": 0.5,
                                                "ndcg@2": pytest.approx(0.3868528), "mrr": 0.5}
    judgments = [json.loads(line) for line in (ctx.workdir / "judgments.jsonl").read_text().splitlines()]
    bad = [j for j in judgments if j["error"]]
    assert len(bad) == 2 and bad[0]["raw"] == "I cannot rate this."
    questions = [json.loads(line) for line in (ctx.workdir / "questions.jsonl").read_text().splitlines()]
    q0 = questions[0]
    assert q0["systems"]["base"]["judge"]["accuracy"] == {"score": 5.0, "rationale": "said the pancreas",
                                                          "error": None}
    assert q0["systems"]["tuned"]["contexts"][1] == "Insulin is made in the pancreas."


def test_the_same_inputs_give_the_same_bytes(tmp_path, monkeypatch):
    ctx_a, _ = run_evaluation(tmp_path / "a", monkeypatch)
    ctx_b, _ = run_evaluation(tmp_path / "b", monkeypatch)
    for name in ("summary.json", "scores.jsonl", "judgments.jsonl", "questions.jsonl"):
        assert (ctx_a.workdir / name).read_bytes() == (ctx_b.workdir / name).read_bytes(), name


def test_judging_sends_whole_batches(tmp_path, monkeypatch):
    calls = []

    def counting(prompts):
        calls.append(len(prompts))
        return scripted_judge(prompts)

    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluate, "_generator", lambda ctx, params, ref: counting)
    evaluate.run(evaluate_context(tmp_path, ["accuracy", "completeness"]))
    # all systems' answers together, in chunks of whole batches (LocalGenerator batches 8 at a time),
    # then each rubric's calibration cases the same way
    cases = [len(calibration_cases(m)) for m in ("accuracy", "completeness")]
    assert all(n <= evaluate.JUDGE_CHUNK for n in cases)  # one call each
    assert calls == [32, 8, 32, 8, *cases]


def test_format_validity_needs_a_format_and_checks_it(tmp_path, monkeypatch):
    with pytest.raises(NodeFailed, match="format_validity needs a format"):
        evaluate.run(evaluate_context(tmp_path / "a", ["format_validity"], judge=False))
    output = evaluate.run(evaluate_context(tmp_path / "b", ["format_validity"], judge=False,
                                           format_regex="(the )?pancreas"))
    assert output.metrics["base"]["format_validity"] == 0.5
    with pytest.raises(NodeFailed, match="not a valid regular expression"):
        evaluate.run(evaluate_context(tmp_path / "c", ["format_validity"], judge=False, format_regex="(unclosed"))


def test_a_finetuned_judge_is_a_clear_failure(tmp_path):
    ctx = evaluate_context(tmp_path, ["accuracy"])
    ctx.results["model.judge"] = Result("finetune.t", "finetune", "t" * 64, {}, tmp_path)  # type: ignore[index]
    with pytest.raises(NodeFailed, match="is a fine-tune"):
        evaluate.run(ctx)
