"""Content hashes: canonical JSON digests and file/folder hashes."""

from __future__ import annotations

import glob as globlib
import hashlib
import json
from pathlib import Path

_FILE_CACHE: dict[tuple[str, int, int], str] = {}


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace: the same value gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    cached = _FILE_CACHE.get(key)
    if cached is None:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        cached = _FILE_CACHE[key] = h.hexdigest()
    return cached


def path_sha256(path: Path, kind: str = "file") -> str:
    """A file's hash, or for a folder/glob the hash of its files' names and hashes."""
    pattern = str(path)
    if kind == "glob" and any(c in pattern for c in "*?["):
        files = sorted(Path(p) for p in globlib.glob(pattern, recursive=True) if Path(p).is_file())
        base = Path(pattern.split("*")[0].split("?")[0].split("[")[0]).parent
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        base = path
    else:
        return file_sha256(path)
    listing = [[p.relative_to(base).as_posix(), file_sha256(p)] for p in files]
    return digest(listing)
