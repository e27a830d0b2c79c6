"""A store you can trust: damaged results, records, run databases and leftovers, each found and put right.

Every scenario starts from a copy of the end-to-end project of test_run_e2e (run once per
module), damages one thing the way a crash, a full disk or a careless hand would, and checks
what the plan says, that `ragdsl run` recomputes exactly the damaged results (upstream first)
without a traceback, and what `ragdsl store verify` reports and repairs.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("haystack")

from test_run_e2e import (  # noqa: E402
    NODES,
    SPEC,
    Ran,
    artifacts,
    jsonl,
    offline,  # noqa: F401 - the module's environment
    plan,
    ragdsl_cli,
    result_record,
    run_ok,
    store,
    weights,  # noqa: F401 - a fixture
    write_project,
)

import ragdsl  # noqa: E402


@pytest.fixture(scope="module")
def ran(tmp_path_factory, weights) -> Ran:  # noqa: F811
    root = write_project(tmp_path_factory.mktemp("ran"), weights)
    before = plan(root)
    return Ran(root, ragdsl_cli(root, "run", "spec.rag", "--progress", "plain"), before)


@pytest.fixture
def project(ran, tmp_path) -> Path:
    assert ran.result.exit_code == 0, ran.result.stderr
    return Path(shutil.copytree(ran.root, tmp_path / "project"))


@pytest.fixture
def executed(monkeypatch) -> list[str]:
    from ragdsl.execute.runners import RUNNERS

    calls: list[str] = []
    for kind, runner in list(RUNNERS.items()):
        monkeypatch.setitem(RUNNERS, kind, lambda ctx, runner=runner: calls.append(ctx.node.id) or runner(ctx))
    return calls


def planned_runs(root: Path) -> dict[str, tuple[str, str]]:
    return {k: (v["reason"], v["detail"]) for k, v in plan(root).items() if v["action"] == "run"}


def verify(root: Path, *args: str):
    return ragdsl_cli(root, "store", "verify", *args)


# ----------------------------------------------------------------- damaged artifacts


@pytest.mark.parametrize(("node", "file", "damage"), [
    ("rag.compare.chat", "answers.jsonl", "truncate"),
    ("report.summary", "report.md", "overwrite"),  # same size, other bytes
    ("evaluate.compare", "scores.jsonl", "delete"),
    ("evaluate.compare", "summary.json", "delete"),
    ("corpus.docs", "passages.jsonl", "garble"),  # not UTF-8 any more
])
def test_a_damaged_artifact_is_noticed_and_its_node_recomputed(ran, project, executed, node, file, damage):
    path = artifacts(project, ran.fp(node)) / file
    original = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(original[: len(original) // 2])
    elif damage == "overwrite":
        path.write_bytes(bytes(b if i % 7 else ord("x") for i, b in enumerate(original)))
    elif damage == "delete":
        path.unlink()
    else:
        path.write_bytes(b"\xff\xfe" + original[2:])
    planned = planned_runs(project)
    assert planned[node][0] == "result corrupt"
    assert file in planned[node][1]
    assert set(planned) == {node}, "only the damaged node runs; its dependents' results are intact"
    found = verify(project)
    assert found.exit_code == 1 and "1 damaged" in found.stdout and file in found.stdout

    result = run_ok(project)
    assert executed == [node]
    assert path.read_bytes() == original, "recomputed to the same bytes"
    assert f"[cached] {NODES[-1]}" in result.stderr or node == NODES[-1]
    assert verify(project).exit_code == 0
    assert planned_runs(project) == {}


def result_stat(ran: Ran, root: Path, node: str, file: str) -> int:
    """The modification time recorded for an artifact (to forge an unchanged stat)."""
    return result_record(root, ran.fp(node))["artifacts"][file]["mtime_ns"]


def test_an_altered_artifact_with_forged_stat_is_caught_by_the_run_and_verify(ran, project, executed):
    """Same size, same modification time: the planner's stat shortcut trusts it; `run` hashes."""
    path = artifacts(project, ran.fp("rag.compare.plain")) / "answers.jsonl"
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"prediction": "', b'"prediction": "!', 1)[: len(original)])
    os.utime(path, ns=(path.stat().st_atime_ns, result_stat(ran, project, "rag.compare.plain", "answers.jsonl")))
    assert planned_runs(project) == {}, "the dry-run trusts an unchanged stat"
    assert verify(project).exit_code == 1
    run_ok(project)
    assert executed == ["rag.compare.plain"]
    assert path.read_bytes() == original


def test_a_damaged_upstream_is_recomputed_before_a_node_that_reads_it(ran, project, executed):
    """Before: the evaluation re-ran over truncated answers and crashed with a JSONDecodeError, every time."""
    answers = artifacts(project, ran.fp("rag.compare.chat")) / "answers.jsonl"
    answers.write_bytes(answers.read_bytes()[:-20])
    override = ("--set", "evaluate.compare.metrics=[f1]")
    planned = {k: v["reason"] for k, v in plan(project, *override).items() if v["action"] == "run"}
    assert planned == {"rag.compare.chat": "result corrupt", "evaluate.compare": "params changed",
                       "report.summary": "upstream changed"}
    run_ok(project, *override)
    assert executed.index("rag.compare.chat") < executed.index("evaluate.compare")


def test_a_corrupt_folder_without_a_record_is_replaced_by_the_fresh_output(ran, project, executed):
    """Before: the fresh output was thrown away because the folder existed, and the corrupt file recorded."""
    fp = ran.fp("rag.compare.chat")
    answers = artifacts(project, fp) / "answers.jsonl"
    original = answers.read_bytes()
    answers.write_text("garbage\n")
    (store(project) / "results" / fp[:2] / f"{fp}.json").unlink()
    assert planned_runs(project)["rag.compare.chat"][0] == "result missing"
    run_ok(project)
    assert executed == ["rag.compare.chat"]
    assert answers.read_bytes() == original
    assert result_record(project, fp)["artifacts"]["answers.jsonl"]["size"] == len(original)


def test_a_report_over_a_deleted_scores_file_is_never_empty(ran, project, executed):
    fp = ran.fp("evaluate.compare")
    (artifacts(project, fp) / "summary.json").unlink()
    (artifacts(project, fp) / "scores.jsonl").unlink()
    override = ("--set", 'report.summary.title="Again"')
    run_ok(project, *override)
    assert executed == ["evaluate.compare", "report.summary"]
    report = plan(project, *override)["report.summary"]["fingerprint"]
    text = (artifacts(project, report) / "report.md").read_text()
    assert "| exact_match |" in text or "exact_match" in text.split("## Spec")[0]


# ----------------------------------------------------------------- malformed records


@pytest.mark.parametrize("content", ["{}", "[]", '{"fingerprint": "', "null", '{"fingerprint": 3, "kind": "x"}'])
def test_a_malformed_result_record_is_not_a_cached_result(ran, project, executed, content):
    fp = ran.fp("retrieve.compare.rag")
    (store(project) / "results" / fp[:2] / f"{fp}.json").write_text(content)
    planned = planned_runs(project)
    assert planned["retrieve.compare.rag"][0] == "result corrupt"
    assert "record" in planned["retrieve.compare.rag"][1]
    run_ok(project)
    assert executed == ["retrieve.compare.rag"]
    assert result_record(project, fp)["fingerprint"] == fp


@pytest.mark.parametrize("content", ["{}", "[]", '{"node": '])
def test_a_malformed_node_record_only_loses_the_why(ran, project, content):
    for path in (store(project) / "nodes").glob("*.json"):
        path.write_text(content)
    assert planned_runs(project) == {}, "results are keyed by fingerprint: all still cached"
    found = verify(project, "--repair")
    assert found.exit_code == 0 and "repaired: node record" in found.stdout
    assert not list((store(project) / "nodes").glob("*.json"))


# ----------------------------------------------------------------- the run database


def _garble_rows(path: Path) -> None:
    """Overwrite 64 bytes of the first page that holds run rows (found by their spec path)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"spec.rag")
    data[at - 32:at + 32] = os.urandom(64)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "zero", "garble"])
def test_a_damaged_run_database_is_moved_aside_and_the_run_goes_on(ran, project, executed, damage):
    db = store(project) / "runs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "garbage":
        db.write_bytes(b"not a database at all" * 100)
    elif damage == "zero":
        db.write_bytes(b"")
    else:
        _garble_rows(db)
    listed = ragdsl_cli(project, "runs", "list")
    if damage != "zero":
        assert listed.exit_code == 1 and "Traceback" not in listed.stderr
        assert "store verify --repair" in listed.stderr
    result = run_ok(project)
    assert executed == [], "every result is intact: nothing recomputed"
    assert "warning: the run database" in result.stderr and "damaged" in result.stderr
    assert list(store(project).glob("runs.sqlite.damaged-*"))
    listed = ragdsl_cli(project, "runs", "list", "--format", "json")
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)["runs"]) == 1


def test_verify_repair_moves_a_damaged_run_database_aside(project):
    with sqlite3.connect(store(project) / "runs.sqlite") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (store(project) / "runs.sqlite").write_bytes(b"\0" * 4096)
    assert verify(project).exit_code == 1
    repaired = verify(project, "--repair")
    assert repaired.exit_code == 0 and "repaired: run database" in repaired.stdout
    assert verify(project).exit_code == 0


# ----------------------------------------------------------------- leftovers


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_dead_processes_are_removed_by_the_next_run(project):
    dead = _dead_pid()
    results = next((store(project) / "results").iterdir())
    leftovers = [results / f".abc.json.{dead}.k2j3h4g5.tmp", store(project) / "nodes" / f".x.json.{dead}.q1w2e3r4.tmp"]
    old = store(project) / "nodes" / ".y.json.a8s7d6f5.tmp"  # the naming before pids: removed when an hour old
    live = store(project) / "nodes" / f".z.json.{os.getpid()}.z9x8c7v6.tmp"
    for path in [*leftovers, old, live]:
        path.write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    run_ok(project)
    assert not any(p.exists() for p in [*leftovers, old])
    assert live.exists(), "a living process's temporary is left alone"


def test_verify_reports_and_repairs_orphan_folders_and_leftover_checkpoints(ran, project):
    orphan = store(project) / "artifacts" / "ab" / ("ab" + "0" * 62)
    orphan.mkdir(parents=True)
    (orphan / "answers.jsonl").write_text("{}\n")
    leftover = store(project) / "checkpoints" / ran.fp("rag.compare.chat")[:2] / ran.fp("rag.compare.chat")
    leftover.mkdir(parents=True)
    (leftover / "meta.json").write_text(json.dumps({"node": "rag.compare.chat", "fingerprint": ran.fp(
        "rag.compare.chat"), "format": 1}))
    found = verify(project, "--format", "json")
    assert found.exit_code == 1
    kinds = {f["what"] for f in json.loads(found.stdout)["findings"]}
    assert kinds == {"orphan artifacts", "checkpoint"}
    assert verify(project, "--repair").exit_code == 0
    assert not orphan.exists() and not leftover.exists()
    assert verify(project).exit_code == 0
    assert planned_runs(project) == {}


# ----------------------------------------------------------------- two runs at once


def test_two_runs_on_one_store_compute_each_node_once(weights, tmp_path):  # noqa: F811
    spec = SPEC.replace("max_new_tokens = 4", "max_new_tokens = 24")
    root = write_project(tmp_path / "project", weights, spec)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(ragdsl.__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command = [sys.executable, "-m", "ragdsl.cli", "run", "spec.rag", "--progress", "plain"]
    procs = [subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    listed = json.loads(ragdsl_cli(root, "runs", "list", "--format", "json").stdout)["runs"]
    assert len(listed) == 2
    done: dict[str, int] = {}
    for run in listed:
        detail = json.loads(ragdsl_cli(root, "runs", "show", run["id"], "--format", "json").stdout)
        for node in detail["nodes"]:
            done[node["id"]] = done.get(node["id"], 0) + (node["status"] == "done")
    assert done == {n: 1 for n in NODES}, "each node computed by exactly one of the two runs"
    assert len(jsonl(artifacts(root, plan(root)["rag.compare.chat"]["fingerprint"]) / "answers.jsonl")) == 6


def test_results_recorded_before_hashing_are_listed_by_repair_then_checked(ran, project):
    fp = ran.fp("rag.compare.chat")
    path = store(project) / "results" / fp[:2] / f"{fp}.json"
    record = json.loads(path.read_text())
    del record["artifacts"]
    path.write_text(json.dumps(record))
    assert planned_runs(project) == {}, "an old record still counts while its folder exists"
    found = verify(project)
    assert found.exit_code == 0 and "1 results were recorded before artifacts were hashed" in found.stdout
    assert "now listed" in verify(project, "--repair").stdout
    assert "answers.jsonl" in json.loads(path.read_text())["artifacts"]
    (artifacts(project, fp) / "answers.jsonl").write_text("")
    assert planned_runs(project)["rag.compare.chat"][0] == "result corrupt"
