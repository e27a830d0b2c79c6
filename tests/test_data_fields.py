"""Field mapping of question records: the `previous` field (an outdated or counterfactual answer).

Fixtures are written into tmp_path and read as the compiler reads them; the other
mappings are pinned in test_data_readers.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragdsl.data import DataError, read_questions


def questions(call: str, path: str, **fields) -> dict:
    mapping = {"question": "question", "answer": "answer", "id": "id", "context": None, **fields}
    return {"call": call, "args": {"path": {"file": path}, **mapping}}


def write_jsonl(tmp_path: Path, *records: dict) -> None:
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def read(tmp_path: Path, call: str = "jsonl", path: str = "qa.jsonl", **fields):
    return read_questions(questions(call, path, **fields), lambda written: tmp_path / written)


def test_previous_answers_are_kept_as_a_list_in_meta(tmp_path):
    write_jsonl(tmp_path,
                {"id": "a", "question": "Capital of Palau?", "answer": "Ngerulmud", "old": "Melekeok"},
                {"id": "b", "question": "Currency of Croatia?", "answer": ["euros", "EUR"], "old": ["kuna", " HRK ", "kuna"]},
                {"id": "c", "question": "Capital of France?", "answer": "Paris"},  # no previous answer
                {"id": "d", "question": "Capital of Peru?", "answer": "Lima", "old": None},
                {"id": "e", "question": "Capital of Chile?", "answer": "Santiago", "old": []},
                {"id": "f", "question": "Population of Nauru?", "answer": "9,892", "old": 10084})
    found = {q.id: q.meta for q in read(tmp_path, previous="old")}
    assert found == {"a": {"previous": ["Melekeok"]}, "b": {"previous": ["kuna", "HRK"]}, "c": {}, "d": {},
                     "e": {}, "f": {"previous": ["10084"]}}
    assert all(q.meta == {} for q in read(tmp_path))  # without the mapping the field is ignored


def test_previous_beside_a_context_and_in_a_csv_cell_of_json(tmp_path):
    (tmp_path / "qa.csv").write_text('question,answer,ctx,old\nWho?,Tesla,Tesla did.,"[""Edison"", ""T. Edison""]"\n',
                                     encoding="utf-8")
    [q] = read(tmp_path, "csv", "qa.csv", context="ctx", previous="old")
    assert q.meta["previous"] == ["Edison", "T. Edison"] and q.meta["passage_id"]


def test_previous_in_parquet_rows(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="parquet needs pyarrow (the `run` extra)")
    import pyarrow.parquet as pq

    table = pa.table({"question": ["Capital of Palau?"], "answer": [["Ngerulmud"]], "was": [["Melekeok", "Koror"]]})
    pq.write_table(table, tmp_path / "qa.parquet")
    [q] = read(tmp_path, "parquet", "qa.parquet", previous="was")
    assert q.meta == {"previous": ["Melekeok", "Koror"]}


@pytest.mark.parametrize(("value", "kind"), [({"when": 2015}, "an object"), (["kuna", ["HRK"]], "a list"),
                                             ([{"text": "kuna"}], "an object")])
def test_a_previous_answer_that_is_not_text_is_located(tmp_path, value, kind):
    write_jsonl(tmp_path, {"question": "Currency?", "answer": "euros"},
                {"question": "Currency of Croatia?", "answer": "euros", "old": value})
    with pytest.raises(DataError) as caught:
        read(tmp_path, previous="old")
    assert caught.value.message == (f"field 'old' in line 2 of qa.jsonl is {kind}; "
                                    "expected a string or a list of strings")
    assert caught.value.hint == "point the mapping at a field holding text"


def test_a_previous_field_in_no_record_names_the_fields_present(tmp_path):
    write_jsonl(tmp_path, {"question": "Capital?", "answer": "Paris", "outdated": "Lutetia"})
    with pytest.raises(DataError) as caught:
        read(tmp_path, previous="previous_answer")
    assert caught.value.message == ("field 'previous_answer' is in no record of qa.jsonl; "
                                    "fields present: question, answer, outdated")
    assert "previous" in caught.value.hint
