"""The docs keep up with the code.

- docs/language.md's generated section is exactly `language_reference()`, so a
  schema change fails here until `python -m ragdsl.reference --write` is run.
- Every declaration kind and constructor appears in docs/language.md, and every
  diagnostic code that ragdsl/ can emit has an entry in docs/errors.md.
- Every console example in docs/errors.md, docs/plan-format.md and
  docs/language.md still prints exactly what the page shows (and an errors.md
  example still reports its entry's code). `pytest tests/test_reference.py
  --update-goldens` pastes the current output into the pages instead; review
  the diff.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import isolate_weights, portable

from ragdsl import reference
from ragdsl.semantics import schema
from ragdsl.semantics.check import PARAM_ANNOTATIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = REPO_ROOT / "docs"
LANGUAGE = DOCS / "language.md"
ERRORS = DOCS / "errors.md"
CODE_PATTERN = re.compile(r"""["']([EW]\d{3})["']""")

# The files every errors.md example may read (see the page's introduction).
EXAMPLE_FILES = {
    "data/passages.jsonl": '{"id": "p1", "text": "Aspirin inhibits COX-1."}\n',
    "data/qa.jsonl": '{"id": "q1", "question": "What does aspirin inhibit?", "answer": "COX-1"}\n',
    "prompts/answer.jinja": "{{ question }}\n",
}


# ------------------------------------------------------------- the reference

def test_generated_section_matches_the_schema():
    section = reference.generated_section(LANGUAGE.read_text(encoding="utf-8"))
    assert section == reference.language_reference(), (
        "docs/language.md is stale: run `python -m ragdsl.reference --write` and commit the result")


def test_reference_is_deterministic():
    assert reference.language_reference() == reference.language_reference()


def test_check_mode_passes_on_the_committed_docs():
    assert reference.main(["--check", "--doc", str(LANGUAGE)]) == 0


def test_write_replaces_only_the_generated_section(tmp_path):
    doc = tmp_path / "language.md"
    doc.write_text(f"# Intro\n\nhand-written\n\n{reference.BEGIN}\nold\n{reference.END}\n\ntail\n")
    assert reference.main(["--check", "--doc", str(doc)]) == 1
    assert reference.main(["--write", "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Intro\n\nhand-written\n\n" + reference.BEGIN + "\n")
    assert text.endswith(reference.END + "\n\ntail\n")
    assert reference.generated_section(text) == reference.language_reference()
    assert reference.main(["--check", "--doc", str(doc)]) == 0


def test_missing_markers_are_an_error(tmp_path, capsys):
    doc = tmp_path / "language.md"
    doc.write_text("# no markers\n")
    assert reference.main(["--check", "--doc", str(doc)]) == 1
    assert "markers" in capsys.readouterr().err


def test_every_declaration_and_constructor_is_documented():
    text = LANGUAGE.read_text(encoding="utf-8")
    for decl in schema.DECLARATIONS:
        assert f"#### {decl.kind}\n" in text, decl.kind
        for param in decl.params:
            assert f"| `{param.name}` |" in text, f"{decl.kind}.{param.name}"
    for ctor in schema.CONSTRUCTORS:
        assert f"##### `{ctor.name}(" in text, ctor.name
    for metric in (*schema.METRICS, *(f"{m}@k" for m in schema.RETRIEVAL_AT_K)):
        assert f"| `{metric}` |" in text, metric
    for annotation in PARAM_ANNOTATIONS:
        assert f"| `{annotation}` |" in text, annotation


# ----------------------------------------------------------------- the codes

def emitted_codes() -> set[str]:
    """Every diagnostic code written as a string literal in ragdsl/."""
    codes: set[str] = set()
    for path in (REPO_ROOT / "ragdsl").rglob("*.py"):
        codes |= set(CODE_PATTERN.findall(path.read_text(encoding="utf-8")))
    return codes


def test_the_scan_finds_codes():
    assert {"E101", "E201", "E303", "W101"} <= emitted_codes()


def test_every_code_has_an_entry_in_errors_md():
    text = ERRORS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^### ([EW]\d{3}): ", text, re.MULTILINE))
    missing = sorted(emitted_codes() - documented)
    assert not missing, f"docs/errors.md has no entry for {', '.join(missing)}"
    for code in emitted_codes():
        assert f"[{code}](#" in text, f"{code} is missing from the table of codes in docs/errors.md"


# --------------------------------------------------------- the docs' examples

_BLOCK = re.compile(r"```(rag|console)\n(.*?)```", re.DOTALL)
EXAMPLE_DOCS = ("errors.md", "plan-format.md", "language.md")


def _examples(text: str) -> list[tuple[str | None, dict[str, str], re.Match[str]]]:
    """(errors.md entry code or None, files, console block) for each console block.

    A console block runs with the rag blocks written since the previous
    console block (or, when none were, the same files as that block). A rag
    block is the file its first-line comment names (`# shared.rag`), else
    spec.rag.
    """
    out: list[tuple[str | None, dict[str, str], re.Match[str]]] = []
    files: dict[str, str] = {}
    after_console = False
    for match in _BLOCK.finditer(text):
        lang, body = match.groups()
        if lang == "rag":
            if after_console:
                files, after_console = {}, False
            named = re.match(r"# (\S+\.rag)\n", body)
            files[named.group(1) if named else "spec.rag"] = body
            continue
        headings = re.findall(r"^### ([EW]\d{3}): ", text[: match.start()], re.MULTILINE)
        out.append((headings[-1] if headings else None, dict(files), match))
        after_console = True
    return out


def _run_cli(args: list[str]) -> str:
    from click.testing import CliRunner

    from ragdsl.cli import cli

    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    result = runner.invoke(cli, args, catch_exceptions=False)
    return result.stderr + result.stdout  # as a terminal shows them: diagnostics come first


def _console(commands: list[str], folder: Path) -> str:
    lines = []
    for command in commands:
        lines.append(f"$ {command}")
        if command.startswith("ragdsl "):
            output = _run_cli(shlex.split(command)[1:]).rstrip()
            if output:
                lines.append(output)
        else:  # preparing files, e.g. `printf '...' > spec.rag`
            if os.name == "nt":
                pytest.skip("the docs' examples use a POSIX shell")
            shell = re.sub(r"^python ", shlex.quote(sys.executable) + " ", command)
            subprocess.run(shell, shell=True, cwd=folder, check=True)
    return "```console\n" + "\n".join(lines) + "\n```"


@pytest.mark.parametrize("name", EXAMPLE_DOCS)
def test_docs_examples_print_what_the_page_shows(name, tmp_path, monkeypatch, request):
    update = bool(request.config.getoption("--update-goldens", default=False))
    for variable in ("RAGDSL_STORE", "RAGDSL_DEBUG"):
        monkeypatch.delenv(variable, raising=False)
    isolate_weights(monkeypatch, tmp_path)
    doc = DOCS / name
    text = doc.read_text(encoding="utf-8")
    examples = _examples(text)
    assert examples, f"docs/{name} has no console examples"
    if name == "errors.md":
        assert len(examples) >= len(emitted_codes())
    pieces, last, stale = [], 0, []
    for i, (code, files, match) in enumerate(examples):
        folder = tmp_path / f"example{i}"
        for rel, content in {**EXAMPLE_FILES, **files}.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(content, encoding="utf-8")
        monkeypatch.chdir(folder)
        commands = [line[2:] for line in match.group(2).splitlines() if line.startswith("$ ")]
        actual = portable(_console(commands, folder))
        if code is not None:
            assert f"[{code}]" in actual, f"the {code} example in docs/{name} no longer reports {code}:\n{actual}"
        if actual != match.group(0):
            line = text.count("\n", 0, match.start()) + 1
            stale.append(f"docs/{name}:{line}{f' ({code})' if code else ''}:\n{actual}")
        pieces += [text[last:match.start()], actual]
        last = match.end()
    if update:
        doc.write_text("".join(pieces) + text[last:], encoding="utf-8")
        return
    assert not stale, (f"docs/{name} shows outdated output (`pytest tests/test_reference.py --update-goldens` "
                       "pastes the current output; review the diff):\n\n" + "\n\n".join(stale))
