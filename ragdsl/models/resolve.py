"""Resolving a model reference to where its weights come from, without loading anything.

Runs while checking and planning, so it only reads the disk and the
environment: a few stats, no hashing of packaged weights (their sha256 is
pinned), no network, no heavy imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ragdsl.hashing import file_sha256, path_sha256
from ragdsl.models.catalog import CATALOG, ROLES, CatalogEntry, by_hub_id
from ragdsl.models.errors import ModelError
from ragdsl.models.hfcache import cached_tokenizer, hub_offline, hub_unreachable
from ragdsl.models.options import Option, choose, hub_option, option_for, short_identity
from ragdsl.models.packages import model_dir
from ragdsl.models.sources import GGUFSource, HubSource, LocalSource, PackagedSource, Source
from ragdsl.suggest import did_you_mean, one_of

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ResolvedModel:
    reference: str  # as written: a catalog name, a hub id, or a path
    role: str  # "generator" | "embedder" | "reranker"
    source: str  # "hub" | "packaged" | "local" | "gguf"
    locator: str  # for plans: "hub Qwen/Qwen2.5-0.5B-Instruct@<commit12>", "pypi ...==0.9.0 (GGUF Q4_K_M)"
    identity: str  # enters fingerprints: "sha256:<hex>" or "hub:<id>@<commit or revision>"
    available: bool  # usable now without network
    fetchable: bool  # can be obtained at run time
    hint: str  # when not available: the command that makes it so
    spec: Source | None = None  # the chosen source, for materialize()
    path: Path | None = None  # on disk now: hub snapshot, assembled folder, local folder or GGUF file
    catalog: str | None = None  # the catalog entry, when resolved through the catalog

    @property
    def short_identity(self) -> str:
        return short_identity(self.identity)


def resolve_model(source: str | dict, role: str, locate: Callable[[str], Path] = Path) -> ResolvedModel:
    """Where the weights for `source` come from, as things stand on this machine.

    `source` is a string (a catalog name or a hub id) or a canonical constructor
    call: {"call": "hf" | "local" | "gguf" | "catalog", "args": {...}}. `locate`
    turns a path as written in the spec into a path on disk.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    if isinstance(source, str):
        return _resolve_string(source, role)
    call, args = source.get("call"), source.get("args") or {}
    if call == "catalog":
        return _resolve_catalog(str(args["name"]), role)
    if call == "hf":
        return _resolve_hub(str(args["id"]), args.get("revision"), role)
    if call == "local":
        return _resolve_local(args["path"], role, locate)
    if call == "gguf":
        return _resolve_gguf(args["path"], args.get("tokenizer"), role, locate)
    raise ModelError(f"unknown model source '{call}'", "use hf(...), local(...), gguf(...) or catalog(...)")


def catalog_entry(name: str, role: str | None = None) -> CatalogEntry:
    """The entry called `name`, or a ModelError with a did-you-mean."""
    entry = CATALOG.get(name)
    if entry is None:
        suggestion = did_you_mean(name, CATALOG) or _containing(name)
        raise ModelError(f"unknown model '{name}': not in ragdsl's catalog and not a Hugging Face id (org/name)",
                         suggestion or f"catalog models: {one_of(CATALOG)} (`ragdsl models` lists them)")
    if role is not None and entry.role != role:
        same = [n for n, e in CATALOG.items() if e.role == role]
        raise ModelError(f"'{name}' is {_article(entry.role)} {entry.role}, not {_article(role)} {role}",
                         f"{role}s in the catalog: {one_of(same)}" if same else f"use a Hugging Face id for a {role}")
    return entry


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _containing(text: str) -> str:
    """did you mean one of ...? for a partial name like "qwen-coder"."""
    words = [w for w in re.split(r"[^a-z0-9.]+", text.lower()) if w]
    hits = [n for n in CATALOG if words and all(w in n for w in words)]
    return f"did you mean one of: {', '.join(hits)}?" if hits else ""


def catalog_options(entry: CatalogEntry) -> list[Option]:
    return [option_for(spec, entry.name) for spec in entry.sources]


def _resolve_string(text: str, role: str) -> ResolvedModel:
    if text in CATALOG:
        return _resolve_catalog(text, role)
    if HUB_ID.match(text):
        return _resolve_hub(text, None, role)
    if text.startswith(("./", "../", "/", "~")) or text.endswith(".gguf"):
        raise ModelError(f"'{text}' looks like a path, but a model given as a string is a catalog name "
                         "or a Hugging Face id", f'write local("{text}") for a saved folder, or '
                         f'gguf("{text}") for a GGUF file')
    catalog_entry(text)  # raises with a did-you-mean
    raise AssertionError("unreachable")


def _resolve_catalog(name: str, role: str) -> ResolvedModel:
    entry = catalog_entry(name, role)
    options = catalog_options(entry)
    chosen = choose(options)
    hint = chosen.hint
    if not chosen.available and not chosen.fetchable:
        hint = "; or ".join(o.hint for o in options if o.hint)
    return from_option(name, role, chosen, hint, catalog=name)


def _resolve_hub(repo_id: str, revision: str | None, role: str) -> ResolvedModel:
    option = hub_option(HubSource(repo_id, revision), repo_id)
    hint = option.hint
    entry = by_hub_id(repo_id)
    if not option.available and entry is not None and any(isinstance(s, PackagedSource) for s in entry.sources):
        hint += f"; or use the catalog name \"{entry.name}\", which has a packaged copy on PyPI"
    return from_option(repo_id, role, option, hint)


def from_option(reference: str, role: str, option: Option, hint: str, catalog: str | None = None) -> ResolvedModel:
    return ResolvedModel(reference, role, option.source, option.locator, option.identity, option.available,
                         option.fetchable, "" if option.available else hint, option.spec, option.path, catalog)


def _written(path: object) -> str:
    return str(path["file"]) if isinstance(path, dict) else str(path)


def _resolve_local(path: object, role: str, locate: Callable[[str], Path]) -> ResolvedModel:
    written = _written(path)
    folder = Path(locate(written))
    if not folder.is_dir():
        raise ModelError(f"model folder '{written}' does not exist or is not a folder",
                         "local() takes a folder written by save_pretrained; for a .gguf file use gguf(...)")
    identity = f"sha256:{path_sha256(folder, 'dir')}"
    return ResolvedModel(written, role, "local", f"local {written}", identity, True, True, "",
                         LocalSource(folder, written), folder)


def _resolve_gguf(path: object, tokenizer: str | None, role: str, locate: Callable[[str], Path]) -> ResolvedModel:
    written = _written(path)
    file = Path(locate(written))
    if not file.is_file():
        raise ModelError(f"GGUF file '{written}' does not exist", "gguf() takes a .gguf file, relative to the spec")
    sha = file_sha256(file)
    converted = gguf_target(sha, tokenizer)
    locator = f"gguf {written}" + (f" with tokenizer {tokenizer}" if tokenizer else "")
    available = tokenizer is None or converted.is_dir() or cached_tokenizer(tokenizer) is not None
    fetchable = available or (hub_offline() is None and hub_unreachable() is None)
    hint = "" if available else (f"the tokenizer {tokenizer} is not in the Hugging Face cache: "
                                 f"unset {hub_offline()} or run `hf download {tokenizer}` where the hub is reachable")
    return ResolvedModel(written, role, "gguf", locator, f"sha256:{sha}", available, fetchable, hint,
                         GGUFSource(file, written, tokenizer), file)


def gguf_target(sha256: str, tokenizer: str | None) -> Path:
    """The converted folder of a GGUF file: <cache>/models/<sha256>/hf (or hf-tokenizer-<id>)."""
    if tokenizer is None:
        return model_dir(sha256) / "hf"
    return model_dir(sha256) / ("hf-tokenizer-" + re.sub(r"[^\w.-]+", "--", tokenizer))
