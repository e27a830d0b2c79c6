"""Document-store backends, by name: built-ins, and third-party ones from entry points.

`get_backend("memory")` returns the embedded in-memory backend. Another
package adds one by declaring an entry point in the group `ragdsl.backends`
(`name = "package.module:BackendClass"`); the class (or instance) must satisfy
`DocumentStoreBackend`. Nothing here imports a backend until it is asked for.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from ragdsl.backends.base import BackendError, DocumentStoreBackend, ServerBackend
from ragdsl.backends.indexing import Passage, embedding_dimension, index_documents

ENTRY_POINT_GROUP = "ragdsl.backends"

# name -> "module:attribute", imported on first use
BUILTIN: dict[str, str] = {
    "memory": "ragdsl.backends.memory:MemoryBackend",
    "elasticsearch": "ragdsl.backends.elasticsearch:ElasticsearchBackend",
}

_loaded: dict[str, DocumentStoreBackend] = {}


class UnknownBackendError(LookupError):
    """No built-in backend or entry point has this name."""


def available_backends() -> list[str]:
    """Every backend name: built-ins, then those registered by installed packages."""
    names = list(BUILTIN)
    names += sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN)
    return names


def get_backend(name: str) -> DocumentStoreBackend:
    """The backend called `name` (one instance per process)."""
    if name in _loaded:
        return _loaded[name]
    if name in BUILTIN:
        module_name, _, attr = BUILTIN[name].partition(":")
        obj = getattr(importlib.import_module(module_name), attr)
    else:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            raise UnknownBackendError(
                f"no document-store backend {name!r} (available: {', '.join(available_backends())}); "
                f"a package provides one with an entry point in the group {ENTRY_POINT_GROUP!r}")
        obj = found[0].load()
    backend = obj() if isinstance(obj, type) else obj
    if not isinstance(backend, DocumentStoreBackend):
        raise TypeError(f"backend {name!r} ({obj!r}) does not implement DocumentStoreBackend")
    _loaded[name] = backend
    return backend


__all__ = ["BUILTIN", "BackendError", "ENTRY_POINT_GROUP", "DocumentStoreBackend", "ServerBackend",
           "UnknownBackendError", "available_backends", "get_backend", "index_documents", "embedding_dimension",
           "Passage"]
