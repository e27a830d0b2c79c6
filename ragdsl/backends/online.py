"""`ragdsl check --online`: contact every server-backed document store a spec names.

Offline checking never touches the network; this is the opt-in step that says,
before a long run, whether each cluster answers with the URL and credentials
the environment gives. A backend takes part by having a `ping(params, base)`
method that returns one line or raises BackendError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ragdsl.backends import BackendError, get_backend
from ragdsl.diagnostics import Diagnostic, error

UNREACHABLE = "E430"


@dataclass(frozen=True)
class StoreStatus:
    node: str  # the first index node using this store
    line: str  # what the cluster said ("Elasticsearch 8.19.3 at ...: cluster green") or the error


def check_stores(checked, spec: Path) -> tuple[list[StoreStatus], list[Diagnostic]]:
    """(one status per distinct store that answered, diagnostics for those that did not)."""
    from ragdsl.ir.expand import expand

    graph = expand(checked)
    answered: list[StoreStatus] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    for node in graph.nodes():
        store = node.params.get("store") if node.kind == "index" else None
        if not isinstance(store, dict):
            continue
        backend = get_backend(store["call"])
        ping = getattr(backend, "ping", None)
        key = json.dumps(store, sort_keys=True)
        if ping is None or key in seen:
            continue
        seen.add(key)
        try:
            answered.append(StoreStatus(node.id, ping(store["args"], Path(spec).resolve().parent)))
        except BackendError as exc:
            problems.append(error(UNREACHABLE, f"{node.id}: {exc}", node.span,
                                  label="this store did not answer", help=exc.hint))
    return answered, problems
