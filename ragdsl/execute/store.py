"""The project-local result store (`.ragdsl/`): what has been computed.

Layout:
  .ragdsl/results/<fp[:2]>/<fp>.json   a finished node's record, keyed by fingerprint
  .ragdsl/artifacts/<fp[:2]>/<fp>/     the files a finished node produced (passages, index, answers)
  .ragdsl/nodes/<node-id-digest>.json  the latest record per node id (explains "why re-run")
  .ragdsl/runs.sqlite                  every run (ragdsl.execute.runs)

A result exists exactly when its record exists: artifacts are renamed into
place first and the record is written last.

Every write goes to a temporary file in the same folder and is renamed into
place, so a killed run never leaves a half-written record behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

DEFAULT_STORE = ".ragdsl"
STORE_ENV = "RAGDSL_STORE"


def atomic_write(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Write a file all or nothing: a crash leaves the old file (or none), never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
        return _read(self._result_path(fingerprint))

    def last_record(self, node_id: str) -> dict | None:
        record = _read(self._node_path(node_id))
        return record if record and record.get("node") == node_id else None

    def point(self, node_id: str, record: dict) -> None:
        """Record that `node_id` has the result computed for another node (identical work)."""
        atomic_write_text(self._node_path(node_id), json.dumps({**record, "node": node_id}, sort_keys=True,
                                                               indent=2))

    def record(self, node_id: str, record: dict) -> None:
        """Save a finished node: its result first, then the per-id pointer."""
        record = {**record, "node": node_id}
        text = json.dumps(record, sort_keys=True, indent=2)
        atomic_write_text(self._result_path(record["fingerprint"]), text)
        atomic_write_text(self._node_path(node_id), text)


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or unreadable records count as not computed
    return data if isinstance(data, dict) else None
