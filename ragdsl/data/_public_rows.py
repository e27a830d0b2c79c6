"""Layouts of the public data sets, put in one shape for ragdsl.data.public, and the field checks.

ragdsl.data.public reads both layouts of a data set with one parser: these
functions turn the flat rows `datasets` yields (plain dicts) into what the
publisher's file holds, checking the fields they regroup by, so that a bad row
is reported by its number; fields the parser checks itself pass through.
Qasper's layouts are read here too: files of concatenated objects, a list or
a dict keyed by paper id, and papers in HF columns or the original lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ragdsl.data.errors import DataError
from ragdsl.data.tabular import read_text

PUBMEDQA_FIELDS = {"question": "question", "contexts": "context.contexts", "labels": "context.labels",
                   "long_answer": "long_answer", "final_decision": "final_decision", "year": "year"}


def numbered(rows: Iterable[object], shown: str) -> Iterator[tuple[str, Mapping]]:
    """`("row 1", row)`, ...; a row that is not a mapping is an error."""
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise DataError(f"row {number} of {shown} is a {type(row).__name__}, not a mapping",
                            "pass the rows as the datasets library yields them (dicts)")
        yield f"row {number}", row


def pubmedqa(rows: Iterable[object], shown: str) -> list[tuple[str, str, dict]]:
    """`(pmid, where, record)`, the row's `context` flattened as PUBMEDQA_FIELDS names its fields."""
    records = []
    for where, row in numbered(rows, shown):
        pmid = ident(row, "pubid", where, shown)
        context = value(row, "context", Mapping, where, shown)
        flat = {**row, **{f"context.{key}": item for key, item in context.items()}}
        records.append((pmid, f"{where} (pubid {pmid})", flat))
    return records


def covid_qa(rows: Iterable[object], shown: str) -> dict:
    """The SQuAD-like file layout: one article per document, its rows as qas in row order."""
    papers: dict[str, dict] = {}
    for where, row in numbered(rows, shown):
        doc, context = ident(row, "document_id", where, shown), value(row, "context", str, where, shown)
        paper = papers.setdefault(doc, {"document_id": row["document_id"], "context": context, "qas": []})
        if paper["context"] != context:
            raise DataError(f"{where} of {shown} gives document_id {doc} another text than its first row",
                            "the rows of one paper share its context")
        paper["qas"].append({**row, "answers": _answers(row, where, shown)})
    return {"data": [{"paragraphs": [paper]} for paper in papers.values()]}


def squad(rows: Iterable[object], shown: str, v2: bool) -> list[dict]:
    """SQuAD's articles: rows grouped by title, then by context, in first-seen order."""
    grouped: dict[str, dict[str, list]] = {}
    for where, row in numbered(rows, shown):
        title, context = value(row, "title", str, where, shown), value(row, "context", str, where, shown)
        qa = {"id": row.get("id"), "question": row.get("question"), "answers": _answers(row, where, shown)}
        if v2:  # SQuAD 2.0 rows mark an unanswerable question by an empty answer list
            qa["is_impossible"] = not qa["answers"]
        grouped.setdefault(title, {}).setdefault(context, []).append(qa)
    return [{"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
            for title, paragraphs in grouped.items()]


def _answers(row: Mapping, where: str, shown: str) -> list[dict]:
    """`{"text": [...], "answer_start": [...]}` as the files' `[{"text", "answer_start"}, ...]`."""
    answers = value(row, "answers", Mapping, where, shown)
    texts = strings(answers, "text", f"answers of {where}", shown)
    starts = answers.get("answer_start")
    starts = starts if isinstance(starts, list) and len(starts) == len(texts) else [None] * len(texts)
    return [{"text": text, "answer_start": start} for text, start in zip(texts, starts)]


def qasper_papers(path: Path, shown: str) -> list[tuple[str, str | None, object]]:
    """`(where, key, paper)`: concatenated objects, a list, one paper, or a dict keyed by paper id."""
    raw = read_text(path, shown)
    decoder, at = json.JSONDecoder(), _space(raw, 0)
    values: list = []
    while at < len(raw):
        try:
            found, at = decoder.raw_decode(raw, at)
        except ValueError as exc:
            raise DataError(f"{shown} is not valid JSON (object {len(values) + 1}): {exc}",
                            "check the file is complete") from None
        values.append(found)
        at = _space(raw, at)
    if len(values) == 1 and isinstance(values[0], list):
        values = values[0]
    elif len(values) == 1 and isinstance(values[0], Mapping) and "qas" not in values[0]:
        return [(f"paper {k}", str(k), paper) for k, paper in values[0].items()]
    return [(f"paper {n} ({p.get('id') if isinstance(p, Mapping) else '?'})", None, p)
            for n, p in enumerate(values, 1)]


def _space(raw: str, at: int) -> int:
    """The first position from `at` that is not whitespace."""
    while at < len(raw) and raw[at].isspace():
        at += 1
    return at


def qasper_sections(paper: object, where: str, shown: str) -> list[tuple[str, list]]:
    """`(section name, paragraphs)`; HF: {"section_name": [...], "paragraphs": [[...]]}, original: a list."""
    full = value(paper, "full_text", (Mapping, list), where, shown)
    if isinstance(full, Mapping):
        names = value(full, "section_name", list, f"full_text of {where}", shown)
        bodies = value(full, "paragraphs", list, f"full_text of {where}", shown)
    else:
        names = [s.get("section_name") if isinstance(s, Mapping) else None for s in full]
        bodies = [value(s, "paragraphs", list, f"section {i} of {where}", shown) for i, s in enumerate(full, 1)]
    if len(names) != len(bodies) or not all(isinstance(b, list) for b in bodies):
        raise DataError(f"full_text of {where} in {shown} does not give each section a list of paragraphs",
                        "section_name and paragraphs must align")
    return [(n.strip() if isinstance(n, str) else "", b) for n, b in zip(names, bodies)]


def qasper_qas(paper: object, where: str, shown: str) -> list[tuple[str, str, list]]:
    """`(question, question_id, [answer objects])`; HF: columns, original: a list of objects."""
    qas = value(paper, "qas", (Mapping, list), where, shown)
    if isinstance(qas, Mapping):
        columns = [value(qas, key, list, f"qas of {where}", shown) for key in ("question", "question_id", "answers")]
        if len({len(c) for c in columns}) > 1:
            raise DataError(f"qas of {where} in {shown} has lists of different lengths",
                            "question, question_id and answers must align")
        qas = [{"question": t, "question_id": i, "answers": a} for t, i, a in zip(*columns)]
    out = []
    for q, qa in enumerate(qas, 1):
        q_where = f"{where}, question {q}"
        answers = value(qa, "answers", (Mapping, list), q_where, shown)
        if isinstance(answers, Mapping):  # HF: {"answer": [...], "annotation_id": [...], "worker_id": [...]}
            answers = value(answers, "answer", list, q_where, shown)
        else:  # original: [{"answer": {...}, "annotation_id": ..., "worker_id": ...}, ...]
            answers = [value(a, "answer", Mapping, q_where, shown) for a in answers]
        out.append((text(qa, "question", q_where, shown), text(qa, "question_id", q_where, shown), answers))
    return out


def value(obj: object, key: str, kind: type | tuple[type, ...], where: str, shown: str):
    """`obj[key]`, checked to be of `kind`."""
    if not isinstance(obj, Mapping):
        raise DataError(f"{where} of {shown} is a {type(obj).__name__}, not an object", f"expected '{key}' in it")
    found = obj.get(key)
    if not isinstance(found, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join({"str": "text", "Mapping": "an object"}.get(k.__name__, k.__name__) for k in kinds)
        raise DataError(f"'{key}' is missing or not {expected} in {where} of {shown}",
                        f"fields present: {', '.join(map(str, obj)) or 'none'}")
    return found


def text(obj: object, key: str, where: str, shown: str) -> str:
    """Non-empty text, stripped."""
    found = value(obj, key, str, where, shown)
    if not found.strip():
        raise DataError(f"'{key}' is empty in {where} of {shown}", f"{key} must be non-empty text")
    return found.strip()


def strings(obj: object, key: str, where: str, shown: str, absent_ok: bool = False) -> list[str]:
    """A list of strings (`[]` where `absent_ok` and the field is missing or null)."""
    if absent_ok and isinstance(obj, Mapping) and obj.get(key) is None:
        return []
    found = value(obj, key, list, where, shown)
    if not all(isinstance(item, str) for item in found):
        raise DataError(f"'{key}' is not a list of strings in {where} of {shown}", f"{key} holds text only")
    return found


def ident(obj: object, key: str, where: str, shown: str) -> str:
    """An id given as a number or text, as text."""
    found = value(obj, key, (int, str), where, shown)
    if isinstance(found, bool) or not str(found).strip():
        raise DataError(f"'{key}' is empty or not an id in {where} of {shown}", f"{key} must be a number or text")
    return str(found).strip()
