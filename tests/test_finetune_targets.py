"""`target` on qa() and with_context(): training answers rendered by a sandboxed Jinja2 template.

Rendering and its errors need no torch; the fingerprint tests compile a plan; the last tests train a
tiny random Qwen2 end to end and read back the labelled tokens the loop was given.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import write_project

from ragdsl.compiler import compile_spec
from ragdsl.data import Question
from ragdsl.data.evidence import evidence
from ragdsl.finetune import FinetuneError
from ragdsl.finetune.targets import Target, render_targets, target_from_format, variables

JSON_TARGET = "{{ {'answer': answer, 'evidence': evidence} | tojson }}"
SKY = Question("q1", "What colour is the sky?", ("blue", "azure"),
               "Look up. The sky is blue on a clear day. At night it is black.")


def render(text: str, questions=(SKY,)) -> list[str]:
    return render_targets(Target("t.jinja", text), list(questions))


# ------------------------------------------------------------------ rendering

def test_a_json_target_holds_the_answer_and_the_sentence_it_comes_from():
    (text,) = render(JSON_TARGET)
    assert json.loads(text) == {"answer": "blue", "evidence": "The sky is blue on a clear day."}
    assert text == '{"answer": "blue", "evidence": "The sky is blue on a clear day."}'  # keys as written


def test_tojson_renders_as_in_a_prompt_builder():
    """A target and a few-shot prompt render one expression to the same bytes (Jinja2's escaping)."""
    from haystack.components.builders import PromptBuilder

    question = Question("q2", "Whose?", ("Ann's & Bob's <b>",))
    expression = "{{ {'answer': answer, 'evidence': 'x'} | tojson }}"
    (text,) = render(expression, [question])
    prompt = PromptBuilder(expression).run(answer=question.answers[0])["prompt"]
    assert text == prompt == '{"answer": "Ann\\u0027s \\u0026 Bob\\u0027s \\u003cb\\u003e", "evidence": "x"}'
    assert json.loads(text)["answer"] == question.answers[0]


def test_every_variable_is_available():
    (text,) = render("{{ question }}|{{ answer }}|{{ answers | join(',') }}|{{ context[:7] }}|{{ evidence }}")
    assert text == "What colour is the sky?|blue|blue,azure|Look up|The sky is blue on a clear day."
    assert variables(SKY)["evidence"] == evidence(SKY.context, SKY.answers)


def test_a_question_without_context_has_empty_context_and_evidence():
    bare = Question("q3", "Where is Paris?", ("France",))
    assert variables(bare)["context"] == "" and variables(bare)["evidence"] == ""
    assert render(JSON_TARGET, [bare]) == ['{"answer": "France", "evidence": ""}']


def test_the_rendered_target_is_stripped():
    assert render("\n  Answer: {{ answer }}\n\n") == ["Answer: blue"]


# --------------------------------------------------------------------- errors

@pytest.mark.parametrize(("text", "message", "hint"), [
    ("{{ answer ", "target template t.jinja, line 1: unexpected end of template", "Jinja2 syntax"),
    ("{% if answer %}yes", "target template t.jinja, line 1:", "Jinja2 syntax"),
    ("{{ anwser }}", "target template t.jinja: 'anwser' is undefined (question q1)",
     "can use answer, answers, question, context, evidence"),
    ("{{ answer.__class__.__mro__ }}", "target template t.jinja: sandbox refused it", "sandbox"),
    ("{{ answer / 2 }}", "target template t.jinja: TypeError", "answers, a list of strings"),
    ("{% if false %}x{% endif %}", "target template t.jinja renders an empty answer for question q1", "text"),
])
def test_template_errors_name_the_template_and_give_a_hint(text, message, hint):
    with pytest.raises(FinetuneError) as raised:
        render(text)
    assert message in raised.value.message and hint in raised.value.hint


def test_a_template_file_is_read_through_locate(tmp_path):
    (tmp_path / "t.jinja").write_text("A: {{ answer }}\n")
    fmt = {"call": "qa", "args": {"target": {"call": "template", "args": {"path": {"file": "t.jinja"}}}}}
    target = target_from_format(fmt, lambda written: tmp_path / written)
    assert target == Target("t.jinja", "A: {{ answer }}\n")
    assert target_from_format({"call": "qa", "args": {}}, lambda w: tmp_path / w) is None


def test_an_inline_target_is_named_by_its_text():
    fmt = {"call": "qa", "args": {"target": {"call": "inline", "args": {"text": "{{ nope }}"}}}}
    target = target_from_format(fmt, lambda w: Path(w))
    with pytest.raises(FinetuneError, match=r'target template inline\("\{\{ nope \}\}"\): \'nope\' is undefined'):
        render_targets(target, [SKY])


def test_default_prompt_is_not_a_target():
    fmt = {"call": "qa", "args": {"target": {"call": "default_prompt", "args": {}}}}
    with pytest.raises(FinetuneError, match="a question prompt, not a training answer"):
        target_from_format(fmt, lambda w: Path(w))


# --------------------------------------------------------------- fingerprints

TUNED = ("pipeline p(g) { generate = g }\n"
         "evaluate e { systems = { t: p(t) }; questions = qa.test; metrics = [exact_match] }\n")


def _finetune(tmp_path, monkeypatch, line: str):
    monkeypatch.chdir(tmp_path)
    path = write_project(tmp_path, line + TUNED)
    compilation = compile_spec(path)
    assert compilation.ok, [(d.code, d.message) for d in compilation.diagnostics if d.is_error]
    return next(a for a in compilation.plan.actions if a.node.kind == "finetune")


def test_without_a_target_the_canonical_format_and_fingerprint_are_as_before(tmp_path, monkeypatch):
    plain = _finetune(tmp_path, monkeypatch, "finetune t { base = base; data = qa }\n")
    written = _finetune(tmp_path, monkeypatch, "finetune t { base = base; data = qa; format = qa() }\n")
    assert plain.node.params["format"] == {"call": "qa", "args": {}}  # no "target": null
    assert plain.fingerprint == written.fingerprint


def test_the_target_template_file_is_part_of_the_fingerprint(tmp_path, monkeypatch):
    line = 'finetune t { base = base; data = qa; format = qa(target = template("prompts/target.jinja")) }\n'
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "target.jinja").write_text("{{ answer }}\n")
    first = _finetune(tmp_path, monkeypatch, line)
    assert [path for path, _ in first.node.data] == ["prompts/target.jinja"]
    assert first.node.params["format"]["args"]["target"] == {"call": "template",
                                                        "args": {"path": {"file": "prompts/target.jinja"}}}
    again = _finetune(tmp_path, monkeypatch, line)
    (tmp_path / "prompts" / "target.jinja").write_text(JSON_TARGET + "\n")
    edited = _finetune(tmp_path, monkeypatch, line)
    assert first.fingerprint == again.fingerprint != edited.fingerprint
    plain = _finetune(tmp_path, monkeypatch, "finetune t { base = base; data = qa }\n")
    assert plain.fingerprint != first.fingerprint


def test_with_context_takes_a_target_too(tmp_path, monkeypatch):
    node = _finetune(tmp_path, monkeypatch, "finetune t { base = base; data = qa; format = with_context("
                     "retrieve = bm25(idx, top_k = 2), target = inline(\"{{ evidence }}\")) }\n")
    assert node.node.params["format"]["args"]["target"] == {"call": "inline", "args": {"text": "{{ evidence }}"}}


# ----------------------------------------------------------- a real training

SPEC = """\
corpus c { source = jsonl("passages.jsonl") }
questions q { source = jsonl("qa.jsonl", context = "context"); train = 30; test = 6 }
index i { corpus = c }
model base { source = local("tiny-qwen") }
finetune j { base = base; data = q.train; samples = 8; format = qa(target = template("target.jinja")) }
finetune k { base = base; data = q.train; samples = 8; format = with_context(retrieve = bm25(i, top_k = 1),
             target = inline("{{ answer | upper }}")) }
pipeline rag(g) { generate = g; max_new_tokens = 4 }
evaluate e { systems = { j: rag(j), k: rag(k) }; questions = q.test; metrics = [exact_match] }
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    pytest.importorskip("haystack")
    from test_finetune_run import cli, write_project
    from test_finetune_train import save_tiny_model

    import ragdsl.finetune.loop as loop

    given: dict[int, list] = {}
    original = loop.train

    def recording(model, rows, *args, **kwargs):
        given[len(given)] = list(rows)
        return original(model, rows, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("RAGDSL_CACHE", str(tmp_path_factory.mktemp("cache")))
        mp.delenv("RAGDSL_STORE", raising=False)
        mp.setattr(loop, "train", recording)
        weights = tmp_path_factory.mktemp("w") / "tiny-qwen"
        save_tiny_model(weights)
        root = write_project(tmp_path_factory.mktemp("p") / "project", weights, SPEC)
        (root / "target.jinja").write_text(JSON_TARGET + "\n")
        result = cli(root, "run", "spec.rag", "--progress", "plain")
        yield root, result, weights, given


def _training(root: Path, node: str) -> dict:
    from test_finetune_run import _artifact

    return json.loads((_artifact(root, node) / "training.json").read_text())


def _labelled(weights: Path, given: dict) -> list[list[str]]:
    """For each training the loop ran, the text of each row's labelled tokens."""
    from transformers import AutoTokenizer

    from ragdsl.finetune.examples import IGNORE

    tokenizer = AutoTokenizer.from_pretrained(weights)
    return [[tokenizer.decode([t for t in row.labels if t != IGNORE]) for row in rows] for rows in given.values()]


@pytest.mark.finetune
def test_the_loss_is_on_the_rendered_json_targets(trained):
    root, result, weights, given = trained
    assert result.exit_code == 0, result.output
    training = _training(root, "finetune.j")
    assert (training["format"], training["target"], training["examples"]) == ("qa", "target.jinja", 8)
    records = {r["id"]: r for r in map(json.loads, (root / "qa.jsonl").read_text().splitlines())}
    expected = [json.dumps({"answer": records[i]["answer"],
                            "evidence": evidence(records[i]["context"], [records[i]["answer"]])}) + "<|im_end|>"
                for i in training["example_ids"]]
    assert expected in _labelled(weights, given)
    assert all(json.loads(text.removesuffix("<|im_end|>"))["evidence"].startswith("The ") for text in expected)


@pytest.mark.finetune
def test_with_context_trains_on_its_inline_target(trained):
    from test_finetune_run import WORDS

    root, result, weights, given = trained
    assert result.exit_code == 0, result.output
    training = _training(root, "finetune.k")
    assert training["target"] == 'inline("{{ answer | upper }}")' and training["format"] == "with_context"
    (upper,) = [rows for rows in _labelled(weights, given) if not rows[0].startswith("{")]
    assert len(upper) == 8 and set(upper) <= {c.upper() + "<|im_end|>" for _, c in WORDS}


@pytest.mark.finetune
def test_a_template_error_fails_the_node_without_a_traceback(trained, tmp_path):
    from test_finetune_run import cli, write_project

    _, _, weights, _ = trained
    spec = SPEC.replace('"target.jinja"', '"bad.jinja"')
    root = write_project(tmp_path / "p", weights, spec)
    # A name built while rendering: only the sandbox at run time can refuse it (`check` catches the literal one).
    (root / "bad.jinja").write_text("{{ answer }}\n{% set name = answer[:0] ~ '__class__' %}{{ answer | attr(name) }}\n")
    result = cli(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 1
    assert "[failed] finetune.j" in result.output and "target template bad.jinja: sandbox refused it" in result.output
    assert "Traceback" not in result.output
