"""Field mapping: format-neutral records (dicts) to passages and questions.

jsonl, csv, parquet and hf_dataset readers all yield `(where, record)` pairs
("line 12", "row 3") and share this code, so `answer = "a"` means the same
for every format. A field name may be dotted ("answers.text") to reach into
nested records.

The first bad record raises DataError. Given `on_error`, each bad record's
first problem is passed to it instead and the record is left out, so that
ragdsl.data.validate reports every bad record of a file at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ragdsl.data.errors import DataError, field_hint, missing_field
from ragdsl.data.records import Passage, Question, passage_id, question_id, unique_answers

Records = Iterable[tuple[str, Mapping]]
OnError = Callable[[DataError], None] | None  # None: raise the first problem

# The schema's default for `id`: when it is missing, ids are derived from content.
# Any other name was set by the user, so it must be there.
DEFAULT_ID = "id"

_MISSING = object()


def problem(error: DataError, on_error: OnError) -> None:
    """Raise a bad record's problem, or hand it to `on_error` (the caller then skips the record)."""
    if on_error is None:
        raise error from None
    on_error(error)


class Tally:
    """An `on_error` that counts what it passes on: shared by a record reader and the field mapping,
    so that a file whose every record was bad is not also reported as holding none."""

    def __init__(self, on_error: Callable[[DataError], None]):
        self.on_error = on_error
        self.count = 0

    def __call__(self, error: DataError) -> None:
        self.count += 1
        self.on_error(error)


@dataclass(frozen=True)
class Origin:
    """Where records come from, for messages: the constructor and the path as written."""

    call: str
    shown: str

    def at(self, where: str) -> str:
        return f"{where} of {self.shown}"


def lookup(record: Mapping, name: str) -> object:
    if name in record:
        return record[name]
    if "." not in name:
        return _MISSING
    value: object = record
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _present(value: object) -> bool:
    return value is not _MISSING and value is not None and value != ""


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(type(value), type(value).__name__)


def _as_text(value: object, name: str, where: str, origin: Origin, expected: str = "a string") -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise DataError(f"field '{name}' in {origin.at(where)} is {_kind(value)}; expected {expected}",
                    "point the mapping at a field holding text")


def _required_text(record: Mapping, role: str, name: str, where: str, origin: Origin) -> str:
    value = lookup(record, name)
    if value is _MISSING:
        raise missing_field(role, name, origin.at(where), record.keys(), origin.call, origin.shown)
    text = _as_text(value, name, where, origin).strip() if value is not None else ""
    if not text:
        raise DataError(f"field '{name}' is empty in {origin.at(where)}",
                        "fill it in or remove the record")
    return text


def _answers(value: object, name: str, where: str, origin: Origin) -> tuple[str, ...]:
    answers = _spellings(value, name, where, origin)
    if not answers:
        raise DataError(f"field '{name}' holds no answer in {origin.at(where)}",
                        "every question needs at least one gold answer; remove unanswerable records")
    return answers


def _previous(value: object, name: str, where: str, origin: Origin) -> list[str]:
    """An outdated or counterfactual answer: a string or a list of strings (none: an empty list)."""
    return list(_spellings(value, name, where, origin, "a string or a list of strings"))


def _spellings(value: object, name: str, where: str, origin: Origin, expected: str = "a string"
               ) -> tuple[str, ...]:
    """An answer's spellings: a string, a list of strings, or SQuAD's {"text": [...]}."""
    if isinstance(value, Mapping) and "text" in value:
        value = value["text"]  # Hugging Face SQuAD layout: {"text": [...], "answer_start": [...]}
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:  # a CSV cell holding a JSON list of answers
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) and all(isinstance(v, str) for v in decoded):
            value = decoded
    if isinstance(value, bool):
        value = "yes" if value else "no"  # yes/no datasets (BoolQ) store the answer as a boolean
    items = value if isinstance(value, (list, tuple)) else [value]
    return unique_answers([_as_text(v, name, where, origin, expected) for v in items if v is not None])


def _record_id(record: Mapping, name: str, where: str, origin: Origin, derived: str) -> tuple[str, bool]:
    """The record's id and whether it was derived from content."""
    value = lookup(record, name)
    if _present(value):
        return _as_text(value, name, where, origin).strip(), False
    if name != DEFAULT_ID:
        if value is _MISSING:
            raise missing_field("id", name, origin.at(where), record.keys(), origin.call, origin.shown)
        raise DataError(f"field '{name}' is empty in {origin.at(where)}",
                        "give every record an id, or leave `id` out to derive ids from the content")
    return derived, True


class _Collector:
    """Keeps records in order, rejects duplicate ids, and tracks optional fields seen."""

    def __init__(self, origin: Origin, optional: Iterable[tuple[str, str]], on_error: OnError = None):
        self.origin = origin
        self.optional = dict(optional)  # field name -> role
        self.found: set[str] = set()
        self.first_fields: list[str] = []
        self.first_where: dict[str, str] = {}
        self.items: list = []
        self.tally = on_error if isinstance(on_error, Tally) or on_error is None else Tally(on_error)

    def reject(self, error: DataError) -> None:
        """A bad record, in collecting mode: report it and go on without it."""
        assert self.tally is not None
        self.tally(error)

    def add(self, item: Passage | Question, derived: bool, where: str) -> None:
        first = self.first_where.get(item.id)
        if first is None:
            self.first_where[item.id] = where
            self.items.append(item)
        elif not derived:
            raise DataError(f"duplicate id '{item.id}' in {self.origin.at(where)} (first in {first})",
                            "ids must be unique: fix the file, or map id to another field")
        # a derived id repeats only for identical content: keep the first copy

    def finish(self) -> list:
        if not self.items and not (self.tally and self.tally.count):  # every record rejected: reported
            raise DataError(f"{self.origin.shown} holds no records", "check that the right file is named")
        for name, role in self.optional.items():
            if name not in self.found:
                fields = ", ".join(self.first_fields) or "none"
                hint = (f"remove '{name}' from meta, or list fields that exist" if role == "meta"
                        else field_hint(role, name, self.first_fields, self.origin.call, self.origin.shown))
                raise DataError(f"field '{name}' is in no record of {self.origin.shown}; "
                                f"fields present: {fields}", hint)
        return self.items


def passages_from_records(records: Records, args: Mapping, origin: Origin, on_error: OnError = None
                          ) -> list[Passage]:
    text_f, id_f = args.get("text") or "text", args.get("id") or DEFAULT_ID
    title_f, meta_fs = args.get("title"), list(args.get("meta") or [])
    optional = [(title_f, "title")] if title_f else []
    out = _Collector(origin, optional + [(m, "meta") for m in meta_fs], on_error)
    for where, record in records:
        out.first_fields = out.first_fields or [str(k) for k in record]
        try:
            text = _required_text(record, "text", text_f, where, origin)
            meta: dict = {}
            if title_f:
                title = lookup(record, title_f)
                if _present(title):
                    meta["title"] = _as_text(title, title_f, where, origin).strip()
                    out.found.add(title_f)
            for name in meta_fs:
                value = lookup(record, name)
                if value is not _MISSING:
                    meta[name] = value
                    out.found.add(name)
            pid, derived = _record_id(record, id_f, where, origin, passage_id(text))
            out.add(Passage(pid, text, meta), derived, where)
        except DataError as error:
            if on_error is None:
                raise
            out.reject(error)
    return out.finish()


def questions_from_records(records: Records, args: Mapping, origin: Origin, on_error: OnError = None
                           ) -> list[Question]:
    q_f, a_f = args.get("question") or "question", args.get("answer") or "answer"
    id_f, ctx_f, prev_f = args.get("id") or DEFAULT_ID, args.get("context"), args.get("previous")
    out = _Collector(origin, [(f, role) for f, role in ((ctx_f, "context"), (prev_f, "previous")) if f], on_error)
    for where, record in records:
        out.first_fields = out.first_fields or [str(k) for k in record]
        try:
            question = _required_text(record, "question", q_f, where, origin)
            raw = lookup(record, a_f)
            if raw is _MISSING:
                raise missing_field("answer", a_f, origin.at(where), record.keys(), origin.call, origin.shown)
            answers = _answers(raw, a_f, where, origin)
            context = None
            if ctx_f:
                value = lookup(record, ctx_f)
                if _present(value):
                    context = _as_text(value, ctx_f, where, origin).strip() or None
                    out.found.add(ctx_f)
            meta: dict = {"passage_id": passage_id(context)} if context else {}
            if prev_f:
                value = lookup(record, prev_f)
                if value is not _MISSING:
                    out.found.add(prev_f)
                    previous = _previous(value, prev_f, where, origin) if value is not None else []
                    if previous:  # a record without one (null, "" or []) is a question like any other
                        meta["previous"] = previous
            qid, derived = _record_id(record, id_f, where, origin, question_id(question, answers, context))
            out.add(Question(qid, question, answers, context, meta), derived, where)
        except DataError as error:
            if on_error is None:
                raise
            out.reject(error)
    return out.finish()
