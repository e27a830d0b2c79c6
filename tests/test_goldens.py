"""Golden files: the exact output of `ragdsl compile --dry-run` and `ragdsl check`.

One case per feature, named by the feature:

- `goldens/plans/<feature>.rag`: a spec that compiles. Expected outputs sit
  beside it: `<feature>.txt` (text plan), `<feature>.json` (JSON plan),
  `<feature>.stderr` (warnings, only when there are any), and for the cases in
  DRAWINGS `<feature>.dot` / `<feature>.mmd`. Shared inputs live in
  `goldens/plans/data/`.
- `goldens/errors/<feature>.rag`: a spec with one kind of mistake (or, for
  `multiple_errors_at_once`, several). `<feature>.txt` is the exact stderr of
  `ragdsl check <feature>.rag`, which must exit 1 (see EXIT_CODES).

A case may start with header comments that the test reads:

    # args: --set finetune.tuned.epochs=3     extra command-line arguments
    # record: --set finetune.tuned.epochs=1   first record the results of this
                                              variant of the spec in the store
    # record-except: report                   ...except nodes of these kinds
    # append: data/file.jsonl                 then append a line to this file

Cases with `record` or `append` run on a copy in a temporary folder, so the
checked-in data never changes.

Regenerate with `pytest tests/test_goldens.py --update-goldens` and review the
diff: a golden is only as good as the reading it got.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import isolate_weights, portable

REPO_ROOT = Path(__file__).resolve().parent.parent
GOLDENS_DIR = REPO_ROOT / "tests" / "goldens"
PLANS_DIR = GOLDENS_DIR / "plans"
ERRORS_DIR = GOLDENS_DIR / "errors"

PLAN_CASES = sorted(PLANS_DIR.glob("*.rag"))
ERROR_CASES = sorted(ERRORS_DIR.glob("*.rag"))

# Plan cases also rendered as drawings: format -> golden suffix.
DRAWINGS = {"evaluate_fan_in": {"dot": ".dot", "mermaid": ".mmd"}}

# `ragdsl check` exits 1 on any error. The exception, by decision: an empty
# file is a valid spec that declares nothing (like an empty Python module), so
# it checks clean and exits 0. Its golden (empty stderr) records that no
# message is printed today; a "declares nothing" warning would be kinder.
EXIT_CODES = {"empty_file": 0}

# Features that must keep a case (the list the suite was written against).
REQUIRED_PLAN_FEATURES = {
    "minimal_corpus_index", "questions_splits", "sweep_inline", "sweep_3x4_grid", "named_sweep_lockstep",
    "pipeline_template_args", "shared_retrieval", "per_system_contexts", "hybrid_rerank",
    "finetune_defaults", "evaluate_fan_in", "report_multiple_evaluations", "import_all",
    "import_selective_alias", "override", "cached_after_record",
}
REQUIRED_ERROR_FEATURES = {
    "syntax_unexpected_token", "syntax_unclosed_brace", "syntax_bad_character", "unknown_declaration_kind",
    "unknown_name_did_you_mean", "duplicate_name", "wrong_reference_kind", "unknown_parameter",
    "missing_parameter", "wrong_type", "out_of_range", "empty_sweep", "unknown_constructor",
    "unknown_enum_value", "unknown_metric", "missing_source_file", "import_not_found", "import_cycle",
    "dependency_cycle", "secret_in_spec", "train_on_test", "judge_missing", "dense_without_embedder",
    "bad_override", "not_utf8", "empty_file", "multiple_errors_at_once",
}


@dataclass
class Header:
    args: list[str] = field(default_factory=list)
    record: list[str] | None = None  # overrides (--set values) of the recorded run
    record_except: set[str] = field(default_factory=set)
    append: list[str] = field(default_factory=list)


def read_header(spec: Path) -> Header:
    header = Header()
    text = spec.read_bytes().decode("utf-8", errors="replace")
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "args":
            header.args = shlex.split(value)
        elif key == "record":
            header.record = _set_values(shlex.split(value))
        elif key == "record-except":
            header.record_except = {k.strip() for k in value.split(",") if k.strip()}
        elif key == "append":
            header.append.append(value)
    return header


def _set_values(args: list[str]) -> list[str]:
    values = []
    for flag, value in zip(args[::2], args[1::2]):
        assert flag == "--set", f"only --set is supported in `# record:`, got {flag}"
        values.append(value)
    return values


def _prepare_store(spec: Path, header: Header, store: Path) -> None:
    """Record the results of an earlier run in the store, then edit the inputs."""
    from ragdsl.compiler import compile_spec
    from ragdsl.execute.store import Store
    from ragdsl.plan.planner import record_for

    if header.record is not None:
        earlier = compile_spec(spec.name, header.record, Store(store))
        assert earlier.ok, [d.message for d in earlier.diagnostics]
        assert earlier.plan is not None
        for action in earlier.plan.actions:
            if action.node.kind not in header.record_except:
                Store(store).record(action.node.id, record_for(action))
    for name in header.append:
        with open(name, "a", encoding="utf-8", newline="\n") as f:
            f.write('{"id": "appended", "title": "Appended", "text": "A line added after the recorded run."}\n')


@pytest.mark.parametrize("spec", PLAN_CASES, ids=lambda p: p.stem)
def test_plan(spec: Path, run_cli, golden, update_goldens: bool, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> None:
    header = read_header(spec)
    isolate_weights(monkeypatch, tmp_path)
    store = tmp_path / "store"  # never the default ./.ragdsl: a stray store would change the plan
    if header.record is not None or header.append:
        workdir = tmp_path / "case"
        shutil.copytree(PLANS_DIR / "data", workdir / "data")
        shutil.copy2(spec, workdir / spec.name)
        monkeypatch.chdir(workdir)
        _prepare_store(spec, header, store)
    else:
        monkeypatch.chdir(PLANS_DIR)

    formats = {"text": ".txt", "json": ".json", **DRAWINGS.get(spec.stem, {})}
    warnings = None
    for fmt, suffix in formats.items():
        result = run_cli("compile", "--dry-run", spec.name, "--format", fmt, "--store", store, *header.args)
        assert result.exit_code == 0, result.stderr
        golden(spec.with_suffix(suffix), portable(result.stdout))
        assert warnings in (None, result.stderr), "diagnostics differ between output formats"
        warnings = result.stderr
    # Warnings get a golden only when there are any.
    stderr_golden = spec.with_suffix(".stderr")
    if warnings:
        golden(stderr_golden, warnings)
    elif update_goldens:
        stderr_golden.unlink(missing_ok=True)
    else:
        assert not stderr_golden.exists(), f"expected these warnings:\n{stderr_golden.read_text()}"
    assert not store.exists() or header.record is not None, "a dry run wrote to the store"


@pytest.mark.parametrize("spec", ERROR_CASES, ids=lambda p: p.stem)
def test_check_errors(spec: Path, run_cli, golden, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ERRORS_DIR)
    header = read_header(spec)
    result = run_cli("check", *header.args, spec.name)
    assert result.exit_code == EXIT_CODES.get(spec.stem, 1), result.stderr
    golden(spec.with_suffix(".txt"), result.stderr)


@pytest.mark.parametrize("spec", [s for s in ERROR_CASES if EXIT_CODES.get(s.stem, 1) == 1],
                         ids=lambda p: p.stem)
def test_compile_refuses_what_check_rejects(spec: Path, run_cli, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`compile` reports the same diagnostics as `check` and plans nothing."""
    monkeypatch.chdir(ERRORS_DIR)
    header = read_header(spec)
    checked = run_cli("check", *header.args, spec.name)
    compiled = run_cli("compile", "--dry-run", *header.args, "--store", tmp_path / "store", spec.name)
    assert compiled.exit_code == 1
    assert compiled.stdout == ""
    diagnostics = checked.stderr.rsplit("\n", 2)[0]  # without check's "file: failed (...)" line
    assert compiled.stderr.startswith(diagnostics)
    assert compiled.stderr.rstrip().endswith("nothing planned")


def test_json_diagnostics_match_text(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check --format json` lists the same diagnostics, in the same order, as the text."""
    import json
    import re

    monkeypatch.chdir(ERRORS_DIR)
    spec = "multiple_errors_at_once.rag"
    text = run_cli("check", spec)
    as_json = run_cli("check", "--format", "json", spec)
    assert as_json.exit_code == 1
    diagnostics = json.loads(as_json.stdout)
    headlines = re.findall(r"^(error|warning)\[(E\d+|W\d+)\]: (.*)$", text.stderr, re.MULTILINE)
    assert [(d["severity"], d["code"], d["message"]) for d in diagnostics] == headlines
    assert all(d["span"]["file"] == spec for d in diagnostics)


def test_every_feature_has_a_case() -> None:
    assert {p.stem for p in PLAN_CASES} >= REQUIRED_PLAN_FEATURES
    assert {p.stem for p in ERROR_CASES} >= REQUIRED_ERROR_FEATURES
    assert len([p for p in PLAN_CASES if p.stem.startswith("test")]) == 0, "name cases by feature"


def test_no_orphan_goldens() -> None:
    """Every expected-output file belongs to a case (catches leftovers of renamed cases)."""
    for folder, suffixes in ((PLANS_DIR, {".txt", ".json", ".stderr", ".dot", ".mmd"}), (ERRORS_DIR, {".txt"})):
        cases = {p.stem for p in folder.glob("*.rag")}
        for path in folder.iterdir():
            if path.is_file() and path.suffix in suffixes:
                assert path.stem in cases, f"{path.relative_to(REPO_ROOT)} has no {path.stem}.rag"
        for case in cases:
            assert (folder / f"{case}.txt").is_file(), f"{folder.name}/{case}.rag has no golden .txt"


# -------------------------------------------------------------- regressions
# Behaviours that were once broken (found while writing the goldens).

def test_syntax_errors_show_the_source_line(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ERRORS_DIR)
    result = run_cli("check", "syntax_unexpected_token.rag")
    assert "5 | }" in result.stderr
    assert "^ expected" in result.stderr


def test_unexpected_character_is_the_one_at_the_location(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ERRORS_DIR)
    result = run_cli("check", "syntax_bad_character.rag")
    assert "unexpected character '''" in result.stderr  # the quote at 3:18, not 'i'
    assert 'strings use double quotes' in result.stderr


def _retrieve_nodes(run_cli, spec: str, store: Path) -> list[dict]:
    import json

    result = run_cli("compile", "--dry-run", spec, "--format", "json", "--store", store)
    assert result.exit_code == 0, result.stderr
    return [n for n in json.loads(result.stdout)["nodes"] if n["kind"] == "retrieve"]


def test_shared_retrieval_does_not_depend_on_system_order(run_cli, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(PLANS_DIR / "data", tmp_path / "data")
    text = (PLANS_DIR / "pipeline_template_args.rag").read_text(encoding="utf-8")
    swapped = text.replace("    defaults: rag(base),\n    positional: rag(base, 3),\n",
                           "    positional: rag(base, 3),\n    defaults: rag(base),\n")
    assert swapped != text
    (tmp_path / "swapped.rag").write_text(swapped, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    nodes = _retrieve_nodes(run_cli, "swapped.rag", tmp_path / "store")
    assert len(nodes) == len({n["fingerprint"] for n in nodes}) == 2


def test_identical_retrieval_in_two_pipelines_is_shared(run_cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PLANS_DIR)
    nodes = _retrieve_nodes(run_cli, "shared_retrieval.rag", tmp_path / "store")
    assert len(nodes) == 1


def test_sweep_variants_are_listed_in_numeric_order(run_cli, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.chdir(PLANS_DIR)
    result = run_cli("compile", "--dry-run", "sweep_3x4_grid.rag", "--format", "json", "--store", tmp_path / "s")
    finetunes = [n["params"] for n in json.loads(result.stdout)["nodes"] if n["kind"] == "finetune"]
    order = [(p["lr"], p["samples"]) for p in finetunes]
    assert order == sorted(order)
