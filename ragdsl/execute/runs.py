"""Every `ragdsl run`, recorded: the run store at `<store root>/runs.sqlite`.

One row per run (spec, experiment, seed, the redacted command line, which
process ran it and how it ended) and one row per planned node (kind,
fingerprint, planned op, status, time, metrics, artifacts, error). SQLite in
WAL mode with a busy timeout: worker threads of one executor and other
processes (a second run, `ragdsl runs`) share the file without corrupting it.

Node statuses: `pending` -> `running` -> done | cached | failed | skipped.
Nodes planned as cached start as `cached`. When a run finishes, nodes still
pending become `skipped` and nodes still running become `interrupted`.

A run killed without recording its end (kill -9, power loss) keeps `running`
in its row. Readers report it as `interrupted` once its process is gone (same
host, pid dead or reused), and the next `start` on that host writes it down.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ragdsl._version import __version__

RUNS_FILE = "runs.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
RUN_FORMAT = "ragdsl.run/1"  # the JSON form of a run (`ragdsl runs show --format json`)

RUN_STATUSES = ("ok", "failed", "interrupted")  # how a run ends; `running` until then
NODE_OPS = ("run", "cached", "reuse")  # the planner's ops
NODE_RESULTS = ("done", "cached", "failed", "skipped")  # how a node ends

# _MIGRATIONS[i] takes the schema from version i to i + 1.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY, spec TEXT NOT NULL, spec_hash TEXT NOT NULL, experiment TEXT NOT NULL,
            seed INTEGER NOT NULL, argv TEXT NOT NULL, status TEXT NOT NULL,
            started_at REAL NOT NULL, finished_at REAL,
            pid INTEGER NOT NULL, pid_token TEXT, host TEXT NOT NULL, version TEXT NOT NULL)""",
        "CREATE INDEX runs_by_start ON runs (started_at)",
        """CREATE TABLE nodes (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, position INTEGER NOT NULL,
            node_id TEXT NOT NULL, kind TEXT NOT NULL, fingerprint TEXT NOT NULL, op TEXT NOT NULL,
            status TEXT NOT NULL, started_at REAL, seconds REAL, metrics TEXT,
            artifacts TEXT NOT NULL DEFAULT '[]', error TEXT,
            PRIMARY KEY (run_id, node_id))""",
    ),
)

_NEWEST = "ORDER BY started_at DESC, id DESC"


def _summaries_sql(runs: str) -> str:
    """Runs chosen by the subquery `runs` (first, so nodes are counted only for them), newest first."""
    return f"""
        SELECT r.*, COUNT(n.node_id) AS n_nodes, COALESCE(SUM(n.status = 'done'), 0) AS n_done,
               COALESCE(SUM(n.status = 'cached'), 0) AS n_cached, COALESCE(SUM(n.status = 'failed'), 0) AS n_failed
        FROM ({runs}) r LEFT JOIN nodes n ON n.run_id = r.id
        GROUP BY r.id ORDER BY r.started_at DESC, r.id DESC"""


class RunStoreError(Exception):
    """A problem the user can act on: an unreadable store, an unknown or ambiguous run id."""


class RunNotFound(RunStoreError):
    def __init__(self, ref: str, where: Path, recent: Sequence[str]):
        self.ref, self.recent = ref, tuple(recent)
        detail = f"recent runs: {', '.join(recent)}" if recent else "no runs are recorded there yet"
        super().__init__(f"no run '{ref}' in {where.as_posix()}; {detail}")


class AmbiguousRun(RunStoreError):
    def __init__(self, ref: str, matches: Sequence[str], total: int):
        self.ref, self.matches = ref, tuple(matches)
        more = f", ... ({total} in all)" if total > len(matches) else ""
        super().__init__(f"run id '{ref}' is ambiguous: it starts {', '.join(matches)}{more}; "
                         "give more characters")


@dataclass(frozen=True)
class RunSummary:
    id: str
    spec: str
    spec_hash: str
    experiment: str
    seed: int
    argv: tuple[str, ...]  # redacted
    status: str  # running | ok | failed | interrupted (a running row whose process is gone)
    started_at: float  # seconds since the epoch
    finished_at: float | None  # None while running, or when the process died
    pid: int
    host: str
    version: str  # of ragdsl
    nodes: int
    done: int
    cached: int
    failed: int

    @property
    def duration(self) -> float | None:
        return None if self.finished_at is None else max(0.0, self.finished_at - self.started_at)

    def to_json(self) -> dict:
        return {
            "id": self.id, "status": self.status, "spec": self.spec, "spec_hash": self.spec_hash,
            "experiment": self.experiment, "seed": self.seed, "argv": list(self.argv),
            "started": iso_time(self.started_at),
            "finished": None if self.finished_at is None else iso_time(self.finished_at),
            "duration_seconds": None if self.duration is None else round(self.duration, 3), "host": self.host, "pid": self.pid,
            "ragdsl_version": self.version,
            "counts": {"nodes": self.nodes, "done": self.done, "cached": self.cached, "failed": self.failed},
        }


@dataclass(frozen=True)
class NodeRun:
    node_id: str
    kind: str
    fingerprint: str
    op: str  # run | cached | reuse, as planned
    status: str  # pending | running | done | cached | failed | skipped | interrupted
    started_at: float | None
    seconds: float | None
    metrics: dict
    artifacts: tuple[str, ...]
    error: str | None

    def to_json(self) -> dict:
        return {
            "id": self.node_id, "kind": self.kind, "fingerprint": self.fingerprint, "op": self.op,
            "status": self.status, "started": None if self.started_at is None else iso_time(self.started_at),
            "seconds": self.seconds, "metrics": self.metrics, "artifacts": list(self.artifacts),
            "error": self.error,
        }


@dataclass(frozen=True)
class RunDetail:
    run: RunSummary
    nodes: tuple[NodeRun, ...]

    def to_json(self) -> dict:
        return {"format": RUN_FORMAT, **self.run.to_json(), "nodes": [n.to_json() for n in self.nodes]}


class RunStore:
    """The runs recorded under one store root. Safe to share between threads."""

    def __init__(self, root: Path | str, *, clock: Callable[[], float] = time.time):
        self.root = Path(root)
        self.path = self.root / RUNS_FILE
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid = 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- health ------------------------------------------------------------------------------------

    def problem(self) -> str | None:
        """What is wrong with the run database (None when it is sound or does not exist yet).

        SQLite's integrity check finds damaged pages and indexes; every row is then read and its JSON
        columns parsed. SQLite keeps no checksums, so bytes altered inside a text value that still
        reads as text cannot be noticed; nothing depends on them but the history `ragdsl runs` shows.
        """
        if not self.path.exists():
            return None
        try:
            if self.path.stat().st_size == 0:
                return "it is empty (0 bytes): the run history it held is lost"
            with self._lock:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
                try:
                    found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
                    if found != ["ok"]:
                        return f"SQLite's integrity check failed ({'; '.join(found[:3])})"
                    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                    if tables and not {"runs", "nodes", "schema_version"} <= tables:
                        return "it lacks ragdsl's tables"
                    if tables:
                        _read_every_row(conn)
                finally:
                    conn.close()
        except (sqlite3.DatabaseError, ValueError) as exc:  # ValueError: undecodable text or JSON
            return f"SQLite cannot read it ({exc})"
        except OSError as exc:
            return f"it cannot be read ({exc.strerror or exc})"
        return None

    def recover(self) -> str | None:
        """Move a damaged run database aside (with its -wal/-shm files) so a new one is started; returns
        the message to show, or None when it was sound. Results live in the store's files, so none is lost;
        only the history of earlier runs (`ragdsl runs`) starts over.

        Checked and created under a lock: a second run starting at the same moment must not take the
        first one's brand-new (still empty) database for a damaged one."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{RUNS_FILE}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            found = self.problem()
            if found is not None:
                self.close()
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self._clock()))
                aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
                for suffix in ("", "-wal", "-shm"):
                    source = Path(f"{self.path}{suffix}")
                    if source.exists():
                        os.replace(source, Path(f"{aside}{suffix}"))
            with self._lock, self._errors():
                self._connection()  # create and migrate while holding the lock
        if found is None:
            return None
        return (f"the run database {self.path.as_posix()} is damaged: {found}. It was moved to {aside.name} and a "
                "new one started; every cached result is intact (results live in files), only the history "
                "of earlier runs is not carried over")

    # -- writing -----------------------------------------------------------------------------------

    def start(self, *, spec: str, spec_hash: str, experiment: str, seed: int, argv: Sequence[str],
              nodes: Sequence[tuple[str, str, str, str]]) -> str:
        """Record a new run and its planned nodes (node_id, kind, fingerprint, op); returns the run id."""
        ids = [n[0] for n in nodes]
        if len(set(ids)) != len(ids):
            raise ValueError("a run's node ids must be unique")
        for node_id, _, _, op in nodes:
            if op not in NODE_OPS:
                raise ValueError(f"node {node_id!r}: op {op!r} is not one of {', '.join(NODE_OPS)}")
        now = self._clock()
        with self._write() as conn:
            self._mark_dead_runs(conn)
            run_id = _insert_run(conn, now, (spec, spec_hash, experiment, int(seed),
                                             json.dumps(redact_argv(argv)), "running", now, os.getpid(),
                                             _process_token(os.getpid()), socket.gethostname(), __version__))
            conn.executemany(
                "INSERT INTO nodes (run_id, position, node_id, kind, fingerprint, op, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, i, node_id, kind, fp, op, "cached" if op == "cached" else "pending")
                 for i, (node_id, kind, fp, op) in enumerate(nodes)])
        return run_id

    def node_started(self, run_id: str, node_id: str) -> None:
        with self._write() as conn:
            cur = conn.execute("UPDATE nodes SET status = 'running', started_at = ? WHERE run_id = ? AND node_id = ?",
                               (self._clock(), run_id, node_id))
            _require(cur, run_id, node_id)

    def node_finished(self, run_id: str, node_id: str, *, status: str, seconds: float,
                      metrics: dict | None = None, artifacts: Sequence[str] = (), error: str | None = None) -> None:
        if status not in NODE_RESULTS:
            raise ValueError(f"node status {status!r} is not one of {', '.join(NODE_RESULTS)}")
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE nodes SET status = ?, seconds = ?, metrics = ?, artifacts = ?, error = ? "
                "WHERE run_id = ? AND node_id = ?",
                (status, float(seconds), None if metrics is None else json.dumps(plain_json(metrics), sort_keys=True),
                 json.dumps([str(a) for a in artifacts]), None if error is None else redact_text(error),
                 run_id, node_id))
            _require(cur, run_id, node_id)

    def finish(self, run_id: str, status: str) -> None:
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
        with self._write() as conn:
            if not _close_run(conn, run_id, status, self._clock()):
                raise ValueError(f"no run {run_id!r} in {self.path.as_posix()}")

    def _mark_dead_runs(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT id, pid, pid_token FROM runs WHERE status = 'running' AND host = ?",
                            (socket.gethostname(),)).fetchall()
        for row in rows:
            if not _process_alive(row["pid"], row["pid_token"]):
                _close_run(conn, row["id"], "interrupted", None)

    # -- reading -----------------------------------------------------------------------------------

    def get(self, ref: str) -> RunDetail:
        """A run by full id, unique id prefix, or `latest`."""
        ref = ref.strip()
        if not self.path.is_file():
            raise RunNotFound(ref, self.path, ())
        with self._read() as conn:
            if ref == "latest":
                found = conn.execute(_summaries_sql(f"SELECT * FROM runs {_NEWEST} LIMIT 1")).fetchall()
            else:
                found = conn.execute(_summaries_sql("SELECT * FROM runs WHERE id = ?"), (ref,)).fetchall() or \
                    conn.execute(_summaries_sql("SELECT * FROM runs WHERE substr(id, 1, ?) = ? AND ? != ''"),
                                 (len(ref), ref, ref)).fetchall()
            if len(found) > 1:
                raise AmbiguousRun(ref, [r["id"] for r in found[:5]], len(found))
            if not found:
                recent = conn.execute(f"SELECT id FROM runs {_NEWEST} LIMIT 5")
                raise RunNotFound(ref, self.path, [r["id"] for r in recent])
            run = _summary(found[0])
            nodes = conn.execute("SELECT * FROM nodes WHERE run_id = ? ORDER BY position", (run.id,)).fetchall()
        orphaned = run.status == "interrupted" and found[0]["status"] == "running"
        return RunDetail(run, tuple(_node(row, orphaned) for row in nodes))

    def list(self, limit: int = 20) -> list[RunSummary]:
        """The latest runs, newest first (an empty list where nothing was recorded yet)."""
        if not self.path.is_file():
            return []
        with self._read() as conn:
            rows = conn.execute(_summaries_sql(f"SELECT * FROM runs {_NEWEST} LIMIT ?"), (max(0, limit),)).fetchall()
        return [_summary(row) for row in rows]

    # -- the connection ----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no deadlock upgrading a read
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._errors():
            conn = self._connection()
            conn.execute("BEGIN")  # one snapshot for every query of this read
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            remedy = "" if isinstance(exc, sqlite3.OperationalError) else \
                "; `ragdsl store verify --repair` moves it aside and starts a new one (results are kept)"
            raise RunStoreError(f"run store {self.path.as_posix()}: {exc}{remedy}") from exc
        except sqlite3.Error as exc:
            raise RunStoreError(f"run store {self.path.as_posix()}: {exc}") from exc
        except OSError as exc:
            raise RunStoreError(f"run store {self.path.as_posix()}: {exc.strerror or exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._conn_pid == os.getpid():
            return self._conn
        # A connection inherited through fork() must not be used (or closed) in the child.
        self._conn = None
        self.root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, self.path)
        except BaseException:
            conn.close()
            raise
        self._conn, self._conn_pid = conn, os.getpid()
        return conn


def _read_every_row(conn: sqlite3.Connection) -> None:
    """Read every row, decoding text and JSON columns; raises on anything unreadable."""
    conn.text_factory = lambda b: b.decode("utf-8")  # strict: garbled bytes raise instead of passing
    for (argv,) in conn.execute("SELECT argv FROM runs"):
        json.loads(argv)
    for metrics, artifacts in conn.execute("SELECT metrics, artifacts FROM nodes"):
        if metrics is not None:
            json.loads(metrics)
        json.loads(artifacts)
    conn.execute("SELECT * FROM runs").fetchall()
    conn.execute("SELECT * FROM nodes").fetchall()


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    if _schema_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = _schema_version(conn)  # again, under the write lock: another process may have migrated
        if current > SCHEMA_VERSION:
            raise RunStoreError(f"run store {path.as_posix()} has schema version {current}, newer than this "
                                f"ragdsl ({__version__}) reads ({SCHEMA_VERSION}); upgrade ragdsl")
        for statements in _MIGRATIONS[current:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _schema_version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    return int(row[0] or 0)


def _insert_run(conn: sqlite3.Connection, now: float, values: tuple) -> str:
    for _ in range(16):
        run_id = new_run_id(now)
        try:
            conn.execute("INSERT INTO runs (id, spec, spec_hash, experiment, seed, argv, status, started_at, pid, "
                         "pid_token, host, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (run_id, *values))
            return run_id
        except sqlite3.IntegrityError:
            continue  # the same id in the same second: draw another suffix
    raise RunStoreError("could not find a free run id")


def _close_run(conn: sqlite3.Connection, run_id: str, status: str, finished_at: float | None) -> bool:
    cur = conn.execute("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, finished_at, run_id))
    conn.execute("UPDATE nodes SET status = CASE status WHEN 'pending' THEN 'skipped' ELSE 'interrupted' END "
                 "WHERE run_id = ? AND status IN ('pending', 'running')", (run_id,))
    return cur.rowcount > 0


def _require(cur: sqlite3.Cursor, run_id: str, node_id: str) -> None:
    if cur.rowcount == 0:
        raise ValueError(f"run {run_id!r} has no node {node_id!r}")


def _summary(row: sqlite3.Row) -> RunSummary:
    status = row["status"]
    if status == "running" and row["host"] == socket.gethostname() and \
            not _process_alive(row["pid"], row["pid_token"]):
        status = "interrupted"
    return RunSummary(row["id"], row["spec"], row["spec_hash"], row["experiment"], row["seed"],
                      tuple(json.loads(row["argv"])), status, row["started_at"], row["finished_at"], row["pid"],
                      row["host"], row["version"], row["n_nodes"], row["n_done"], row["n_cached"], row["n_failed"])


def _node(row: sqlite3.Row, orphaned: bool) -> NodeRun:
    status = row["status"]
    if orphaned and status in ("pending", "running"):
        status = "skipped" if status == "pending" else "interrupted"
    return NodeRun(row["node_id"], row["kind"], row["fingerprint"], row["op"], status, row["started_at"],
                   row["seconds"], json.loads(row["metrics"]) if row["metrics"] else {},
                   tuple(json.loads(row["artifacts"])), row["error"])


# -- ids, times, processes ----------------------------------------------------------------------------


def new_run_id(now: float | None = None) -> str:
    """`r20261121-183012-3f9a`: UTC start time (sorts by age), then 16 random bits."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"r{stamp}-{secrets.token_hex(2)}"


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _process_token(pid: int) -> str | None:
    """The process's start time (Linux), so a pid reused by a later process is not taken for the run."""
    stat = _proc_stat(pid)
    return None if stat is None else stat[1]


def _proc_stat(pid: int) -> tuple[str, str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces and parentheses
    return (fields[0], fields[19]) if len(fields) > 19 else None  # state, starttime


def _process_alive(pid: int, token: str | None) -> bool:
    stat = _proc_stat(pid)
    if stat is not None:
        state, started = stat
        return state not in ("Z", "X") and (token is None or started == token)
    if os.name == "nt":
        return True  # no safe probe without extra dependencies (signal 0 would kill it): assume running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


# -- what may be stored -----------------------------------------------------------------------------

# Parameter names that hold secrets. `token` counts, `tokens` and `tokenizer` do not (max_new_tokens).
SECRET_NAME = re.compile(r"password|passwd|secret|api[_-]?key|credential|token(?!s|iz)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@")
_QUERY_PARAM = re.compile(r"(?P<head>[?&](?P<name>[^=&#\s]+)=)(?P<value>[^&#\s]*)")
MASK = "***"


def redact_text(text: str) -> str:
    """Mask passwords in URLs (`user:pass@`) and secret-named query parameters."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY_PARAM.sub(lambda m: m["head"] + (MASK if SECRET_NAME.search(m["name"]) else m["value"]), text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """The command line as stored: secret `--set` values, `--secret-name=value` and URL passwords masked."""
    out: list[str] = []
    value_of_set = False
    for arg in argv:
        name, eq, value = arg.partition("=")
        if value_of_set:
            out.append(_redact_assignment(arg))
        elif eq and name == "--set":
            out.append(f"--set={_redact_assignment(value)}")
        elif eq and name.startswith("--") and SECRET_NAME.search(name):
            out.append(f"{name}={MASK}")
        else:
            out.append(redact_text(arg))
        value_of_set = arg == "--set" and not value_of_set
    return out


def _redact_assignment(text: str) -> str:
    key, eq, _ = text.partition("=")
    return f"{key}={MASK}" if eq and SECRET_NAME.search(key) else redact_text(text)


def plain_json(value: object) -> object:
    """`value` as strict JSON data: non-finite floats as 'nan'/'inf', numpy-style scalars unwrapped."""
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return plain_json(item())
        except (TypeError, ValueError):
            pass
    return str(value)
