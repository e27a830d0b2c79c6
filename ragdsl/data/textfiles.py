"""Plain-text and Markdown corpora: one document per file.

`path` may name a file, a folder (every *.txt / *.md inside, recursively,
hidden files and folders skipped) or a glob ("docs/**/*.md"). Files are read
in sorted order; a document's id is its path relative to the folder (or to
the glob's fixed prefix), its title the first Markdown heading or the file
name. Whitespace-only files are skipped. Given `on_error`, a file that cannot
be read is passed to it and left out, so every one is reported.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable
from pathlib import Path

from ragdsl.data.errors import DataError
from ragdsl.data.fields import OnError, problem
from ragdsl.data.records import Passage
from ragdsl.data.tabular import read_text

SUFFIXES = {"text": (".txt",), "markdown": (".md", ".markdown")}

_MAGIC = re.compile(r"[*?\[]")
_ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)


def read_text_files(written: str, locate: Callable[[str], Path], kind: str, on_error: OnError = None
                    ) -> list[Passage]:
    files, base = _files(written, locate(written), kind)
    passages = []
    problems = 0
    for path in files:
        rel = path.relative_to(base).as_posix() if path != base else path.name
        shown = _join(written, rel) if path != base else written
        try:
            raw = read_text(path, shown)
        except DataError as error:
            problem(error, on_error)
            problems += 1
            continue
        front, body = split_front_matter(raw) if kind == "markdown" else ("", raw)
        if not body.strip():
            continue
        title = (markdown_title(front, body) if kind == "markdown" else None) or path.stem
        passages.append(Passage(rel, body.strip(), {"title": title}))
    if not passages and not problems:
        raise DataError(f"every file matched by '{written}' is empty", "point path at files with text")
    return passages


def _files(written: str, target: Path, kind: str) -> tuple[list[Path], Path]:
    if target.is_file():
        return [target], target
    if target.is_dir():
        suffixes = SUFFIXES[kind]
        found = [p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                 and not any(part.startswith(".") for part in p.relative_to(target).parts)]
        if not found:
            raise DataError(f"no {'/'.join('*' + s for s in suffixes)} files in '{written}'",
                            f'use a glob for other names, e.g. {kind}("{_join(written, "**/*")}")')
        return sorted(found, key=lambda p: p.relative_to(target).as_posix()), target
    if _MAGIC.search(str(target)):
        found = [Path(p) for p in glob.glob(str(target), recursive=True) if Path(p).is_file()]
        if not found:
            raise DataError(f"no files match '{written}'", "patterns are relative to the spec file")
        base = _fixed_prefix(target)
        return sorted(found, key=lambda p: p.relative_to(base).as_posix()), base
    raise DataError(f"'{written}' is not a file or folder", "check the path (it is relative to the spec file)")


def _fixed_prefix(pattern: Path) -> Path:
    """The folder part of a glob before its first wildcard: ids are relative to it."""
    parts = []
    for part in pattern.parts:
        if _MAGIC.search(part):
            break
        parts.append(part)
    return Path(*parts)


def _join(written: str, rel: str) -> str:
    return written.rstrip("/") + "/" + rel


def split_front_matter(text: str) -> tuple[str, str]:
    """YAML front matter (between --- lines at the top) apart from the body: it is metadata, not text."""
    if not text.startswith("---"):
        return "", text
    lines = text.splitlines(keepends=True)
    if lines[0].strip() != "---":
        return "", text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1:])
    return "", text


def markdown_title(front: str, body: str) -> str | None:
    """A front-matter `title:`, else the first ATX (# Title) or setext (Title / ===) heading."""
    found = _FRONT_TITLE.search(front)
    if found:
        return found.group(1).strip("\"'") or None
    fenced = False
    previous = ""
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced  # headings inside code blocks are comments, not titles
            previous = ""
            continue
        if fenced:
            continue
        atx = _ATX.match(line)
        if atx:
            return atx.group(1).strip()
        if previous.strip() and _SETEXT.match(line) and not previous.startswith((" " * 4, "\t")):
            return previous.strip()
        previous = line
    return None
