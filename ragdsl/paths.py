"""Where ragdsl keeps things outside a project: the shared download/conversion cache.

The user-level cache holds what any project can reuse (assembled model
weights, converted GGUF folders, fetched datasets). Project results live in
the project's store (`.ragdsl/`, see ragdsl.execute.store).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE_ENV = "RAGDSL_CACHE"


def cache_dir() -> Path:
    """$RAGDSL_CACHE, else $XDG_CACHE_HOME/ragdsl, else ~/.cache/ragdsl."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ragdsl"


@contextmanager
def atomic_dir(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place on success.

    A killed process leaves only a `.tmp-*` sibling behind, never a half-built
    `target`. If `target` exists already, another process finished the same
    target first and its copy wins, unless `replace` (the caller holds the
    target's lock and knows the old folder is damaged): then the old folder is
    moved aside and deleted after the new one is in place.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name lets a later run tell a dead process's leftovers from work in progress.
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-{os.getpid()}-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes 0700; cached folders are shared like any other
    try:
        yield tmp
        old = None
        if replace and target.exists():
            old = target.with_name(f".tmp-{target.name}-{os.getpid()}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # someone else finished first
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_temporaries(root: Path) -> int:
    """Delete temporaries below `root` left by processes that no longer exist (kill -9): `.tmp-*`
    folders (atomic_dir) and `.<name>.<pid>.*.tmp` files (atomic_write; files written before the pid
    was in the name are removed when an hour old, far longer than any write takes)."""
    import time

    removed = 0
    if not root.is_dir():
        return 0
    for tmp in root.glob("**/.tmp-*"):
        parts = tmp.name.split("-")
        pid = next((int(p) for p in reversed(parts[:-1]) if p.isdigit()), None)
        if tmp.is_dir() and pid is not None and not _alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
    for tmp in root.glob("**/.*.tmp"):
        if not tmp.is_file():
            continue
        parts = tmp.name.split(".")
        pid = int(parts[-3]) if len(parts) >= 5 and parts[-3].isdigit() else None
        try:
            stale = not _alive(pid) if pid is not None else time.time() - tmp.stat().st_mtime > 3600
        except OSError:
            continue
        if stale:
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
