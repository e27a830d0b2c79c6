"""`ragdsl run` with finetune nodes on a tiny project: a samples sweep, RAG-aware training data, a full
fine-tune and a fine-tune of a fine-tune, each generating in a pipeline; caching; clear failures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("haystack")

from test_finetune_train import save_tiny_model  # noqa: E402

pytestmark = pytest.mark.finetune

WORDS = [("sky", "blue"), ("grass", "green"), ("sun", "yellow"), ("snow", "white"), ("coal", "black"),
         ("rose", "red"), ("sea", "deep"), ("moon", "round"), ("salt", "salty"), ("sugar", "sweet")]

SPEC = """\
corpus c { source = jsonl("passages.jsonl") }
questions q { source = jsonl("qa.jsonl"); train = 30; test = 6 }
index i { corpus = c }
model base { source = local("tiny-qwen") }
finetune t { base = base; data = q.train; samples = sweep(8, 16); epochs = 2; lr = 1e-2 }
finetune ctx { base = base; data = q.train; samples = 8; format = with_context(retrieve = bm25(i, top_k = 2)) }
finetune whole { base = base; data = q.train; samples = 8; method = full(); lr = 1e-3 }
finetune again { base = ctx; data = q.train; samples = 8; batch_size = 8 }
finetune pref { base = base; data = q.train; samples = 8; method = dpo(beta = 0.5) }
pipeline rag(g) { retrieve = bm25(i, top_k = 2); generate = g; max_new_tokens = 6 }
evaluate e {
  systems = { b: rag(base), t: rag(t), c: rag(ctx), w: rag(whole), a: rag(again), p: rag(pref) }
  questions = q.test
  metrics = [exact_match]
}
"""


def write_project(root: Path, weights: Path, spec: str = SPEC) -> Path:
    import shutil

    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(weights, root / "tiny-qwen")
    passages = [{"id": f"p{i}", "text": f"The {w} is {c}."} for i, (w, c) in enumerate(WORDS)]
    (root / "passages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in passages))
    qa = [{"id": f"q{4 * i + k:02d}", "question": f"What is the {w} like ({k})?", "answer": c,
           "context": f"The {w} is {c}."} for i, (w, c) in enumerate(WORDS) for k in range(4)]
    (root / "qa.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qa))
    (root / "spec.rag").write_text(spec)
    return root


def cli(root: Path, *args: str):
    from click.testing import CliRunner

    from ragdsl.cli import cli as command

    before = Path.cwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(command, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)


def results(root: Path) -> dict[str, dict]:
    found = {}
    for path in (root / ".ragdsl" / "results").glob("*/*.json"):
        record = json.loads(path.read_text())
        found[record["node"]] = record
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("RAGDSL_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("RAGDSL_STORE", raising=False)
        weights = tmp_path_factory.mktemp("w") / "tiny-qwen"
        save_tiny_model(weights)
        root = write_project(tmp_path_factory.mktemp("p") / "project", weights)
        result = cli(root, "run", "spec.rag", "--progress", "plain")
        yield root, result, weights


def test_every_fine_tune_trains_and_every_system_generates(project):
    root, result, _ = project
    assert result.exit_code == 0, result.output
    for node in ("finetune.t[samples=8]", "finetune.t[samples=16]", "finetune.ctx", "finetune.whole",
                 "finetune.again", "finetune.pref", "rag.e.a", "rag.e.w", "rag.e.p", "rag.e.t[samples=16]"):
        assert f"[done] {node}" in result.output
    assert "steps" in result.output and "tok/s" in result.output and "ETA" in result.output


def _artifact(root: Path, node: str) -> Path:
    plan = json.loads(cli(root, "compile", "--dry-run", "--format", "json", "spec.rag").output)
    fp = next(n["fingerprint"] for n in plan["nodes"] if n["id"] == node)
    return root / ".ragdsl" / "artifacts" / fp[:2] / fp


def test_an_adapter_artifact_has_its_config_training_record_and_loss_curve(project):
    root, _, _ = project
    folder = _artifact(root, "finetune.t[samples=16]")
    assert (folder / "adapter" / "adapter_config.json").is_file()
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    training = json.loads((folder / "training.json").read_text())
    assert training["examples"] == 16 and training["method"]["target_modules"] == ["q_proj", "k_proj", "v_proj",
                                                                                    "o_proj"]
    assert len(training["data_sha256"]) == 64 and training["hyperparameters"]["steps"] == 8
    assert training["device"] == "cpu" and training["eval_loss"] < training["eval_loss_before"]
    rows = [json.loads(line) for line in (folder / "loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, 9))
    small = json.loads((_artifact(root, "finetune.t[samples=8]") / "training.json").read_text())
    assert small["example_ids"] == training["example_ids"][:8]  # nested draws
    test_ids = {json.loads(line)["id"] for line in
                (_artifact(root, "questions.q") / "test.jsonl").read_text().splitlines()}
    assert not test_ids & set(training["example_ids"])


def test_outputs_follow_the_agreed_interface(project):
    root, _, _ = project
    outputs = results(root)["finetune.t[samples=16]"]["outputs"]
    assert {"method", "samples", "train_tokens", "train_loss", "eval_loss_before", "eval_loss", "tokens_per_s",
            "device", "artifact", "loss_curve"} <= set(outputs)
    assert (outputs["method"], outputs["samples"], outputs["artifact"], outputs["loss_curve"]) == \
        ("lora", 16, "adapter", "loss.jsonl")
    assert outputs["train_tokens"] > 0 and outputs["tokens_per_s"] > 0


def test_full_and_stacked_fine_tunes_save_models(project):
    root, _, _ = project
    for node in ("finetune.whole", "finetune.again"):
        folder = _artifact(root, node)
        assert (folder / "model" / "config.json").is_file() and not (folder / "adapter").exists()
        assert results(root)[node]["outputs"]["artifact"] == "model"
    assert json.loads((_artifact(root, "finetune.again") / "training.json").read_text())["base"]["stacked_on"] \
        == "finetune.ctx"


def test_dpo_builds_pairs_from_the_base_model_wrong_answers(project):
    root, _, _ = project
    outputs = results(root)["finetune.pref"]["outputs"]
    assert (outputs["method"], outputs["artifact"]) == ("dpo", "adapter")
    assert 0 < outputs["samples"] <= 8  # one pair per wrongly answered training question
    rows = [json.loads(line) for line in (_artifact(root, "finetune.pref") / "loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == list(range(1, -(-outputs["samples"] // 4) + 1))


def test_a_pairs_file_asking_test_questions_fails(project, tmp_path):
    _, _, weights = project
    spec = SPEC.split("finetune t ")[0] + \
        'finetune bad { base = base; data = q.train; method = dpo(pairs = "pairs.jsonl") }\n' \
        "pipeline rag(g) { generate = g }\n" \
        "evaluate e { systems = { b: rag(bad) }; questions = q.test; metrics = [exact_match] }\n"
    root = write_project(tmp_path / "p", weights, spec)
    (root / "pairs.jsonl").write_text("".join(
        json.dumps({"question": q, "chosen": "blue", "rejected": "green"}) + "\n"
        for q in [f"What is the {w} like ({k})?" for w, _ in WORDS for k in range(4)]))
    result = cli(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 1 and "ask test questions" in result.output, result.output


def test_rag_aware_examples_contain_retrieved_passages(project):
    root, _, _ = project
    training = json.loads((_artifact(root, "finetune.ctx") / "training.json").read_text())
    assert training["format"] == "with_context"
    plain = json.loads((_artifact(root, "finetune.t[samples=8]") / "training.json").read_text())
    assert training["data_sha256"] != plain["data_sha256"]


def test_each_fine_tune_changes_the_answers(project):
    root, _, _ = project
    answers = {}
    for node in ("rag.e.b", "rag.e.t[samples=16]", "rag.e.w"):
        lines = (_artifact(root, node) / "answers.jsonl").read_text().splitlines()
        answers[node] = [json.loads(line)["prediction"] for line in lines]
    assert answers["rag.e.b"] != answers["rag.e.t[samples=16]"] and answers["rag.e.b"] != answers["rag.e.w"]


def test_a_second_run_is_all_cached_and_the_plan_shows_the_estimate(project):
    root, _, _ = project
    plan = cli(root, "compile", "--dry-run", "spec.rag").output
    assert "0 to run" in plan
    assert "training 16 examples, ~" in plan and "(estimate)" in plan


@pytest.mark.parametrize(("method", "message"), [
    ("qlora()", "qlora quantises the base model"),
    ('lora(target_modules = ["nope"])', "'nope' name no linear layer"),
])
def test_bad_methods_fail_the_node_with_a_message(project, tmp_path, method, message):
    _, _, weights = project
    spec = SPEC.split("finetune t ")[0] + f"finetune bad {{ base = base; data = q.train; samples = 4; " \
        f"method = {method} }}\npipeline rag(g) {{ generate = g }}\n" \
        "evaluate e { systems = { b: rag(bad) }; questions = q.test; metrics = [exact_match] }\n"
    root = write_project(tmp_path / "p", weights, spec)
    result = cli(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 1
    assert "[failed] finetune.bad" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_too_many_samples_fail_with_the_available_count(project, tmp_path):
    _, _, weights = project
    spec = SPEC.split("finetune t ")[0] + "finetune big { base = base; data = q.train; samples = 40 }\n" \
        "pipeline rag(g) { generate = g }\n" \
        "evaluate e { systems = { b: rag(big) }; questions = q.test; metrics = [exact_match] }\n"
    root = write_project(tmp_path / "p", weights, spec)
    result = cli(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 1 and "samples = 40 but only 30 training questions" in result.output
