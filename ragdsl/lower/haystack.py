"""PipelineSpec -> a real `haystack.Pipeline`, and Haystack YAML for export.

`build` instantiates each component by its class name with its init params
(references resolved through `Resources`), adds it with `add_component` and
wires it with `connect`, which checks socket names and types, so a spec that
builds here is a pipeline Haystack accepts. Models load later, in `warm_up`
(Haystack calls it on the first run), so building is cheap.

`to_yaml` is Haystack's own serialization (`Pipeline.dumps`'s marshaller over
`Pipeline.to_dict`); `Pipeline.loads` reads it back without ragdsl unless the
pipeline contains ragdsl's LocalGenerator (see docs/lowering.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragdsl.lower import spec as S
from ragdsl.lower.prompts import EXAMPLES_VARIABLE, PROMPT_VARIABLES, REQUIRED_VARIABLES


class LoweringError(Exception):
    """A pipeline cannot be built here: a missing resource or an optional package not installed."""


@dataclass(frozen=True)
class Resources:
    """Live things a PipelineSpec refers to."""

    stores: Mapping[str, Any] = field(default_factory=dict)  # index node id -> document store
    models: Mapping[str, str | Path] = field(default_factory=dict)  # model reference -> folder (or hub id)
    files: Mapping[str, str | Path] = field(default_factory=dict)  # path as written in the spec -> file
    examples: Mapping[str, list] = field(default_factory=dict)  # "questions node:part" -> question records
    device: str | None = None  # "cpu" / "cuda" for embedders and rankers; None: Haystack picks

    def store(self, node: str) -> Any:
        if node not in self.stores:
            raise LoweringError(f"no document store for {node} (have: {_names(self.stores)})")
        return self.stores[node]

    def model(self, reference: str) -> str:
        if reference not in self.models:
            raise LoweringError(f"no local folder for model {reference!r} (have: {_names(self.models)})")
        return str(self.models[reference])

    def pool(self, target: str) -> list:
        if target not in self.examples:
            raise LoweringError(f"no few-shot pool {target!r} (have: {_names(self.examples)})")
        return list(self.examples[target])

    def text(self, path: str) -> str:
        if path not in self.files:
            raise LoweringError(f"no file for {path!r} (have: {_names(self.files)})")
        return Path(self.files[path]).read_text(encoding="utf-8")


def build(spec: S.PipelineSpec, resources: Resources, *, metadata: dict[str, Any] | None = None) -> Any:
    """A connect-checked `haystack.Pipeline` for `spec`. Raises LoweringError for a missing resource
    or package; Haystack's own errors (PipelineConnectError, ValueError) mean a bug in lowering."""
    from haystack import Pipeline

    pipeline = Pipeline(metadata=metadata or {})
    few_shot = any(c.type == S.FEWSHOT for c in spec.components)
    for c in spec.components:
        cls = component_class(c.type)
        kwargs = {key: _resolve(value, resources) for key, value in c.params}
        kwargs.update(_fixed_params(c.type, resources, few_shot))
        pipeline.add_component(c.name, cls(**kwargs))
    for sender, receiver in spec.connections:
        pipeline.connect(sender, receiver)
    return pipeline


def to_yaml(pipeline: Any) -> str:
    """Haystack YAML for a pipeline (`Pipeline.loads` reads it back).

    In-memory document stores are written with `shared: true`: after
    `InMemoryDocumentStore.load_from_disk(<index folder>/store.json)` (the file
    the memory backend saves, with the same index name), a pipeline loaded from
    this YAML in the same process sees those documents.
    """
    from haystack.marshal import YamlMarshaller

    return YamlMarshaller().marshal(_exportable(pipeline.to_dict()))


def from_yaml(text: str) -> Any:
    """`Pipeline.loads` with ragdsl's component module allowed (Haystack refuses unlisted modules)."""
    from haystack import Pipeline

    return Pipeline.loads(text, allowed_modules=[COMPONENTS_MODULE, FEWSHOT_MODULE, ES_RETRIEVER_MODULE])


COMPONENTS_MODULE = "ragdsl.lower.components"
FEWSHOT_MODULE = S.FEWSHOT.rpartition(".")[0]
ES_RETRIEVER_MODULE = S.BM25_ELASTICSEARCH.rpartition(".")[0]


def component_class(type_name: str) -> type:
    """Import a component class by its fully qualified name, with an install hint when it is missing."""
    module_name, _, class_name = type_name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LoweringError(f"cannot import {type_name}: {exc}; {_install_hint(type_name)}") from exc
    try:
        return getattr(module, class_name)
    except AttributeError as exc:
        raise LoweringError(f"{module_name} has no component {class_name}") from exc


def _install_hint(type_name: str) -> str:
    if ".elasticsearch." in type_name:
        return "install it with `pip install 'ragdsl[elasticsearch]'`"
    return "install ragdsl's runtime with `pip install 'ragdsl[run]'`"


def _resolve(value: object, resources: Resources) -> object:
    ref = S.reference_of(value)
    if ref is None:
        return value
    kind, target = ref
    if kind == S.STORE:
        return resources.store(target)
    if kind == S.MODEL:
        return resources.model(target)
    if kind == S.BUILTIN:
        return S.BUILTINS[target]
    if kind == S.EXAMPLES:
        return resources.pool(target)
    return resources.text(target)


def _fixed_params(type_name: str, resources: Resources, few_shot: bool = False) -> dict[str, Any]:
    """Init params every component of a type gets: plumbing, not something a spec varies."""
    params: dict[str, Any] = {}
    if type_name == S.PROMPT_BUILDER:
        variables = [*PROMPT_VARIABLES, *([EXAMPLES_VARIABLE] if few_shot else [])]
        params.update(variables=variables, required_variables=list(REQUIRED_VARIABLES))
    if type_name == S.TEXT_EMBEDDER:
        params["progress_bar"] = False
    if type_name in (S.TEXT_EMBEDDER, S.RANKER, S.CHAT_GENERATOR) and resources.device is not None:
        from haystack.utils import ComponentDevice

        params["device"] = ComponentDevice.from_str(resources.device)
    return params


_MEMORY_STORE = "haystack.document_stores.in_memory.document_store.InMemoryDocumentStore"


def _exportable(data: Any) -> Any:
    """A copy of serialized pipeline data with nothing shared (no YAML anchors) and in-memory stores shared."""
    if isinstance(data, dict):
        copy = {key: _exportable(value) for key, value in data.items()}
        if copy.get("type") == _MEMORY_STORE and isinstance(copy.get("init_parameters"), dict):
            copy["init_parameters"]["shared"] = True
        return copy
    if isinstance(data, list):
        return [_exportable(value) for value in data]
    return data


def _names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(sorted(mapping)) or "nothing"
