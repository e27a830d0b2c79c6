"""In-node checkpoints: the finished part of an unfinished node, kept so a re-run resumes it.

Layout: `.ragdsl/checkpoints/<fp[:2]>/<fp>/`
  meta.json        node id, fingerprint and format (written when the checkpoint is opened)
  progress.json    {"done", "total", "unit"}: what the plan shows as `resume (312/500 questions done)`
  <name>.jsonl     journals: one line per finished batch, `{"key": ..., "items": [...]}`
  anything else    a runner's own state files (e.g. a training checkpoint), written atomically

A checkpoint belongs to one fingerprint: a changed node has another fingerprint and so never
reads it, and `discard_stale` removes the old node's folder when the new one starts. The folder
is deleted once the node's result is recorded.

Journal lines are appended with one write and an fsync; a line cut short by a kill (the only
damage an append can suffer) is dropped on reading and truncated away before the next append.
Batches are keyed by their content (`batch_key`), so a batch is reused only for exactly the
same inputs: the resumed node computes the remaining batches with the same boundaries and
seeds as an uninterrupted run would.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ragdsl.execute.store import atomic_write_text
from ragdsl.hashing import digest

CHECKPOINT_FORMAT = 1


def checkpoint_dir(store_root: Path, fingerprint: str) -> Path:
    return store_root / "checkpoints" / fingerprint[:2] / fingerprint


def batch_key(*parts: object) -> str:
    """A journal key for a batch: the digest of everything its result depends on that varies by batch."""
    return digest(list(parts))[:32]


class Journal:
    """Finished batches of one kind of work, by key: read once, then appended to."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._items: dict[str, list] = {}
        self._good = 0  # bytes of whole lines; anything after is a torn tail
        self._load()

    def _load(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError:
            return
        offset = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # torn by a kill mid-append
            try:
                row = json.loads(line)
                key, items = row["key"], row["items"]
            except (ValueError, KeyError, TypeError):
                break  # garbled: keep what came before, recompute the rest
            if not isinstance(key, str) or not isinstance(items, list):
                break
            self._items[key] = items
            offset += len(line)
        self._good = offset

    def get(self, key: str) -> list | None:
        with self._lock:
            return self._items.get(key)

    def __len__(self) -> int:
        return len(self._items)

    def append(self, key: str, items: Sequence[Any]) -> None:
        line = (json.dumps({"key": key, "items": list(items)}, ensure_ascii=False, sort_keys=True) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as f:
                if f.tell() != self._good:
                    f.truncate(self._good)
                    f.seek(self._good)
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            self._good += len(line)
            self._items[key] = list(items)


class Checkpoint:
    """The checkpoint folder of one running node."""

    def __init__(self, store_root: Path, node_id: str, fingerprint: str):
        self.folder = checkpoint_dir(store_root, fingerprint)
        self.node_id = node_id
        self.fingerprint = fingerprint
        self._journals: dict[str, Journal] = {}
        self._lock = threading.Lock()
        self._progress: dict[str, Any] = {}

    def open(self) -> Checkpoint:
        """Create the folder (keeping what an earlier run left) and record whose it is."""
        meta = self.folder / "meta.json"
        if read_meta(self.folder) is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(meta, json.dumps({"node": self.node_id, "fingerprint": self.fingerprint,
                                                "format": CHECKPOINT_FORMAT}, sort_keys=True) + "\n")
        return self

    def journal(self, name: str) -> Journal:
        with self._lock:
            if name not in self._journals:
                self._journals[name] = Journal(self.folder / f"{name}.jsonl")
            return self._journals[name]

    def cached_batches(self, name: str, compute: Callable[[list], list], key: Callable[[list], str]
                       ) -> Callable[[list], list]:
        """`compute(batch) -> results`, answered from the journal when the same batch was finished before."""
        journal = self.journal(name)

        def run(batch: list) -> list:
            k = key(batch)
            found = journal.get(k)
            if found is not None and len(found) == len(batch):
                return found
            results = list(compute(batch))
            journal.append(k, results)
            return results
        return run

    def set_progress(self, done: int, total: int, unit: str) -> None:
        """What the plan shows for this node if the run stops now (written at most once per call)."""
        state = {"done": int(done), "total": int(total), "unit": unit}
        if state != self._progress:
            self._progress = state
            atomic_write_text(self.folder / "progress.json", json.dumps(state, sort_keys=True) + "\n")

    def write_state(self, name: str, text: str) -> None:
        atomic_write_text(self.folder / name, text)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        return None
    return meta


def read_progress(store_root: Path, fingerprint: str) -> dict | None:
    """{"done", "total", "unit"} of an unfinished node's checkpoint, or None when there is none."""
    folder = checkpoint_dir(store_root, fingerprint)
    if read_meta(folder) is None:
        return None
    try:
        state = json.loads((folder / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not all(isinstance(state.get(k), int) for k in ("done", "total")):
        return None
    return state if state["done"] > 0 else None


def discard_stale(store_root: Path, node_id: str, fingerprint: str) -> int:
    """Remove checkpoints of `node_id` made under other fingerprints (the node changed since)."""
    removed = 0
    base = store_root / "checkpoints"
    if not base.is_dir():
        return 0
    for folder in base.glob("*/*"):
        if folder.name == fingerprint:
            continue
        meta = read_meta(folder)
        if meta is not None and meta.get("node") == node_id:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
