"""A shared spec reads only inside its project (ragdsl.access), unless the person running it allows more.

Each finding of issue 17 about reading is a test here: data sources, imports and
hub ids naming files elsewhere, links out of the project, files echoed in
diagnostics, and the allowances (--allow-read, $RAGDSL_ALLOW_READ, --root, the
experiment's `root`, a folder given to `check`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ragdsl.access import ALLOW_ENV, ReadAccess, ReadGrants, files_below, project_root_problem
from ragdsl.semantics import check_spec

PASSAGE = '{"id": "p1", "text": "Paris is the capital of France."}\n'


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/outside/secret.txt beside tmp/proj/ (the project: spec.rag, data/)."""
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    (tmp_path / "outside" / "lib.rag").write_text("corpus leaked { source = text(\"secret.txt\") }\n")
    (tmp_path / "proj" / "data").mkdir(parents=True)
    (tmp_path / "proj" / "data" / "passages.jsonl").write_text(PASSAGE)
    monkeypatch.chdir(tmp_path / "proj")
    return tmp_path


def _spec(world: Path, text: str, name: str = "spec.rag") -> Path:
    path = world / "proj" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _codes(checked) -> list[str]:
    return [d.code for d in checked.diagnostics if d.is_error]


@pytest.mark.parametrize("written", ["/etc/shadow", "/etc/hostname", "../../../../etc/hostname",
                                     "../outside/secret.txt", "../outside/does-not-exist.txt", "/proc/self/environ"])
def test_a_data_source_outside_the_project_is_refused_before_it_is_read(world, run_cli, written) -> None:
    _spec(world, f'corpus docs {{ source = text("{written}") }}\n')
    for command in (("check",), ("compile", "--dry-run"), ("run",)):
        result = run_cli(*command, "spec.rag")
        assert result.exit_code == 1, result.stderr
        assert "error[E605]" in result.stderr
        # located: file:line:col, the source line and a caret under the path
        assert "--> spec.rag:1:" in result.stderr and "^^^" in result.stderr
        assert "TOP-SECRET" not in result.stderr + result.stdout
    assert not (world / "proj" / ".ragdsl").exists() or "TOP-SECRET" not in _store_text(world / "proj" / ".ragdsl")


def _store_text(store: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in store.rglob("*") if p.is_file())


def test_whether_an_outside_file_exists_is_not_revealed(world) -> None:
    messages = []
    for written in ("../outside/secret.txt", "../outside/nothing.txt"):
        checked = check_spec(_spec(world, f'corpus docs {{ source = text("{written}") }}\n'))
        [diagnostic] = checked.diagnostics
        messages.append((diagnostic.code, diagnostic.label, diagnostic.help))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("written", ["../../../../etc/passwd", "/proc/self/environ", "../outside/lib.rag"])
def test_an_import_outside_the_project_is_refused_and_never_echoed(world, run_cli, monkeypatch, written) -> None:
    monkeypatch.setenv("RAGDSL_TEST_SECRET", "ENV-SECRET-VALUE")
    _spec(world, f'import "{written}"\n')
    result = run_cli("check", "spec.rag")
    assert result.exit_code == 1
    assert "error[E605]: import" in result.stderr
    assert "E101" not in result.stderr  # the file was never parsed, so none of its lines are shown
    for leaked in ("root:", "ENV-SECRET-VALUE", "TOP-SECRET", "leaked"):
        assert leaked not in result.stderr


def test_only_rag_files_can_be_imported(world, run_cli) -> None:
    (world / "proj" / "notes.txt").write_text("password = hunter2\n")
    _spec(world, 'import "notes.txt"\nimport "data/passages.jsonl"\n')
    result = run_cli("check", "spec.rag")
    assert result.exit_code == 1
    assert result.stderr.count("error[E606]") == 2
    assert "hunter2" not in result.stderr and "Paris" not in result.stderr


def test_importing_a_file_that_declares_nothing_says_so(world) -> None:
    (world / "proj" / "empty.rag").write_text("# nothing yet\n")
    checked = check_spec(_spec(world, 'from "empty.rag" import wiki\n'))
    [diagnostic] = checked.diagnostics
    assert diagnostic.code == "E604"
    assert diagnostic.help == "it declares nothing that can be imported"


def test_a_link_out_of_the_project_is_refused(world) -> None:
    data = world / "proj" / "data"
    (data / "leak.txt").symlink_to(world / "outside" / "secret.txt")
    for written in ("data/leak.txt", "data", "data/*.txt", "data/**/*"):
        checked = check_spec(_spec(world, f'corpus docs {{ source = text("{written}") }}\n'))
        assert _codes(checked) == ["E605"], written
        [diagnostic] = checked.diagnostics
        if written != "data/leak.txt":  # a folder or pattern that holds the link: the note names it
            assert diagnostic.message == f"path '{written}' leads outside the project"
            assert diagnostic.notes == ("'data/leak.txt' is a link to a place outside the project",)


def test_a_linked_folder_out_of_the_project_is_refused(world) -> None:
    (world / "proj" / "data" / "more").symlink_to(world / "outside", target_is_directory=True)
    checked = check_spec(_spec(world, 'corpus docs { source = text("data") }\n'))
    assert _codes(checked) == ["E605"]


def test_links_inside_the_project_are_fine(world) -> None:
    data = world / "proj" / "data"
    (data / "docs").mkdir()
    (data / "docs" / "a.txt").write_text("Paris is the capital of France.\n")
    (data / "alias").symlink_to(data / "docs", target_is_directory=True)
    (data / "docs" / "loop").symlink_to(data, target_is_directory=True)  # a cycle: walked once
    checked = check_spec(_spec(world, 'corpus docs { source = text("data/alias") }\n'))
    assert checked.ok, checked.diagnostics


@pytest.mark.parametrize("source", ['hf_dataset(dataset = "/etc")', 'hf_dataset(dataset = "../outside")'])
def test_a_dataset_id_naming_a_local_folder_outside_is_refused(world, source) -> None:
    checked = check_spec(_spec(world, f"questions qa {{ source = {source} }}\n"))
    assert _codes(checked) == ["E605"]


def test_a_hub_model_id_naming_a_local_folder_outside_is_refused(world) -> None:
    checked = check_spec(_spec(world, 'model m = hf(id = "../outside")\n'))
    assert _codes(checked) == ["E605"]


def test_an_override_cannot_point_outside_either(world, run_cli) -> None:
    _spec(world, 'corpus docs { source = jsonl("data/passages.jsonl") }\n')
    result = run_cli("check", "spec.rag", "--set", 'corpus.docs.source=text("/etc/hostname")')
    assert result.exit_code == 1 and "E605" in result.stderr


def test_a_ca_bundle_outside_the_project_is_refused(world) -> None:
    spec = ('corpus docs { source = jsonl("data/passages.jsonl") }\n'
            'index idx { corpus = docs; store = elasticsearch(url = "http://localhost:9200", '
            'ca_certs = "/etc/ssl/certs/ca-certificates.crt") }\n')
    checked = check_spec(_spec(world, spec))
    assert "E605" in _codes(checked)


# ------------------------------------------------------------------ allowances


def test_allow_read_on_the_command_line(world, run_cli) -> None:
    _spec(world, 'corpus docs { source = text("../outside/secret.txt") }\n')
    assert run_cli("check", "spec.rag").exit_code == 1
    for allowed in ("../outside", "../outside/secret.txt"):
        result = run_cli("check", "--allow-read", allowed, "spec.rag")
        assert result.exit_code == 0, result.stderr
    assert run_cli("check", "--allow-read", "data", "spec.rag").exit_code == 1  # another folder allows nothing


def test_allow_read_from_the_environment(world, run_cli, monkeypatch) -> None:
    _spec(world, 'corpus docs { source = text("../outside/secret.txt") }\n')
    result = run_cli("check", "spec.rag")
    assert result.exit_code == 1
    monkeypatch.setenv(ALLOW_ENV, os.pathsep.join(["/nonexistent", str(world / "outside")]))
    checked = check_spec(world / "proj" / "spec.rag")
    assert checked.ok, checked.diagnostics


def test_ragdsls_own_cache_is_always_readable(world, monkeypatch) -> None:
    cache = world / "cache" / "datasets"
    cache.mkdir(parents=True)
    (cache / "p.jsonl").write_text(PASSAGE)
    checked = check_spec(_spec(world, f'corpus docs {{ source = jsonl("{cache / "p.jsonl"}") }}\n'))
    assert checked.ok, checked.diagnostics


def test_root_widens_the_project(world, run_cli) -> None:
    spec = _spec(world, 'corpus docs { source = jsonl("../data/passages.jsonl") }\n', "exp/spec.rag")
    assert run_cli("check", spec).exit_code == 1
    result = run_cli("check", "--root", ".", spec)
    assert result.exit_code == 0, result.stderr


def test_a_folder_given_to_check_is_the_project_of_every_spec_in_it(world, run_cli) -> None:
    _spec(world, 'corpus docs { source = jsonl("../data/passages.jsonl") }\n', "exp/spec.rag")
    _spec(world, 'corpus docs { source = jsonl("data/passages.jsonl") }\n', "top.rag")
    result = run_cli("check", ".")
    assert result.exit_code == 0, result.stderr
    assert run_cli("check", "exp").exit_code == 1  # that folder does not hold ../data


def test_an_experiment_may_name_its_project_folder(world) -> None:
    (world / "proj" / "pyproject.toml").write_text("[project]\nname = 'study'\n")
    spec = _spec(world, 'experiment study { root = ".." }\n'
                        'import "../shared/lib.rag"\n'
                        'corpus docs { source = jsonl("../data/passages.jsonl") }\n', "exp/spec.rag")
    _spec(world, 'corpus other { source = jsonl("../data/passages.jsonl") }\n', "shared/lib.rag")
    checked = check_spec(spec)
    assert not _codes(checked), checked.diagnostics


@pytest.mark.parametrize("root,problem", [
    ("..", "it holds no project marker (.git, pyproject.toml)"),  # proj/ has no marker in this test
    ("../..", "it holds no project marker (.git, pyproject.toml)"),
    ("sub", "it is not a folder that holds the spec"),
    ("missing", "no such folder"),
])
def test_an_experiment_root_must_be_a_project_above_the_spec(world, root, problem) -> None:
    (world / "proj" / "exp" / "sub").mkdir(parents=True)
    checked = check_spec(_spec(world, f'experiment study {{ root = "{root}" }}\n', "exp/spec.rag"))
    [diagnostic] = checked.diagnostics
    assert (diagnostic.code, diagnostic.label) == ("E607", problem)
    assert diagnostic.span is not None and diagnostic.span.line == 1


def test_home_and_filesystem_root_are_never_a_project(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / "specs").mkdir(parents=True)
    (home / ".git").mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert project_root_problem(home, home / "specs") == "the filesystem root and the home folder are never a project"
    assert project_root_problem(Path("/"), home / "specs") == (
        "the filesystem root and the home folder are never a project")


def test_command_line_root_beats_the_experiment_root(world) -> None:
    (world / "proj" / "pyproject.toml").write_text("")
    spec = _spec(world, 'experiment study { root = ".." }\n'
                        'corpus docs { source = jsonl("../data/passages.jsonl") }\n', "exp/spec.rag")
    checked = check_spec(spec, grants=ReadGrants(root=world / "proj" / "exp"))
    assert _codes(checked) == ["E605"]


# ------------------------------------------------------------------ the pieces


def test_access_compares_real_paths(tmp_path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p2").mkdir()
    access = ReadAccess.build(tmp_path / "p")
    assert access.permits(tmp_path / "p" / "x" / ".." / "y")
    assert not access.permits(tmp_path / "p" / ".." / "p2" / "y")
    assert not access.permits(tmp_path / "p2")  # a sibling whose name starts with the project's
    assert access.refused([tmp_path / "p" / "a", tmp_path / "p2" / "b"]) == tmp_path / "p2" / "b"


def test_files_below_lists_links_and_walks_each_folder_once(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a", target_is_directory=True)
    found = sorted(p.relative_to(tmp_path).as_posix() for p in files_below(tmp_path / "a"))
    assert found == ["a", "a/f.txt"]  # the linked folder is the same real folder: walked once
    assert list(files_below(tmp_path / "a" / "f.txt")) == [tmp_path / "a" / "f.txt"]
