"""Where a spec may read: its project, and what the person running ragdsl allows.

A spec is shared and run by people who did not write it, so every path it names
(imports, data sources, templates, rubrics, model folders, CA bundles) must lie
inside its project. The project is the root spec's folder, or a folder above it
that the experiment block names (`root = ".."`, only a folder holding a project
marker), or the folder given by `--root`. The person running ragdsl widens this
with `--allow-read PATH` or `$RAGDSL_ALLOW_READ`; ragdsl's own cache is always
readable. Paths are compared after resolving symlinks, so a link inside the
project cannot point out of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ALLOW_ENV = "RAGDSL_ALLOW_READ"
# What makes a folder a project an experiment block may name as its root.
PROJECT_MARKERS = (".git", "pyproject.toml")


@dataclass(frozen=True)
class ReadGrants:
    """What the command line grants: another project root, and extra readable folders or files."""

    root: Path | None = None
    allow: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ReadAccess:
    project: Path  # resolved
    extra: tuple[Path, ...] = ()  # resolved; from --allow-read, $RAGDSL_ALLOW_READ and ragdsl's cache

    @classmethod
    def build(cls, project: Path, grants: ReadGrants | None = None) -> ReadAccess:
        grants = grants or ReadGrants()
        from ragdsl.paths import cache_dir

        extra = [*grants.allow, *environment_allowance(), cache_dir()]
        return cls(_real(grants.root or project), tuple(dict.fromkeys(_real(p) for p in extra)))

    def permits(self, path: Path) -> bool:
        real = _real(path)
        return any(real == root or real.is_relative_to(root) for root in (self.project, *self.extra))

    def refused(self, paths: Iterable[Path]) -> Path | None:
        """The first of `paths` outside every readable folder, or None."""
        return next((p for p in paths if not self.permits(p)), None)


def environment_allowance() -> list[Path]:
    value = os.environ.get(ALLOW_ENV, "")
    return [Path(os.path.expanduser(part)) for part in value.split(os.pathsep) if part.strip()]


def project_root_problem(folder: Path, spec_folder: Path) -> str | None:
    """Why an experiment block may not name `folder` as its project root, or None if it may."""
    real, spec = _real(folder), _real(spec_folder)
    if not real.is_dir():
        return "no such folder"
    if not (spec == real or spec.is_relative_to(real)):
        return "it is not a folder that holds the spec"
    if real == Path(real.anchor) or real == _real(Path.home()):
        return "the filesystem root and the home folder are never a project"
    if not any((real / marker).exists() for marker in PROJECT_MARKERS):
        return f"it holds no project marker ({', '.join(PROJECT_MARKERS)})"
    return None


def files_below(path: Path) -> Iterator[Path]:
    """Every file a folder holds, following links into linked folders (each folder once)."""
    if not path.is_dir():
        yield path
        return
    seen: set[str] = set()
    for folder, dirs, files in os.walk(path, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        yield Path(folder)  # a linked folder: where it points is what matters
        for name in files:
            yield Path(folder, name)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))
