"""Resume benchmark: what in-node checkpoints cost, and what they save when a node is killed.

For each node kind (index: embedding with all-minilm-l6-v2; rag: generation; evaluate: judging;
finetune: LoRA training) this runs `ragdsl run` on a generated spec, in separate processes, each on
its own copy of a warmed store from which only the target node is missing (its upstream is cached,
so only the target node and cheap downstream nodes run):

  with       `ragdsl run` as shipped: the runners keep finished batches in the node's checkpoint.
  without    the same run in a wrapper process that gives every runner `ctx.checkpoint = None`
             (it replaces `ragdsl.execute.scheduler.NodeContext`), so nothing is journaled.
  killed     the same run in a wrapper process whose runner for the target kind starts a
             `threading.Timer(0.6 * T)` sending SIGKILL to the process when the target node starts
             (T: the node's seconds in the `with` run).
  resumed    `ragdsl run` again on the killed run's store: the node resumes from its checkpoint.

Reported per kind: the node's own seconds (`seconds` in its result record) with and without
checkpoints (overhead: target < 3%), the resumed node's seconds over the uninterrupted node's
(target <= 0.45 after a kill at 60%), what the checkpoint held at the kill, and whether the resumed
node's artifacts are byte-identical to the uninterrupted run's (answers.jsonl; judgments.jsonl and
scores.jsonl; the index's `store/`; the fine-tune's `adapter/`). Targets are reported, not asserted:
the script exits 1 only when resumed artifacts differ (a correctness failure) or a run fails.

A warm-up run first (a small version of the same specs, same RAGDSL_CACHE) pays the one-time costs
outside the measurements: model conversion into the cache and the judge's calibration (cached by
judge settings, which the warm-up shares with the measured evaluation).

    python benchmarks/bench_resume.py                       # defaults below, ~30-60 min on 2 cores
    python benchmarks/bench_resume.py --smoke               # tiny sizes: checks the mechanics
    python benchmarks/bench_resume.py --kinds index,rag --questions 64 --json

Defaults: index over all of SQuAD v1.1 dev's passages (2,067, batch_size 32); rag on 96 test
questions (3 chunks of 32), BM25 top_k 3, max_new_tokens 16; evaluate judges those answers for
accuracy with the same qwen2.5-coder-0.5b-instruct (judge_max_new_tokens 16); finetune: LoRA r=8
on qwen2.5-coder-0.5b-instruct, 40 samples, batch_size 2, 1 epoch (20 optimizer steps, checkpoints
at 10 and 20; `--samples 80` gives 40 steps, about twice the time: some 14 min a run on a busy
2-core machine, four runs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KINDS = ("index", "rag", "evaluate", "finetune")
TARGET_NODE = {"index": "index.dense", "rag": "rag.bench.qwen", "evaluate": "evaluate.bench",
               "finetune": "finetune.tuned"}
# What must be byte-identical after a resume: files, or folders compared file by file.
COMPARED = {"index": ["store"], "rag": ["answers.jsonl"], "evaluate": ["judgments.jsonl", "scores.jsonl"],
            "finetune": ["adapter"]}
OVERHEAD_TARGET = 0.03
RATIO_TARGET = 0.45

WRAPPER = r'''"""bench_resume's wrapper: `python wrapper.py MODE ragdsl-args...` (MODE: timed | nockpt | kill)."""
import atexit, functools, json, os, signal, sys, threading, time

mode, argv = sys.argv[1], sys.argv[2:]
if mode == "timed":
    # ragdsl as shipped, with the time spent in checkpoint work added up: every call that only runs
    # because the node keeps a checkpoint (outermost calls only: a save that sets progress counts once).
    import ragdsl.backends.indexing as indexing
    import ragdsl.execute.checkpoint as checkpoint
    import ragdsl.finetune.loop as loop
    import ragdsl.finetune.resume as resume

    times, local = {}, threading.local()

    def timed(name, fn):
        @functools.wraps(fn)
        def run(*a, **kw):
            if getattr(local, "depth", 0):
                return fn(*a, **kw)
            local.depth = 1
            began = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                local.depth = 0
                calls, seconds = times.get(name, (0, 0.0))
                times[name] = (calls + 1, seconds + time.perf_counter() - began)
        return run
    for owner, name in [(checkpoint.Journal, "append"), (checkpoint.Journal, "_load"),
                        (checkpoint.Checkpoint, "set_progress"), (checkpoint.Checkpoint, "write_state"),
                        (checkpoint.Checkpoint, "open"), (resume.TrainCheckpoint, "save"),
                        (resume.TrainCheckpoint, "load"), (loop, "_state"), (loop, "training_identity"),
                        (indexing, "encode_vector")]:
        setattr(owner, name, timed(f"{getattr(owner, '__name__', '?')}.{name}", getattr(owner, name)))

    @atexit.register
    def report():
        with open(os.environ["BENCH_RESUME_TIMES"], "w") as f:
            json.dump({k: {"calls": c, "seconds": round(t, 4)} for k, (c, t) in sorted(times.items())}, f)
elif mode == "nockpt":
    import ragdsl.execute.scheduler as s
    from ragdsl.execute.context import NodeContext

    def no_checkpoint(*a, **kw):
        # Scheduler._execute builds NodeContext(node, work, seed, upstream, files, resources, progress,
        # checkpoint) positionally; anything else means this wrapper must be adapted.
        if kw or len(a) != 8:
            print(f"bench_resume: NodeContext called with {len(a)} positional and {sorted(kw)} keyword "
                  "arguments; the wrapper expects 8 positional", file=sys.stderr, flush=True)
            os._exit(3)
        print(f"bench_resume: {a[0].id} runs without a checkpoint", file=sys.stderr, flush=True)
        return NodeContext(*a[:7], None)
    s.NodeContext = no_checkpoint
elif mode == "kill":
    kill = json.loads(os.environ["BENCH_RESUME_KILL"])
    from ragdsl.execute.runners import RUNNERS

    inner = RUNNERS[kill["kind"]]

    def wrapped(ctx):
        if ctx.node.id != kill["node"]:
            return inner(ctx)
        began = time.perf_counter()

        def fire():
            print(f"bench_resume: SIGKILL after {time.perf_counter() - began:.1f}s in {ctx.node.id}",
                  file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        timer = threading.Timer(kill["after"], fire)
        timer.daemon = True
        timer.start()
        try:
            return inner(ctx)
        finally:
            timer.cancel()  # finished before the kill: the run says so (exit 0, record written)
    RUNNERS[kill["kind"]] = wrapped
else:
    sys.exit(f"unknown mode {mode}")

from ragdsl.cli import main

main(argv)
'''


@dataclass
class Sizes:
    passages: int | None  # corpus limit (None: all 2,067)
    index_batch: int
    questions: int
    max_new_tokens: int
    judge_max_new_tokens: int
    samples: int
    ft_batch: int
    epochs: int
    warm_questions: int
    warm_passages: int


@dataclass
class KindResult:
    kind: str
    node: str
    fingerprint: str = ""
    units: str = ""
    with_s: list[float] = field(default_factory=list)
    without_s: list[float] = field(default_factory=list)
    overhead: float | None = None
    killed_after_s: float | None = None
    killed: bool = False
    saved_at_kill: dict | None = None
    resume_s: float | None = None
    ratio: float | None = None
    identical: bool | None = None
    differing: list[str] = field(default_factory=list)
    without_identical: bool | None = None  # the no-checkpoint run's artifacts vs the checkpointed run's
    walls: dict = field(default_factory=dict)  # process wall seconds per run
    cpu: dict = field(default_factory=dict)  # process CPU seconds (user + system) per run
    with_cpu: list[float] = field(default_factory=list)
    without_cpu: list[float] = field(default_factory=list)
    cpu_overhead: float | None = None  # process CPU seconds with / without checkpoints - 1
    cpu_ratio: float | None = None  # resumed process CPU seconds / uninterrupted process CPU seconds
    checkpoint_s: list[float] = field(default_factory=list)  # in-node seconds of checkpoint calls, per `with` run
    checkpoint_share: float | None = None  # of the node's seconds
    checkpoint_calls: list[dict] = field(default_factory=list)
    t_for_kill: float | None = None  # the node seconds the kill delay was computed from
    uninterrupted_s: float | None = None  # the resume ratio's denominator
    missed_kills: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def overhead_met(self) -> bool | None:
        return None if self.overhead is None else self.overhead < OVERHEAD_TARGET

    @property
    def ratio_met(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= RATIO_TARGET


# ---------------------------------------------------------------------------------------------- specs

def specs(s: Sizes, kinds: list[str]) -> dict[str, str]:
    """The measured spec of each kind, and `warm`: a small version of them for the warm-up run.

    Every spec declares its shared parts identically, so a node has one fingerprint across them and a
    store computed with one spec serves the others (the evaluate spec's rag node is the rag spec's)."""
    limit = f"; limit = {s.passages}" if s.passages else ""
    head = "experiment bench_resume { seed = 7 }\n"
    corpus = f'corpus squad {{ source = dataset("squad_v1"){limit} }}\n'
    questions = f'questions qa {{ source = dataset("squad_v1"); train = 1000; test = {s.questions} }}\n'
    sparse = "index sparse { corpus = squad }\n"
    dense = f'index dense {{ corpus = squad; embedder = "all-minilm-l6-v2"; batch_size = {s.index_batch} }}\n'
    model = 'model qwen = "qwen2.5-coder-0.5b-instruct"\n'
    pipeline = (f"pipeline rag(generator) {{ retrieve = bm25(sparse, top_k = 3); generate = generator; "
                f"max_new_tokens = {s.max_new_tokens} }}\n")
    judged = f"metrics = [accuracy]; judge = qwen; judge_max_new_tokens = {s.judge_max_new_tokens}"

    def evaluate(metrics: str, extra: str = "") -> str:
        return f"evaluate bench {{ systems = {{ qwen: rag(qwen) }}; questions = qa.test; {metrics}{extra} }}\n"
    finetune = (f"finetune tuned {{ base = qwen; data = qa.train; method = lora(r = 8, alpha = 16); "
                f"samples = {s.samples}; batch_size = {s.ft_batch}; epochs = {s.epochs} }}\n")
    out = {
        "index": head + corpus + dense,
        "rag": head + corpus + questions + sparse + model + pipeline + evaluate("metrics = [exact_match]"),
        "evaluate": head + corpus + questions + sparse + model + pipeline + evaluate(judged),
        "finetune": head + questions + model + finetune,
    }
    # Warm-up: the same declarations, with the targets made small (so they never match the measured
    # nodes) but the same models and judge settings (conversion and calibration are cached by those).
    warm = head + corpus
    if set(kinds) & {"rag", "evaluate", "finetune"}:  # generates with qwen: converts it into the cache
        metrics = judged if "evaluate" in kinds else "metrics = [exact_match]"
        warm += questions + sparse + model + pipeline + evaluate(metrics, f"; limit = {s.warm_questions}")
    if "index" in kinds:
        warm += f'corpus tiny {{ source = dataset("squad_v1"); limit = {s.warm_passages} }}\n'
        warm += (f'index dense_warm {{ corpus = tiny; embedder = "all-minilm-l6-v2"; '
                 f"batch_size = {s.index_batch} }}\n")
    out["warm"] = warm
    return out


# ------------------------------------------------------------------------------------------- running

class Bench:
    def __init__(self, work: Path, env: dict[str, str], verbose: bool = True):
        self.work = work
        self.env = env
        self.verbose = verbose
        self.wrapper = work / "wrapper.py"
        self.wrapper.write_text(WRAPPER, encoding="utf-8")
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.specs_dir = work / "specs"
        self.specs_dir.mkdir(parents=True, exist_ok=True)
        ragdsl = shutil.which("ragdsl")
        self.ragdsl = [ragdsl] if ragdsl else [sys.executable, "-m", "ragdsl.cli"]

    def say(self, text: str) -> None:
        if self.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {text} (load {_load()})", file=sys.stderr, flush=True)

    def spec(self, name: str, text: str) -> Path:
        path = self.specs_dir / f"{name}.rag"
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, label: str, spec: Path, store: Path, mode: str = "plain", kill: dict | None = None
            ) -> tuple[int, float, float]:
        """One `ragdsl run` in its own process: (exit status, wall seconds, CPU seconds of the process);
        its output goes to logs/<label>.log."""
        args = ["run", str(spec), "--store", str(store), "--progress", "plain"]
        cmd = [*self.ragdsl, *args] if mode == "plain" else [sys.executable, str(self.wrapper), mode, *args]
        env = dict(self.env)
        if kill is not None:
            env["BENCH_RESUME_KILL"] = json.dumps(kill)
        if mode == "timed":
            env["BENCH_RESUME_TIMES"] = str(self.logs / f"{label}.times.json")
        self.say(f"{label}: {mode} run of {spec.name}")
        began = time.perf_counter()
        with (self.logs / f"{label}.log").open("w", encoding="utf-8") as log:
            process = subprocess.Popen(cmd, cwd=self.work, env=env, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = rc = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - began
        cpu = usage.ru_utime + usage.ru_stime
        self.say(f"{label}: exit {rc} after {wall:.1f}s ({cpu:.1f} CPU s)")
        return rc, wall, cpu

    def checkpoint_times(self, label: str) -> dict:
        try:
            return json.loads((self.logs / f"{label}.times.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def plan(self, spec: Path, store: Path) -> dict[str, dict]:
        """The plan of `spec` against `store`, by node id (`ragdsl compile --dry-run --format json`)."""
        out = subprocess.run([*self.ragdsl, "compile", "--dry-run", "--format", "json", "--store", str(store),
                              str(spec)], cwd=self.work, env=self.env, capture_output=True, text=True, check=True)
        return {n["id"]: n for n in json.loads(out.stdout)["nodes"]}

    def tail(self, label: str, lines: int = 15) -> str:
        try:
            return "\n".join((self.logs / f"{label}.log").read_text(encoding="utf-8").splitlines()[-lines:])
        except OSError:
            return ""


def record(store: Path, fp: str) -> dict | None:
    try:
        return json.loads((store / "results" / fp[:2] / f"{fp}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def artifacts(store: Path, fp: str) -> Path:
    return store / "artifacts" / fp[:2] / fp


def without_target(base: Path, dest: Path, fp: str) -> Path:
    """A copy of the store `base` without the result of `fp` (record, artifacts, checkpoint)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(base, dest, symlinks=True, ignore=shutil.ignore_patterns("*.lock"))
    (dest / "results" / fp[:2] / f"{fp}.json").unlink(missing_ok=True)
    shutil.rmtree(artifacts(dest, fp), ignore_errors=True)
    shutil.rmtree(dest / "checkpoints" / fp[:2] / fp, ignore_errors=True)
    return dest


def compare(a: Path, b: Path, names: list[str]) -> list[str]:
    """Files under `names` (files or folders of the two artifact folders) that differ or exist in one only."""
    differing = []
    for name in names:
        pa, pb = a / name, b / name
        if pa.is_dir() or pb.is_dir():
            files = sorted({p.relative_to(pa).as_posix() for p in pa.rglob("*") if p.is_file()}
                           | {p.relative_to(pb).as_posix() for p in pb.rglob("*") if p.is_file()})
            pairs = [(f"{name}/{f}", pa / f, pb / f) for f in files]
            if not files:
                differing.append(f"{name}/ (empty or missing)")
        else:
            pairs = [(name, pa, pb)]
        for label, x, y in pairs:
            if not (x.is_file() and y.is_file()):
                differing.append(label)
            elif x.read_bytes() != y.read_bytes():
                differing.append(f"{label} (target_modules order only)" if _same_config(x, y) else label)
    return differing


def _same_config(x: Path, y: Path) -> bool | None:
    """For a peft adapter_config.json: True when the two differ only in the order of `target_modules`.

    peft keeps target_modules as a set and writes it in the set's iteration order, which follows the
    process's string hash seed (PYTHONHASHSEED): two uninterrupted runs differ there too. None: not
    such a file."""
    if x.name != "adapter_config.json":
        return None
    try:
        a, b = json.loads(x.read_text(encoding="utf-8")), json.loads(y.read_text(encoding="utf-8"))
    except ValueError:
        return False
    for d in (a, b):
        if isinstance(d.get("target_modules"), list):
            d["target_modules"] = sorted(d["target_modules"])
    return a == b


def real_differences(differing: list[str]) -> list[str]:
    return [d for d in differing if not d.endswith("(target_modules order only)")]


def units(kind: str, folder: Path, rec: dict) -> str:
    """The node's work, and how finely a kill can cut it."""
    outputs = rec.get("outputs") or {}
    if kind == "index":
        return f"{outputs.get('passages')} passages"
    if kind == "rag":
        return f"{outputs.get('questions')} questions"
    if kind == "evaluate":
        try:
            n = sum(1 for _ in (folder / "judgments.jsonl").open(encoding="utf-8"))
        except OSError:
            n = "?"
        return f"{n} judgments"
    try:
        steps = json.loads((folder / "training.json").read_text(encoding="utf-8"))["hyperparameters"]["steps"]
    except (OSError, ValueError, KeyError):
        steps = "?"
    return f"{steps} steps"


def measure(bench: Bench, kind: str, spec: Path, base: Path, repeat: int, kill_at: float) -> tuple[KindResult, Path]:
    """All four runs of one kind; returns the result and the uninterrupted run's store."""
    node = TARGET_NODE[kind]
    res = KindResult(kind, node)
    plan = bench.plan(spec, base)
    fp = plan[node]["fingerprint"]
    res.fingerprint = fp
    stores = bench.work / "stores" / kind
    running = sorted(i for i, n in plan.items() if n["action"] == "run" and i != node)
    # upstream with no record in `base` runs too (not timed: only the target's own seconds are read)
    bench.say(f"{kind}: target {node} ({fp[:12]}); other nodes that run: {', '.join(running) or 'none'}")

    def node_seconds(label: str, store: Path) -> float:
        rec = record(store, fp)
        if rec is None:
            raise RuntimeError(f"{label}: no result record for {node}\n{bench.tail(label)}")
        return float(rec["seconds"])

    with_store = None
    without_store = None
    for i in range(repeat):
        # alternate which goes first, the machine being shared
        order = ("with", "without") if i % 2 == 0 else ("without", "with")
        for side in order:
            label = f"{kind}-{side}-{i + 1}"
            store = without_target(base, stores / label, fp)
            rc, wall, cpu = bench.run(label, spec, store, "timed" if side == "with" else "nockpt")
            if rc != 0:
                raise RuntimeError(f"{label} failed (exit {rc})\n{bench.tail(label)}")
            seconds = node_seconds(label, store)
            res.walls[label] = round(wall, 1)
            res.cpu[label] = round(cpu, 1)
            if side == "with":
                res.with_s.append(seconds)
                res.with_cpu.append(cpu)
                times = bench.checkpoint_times(label)
                res.checkpoint_calls.append(times)
                res.checkpoint_s.append(round(sum(t["seconds"] for t in times.values()), 3))
                if with_store is not None:
                    shutil.rmtree(with_store, ignore_errors=True)
                with_store = store
            else:
                res.without_s.append(seconds)
                res.without_cpu.append(cpu)
                if without_store is not None:
                    shutil.rmtree(without_store, ignore_errors=True)
                without_store = store
    assert with_store is not None and without_store is not None
    res.overhead = statistics.median(res.with_s) / statistics.median(res.without_s) - 1
    res.cpu_overhead = statistics.median(res.with_cpu) / statistics.median(res.without_cpu) - 1
    res.checkpoint_share = statistics.median(c / t for c, t in zip(res.checkpoint_s, res.with_s))
    res.units = units(kind, artifacts(with_store, fp), record(with_store, fp) or {})
    res.without_identical = not real_differences(compare(artifacts(with_store, fp), artifacts(without_store, fp),
                                                         COMPARED[kind]))
    shutil.rmtree(without_store, ignore_errors=True)

    # Killed at kill_at of the uninterrupted node's seconds. On a shared machine a run can be faster
    # than the measured one and finish before the kill: then once more, timed from that run.
    uninterrupted = res.with_s[0]
    for attempt in (1, 2):
        after = kill_at * uninterrupted
        res.killed_after_s = round(after, 1)
        label = f"{kind}-killed" + ("" if attempt == 1 else "-again")
        store = without_target(base, stores / "killed", fp)
        rc, wall, cpu = bench.run(label, spec, store, "kill", kill={"kind": kind, "node": node, "after": after})
        res.walls[label] = round(wall, 1)
        res.cpu[label] = round(cpu, 1)
        res.killed = rc == -9 and record(store, fp) is None
        if res.killed:
            break
        missed = record(store, fp)
        res.error = f"the kill after {after:.1f}s missed: exit {rc}, record {'written' if missed else 'missing'}"
        bench.say(f"{kind}: {res.error}")
        if missed is None or attempt == 2:
            return res, with_store
        uninterrupted = float(missed["seconds"])
        res.missed_kills.append({"after": round(after, 1), "node_seconds": uninterrupted})
    res.error = ""
    res.t_for_kill = uninterrupted
    try:
        res.saved_at_kill = json.loads((store / "checkpoints" / fp[:2] / fp / "progress.json").read_text())
    except (OSError, ValueError):
        res.saved_at_kill = None  # killed before the first batch was kept
    label = f"{kind}-resumed"
    rc, wall, cpu = bench.run(label, spec, store, "plain")
    res.walls[label] = round(wall, 1)
    res.cpu[label] = round(cpu, 1)
    if rc != 0:
        raise RuntimeError(f"{label} failed (exit {rc})\n{bench.tail(label)}")
    res.resume_s = node_seconds(label, store)
    # over the uninterrupted node's seconds: the `with` runs' median, and the runs a kill missed (also
    # uninterrupted, with checkpoints) when there were any
    res.uninterrupted_s = statistics.median(res.with_s + [m["node_seconds"] for m in res.missed_kills])
    res.ratio = res.resume_s / res.uninterrupted_s
    res.cpu_ratio = cpu / statistics.median(res.with_cpu)
    res.differing = compare(artifacts(with_store, fp), artifacts(store, fp), COMPARED[kind])
    res.identical = not real_differences(res.differing)
    shutil.rmtree(store, ignore_errors=True)
    return res, with_store


# ------------------------------------------------------------------------------------------- output

def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _yes(value: bool | None) -> str:
    return "-" if value is None else "yes" if value else "no"


def _saved(res: KindResult) -> str:
    p = res.saved_at_kill
    if not res.killed:
        return "-"
    if not p:
        return "nothing"
    return f"{p['done']}/{p['total']} {p.get('unit', '')}".strip()


def _f(x, fmt: str = "{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def table(results: list[KindResult]) -> str:
    """The main table: node seconds (from the result records), the kill and the resume."""
    rows = ["| kind | work units | uninterrupted s (checkpoints) | without checkpoints s | overhead | killed at s | "
            "checkpoint held | resume s | resume ratio | identical | target met |", "|" + "---|" * 11]
    for r in results:
        met = (f"overhead {_yes(r.overhead_met)}, resume {_yes(r.ratio_met)}" if not r.error
               else f"error: {r.error}")
        overhead = None if r.overhead is None else 100 * r.overhead
        rows.append(f"| {r.kind} | {r.units or '-'} | {_f(_median(r.with_s))} | {_f(_median(r.without_s))} | "
                    f"{_f(overhead, '{:+.1f}%')} | {_f(r.killed_after_s)} | {_saved(r)} | {_f(r.resume_s)} | "
                    f"{_f(r.ratio, '{:.2f}')} | {_yes(r.identical)} | {met} |")
    return "\n".join(rows)


def cost_table(results: list[KindResult]) -> str:
    """Measures that a busy machine disturbs less: the time spent in checkpoint calls inside the node
    (timed in-process), and the CPU seconds of the whole `ragdsl run` process."""
    rows = ["| kind | checkpoint calls s (share of node) | process CPU s, checkpoints | without | CPU overhead | "
            "resumed process CPU / uninterrupted |", "|" + "---|" * 6]
    for r in results:
        share = None if r.checkpoint_share is None else 100 * r.checkpoint_share
        cpu_overhead = None if r.cpu_overhead is None else 100 * r.cpu_overhead
        rows.append(f"| {r.kind} | {_f(_median(r.checkpoint_s), '{:.2f}')} ({_f(share, '{:.2f}%')}) | "
                    f"{_f(_median(r.with_cpu))} | {_f(_median(r.without_cpu))} | {_f(cpu_overhead, '{:+.1f}%')} | "
                    f"{_f(r.cpu_ratio, '{:.2f}')} |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: index,rag,evaluate,finetune")
    parser.add_argument("--questions", type=int, help="test questions generated and judged (default 96)")
    parser.add_argument("--passages", type=int, help="corpus limit for the index (default: all 2,067)")
    parser.add_argument("--samples", type=int, help="fine-tuning examples (default 40: 20 steps of 2)")
    parser.add_argument("--ft-batch-size", type=int, help="fine-tuning batch size (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="with/without-checkpoint runs each (median)")
    parser.add_argument("--kill-at", type=float, default=0.6, help="kill after this share of T (default 0.6)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the mechanics in a few minutes")
    parser.add_argument("--cache", type=Path, help="RAGDSL_CACHE for every run (default: as set, else ragdsl's)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (stores, specs, logs)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        parser.error(f"unknown kind(s): {', '.join(bad)} (choose from {', '.join(KINDS)})")
    kinds = [k for k in KINDS if k in kinds]  # rag before evaluate: its store feeds the evaluation
    if args.smoke:
        sizes = Sizes(passages=160, index_batch=16, questions=8, max_new_tokens=8, judge_max_new_tokens=16,
                      samples=8, ft_batch=2, epochs=1, warm_questions=4, warm_passages=32)
    else:
        sizes = Sizes(passages=None, index_batch=32, questions=96, max_new_tokens=16, judge_max_new_tokens=16,
                      samples=40, ft_batch=2, epochs=1, warm_questions=8, warm_passages=64)
    for name, value in (("questions", args.questions), ("passages", args.passages), ("samples", args.samples),
                        ("ft_batch", args.ft_batch_size)):
        if value is not None:
            setattr(sizes, name, value)
    if sizes.questions > 9000:
        parser.error("--questions: at most 9000 (SQuAD v1.1 dev has ~10.5k, 1,000 are the train split)")

    env = dict(os.environ)
    env.setdefault("RAGDSL_DATA_DIR", "/work/shared/data")
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    env.pop("RAGDSL_STORE", None)  # every run names its --store
    if args.cache is not None:
        env["RAGDSL_CACHE"] = str(args.cache.resolve())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))

    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="bench_resume_"))
    work.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_resume.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_start": _load()},
        "sizes": asdict(sizes), "kinds": kinds, "kill_at": args.kill_at, "repeat": args.repeat,
        "cache": env.get("RAGDSL_CACHE", "(ragdsl default)"), "work": str(work),
    }
    print(f"bench_resume: {meta['date']}, {os.cpu_count()} cores, load average at start {_load()}, work {work}",
          file=sys.stderr, flush=True)
    bench = Bench(work, env)
    texts = specs(sizes, kinds)
    paths = {name: bench.spec(name, text) for name, text in texts.items()}

    results: list[KindResult] = []
    failed = False
    began = time.perf_counter()
    try:
        warm = work / "stores" / "warm"
        rc, wall, _ = bench.run("warm-up", paths["warm"], warm)
        meta["warm_up_s"] = round(wall, 1)
        if rc != 0:
            raise RuntimeError(f"the warm-up run failed (exit {rc})\n{bench.tail('warm-up')}")
        rag_store = None
        for kind in kinds:
            base = warm
            try:
                if kind == "evaluate":
                    if rag_store is None:  # the answers judged: computed here, not timed
                        rag_store = work / "stores" / "rag-prep"
                        shutil.copytree(warm, rag_store, symlinks=True)
                        rc, _, _ = bench.run("evaluate-prep", paths["rag"], rag_store)
                        if rc != 0:
                            raise RuntimeError(f"computing the answers failed\n{bench.tail('evaluate-prep')}")
                    base = rag_store
                res, with_store = measure(bench, kind, paths[kind], base, args.repeat, args.kill_at)
                if kind == "rag":
                    rag_store = with_store  # has the uninterrupted answers: the evaluation's input
                elif with_store != rag_store:
                    shutil.rmtree(with_store, ignore_errors=True)
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                res = KindResult(kind, TARGET_NODE[kind], error=str(exc).splitlines()[0])
                print(f"bench_resume: {kind}: {exc}", file=sys.stderr, flush=True)
                failed = True
            results.append(res)
            bench.say(f"{kind} done")
            print(table([res]).splitlines()[-1], file=sys.stderr, flush=True)
    except RuntimeError as exc:
        print(f"bench_resume: {exc}", file=sys.stderr)
        failed = True
    finally:
        meta["machine"]["load_average_end"] = _load()
        meta["total_s"] = round(time.perf_counter() - began, 1)
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    not_identical = [r.kind for r in results if r.identical is False]
    if args.json:
        print(json.dumps({**meta, "targets": {"overhead_below": OVERHEAD_TARGET, "resume_ratio_at_most": RATIO_TARGET},
                          "results": [{**asdict(r), "overhead_met": r.overhead_met, "ratio_met": r.ratio_met}
                                      for r in results]}, indent=2))
    else:
        print(f"{meta['date']}  {meta['command']}")
        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average "
              f"{meta['machine']['load_average_start']} at start, {meta['machine']['load_average_end']} at end; "
              f"warm-up {meta.get('warm_up_s', '-')} s, total {meta['total_s']} s")
        print(f"kill at {args.kill_at:.0%} of the uninterrupted node's seconds; targets: overhead < "
              f"{OVERHEAD_TARGET:.0%}, resume ratio <= {RATIO_TARGET}\n")
        print(table(results))
        print()
        print(cost_table(results))
        for r in results:
            if r.differing:
                what = ("differ from the uninterrupted run's" if real_differences(r.differing)
                        else "are byte-identical to the uninterrupted run's, apart from")
                print(f"\n{r.kind}: resumed artifacts {what}: {', '.join(r.differing)}")
                if not real_differences(r.differing):
                    print("  (peft writes target_modules from a set, in the order of the process's string hash "
                          "seed: two uninterrupted runs differ there too)")
            if r.without_identical is False:
                print(f"\n{r.kind}: the run without checkpoints wrote different artifacts than the run with them")
            if r.missed_kills:
                print(f"\n{r.kind}: a kill came after the node had finished ({r.missed_kills}); "
                      f"the kill was timed again from that run's seconds ({r.t_for_kill})")
    if not_identical:
        print(f"FAILED: resumed artifacts are not byte-identical for {', '.join(not_identical)}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
