"""Pausing Python's cyclic garbage collector around allocation-heavy steps."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Parsing and expanding allocate many small objects that all stay alive and form no
    cycles; letting the cyclic GC rescan them as they pile up costs a quarter (expansion)
    to over half (a large parse) of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
