"""What a node runner sees: its node, its upstream results, and the run's services."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragdsl.execute.checkpoint import Checkpoint
from ragdsl.execute.progress import Progress
from ragdsl.ir.nodes import Node


class NodeFailed(Exception):
    """A node could not do its work for a reason the user can fix (bad data, missing weights)."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Result:
    """A finished node as its dependents see it."""

    node: str
    kind: str
    fingerprint: str
    outputs: dict
    folder: Path  # its artifacts (passages.jsonl, answers.jsonl, the saved index, ...)
    metrics: dict | None = None
    data: dict = field(default_factory=dict)  # its input files and identities: path as written -> sha256

    def locate(self, files: Mapping[str, Path], written: str) -> Path:
        """A file this node read, e.g. the folder of a `local()` model, for a downstream node."""
        sha = self.data.get(written)
        if sha is None or sha not in files:
            raise NodeFailed(f"{self.node} did not read a file named '{written}'")
        return files[sha]


@dataclass
class Output:
    """What a runner returns: small JSON outputs, and metrics for the run record."""

    outputs: dict = field(default_factory=dict)
    metrics: dict | None = None


class Resources:
    """Heavy objects shared by the nodes of one run (loaded models), built once per key.

    At most `capacity` are kept; the least recently used is dropped first, so a
    sweep over many generators does not hold them all in memory.
    """

    def __init__(self, capacity: int = 2):
        self.capacity = capacity
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one thread builds; the others wait and reuse it
            with self._lock:
                if key in self._items:
                    return self._items[key]
            value = build()
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
            return value


@dataclass
class NodeContext:
    node: Node
    workdir: Path  # write artifacts here; renamed into the store when the node succeeds
    seed: int
    results: Mapping[str, Result]  # upstream results by node id
    files: Mapping[str, Path]  # input files by content hash
    resources: Resources
    progress: Progress
    checkpoint: Checkpoint | None = None  # where finished batches are kept across runs (ragdsl.execute.checkpoint)

    def locate(self, written: str) -> Path:
        """The absolute path of an input file named in this node's params."""
        sha = dict(self.node.data).get(written)
        if sha is None or sha not in self.files:
            raise NodeFailed(f"input file '{written}' is not part of this node's fingerprint")
        return self.files[sha]

    def upstream(self, ref: dict | str) -> Result:
        node_id = ref["node"] if isinstance(ref, dict) else ref
        return self.results[node_id]

    def input(self, role: str) -> Result:
        for item in self.node.inputs:
            if item.role == role:
                return self.results[item.node]
        raise KeyError(f"{self.node.id} has no input '{role}'")

    def started(self, total: int | None = None, unit: str = "") -> None:
        self.progress.started(self.node.id, total=total, unit=unit)

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.node.id, n)

    def resumed(self, n: int) -> None:
        """Count `n` units finished by an earlier run (read from the checkpoint, not computed now)."""
        if n:
            self.progress.resumed(self.node.id, n)

    def note(self, text: str) -> None:
        self.progress.note(self.node.id, text)
