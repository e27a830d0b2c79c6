"""Training checkpoints: the state of an unfinished `train`, so that a re-run continues where it stopped.

A checkpoint is taken at an optimizer-step boundary (no gradient accumulated) every `every` steps,
at each epoch's end and after the last step. It holds everything the rest of training depends on:
the trainable parameters, the optimizer, LR scheduler and gradient scaler states, the torch RNG
states (dropout), the position (epoch, next batch), the loss-log rows so far, the held-out loss
before training and, for DPO, the reference log-probabilities. Restoring it and training on gives
the same weights, bit for bit where the computation is deterministic (CPU fp32), as never stopping.

Folder layout (`<node checkpoint>/train/`):
  state-<step>.pt   the state (torch.save), written to a temp file and renamed into place
  manifest.json     {"format", "identity", "step", "steps", "file"}: written last, names the state file

A kill at any moment of a save leaves a manifest that names a whole state file: the previous one or
the new one. Older state files are removed only after the new manifest is in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ragdsl.hashing import digest

CHECKPOINT_EVERY = 10  # optimizer steps between checkpoints
MAX_OVERHEAD = 0.1  # saves may take about this share of training time (a full fine-tune's state is large)
FORMAT = 1
MANIFEST = "manifest.json"


def training_identity(settings: Any, rows: Sequence[Any], steps: int, trainable: Sequence[tuple[str, Any]],
                      dpo_beta: float | None) -> dict:
    """What a checkpoint must match to be resumed: the settings, the data and the trainable tensors.

    The node's fingerprint already guarantees this; the check guards against a folder reused by hand.
    """
    return {"settings": digest(settings.__dict__), "rows": len(rows), "rows_sha256": _rows_digest(rows),
            "steps": steps, "dpo_beta": dpo_beta,
            "trainable": digest([[name, list(p.shape)] for name, p in trainable])}


def _rows_digest(rows: Sequence[Any]) -> str:
    h = hashlib.sha256()
    for row in rows:
        for seq in (row.chosen, row.rejected) if hasattr(row, "chosen") else (row,):
            h.update(array("q", seq.input_ids).tobytes() + b"|" + array("q", seq.labels).tobytes() + b";")
    return h.hexdigest()


class TrainCheckpoint:
    """Saves and loads the training state in `folder`; `on_save(step, steps)` and `on_resume(step, steps)`
    tell the caller (the runner's progress display)."""

    def __init__(self, folder: Path, *, every: int = CHECKPOINT_EVERY, max_overhead: float | None = MAX_OVERHEAD,
                 on_save: Callable[[int, int], None] | None = None,
                 on_resume: Callable[[int, int], None] | None = None):
        self.folder = Path(folder)
        self.every = max(1, every)
        self.max_overhead = max_overhead
        self.on_save = on_save
        self.on_resume = on_resume
        self._cost = 0.0  # seconds the last save took
        self._last = 0.0  # when it ended

    def due(self, step: int, steps: int, epoch_end: bool) -> bool:
        """Whether to save after `step`. When saves would cost more than `max_overhead` of the training
        time, the periodic ones wait (which checkpoints exist never changes the result, only how much
        a re-run repeats)."""
        if step >= steps:
            return True
        if step % self.every and not epoch_end:
            return False
        if self.max_overhead is None or not self._cost:
            return True
        return time.perf_counter() - self._last >= self._cost / self.max_overhead

    def load(self, identity: dict) -> dict | None:
        """The saved state when there is one for this training (same identity), else None."""
        import torch

        manifest = _read_manifest(self.folder / MANIFEST)
        if manifest is None or manifest["identity"] != _jsonable(identity):
            return None
        try:
            state = torch.load(self.folder / manifest["file"], map_location="cpu", weights_only=True)
        except Exception:  # a missing or damaged file, whatever torch raises for it: start over
            return None
        if not isinstance(state, dict) or state.get("step") != manifest["step"]:
            return None
        return state

    def save(self, state: dict, identity: dict) -> None:
        import torch

        began = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"state-{state['step']:06d}.pt"
        _write_atomic(self.folder / name, lambda f: torch.save(state, f))
        manifest = {"format": FORMAT, "identity": identity, "step": state["step"], "steps": state["steps"],
                    "file": name}
        text = json.dumps(manifest, sort_keys=True) + "\n"
        _write_atomic(self.folder / MANIFEST, lambda f: f.write(text.encode("utf-8")))
        self._prune(keep=name)
        self._last = time.perf_counter()
        self._cost = self._last - began
        if self.on_save is not None:
            self.on_save(state["step"], state["steps"])

    def resumed(self, step: int, steps: int) -> None:
        if self.on_resume is not None:
            self.on_resume(step, steps)

    def _prune(self, keep: str) -> None:
        """Older states, and temp files of a save that a kill cut short."""
        for path in [*self.folder.glob("state-*.pt"), *self.folder.glob(".*.tmp")]:
            if path.name != keep:
                path.unlink(missing_ok=True)


def _read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    if not all(k in manifest for k in ("identity", "step", "steps", "file")):
        return None
    if not isinstance(manifest["file"], str) or "/" in manifest["file"]:
        return None
    return manifest


def _jsonable(value: dict) -> Any:
    """`value` as it reads back from the manifest (tuples become lists), so the two compare."""
    return json.loads(json.dumps(value, sort_keys=True))


def _write_atomic(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write a temp file in the same folder, fsync it, rename it over `path`: readers see the old
    file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (not needed against a kill, only against a power cut)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def rng_state() -> dict:
    """The torch RNG states that training draws from (dropout); the loop uses no other generator
    (batches are shuffled by their own `random.Random(seed:epoch)`)."""
    import torch

    return {"cpu": torch.get_rng_state(),
            "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else []}


def restore_rng(state: dict) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
