"""`ragdsl store`: the result store itself (`verify [--repair]`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ragdsl.cli_errors import EXIT_OK, EXIT_USER, UserError, handle_errors


@click.group()
def store() -> None:
    """The result store (.ragdsl): check it, repair it."""


@store.command()
@click.option("--store", "store_dir", type=click.Path(path_type=Path), default=None,
              help="Result store folder (default: $RAGDSL_STORE or ./.ragdsl).")
@click.option("--repair", is_flag=True, help="Remove what is damaged or left over; the next run recomputes it.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors()
def verify(store_dir: Path | None, repair: bool, fmt: str) -> None:
    """Hash every stored artifact against its record; find malformed records, leftovers, a damaged run database.

    Exits 0 when the store is sound (or everything found was repaired), 1 otherwise.
    """
    from ragdsl.execute.store import Store
    from ragdsl.execute.verify import verify_store

    found = Store(store_dir)
    if not found.root.is_dir():
        raise UserError(f"no result store at {found.root.as_posix()}", "pass --store or run a spec first")
    result = verify_store(found, repair=repair)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        for f in result.findings:
            click.echo(f"{'repaired' if f.repaired else 'problem'}: {f.what} {f.where}: {f.problem}")
        tmp = f", {result.temporaries} stale temporaries removed" if result.temporaries else ""
        damaged = sum(f.what == "result" for f in result.findings)
        click.echo(f"{result.results} results checked: {result.intact} intact, {damaged} damaged{tmp}")
        if result.unlisted:
            click.echo(f"{result.unlisted} results were recorded before artifacts were hashed: "
                       + ("their files are now listed as they are" if repair else
                          "only their folders can be checked (`--repair` lists their files as they are now)"))
        if not result.ok:
            click.echo("run `ragdsl store verify --repair` to remove them; the next run recomputes them", err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_USER)
