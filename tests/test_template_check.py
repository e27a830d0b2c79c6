"""Templates checked before running (issue 17): syntax, the sandbox and variables, located in the template.

`ragdsl check` parses every prompt and target template a spec uses in jinja2's
sandboxed environment and reports E440 (does not parse), E441 (what the sandbox
refuses), E442 (a target reads an undefined variable) and W440 (a prompt reads a
variable the pipeline does not pass) at the template's own line and column. What only
fails on real data is a user error at run time: exit 1, no traceback. The static
check is compared with the real sandbox: what it accepts renders, what it refuses as
unsafe raises SecurityError.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import write_project

from ragdsl.lower.prompts import DEFAULT_PROMPT, TARGET_VARIABLES
from ragdsl.semantics import check_spec
from ragdsl.semantics.templates import scan

PIPELINE = '''
pipeline rag(generator) {{
  retrieve = bm25(idx, top_k = 5)
  prompt = {prompt}
  generate = generator
}}
evaluate compare {{ systems = {{ base: rag(base) }}; questions = qa.test; metrics = [f1] }}
'''


def spec_with(prompt: str) -> str:
    return PIPELINE.format(prompt=prompt)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def check(spec: str, templates: dict[str, str] | None = None):
        for rel, text in (templates or {}).items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text, encoding="utf-8")
        path = write_project(tmp_path, spec)
        return path, check_spec(path)

    return check


def template_diagnostics(checked):
    return [d for d in checked.diagnostics if d.code in ("E440", "E441", "E442", "W440")]


def cli_output(run_cli, *args) -> tuple[int, str]:
    result = run_cli(*args)
    return result.exit_code, result.stderr + result.stdout


# ------------------------------------------------------------------ syntax


def test_an_inline_syntax_error_is_located_in_the_spec_string(project, run_cli):
    path, checked = project(spec_with('inline("Q: {{ question }")'))
    (d,) = template_diagnostics(checked)
    text = path.read_text()
    line = line_of(text, "prompt = inline")
    assert (d.code, d.message) == ("E440", "the prompt template does not parse: unexpected '}'")
    assert (d.span.file, d.span.line) == ("spec.rag", line)
    assert text.split("\n")[line - 1][d.span.col - 1:d.span.end_col - 1] == "}"
    code, output = cli_output(run_cli, "check", "spec.rag")
    assert code == 1 and f"--> spec.rag:{line}:{d.span.col}" in output
    assert '  prompt = inline("Q: {{ question }")' in output
    assert " " * (d.span.col - 1) + "^ Jinja2 syntax error" in output
    assert "Traceback" not in output


def test_escapes_in_an_inline_template_shift_the_column(project):
    path, checked = project(spec_with(r'inline("\"Q\"\n\t\u00e9 {{ question.__class__ }}")'))
    (d,) = template_diagnostics(checked)
    line = path.read_text().split("\n")[d.span.line - 1]
    assert d.code == "E441" and line[d.span.col - 1:d.span.end_col - 1] == "__class__"


def test_a_template_file_syntax_error_points_at_its_own_line(project, run_cli):
    _, checked = project(spec_with('template("prompts/broken.jinja")'),
                         {"prompts/broken.jinja": "Passages:\n{% for d in documents %}{{ d.content }}\n"
                                                  "{% endfor %}\nQ: {{ question | uper }}\n"})
    (d,) = template_diagnostics(checked)
    assert d.code == "E440" and d.message == "the prompt template does not parse: no filter named 'uper'"
    assert (d.span.file, d.span.line, d.span.col, d.span.end_col) == ("prompts/broken.jinja", 4, 18, 22)
    assert d.help == "did you mean 'upper'?"
    code, output = cli_output(run_cli, "check", "spec.rag")
    assert code == 1 and "--> prompts/broken.jinja:4:18" in output
    assert "4 | Q: {{ question | uper }}\n  |                  ^^^^ unknown filter" in output


@pytest.mark.parametrize(("text", "message", "at"), [
    ("{{ question }", "unexpected '}'", "}"),
    ("{% for d in documents %}{{ d }}", "unexpected end of template", ""),
    ("{% endfor %}", "encountered unknown tag 'endfor'", "endfor"),
    ('{{ "open }}', "unexpected char '\"'", '"'),
    ("{{ question | uper }}", "no filter named 'uper'", "uper"),
    ("{% if question is sting %}x{% endif %}", "no test named 'sting'", "sting"),
    ("{{ question question }}", "expected token 'end of print statement', got 'question'", "question"),
])
def test_syntax_errors_name_the_problem_and_its_place(text, message, at):
    (f,) = scan(text)
    assert f.code == "E440" and f.message == f"the prompt template does not parse: {message}"
    assert text[f.start:f.end] == at


def test_an_unclosed_block_says_which(project):
    (f,) = scan("{% for d in documents %}\n{{ d.content }}\n")
    assert f.message == "the prompt template does not parse: unexpected end of template"
    assert "The innermost block that needs to be closed is 'for'." in f.notes[0]


def test_a_template_file_that_is_not_utf8_is_an_error(project):
    _, checked = project(spec_with('template("prompts/latin1.jinja")'))
    Path("prompts/latin1.jinja").write_bytes("Question: {{ question }} é\n".encode("latin-1"))
    checked = check_spec("spec.rag")
    (d,) = template_diagnostics(checked)
    assert d.code == "E440" and d.message.startswith("not UTF-8 text") and d.span.file == "prompts/latin1.jinja"


# ------------------------------------------------------------------ the sandbox


def test_a_template_file_reading_python_internals_is_located_at_the_attribute(project, run_cli):
    _, checked = project(spec_with('template("prompts/hostile.jinja")'),
                         {"prompts/hostile.jinja": "Answer briefly.\nQ: {{ question.__class__ }}\n"})
    (d,) = template_diagnostics(checked)
    assert (d.code, d.message, d.label) == ("E441", "the prompt template reads '__class__', which the sandbox "
                                            "refuses", "starts with '_'")
    assert (d.span.file, d.span.line, d.span.col, d.span.end_col) == ("prompts/hostile.jinja", 2, 16, 25)
    code, output = cli_output(run_cli, "check", "spec.rag")
    assert code == 1
    assert ("--> prompts/hostile.jinja:2:16\n  |\n2 | Q: {{ question.__class__ }}\n"
            "  |                ^^^^^^^^^ starts with '_'") in output


def test_loading_other_templates_is_refused(project):
    _, checked = project(spec_with('inline("{% include \\"header.jinja\\" %}{{ question }}")'))
    (d,) = template_diagnostics(checked)
    assert d.code == "E441" and d.message == ("the prompt template includes another template, which the sandbox "
                                              "cannot load")


def test_a_metadata_key_starting_with_underscore_may_be_read_as_an_item():
    assert scan("{% for d in documents %}{{ d.meta['_source'] }}{% endfor %}") == []
    (f,) = scan("{% for d in documents %}{{ d.meta._source }}{% endfor %}")
    assert f.code == "E441" and 'meta["_key"]' in f.help


# Templates the static check accepts: each renders in jinja2's own sandbox without a SecurityError.
ACCEPTED = [
    "{{ question }}",
    DEFAULT_PROMPT,
    "{% for d in documents %}{{ loop.index }}. {{ d.content }} ({{ d.meta.title }}){% endfor %}",
    "{{ documents | map(attribute='content') | join(' ') }}",
    "{{ documents | selectattr('meta.title') | map(attribute='meta.title') | list }}",
    "{{ documents | sort(attribute='meta.rank') | map(attribute='content') | first }}",
    "{{ '{0} ({1})'.format(question, documents | length) }}",
    "{{ question.upper() }} {{ question | attr('upper') }}",
    "{% for d in documents %}{{ d.meta['_source'] }}{% endfor %}",
    "{% set ns = namespace(n=0) %}{% for d in documents %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}",
    "{{ dict(a=1).a }} {{ range(3) | list }} {{ cycler('a', 'b').next() }}",
    "{% macro q(text) %}Q: {{ text }}{% endmacro %}{{ q(question) }}",
    "{% set name = '_' ~ '_class_' ~ '_' %}{{ (question | attr(name)) is defined }}",
]

# Templates the static check refuses as unsafe (E441): each raises SecurityError in the real sandbox.
REFUSED = [
    "{{ question.__class__ }}",
    "{{ question['__class__'] }}",
    "{{ question | attr('__class__') }}",
    "{{ question.__class__.__mro__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ dict.mro() }}",
    "{{ (question | list | map('upper')).gi_frame }}",
    "{{ documents | map(attribute='__class__') | join(' ') }}",
    "{{ documents | map('attr', '__class__') | join(' ') }}",
    "{{ documents | selectattr('__class__') | list }}",
    "{{ '{0.__class__}'.format(question) }}",
    "{{ '{0[__class__]}'.format(question) }}",
    "{% for d in documents %}{{ d._secret }}{% endfor %}",
    "{{ question.__len__() }}",
]


def _render_in_the_sandbox(text: str) -> str:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    documents = [SimpleNamespace(content="Aspirin inhibits COX-1.", meta={"title": "Aspirin", "rank": 1,
                                                                            "_source": "wiki"}, _secret="s")]
    examples = [SimpleNamespace(question="q?", answer="a")]
    env = SandboxedEnvironment(undefined=StrictUndefined)  # strict: a refused attribute raises when printed
    return env.from_string(text).render(question="What does aspirin inhibit?", documents=documents,
                                        examples=examples)


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_the_check_accepts_renders_in_the_sandbox(text):
    assert scan(text) == []
    _render_in_the_sandbox(text)


@pytest.mark.parametrize("text", REFUSED)
def test_what_the_check_refuses_the_sandbox_refuses(text):
    from jinja2.exceptions import SecurityError

    assert {f.code for f in scan(text)} == {"E441"}
    with pytest.raises(SecurityError):
        _render_in_the_sandbox(text)


def test_the_haystack_prompt_builder_refuses_what_the_check_refuses():
    pytest.importorskip("haystack")
    from haystack.components.builders import PromptBuilder
    from jinja2.exceptions import SecurityError

    text = "{{ question.__class__.__name__ }} {{ question.__class__.x }}"
    assert [f.code for f in scan(text)] == ["E441", "E441", "E441"]
    builder = PromptBuilder(template=text, variables=["question", "documents"], required_variables=["question"])
    with pytest.raises(SecurityError):
        builder.run(question="q", documents=[])


# ------------------------------------------------------------------ variables


def test_a_misspelt_variable_is_a_warning_with_a_suggestion(project, run_cli):
    _, checked = project(spec_with('template("prompts/typo.jinja")'),
                         {"prompts/typo.jinja": "Question: {{ quesiton }}\nAnswer:"})
    assert checked.ok
    (d,) = template_diagnostics(checked)
    assert (d.code, d.message, d.label, d.help) == (
        "W440", "the prompt template reads 'quesiton', which the pipeline does not pass", "renders empty",
        "did you mean 'question'?")
    assert (d.span.file, d.span.line, d.span.col, d.span.end_col) == ("prompts/typo.jinja", 1, 14, 22)
    code, output = cli_output(run_cli, "check", "spec.rag")
    assert code == 0 and "warning[W440]" in output


def test_examples_without_few_shot_warns_and_with_few_shot_does_not(project):
    _, checked = project(spec_with('inline("{% for e in examples %}{{ e.question }}{% endfor %}{{ question }}")'))
    (d,) = template_diagnostics(checked)
    assert d.code == "W440" and d.message == ("the prompt template reads 'examples', but pipeline 'rag' has no "
                                              "few-shot examples")
    assert "fewshot" in d.help
    with_examples = spec_with('inline("{% for e in examples %}{{ e.question }}{% endfor %}{{ question }}")')
    with_examples = with_examples.replace("generate = generator", "generate = generator\n"
                                          "  examples = fewshot(pool = qa.train, k = 2)")
    _, checked = project(with_examples)
    assert template_diagnostics(checked) == [], checked.diagnostics


def test_a_guarded_variable_is_not_reported():
    assert scan("{% if examples is defined %}{{ examples | length }}{% endif %}{{ question }}",
                passed=("question", "documents")) == []
    assert scan("{{ extra | default('') }}{{ question }}", passed=("question", "documents")) == []


def test_a_valid_template_and_the_default_prompt_have_no_diagnostics(project):
    for prompt in ('template("prompts/answer.jinja")', "default_prompt()", 'inline("Q: {{ question }}")'):
        _, checked = project(spec_with(prompt))
        assert checked.ok and template_diagnostics(checked) == [], (prompt, checked.diagnostics)
        assert checked.sources().keys() == {"spec.rag"} | ({"prompts/answer.jinja"} if "answer" in prompt
                                                          else set())
    assert scan(DEFAULT_PROMPT, passed=("question", "documents")) == []


def test_templates_passed_as_pipeline_arguments_and_sweeps_are_checked(project):
    spec = '''
pipeline rag(generator, p: prompt = inline("{{ question.__dict__ }}")) { prompt = p; generate = generator }
evaluate compare {
  systems = { a: rag(base), b: rag(base, sweep(inline("{{ quetsion }}"), template("prompts/answer.jinja"))) }
  questions = qa.test
  metrics = [f1]
}
'''
    _, checked = project(spec)
    found = sorted((d.code, d.message) for d in template_diagnostics(checked))
    assert found == [("E441", "the prompt template reads '__dict__', which the sandbox refuses"),
                     ("W440", "the prompt template reads 'quetsion', which the pipeline does not pass")]


def test_a_template_file_used_twice_is_reported_once(project):
    spec = spec_with('template("prompts/hostile.jinja")') + \
        'pipeline other(g) { prompt = template("prompts/hostile.jinja"); generate = g }\n' \
        'evaluate more { systems = { o: other(base) }; questions = qa.test; metrics = [f1] }\n'
    _, checked = project(spec, {"prompts/hostile.jinja": "{{ lipsum.__globals__ }}"})
    assert [d.code for d in template_diagnostics(checked)] == ["E441"]


# ------------------------------------------------------------------ fine-tuning targets


TARGET = ("finetune tuned { base = base; data = qa.train; format = qa(target = TARGET) }\n"
          "pipeline rag(g) { generate = g }\n"
          "evaluate e { systems = { t: rag(tuned) }; questions = qa.test; metrics = [f1] }\n")


@pytest.mark.parametrize(("target", "code", "message", "help_"), [
    ('inline("{{ anwser }}")', "E442", "the target template reads 'anwser', which is not defined",
     "did you mean 'answer'?"),
    ('inline("{{ documents }}")', "E442", "the target template reads 'documents', which is not defined",
     "a target template can use " + ", ".join(TARGET_VARIABLES)),
    ('inline("{{ answer.__class__ }}")', "E441", "the target template reads '__class__', which the sandbox refuses",
     None),
    ('inline("{% if answer %}{{ answer }}")', "E440", "the target template does not parse: unexpected end of "
     "template", None),
])
def test_target_template_errors(project, target, code, message, help_):
    _, checked = project(TARGET.replace("TARGET", target))
    (d,) = template_diagnostics(checked)
    assert (d.code, d.message) == (code, message) and d.is_error
    assert help_ is None or d.help == help_


def test_a_target_template_file_is_located_in_the_file(project):
    _, checked = project(TARGET.replace("TARGET", 'template("prompts/target.jinja")'),
                         {"prompts/target.jinja": '{"answer": {{ answer | tojson }},\n "why": {{ evidnce | tojson }}}\n'})
    (d,) = template_diagnostics(checked)
    assert (d.code, d.span.file, d.span.line, d.span.col, d.span.end_col) == ("E442", "prompts/target.jinja", 2, 12, 19)
    assert d.help == "did you mean 'evidence'?"
    assert scan('{"answer": {{ answer | tojson }}, "all": {{ answers | tojson }}}', role="target") == []


# ------------------------------------------------------------------ commands


def test_compile_dry_run_stops_on_a_template_error(project, run_cli):
    project(spec_with('template("prompts/hostile.jinja")'), {"prompts/hostile.jinja": "{{ question.__class__ }}\n"})
    code, output = cli_output(run_cli, "compile", "--dry-run", "spec.rag")
    assert code == 1 and "error[E441]" in output and "--> prompts/hostile.jinja:1:13" in output
    assert "nothing planned" in output and "Traceback" not in output


def test_json_diagnostics_locate_the_template_file(project, run_cli):
    project(spec_with('template("prompts/hostile.jinja")'), {"prompts/hostile.jinja": "{{ question.__class__ }}\n"})
    result = run_cli("check", "--format", "json", "spec.rag")
    (entry,) = [e for e in json.loads(result.stdout) if e["code"] == "E441"]
    assert entry["span"] == {"file": "prompts/hostile.jinja", "line": 1, "col": 13, "end_line": 1, "end_col": 22}


def test_checking_a_spec_without_templates_does_not_import_jinja2(tmp_path):
    spec = write_project(tmp_path, "pipeline rag(g) { retrieve = bm25(idx); generate = g }\n"
                                   "evaluate e { systems = { b: rag(base) }; questions = qa.test; metrics = [f1] }\n")
    code = ("import sys; import ragdsl, ragdsl.semantics; from ragdsl.semantics import check_spec; "
            f"checked = check_spec({str(spec)!r}); assert checked.ok, checked.diagnostics; "
            "assert 'jinja2' not in sys.modules, 'jinja2 imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


# ------------------------------------------------------------------ run time


RUN_SPEC = """\
questions qa {
  source = jsonl("data/qa.jsonl")
  test = 2
}

model gen {
  source = local("tiny-qwen")
}

pipeline rag(generator) {
  prompt = inline("Q: {{ question }}\\n{% set name = question[:0] ~ '__class__' %}{{ (question | attr(name)).x }}")
  generate = generator
  max_new_tokens = 2
}

evaluate e {
  systems = { a: rag(gen) }
  questions = qa.test
  metrics = [exact_match]
}
"""


@pytest.mark.slow
def test_a_sandbox_violation_at_run_time_is_a_user_error(tmp_path, monkeypatch, run_cli):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("haystack")
    from test_models_load import save_tiny_qwen2

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "qa.jsonl").write_text("".join(
        json.dumps({"id": f"q{i}", "question": f"What is {i}?", "answer": str(i)}) + "\n" for i in range(3)))
    save_tiny_qwen2(tmp_path / "tiny-qwen")
    (tmp_path / "spec.rag").write_text(RUN_SPEC)
    code, output = cli_output(run_cli, "check", "spec.rag")
    assert code == 0, output  # built at run time, out of the static check's sight
    code, output = cli_output(run_cli, "run", "spec.rag", "--progress", "plain")
    assert code == 1, output
    assert "Traceback" not in output and "internal error" not in output
    assert ('error: rag.e.a failed (declared at spec.rag:17:15): prompt template '
            'inline("Q: {{ question }}\\n{% set name = quest..."), line 2: sandbox refused it: '
            "access to attribute '__class__' of 'str' object is unsafe.") in output
    assert "= help: templates run in a sandbox" in output
