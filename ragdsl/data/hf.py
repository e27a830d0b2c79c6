"""`hf_dataset(...)`: rows of a Hugging Face dataset, mapped like jsonl records.

The `datasets` library is imported only here, only when such a source is
read; it honours HF_HUB_OFFLINE / HF_DATASETS_OFFLINE itself, so offline runs
read the local cache or fail with a DataError. `id` may also be a local
folder: one written by `save_to_disk`, or data files `load_dataset` can read.

The identity (for fingerprints) never imports `datasets`: a pinned commit, or
the commit the local hub cache resolved the revision to, or the revision name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from ragdsl import suggest
from ragdsl.data.errors import DataError
from ragdsl.data.fields import DEFAULT_ID

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# The dataset is named by `dataset`, or by `id` in schemas where the dataset id and the
# record-id field mapping share that name (then records' ids come from their "id" field).
_NAME_KEYS = ("dataset", "id")
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def dataset_name(args: Mapping) -> str:
    for key in _NAME_KEYS:
        if args.get(key):
            return str(args[key])
    raise ValueError(f"hf_dataset call names no dataset: {dict(args)!r}")


def field_args(args: Mapping) -> dict:
    """The field mappings of an hf_dataset call (see _NAME_KEYS for `id`)."""
    return {**args, "id": args["id"] if "dataset" in args else DEFAULT_ID}


def hf_records(args: Mapping) -> Iterator[tuple[str, Mapping]]:
    """`(where, row)` pairs of the dataset split named by `args`."""
    dataset = _load(args)
    for n, row in enumerate(dataset, 1):
        yield f"row {n}", row


def _load(args: Mapping):
    try:
        import datasets
    except ImportError:
        raise DataError("hf_dataset sources need the `datasets` library, which is not installed",
                        "pip install datasets") from None
    name, split = dataset_name(args), args.get("split") or "validation"
    config, revision = args.get("config"), args.get("revision")
    local = Path(name)
    try:
        if local.is_dir() and ((local / "state.json").is_file() or (local / "dataset_dict.json").is_file()):
            loaded = datasets.load_from_disk(str(local))
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise DataError(f"'{name}' has no split '{split}'",
                                    f"{suggest.did_you_mean(split, loaded)} splits: "
                                    f"{suggest.one_of(loaded)}".lstrip())
                loaded = loaded[split]
            return loaded
        return datasets.load_dataset(name, config, split=split, revision=revision)
    except DataError:
        raise
    except Exception as exc:  # the library raises many types (hub, network, builder errors)
        raise DataError(f"cannot load Hugging Face dataset '{name}' (split '{split}'): "
                        f"{type(exc).__name__}: {_first_line(exc)}", _load_hint()) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no details"


def _load_hint() -> str:
    if any(_truthy(os.environ.get(v)) for v in _OFFLINE_VARS):
        return ("offline mode is on (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE): the dataset must already be "
                "in the local Hugging Face cache; check id, config and split")
    return "check the id, config and split; without network, set HF_HUB_OFFLINE=1 to use the local cache"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def hf_identity(args: Mapping) -> str:
    """`id@commit` where the commit is known, else `id@revision` (main by default)."""
    name, revision = dataset_name(args), args.get("revision")
    local = Path(name)
    if local.is_dir():
        return f"{name}@{_folder_digest(local)}"
    if revision and _COMMIT.match(revision):
        return f"{name}@{revision}"
    commit = cached_commit(name, revision or "main")
    return f"{name}@{commit or revision or 'main'}"


def hub_cache() -> Path:
    """Where huggingface_hub keeps downloads, following its own environment variables."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def cached_commit(name: str, revision: str) -> str | None:
    """The commit the local hub cache resolved `revision` of dataset `name` to, if any."""
    ref = hub_cache() / f"datasets--{name.replace('/', '--')}" / "refs" / revision
    try:
        commit = ref.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    return commit if _COMMIT.match(commit) else None


def _folder_digest(folder: Path) -> str:
    """A local dataset's version from small metadata: save_to_disk's fingerprints, else file stats."""
    states = sorted(folder.rglob("state.json"))
    listing: list[list[object]]
    if states:
        listing = [[p.relative_to(folder).as_posix(), _fingerprint(p)] for p in states]
    else:
        listing = [[p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns]
                   for p in sorted(folder.rglob("*")) if p.is_file()]
    return "local-" + hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]


def _fingerprint(state: Path) -> str | None:
    try:
        value = json.loads(state.read_text(encoding="utf-8")).get("_fingerprint")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
