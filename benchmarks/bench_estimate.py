"""How far the dry-run's cost estimate is from the time each node really takes.

Runs a spec (default: experiments/quickstart.rag) on a new, empty store, after estimating it
twice: with the documented default rates only (an empty rates file) and with this machine's
rates (observed in earlier runs, or measured by `ragdsl estimate --calibrate`). For every node
it reports the estimated and the measured seconds (the node's own time, from its result
record) and the ratio estimate / measured, per node kind; and the plan's total.

    python benchmarks/bench_estimate.py                          # the quickstart (~10 minutes here)
    python benchmarks/bench_estimate.py --spec experiments/x.rag --profile experiments/profiles/x.set
    python benchmarks/bench_estimate.py --json

The store is new, but the model cache and judge calibrations are the user's (as for a user
re-running an experiment): run it once with an empty RAGDSL_CACHE to include conversions.
Target (reported, not asserted): every node kind within a factor of 2 (0.5 <= ratio <= 2),
the total within 25%. A ratio is not shown for nodes under a second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KIND_FACTOR = 2.0
TOTAL_TOLERANCE = 0.25


def dry_run(spec: Path, store: Path, rates: Path | None, extra: list[str]) -> dict:
    env = dict(os.environ)
    if rates is not None:
        env["RAGDSL_RATES"] = str(rates)
    done = subprocess.run([sys.executable, "-m", "ragdsl.cli", "compile", "--dry-run", "--format", "json",
                           str(spec), "--store", str(store), *extra], capture_output=True, text=True, env=env,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"dry-run failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=REPO / "experiments" / "quickstart.rag")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    extra = ["--profile", str(args.profile)] if args.profile else []
    work = Path(tempfile.mkdtemp(prefix="bench-estimate-"))
    store = work / "store"
    plans = {"default": dry_run(args.spec, store, work / "empty-rates.json", extra),
             "this machine": dry_run(args.spec, store, None, extra)}
    load = os.getloadavg()[0]
    began = time.perf_counter()
    ran = subprocess.run([sys.executable, "-m", "ragdsl.cli", "run", str(args.spec), "--store", str(store),
                          "--progress", "plain", *extra], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if ran.returncode != 0:
        sys.exit(f"run failed:\n{ran.stderr[-3000:]}")
    measured: dict[str, tuple[str, float]] = {}
    for record in (store / "results").rglob("*.json"):
        found = json.loads(record.read_text())
        measured[found["node"]] = (found["kind"], float(found.get("seconds") or 0.0))
    rows = []
    for node in plans["default"]["nodes"]:
        if node["id"] not in measured or node["action"] != "run":
            continue
        kind, seconds = measured[node["id"]]
        row = {"node": node["id"], "kind": kind, "measured": round(seconds, 1)}
        for label, plan in plans.items():
            cost = next(n for n in plan["nodes"] if n["id"] == node["id"]).get("cost") or {}
            estimate = cost.get("seconds")
            row[label] = None if estimate is None else round(float(estimate), 1)
            row[f"{label} source"] = cost.get("source")
            row[f"{label} ratio"] = (round(estimate / seconds, 2) if estimate is not None and seconds >= 1.0
                                     else None)
        rows.append(row)
    totals = {label: (plan["summary"].get("estimate") or {}).get("seconds") for label, plan in plans.items()}
    measured_total = sum(r["measured"] for r in rows)
    result = {"spec": args.spec.as_posix(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
              "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2), "wall_s": round(wall, 1),
              "nodes": rows, "measured_total": round(measured_total, 1),
              "estimated_total": {k: None if v is None else round(v, 1) for k, v in totals.items()}}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['spec']} on {result['machine']} (load {result['load_before']} -> {result['load_after']}), "
          f"run {result['wall_s']} s")
    print("| node | kind | measured s | default est. s | ratio | this machine est. s | ratio (source) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['node']} | {r['kind']} | {r['measured']} | {r['default']} | {r['default ratio'] or '-'} | "
              f"{r['this machine']} | {r['this machine ratio'] or '-'} ({r['this machine source']}) |")
    for label, total in result["estimated_total"].items():
        if total:
            error = total / measured_total - 1 if measured_total else 0.0
            met = "meets" if abs(error) <= TOTAL_TOLERANCE else "misses"
            print(f"total, {label} rates: estimated {total} s vs measured {result['measured_total']} s "
                  f"({error:+.0%}; {met} the ±{TOTAL_TOLERANCE:.0%} target)")
    off = [r["node"] for r in rows if r["this machine ratio"] is not None
           and not 1 / KIND_FACTOR <= r["this machine ratio"] <= KIND_FACTOR]
    print("every node within a factor of 2 (this machine's rates)" if not off else
          f"outside a factor of 2 with this machine's rates: {', '.join(off)}")


if __name__ == "__main__":
    main()
