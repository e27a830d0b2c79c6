"""Engines run independent node tasks; the scheduler decides what is ready.

The interface is one method wide on purpose: a distributed engine (Ray, Dask,
a batch queue) implements `submit` returning a `concurrent.futures.Future`
and `shutdown`, and the scheduler, cache and run store work unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")


class Engine(Protocol):
    jobs: int

    def submit(self, task: Callable[[], T]) -> Future[T]: ...

    def shutdown(self, *, cancel: bool) -> None: ...


class LocalEngine:
    """A bounded pool of worker threads in this process.

    Threads, not processes: model runs release the GIL inside torch, and
    nodes that use the same model share one loaded copy (ragdsl.execute.context.Resources).
    """

    def __init__(self, jobs: int | None = None):
        self.jobs = max(1, jobs or default_jobs())
        self._pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="ragdsl-node")

    def submit(self, task: Callable[[], T]) -> Future[T]:
        return self._pool.submit(task)

    def shutdown(self, *, cancel: bool) -> None:
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


def default_jobs() -> int:
    return min(4, os.cpu_count() or 1)


ENGINES: dict[str, Callable[[int | None], Engine]] = {"local": LocalEngine}
