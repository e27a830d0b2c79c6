"""`ragdsl export --haystack NODE`: a retrieve or rag node as standard Haystack YAML.

The pipeline is built from the same description the executor runs, over the
document stores the index nodes saved, with standard components wherever they
behave the same (see ragdsl.lower.spec.portable_generator), so a team can
`Pipeline.loads()` it without ragdsl.

The YAML holds no path of this machine (ragdsl.lower.portable): models are
named by their Hugging Face id and revision where they have one, else (or,
with `--models-dir`, always) by a folder `DIR/<name>` to copy them into;
in-memory stores by a file in `metadata.ragdsl.stores`. What it cannot carry
comes back as notes, which `ragdsl export` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.execute.store import Store
from ragdsl.lower import portable as P


class ExportError(Exception):
    """The node cannot be exported yet (not a pipeline node, or its indexes have not run)."""


@dataclass(frozen=True)
class Exported:
    node: str
    yaml: str
    notes: list[P.Note] = field(default_factory=list)
    copies: list[P.Copy] = field(default_factory=list)  # what the YAML names by folder or file, and the source

    def report(self) -> str:
        return P.render_notes(f"exported {self.node} as Haystack YAML", self.notes)


def export_haystack(compilation, store: Store, node_id: str) -> str:
    """The YAML alone, with the default options (models by hub id where known)."""
    return export_pipeline(compilation, store, node_id).yaml


def export_pipeline(compilation, store: Store, node_id: str, options: P.ExportOptions | None = None) -> Exported:
    from ragdsl.backends import get_backend
    from ragdsl.ir.pipelines import describe
    from ragdsl.lower.haystack import Resources, build, to_yaml
    from ragdsl.lower.spec import BUILTIN, EXAMPLES, FILE, STORE, reference_of
    from ragdsl.suggest import did_you_mean

    options = options or P.ExportOptions()
    graph, plan = compilation.graph, compilation.plan
    pipeline_nodes = [n for n in graph.order() if graph.node(n).kind in ("rag", "retrieve")]
    if node_id not in pipeline_nodes:
        hint = did_you_mean(node_id, pipeline_nodes) or f"pipeline nodes: {', '.join(pipeline_nodes) or 'none'}"
        raise ExportError(f"'{node_id}' is not a rag or retrieve node of this spec; {hint}")
    node = graph.node(node_id)
    spec = describe(graph, node, portable=node.kind == "rag")
    fingerprints = {a.node.id: a.fingerprint.value for a in plan.actions}
    notes: list[P.Note] = []

    stores, memory_files, server_stores = {}, {}, []
    files = {}
    pools: dict[str, list] = {}
    for c in spec.components:
        for _, value in c.params:
            ref = reference_of(value)
            if ref is None:
                continue
            kind, target = ref
            if kind == STORE and target not in stores:
                fp = fingerprints[target]
                if not store.has_result(fp):
                    raise ExportError(f"{target} has not been built yet (no result for fingerprint {fp[:12]}); "
                                      f"run the spec first: ragdsl run {plan.spec}")
                backend_name = graph.node(target).params["store"]["call"]
                folder = store.artifact_dir(fp) / "store"
                stores[target] = get_backend(backend_name).load(folder)
                if backend_name == "memory":
                    from ragdsl.backends.memory import STORE_FILE

                    memory_files[target] = (f"{options.stores_dir.rstrip('/')}/{P.store_file_name(target, fp)}",
                                            folder / STORE_FILE)
                else:
                    server_stores.append((target, backend_name))
            elif kind == FILE and target not in files:
                files[target] = _locate(graph, node_id, target)
                notes.append(P.Note(c.name, f"the template {target} is inlined: the YAML holds its text as of "
                                    "this export, not a reference to the file", P.INFO))
            elif kind == EXAMPLES and target not in pools:
                from ragdsl.lower.fewshot import usable_pool

                evaluated = node.params["questions"]
                tested = f"{evaluated['node']}:{evaluated.get('part') or 'test'}"
                pools[target] = usable_pool(_pool(store, fingerprints, plan.spec, target),
                                            _pool(store, fingerprints, plan.spec, tested),
                                            node.params["examples"]["args"].get("holdout") or "question")
                notes.append(P.Note(c.name, f"the few-shot pool {target} is inlined: the YAML holds its "
                                    f"{len(pools[target])} questions", P.INFO))
            elif kind == BUILTIN:
                notes.append(P.Note(c.name, "ragdsl's default prompt is inlined (its text is in the YAML)", P.INFO))

    weights = [_weights(graph, store, fingerprints, plan.spec, target, role, key)
               for target, role, key in _model_references(spec)]
    models = P.name_models(weights, options)
    spec, pin_notes = P.pin_revisions(spec, models)
    if node.kind == "rag":
        from ragdsl.ir.pipelines import generator_info

        info = generator_info(graph, node.params["generate"]["node"])
        spec, dtype_notes = P.pin_dtype(spec, info.precision, info.device)
        pin_notes += dtype_notes

    metadata = {"ragdsl": {
        "node": node_id, "fingerprint": fingerprints[node_id], "spec": P.spec_shown(plan.spec),
        **({"models": {ref: {"named": n.value + (f"@{n.revision}" if n.revision else ""), "ran": n.weights.ran,
                             "identity": n.weights.identity} for ref, n in models.items()}} if models else {}),
        **({"stores": {target: name for target, (name, _) in memory_files.items()}} if memory_files else {}),
    }}
    pipeline = build(spec, Resources(stores=stores, models={ref: n.value for ref, n in models.items()},
                                     files=files, examples=pools), metadata=metadata)
    text, leftovers = _without_local_paths(to_yaml(pipeline))

    # Copied once the YAML is built: nothing is copied for an export that fails.
    model_copies = P.model_copies(models)
    store_copies = [P.Copy(source, target) for target, source in memory_files.values()]
    try:
        model_copies = P.perform_copies(model_copies, options) if options.copy_models else model_copies
        store_copies = P.perform_copies(store_copies, options) if options.copy_stores else store_copies
    except OSError as exc:
        raise ExportError(f"cannot copy into {exc.filename or 'the export folder'}: {exc.strerror or exc}") from exc
    by_target = {c.target: c for c in model_copies + store_copies}

    notes += P.model_notes(models, options, by_target) + pin_notes
    for target, (name, source) in memory_files.items():
        notes.append(P.memory_store_note(target, name, source, by_target.get(name)))
    for target, backend_name in server_stores:
        notes.append(P.server_store_note(target, backend_name, stores[target].to_dict(),
                                         graph.node(target).params["store"].get("args") or {}))
    notes += _ragdsl_components(spec)

    for where, path, name in leftovers:
        notes.append(P.Note(where, f"named the file {path} of this machine; the YAML names {name} instead, "
                            "relative to the folder the pipeline runs in: copy it there"))
    return Exported(node_id, text, notes, model_copies + store_copies)


def _model_references(spec) -> list[tuple[str, str, str]]:
    """(target, role, param) for each model reference, once each, in component order."""
    from ragdsl.lower.spec import FEWSHOT, MODEL, RANKER, TEXT_EMBEDDER, reference_of

    seen, out = set(), []
    for c in spec.components:
        for key, value in c.params:
            ref = reference_of(value)
            if ref is None or ref[0] != MODEL or ref[1] in seen:
                continue
            seen.add(ref[1])
            role = {TEXT_EMBEDDER: "embedder", FEWSHOT: "embedder", RANKER: "reranker"}.get(c.type, "generator")
            out.append((ref[1], role, key))
    return out


def _weights(graph, store: Store, fingerprints: dict[str, str], spec_path: str, target: str, role: str,
             key: str) -> P.LocalWeights:
    from ragdsl.models import ModelError, resolve_model

    if target in graph and graph.node(target).kind == "finetune":
        fp = fingerprints[target]
        if not store.has_result(fp):
            raise ExportError(f"{target} has not been trained yet (no result for fingerprint {fp[:12]}); "
                              f"run the spec first: ragdsl run {spec_path}")
        part = "adapter" if key == "adapter" else "model"
        folder = store.artifact_dir(fp) / part
        what = "LoRA adapter" if part == "adapter" else "saved weights"
        return P.LocalWeights(target, f"{target} ({what})", f"{target}-{part}", f"fingerprint:{fp}",
                              f"{target} {what} (fingerprint {fp[:12]})", folder if folder.is_dir() else None,
                              why_no_hub=f"a fine-tune's {what}",
                              fetch=f"its result is gone from the store: run the spec again (ragdsl run {spec_path})")
    if target in graph:
        source = graph.node(target).params["source"]

        def locate(written: str) -> Path:
            return _locate(graph, target, written)
    else:
        source, locate = target, Path
    try:
        resolved = resolve_model(source, role, locate)
    except ModelError as exc:
        raise ExportError(f"{target}: {exc}") from exc
    label = target if resolved.reference == target else f"{target} ({resolved.reference})"
    return P.weights_from_resolved(target, label, resolved)


def _ragdsl_components(spec) -> list[P.Note]:
    """Components from ragdsl itself: loading them needs ragdsl, and Haystack's module allowlist."""
    from ragdsl.lower.spec import LOCAL_GENERATOR

    notes = []
    for c in spec.components:
        if not c.type.startswith("ragdsl."):
            continue
        module, _, kind = c.type.rpartition(".")
        why = ""
        if c.type == LOCAL_GENERATOR:
            reasons = [r for r, on in (("a LoRA adapter", c.param("adapter") is not None),
                                       ("chat_template = off", c.param("chat_template") == "off"),
                                       ("seeded sampling (temperature > 0)", (c.param("temperature") or 0) > 0)) if on]
            why = f" (TransformersChatGenerator cannot reproduce {' and '.join(reasons)})" if reasons else ""
        notes.append(P.Note(c.name, f"is ragdsl's {kind}{why}: loading the YAML needs `pip install ragdsl` and "
                            f"Pipeline.loads(text, allowed_modules=[\"{module}\"])"))
    return notes


def _without_local_paths(text: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The YAML with any absolute path of this machine left by a component's serialization replaced."""
    from haystack.marshal import YamlMarshaller

    marshaller = YamlMarshaller()
    data, found = P.strip_local_paths(marshaller.unmarshal(text))
    return (marshaller.marshal(data), found) if found else (text, [])


def _locate(graph, node_id: str, written: str) -> Path:
    node = graph.node(node_id)
    return graph.files[dict(node.data)[written]]


def _pool(store: Store, fingerprints: dict[str, str], spec: str, target: str) -> list:
    """The question records of a few-shot pool ("questions node:part") from the store."""
    import json

    node, _, part = target.rpartition(":")
    fp = fingerprints[node]
    path = store.artifact_dir(fp) / f"{part}.jsonl"
    if not store.has_result(fp) or not path.is_file():
        raise ExportError(f"{node} has not been built yet (no result for fingerprint {fp[:12]}); "
                          f"run the spec first: ragdsl run {spec}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
