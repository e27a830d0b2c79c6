"""DataError: bad or unreachable data is a user error, reported without a traceback.

Messages name the file (as written in the spec), the record and the field;
the hint says what to change, e.g. which field mapping to set.
"""

from __future__ import annotations

from collections.abc import Iterable

from ragdsl import suggest

# Field names people commonly use for each role, tried before fuzzy matching,
# so `answer` missing next to `a` suggests `answer = "a"`.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "text": ("body", "content", "contents", "passage", "document", "paragraph", "chunk", "text"),
    "id": ("_id", "uid", "doc_id", "docid", "qid", "question_id", "idx", "key", "id"),
    "title": ("name", "heading", "headline", "doc_title", "title"),
    "question": ("q", "query", "question_text", "input", "prompt", "question"),
    "answer": ("answers", "a", "gold", "gold_answer", "target", "label", "output", "response", "answer"),
    "context": ("passage", "paragraph", "document", "ctx", "story", "text", "evidence", "context"),
}


class DataError(Exception):
    """A data problem the user can fix: `message` says what, `hint` (if any) how."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message} — {hint}" if hint else message)


def guess_field(role: str, present: Iterable[str]) -> str | None:
    """The present field most likely meant for `role` (a parameter such as "answer")."""
    fields = [f for f in present if isinstance(f, str)]
    by_lower = {f.lower(): f for f in fields}
    for candidate in _SYNONYMS.get(role, ()):
        if candidate in by_lower:
            return by_lower[candidate]
    return suggest.closest(role, fields)


def field_hint(role: str, name: str, present: Iterable[str], call: str, shown: str) -> str:
    """`set answer = "a"` with an example call, or the fields to choose from."""
    fields = [f for f in present if isinstance(f, str)]
    guess = guess_field(role, fields)
    if guess is not None and guess != name:
        return f'set {role} = "{guess}", e.g. {call}("{shown}", {role} = "{guess}")'
    if fields:
        return f"set {role} to one of the fields present: {suggest.one_of(fields)}"
    return "the record has no fields"


def missing_field(role: str, name: str, where: str, present: Iterable[str], call: str, shown: str) -> DataError:
    fields = [f for f in present if isinstance(f, str)]
    listed = ", ".join(fields) if fields else "none"
    return DataError(f"field '{name}' missing in {where}; fields present: {listed}",
                     field_hint(role, name, fields, call, shown))
