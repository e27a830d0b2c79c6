"""`ragdsl models`: list the catalog, explain a model's sources, pull weights ahead of time.

Registered on the main command with `cli.add_command(models)`. Exit codes
follow ragdsl's: 0 ok, 1 a problem the user can fix (unknown name, a failed
download or verification), 2 an internal error.
"""

from __future__ import annotations

import json

import click

from ragdsl.cli_errors import handle_errors
from ragdsl.models.catalog import CATALOG
from ragdsl.models.errors import ModelError
from ragdsl.models.options import Option, choose, hub_option, short_identity, why
from ragdsl.models.prefetch import SOURCES, pull
from ragdsl.models.resolve import HUB_ID, catalog_entry, catalog_options
from ragdsl.models.sources import HubSource

_handle_errors = handle_errors(ModelError)


@click.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """Model weights: the catalog, where each model comes from, and fetching ahead of time."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@models.command(name="list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="How the table is printed.")
@_handle_errors
def list_(fmt: str) -> None:
    """The catalog: each model's role, the source it resolves to now, and its identity."""
    chosen = {name: choose(catalog_options(entry)) for name, entry in CATALOG.items()}
    if fmt == "json":
        rows = [{"name": name, "role": CATALOG[name].role, "source": o.source, "available": o.available,
                 "identity": o.identity, "locator": o.locator} for name, o in chosen.items()]
        click.echo(json.dumps(rows, indent=2))
        return
    table = [("name", "role", "source", "available", "identity")]
    table += [(name, CATALOG[name].role, o.source, "yes" if o.available else "no", short_identity(o.identity))
              for name, o in chosen.items()]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    ready = sum(o.available for o in chosen.values())
    click.echo(f"\n{len(chosen)} models, {ready} available now. `ragdsl models show NAME` explains a model's "
               "sources; `ragdsl models pull NAME` fetches it.")


@models.command()
@click.argument("name")
@_handle_errors
def show(name: str) -> None:
    """Every source of NAME in order of preference, which one is chosen, and why."""
    if name in CATALOG:
        entry = catalog_entry(name)
        options = catalog_options(entry)
        click.echo(f"{entry.name} ({entry.role}{f', {entry.dims} dims' if entry.dims else ''})")
        click.echo(f"  {entry.description}")
        click.echo(f"  licence: {entry.license}")
    elif HUB_ID.match(name):
        options = [hub_option(HubSource(name), name)]
        click.echo(f"{name} (a Hugging Face id; not in ragdsl's catalog)")
    else:
        catalog_entry(name)  # raises with a did-you-mean
        return
    chosen = choose(options)
    click.echo("\nsources, in order of preference:")
    for i, option in enumerate(options, 1):
        click.echo(_describe(i, option, option is chosen))
    click.echo(f"\nchosen: {chosen.locator}, because {why(options, chosen)}.")
    click.echo(f"identity (enters fingerprints): {chosen.identity}")
    if not chosen.available:
        click.echo(f"to have it now: {chosen.hint}")


def _describe(i: int, option: Option, chosen: bool) -> str:
    lines = [f"  {i}. {option.locator}{'   <- chosen' if chosen else ''}",
             f"     {'available' if option.available else 'fetchable' if option.fetchable else 'unavailable'}: "
             f"{option.state}",
             f"     identity: {option.identity}"]
    return "\n".join(lines)


@models.command(name="pull")
@click.argument("name")
@click.option("--source", type=click.Choice(SOURCES), default=None,
              help="Only this kind of source (default: the one resolution chooses, then the others).")
@_handle_errors
def pull_(name: str, source: str | None) -> None:
    """Fetch, assemble, verify and convert NAME's weights now, so runs need no network."""
    resolved, folder = pull(name, progress=lambda line: click.echo(line, err=True), source=source)
    click.echo(f"{name}: ready at {folder}")
    click.echo(f"identity: {resolved.identity}")
