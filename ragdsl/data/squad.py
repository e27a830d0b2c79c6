"""SQuAD-format JSON (data / paragraphs / qas): paragraphs as passages, qas as questions.

Used for `squad("file.json")` and for the SQuAD-format collections inside the
BIG-bench sdist. Passages are the unique paragraphs (titled by their article);
a question keeps every distinct gold answer and its paragraph as context.
SQuAD 2.0's unanswerable questions (`is_impossible`) are left out: exact
match and F1 need a gold answer.

Given `on_error`, a bad question, paragraph or article is passed to it and
left out instead of raising, so every one is reported (ragdsl.data.validate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from ragdsl.data.errors import DataError
from ragdsl.data.fields import OnError, problem
from ragdsl.data.records import Passage, Question, passage_id, question_id, unique_answers
from ragdsl.data.tabular import decode_error, open_error

_LAYOUT_HINT = 'expected {"data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [...]}]}]}'


def load_json(path: Path, shown: str) -> object:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise open_error(exc, shown) from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise decode_error(exc, shown) from None
    except ValueError as exc:
        raise DataError(f"{shown} is not valid JSON: {exc}", "check the file is complete") from None


def articles(data: object, shown: str) -> list[Mapping]:
    """The `data` list of a SQuAD file, checked to be a list of objects."""
    items = data.get("data") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(a, Mapping) for a in items):
        raise DataError(f"{shown} is not in SQuAD format: no list of articles under 'data'", _LAYOUT_HINT)
    return items


def title_of(article: Mapping, number: int) -> str:
    title = article.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else f"article {number}"


def read_squad(path: Path, shown: str, on_error: OnError = None) -> tuple[list[Passage], list[Question]]:
    return parse_squad(articles(load_json(path, shown), shown), shown, on_error=on_error)


def parse_squad(items: list[Mapping], shown: str, extra: Mapping | None = None, on_error: OnError = None
                ) -> tuple[list[Passage], list[Question]]:
    """Passages and questions of the given articles; `extra` is added to every record's meta."""
    extra = dict(extra or {})
    passages: dict[str, Passage] = {}
    questions: list[Question] = []
    seen: dict[str, str] = {}
    problems = 0
    for a, article in enumerate(items, 1):
        title = title_of(article, a)
        try:
            paragraphs = _list(article, "paragraphs", f"article {a} ('{title}')", shown)
        except DataError as error:
            problem(error, on_error)
            problems += 1
            continue
        for p, paragraph in enumerate(paragraphs, 1):
            where = f"article {a} ('{title}'), paragraph {p}"
            try:
                context = _string(paragraph, "context", where, shown)
                qas = _list(paragraph, "qas", where, shown)
            except DataError as error:
                problem(error, on_error)
                problems += 1
                continue
            pid = passage_id(context)
            passages.setdefault(pid, Passage(pid, context, {"title": title, **extra}))
            for q, qa in enumerate(qas, 1):
                q_where = f"{where}, question {q}"
                try:
                    question = _question(qa, q_where, shown, context, {"title": title, "passage_id": pid, **extra})
                    if question is not None and question.id in seen:
                        raise DataError(f"duplicate question id '{question.id}' in {q_where} of {shown} "
                                        f"(first in {seen[question.id]})", "question ids must be unique")
                except DataError as error:
                    problem(error, on_error)
                    problems += 1
                    continue
                if question is None:
                    continue
                seen[question.id] = q_where
                questions.append(question)
    if not passages and not problems:
        raise DataError(f"{shown} holds no paragraphs", _LAYOUT_HINT)
    return list(passages.values()), questions


def _question(qa: object, where: str, shown: str, context: str, meta: dict) -> Question | None:
    if not isinstance(qa, Mapping):
        raise DataError(f"{where} of {shown} is not an object", _LAYOUT_HINT)
    text = _string(qa, "question", where, shown)
    raw = qa.get("answers")
    if not isinstance(raw, list) or not all(isinstance(x, Mapping) and isinstance(x.get("text"), str)
                                            for x in raw):
        raise DataError(f"'answers' in {where} of {shown} is not a list of {{\"text\": ...}} objects",
                        _LAYOUT_HINT)
    answers = unique_answers([x["text"] for x in raw])
    if not answers:
        if qa.get("is_impossible"):
            return None
        raise DataError(f"{where} of {shown} has no answer", "every question needs a gold answer")
    qid = qa.get("id")
    qid = str(qid).strip() if isinstance(qid, (str, int)) and str(qid).strip() else None
    return Question(qid or question_id(text, answers, context), text, answers, context, meta)


def _list(obj: object, key: str, where: str, shown: str) -> list:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(value, list):
        raise DataError(f"'{key}' is missing or not a list in {where} of {shown}", _LAYOUT_HINT)
    return value


def _string(obj: object, key: str, where: str, shown: str) -> str:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"'{key}' is missing or empty in {where} of {shown}", _LAYOUT_HINT)
    return value.strip()
