"""Resumable training (ragdsl.finetune.resume): a run killed after k optimizer steps and run again ends
with the same weights, bit for bit, and the same loss log as a run never stopped; a kill during a
checkpoint save leaves the previous one usable; a checkpoint of other training is ignored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("haystack")

from test_finetune_train import CPU, FACTS, SMALL_LORA, lora_model, rows, save_tiny_model, settings  # noqa: E402

from ragdsl.finetune import Method, encode  # noqa: E402
from ragdsl.finetune.loop import LossLog, Pair, train  # noqa: E402
from ragdsl.finetune.resume import MANIFEST, TrainCheckpoint  # noqa: E402

pytestmark = pytest.mark.finetune

DPO = Method("dpo", r=4, alpha=8, dropout=0.0)
WRONG = ["red", "purple", "warm", "Spain", "wax", "cold", "grey", "white"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w") / "tiny-qwen"
    save_tiny_model(folder)
    return folder


class Killed(KeyboardInterrupt):
    """What a kill does to the loop: it stops between two statements, with no clean-up of ours."""


def pairs(tokenizer) -> list[Pair]:
    return [Pair(encode(tokenizer, q, a, use_chat=True, max_length=None),
                 encode(tokenizer, q, w, use_chat=True, max_length=None)) for (q, a), w in zip(FACTS, WRONG)]


def trainable(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def run(base, folder: Path | None, config, *, method=SMALL_LORA, kill_at: int | None = None, every: int = 2,
        dpo: bool = False, events: list | None = None):
    """Train a fresh model (identically initialised every time), checkpointing into `folder`; raise Killed
    from `on_step` at step `kill_at`. Returns the model, the stats and the loss.jsonl text."""
    model, tokenizer, _ = lora_model(base, method)
    data = pairs(tokenizer) if dpo else rows(tokenizer)
    events = events if events is not None else []
    hook = None if folder is None else TrainCheckpoint(
        folder, every=every, max_overhead=None, on_save=lambda s, n: events.append(("save", s, n)),
        on_resume=lambda s, n: events.append(("resume", s, n)))

    def on_step(report) -> None:
        events.append(("step", report.step, report.steps))
        if report.step == kill_at:
            raise Killed
    path = folder.parent / "loss.jsonl" if folder is not None else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    log = LossLog(path)
    try:
        stats = train(model, data, config, CPU, pad_id=tokenizer.pad_token_id,
                      eval_rows=[] if dpo else rows(tokenizer)[:3], dpo_beta=0.5 if dpo else None, log=log,
                      on_step=on_step, checkpoint=hook)
    finally:
        log.close()
    return model, stats, path.read_text() if path is not None else None


def assert_same_training(resumed, reference) -> None:
    (model, stats, text), (model0, stats0, _) = resumed, reference
    got, want = trainable(model), trainable(model0)
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    assert stats.curve == stats0.curve and stats.steps == stats0.steps and stats.tokens == stats0.tokens
    assert (stats.train_loss, stats.eval_loss, stats.eval_loss_before) == \
        (stats0.train_loss, stats0.eval_loss, stats0.eval_loss_before)
    assert [json.loads(line) for line in text.splitlines()] == stats0.curve


SFT = {"epochs": 4, "batch_size": 2, "grad_accum": 3, "warmup": 0.25}  # 4 batches: groups of 3 and 1, 8 steps


@pytest.mark.parametrize(("every", "kills"), [
    (3, [3]),  # the checkpoint in the middle of an epoch, just taken
    (3, [5]),  # step 5 is lost: resumed from the end of epoch 2 (step 4), step 5 computed again
    (1, [1, 6]),  # killed twice
    (4, [8]),  # after the last step: nothing left to train
], ids=["mid-epoch", "repeats-a-step", "twice", "after-the-last-step"])
def test_sft_resumed_after_a_kill_ends_bit_for_bit_as_an_uninterrupted_run(base, tmp_path, every, kills):
    config = settings(**SFT)
    reference = run(base, None, config)
    assert reference[1].steps == 8
    folder = tmp_path / "ck" / "train"
    events: list = []
    for k in kills:
        with pytest.raises(Killed):
            run(base, folder, config, kill_at=k, every=every, events=events)
    resumed = run(base, folder, config, every=every, events=events)
    assert_same_training(resumed, reference)
    last_save = max(s for kind, s, _ in events[:events.index(("step", kills[-1], 8)) + 1] if kind == "save")
    assert ("resume", last_save, 8) in events
    assert [s for kind, s, _ in events[events.index(("resume", last_save, 8)):] if kind == "step"] == \
        list(range(last_save + 1, 9))  # only the remaining steps are reported


def test_saving_checkpoints_changes_nothing(base, tmp_path):
    config = settings(**SFT)
    assert_same_training(run(base, tmp_path / "ck" / "train", config, every=1), run(base, None, config))


def test_dpo_resumes_with_its_saved_reference_log_probabilities(base, tmp_path, monkeypatch):
    import ragdsl.finetune.loop as loop

    config = settings(epochs=3, batch_size=2)  # 4 batches an epoch, 12 steps
    reference = run(base, None, config, method=DPO, dpo=True)
    folder = tmp_path / "ck" / "train"
    with pytest.raises(Killed):
        run(base, folder, config, method=DPO, dpo=True, kill_at=7, every=3)

    def recompute(*args, **kwargs):
        raise AssertionError("the reference log-probabilities come from the checkpoint")
    monkeypatch.setattr(loop, "_reference_logps", recompute)
    events: list = []
    resumed = run(base, folder, config, method=DPO, dpo=True, every=3, events=events)
    assert events[0] == ("resume", 6, 12)
    assert_same_training(resumed, reference)


@pytest.mark.parametrize("torn", ["state", "manifest"])
def test_a_kill_during_a_save_leaves_the_previous_checkpoint(base, tmp_path, monkeypatch, torn):
    config = settings(**SFT)
    reference = run(base, None, config)
    folder = tmp_path / "ck" / "train"
    real = os.replace

    def replace(src, dst):  # the second save (step 4) dies just before its file is renamed into place
        name = Path(dst).name
        if (torn == "manifest" and name == MANIFEST and Path(folder / "state-000004.pt").exists()) or \
                (torn == "state" and name == "state-000004.pt"):
            raise Killed
        real(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        run(base, folder, config, every=2)
    monkeypatch.setattr(os, "replace", real)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["step"] == 2 and (folder / manifest["file"]).is_file()
    assert not list(folder.glob(".*.tmp"))
    events: list = []
    resumed = run(base, folder, config, every=2, events=events)
    assert events[0] == ("resume", 2, 8)
    assert_same_training(resumed, reference)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "state-000008.pt"]  # older states pruned


@pytest.mark.parametrize("change", ["settings", "data", "damaged"])
def test_a_checkpoint_of_other_training_is_ignored(base, tmp_path, change):
    config = settings(**SFT)
    folder = tmp_path / "ck" / "train"
    with pytest.raises(Killed):
        run(base, folder, config, kill_at=5, every=2)
    if change == "settings":
        config = settings(**{**SFT, "lr": 5e-3})
    elif change == "data":  # the same steps, settings and row count; other tokens
        manifest = json.loads((folder / MANIFEST).read_text())
        manifest["identity"]["rows_sha256"] = "0" * 64
        (folder / MANIFEST).write_text(json.dumps(manifest))
    else:
        state = folder / json.loads((folder / MANIFEST).read_text())["file"]
        state.write_bytes(state.read_bytes()[:100])
    events: list = []
    fresh = run(base, folder, config, every=2, events=events)
    assert not [e for e in events if e[0] == "resume"] and events[0] == ("step", 1, 8)
    assert_same_training(fresh, run(base, None, config))


def test_saves_come_every_n_steps_at_epoch_ends_and_after_the_last_step(tmp_path):
    hook = TrainCheckpoint(tmp_path, every=10, max_overhead=None)
    assert [s for s in range(1, 101) if hook.due(s, 100, epoch_end=s % 25 == 0)] == \
        [10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100]


def test_periodic_saves_wait_when_saving_is_slow_compared_to_training(tmp_path):
    hook = TrainCheckpoint(tmp_path, every=1, max_overhead=0.1)
    hook.save({"step": 1, "steps": 100, "payload": torch.zeros(10)}, {"id": 1})
    hook._cost = 3600.0  # as if that save took an hour
    assert not hook.due(2, 100, epoch_end=False) and not hook.due(3, 100, epoch_end=True)
    assert hook.due(100, 100, epoch_end=True)  # the last step is always kept
    assert hook.load({"id": 1})["step"] == 1 and hook.load({"id": 2}) is None


# ------------------------------------------------------------ through `ragdsl run`

E2E_SPEC = """\
questions q { source = jsonl("qa.jsonl"); train = 30; test = 6 }
model base { source = local("tiny-qwen") }
finetune t { base = base; data = q.train; samples = 16; epochs = 3; batch_size = 2; grad_accum = 2; lr = 1e-2 }
"""


class Crash(RuntimeError):
    """The process dying mid-training, as the scheduler sees it: the node does not finish."""


def test_a_finetune_node_killed_mid_training_resumes_to_the_same_adapter(base, tmp_path, monkeypatch):
    from test_finetune_run import cli, write_project

    import ragdsl.finetune.loop as loop
    from ragdsl.execute.checkpoint import read_progress
    from ragdsl.execute.context import NodeContext

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RAGDSL_STORE", raising=False)
    whole = write_project(tmp_path / "whole", base, E2E_SPEC)
    assert cli(whole, "run", "spec.rag", "--progress", "plain").exit_code == 0

    root = write_project(tmp_path / "killed", base, E2E_SPEC)
    real = loop.train

    def killed_at_step_7(*args, on_step, **kwargs):  # 4 steps an epoch: the checkpoint is after step 4
        def step(report) -> None:
            on_step(report)
            if report.step == 7:
                raise Crash("killed")
        return real(*args, on_step=step, **kwargs)
    monkeypatch.setattr(loop, "train", killed_at_step_7)
    crashed = cli(root, "run", "spec.rag", "--progress", "plain")
    assert crashed.exit_code != 0 and "[failed] finetune.t" in crashed.output, crashed.output
    monkeypatch.setattr(loop, "train", real)
    (folder,) = (root / ".ragdsl" / "checkpoints").glob("*/*")
    assert read_progress(root / ".ragdsl", folder.name) == {"done": 4, "total": 12, "unit": "steps"}

    seen: list = []
    monkeypatch.setattr(NodeContext, "note", lambda self, text: seen.append(text))
    monkeypatch.setattr(NodeContext, "resumed", lambda self, n: seen.append(n))
    monkeypatch.setattr(NodeContext, "advance", lambda self, n=1: seen.append("step"))
    result = cli(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 0, result.output
    resumed_at = seen.index(4)
    assert seen[resumed_at + 1] == "resuming training at step 4/12" and seen.count("step") == 8
    (first,), (again,) = (list((r / ".ragdsl" / "artifacts").glob("*/*/adapter")) for r in (whole, root))
    first, again = first.parent, again.parent
    assert (again / "adapter" / "adapter_model.safetensors").read_bytes() == \
        (first / "adapter" / "adapter_model.safetensors").read_bytes()
    assert (again / "loss.jsonl").read_text() == (first / "loss.jsonl").read_text()
    assert json.loads((again / "training.json").read_text())["hyperparameters"]["steps"] == 12


KILL_AT_STEP = """\
import os, signal, sys
import ragdsl.finetune.loop as loop
real = loop.train
def train(*args, on_step, **kwargs):
    def step(report):
        on_step(report)
        if report.step == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, on_step=step, **kwargs)
loop.train = train
from ragdsl.cli import main
main(["run", "spec.rag", "--progress", "plain"])
"""


@pytest.mark.parametrize("step", [6, 9])
def test_a_finetune_node_killed_with_sigkill_resumes_to_the_same_adapter(base, tmp_path, monkeypatch, step):
    """A real kill -9 (no exception handler runs) mid-training, in its own process."""
    import signal
    import subprocess
    import sys

    from test_finetune_run import cli, write_project

    import ragdsl

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RAGDSL_STORE", raising=False)
    whole = write_project(tmp_path / "whole", base, E2E_SPEC)
    assert cli(whole, "run", "spec.rag", "--progress", "plain").exit_code == 0
    root = write_project(tmp_path / "killed", base, E2E_SPEC)
    (tmp_path / "kill.py").write_text(KILL_AT_STEP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(ragdsl.__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])}
    killed = subprocess.run([sys.executable, str(tmp_path / "kill.py"), str(step)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    output = cli(root, "compile", "--dry-run", "--format", "json", "spec.rag").output
    planned = json.loads(output[output.index("{\n  \"format\""):])  # after any warnings
    (node,) = (n for n in planned["nodes"] if n["id"] == "finetune.t")
    assert (node["reason"], node["detail"]) == ("resume", "4/12 steps done" if step < 8 else "8/12 steps done")
    assert cli(root, "run", "spec.rag", "--progress", "plain").exit_code == 0
    (first,), (again,) = (list((r / ".ragdsl" / "artifacts").glob("*/*/adapter")) for r in (whole, root))
    assert (again / "adapter_model.safetensors").read_bytes() == (first / "adapter_model.safetensors").read_bytes()
    assert (again.parent / "loss.jsonl").read_text() == (first.parent / "loss.jsonl").read_text()


def test_saved_adapter_config_does_not_depend_on_the_hash_seed(base, tmp_path):
    """peft keeps target_modules in a set: two processes with other PYTHONHASHSEEDs must still write
    the same adapter_config.json."""
    import subprocess
    import sys

    script = (
        "import sys, json; from pathlib import Path\n"
        "from peft import LoraConfig, get_peft_model\n"
        "from transformers import AutoModelForCausalLM\n"
        "from ragdsl.finetune.weights import save\n"
        "model = get_peft_model(AutoModelForCausalLM.from_pretrained(sys.argv[1]), LoraConfig(r=2, "
        "target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj', 'gate_proj']))\n"
        "save(model, None, Path(sys.argv[2]), 'adapter', 'base')\n")
    import ragdsl
    written = []
    for seed in ("1", "2", "3"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(ragdsl.__file__).resolve().parents[1])}
        done = subprocess.run([sys.executable, "-c", script, str(base), str(out)], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        written.append((out / "adapter" / "adapter_config.json").read_bytes())
    assert written[0] == written[1] == written[2]
    assert json.loads(written[0])["target_modules"] == sorted(json.loads(written[0])["target_modules"])
