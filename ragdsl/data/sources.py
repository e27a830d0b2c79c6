"""Reading a source: the compiler's canonical constructor call to passages or questions.

`source` is {"call": name, "args": {...}} with every default filled in;
`locate(path as written)` gives the absolute path. File sources are hashed by
the compiler; the others (bigbench, hf_dataset) report a `source_identity`
for fingerprints instead. Given `on_error`, file sources pass every bad record
to it instead of raising on the first (ragdsl.data.validate).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from ragdsl.data import bigbench, named
from ragdsl.data.bigbench_sets import load_collection
from ragdsl.data.errors import DataError
from ragdsl.data.fields import OnError, Origin, Records, Tally, passages_from_records, questions_from_records
from ragdsl.data.hf import dataset_name, field_args, hf_identity, hf_records
from ragdsl.data.records import Passage, Question
from ragdsl.data.squad import read_squad
from ragdsl.data.tabular import csv_records, jsonl_records, parquet_records
from ragdsl.data.textfiles import read_text_files

Locate = Callable[[str], Path]

TABULAR = ("jsonl", "csv", "parquet", "hf_dataset")  # mapped field by field
DOCUMENTS = ("text", "markdown")  # corpora only
PAIRED = ("squad", "bigbench")  # both passages and questions
NAMED = ("dataset", "factbook")  # catalog datasets (ragdsl.data.catalog): what they provide varies
CALLS = (*TABULAR, *DOCUMENTS, *PAIRED, *NAMED)


def written_path(args: Mapping) -> str:
    """The `path` argument as written in the spec ({"file": ...} in canonical form)."""
    path = args.get("path")
    if isinstance(path, Mapping):
        path = path.get("file")
    if not isinstance(path, str):
        raise ValueError(f"source has no path: {dict(args)!r}")
    return path


def _call(source: Mapping) -> tuple[str, Mapping]:
    call, args = source.get("call"), source.get("args") or {}
    if call not in CALLS:
        raise ValueError(f"unknown source constructor {call!r}")
    return call, args


def _records(call: str, args: Mapping, locate: Locate, on_error: OnError = None
             ) -> tuple[Records, Origin, Mapping]:
    """The records of a tabular source, where they come from, and its field mappings."""
    if call == "hf_dataset":
        return hf_records(args), Origin(call, dataset_name(args)), field_args(args)
    shown = written_path(args)
    path = locate(shown)
    if call == "jsonl":
        return jsonl_records(path, shown, on_error), Origin(call, shown), args
    if call == "csv":
        return csv_records(path, shown, args.get("delimiter") or ",", on_error), Origin(call, shown), args
    return parquet_records(path, shown), Origin(call, shown), args


def _paired(call: str, args: Mapping, locate: Locate, cache: Path | None, on_error: OnError = None
            ) -> tuple[list[Passage] | None, list[Question]]:
    if call in NAMED:
        return named.load(call, args)
    if call == "squad":
        shown = written_path(args)
        return read_squad(locate(shown), shown, on_error)
    return load_collection(args, cache)


def require_passages(source: Mapping, passages: list[Passage] | None) -> list[Passage]:
    """A paired source's passages, or the error of a dataset that has none (closed book)."""
    if passages is None:
        call, args = _call(source)
        name = named.dataset_name(call, args)
        raise DataError(f"dataset '{name}' has questions but no passages (closed book)",
                        "read its questions with a questions declaration, and a corpus from another source")
    return passages


def require_questions(source: Mapping, questions: list[Question]) -> list[Question]:
    """A paired source's questions, or the error of a source that holds none."""
    if not questions:
        raise DataError(f"{source.get('call')}(...) holds no questions", "check the file or the filters")
    return questions


def read_corpus(source: Mapping, locate: Locate, cache: Path | None = None, on_error: OnError = None
                ) -> list[Passage]:
    call, args = _call(source)
    if call in TABULAR:
        tally = Tally(on_error) if on_error is not None else None
        records, origin, fields = _records(call, args, locate, tally)
        return passages_from_records(records, fields, origin, tally)
    if call in DOCUMENTS:
        return read_text_files(written_path(args), locate, call, on_error)
    return require_passages(source, _paired(call, args, locate, cache, on_error)[0])


def read_questions(source: Mapping, locate: Locate, cache: Path | None = None, on_error: OnError = None
                   ) -> list[Question]:
    call, args = _call(source)
    if call in TABULAR:
        tally = Tally(on_error) if on_error is not None else None
        records, origin, fields = _records(call, args, locate, tally)
        return questions_from_records(records, fields, origin, tally)
    if call in DOCUMENTS:
        raise DataError(f"{call}(...) reads documents, not questions",
                        "read questions with jsonl, csv, parquet, squad, dataset, factbook, bigbench or hf_dataset")
    return require_questions(source, _paired(call, args, locate, cache, on_error)[1])


def provides(source: Mapping) -> tuple[str, ...]:
    """What a source yields: ("corpus",), ("questions",) or both, judged by its field mappings."""
    call, args = _call(source)
    if call in DOCUMENTS:
        return ("corpus",)
    if call in PAIRED:
        return ("corpus", "questions")
    if call in NAMED:
        from ragdsl.data.catalog import CATALOG

        return CATALOG[named.dataset_name(call, args)].provides
    return ("questions",) if "question" in args or "answer" in args else ("corpus",)


def read_source(source: Mapping, locate: Locate, cache: Path | None = None, on_error: OnError = None
                ) -> tuple[list[Passage] | None, list[Question] | None]:
    """Everything a source yields, reading paired sources once."""
    call, args = _call(source)
    if call in (*PAIRED, *NAMED):
        return _paired(call, args, locate, cache, on_error)
    if provides(source) == ("corpus",):
        return read_corpus(source, locate, cache, on_error), None
    return None, read_questions(source, locate, cache, on_error)


def source_identity(source: Mapping) -> str | None:
    """The data version of a source that is not a plain file (files are hashed by the compiler)."""
    call, args = _call(source)
    if call == "bigbench":
        return bigbench.identity()
    if call in NAMED:
        return named.identity(call, args)
    if call == "hf_dataset":
        return hf_identity(args)
    return None
