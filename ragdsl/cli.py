"""The `ragdsl` command: argument parsing only; the work happens in the library.

Exit codes: 0 success (warnings allowed), 1 a problem with the user's input
(spec errors, bad options, unformatted files under --check), 2 an internal
error (a bug in ragdsl).
"""

from __future__ import annotations

import contextvars
import functools
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import click

from ragdsl._version import __version__
from ragdsl.cli_errors import EXIT_INTERNAL, EXIT_OK, EXIT_USER, UserError, handle_errors
from ragdsl.diagnostics import Diagnostic, render, summary

_handle_errors = handle_errors()


def _spec_files(paths: tuple[Path, ...]) -> list[tuple[Path, Path | None]]:
    """Folders stand for every .rag file below them (sorted), each with the folder as its project root
    (a folder named on the command line is one project); files are taken as given, with no root."""
    out: list[tuple[Path, Path | None]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.rag") if p.is_file())
            if not found:
                raise UserError(f"no .rag files in folder '{path.as_posix()}'")
            out += [(spec, path) for spec in found]
        else:
            out.append((path, None))
    return out


def _emit_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str], fmt: str = "text") -> None:
    if fmt == "json":
        import json

        click.echo(json.dumps([d.to_json() for d in diagnostics], indent=2))
        return
    for d in diagnostics:
        click.echo(render(d, sources) + "\n", err=True)


@dataclass(frozen=True)
class Overrides:
    """What a command changes in the spec it reads: profile files first, then each --set."""

    sets: tuple[str, ...] = ()
    profiles: tuple[Path, ...] = ()
    root: Path | None = None  # where the spec may read (ragdsl.access)
    allow_read: tuple[Path, ...] = ()

    @property
    def grants(self):
        from ragdsl.access import ReadGrants

        return ReadGrants(self.root, self.allow_read)


def _set_option(command):
    """--profile FILE, --set KIND.NAME.PARAM=VALUE, --root DIR and --allow-read PATH, passed on as one
    `overrides` argument."""

    @functools.wraps(command)
    def with_overrides(*args, sets: tuple[str, ...], profiles: tuple[Path, ...], root: Path | None,
                       allow_read: tuple[Path, ...], **kwargs):
        return command(*args, overrides=Overrides(tuple(sets), tuple(profiles), root, tuple(allow_read)), **kwargs)

    with_overrides = click.option(
        "--allow-read", "allow_read", multiple=True, metavar="PATH",
        type=click.Path(path_type=Path, exists=True),
        help="Let the spec read this folder or file outside its project (repeatable; also $RAGDSL_ALLOW_READ).",
    )(with_overrides)
    with_overrides = click.option(
        "--root", "root", default=None, metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False),
        help="The project folder the spec may read in (default: the spec's folder, or its experiment's `root`).",
    )(with_overrides)
    with_overrides = click.option(
        "--set", "sets", multiple=True, metavar="KIND.NAME.PARAM=VALUE",
        help="Override a parameter, e.g. --set finetune.tuned.epochs=3 (repeatable; after --profile).")(with_overrides)
    return click.option(
        "--profile", "profiles", multiple=True, metavar="FILE", type=click.Path(path_type=Path),
        help="A file of overrides, one KIND.NAME.PARAM = VALUE per line (repeatable).")(with_overrides)

_spec_argument = click.argument("spec", type=click.Path(path_type=Path))


class _Cli(click.Group):
    """Remembers the arguments it was invoked with, for run records (sys.argv is the host's in tests)."""

    def main(self, args=None, *rest, **kwargs):
        token = _ARGV.set(tuple(args) if args is not None else tuple(sys.argv[1:]))
        try:
            return super().main(args, *rest, **kwargs)
        finally:
            _ARGV.reset(token)


_ARGV: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("ragdsl_argv", default=())


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ragdsl")
def cli() -> None:
    """ragdsl: declare RAG experiments, see exactly what will run, and run them."""


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@_set_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="How diagnostics are printed (json: a list on stdout).")
@click.option("--online", is_flag=True,
              help="Also contact each server-backed document store (Elasticsearch) the specs name.")
@click.option("--data", "data", is_flag=True,
              help="Also read every data source (files, named datasets) and report all data errors at once.")
@_handle_errors
def check(specs: tuple[Path, ...], overrides: Overrides, fmt: str, online: bool, data: bool) -> None:
    """Check specs for errors without planning or running anything."""
    from ragdsl.semantics import check_spec

    failed = False
    everything: list[Diagnostic] = []
    for spec, folder in _spec_files(specs):
        grants = overrides.grants if overrides.root or folder is None else replace(overrides.grants, root=folder)
        compilation = None
        if data:  # the data check needs the expanded graph: compile once, and report its check
            from ragdsl.compiler import compile_spec

            compilation = compile_spec(spec, overrides.sets, None, profiles=overrides.profiles, grants=grants)
            checked = compilation.checked
        else:
            checked = check_spec(spec, overrides.sets, overrides.profiles, grants)
        diagnostics = list(checked.diagnostics)
        if online and checked.ok:
            from ragdsl.backends.online import check_stores

            answered, problems = check_stores(checked, spec)
            diagnostics += problems
            if fmt == "text":
                for answer in answered:
                    click.echo(f"{spec.as_posix()}: {answer.node}: {answer.line}")
        read = ""
        if compilation is not None and compilation.graph is not None and not any(d.is_error for d in diagnostics):
            from ragdsl.data.validate import validate_data

            found = validate_data(compilation)
            diagnostics += found.diagnostics
            read = f"; {found.sources} data source{'s' if found.sources != 1 else ''} read"
        ok = not any(d.is_error for d in diagnostics)
        everything += diagnostics
        if fmt == "text":
            _emit_diagnostics(diagnostics, checked.sources())
            status = "ok" if ok else "failed"
            click.echo(f"{spec.as_posix()}: {status} ({summary(diagnostics)}{read})", err=not ok)
        failed |= not ok
    if fmt == "json":
        _emit_diagnostics(everything, {}, "json")
    sys.exit(EXIT_USER if failed else EXIT_OK)


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Only report files that would change; exit 1 if any.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of rewriting.")
@_handle_errors
def fmt(specs: tuple[Path, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite specs in the canonical layout (comments are kept)."""
    from ragdsl.formatting import format_file

    changed: list[Path] = []
    broken = 0
    files = [spec for spec, _ in _spec_files(specs)]
    for spec in files:
        result = format_file(spec)
        if result.diagnostics:
            _emit_diagnostics(result.diagnostics, result.sources)
            broken += 1
            continue
        if result.changed:
            changed.append(spec)
            if show_diff:
                click.echo(result.diff(), nl=False)
            elif check_only:
                click.echo(f"would reformat {spec.as_posix()}", err=True)
            else:
                _write(spec, result.formatted)
                click.echo(f"reformatted {spec.as_posix()}", err=True)
    n = len(files) - len(changed) - broken
    click.echo(f"{len(changed)} file{'s' if len(changed) != 1 else ''} "
               f"{'would be ' if check_only or show_diff else ''}reformatted, {n} unchanged", err=True)
    sys.exit(EXIT_USER if broken or ((check_only or show_diff) and changed) else EXIT_OK)


def _compile(spec: Path, overrides: Overrides, store_dir: Path | None):
    from ragdsl.compiler import compile_spec
    from ragdsl.execute.store import Store

    compilation = compile_spec(spec, overrides.sets, Store(store_dir), profiles=overrides.profiles,
                               grants=overrides.grants)
    _emit_diagnostics(compilation.diagnostics, compilation.checked.sources())
    if not compilation.ok:
        click.echo(f"{spec.as_posix()}: {summary(compilation.diagnostics)}; nothing planned", err=True)
        sys.exit(EXIT_USER)
    return compilation


_store_option = click.option("--store", "store_dir", type=click.Path(path_type=Path), default=None,
                             help="Result store folder (default: $RAGDSL_STORE or ./.ragdsl).")


@cli.command(name="compile")
@_spec_argument
@click.option("--dry-run", is_flag=True, help="Show the plan only; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "dot", "mermaid"]), default="text",
              help="How the plan is printed.")
@click.option("--brief", is_flag=True, help="Text format: one line per node.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the plan here instead of stdout.")
@_set_option
@_store_option
@_handle_errors
def compile_(spec: Path, dry_run: bool, fmt: str, brief: bool, output: Path | None,
             overrides: Overrides, store_dir: Path | None) -> None:
    """Check and expand a spec into its plan: every node, run or cached, and why.

    Without --dry-run the plan's JSON form is also saved as plan.json in the
    store, for tools that want the compiled experiment.
    """
    from ragdsl.execute.store import Store
    from ragdsl.plan.cost import estimate_compilation
    from ragdsl.plan.render import RENDERERS, to_json, to_text

    compilation = _compile(spec, overrides, store_dir)
    plan = compilation.plan
    shown = fmt == "json" or (fmt == "text" and not brief)
    cost = estimate_compilation(compilation, Store(store_dir)) if shown or not dry_run else None
    if fmt == "text":
        text = to_text(plan, verbose=not brief, cost=cost)
    else:
        text = to_json(plan, cost=cost) if fmt == "json" else RENDERERS[fmt](plan)
    if output is not None:
        _write(output, text)
        click.echo(f"wrote {output.as_posix()}", err=True)
    else:
        click.echo(text, nl=False)
    if not dry_run:
        _write(Store(store_dir).root / "plan.json", to_json(plan, cost=cost))


def _write(path: Path, text: str) -> None:
    from ragdsl.execute.store import atomic_write_text

    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise UserError(f"cannot write '{path.as_posix()}': {exc.strerror or exc}") from exc


@cli.command()
@_spec_argument
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid"]), default="dot")
@_set_option
@_store_option
@_handle_errors
def graph(spec: Path, fmt: str, overrides: Overrides, store_dir: Path | None) -> None:
    """Draw the experiment DAG (Graphviz dot or Mermaid), offline."""
    from ragdsl.plan.render import RENDERERS

    compilation = _compile(spec, overrides, store_dir)
    click.echo(RENDERERS[fmt](compilation.plan), nl=False)


@cli.command()
@_spec_argument
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Nodes run at once (default: CPU cores, at most 4).")
@click.option("--heavy-jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Model-loading nodes (index, rag, finetune, evaluate) run at once.")
@click.option("--keep-going", is_flag=True, help="After a node fails, keep running what does not depend on it.")
@click.option("--progress", "progress_mode", type=click.Choice(["auto", "rich", "plain", "quiet"]), default="auto",
              help="auto: a live display on a terminal, plain lines otherwise.")
@click.option("--budget", "budget_text", default=None, metavar="BUDGET",
              help="Refuse to start when the plan's estimate exceeds this: a duration (90m, 2h, 1h30m, 3600s), "
                   "tokens (200000tokens, 200k tokens: prompt and new tokens of every generation and judge call, "
                   "and training tokens) or calls (500calls: prompts generated and judgments). Counts not known "
                   "before the run are counted at their assumed defaults (docs/cost.md).")
@_set_option
@_store_option
@_handle_errors
def run(spec: Path, jobs: int | None, heavy_jobs: int, keep_going: bool, progress_mode: str,
        budget_text: str | None, overrides: Overrides, store_dir: Path | None) -> None:
    """Run a spec: every node not already cached, as its inputs finish.

    Results are cached by fingerprint in the store; a re-run of an unchanged
    spec recomputes nothing, and an interrupted run resumes where it stopped.
    """
    from ragdsl.execute.run import RunOptions, run_plan
    from ragdsl.execute.store import Store

    budget = _budget(budget_text)
    compilation = _compile(spec, overrides, store_dir)
    if budget is not None:
        _check_budget(compilation, Store(store_dir), budget)
    missing = [d for d in compilation.resolution if d.code in ("W420", "W421")]
    if missing:
        models = sum(d.code == "W420" for d in missing)
        datasets = len(missing) - models
        what = [f"{n} {noun}{'s' if n != 1 else ''}" for n, noun in ((models, "model"), (datasets, "dataset")) if n]
        click.echo(f"error: {' and '.join(what)} cannot be loaded here (see the warnings above); "
                   "nothing was run", err=True)
        sys.exit(EXIT_USER)
    from ragdsl.data.validate import validate_data
    from ragdsl.plan.planner import RUN

    found = validate_data(compilation, {a.node.id for a in compilation.plan.actions if a.op == RUN})
    if not found.ok:  # every data error of the sources about to be read, before any node runs
        _emit_diagnostics(found.diagnostics, compilation.checked.sources())
        if not keep_going:
            click.echo(f"{spec.as_posix()}: {summary(found.diagnostics)} in the data; nothing was run", err=True)
            sys.exit(EXIT_USER)
        click.echo(f"{spec.as_posix()}: {summary(found.diagnostics)} in the data; --keep-going: running "
                   "what does not read it", err=True)
    store = Store(store_dir)
    options = RunOptions(jobs=jobs, heavy_jobs=heavy_jobs, keep_going=keep_going, progress=progress_mode,
                         argv=_ARGV.get())
    try:
        outcome, progress = run_plan(compilation, store, options)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished nodes are kept; run again to resume", err=True)
        sys.stderr.flush()
        os._exit(130)  # worker threads may be inside a model call; their partial work is discarded
    _remember_rates(store)
    click.echo(progress.summary(), err=True)
    for failure in outcome.failed:
        node = compilation.graph.node(failure.node)
        where = f"{node.span.file}:{node.span.line}:{node.span.col}"
        click.echo(f"error: {failure.node} failed (declared at {where}): {failure.error}", err=True)
        if failure.hint and not failure.internal:
            click.echo(f"  = help: {failure.hint}", err=True)
        elif failure.internal:
            click.echo(failure.hint.rstrip(), err=True)
    click.echo(f"run {outcome.run_id}: details with `ragdsl runs show {outcome.run_id}`", err=True)
    if any(f.internal for f in outcome.failed):
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK if outcome.ok else EXIT_USER)


def _budget(text: str | None):
    if text is None:
        return None
    from ragdsl.plan.cost import parse_budget

    try:
        return parse_budget(text)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def _check_budget(compilation, store, budget) -> None:
    """Stop (exit 1) before anything runs when the plan's estimate exceeds the budget."""
    from ragdsl.plan.cost import estimate_compilation, over_budget

    cost = estimate_compilation(compilation, store)
    refusal = over_budget(cost, budget)
    if refusal is not None:
        raise UserError(refusal, "raise --budget, or make the plan smaller (limit, test, samples); "
                                 "`ragdsl compile --dry-run` shows each node's estimate")
    where = f" on {cost.where()}" if budget.unit == "seconds" else ""
    click.echo(f"estimate {budget.estimate(cost.amount(budget.unit))}{where}: within the budget of {budget.show()}",
               err=True)


def _remember_rates(store) -> None:
    """Fold this run's timings into the rates file; an estimate's bookkeeping never fails a run."""
    import contextlib

    from ragdsl.plan.cost import remember_runs

    with contextlib.suppress(Exception):
        remember_runs(store)


@cli.command()
@_spec_argument
@click.option("--calibrate", is_flag=True,
              help="Before estimating, time a short generation, judgment or embedding with each model of the spec "
                   "that has no measured rate on this machine, and keep the rates (in ragdsl's cache, rates.json).")
@click.option("--force", is_flag=True, help="With --calibrate: measure again models already measured.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="json: the plan's estimate as `plan_dict` gives it (per node `cost`, and `summary.estimate`).")
@_set_option
@_store_option
@_handle_errors
def estimate(spec: Path, calibrate: bool, force: bool, fmt: str, overrides: Overrides,
             store_dir: Path | None) -> None:
    """What running a spec will cost: each node's work and time on this machine, and the total.

    Rates come from earlier runs (observed), from --calibrate (measured), or from documented
    defaults; see docs/cost.md.
    """
    from ragdsl.execute.store import Store
    from ragdsl.plan.cost import calibrate_plan, estimate_compilation

    compilation = _compile(spec, overrides, store_dir)
    store = Store(store_dir)
    if calibrate:
        for line in calibrate_plan(compilation, force=force):
            click.echo(line, err=True)
    cost = estimate_compilation(compilation, store)
    if fmt == "json":
        import json

        click.echo(json.dumps({"nodes": {c.node: c.to_json() for c in cost.nodes}, "estimate": cost.summary_json()},
                              indent=2, ensure_ascii=False))
        return
    width = max((len(c.node) for c in cost.running), default=0)
    for c in cost.running:
        click.echo(f"{c.node.ljust(width)}  {c.text(cost.device)}")
    click.echo(cost.total_line() if cost.running else "nothing to run: every node is cached")


@cli.command()
@_spec_argument
@click.argument("node")
@click.option("--haystack", "haystack", is_flag=True, required=True,
              help="Write the node's pipeline as Haystack YAML (the only format so far).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write here instead of stdout.")
@click.option("--models-dir", "models_dir", default=None, metavar="DIR",
              help="Name every model as a folder DIR/<name> instead of its Hugging Face id (for machines "
                   "without hub access). Models with no hub id always get a folder, under models/ by default.")
@click.option("--copy-models", is_flag=True,
              help="Copy the model folders the YAML names into that folder.")
@click.option("--stores-dir", "stores_dir", default="stores", show_default=True, metavar="DIR",
              help="Folder the YAML's metadata names for in-memory stores' files.")
@click.option("--copy-stores", is_flag=True, help="Copy the in-memory stores' files into that folder.")
@_set_option
@_store_option
@_handle_errors
def export(spec: Path, node: str, haystack: bool, output: Path | None, models_dir: str | None, copy_models: bool,
           stores_dir: str, copy_stores: bool, overrides: Overrides, store_dir: Path | None) -> None:
    """Export a rag or retrieve NODE as a standard Haystack pipeline (YAML).

    The document stores come from the index nodes' results, so run the spec
    first. The YAML holds no path of this machine: models are named by their
    Hugging Face id and revision where they have one, else by a folder to copy
    them into; relative folders are relative to the YAML's folder (run the
    pipeline from there). What the YAML cannot carry is listed on stderr
    (see docs/lowering.md).
    """
    from ragdsl.execute.store import Store
    from ragdsl.lower.export import ExportError, export_pipeline
    from ragdsl.lower.portable import ExportOptions

    for name, value in (("--models-dir", models_dir), ("--stores-dir", stores_dir)):
        if value is not None and (not value.strip() or value.startswith("~")):
            raise UserError(f"{name} {value!r}: give a folder without ~ (Haystack and transformers do not expand it)")
    options = ExportOptions(models_dir=models_dir, stores_dir=stores_dir, copy_models=copy_models,
                            copy_stores=copy_stores, base=output.parent if output is not None else None)
    compilation = _compile(spec, overrides, store_dir)
    try:
        exported = export_pipeline(compilation, Store(store_dir), node, options)
    except ExportError as exc:
        raise UserError(str(exc)) from exc
    if output is None:
        click.echo(exported.yaml, nl=False)
    else:
        _write(output, exported.yaml)
        click.echo(f"wrote {output.as_posix()}", err=True)
    click.echo(exported.report(), err=True, nl=False)


@cli.group()
def data() -> None:
    """Named datasets: list them, inspect one, fetch ahead of time."""


@data.command(name="list")
@_handle_errors
def data_list() -> None:
    """Every named dataset, its domain and licence, and where it would be read from here."""
    from ragdsl.data import fetch
    from ragdsl.data.catalog import CATALOG

    rows = [(name, d.domain, _where(fetch.resolve(name)), d.licence) for name, d in CATALOG.items()]
    widths = [max(len(r[i]) for r in (("name", "domain", "here", "licence"), *rows)) for i in range(3)]
    for row in (("name", "domain", "here", "licence"), *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])


def _where(resolved) -> str:
    if resolved.available:
        return f"{resolved.source} (available)"
    return f"{resolved.source} (fetched when used)" if resolved.fetchable else "missing"


@data.command(name="show")
@click.argument("name")
@click.option("--spec", "spec", type=click.Path(path_type=Path), default=None,
              help="Describe the source of corpus/questions NAME declared in this spec.")
@click.option("--domain", default=None, help="A named subset, e.g. biomedical (squad_v1).")
@click.option("--examples", type=click.IntRange(min=0), default=3, show_default=True)
@_set_option
@_handle_errors
def data_show(name: str, spec: Path | None, domain: str | None, examples: int,
              overrides: Overrides) -> None:
    """Describe a dataset: a named one (`ragdsl data list`) or a spec's corpus/questions NAME."""
    from ragdsl.data import DataError, describe, fetch
    from ragdsl.data.bigbench_sets import COLLECTIONS
    from ragdsl.data.catalog import CATALOG

    header = ""
    if spec is not None:
        compilation = _compile(spec, overrides, None)
        nodes = [compilation.graph.node(n) for n in compilation.graph.order()]
        found = [n for n in nodes if n.kind in ("corpus", "questions") and n.decl == name]
        if not found:
            from ragdsl.suggest import did_you_mean

            names = sorted({n.decl for n in nodes if n.kind in ("corpus", "questions")})
            raise UserError(f"no corpus or questions named '{name}' in {spec.as_posix()}. "
                            f"{did_you_mean(name, names)} declared: {', '.join(names)}".replace(". .", "."))
        node, files = found[0], compilation.graph.files
        source = node.params["source"]

        def locate(written: str) -> Path:
            return files[dict(node.data)[written]]
    elif name in CATALOG:
        resolved = fetch.resolve(name)
        entry = CATALOG[name]
        header = (f"{entry.title} ({entry.domain})\n{entry.summary}\n"
                  f"here: {resolved.locator}: {resolved.state}\n\n")
        if not resolved.available and not resolved.fetchable:
            click.echo(header, nl=False)
            raise UserError(f"dataset '{name}' is not available here", resolved.hint)
        source = {"call": "dataset", "args": {"name": name, "domain": domain, "titles": []}}
        locate = Path
    elif name in COLLECTIONS:  # the BIG-bench sdist's collections, for those who have it
        source = {"call": "bigbench", "args": {"collection": name, "domain": domain, "titles": []}}
        locate = Path
    else:
        from ragdsl.suggest import did_you_mean

        raise UserError(f"'{name}' is not a named dataset. {did_you_mean(name, CATALOG)} datasets: "
                        f"{', '.join(CATALOG)} (`ragdsl data list`); or name a spec's corpus/questions "
                        "with --spec FILE".replace(". .", "."))
    try:
        click.echo(header + describe(source, locate, examples=examples))
    except DataError as exc:
        raise UserError(exc.message, exc.hint) from exc


@data.command(name="pull")
@click.argument("names", nargs=-1, required=True)
@_handle_errors
def data_pull(names: tuple[str, ...]) -> None:
    """Fetch named datasets into ragdsl's cache now, so that runs need no network."""
    from ragdsl.data import DataError, fetch

    for name in names:
        try:
            resolved = fetch.resolve(name)
            if resolved.source in ("folder", "cache"):
                fetch.files(resolved)  # verifies them
                click.echo(f"{name}: available ({resolved.locator}), verified")
                continue
            if not resolved.available and not resolved.fetchable:
                raise DataError(f"dataset '{name}' cannot be fetched here: {resolved.state}", resolved.hint)
            click.echo(f"{name}: fetching from {resolved.locator} ...")
            from ragdsl.data.named import load

            load("dataset", {"name": name})
            click.echo(f"{name}: done ({fetch.resolve(name).locator})")
        except DataError as exc:
            raise UserError(exc.message, exc.hint) from exc


def _register_groups() -> None:
    # Command groups that live beside the code they drive; importing them is light.
    from ragdsl.execute.runs_cli import runs
    from ragdsl.execute.store_cli import store
    from ragdsl.models.cli import models

    cli.add_command(runs)
    cli.add_command(store)
    cli.add_command(models)


_register_groups()


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="ragdsl", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:  # bad options or arguments: the user's input
        exc.show()
        code = EXIT_USER
    except click.Abort:
        click.echo("aborted", err=True)
        code = 130
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
