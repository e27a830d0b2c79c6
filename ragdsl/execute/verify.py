"""`ragdsl store verify`: check a whole result store, and with `repair` put it right.

Checked: every result record (well-formed, for its own fingerprint) and every
artifact it lists (present, same size, same sha256: always hashed here, unlike
the planner's stat shortcut); per-node records; artifact folders no record
claims (a kill between renaming a folder into place and writing its record);
temporaries of dead processes; checkpoints that are malformed or belong to a
finished result; the run database. Repair removes what is damaged or left over,
so the next run recomputes exactly the damaged results; it never touches a
result that checks out.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.execute.checkpoint import read_meta
from ragdsl.execute.runs import RunStore
from ragdsl.execute.store import Store
from ragdsl.paths import remove_stale_temporaries


@dataclass(frozen=True)
class Finding:
    what: str  # result | node record | orphan artifacts | checkpoint | run database
    where: str  # a path relative to the store root
    problem: str
    repaired: bool = False


@dataclass
class Verification:
    results: int = 0
    intact: int = 0
    findings: list[Finding] = field(default_factory=list)
    temporaries: int = 0  # removed (repair) or found
    unlisted: int = 0  # results recorded before artifacts were hashed (with repair: now listed)

    @property
    def ok(self) -> bool:
        return all(f.repaired for f in self.findings)

    def to_json(self) -> dict:
        return {"results": self.results, "intact": self.intact, "temporaries_removed": self.temporaries,
                "unlisted": self.unlisted, "ok": self.ok, "findings": [f.__dict__ for f in self.findings]}


def verify_store(store: Store, *, repair: bool = False) -> Verification:
    out = Verification()
    root = store.root
    if repair:
        out.temporaries = remove_stale_temporaries(root)
    recorded: set[str] = set()
    for fingerprint in sorted(store.result_fingerprints()):
        out.results += 1
        problem = store.check(fingerprint, deep=True)
        if problem is None:
            out.intact += 1
            recorded.add(fingerprint)
            if store.result(fingerprint).get("artifacts") is None:  # type: ignore[union-attr]
                out.unlisted += 1
                if repair:
                    store.list_artifacts(fingerprint)
            continue
        if repair:
            store.discard(fingerprint)
        out.findings.append(Finding("result", _rel(store._result_path(fingerprint), root), problem, repair))
    for path in sorted((root / "nodes").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            ok = isinstance(record, dict) and isinstance(record.get("node"), str)
        except (OSError, ValueError):
            ok = False
        if not ok:
            if repair:
                path.unlink(missing_ok=True)
            out.findings.append(Finding("node record", _rel(path, root), "unreadable or malformed", repair))
    for folder in sorted((root / "artifacts").glob("*/*")):
        if folder.name.startswith(".") or folder.name in recorded or not folder.is_dir():
            continue
        if repair:
            shutil.rmtree(folder, ignore_errors=True)
        out.findings.append(Finding("orphan artifacts", _rel(folder, root),
                                    "no result record claims this folder (or its result was damaged)", repair))
    for folder in sorted((root / "checkpoints").glob("*/*")):
        meta = read_meta(folder)
        problem = "malformed (no readable meta.json)" if meta is None else \
            "its node has finished (a leftover)" if folder.name in recorded else None
        if problem:
            if repair:
                shutil.rmtree(folder, ignore_errors=True)
            out.findings.append(Finding("checkpoint", _rel(folder, root), problem, repair))
    runs = RunStore(root)
    problem = runs.problem()
    if problem:
        if repair:
            runs.recover()
        out.findings.append(Finding("run database", runs.path.name, problem, repair))
    return out


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
