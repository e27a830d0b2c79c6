"""Fine-tuning decisions made without weights: method, placement (GPU paths included), target modules,
training-question selection, batching, preference-pair files and the dry-run estimate. No torch needed."""

from __future__ import annotations

import json

import pytest

from ragdsl.data import DataError, Question
from ragdsl.finetune import (
    FinetuneError,
    Method,
    Settings,
    artifact_kind,
    auto_target_modules,
    choose_placement,
    current_device,
    estimate,
    method_from_params,
    model_billions,
)
from ragdsl.finetune.data import EVAL_MAX, is_correct, read_pairs, select
from ragdsl.finetune.examples import length_grouped_batches
from ragdsl.finetune.settings import check_target_modules

LORA = Method("lora")


def place(method=LORA, device="auto", *, cuda=False, bf16=False, bnb=False):
    return choose_placement(method, device, has_cuda=cuda, bf16_supported=bf16, has_bitsandbytes=bnb)


# ------------------------------------------------------------------ method and hyper-parameters

def test_method_params_fill_defaults_and_keep_explicit_targets():
    m = method_from_params({"call": "lora", "args": {"r": 16, "alpha": 32, "dropout": 0.1,
                                                     "target_modules": ["q_proj", "v_proj"]}})
    assert (m.name, m.r, m.alpha, m.dropout, m.target_modules, m.adapter) == \
        ("lora", 16, 32, 0.1, ("q_proj", "v_proj"), True)
    assert method_from_params({"call": "lora", "args": {"target_modules": "auto"}}).target_modules is None
    dpo = method_from_params({"call": "dpo", "args": {"beta": 0.2, "pairs": {"file": "pairs.jsonl"}}})
    assert (dpo.beta, dpo.pairs, dpo.adapter) == (0.2, "pairs.jsonl", True)
    assert method_from_params({"call": "full", "args": {}}).adapter is False
    assert method_from_params({"call": "qlora", "args": {"bits": "8"}}).bits == 8


@pytest.mark.parametrize(("examples", "batch", "accum", "epochs", "steps"), [
    (200, 4, 1, 1, 50), (10, 4, 1, 2, 6), (10, 4, 2, 1, 2), (9, 1, 4, 3, 9), (1, 8, 8, 1, 1),
])
def test_steps_count_partial_batches_and_accumulation_groups(examples, batch, accum, epochs, steps):
    settings = Settings(epochs=epochs, lr=1e-4, batch_size=batch, grad_accum=accum, warmup=0.0, max_length=None,
                        seed=0)
    assert settings.steps(examples) == steps


def test_settings_seed_defaults_to_the_experiment_seed():
    params = {"epochs": 1, "lr": 2e-4, "batch_size": 4, "grad_accum": 1, "warmup": 0.1, "max_length": None}
    assert Settings.from_params({**params, "seed": None}, 7).seed == 7
    assert Settings.from_params({**params, "seed": 3}, 7).seed == 3


# ------------------------------------------------------------------ placement (GPU decisions without a GPU)

def test_cpu_trains_in_fp32_without_checkpointing():
    p = place()
    assert (p.device, p.weights, p.autocast, p.gradient_checkpointing, p.quantized_bits) == \
        ("cpu", "fp32", None, False, None)


def test_gpu_with_bf16_loads_the_frozen_base_in_bf16_and_checkpoints():
    p = place(cuda=True, bf16=True)
    assert (p.device, p.weights, p.autocast, p.gradient_checkpointing) == ("cuda", "bf16", "bf16", True)
    assert "gradient checkpointing" in p.describe()


def test_gpu_without_bf16_uses_fp16_autocast_over_fp32_weights():
    p = place(cuda=True, bf16=False)
    assert (p.weights, p.autocast) == ("fp32", "fp16")


def test_full_fine_tuning_on_gpu_keeps_fp32_master_weights():
    p = place(Method("full"), cuda=True, bf16=True)
    assert (p.weights, p.autocast, p.gradient_checkpointing) == ("fp32", "bf16", True)


def test_device_cpu_is_honoured_even_with_a_gpu():
    assert place(device="cpu", cuda=True, bf16=True).device == "cpu"


def test_device_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(FinetuneError, match="no CUDA device"):
        place(device="cuda")


def test_qlora_on_cpu_is_refused_with_a_way_out():
    with pytest.raises(FinetuneError) as info:
        place(Method("qlora"))
    assert "CUDA GPU" in info.value.message and "lora(" in info.value.hint


def test_qlora_without_bitsandbytes_names_the_package():
    with pytest.raises(FinetuneError) as info:
        place(Method("qlora"), cuda=True, bf16=True, bnb=False)
    assert "bitsandbytes" in info.value.message and "pip install bitsandbytes" in info.value.hint


@pytest.mark.parametrize(("bits", "bf16", "compute"), [(4, True, "bf16"), (8, False, "fp16")])
def test_qlora_on_gpu_quantises_the_base(bits, bf16, compute):
    p = place(Method("qlora", bits=bits), cuda=True, bf16=bf16, bnb=True)
    assert (p.device, p.quantized_bits, p.weights, p.gradient_checkpointing) == ("cuda", bits, compute, True)
    assert f"{bits}-bit base" in p.describe()


# ------------------------------------------------------------------ target modules and artifacts

LLAMA = [f"model.layers.{i}.{part}" for i in range(2) for part in
         ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
          "mlp.up_proj", "mlp.down_proj")]


def test_auto_targets_are_the_attention_projections():
    assert auto_target_modules(LLAMA, "qwen2") == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert auto_target_modules(["h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc"], "gpt2") == \
        ("c_attn", "c_proj")


def test_unknown_architecture_asks_for_target_modules():
    with pytest.raises(FinetuneError, match="attention projections") as info:
        auto_target_modules(["blocks.0.mix", "blocks.0.ff"], "mystery")
    assert "target_modules" in info.value.hint


def test_explicit_targets_must_exist():
    assert check_target_modules(["q_proj", "down_proj"], LLAMA) == ("q_proj", "down_proj")
    with pytest.raises(FinetuneError, match="'qkv'") as info:
        check_target_modules(["qkv"], LLAMA)
    assert "q_proj" in info.value.hint


def test_artifacts_adapters_unless_full_or_stacked():
    assert artifact_kind(LORA, False) == "adapter"
    assert artifact_kind(Method("dpo"), False) == "adapter"
    assert artifact_kind(Method("full"), False) == "model"
    assert artifact_kind(LORA, True) == "model"


# ------------------------------------------------------------------ which questions are trained on

def questions(n: int, prefix: str = "t") -> list[Question]:
    return [Question(f"{prefix}{i:03d}", f"question number {prefix}{i}?", (f"answer {i}",), f"ctx {i}")
            for i in range(n)]


def test_samples_are_nested_and_the_eval_slice_is_shared_across_a_sweep():
    train, test = questions(300), questions(20, "x")
    small, big = select(train, test, 100, 7, "question"), select(train, test, 200, 7, "question")
    assert [q.id for q in big.train[:100]] == [q.id for q in small.train]
    assert [q.id for q in small.held_out] == [q.id for q in big.held_out]
    assert len(small.held_out) == 30 and not {q.id for q in small.held_out} & {q.id for q in big.train}


def test_selection_is_deterministic_by_seed_and_blind_to_input_order():
    train = questions(50)
    a = select(train, [], 10, 1, "question")
    assert [q.id for q in a.train] == [q.id for q in select(train[::-1], [], 10, 1, "question").train]
    assert [q.id for q in a.train] != [q.id for q in select(train, [], 10, 2, "question").train]


def test_all_samples_leave_no_eval_slice_and_default_keeps_one():
    train = questions(100)
    assert select(train, [], 100, 0, "question").held_out == []
    default = select(train, [], None, 0, "question")
    assert (len(default.train), len(default.held_out)) == (90, 10)
    assert len(select(questions(2000), [], None, 0, "question").held_out) == EVAL_MAX


def test_training_never_sees_a_test_question_even_under_another_id():
    train, test = questions(20), [Question("x1", "Question number t3?", ("z",), "other")]
    chosen = select(train, test, None, 0, "question")
    assert "t003" not in {q.id for q in chosen.train + chosen.held_out} and chosen.excluded == 1


def test_holdout_passage_also_drops_questions_on_a_test_passage():
    train = questions(20)
    test = [Question("x1", "something else entirely", ("z",), "ctx 5")]
    assert select(train, test, None, 0, "question").excluded == 0
    chosen = select(train, test, None, 0, "passage")
    assert chosen.excluded == 1 and "t005" not in {q.id for q in chosen.train}


def test_too_many_samples_is_a_data_error_that_counts_leaks():
    train = questions(10)
    with pytest.raises(DataError, match=r"samples = 11 but only 9 .*1 dropped"):
        select(train, [Question("x", train[0].question, ("a",))], 11, 0, "question")


def test_length_grouped_batches_cover_every_example_once_and_pad_little():
    lengths = [(i * 37) % 101 + 1 for i in range(200)]
    batches = length_grouped_batches(lengths, 8, 3, 0)
    assert sorted(i for b in batches for i in b) == list(range(200))
    assert batches == length_grouped_batches(lengths, 8, 3, 0)
    assert batches != length_grouped_batches(lengths, 8, 3, 1)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 15  # random batches of 8 from 1..101 spread ~70


# ------------------------------------------------------------------ preference pairs

def test_pairs_file_is_read_and_checked(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"question": "q?", "chosen": "a", "rejected": "b"}) + "\n\n"
                    + json.dumps({"id": "p2", "question": "r?", "chosen": "c", "rejected": "d"}) + "\n")
    pairs = read_pairs(path, "pairs.jsonl")
    assert [(p.id, p.chosen, p.rejected) for p in pairs] == [("pair-1", "a", "b"), ("p2", "c", "d")]
    path.write_text(json.dumps({"question": "q?", "chosen": "a"}) + "\n")
    with pytest.raises(DataError, match=r"pairs.jsonl:1: .*rejected"):
        read_pairs(path, "pairs.jsonl")
    path.write_text("{not json\n")
    with pytest.raises(DataError, match=r"pairs.jsonl:1: not valid JSON"):
        read_pairs(path, "pairs.jsonl")


def test_a_generated_answer_is_wrong_unless_it_matches_a_gold_answer():
    assert is_correct("The Insulin.", ("insulin",)) and not is_correct("glucagon", ("insulin", "INS"))


# ------------------------------------------------------------------ dry-run estimate

def test_estimate_counts_examples_tokens_and_time():
    e = estimate(samples=200, train=1000, epochs=2, method="lora", fmt={"call": "qa"}, model="qwen2.5-0.5b",
                 device="cpu", cores=2)
    assert e.examples == 200 and e.tokens == 200 * 2 * 65
    assert "200 examples" in e.text() and "estimate" in e.text() and "cpu (2 cores)" in e.text()
    gpu = estimate(samples=200, train=1000, epochs=2, method="lora", fmt=None, model="qwen2.5-0.5b",
                   device="cuda")
    assert gpu.seconds < e.seconds
    ctx = estimate(samples=200, train=None, epochs=2, method="lora", model="qwen2.5-0.5b", device="cpu", cores=2,
                   fmt={"call": "with_context", "args": {"retrieve": {"call": "bm25", "args": {"top_k": 5}}}})
    assert ctx.tokens > e.tokens * 5
    big = estimate(samples=200, train=None, epochs=2, method="full", fmt=None, model="qwen2.5-1.5b",
                   device="cpu", cores=2)
    assert big.seconds > 3 * e.seconds


def test_estimate_without_samples_uses_the_train_count_or_says_it_cannot():
    assert estimate(samples=None, train=500, epochs=1, method="lora", fmt=None, model="m", device="cpu",
                    cores=1).examples == 500
    unknown = estimate(samples=None, train=0.5, epochs=1, method="lora", fmt=None, model="m", device="cpu")
    assert unknown.examples is None and "all of the train split" in unknown.text()


@pytest.mark.parametrize(("name", "billions", "known"), [
    ("qwen2.5-coder-0.5b-instruct", 0.5, True), ("smollm2-135m-instruct", 0.135, True),
    ("Qwen/Qwen2.5-7B-Instruct", 7.0, True), ("local-model", 0.5, False)])
def test_model_size_from_its_name(name, billions, known):
    assert model_billions(name) == (billions, known)


def test_current_device_can_be_pinned(monkeypatch):
    monkeypatch.setenv("RAGDSL_DEVICE", "cpu:3")
    assert current_device() == ("cpu", 3)
    monkeypatch.setenv("RAGDSL_DEVICE", "cuda")
    assert current_device()[0] == "cuda"
