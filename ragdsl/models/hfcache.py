"""The Hugging Face cache and hub switches, read from disk and the environment.

Deliberately without huggingface_hub: resolution runs while checking and
planning, which must stay fast and import-light. The layout read here is the
hub cache's documented one: `models--{org}--{name}/refs/{revision}` holds a
commit hash and `snapshots/{commit}/` the files.
"""

from __future__ import annotations

import functools
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Weight files, one of which a usable snapshot holds beside config.json.
_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
            "pytorch_model.bin.index.json")


def hub_cache_shown() -> str:
    """The hub cache as a user would type it: through the variable that sets it, or with ~."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return f"${name}"
    if os.environ.get("HF_HOME"):
        return "$HF_HOME/hub"
    if os.environ.get("XDG_CACHE_HOME"):
        return "$XDG_CACHE_HOME/huggingface/hub"
    return "~/.cache/huggingface/hub"


def hub_cache_dir() -> Path:
    """$HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def hub_offline() -> str | None:
    """The variable that turns hub access off (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), or None."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in _TRUE:
            return name
    return None


@functools.lru_cache(maxsize=1)
def hub_unreachable() -> str | None:
    """Why the hub cannot be reached from here (name lookup or connection failed), or None.

    Probed once per process with a short TCP connect to the endpoint, so that a
    machine without hub access resolves a catalog name to its packaged copy at
    plan time instead of failing to download at run time. HF_ENDPOINT is honoured.
    """
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as exc:
        return f"{host}:{port} unreachable ({exc.strerror or exc.__class__.__name__})"


def cached_snapshot(repo_id: str, revision: str | None = None) -> tuple[str, Path] | None:
    """(commit, snapshot folder) when the repository is in the local cache with its weights, else None."""
    found = _snapshot(repo_id, revision)
    if found is None or not _complete(found[1]):
        return None
    return found


def _complete(snapshot: Path) -> bool:
    """A config and weights are there (symlinks into blobs/ must resolve)."""
    return (snapshot / "config.json").is_file() and any((snapshot / w).is_file() for w in _WEIGHTS)


def cached_tokenizer(repo_id: str, revision: str | None = None) -> Path | None:
    """The snapshot folder holding the repository's tokenizer files, if cached."""
    found = _snapshot(repo_id, revision)
    if found is None or not any((found[1] / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")):
        return None
    return found[1]


def repo_dir(repo_id: str) -> Path:
    return hub_cache_dir() / f"models--{repo_id.replace('/', '--')}"


def _snapshot(repo_id: str, revision: str | None) -> tuple[str, Path] | None:
    rev = revision or "main"
    repo = repo_dir(repo_id)
    if _COMMIT.match(rev):
        commit = rev
    else:
        try:
            commit = (repo / "refs" / rev).read_text(encoding="utf-8").strip()
        except OSError:
            return None
    return (commit, repo / "snapshots" / commit) if _COMMIT.match(commit) else None
