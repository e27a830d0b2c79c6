"""Large and hostile specs: time and peak memory of `ragdsl check` and `ragdsl fmt --check`.

Generates specs of a few shapes at several sizes in a temporary folder and
runs each command in a fresh process (as `python -m ragdsl.cli`), measuring wall
time and the process's peak RSS (VmHWM, from /proc):

  literal   one string literal of SIZE (`model big = "xxx..."`, unused: warning W101)
  prompt    an inline prompt template of SIZE, lines joined by `\\n` escapes
            (`prompt = inline("...")` in an unused pipeline)
  strings   a list of short strings, `meta = ["f0", "f1", ...]`, of SIZE
  decls     SIZE of ordinary declarations (corpus, questions, index, model,
            pipeline, evaluate, report, over and over)

and, in the same run, the baseline: the same commands on a one-line spec (the
interpreter and ragdsl's imports). "extra" is a run's peak RSS above the
baseline's; "x size" divides it by the spec's size. Shapes with more tokens
than the per-file limit (100,000, error E004) are refused before parsing: the
table says so in the outcome column.

    python benchmarks/bench_large_specs.py                       # 1, 2, 4, 8 MiB of each shape, decls below the cap
    python benchmarks/bench_large_specs.py --sizes 1,2 --shapes literal
    python benchmarks/bench_large_specs.py --json                 # machine-readable
    python benchmarks/bench_large_specs.py --ragdsl-path DIR      # time another ragdsl (a folder holding ragdsl/ and grammar/)
    python benchmarks/bench_large_specs.py --profile decls 0.25    # cProfile + tracemalloc of check_spec, in-process

Targets (reported, never asserted): a spec of up to 10 MiB checks or formats in
under 3 s, with peak memory under 10x its size above the baseline.
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
from collections.abc import Callable
from pathlib import Path

MIB = 1024 * 1024
TARGET_SECONDS = 3.0
TARGET_RATIO = 10.0
DEFAULT_SIZES = (1.0, 2.0, 4.0, 8.0)
DECL_SIZES = (0.06, 0.12, 0.24, 0.46)  # about 12k to 90k tokens: below the cap, to show the cost per token
COMMANDS = {"check": ["check"], "fmt": ["fmt", "--check"]}

DECL_BLOCK = """\
# block {i}
corpus facts_{i} {{
  source = factbook()
  limit = {n}
}}

questions qa_{i} {{
  source = factbook()
  test = 20
}}

index idx_{i} {{
  corpus = facts_{i}
}}

model m_{i} = "qwen2.5-coder-0.5b-instruct"

pipeline rag_{i}(generator) {{
  retrieve = bm25(idx_{i}, top_k = 5)
  prompt = template("prompts/answer.jinja")
  generate = generator
  max_new_tokens = 32
}}

evaluate ev_{i} {{
  systems = {{ m: rag_{i}(m_{i}) }}
  questions = qa_{i}.test
  metrics = [exact_match, f1, recall@5]
}}

report rep_{i} {{
  from = ev_{i}
}}

"""


def literal(size: int) -> str:
    return f'model used = "qwen2.5-coder-0.5b-instruct"\nmodel big = "{"x" * size}"\n'


def prompt(size: int) -> str:
    line = "Answer from the passages only.\\n"  # a `\n` escape, as a long prompt written inline has
    text = line * (size // len(line))
    return f'pipeline rag(generator) {{\n  prompt = inline("Question: {{{{ question }}}}\\n{text}")\n  generate = generator\n}}\n'


def strings(size: int) -> str:
    items, total, i = [], 0, 0
    while total < size:
        item = f'"f{i % 1000}"'
        items.append(item)
        total += len(item) + 2
        i += 1
    return f'corpus docs {{\n  source = jsonl("docs.jsonl", meta = [{", ".join(items)}])\n}}\n'


def decls(size: int) -> str:
    parts, total, i = [], 0, 0
    while total < size:
        block = DECL_BLOCK.format(i=i, n=i + 1)
        parts.append(block)
        total += len(block)
        i += 1
    return "".join(parts).rstrip("\n") + "\n"


SHAPES: dict[str, Callable[[int], str]] = {"literal": literal, "prompt": prompt, "strings": strings, "decls": decls}
DATA_FILES = {"docs.jsonl": '{"id": "1", "text": "t"}\n', "prompts/answer.jinja": "{{ question }}\n"}


# Runs the CLI as `python -m ragdsl.cli` would, then writes the process's peak
# RSS (VmHWM) to a file. Not ru_maxrss from wait4: on Linux a child's counts
# the parent's RSS at the fork, and this script holds the specs it generates.
_PEAK_WRAPPER = """\
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    with open(os.environ["RAGDSL_BENCH_PEAK"], "w") as out:
        out.write(str(kib))
atexit.register(_peak)
sys.argv[0] = "ragdsl"
runpy.run_module("ragdsl.cli", run_name="__main__", alter_sys=True)
"""


def measure(folder: Path, spec: str, command: list[str], env: dict[str, str], timeout: float) -> dict:
    """Run `ragdsl COMMAND SPEC` in a fresh process: seconds, peak RSS, exit code, output sizes."""
    out, err, peak = folder / "stdout.txt", folder / "stderr.txt", folder / "peak.txt"
    peak.unlink(missing_ok=True)
    timed_out = False
    with out.open("wb") as stdout, err.open("wb") as stderr:
        start = time.perf_counter()
        try:
            code = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, *command, spec], cwd=folder,
                                  stdout=stdout, stderr=stderr, env={**env, "RAGDSL_BENCH_PEAK": str(peak)},
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code, timed_out = -9, True
        seconds = time.perf_counter() - start
    text = err.read_text(encoding="utf-8", errors="replace")
    first = next((line.split(":")[0] for line in text.splitlines() if line.startswith(("error[", "warning["))), "")
    return {
        "exit": code,
        "timed_out": timed_out,
        "seconds": seconds,
        "peak_rss_mb": int(peak.read_text()) / 1024 if peak.exists() else float("nan"),
        "stderr_bytes": err.stat().st_size,
        "stdout_bytes": out.stat().st_size,
        "first_diagnostic": first,
        "traceback": "Traceback" in text,
    }


def run(shapes: list[str], sizes: list[float], decl_sizes: list[float], repeat: int, ragdsl_path: str | None,
        timeout: float) -> dict:
    env = dict(os.environ)
    if ragdsl_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(ragdsl_path).resolve()), env.get("PYTHONPATH")]))
    rows = []
    with tempfile.TemporaryDirectory(prefix="ragdsl-bench-") as tmp:
        folder = Path(tmp)
        for rel, text in DATA_FILES.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
        (folder / "tiny.rag").write_text('model m = "qwen2.5-coder-0.5b-instruct"\n', encoding="utf-8")
        baseline = {name: _repeat(repeat, lambda c=command: measure(folder, "tiny.rag", c, env, timeout))
                    for name, command in COMMANDS.items()}
        for shape in shapes:
            for mib in decl_sizes if shape == "decls" else sizes:
                text = SHAPES[shape](int(mib * MIB))
                spec = folder / f"{shape}.rag"
                spec.write_text(text, encoding="utf-8")
                size = spec.stat().st_size
                del text
                for name, command in COMMANDS.items():
                    result = _repeat(repeat, lambda c=command, s=spec.name: measure(folder, s, c, env, timeout))
                    extra = max(0.0, result["peak_rss_mb"] - baseline[name]["peak_rss_mb"])
                    rows.append({"shape": shape, "mib": size / MIB, "command": name, **result,
                                 "over_startup_s": result["seconds"] - baseline[name]["seconds"],
                                 "extra_mb": extra, "extra_per_size": extra / (size / MIB),
                                 "meets": (result["seconds"] <= TARGET_SECONDS
                                           and extra / (size / MIB) <= TARGET_RATIO
                                           and not result["traceback"] and not result["timed_out"])})
                spec.unlink()
    return {
        "baseline": baseline,
        "rows": rows,
        "repeat": repeat,
        "ragdsl_path": ragdsl_path,
        "targets": {"seconds": TARGET_SECONDS, "extra_rss_per_size": TARGET_RATIO},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None},
    }


def _repeat(repeat: int, fn: Callable[[], dict]) -> dict:
    """The median run by time (peak RSS barely varies between runs)."""
    runs = sorted((fn() for _ in range(repeat)), key=lambda r: r["seconds"])
    median = dict(runs[len(runs) // 2])
    median["seconds_all"] = [r["seconds"] for r in runs]
    return median


def _outcome(row: dict) -> str:
    if row["timed_out"]:
        return "timed out"
    if row["traceback"]:
        return "TRACEBACK"
    if row["first_diagnostic"].startswith("error"):
        return f"refused: {row['first_diagnostic']}"
    return f"ok ({row['first_diagnostic']})" if row["first_diagnostic"] else "ok"


def to_markdown(result: dict) -> str:
    machine = result["machine"]
    load = machine["load_average"]
    lines = [
        f"Python {machine['python']}, {machine['cpus']} CPUs, load average "
        f"{'/'.join(f'{x:.1f}' for x in load) if load else '?'}; median of {result['repeat']}"
        + (f"; ragdsl from {result['ragdsl_path']}" if result["ragdsl_path"] else ""),
        "",
        "| shape | MiB | command | outcome | seconds | over startup | peak RSS MB | extra MB | x size | stderr bytes "
        "| target |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, base in result["baseline"].items():
        lines.append(f"| baseline (one line) | 0 | {name} | exit {base['exit']} | {base['seconds']:.2f} | – "
                     f"| {base['peak_rss_mb']:.0f} | – | – | {base['stderr_bytes']:,} | |")
    for row in result["rows"]:
        lines.append(
            f"| {row['shape']} | {row['mib']:.2f} | {row['command']} | {_outcome(row)} | {row['seconds']:.2f} "
            f"| {row['over_startup_s']:.2f} | {row['peak_rss_mb']:.0f} | {row['extra_mb']:.0f} "
            f"| {row['extra_per_size']:.1f} | {row['stderr_bytes']:,} | {'meets' if row['meets'] else 'MISSES'} |")
    lines += ["", f"target: at most {TARGET_SECONDS:.0f} s and peak RSS at most {TARGET_RATIO:.0f}x the spec's size "
              "above the baseline"]
    return "\n".join(lines)


def profile(shape: str, mib: float, top: int = 20) -> None:
    import cProfile
    import pstats
    import tracemalloc

    from ragdsl.semantics import check_spec

    with tempfile.TemporaryDirectory(prefix="ragdsl-bench-") as tmp:
        folder = Path(tmp)
        for rel, text in DATA_FILES.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
        spec = folder / f"{shape}.rag"
        spec.write_text(SHAPES[shape](int(mib * MIB)), encoding="utf-8")
        tracemalloc.start()
        check_spec(spec)  # warm: the grammar is built once per process
        tracemalloc.reset_peak()
        check_spec(spec)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        profiler = cProfile.Profile()
        profiler.runcall(check_spec, spec)
        size = spec.stat().st_size
    print(f"{shape}, {size / MIB:.2f} MiB: traced peak {peak / MIB:.1f} MiB ({peak / size:.1f}x the spec)")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of: {', '.join(SHAPES)}")
    parser.add_argument("--sizes", type=_floats, default=list(DEFAULT_SIZES), help="MiB, comma-separated")
    parser.add_argument("--decl-sizes", type=_floats, default=list(DECL_SIZES),
                        help="MiB for the decls shape (default: below the token cap)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    parser.add_argument("--ragdsl-path", default=None,
                        help="put this folder first on PYTHONPATH (another ragdsl, for before/after)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is killed")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--profile", nargs=2, metavar=("SHAPE", "MIB"),
                        help="profile check_spec in-process on one shape and size instead")
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile[0], float(args.profile[1]))
        return 0
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads peak memory from /proc (Linux)")
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        raise SystemExit(f"unknown shape(s): {', '.join(unknown)}")
    result = run(shapes, args.sizes, args.decl_sizes, max(1, args.repeat), args.ragdsl_path, args.timeout)
    print(json.dumps(result, indent=2) if args.json else to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
