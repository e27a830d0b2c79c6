"""The command line: exit codes, where output goes, and each command's contract."""

import json

import pytest
from click.testing import CliRunner
from helpers import write_project

from ragdsl.cli import main

SPEC = '''
pipeline rag(generator) { retrieve = bm25(idx, top_k = 5); generate = generator }
evaluate e { systems = { base: rag(base) }; questions = qa.test }
'''


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def invoke(*args):
        from ragdsl.cli import cli

        runner = CliRunner()
        result = runner.invoke(cli, list(args), catch_exceptions=False, standalone_mode=True)
        return result

    return invoke


def exit_code(*argv):
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    return info.value.code


def test_check_clean_spec_exits_0(run, tmp_path):
    write_project(tmp_path, SPEC)
    result = run("check", "spec.rag")
    assert result.exit_code == 0
    assert "spec.rag: ok" in result.output


def test_check_errors_exit_1_with_located_messages(run, tmp_path):
    write_project(tmp_path, SPEC.replace("top_k = 5", "top_k = -1"))
    result = run("check", "spec.rag")
    assert result.exit_code == 1
    assert "error[E401]: -1 is out of range\n  --> spec.rag:9:56" in result.output
    assert "Traceback" not in result.output


def test_check_json_diagnostics(run, tmp_path):
    write_project(tmp_path, SPEC.replace("top_k = 5", "top_k = -1"))
    result = run("check", "--format", "json", "spec.rag")
    (d,) = json.loads(result.stdout)
    assert d["code"] == "E401" and d["span"]["line"] == 9


def test_missing_file_and_bad_option_are_user_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_code("check", "nope.rag") == 1
    assert exit_code("compile", "--format", "yaml", "nope.rag") == 1
    assert exit_code("frobnicate") == 1


def test_internal_errors_exit_2_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, SPEC)
    import ragdsl.semantics

    def boom(*_a, **_k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(ragdsl.semantics, "check_spec", boom)
    assert exit_code("check", "spec.rag") == 2
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err and "Traceback" not in err


def test_compile_dry_run_prints_plan_and_writes_nothing(run, tmp_path):
    write_project(tmp_path, SPEC)
    result = run("compile", "--dry-run", "spec.rag")
    assert result.exit_code == 0
    assert result.stdout.startswith("Plan for spec.rag (experiment study, seed 7)")
    assert "+ rag.e.base" in result.stdout
    assert not (tmp_path / ".ragdsl").exists()


def test_compile_without_dry_run_saves_the_plan(run, tmp_path):
    write_project(tmp_path, SPEC)
    result = run("compile", "--format", "json", "spec.rag")
    saved = json.loads((tmp_path / ".ragdsl" / "plan.json").read_text())
    assert json.loads(result.stdout) == saved


def test_compile_with_errors_plans_nothing(run, tmp_path):
    write_project(tmp_path, SPEC.replace("qa.test", "qa.tests"))
    result = run("compile", "--dry-run", "spec.rag")
    assert result.exit_code == 1 and result.stdout == ""
    assert "nothing planned" in result.stderr


def test_graph_formats(run, tmp_path):
    write_project(tmp_path, SPEC)
    assert run("graph", "spec.rag").stdout.startswith("digraph ragdsl {")
    assert run("graph", "--format", "mermaid", "spec.rag").stdout.startswith("flowchart LR")


def test_fmt_rewrites_checks_and_diffs(run, tmp_path):
    spec = tmp_path / "messy.rag"
    spec.write_text("model   m=hf( \"x\" )   # keep me\n")
    assert run("fmt", "--check", "messy.rag").exit_code == 1
    diff = run("fmt", "--diff", "messy.rag")
    assert '+model m = hf("x")  # keep me' in diff.stdout
    assert run("fmt", "messy.rag").exit_code == 0
    assert spec.read_text() == 'model m = hf("x")  # keep me\n'
    assert run("fmt", "--check", "messy.rag").exit_code == 0


def test_fmt_refuses_broken_files_without_touching_them(run, tmp_path):
    spec = tmp_path / "broken.rag"
    spec.write_text("corpus c { source = }\n")
    result = run("fmt", "broken.rag")
    assert result.exit_code == 1 and "error[E101]" in result.stderr
    assert spec.read_text() == "corpus c { source = }\n"


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("ragdsl, version ")
