"""Record readers for JSON Lines, CSV and Parquet files.

Each yields `(where, record)` pairs for ragdsl.data.fields, in file order;
`where` is what a person needs to find the record ("line 12", "row 3 (line 4)").
Unreadable files and malformed records raise DataError, never a traceback.
Given `on_error`, a malformed record (a bad JSON line, a ragged CSV row) is
passed to it instead and reading goes on (ragdsl.data.validate); a file that
cannot be read on still raises.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from ragdsl.data.errors import DataError
from ragdsl.data.fields import OnError, Records, problem


def open_error(exc: OSError, shown: str) -> DataError:
    reason = exc.strerror or str(exc)
    return DataError(f"cannot read {shown}: {reason}", "check the path (it is relative to the spec file)")


def decode_error(exc: UnicodeDecodeError, shown: str, where: str = "") -> DataError:
    at = f" ({where})" if where else ""
    return DataError(f"{shown} is not UTF-8 text{at}: byte 0x{exc.object[exc.start]:02x} cannot be decoded",
                     "save the file as UTF-8")


def read_text(path: Path, shown: str) -> str:
    """A whole UTF-8 file (a byte-order mark allowed), or a DataError naming it."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise open_error(exc, shown) from None
    except UnicodeDecodeError as exc:
        raise decode_error(exc, shown) from None


def jsonl_records(path: Path, shown: str, on_error: OnError = None) -> Records:
    """One JSON object per line; blank lines are skipped."""
    try:
        handle = path.open("rb")  # decoded line by line, so a bad byte is reported on its own line
    except OSError as exc:
        raise open_error(exc, shown) from None
    return _jsonl(handle, shown, on_error)


def _jsonl(handle, shown: str, on_error: OnError) -> Iterator[tuple[str, dict]]:
    with handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem(decode_error(exc, shown, f"line {lineno}"), on_error)
                continue
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                problem(DataError(f"line {lineno} of {shown} is not valid JSON: {exc}",
                                  "each line must hold one complete JSON object"), on_error)
                continue
            if not isinstance(record, dict):
                kind = "list" if isinstance(record, list) else type(record).__name__
                problem(DataError(f"line {lineno} of {shown} holds a JSON {kind}, not an object",
                                  'each line must be an object such as {"id": "1", "text": "..."}'), on_error)
                continue
            yield f"line {lineno}", record


def csv_records(path: Path, shown: str, delimiter: str = ",", on_error: OnError = None) -> Records:
    """A header row, then one record per row; empty cells count as absent."""
    if len(delimiter) != 1:
        raise DataError(f"delimiter {delimiter!r} for {shown} must be a single character",
                        'e.g. delimiter = ";" or delimiter = "\\t"')
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise open_error(exc, shown) from None
    return _csv(handle, shown, delimiter, on_error)


def _csv(handle, shown: str, delimiter: str, on_error: OnError) -> Iterator[tuple[str, dict]]:
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, None)
            if not header:
                raise DataError(f"{shown} is empty", "a CSV source needs a header row naming the fields")
            _check_header(header, shown, delimiter)
            for rowno, cells in enumerate(reader, 1):
                where = f"row {rowno} (line {reader.line_num})"
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    problem(DataError(f"{where} of {shown} has {len(cells)} cells but the header has "
                                      f"{len(header)}", "quote cells that contain the delimiter"), on_error)
                    continue
                yield where, {name: cell for name, cell in zip(header, cells) if cell != ""}
        except csv.Error as exc:
            raise DataError(f"{shown} is not valid CSV (line {reader.line_num}): {exc}",
                            "check quoting and the delimiter") from None
        except UnicodeDecodeError as exc:
            raise decode_error(exc, shown, f"near line {reader.line_num + 1}") from None


def _check_header(header: list[str], shown: str, delimiter: str) -> None:
    if len(header) == 1:
        for other in (";", "\t", "|", ","):
            if other != delimiter and other in header[0]:
                raise DataError(f"the header of {shown} is a single field {header[0]!r}",
                                f"it looks {_delimiter_name(other)}-separated: set delimiter = {json.dumps(other)}")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"the header of {shown} names '{name}' twice", "give every column its own name")
        seen.add(name)


def _delimiter_name(delimiter: str) -> str:
    return {";": "semicolon", "\t": "tab", "|": "pipe", ",": "comma"}[delimiter]


def parquet_records(path: Path, shown: str) -> Records:
    """Rows of a Parquet file, read batch by batch (pyarrow, from the `run` extra)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"reading {shown} needs pyarrow, which is not installed",
                        "pip install pyarrow (or pip install 'ragdsl[run]')") from None
    try:
        parquet = pq.ParquetFile(path)
    except OSError as exc:
        raise open_error(exc, shown) from None
    except ValueError as exc:  # pyarrow's ArrowInvalid: not a Parquet file, or a damaged one
        raise DataError(f"{shown} is not a readable Parquet file: {exc}",
                        "write it with pandas.DataFrame.to_parquet or pyarrow.parquet.write_table") from None
    return _parquet(parquet)


def _parquet(parquet) -> Iterator[tuple[str, dict]]:
    rowno = 0
    for batch in parquet.iter_batches(batch_size=4096):
        for record in batch.to_pylist():
            rowno += 1
            yield f"row {rowno}", record
