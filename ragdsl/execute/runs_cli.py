"""`ragdsl runs`: the recorded runs, newest first, and one run in detail.

Argument parsing and layout only; the records come from `RunStore`. Exit
codes as for every ragdsl command: 0 success, 1 a problem with the user's
input (unknown or ambiguous run id, unreadable store), 2 an internal error.
"""

from __future__ import annotations

import json
import shlex
import time
from datetime import datetime
from pathlib import Path

import click

from ragdsl.cli_errors import handle_errors
from ragdsl.execute.progress import first_line, format_seconds, format_table
from ragdsl.execute.runs import NodeRun, RunDetail, RunStore, RunStoreError, RunSummary
from ragdsl.execute.runs_compare import Comparison, compare_runs
from ragdsl.execute.store import Store

_STORE_KEY = "ragdsl.runs.store"
_METRICS_SHOWN = 3


_handle_errors = handle_errors(RunStoreError)


def _store_option(func):
    return click.option("--store", "store_dir", type=click.Path(path_type=Path), default=None,
                        help="Result store folder (default: $RAGDSL_STORE or ./.ragdsl).")(func)


def _format_option(func):
    return click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                        help="text for people, json for tools.")(func)


def _open(ctx: click.Context, store_dir: Path | None) -> RunStore:
    return RunStore(store_dir or ctx.meta.get(_STORE_KEY) or Store().root)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@_store_option
@click.pass_context
def runs(ctx: click.Context, store_dir: Path | None) -> None:
    """The recorded runs: `runs` or `runs list` for the latest, `runs show ID` for one, `runs compare A B`."""
    ctx.meta[_STORE_KEY] = store_dir
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_runs)


@runs.command(name="list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to list.")
@_format_option
@_store_option
@click.pass_context
@_handle_errors
def list_runs(ctx: click.Context, limit: int = 20, fmt: str = "text", store_dir: Path | None = None) -> None:
    """List the latest runs, newest first."""
    with _open(ctx, store_dir) as store:
        summaries = store.list(limit)
        where = store.path
    if fmt == "json":
        click.echo(json.dumps({"runs": [s.to_json() for s in summaries]}, indent=2, ensure_ascii=False))
    elif not summaries:
        click.echo(f"no runs recorded in {where.as_posix()}", err=True)
    else:
        click.echo(runs_table(summaries, time.time()))


@runs.command(name="show")
@click.argument("run_id", metavar="ID")
@_format_option
@_store_option
@click.pass_context
@_handle_errors
def show_run(ctx: click.Context, run_id: str, fmt: str, store_dir: Path | None) -> None:
    """Show one run: a full id, a unique prefix of one, or `latest`."""
    with _open(ctx, store_dir) as store:
        detail = store.get(run_id)
    if fmt == "json":
        click.echo(json.dumps(detail.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(run_text(detail, time.time()))


@runs.command(name="compare")
@click.argument("run_a", metavar="A")
@click.argument("run_b", metavar="B")
@_format_option
@_store_option
@click.pass_context
@_handle_errors
def compare_cmd(ctx: click.Context, run_a: str, run_b: str, fmt: str, store_dir: Path | None) -> None:
    """Metric differences (B - A) per evaluation, system and metric between two runs (ids, prefixes, `latest`)."""
    with _open(ctx, store_dir) as store:
        comparison = compare_runs(store.get(run_a), store.get(run_b))
    if fmt == "json":
        click.echo(json.dumps(comparison.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(compare_text(comparison))


# -- layout ---------------------------------------------------------------------------------------------


def compare_text(comparison: Comparison) -> str:
    a, b = comparison.a.run, comparison.b.run
    lines = [f"A  {a.id}  {a.spec}  {local_time(a.started_at)}", f"B  {b.id}  {b.spec}  {local_time(b.started_at)}"]
    lines += [f"note: {n}" for n in comparison.notes]
    if comparison.changes:
        rows = [(c.evaluation, c.system, c.metric, _value(c.a), _value(c.b),
                 "-" if c.delta is None else f"{c.delta:+.4f}",
                 "same fingerprint: same results" if c.same_fingerprint else "")
                for c in comparison.changes]
        lines += ["", *format_table(("evaluation", "system", "metric", "A", "B", "B - A", ""), rows,
                                    right={3, 4, 5})]
    return "\n".join(line.rstrip() for line in lines)


def _value(v: float | None) -> str:
    return "missing" if v is None else f"{v:.4f}"




def runs_table(summaries: list[RunSummary], now: float) -> str:
    rows = [(s.id, local_time(s.started_at), s.status, s.spec, s.experiment, str(s.done), str(s.cached),
             str(s.failed), _duration(s, now)) for s in summaries]
    headers = ("id", "started", "status", "spec", "experiment", "run", "cached", "failed", "duration")
    return "\n".join(format_table(headers, rows, right={5, 6, 7, 8}))


def run_text(detail: RunDetail, now: float) -> str:
    run = detail.run
    finished = "-" if run.finished_at is None else local_time(run.finished_at)
    others = run.nodes - run.done - run.cached - run.failed
    header = [
        ("run", f"{run.id}  {run.status}"),
        ("spec", f"{run.spec} (sha256 {run.spec_hash[:12]})"),
        ("experiment", f"{run.experiment}, seed {run.seed}"),
        ("started", local_time(run.started_at)),
        ("finished", finished if run.finished_at is None else f"{finished} ({_duration(run, now)})"),
        ("host", f"{run.host}, pid {run.pid}, ragdsl {run.version}"),
        ("command", shlex.join(run.argv)),
        ("nodes", f"{run.nodes}: {run.done} done, {run.cached} cached, {run.failed} failed"
                  + (f", {others} other" if others else "")),
    ]
    lines = [f"{key:<12}{value}".rstrip() for key, value in header]
    if detail.nodes:
        headers = ("node", "kind", "status", "time", "fingerprint", "metrics", "artifacts", "error")
        lines += ["", *format_table(headers, [_node_row(n) for n in detail.nodes], right={3})]
    return "\n".join(lines)


def _node_row(node: NodeRun) -> tuple[str, ...]:
    return (node.node_id, node.kind, node.status, format_seconds(node.seconds), node.fingerprint[:12],
            metrics_text(node.metrics), _artifacts_text(node.artifacts), first_line(node.error or "", 60) or "-")


def metrics_text(metrics: dict, shown: int = _METRICS_SHOWN) -> str:
    """`f1=0.412, recall@3=0.6 (+2)`: nested metrics flattened with dots, floats to 4 digits."""
    flat = list(_flatten(metrics, ""))
    text = ", ".join(f"{k}={_number(v)}" for k, v in flat[:shown])
    return (text + (f" (+{len(flat) - shown})" if len(flat) > shown else "")) or "-"


def _flatten(value: object, prefix: str):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def _artifacts_text(artifacts: tuple[str, ...]) -> str:
    if not artifacts:
        return "-"
    return artifacts[0] + (f" (+{len(artifacts) - 1})" if len(artifacts) > 1 else "")


def _duration(run: RunSummary, now: float) -> str:
    if run.duration is not None:
        return format_seconds(run.duration)
    return format_seconds(now - run.started_at) if run.status == "running" else "-"


def local_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")
