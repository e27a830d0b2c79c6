"""Training on a tiny random Qwen2 (seconds): prompts and labels, the loop, saving and reloading, DPO."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("haystack")

from test_models_load import tiny_tokenizer  # noqa: E402

from ragdsl.finetune import Method, Settings, choose_placement, encode  # noqa: E402
from ragdsl.finetune.examples import IGNORE  # noqa: E402
from ragdsl.finetune.loop import LossLog, Pair, eval_loss, train  # noqa: E402
from ragdsl.finetune.weights import add_trainable, load_base, save  # noqa: E402
from ragdsl.lower.components import LocalGenerator  # noqa: E402

pytestmark = pytest.mark.finetune

CPU = choose_placement(Method("lora"), "cpu", has_cuda=False, bf16_supported=False, has_bitsandbytes=False)
FACTS = [("What colour is the sky?", "blue"), ("What colour is grass?", "green"), ("What is ice?", "cold"),
         ("Where is Paris?", "France"), ("What do bees make?", "honey"), ("What is fire?", "hot"),
         ("What colour is snow?", "white"), ("What colour is coal?", "black")]


def save_tiny_model(folder):
    """A tiny random Qwen2 whose weights are large enough (initializer_range 0.2) for LoRA to move its
    outputs: with the default 0.02 the logits are nearly uniform and stay so."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tiny_tokenizer()
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         eos_token_id=tokenizer.eos_token_id, initializer_range=0.2)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w") / "tiny-qwen"
    save_tiny_model(folder)
    return folder


def settings(**kw) -> Settings:
    values = {"epochs": 8, "lr": 1e-2, "batch_size": 4, "grad_accum": 1, "warmup": 0.0, "max_length": None,
              "seed": 0} | kw
    return Settings(**values)


def rows(tokenizer, facts=FACTS, max_length=None):
    return [encode(tokenizer, q, a, use_chat=True, max_length=max_length) for q, a in facts]


SMALL_LORA = Method("lora", r=4, alpha=8)


def lora_model(base, method=SMALL_LORA, seed=0):
    model, tokenizer = load_base(base, CPU)
    model, targets = add_trainable(model, method, CPU, seed)
    return model, tokenizer, targets


def test_prompt_is_formatted_as_the_generator_formats_it_and_only_the_answer_is_labelled(base):
    model, tokenizer = load_base(base, CPU)
    generator = LocalGenerator(model=str(base))
    generator.attach(model, tokenizer)
    row = encode(tokenizer, "What colour is the sky?", " blue ", use_chat=True, max_length=None)
    prompt = tokenizer(generator.format("What colour is the sky?"), add_special_tokens=False)["input_ids"]
    assert list(row.input_ids[:len(prompt)]) == prompt
    assert all(label == IGNORE for label in row.labels[:len(prompt)])
    answer = list(row.labels[len(prompt):])
    assert answer == tokenizer("blue", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert row.answer_tokens == len(answer) and not row.truncated


def test_truncation_keeps_the_answer_and_drops_the_start_of_the_prompt(base):
    _, tokenizer = load_base(base, CPU)
    full = encode(tokenizer, "What colour is the sky? " * 10, "blue", use_chat=True, max_length=None)
    cut = encode(tokenizer, "What colour is the sky? " * 10, "blue", use_chat=True, max_length=20)
    assert cut.truncated and len(cut.input_ids) == 20
    assert cut.input_ids == full.input_ids[-20:] and cut.answer_tokens == full.answer_tokens


def test_auto_targets_on_qwen2_are_the_attention_projections(base):
    model, _, targets = lora_model(base)
    assert targets == ("q_proj", "k_proj", "v_proj", "o_proj")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)


def test_training_lowers_the_loss_and_logs_every_step(base, tmp_path):
    model, tokenizer, _ = lora_model(base)
    data = rows(tokenizer)
    log = LossLog(tmp_path / "loss.jsonl")
    steps = []
    stats = train(model, data, settings(warmup=0.2), CPU, pad_id=tokenizer.pad_token_id, eval_rows=data[:4],
                  log=log, on_step=steps.append)
    log.close()
    assert stats.steps == 16 and [s.step for s in steps] == list(range(1, 17))
    assert stats.eval_loss < stats.eval_loss_before * 0.7
    lines = [json.loads(line) for line in (tmp_path / "loss.jsonl").read_text().splitlines()]
    train_rows = [r for r in lines if "loss" in r]
    assert set(train_rows[0]) == {"step", "epoch", "loss", "lr", "tokens"}
    assert [r["step"] for r in train_rows] == list(range(1, 17)) and train_rows[-1]["epoch"] == 8.0
    assert train_rows[0]["lr"] < train_rows[3]["lr"] > train_rows[-1]["lr"]  # warm-up, then decay
    assert train_rows[-1]["tokens"] == stats.tokens > 0
    evals = [r for r in lines if "eval_loss" in r]
    assert [set(r) for r in evals] == [{"step", "epoch", "eval_loss"}] * 2
    assert evals[0]["eval_loss"] == stats.eval_loss_before and evals[1]["step"] == 16
    assert steps[-1].tokens_per_s > 0 and steps[-1].eta_s == 0


def test_gradient_accumulation_steps_less_often(base):
    model, tokenizer, _ = lora_model(base)
    stats = train(model, rows(tokenizer), settings(epochs=1, batch_size=2, grad_accum=3), CPU,
                  pad_id=tokenizer.pad_token_id)
    assert stats.steps == 2  # 4 batches: one group of 3, one of 1


def _adapter_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def test_same_seed_same_adapter_other_seed_other_adapter(base):
    states = []
    for seed in (1, 1, 2):
        model, tokenizer, _ = lora_model(base, seed=seed)
        train(model, rows(tokenizer), settings(epochs=2, seed=seed), CPU, pad_id=tokenizer.pad_token_id)
        states.append(_adapter_state(model))
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_a_saved_adapter_reloads_to_identical_answers(base, tmp_path):
    model, tokenizer, _ = lora_model(base)
    train(model, rows(tokenizer), settings(), CPU, pad_id=tokenizer.pad_token_id)
    save(model, tokenizer, tmp_path, "adapter", "model.base")
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "model.base" and config["r"] == 4
    live = LocalGenerator(model=str(base), max_new_tokens=6)
    live.attach(model, tokenizer)
    reloaded = LocalGenerator(model=str(base), adapter=str(tmp_path / "adapter"), max_new_tokens=6,
                              precision="fp32")
    prompts = [q for q, _ in FACTS]
    answers = live.run(prompts=prompts)["replies"]
    assert reloaded.run(prompts=prompts)["replies"] == answers
    plain = LocalGenerator(model=str(base), max_new_tokens=6, precision="fp32").run(prompts=prompts)["replies"]
    assert plain != answers  # the adapter changed what the model says


def test_full_fine_tuning_saves_a_model_that_reloads_identically(base, tmp_path):
    model, tokenizer = load_base(base, CPU)
    model, targets = add_trainable(model, Method("full"), CPU, 0)
    assert targets == () and all(p.requires_grad for p in model.parameters())
    stats = train(model, rows(tokenizer), settings(epochs=3, lr=1e-3), CPU, pad_id=tokenizer.pad_token_id,
                  eval_rows=rows(tokenizer)[:4])
    assert stats.eval_loss < stats.eval_loss_before
    save(model, tokenizer, tmp_path, "model", "model.base")
    live = LocalGenerator(model=str(base), max_new_tokens=6)
    live.attach(model, tokenizer)
    prompts = [q for q, _ in FACTS]
    assert LocalGenerator(model=str(tmp_path / "model"), max_new_tokens=6, precision="fp32").run(prompts=prompts)["replies"] == \
        live.run(prompts=prompts)["replies"]


def test_a_fine_tune_of_a_fine_tune_starts_from_the_merged_adapter(base, tmp_path):
    model, tokenizer, _ = lora_model(base)
    train(model, rows(tokenizer), settings(), CPU, pad_id=tokenizer.pad_token_id)
    save(model, tokenizer, tmp_path, "adapter", "model.base")
    expected = eval_loss(model, rows(tokenizer), tokenizer.pad_token_id, CPU)
    merged, tokenizer2 = load_base(base, CPU, adapter=tmp_path / "adapter")
    assert eval_loss(merged, rows(tokenizer2), tokenizer2.pad_token_id, CPU) == pytest.approx(expected, rel=1e-4)


def test_dpo_prefers_the_chosen_answers(base):
    model, tokenizer, _ = lora_model(base, Method("dpo", r=4, alpha=8, dropout=0.0))
    wrong = ["red", "purple", "warm", "Spain", "wax", "cold", "grey", "white"]
    pairs = [Pair(encode(tokenizer, q, a, use_chat=True, max_length=None),
                  encode(tokenizer, q, w, use_chat=True, max_length=None)) for (q, a), w in zip(FACTS, wrong)]

    def margin():
        from ragdsl.finetune.examples import collate
        from ragdsl.finetune.loop import sequence_logps

        with torch.no_grad():
            chosen = sequence_logps(model, collate([p.chosen for p in pairs], tokenizer.pad_token_id))
            rejected = sequence_logps(model, collate([p.rejected for p in pairs], tokenizer.pad_token_id))
        return float((chosen - rejected).mean())
    before = margin()
    stats = train(model, pairs, settings(epochs=6), CPU, pad_id=tokenizer.pad_token_id, dpo_beta=0.5)
    assert stats.curve[-1]["loss"] < stats.curve[0]["loss"]
    assert margin() > before + 1.0


def test_answer_loss_on_left_padded_batches_equals_transformers_loss(base):
    from ragdsl.finetune.examples import collate
    from ragdsl.finetune.loop import answer_loss

    model, tokenizer = load_base(base, CPU)
    data = rows(tokenizer, FACTS[:3] + [("A much longer question with many more words in it?", "yes")])
    batch = collate(data, tokenizer.pad_token_id)
    assert batch["keep"] < batch["input_ids"].shape[1]
    with torch.no_grad():
        ours = float(answer_loss(model, batch))
        expected = []
        for row in data:  # one unpadded row at a time: transformers' own shifted cross-entropy
            ids = torch.tensor([row.input_ids])
            out = model(input_ids=ids, labels=torch.tensor([row.labels]))
            expected.append((float(out.loss), row.answer_tokens - 1 + 1))
    total = sum(loss * n for loss, n in expected) / sum(n for _, n in expected)
    assert ours == pytest.approx(total, rel=1e-4)
