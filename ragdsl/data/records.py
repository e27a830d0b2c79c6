"""Passages and questions: what every reader produces, whatever the source format.

Ids derived from content (when a source has none) hash the text, never the
position, so reordering or appending records keeps every existing id. A
question's gold passage is named by `meta["passage_id"]`, the id its context
gets as a passage of the same source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    meta: dict = field(default_factory=dict, hash=False)  # "title" when known


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    context: str | None = None  # the gold passage text, when the source has one
    meta: dict = field(default_factory=dict, hash=False)


def content_id(*parts: object) -> str:
    """16 hex digits of the sha256 of `parts` as canonical JSON: the same on every machine."""
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def passage_id(text: str) -> str:
    """The id of a passage whose source gives none; questions use it to name their context."""
    return content_id("passage", text)


def question_id(question: str, answers: Sequence[str], context: str | None) -> str:
    return content_id("question", question, list(answers), context)


def unique_answers(answers: Sequence[str]) -> tuple[str, ...]:
    """Stripped, non-empty, first occurrence kept: SQuAD lists the same span once per annotator."""
    seen: dict[str, None] = {}
    for answer in answers:
        text = answer.strip()
        if text:
            seen.setdefault(text, None)
    return tuple(seen)
