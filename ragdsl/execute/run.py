"""`ragdsl run`: a compiled plan, executed and recorded."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace

from ragdsl.compiler import Compilation
from ragdsl.execute.engine import LocalEngine
from ragdsl.execute.progress import make_progress
from ragdsl.execute.runs import RunStore
from ragdsl.execute.scheduler import Outcome, Scheduler
from ragdsl.execute.store import Store
from ragdsl.hashing import digest
from ragdsl.paths import remove_stale_temporaries
from ragdsl.plan.planner import CACHED, RUN, Plan


@dataclass(frozen=True)
class RunOptions:
    jobs: int | None = None
    heavy_jobs: int = 1
    keep_going: bool = False
    progress: str = "auto"  # auto | plain | quiet
    argv: tuple[str, ...] = ()


def spec_hash(compilation: Compilation) -> str:
    """What the spec asks for, as content: the plan's fingerprints (not the spec's text)."""
    assert compilation.plan is not None
    return digest(sorted(a.fingerprint.value for a in compilation.plan.actions))


def verified(plan: Plan, store: Store) -> Plan:
    """The plan with every cached result's artifacts hashed (the planner trusts unchanged file stats):
    a result that no longer matches its record runs again instead of feeding damaged data downstream."""
    actions = []
    for action in plan.actions:
        if action.op == CACHED:
            problem = store.check(action.fingerprint.value, deep=True)
            if problem:
                action = replace(action, op=RUN, reason="result corrupt", detail=problem)
        actions.append(action)
    return replace(plan, actions=tuple(actions))


def run_plan(compilation: Compilation, store: Store, options: RunOptions, stream=None) -> tuple[Outcome, object]:
    from ragdsl.execute.runners import RUNNERS

    plan, graph = compilation.plan, compilation.graph
    assert plan is not None and graph is not None
    stream = stream or sys.stderr
    # Libraries' own progress bars would interleave with ragdsl's display.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    remove_stale_temporaries(store.root)
    plan = verified(plan, store)
    progress = make_progress(stream, mode=options.progress)
    runs = RunStore(store.root)
    warning = runs.recover()
    if warning:
        print(f"warning: {warning}", file=stream)
    run_id = runs.start(
        spec=plan.spec, spec_hash=spec_hash(compilation), experiment=plan.experiment, seed=plan.seed,
        argv=list(options.argv),
        nodes=[(a.node.id, a.node.kind, a.fingerprint.value, a.op) for a in plan.actions],
    )
    progress.plan([(a.node.id, a.node.kind, a.op) for a in plan.actions])
    scheduler = Scheduler(plan, graph, store, LocalEngine(options.jobs), progress, runs, run_id, RUNNERS,
                          plan.seed, keep_going=options.keep_going, heavy_jobs=options.heavy_jobs)
    try:
        outcome = scheduler.run()
    except BaseException:
        runs.finish(run_id, "interrupted")
        scheduler.engine.shutdown(cancel=True)
        progress.close()
        raise
    scheduler.engine.shutdown(cancel=False)
    runs.finish(run_id, "ok" if outcome.ok else "failed")
    progress.close()
    return outcome, progress
