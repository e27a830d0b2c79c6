"""The project-local result store (`.ragdsl/`): what has been computed.

Layout:
  .ragdsl/results/<fp[:2]>/<fp>.json   a finished node's record, keyed by fingerprint
  .ragdsl/artifacts/<fp[:2]>/<fp>/     the files a finished node produced (passages, index, answers)
  .ragdsl/nodes/<node-id-digest>.json  the latest record per node id (explains "why re-run")
  .ragdsl/checkpoints/<fp[:2]>/<fp>/   the finished batches of an unfinished node (ragdsl.execute.checkpoint)
  .ragdsl/locks/<fp>.lock              held while a process computes that fingerprint
  .ragdsl/runs.sqlite                  every run (ragdsl.execute.runs)

A result exists exactly when its record exists and is intact: artifacts are
renamed into place first and the record is written last, listing every
artifact file with its size and sha256. `check` compares the files with that
list, so a truncated, altered or missing artifact (or a malformed record)
makes the node plan as `result corrupt` and run again instead of feeding
damaged data downstream.

Every write goes to a temporary file in the same folder (named with the
writer's pid, so leftovers of dead processes can be told apart and removed)
and is renamed into place, so a killed run never leaves a half-written record.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

DEFAULT_STORE = ".ragdsl"
STORE_ENV = "RAGDSL_STORE"


def atomic_write(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Write a file all or nothing: a crash leaves the old file (or none), never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)  # make the rename itself durable


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text))


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


class Store:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root or os.environ.get(STORE_ENV) or DEFAULT_STORE)

    def _result_path(self, fingerprint: str) -> Path:
        return self.root / "results" / fingerprint[:2] / f"{fingerprint}.json"

    def _node_path(self, node_id: str) -> Path:
        return self.root / "nodes" / f"{hashlib.sha256(node_id.encode()).hexdigest()[:32]}.json"

    def artifact_dir(self, fingerprint: str) -> Path:
        return self.root / "artifacts" / fingerprint[:2] / fingerprint

    def has_result(self, fingerprint: str) -> bool:
        return self._result_path(fingerprint).is_file()

    def check(self, fingerprint: str, *, deep: bool = False) -> str | None:
        """What is wrong with the stored result of `fingerprint` (None: intact, or not stored at all).

        Each artifact's size is compared with its record, and its content hash too when `deep` or
        when its modification time changed (as git trusts an unchanged stat); results recorded before
        artifacts were listed are checked for their folder only.
        """
        path = self._result_path(fingerprint)
        if not path.is_file():
            return None
        record = _read(path)
        problem = record_problem(record, fingerprint)
        if problem:
            return problem
        assert record is not None
        listed = record.get("artifacts")
        folder = self.artifact_dir(fingerprint)
        if listed is None:
            return None if folder.is_dir() else "its artifact folder is missing"
        for name, want in sorted(listed.items()):
            file = folder / name
            try:
                stat = file.stat()
            except OSError:
                return f"{name} is missing"
            if stat.st_size != want["size"]:
                return f"{name} has {stat.st_size} bytes, {want['size']} were written"
            if (deep or stat.st_mtime_ns != want.get("mtime_ns")) and _sha256(file) != want["sha256"]:
                return f"{name} was altered (its content hash differs from the one recorded)"
        return None

    def list_artifacts(self, fingerprint: str) -> None:
        """Add the artifact list to a result recorded before artifacts were hashed (trusting its files
        as they are now): from then on they are checked like any other."""
        record = self.result(fingerprint)
        if record is None or record.get("artifacts") is not None:
            return
        record["artifacts"] = artifact_manifest(self.artifact_dir(fingerprint))
        atomic_write_text(self._result_path(fingerprint), json.dumps(record, sort_keys=True, indent=2))

    def discard(self, fingerprint: str) -> None:
        """Forget a damaged result: its record first (so it no longer counts), then its artifacts."""
        import shutil

        self._result_path(fingerprint).unlink(missing_ok=True)
        shutil.rmtree(self.artifact_dir(fingerprint), ignore_errors=True)

    @contextmanager
    def lock(self, fingerprint: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock of `fingerprint` while computing it: two runs on one store never compute the
        same result at once. The lock is the OS's (flock), so a dead process's lock is released by the
        kernel and the next run takes it over; `on_wait(holder)` is called before blocking."""
        import fcntl

        path = self.root / "locks" / f"{fingerprint}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait(os.pread(fd, 200, 0).decode("utf-8", "replace").strip())
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def result_fingerprints(self) -> set[str]:
        """Every fingerprint with a stored result: one folder listing instead of a stat per node."""
        found: set[str] = set()
        try:
            shards = list(os.scandir(self.root / "results"))
        except OSError:
            return found
        for shard in shards:
            if shard.is_dir():
                found.update(e.name[:-5] for e in os.scandir(shard.path) if e.name.endswith(".json"))
        return found

    def has_records(self) -> bool:
        return (self.root / "nodes").is_dir()

    def result(self, fingerprint: str) -> dict | None:
        record = _read(self._result_path(fingerprint))
        return record if record_problem(record, fingerprint) is None else None

    def last_record(self, node_id: str) -> dict | None:
        record = _read(self._node_path(node_id))
        return record if record and record.get("node") == node_id else None

    def point(self, node_id: str, record: dict) -> None:
        """Record that `node_id` has the result computed for another node (identical work)."""
        atomic_write_text(self._node_path(node_id), json.dumps({**record, "node": node_id}, sort_keys=True,
                                                               indent=2))

    def record(self, node_id: str, record: dict) -> None:
        """Save a finished node: its result first, then the per-id pointer. The record lists the files
        of its artifact folder (already in place) with their sizes and hashes."""
        record = {**record, "node": node_id, "artifacts": artifact_manifest(self.artifact_dir(record["fingerprint"]))}
        text = json.dumps(record, sort_keys=True, indent=2)
        atomic_write_text(self._result_path(record["fingerprint"]), text)
        atomic_write_text(self._node_path(node_id), text)


RECORD_FIELDS = {"fingerprint": str, "kind": str}


def record_problem(record: object, fingerprint: str) -> str | None:
    """Why a result record cannot be used (None when it can)."""
    if not isinstance(record, dict):
        return "its record is unreadable or not a JSON object"
    for key, kind in RECORD_FIELDS.items():
        if not isinstance(record.get(key), kind):
            return f"its record has no valid `{key}`"
    if not isinstance(record.get("outputs", {}), dict):
        return "its record's outputs are not a JSON object"
    if record["fingerprint"] != fingerprint:
        return "its record belongs to another fingerprint"
    listed = record.get("artifacts")
    if listed is not None and not (isinstance(listed, dict) and all(
            isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("sha256"), str)
            for v in listed.values())):
        return "its record's artifact list is malformed"
    return None


def artifact_manifest(folder: Path) -> dict[str, dict]:
    """Every file below `folder` (relative POSIX path) with its size, sha256 and modification time."""
    out: dict[str, dict] = {}
    if not folder.is_dir():
        return out
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = file.stat()
        out[file.relative_to(folder).as_posix()] = {"size": stat.st_size, "sha256": _sha256(file),
                                                    "mtime_ns": stat.st_mtime_ns}
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or unreadable records count as not computed
    return data if isinstance(data, dict) else None
