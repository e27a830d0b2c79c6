"""`format = documents()`: continued pre-training on a corpus's passages (knowledge injection).

The checker's rules (E414, E415, E306 on a corpus; E411/E412 leave corpora alone), the passage draw,
the encoding (no prompt, loss on every token), the estimate and plan line, and a tiny random Qwen2
trained end to end on passages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import isolate_weights, write_project

from ragdsl.compiler import compile_spec
from ragdsl.data import DataError, Passage
from ragdsl.finetune import estimate
from ragdsl.finetune.data import select_passages
from ragdsl.semantics import check_spec

USED = ("pipeline p(g) { generate = g }\n"
        "evaluate e { systems = { t: p(t) }; questions = qa.test; metrics = [exact_match] }\n")


def errors(tmp_path, monkeypatch, spec: str) -> list[tuple[str, str, str, str]]:
    """(code, file:line:col, message, help) of each error; helpers.BASE puts the spec's first line at 8."""
    monkeypatch.chdir(tmp_path)
    path = write_project(tmp_path, spec + USED)
    return [(d.code, d.span.start() if d.span else "", d.message, d.help)
            for d in check_spec(path).diagnostics if d.is_error]


# ------------------------------------------------------------------ checker

def test_documents_on_a_corpus_checks(tmp_path, monkeypatch):
    assert errors(tmp_path, monkeypatch, "finetune t { base = base; data = docs; format = documents() }\n") == []


def test_documents_on_a_question_set_is_e414_at_the_format(tmp_path, monkeypatch):
    found = errors(tmp_path, monkeypatch, "finetune t { base = base; data = qa.train; format = documents() }\n")
    assert found == [("E414", "spec.rag:8:53",
                      "format = documents() trains on a corpus's passages, but 'qa' is a question set",
                      "name a corpus in `data` (e.g. data = docs), or train on the questions with qa()")]


def test_a_corpus_without_documents_is_e415_at_the_data(tmp_path, monkeypatch):
    found = errors(tmp_path, monkeypatch, "finetune t { base = base; data = docs }\n")
    assert found == [("E415", "spec.rag:8:34", "corpus 'docs' is fine-tuning data, but the format is qa() "
                      "(the default)", "add `format = documents()` to train on its passages, or name a question set")]
    found = errors(tmp_path, monkeypatch, "finetune t { base = base; data = docs\n"
                   "  format = with_context(retrieve = bm25(idx)) }\n")
    assert [(c, at, m) for c, at, m, _ in found] == [
        ("E415", "spec.rag:8:34", "corpus 'docs' is fine-tuning data, but the format is "
                                  "with_context(retrieve = bm25(idx))")]


def test_a_format_sweep_with_a_question_format_over_a_corpus_is_e415(tmp_path, monkeypatch):
    found = errors(tmp_path, monkeypatch,
                   "finetune t { base = base; data = docs; format = sweep(documents(), qa()) }\n")
    assert [(c, at) for c, at, _, _ in found] == [("E415", "spec.rag:8:34")]


def test_a_split_of_a_corpus_is_e306(tmp_path, monkeypatch):
    found = errors(tmp_path, monkeypatch, "finetune t { base = base; data = docs.train; format = documents() }\n")
    assert found == [("E306", "spec.rag:8:34", "'docs.train': a corpus has no parts to select", "write just 'docs'")]


def test_e411_and_e412_leave_a_corpus_alone(tmp_path, monkeypatch):
    # qa.test is evaluated and the corpus has no train split: neither matters for documents()
    assert errors(tmp_path, monkeypatch, "finetune t { base = base; data = docs; format = documents() }\n"
                  "finetune u { base = t; data = qa.train }\n") == []


# -------------------------------------------------------------------- draw

PASSAGES = [Passage(f"p{i:02d}", f"Passage number {i}.") for i in range(40)]


def test_unset_samples_trains_on_every_passage_with_nothing_held_out():
    chosen = select_passages(PASSAGES, None, 7)
    assert sorted(p.id for p in chosen.train) == [p.id for p in PASSAGES] and chosen.held_out == []


def test_samples_are_drawn_by_seed_nested_and_deterministic():
    small, large = select_passages(PASSAGES, 5, 7), select_passages(PASSAGES, 20, 7)
    assert small.train == large.train[:5]
    assert select_passages(list(reversed(PASSAGES)), 20, 7) == large  # blind to input order
    assert select_passages(PASSAGES, 20, 8).train != large.train
    # the held-out slice is the end of the same order: a tenth of the pool, never trained on
    assert len(large.held_out) == 4 and not set(large.held_out) & set(large.train)
    assert small.held_out == large.held_out


def test_too_many_samples_name_the_passage_count():
    with pytest.raises(DataError, match="samples = 41 but the corpus has only 40 passages"):
        select_passages(PASSAGES, 41, 7)


# --------------------------------------------------------------- estimate

def test_the_estimate_counts_passages():
    docs = {"call": "documents", "args": {}}
    unknown = estimate(samples=None, train=None, epochs=3, method="lora", fmt=docs, model="x-0.5b", device="cpu")
    assert unknown.text() == "examples: all of the corpus's passages (count known after reading it); " \
                             "no time estimate"
    words = estimate(samples=100, train=None, epochs=3, method="lora", fmt=docs, model="x-0.5b", device="cpu",
                     split={"call": "words", "args": {"size": 100, "overlap": 0}})
    assert words.tokens == 100 * 3 * 131
    other = estimate(samples=100, train=None, epochs=1, method="lora", fmt=docs, model="x-0.5b", device="cpu",
                     split={"call": "sentences", "args": {"size": 5, "overlap": 1}})
    assert other.tokens == 100 * 150


def test_the_plan_shows_the_estimate_for_a_corpus(tmp_path, monkeypatch):
    isolate_weights(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    spec = ("finetune t { base = base; data = docs; format = documents(); epochs = 2 }\n"
            "finetune s { base = base; data = docs; format = documents(); samples = 50 }\n" + USED +
            "evaluate f { systems = { s: p(s) }; questions = qa.test; metrics = [exact_match] }\n")
    compilation = compile_spec(write_project(tmp_path, spec))
    assert compilation.ok, [(d.code, d.message) for d in compilation.diagnostics if d.is_error]
    nodes = {a.node.id: a.node for a in compilation.plan.actions}
    assert nodes["finetune.t"].params["data"] == {"node": "corpus.docs"}  # no part
    from ragdsl.plan.render import to_text

    text = to_text(compilation.plan)
    assert "training examples: all of the corpus's passages (count known after reading it)" in text
    assert "training 50 examples, ~6550 training tokens" in text  # words(size = 100): 131 tokens each


# ------------------------------------------------------------ tokenization

def test_a_passage_is_labelled_on_every_token():
    pytest.importorskip("transformers")
    from test_models_load import tiny_tokenizer

    from ragdsl.finetune.examples import IGNORE, encode_text

    tokenizer = tiny_tokenizer()
    row = encode_text(tokenizer, " Insulin is made in the pancreas. ", max_length=None)
    text = tokenizer("Insulin is made in the pancreas.", add_special_tokens=False)["input_ids"]
    assert list(row.input_ids) == [tokenizer.bos_token_id, *text, tokenizer.eos_token_id]
    assert list(row.labels) == [IGNORE, *text, tokenizer.eos_token_id]  # the start token is context only
    assert row.answer_tokens == len(text) + 1 and not row.truncated
    cut = encode_text(tokenizer, "Insulin is made in the pancreas.", max_length=4)
    assert cut.truncated and list(cut.input_ids) == [tokenizer.bos_token_id, *text[:3]]


# ------------------------------------------------------------ a real training

WORDS = ["The sky is blue.", "Grass is green.", "Snow is white.", "Coal is black.", "Roses are red.",
         "The sea is deep.", "The moon is round.", "Salt is salty.", "Sugar is sweet.", "The sun is yellow.",
         "Ice is cold.", "Fire is hot."]

SPEC = """\
corpus c { source = jsonl("passages.jsonl") }
questions q { source = jsonl("qa.jsonl"); train = 30; test = 6 }
model base { source = local("tiny-qwen") }
finetune all { base = base; data = c; format = documents(); epochs = 2; lr = 1e-2 }
finetune some { base = base; data = c; format = documents(); samples = 6; epochs = 2; lr = 1e-2 }
finetune fewer { base = base; data = c; format = documents(); samples = 3; epochs = 2; lr = 1e-2 }
pipeline rag(g) { generate = g; max_new_tokens = 4 }
evaluate e { systems = { a: rag(all), s: rag(some), f: rag(fewer) }; questions = q.test; metrics = [exact_match] }
"""


def _project(root: Path, weights: Path) -> Path:
    from test_finetune_run import write_project as write

    write(root, weights, SPEC)
    (root / "passages.jsonl").write_text("".join(json.dumps({"id": f"d{i:02d}", "text": t}) + "\n"
                                                 for i, t in enumerate(WORDS)))
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    pytest.importorskip("haystack")
    from test_finetune_run import cli
    from test_finetune_train import save_tiny_model

    import ragdsl.finetune.loop as loop

    given: list[list] = []
    original = loop.train

    def recording(model, rows, *args, **kwargs):
        given.append(list(rows))
        return original(model, rows, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("RAGDSL_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("RAGDSL_STORE", raising=False)
        mp.setattr(loop, "train", recording)
        weights = tmp_path_factory.mktemp("w") / "tiny-qwen"
        save_tiny_model(weights)
        root = _project(tmp_path_factory.mktemp("p") / "project", weights)
        result = cli(root, "run", "spec.rag", "--progress", "plain")
        yield root, result, weights, given


def _artifact(root: Path, node: str) -> Path:
    from test_finetune_run import _artifact as artifact

    return artifact(root, node)


def _training(root: Path, node: str) -> dict:
    return json.loads((_artifact(root, node) / "training.json").read_text())


@pytest.mark.finetune
def test_every_passage_is_an_example_with_no_prompt_and_loss_on_all_its_tokens(trained):
    from transformers import AutoTokenizer

    from ragdsl.finetune import Example, data_hash
    from ragdsl.finetune.examples import IGNORE

    root, result, weights, given = trained
    assert result.exit_code == 0, result.output
    training = _training(root, "finetune.all")
    assert (training["format"], training["prompt"], training["chat_template"], training["target"]) == \
        ("documents", None, False, None)
    assert training["examples"] == len(WORDS) and training["held_out"] == 0 and training["excluded_leaks"] == 0
    text = dict(zip([f"d{i:02d}" for i in range(len(WORDS))], WORDS))
    assert sorted(training["example_ids"]) == sorted(text)
    assert training["data_sha256"] == data_hash([Example(i, "", text[i]) for i in training["example_ids"]])
    tokenizer = AutoTokenizer.from_pretrained(weights)
    (rows,) = [rows for rows in given if len(rows) == len(WORDS)]
    for row, passage_id in zip(rows, training["example_ids"]):
        ids = tokenizer(text[passage_id], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        assert list(row.input_ids) == [tokenizer.bos_token_id, *ids] and list(row.labels) == [IGNORE, *ids]


@pytest.mark.finetune
def test_samples_draw_passages_by_seed_nested_with_a_held_out_slice(trained):
    root, result, _, _ = trained
    assert result.exit_code == 0, result.output
    every, some, fewer = (_training(root, f"finetune.{n}") for n in ("all", "some", "fewer"))
    passages = [Passage(f"d{i:02d}", t) for i, t in enumerate(WORDS)]
    expected = select_passages(passages, 6, every["hyperparameters"]["seed"])
    assert some["example_ids"] == [p.id for p in expected.train] and fewer["example_ids"] == some["example_ids"][:3]
    assert some["held_out"] == 1 and some["eval_loss"] is not None and every["eval_loss"] is None
    assert "finetune.some" in result.output and "[done] rag.e.s" in result.output


@pytest.mark.finetune
def test_training_on_documents_is_deterministic(trained, tmp_path):
    from test_finetune_run import cli

    root, _, weights, _ = trained
    again = _project(tmp_path / "again", weights)
    only = [line for line in SPEC.splitlines() if "finetune all" not in line and "finetune fewer" not in line]
    (again / "spec.rag").write_text("\n".join(only).replace("a: rag(all), ", "").replace(", f: rag(fewer)", ""))
    result = cli(again, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 0, result.output
    first = (_artifact(root, "finetune.some") / "adapter" / "adapter_model.safetensors").read_bytes()
    second = (_artifact(again, "finetune.some") / "adapter" / "adapter_model.safetensors").read_bytes()
    assert first == second


@pytest.mark.finetune
def test_dpo_on_documents_fails_the_node_with_a_message(trained, tmp_path):
    from test_finetune_run import cli

    _, _, weights, _ = trained
    root = _project(tmp_path / "p", weights)
    (root / "spec.rag").write_text(SPEC.replace('samples = 6; epochs', 'samples = 6; method = dpo(); epochs'))
    result = cli(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 1 and "[failed] finetune.some" in result.output
    assert "dpo learns a preference between two answers, and documents() has no answers" in result.output
    assert "Traceback" not in result.output
