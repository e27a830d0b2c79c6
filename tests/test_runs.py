"""The run store (runs.sqlite): recording, reading back, dead runs, concurrent writers, redaction; `ragdsl runs`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ragdsl.execute.runs import (
    SCHEMA_VERSION,
    AmbiguousRun,
    RunNotFound,
    RunStore,
    RunStoreError,
    new_run_id,
    plain_json,
    redact_argv,
    redact_text,
)
from ragdsl.execute.runs_cli import metrics_text, runs

NODES = [("corpus.docs", "corpus", "a" * 64, "cached"), ("index.idx", "index", "b" * 64, "run"),
         ("evaluate.compare", "evaluate", "c" * 64, "run"), ("report.summary", "report", "d" * 64, "run")]


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / ".ragdsl") as s:
        yield s


def start(store: RunStore, spec: str = "experiments/baseline.rag", **overrides) -> str:
    args = {"spec": spec, "spec_hash": "f" * 64, "experiment": "study", "seed": 7,
            "argv": ["ragdsl", "run", spec], "nodes": NODES} | overrides
    return store.start(**args)


def raw(store: RunStore, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(sql, params).fetchall()
    conn.close()
    return rows


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- recording and reading back ---------------------------------------------------------------------------


def test_a_run_is_recorded_with_its_nodes(store):
    run_id = start(store)
    store.node_started(run_id, "index.idx")
    store.node_finished(run_id, "index.idx", status="done", seconds=3.25, metrics={"passages": 400},
                        artifacts=["index/b.faiss", Path("index/b.json")])
    store.node_started(run_id, "evaluate.compare")
    store.node_finished(run_id, "evaluate.compare", status="failed", seconds=0.5, error="KeyError: 'f1'")
    store.finish(run_id, "failed")

    detail = store.get(run_id)
    run = detail.run
    assert (run.id, run.spec, run.experiment, run.seed, run.status) == (
        run_id, "experiments/baseline.rag", "study", 7, "failed")
    assert (run.nodes, run.done, run.cached, run.failed) == (4, 1, 1, 1)
    assert run.pid == os.getpid() and run.host and run.duration is not None and run.duration >= 0
    by_id = {n.node_id: n for n in detail.nodes}
    assert [n.node_id for n in detail.nodes] == [n[0] for n in NODES]  # plan order
    assert by_id["corpus.docs"].status == "cached"  # planned as cached: nothing to do
    assert by_id["index.idx"].metrics == {"passages": 400}
    assert by_id["index.idx"].artifacts == ("index/b.faiss", "index/b.json")
    assert by_id["index.idx"].seconds == 3.25 and by_id["index.idx"].started_at is not None
    assert by_id["evaluate.compare"].error == "KeyError: 'f1'"
    assert by_id["report.summary"].status == "skipped"  # still pending when the run ended


def test_a_node_still_running_when_the_run_ends_is_interrupted(store):
    run_id = start(store)
    store.node_started(run_id, "index.idx")
    store.finish(run_id, "interrupted")
    statuses = {n.node_id: n.status for n in store.get(run_id).nodes}
    assert statuses == {"corpus.docs": "cached", "index.idx": "interrupted", "evaluate.compare": "skipped",
                        "report.summary": "skipped"}


def test_list_is_newest_first_and_limited(tmp_path):
    clock = iter(float(t) for t in range(1_700_000_000, 1_700_000_100))
    with RunStore(tmp_path, clock=lambda: next(clock)) as store:
        ids = [start(store, spec=f"s{i}.rag") for i in range(5)]
        store.finish(ids[0], "ok")
        listed = store.list(limit=3)
    assert [s.id for s in listed] == ids[::-1][:3]
    assert [s.spec for s in listed] == ["s4.rag", "s3.rag", "s2.rag"]
    assert all(s.status == "running" for s in listed)  # this process is alive


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path):
    store = RunStore(tmp_path / "nothing")
    assert store.list() == []
    with pytest.raises(RunNotFound, match="no runs are recorded there yet"):
        store.get("r2026")
    assert not (tmp_path / "nothing").exists()


def test_get_by_prefix_latest_and_errors(store):
    first, second = start(store), start(store)
    assert store.get(first).run.id == first
    assert store.get("latest").run.id == second
    unique = next(n for n in range(1, len(first) + 1) if first[:n] != second[:n])
    assert store.get(first[:unique]).run.id == first
    with pytest.raises(AmbiguousRun, match="is ambiguous") as ambiguous:
        store.get("r")
    assert set(ambiguous.value.matches) == {first, second}
    with pytest.raises(RunNotFound) as missing:
        store.get("r1999")
    assert set(missing.value.recent) == {first, second} and second in str(missing.value)
    with pytest.raises(RunNotFound):
        store.get("")


def test_run_ids_sort_by_time_and_are_unique(store):
    assert new_run_id(0.0).startswith("r19700101-000000-")
    assert new_run_id(1_800_000_000.0) > new_run_id(1_700_000_000.0)
    ids = {start(store) for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == len("r20261121-183012-3f9a") for i in ids)


def test_store_is_sqlite_in_wal_mode_with_a_schema_version(store):
    start(store)
    assert raw(store, "PRAGMA journal_mode") == [("wal",)]
    assert raw(store, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused(tmp_path):
    with RunStore(tmp_path) as store:
        start(store)
    with sqlite3.connect(tmp_path / "runs.sqlite") as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.close()
    with RunStore(tmp_path) as store, pytest.raises(RunStoreError, match="newer than this ragdsl"):
        store.list()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    (tmp_path / "runs.sqlite").write_text("not sqlite at all, just text " * 100)
    with RunStore(tmp_path) as store, pytest.raises(RunStoreError, match="runs.sqlite"):
        store.list()


def test_programming_errors_are_refused(store):
    run_id = start(store)
    with pytest.raises(ValueError, match="not one of"):
        store.node_finished(run_id, "index.idx", status="great", seconds=1.0)
    with pytest.raises(ValueError, match="has no node 'nope'"):
        store.node_started(run_id, "nope")
    with pytest.raises(ValueError, match="not one of"):
        store.finish(run_id, "fine")
    with pytest.raises(ValueError, match="no run"):
        store.finish("r-unknown", "ok")
    with pytest.raises(ValueError, match="unique"):
        start(store, nodes=[NODES[0], NODES[0]])
    with pytest.raises(ValueError, match="op 'later'"):
        start(store, nodes=[("a.b", "corpus", "0" * 64, "later")])


def test_metrics_are_stored_as_strict_json(store):
    class Scalar:  # numpy and torch scalars have .item()
        def item(self):
            return 0.25

    run_id = start(store)
    store.node_finished(run_id, "index.idx", status="done", seconds=1.0,
                        metrics={"loss": float("nan"), "best": float("inf"), "f1": Scalar(), "n": 3,
                                 "per": {"base": [1, 2.5]}, "path": Path("a/b")})
    metrics = store.get(run_id).nodes[1].metrics
    assert metrics == {"loss": "nan", "best": "inf", "f1": 0.25, "n": 3, "per": {"base": [1, 2.5]}, "path": "a/b"}
    stored = raw(store, "SELECT metrics FROM nodes WHERE node_id = 'index.idx'")[0][0]
    json.loads(stored, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert plain_json((True, None)) == [True, None]


# -- runs whose process died ------------------------------------------------------------------------------


def test_a_running_row_whose_process_is_gone_reads_as_interrupted(store):
    run_id = start(store)
    store.node_started(run_id, "index.idx")
    raw_sql(store, "UPDATE runs SET pid = ?, pid_token = NULL WHERE id = ?", dead_pid(), run_id)

    assert store.list()[0].status == "interrupted"
    detail = store.get(run_id)
    assert detail.run.status == "interrupted" and detail.run.finished_at is None
    assert {n.node_id: n.status for n in detail.nodes}["index.idx"] == "interrupted"
    assert {n.node_id: n.status for n in detail.nodes}["report.summary"] == "skipped"
    assert raw(store, "SELECT status FROM runs WHERE id = ?", run_id) == [("running",)]  # reading writes nothing

    start(store)  # the next run on this host writes it down
    assert raw(store, "SELECT status FROM runs WHERE id = ?", run_id) == [("interrupted",)]
    assert raw(store, "SELECT status FROM nodes WHERE run_id = ? AND node_id = 'index.idx'", run_id) == [
        ("interrupted",)]


def test_a_live_process_and_other_hosts_are_left_alone(store):
    mine, elsewhere = start(store), start(store)
    raw_sql(store, "UPDATE runs SET host = 'another-host', pid = ? WHERE id = ?", dead_pid(), elsewhere)
    start(store)
    assert store.get(mine).run.status == "running"
    assert store.get(elsewhere).run.status == "running"  # cannot tell from here


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from /proc")
def test_a_reused_pid_is_not_taken_for_the_run(store):
    run_id = start(store)
    assert raw(store, "SELECT pid_token FROM runs WHERE id = ?", run_id)[0][0]
    raw_sql(store, "UPDATE runs SET pid_token = 'started-at-another-time' WHERE id = ?", run_id)
    assert store.get(run_id).run.status == "interrupted"


def raw_sql(store: RunStore, sql: str, *params) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute(sql, params)
    conn.close()


# -- concurrency ----------------------------------------------------------------------------------------------


def test_threads_share_one_store(store):
    nodes = [(f"n.{i}", "index", f"{i:064x}", "run") for i in range(40)]
    run_id = start(store, nodes=nodes)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for node_id, *_ in nodes[worker::8]:
                store.node_started(run_id, node_id)
                store.node_finished(run_id, node_id, status="done", seconds=0.1, metrics={"w": worker})
            start(store, spec=f"t{worker}.rag")
            store.list(5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.get(run_id).run.done == 40
    assert len(store.list(100)) == 9


WRITER = textwrap.dedent("""\
    import sys
    from ragdsl.execute.runs import RunStore
    store = RunStore(sys.argv[1])
    nodes = [(f"n.{i}", "index", f"{i:064x}", "run") for i in range(60)]
    for r in range(3):
        run_id = store.start(spec=f"p{sys.argv[2]}.rag", spec_hash="0" * 64, experiment="e", seed=1,
                             argv=["ragdsl", "run"], nodes=nodes)
        for node_id, *_ in nodes:
            store.node_started(run_id, node_id)
            store.node_finished(run_id, node_id, status="done", seconds=0.01)
        store.list(3)
        store.finish(run_id, "ok")
""")


def test_processes_writing_at_once_do_not_corrupt_the_store(tmp_path):
    root = tmp_path / ".ragdsl"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(p)], stderr=subprocess.PIPE, text=True)
             for p in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with RunStore(root) as store:
        listed = store.list(100)
        assert len(listed) == 12
        assert all(s.status == "ok" and s.done == 60 for s in listed)
        assert raw(store, "PRAGMA integrity_check") == [("ok",)]


# -- secrets -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "stored"), [
    (["--set", "llm.openai.api_key=sk-123"], ["--set", "llm.openai.api_key=***"]),
    (["--set", "es.main.PASSWORD=hunter2"], ["--set", "es.main.PASSWORD=***"]),
    (["--set=hub.model.hf_token=hf_abc"], ["--set=hub.model.hf_token=***"]),
    (["--set", "x.y.client_secret=s"], ["--set", "x.y.client_secret=***"]),
    (["--set", "x.y.ApiKey=k"], ["--set", "x.y.ApiKey=***"]),
    (["--set", "generate.rag.max_new_tokens=256"], ["--set", "generate.rag.max_new_tokens=256"]),
    (["--set", "model.m.tokenizer=bpe"], ["--set", "model.m.tokenizer=bpe"]),
    (["--set", "finetune.tuned.epochs=3"], ["--set", "finetune.tuned.epochs=3"]),
    (["--set", "index.i.url=https://bob:pw@es.example:9200/x"], ["--set", "index.i.url=https://bob:***@es.example:9200/x"]),
    (["--password=hunter2", "--token", "t"], ["--password=***", "--token", "t"]),
    (["spec.rag", "--store", "s", "--set"], ["spec.rag", "--store", "s", "--set"]),
    (["--set", "--set", "a.b.token=x"], ["--set", "--set", "a.b.token=x"]),
])
def test_redact_argv(argv, stored):
    assert redact_argv(argv) == stored


@pytest.mark.parametrize(("text", "shown"), [
    ("connect http://user:secret@host:9200 failed", "connect http://user:***@host:9200 failed"),
    ("postgres://:only-pass@db/x", "postgres://:***@db/x"),
    ("https://x.test/api?api_key=abc&page=2&token=t", "https://x.test/api?api_key=***&page=2&token=***"),
    ("mailto:someone@example.org and git@github.com:a/b", "mailto:someone@example.org and git@github.com:a/b"),
    ("https://host/path?max_tokens=5", "https://host/path?max_tokens=5"),
])
def test_redact_text(text, shown):
    assert redact_text(text) == shown


def test_secrets_never_reach_the_database(store):
    run_id = start(store, argv=["ragdsl", "run", "s.rag", "--set", "llm.o.api_key=sk-live-42",
                                "--set", "es.e.url=http://elastic:changeme@localhost:9200"])
    store.node_finished(run_id, "index.idx", status="failed", seconds=1.0,
                        error="ConnectionError: http://elastic:changeme@localhost:9200 refused")
    store.close()
    data = (store.path.read_bytes() + b"".join(p.read_bytes() for p in store.root.glob("runs.sqlite-*")))
    assert b"sk-live-42" not in data and b"changeme" not in data
    assert store.get(run_id).run.argv[-1] == "es.e.url=http://elastic:***@localhost:9200"


# -- ragdsl runs ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.delenv("RAGDSL_STORE", raising=False)
    monkeypatch.delenv("RAGDSL_DEBUG", raising=False)
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(runs, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def recorded(tmp_path) -> tuple[Path, str, str]:
    root = tmp_path / ".ragdsl"
    with RunStore(root) as store:
        ok = start(store, spec="experiments/ok.rag")
        for node_id in ("index.idx", "evaluate.compare", "report.summary"):
            store.node_started(ok, node_id)
            store.node_finished(ok, node_id, status="done", seconds=2.0,
                                metrics={"base": {"f1": 0.41234, "recall@3": 0.6}, "tuned": {"f1": 0.5, "n": 4}}
                                if node_id == "evaluate.compare" else None)
        store.finish(ok, "ok")
        bad = start(store, spec="experiments/bad.rag")
        store.node_finished(bad, "index.idx", status="failed", seconds=0.3, artifacts=["logs/a.txt", "logs/b.txt"],
                            error="Traceback (most recent call last):\n  File \"x\"\nValueError: bad corpus")
        store.finish(bad, "failed")
    return root, ok, bad


def test_runs_lists_the_latest_runs(cli, recorded):
    root, ok, bad = recorded
    result = cli("--store", str(root))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "started", "status", "spec", "experiment", "run", "cached", "failed",
                                "duration"]
    assert lines[1].startswith(bad) and " failed " in lines[1] and "experiments/bad.rag" in lines[1]
    assert lines[2].startswith(ok) and lines[2].split()[-5:] == ["study", "3", "1", "0", "0.0s"]
    assert cli("list", "--store", str(root)).stdout == result.stdout
    assert cli("--store", str(root), "list", "--limit", "1").stdout.splitlines()[1:] == [lines[1]]


def test_runs_list_json(cli, recorded):
    root, ok, bad = recorded
    result = cli("list", "--format", "json", "--store", str(root))
    data = json.loads(result.stdout)
    assert [r["id"] for r in data["runs"]] == [bad, ok]
    assert data["runs"][1]["counts"] == {"nodes": 4, "done": 3, "cached": 1, "failed": 0}
    assert data["runs"][1]["started"].endswith("Z")


def test_runs_with_nothing_recorded(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli()
    assert result.exit_code == 0 and result.stdout == ""
    assert "no runs recorded in .ragdsl/runs.sqlite" in result.stderr
    assert not (tmp_path / ".ragdsl").exists()
    assert json.loads(cli("list", "--format", "json").stdout) == {"runs": []}


def test_store_comes_from_the_environment(cli, recorded, monkeypatch):
    root, _, bad = recorded
    monkeypatch.setenv("RAGDSL_STORE", str(root))
    assert cli("show", bad).stdout.startswith(f"run         {bad}  failed")


def test_runs_show_text(cli, recorded):
    root, ok, bad = recorded
    text = cli("--store", str(root), "show", ok).stdout
    assert f"run         {ok}  ok" in text
    assert "spec        experiments/ok.rag (sha256 ffffffffffff)" in text
    assert "experiment  study, seed 7" in text
    assert "command     ragdsl run experiments/ok.rag" in text
    assert "nodes       4: 3 done, 1 cached, 0 failed" in text
    table = text.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["node", "kind", "status", "time", "fingerprint", "metrics", "artifacts", "error"]
    assert table[1].split()[:5] == ["corpus.docs", "corpus", "cached", "-", "aaaaaaaaaaaa"]
    assert "base.f1=0.4123, base.recall@3=0.6, tuned.f1=0.5 (+1)" in table[3]

    failed = cli("show", bad, "--store", str(root)).stdout
    row = next(line for line in failed.splitlines() if line.startswith("index.idx"))
    assert "logs/a.txt (+1)" in row and row.endswith("ValueError: bad corpus")
    assert "Traceback" not in failed


def test_runs_show_json(cli, recorded):
    root, ok, _ = recorded
    data = json.loads(cli("show", ok, "--format", "json", "--store", str(root)).stdout)
    assert data["format"] == "ragdsl.run/1" and data["id"] == ok and data["status"] == "ok"
    assert [n["id"] for n in data["nodes"]] == [n[0] for n in NODES]
    assert data["nodes"][2]["metrics"]["base"]["f1"] == 0.41234


def test_runs_show_unknown_or_ambiguous_id_is_a_user_error(cli, recorded):
    root, ok, bad = recorded
    unknown = cli("show", "r1999", "--store", str(root))
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: no run 'r1999'") and bad in unknown.stderr and ok in unknown.stderr
    assert "Traceback" not in unknown.stderr
    ambiguous = cli("show", "r", "--store", str(root))
    assert ambiguous.exit_code == 1 and "ambiguous" in ambiguous.stderr


def test_an_unreadable_store_is_a_user_error(cli, tmp_path):
    (tmp_path / "runs.sqlite").write_text("garbage " * 1000)
    result = cli("--store", str(tmp_path))
    assert result.exit_code == 1 and result.stderr.startswith("error: run store")


def test_an_internal_error_exits_2_without_a_traceback(cli, tmp_path, monkeypatch):
    def broken(self, limit=20):
        raise RuntimeError("boom")

    monkeypatch.setattr(RunStore, "list", broken)
    result = cli("--store", str(tmp_path))
    assert result.exit_code == 2 and "internal error: RuntimeError: boom" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_options_are_usage_errors(cli, tmp_path):
    # standalone click exits 2 on usage errors; `ragdsl` (ragdsl.cli.main) maps them to 1
    assert cli("list", "--limit", "0", "--store", str(tmp_path)).exit_code == 2
    assert cli("show").exit_code == 2


def test_metrics_text():
    assert metrics_text({}) == "-"
    assert metrics_text({"f1": 1 / 3, "name": "x", "list": [1, 2]}) == 'f1=0.3333, name=x, list=[1, 2]'


# -- ragdsl runs compare ------------------------------------------------------------------------------------

def _evaluated(store: RunStore, metrics: dict | None, fingerprint: str = "c" * 64, spec: str = "experiments/ok.rag"):
    nodes = [(n, k, fingerprint if k == "evaluate" else fp, op) for n, k, fp, op in NODES]
    run_id = start(store, spec=spec, nodes=nodes)
    store.node_finished(run_id, "evaluate.compare", status="done" if metrics else "failed", seconds=1.0,
                        metrics=metrics)
    store.finish(run_id, "ok" if metrics else "failed")
    return run_id


def test_runs_compare_shows_metric_differences_per_system(cli, tmp_path):
    root = tmp_path / ".ragdsl"
    with RunStore(root) as store:
        a = _evaluated(store, {"base": {"f1": 0.4, "accuracy": 0.5, "questions": 20}, "tuned": {"f1": 0.5}})
        b = _evaluated(store, {"base": {"f1": 0.45, "accuracy": 0.5, "questions": 20}, "new": {"f1": 0.7}},
                       fingerprint="e" * 64)
    result = cli("compare", a, b, "--store", str(root))
    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[3:]]
    assert rows[0] == ["evaluation", "system", "metric", "A", "B", "B", "-", "A"]
    assert rows[1:] == [["evaluate.compare", "base", "accuracy", "0.5000", "0.5000", "+0.0000"],
                        ["evaluate.compare", "base", "f1", "0.4000", "0.4500", "+0.0500"],
                        ["evaluate.compare", "new", "f1", "missing", "0.7000", "-"],
                        ["evaluate.compare", "tuned", "f1", "0.5000", "missing", "-"]]
    data = json.loads(cli("compare", a, "latest", "--format", "json", "--store", str(root)).stdout)
    assert data["format"] == "ragdsl.compare/1" and data["b"] == b
    f1 = next(c for c in data["changes"] if c["system"] == "base" and c["metric"] == "f1")
    assert f1["delta"] == pytest.approx(0.05) and f1["same_fingerprint"] is False


def test_runs_compare_notes_cached_results_other_specs_and_failed_nodes(cli, tmp_path):
    root = tmp_path / ".ragdsl"
    with RunStore(root) as store:
        a = _evaluated(store, {"base": {"f1": 0.4}})
        b = _evaluated(store, {"base": {"f1": 0.4}})
        c = _evaluated(store, None, spec="experiments/other.rag")
    same = cli("compare", a, b, "--store", str(root)).stdout
    assert "same fingerprint: same results" in same
    other = cli("compare", a, c, "--store", str(root)).stdout
    assert "note: the runs are of different specs (experiments/ok.rag and experiments/other.rag)" in other
    assert other.splitlines()[-1].split() == ["evaluate.compare", "base", "f1", "0.4000", "missing", "-"]
    unknown = cli("compare", a, "r1999", "--store", str(root))
    assert unknown.exit_code == 1 and unknown.stderr.startswith("error: no run 'r1999'")
