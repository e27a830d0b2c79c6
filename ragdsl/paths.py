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
def atomic_dir(target: Path) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place on success.

    A killed process leaves only a `.tmp-*` sibling behind, never a half-built
    `target`; if another process finished the same target first, its copy wins.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # someone else finished first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
