"""File readers (jsonl, csv, parquet, squad, text, markdown, hf_dataset): mapping, ids, errors.

Every fixture is written into tmp_path; `locate` resolves paths as written
against it, as the compiler does against the spec's folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ragdsl.data import (
    DataError,
    Passage,
    attribution,
    describe,
    read_corpus,
    read_questions,
    source_identity,
)
from ragdsl.data.records import passage_id

CORPUS_FIELDS = {"text": "text", "id": "id", "title": None, "meta": []}
QUESTION_FIELDS = {"question": "question", "answer": "answer", "id": "id", "context": None}


def corpus(call: str, path: str, **fields) -> dict:
    return {"call": call, "args": {"path": {"file": path}, **CORPUS_FIELDS, **fields}}


def questions(call: str, path: str, **fields) -> dict:
    return {"call": call, "args": {"path": {"file": path}, **QUESTION_FIELDS, **fields}}


@pytest.fixture
def project(tmp_path: Path):
    """(write, locate): write files relative to a project folder; locate them as the compiler does."""

    def write(rel: str, content: str | bytes) -> Path:
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def locate(written: str) -> Path:
        return tmp_path / written

    return write, locate


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def error_of(call, *args) -> DataError:
    with pytest.raises(DataError) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------- jsonl


def test_jsonl_corpus_maps_text_title_and_meta_fields(project):
    write, locate = project
    write("data/wiki.jsonl", jsonl(
        {"doc_id": 7, "body": "Insulin is made in the pancreas.", "name": "Insulin", "year": 1921, "x": 1},
        {"doc_id": "b", "body": "  Oxygen is element 8.  ", "year": 1774},
    ))
    source = corpus("jsonl", "data/wiki.jsonl", text="body", id="doc_id", title="name", meta=["year"])
    assert read_corpus(source, locate) == [
        Passage("7", "Insulin is made in the pancreas.", {"title": "Insulin", "year": 1921}),
        Passage("b", "Oxygen is element 8.", {"year": 1774}),
    ]


def test_missing_ids_are_derived_from_content_not_position(project):
    write, locate = project
    first, second = {"text": "Alpha."}, {"text": "Beta."}
    write("a.jsonl", jsonl(first, second))
    write("b.jsonl", jsonl({"text": "Gamma."}, second, first))
    ids_a = {p.text: p.id for p in read_corpus(corpus("jsonl", "a.jsonl"), locate)}
    ids_b = {p.text: p.id for p in read_corpus(corpus("jsonl", "b.jsonl"), locate)}
    assert ids_a["Alpha."] == ids_b["Alpha."] == passage_id("Alpha.")
    assert ids_a["Beta."] == ids_b["Beta."]
    assert len(set(ids_b.values())) == 3


def test_identical_records_without_ids_are_kept_once(project):
    write, locate = project
    write("a.jsonl", jsonl({"text": "Same."}, {"text": "Same."}, {"text": "Other."}))
    assert [p.text for p in read_corpus(corpus("jsonl", "a.jsonl"), locate)] == ["Same.", "Other."]


def test_jsonl_questions_accept_string_or_list_answers_and_link_their_context(project):
    write, locate = project
    write("qa.jsonl", jsonl(
        {"id": "q1", "question": "Where is insulin made?", "answer": "the pancreas", "ctx": "Insulin is made."},
        {"id": "q2", "question": "Which element is 8?", "answer": ["oxygen", " Oxygen ", "oxygen", ""]},
    ))
    q1, q2 = read_questions(questions("jsonl", "qa.jsonl", context="ctx"), locate)
    assert (q1.id, q1.answers, q1.context) == ("q1", ("the pancreas",), "Insulin is made.")
    assert q1.meta == {"passage_id": passage_id("Insulin is made.")}
    assert (q2.answers, q2.context, q2.meta) == (("oxygen", "Oxygen"), None, {})


def test_boolean_answers_read_as_yes_or_no(project):
    write, locate = project
    write("boolq.jsonl", jsonl({"question": "Is water wet?", "answer": True}, {"question": "Is fire cold?",
                                                                               "answer": False}))
    assert [q.answers for q in read_questions(questions("jsonl", "boolq.jsonl"), locate)] == [("yes",), ("no",)]


def test_dotted_field_names_reach_into_nested_records(project):
    write, locate = project
    write("qa.jsonl", "\ufeff" + jsonl({"q": {"text": "Who?"}, "answers": {"text": ["Tesla", "Nikola Tesla"]}}))
    [q] = read_questions(questions("jsonl", "qa.jsonl", question="q.text", answer="answers"), locate)
    assert (q.question, q.answers) == ("Who?", ("Tesla", "Nikola Tesla"))


def test_missing_field_names_record_file_fields_and_the_fix(project):
    write, locate = project
    write("data/qa.jsonl", jsonl({"q": "Who?", "answer": "x"}, {"q": "What?", "a": "y"}))
    message = str(error_of(read_questions, questions("jsonl", "data/qa.jsonl", question="q"), locate))
    assert message.startswith("field 'answer' missing in line 2 of data/qa.jsonl; fields present: q, a")
    assert 'set answer = "a"' in message and 'jsonl("data/qa.jsonl", answer = "a")' in message


def test_missing_text_field_suggests_a_likely_field(project):
    write, locate = project
    write("docs.jsonl", jsonl({"id": "1", "content": "Words."}))
    err = error_of(read_corpus, corpus("jsonl", "docs.jsonl"), locate)
    assert "field 'text' missing in line 1 of docs.jsonl" in err.message
    assert err.hint is not None and 'set text = "content"' in err.hint


def test_explicit_id_field_must_exist_while_the_default_may_be_absent(project):
    write, locate = project
    write("docs.jsonl", jsonl({"text": "Words."}))
    assert read_corpus(corpus("jsonl", "docs.jsonl"), locate)[0].id == passage_id("Words.")
    err = error_of(read_corpus, corpus("jsonl", "docs.jsonl", id="doc_id"), locate)
    assert "field 'doc_id' missing in line 1 of docs.jsonl" in str(err)


def test_optional_field_found_in_no_record_is_an_error(project):
    write, locate = project
    write("docs.jsonl", jsonl({"text": "A.", "heading": "H"}))
    err = error_of(read_corpus, corpus("jsonl", "docs.jsonl", title="titel"), locate)
    assert "field 'titel' is in no record of docs.jsonl" in err.message
    assert err.hint is not None and 'title = "heading"' in err.hint


@pytest.mark.parametrize(("content", "expected"), [
    ('{"text": "ok"}\n{"text": \n', "line 2 of bad.jsonl is not valid JSON"),
    ('["text"]\n', "line 1 of bad.jsonl holds a JSON list, not an object"),
    ('{"text": ""}\n', "field 'text' is empty in line 1 of bad.jsonl"),
    ('{"text": ["a"]}\n', "field 'text' in line 1 of bad.jsonl is a list; expected a string"),
    ('{"id": "1", "text": "a"}\n\n{"id": "1", "text": "b"}\n',
     "duplicate id '1' in line 3 of bad.jsonl (first in line 1)"),
    ("", "bad.jsonl holds no records"),
])
def test_malformed_jsonl_is_a_data_error(project, content, expected):
    write, locate = project
    write("bad.jsonl", content)
    assert expected in str(error_of(read_corpus, corpus("jsonl", "bad.jsonl"), locate))


def test_question_without_any_answer_is_an_error(project):
    write, locate = project
    write("qa.jsonl", jsonl({"question": "Why?", "answer": []}))
    assert "field 'answer' holds no answer in line 1 of qa.jsonl" in str(
        error_of(read_questions, questions("jsonl", "qa.jsonl"), locate))


def test_unreadable_files_are_data_errors(project):
    write, locate = project
    write("latin1.jsonl", ('{"text": "ok"}\n' * 3 + '{"text": "caf\xe9"}\n').encode("latin-1"))
    assert "latin1.jsonl is not UTF-8 text (line 4): byte 0xe9" in str(
        error_of(read_corpus, corpus("jsonl", "latin1.jsonl"), locate))
    assert "cannot read missing.jsonl" in str(error_of(read_corpus, corpus("jsonl", "missing.jsonl"), locate))


# ---------------------------------------------------------------- csv


def test_csv_with_delimiter_json_list_answers_and_bom(project):
    write, locate = project
    write("qa.csv", '\ufeffid;question;answer\nq1;"Who; really?";"[""Tesla"", ""N. Tesla""]"\n'
                    'q2;What?;[citation needed]\n;;\n')
    q1, q2 = read_questions(questions("csv", "qa.csv", delimiter=";"), locate)
    assert (q1.id, q1.question, q1.answers) == ("q1", "Who; really?", ("Tesla", "N. Tesla"))
    assert q2.answers == ("[citation needed]",)


def test_csv_empty_cells_count_as_absent(project):
    write, locate = project
    write("docs.csv", "text,title\nFirst doc,\nSecond doc,Two\n")
    first, second = read_corpus(corpus("csv", "docs.csv", title="title"), locate)
    assert (first.meta, second.meta) == ({}, {"title": "Two"})


def test_csv_single_column_header_suggests_the_delimiter(project):
    write, locate = project
    write("qa.csv", "question;answer\nWho?;Tesla\n")
    err = error_of(read_questions, questions("csv", "qa.csv"), locate)
    assert "header of qa.csv is a single field" in err.message
    assert err.hint == 'it looks semicolon-separated: set delimiter = ";"'


def test_csv_row_with_wrong_cell_count_names_row_and_line(project):
    write, locate = project
    write("qa.csv", "question,answer\nWho?,Tesla\nWhat, then?,x\n")
    assert "row 2 (line 3) of qa.csv has 3 cells but the header has 2" in str(
        error_of(read_questions, questions("csv", "qa.csv"), locate))


# ---------------------------------------------------------------- parquet


def test_parquet_rows_with_list_answers(project):
    pa = pytest.importorskip("pyarrow", reason="parquet needs pyarrow (the `run` extra)")
    import pyarrow.parquet as pq

    _, locate = project
    table = pa.table({"id": ["q1", "q2"], "question": ["Who?", "What?"],
                      "answers": [["Tesla", "Nikola Tesla"], ["oxygen"]]})
    pq.write_table(table, locate("qa.parquet"))
    got = read_questions(questions("parquet", "qa.parquet", answer="answers"), locate)
    assert [(q.id, q.answers) for q in got] == [("q1", ("Tesla", "Nikola Tesla")), ("q2", ("oxygen",))]


def test_a_file_that_is_not_parquet_is_a_data_error(project):
    pytest.importorskip("pyarrow", reason="parquet needs pyarrow (the `run` extra)")
    write, locate = project
    write("qa.parquet", "id,question\n")
    assert "qa.parquet is not a readable Parquet file" in str(
        error_of(read_questions, questions("parquet", "qa.parquet"), locate))


# ---------------------------------------------------------------- squad

SQUAD = {"version": "2.0", "data": [
    {"title": "Oxygen", "paragraphs": [
        {"context": " Oxygen is element 8. ", "qas": [
            {"id": "q1", "question": "Which element is 8?",
             "answers": [{"text": "Oxygen", "answer_start": 0}, {"text": "Oxygen", "answer_start": 0},
                         {"text": "oxygen", "answer_start": 0}]},
            {"id": "q2", "question": "Is it a metal?", "answers": [], "is_impossible": True},
        ]},
        {"context": "It was found in 1774.", "qas": [
            {"id": "q3", "question": "When was it found?", "answers": [{"text": "1774", "answer_start": 16}]}]},
    ]},
    {"title": "Copy", "paragraphs": [{"context": "Oxygen is element 8.", "qas": []}]},
]}


def test_squad_gives_unique_paragraphs_and_answerable_questions(project):
    write, locate = project
    write("dev.json", json.dumps(SQUAD))
    source = {"call": "squad", "args": {"path": {"file": "dev.json"}}}
    passages = read_corpus(source, locate)
    assert [(p.text, p.meta["title"]) for p in passages] == [
        ("Oxygen is element 8.", "Oxygen"), ("It was found in 1774.", "Oxygen")]
    q1, q3 = read_questions(source, locate)
    assert (q1.id, q1.answers, q1.context) == ("q1", ("Oxygen", "oxygen"), "Oxygen is element 8.")
    assert q1.meta == {"title": "Oxygen", "passage_id": passages[0].id}
    assert q3.meta["passage_id"] == passages[1].id


@pytest.mark.parametrize(("data", "expected"), [
    ({"articles": []}, "dev.json is not in SQuAD format: no list of articles under 'data'"),
    ({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]},
     "'context' is missing or empty in article 1 ('T'), paragraph 1 of dev.json"),
    ({"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": []}]}]}]},
     "article 1 ('T'), paragraph 1, question 1 of dev.json has no answer"),
])
def test_malformed_squad_is_a_data_error(project, data, expected):
    write, locate = project
    write("dev.json", json.dumps(data))
    assert expected in str(error_of(read_questions, {"call": "squad", "args": {"path": {"file": "dev.json"}}},
                                    locate))


# ---------------------------------------------------------------- text and markdown


def test_text_folder_is_read_recursively_in_sorted_order(project):
    write, locate = project
    write("docs/b.txt", "Bee.\n")
    write("docs/a.txt", "Ay.")
    write("docs/sub/c.txt", "Sea.")
    write("docs/.hidden/d.txt", "Hidden.")
    write("docs/empty.txt", "  \n")
    write("docs/notes.md", "# Not text")
    got = read_corpus({"call": "text", "args": {"path": {"file": "docs/"}}}, locate)
    assert [(p.id, p.text, p.meta["title"]) for p in got] == [
        ("a.txt", "Ay.", "a"), ("b.txt", "Bee.", "b"), ("sub/c.txt", "Sea.", "c")]


def test_markdown_titles_come_from_the_first_heading(project):
    write, locate = project
    write("kb/intro.md", "```bash\n# not a title\n```\n\nSome text\n\n## Getting started\n\nBody.\n")
    write("kb/setext.md", "Overview\n========\n\nBody.\n")
    write("kb/front.md", "---\ntitle: \"From front matter\"\n---\n# Heading\n")
    write("kb/plain.markdown", "No heading here.\n")
    got = {p.id: p for p in read_corpus({"call": "markdown", "args": {"path": {"file": "kb"}}}, locate)}
    assert {k: p.meta["title"] for k, p in got.items()} == {
        "front.md": "From front matter", "intro.md": "Getting started", "plain.markdown": "plain",
        "setext.md": "Overview"}
    assert got["front.md"].text == "# Heading"  # front matter is metadata, not text


def test_globs_and_single_files(project):
    write, locate = project
    write("kb/x/one.md", "# One\n")
    write("kb/y/two.md", "# Two\n")
    write("kb/y/skip.txt", "no")
    got = read_corpus({"call": "markdown", "args": {"path": {"file": "kb/**/*.md"}}}, locate)
    assert [p.id for p in got] == ["x/one.md", "y/two.md"]
    [single] = read_corpus({"call": "markdown", "args": {"path": {"file": "kb/y/two.md"}}}, locate)
    assert (single.id, single.meta["title"]) == ("two.md", "Two")


def test_text_sources_without_files_are_data_errors(project):
    write, locate = project
    write("docs/readme.md", "# Hi")
    assert "no *.txt files in 'docs'" in str(
        error_of(read_corpus, {"call": "text", "args": {"path": {"file": "docs"}}}, locate))
    assert "no files match 'docs/*.rst'" in str(
        error_of(read_corpus, {"call": "text", "args": {"path": {"file": "docs/*.rst"}}}, locate))
    assert "reads documents, not questions" in str(
        error_of(read_questions, {"call": "text", "args": {"path": {"file": "docs"}}}, locate))


# ---------------------------------------------------------------- hf_dataset

# As the compiler produces it today: `id` names the dataset, so records' ids come from their "id" field.
HF_ARGS = {"id": "org/data", "split": "validation", "config": None, "revision": None,
           "question": "question", "answer": "answer", "context": None}


def test_hf_dataset_without_the_datasets_library_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    err = error_of(read_questions, {"call": "hf_dataset", "args": HF_ARGS}, lambda p: Path(p))
    assert err.hint == "pip install datasets"


def test_hf_dataset_maps_fields_of_a_local_saved_dataset(tmp_path, monkeypatch):
    datasets = pytest.importorskip(
        "datasets", reason="the `datasets` library is optional and not installed; hub loading is untestable here")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = {"id": ["a", "b"], "question": ["Who?", "What?"], "context": ["Tesla did.", "Oxygen."],
            "answers": [{"text": ["Tesla", "Tesla"], "answer_start": [0, 0]}, {"text": ["Oxygen"], "answer_start": [0]}]}
    datasets.DatasetDict({"validation": datasets.Dataset.from_dict(rows)}).save_to_disk(str(tmp_path / "ds"))
    source = {"call": "hf_dataset", "args": {**HF_ARGS, "id": str(tmp_path / "ds"), "context": "context"}}
    err = error_of(read_questions, source, lambda p: Path(p))
    assert 'set answer = "answers"' in str(err)
    source["args"]["answer"] = "answers"
    got = read_questions(source, lambda p: Path(p))
    assert [(q.id, q.answers, q.context) for q in got] == [("a", ("Tesla",), "Tesla did."), ("b", ("Oxygen",), "Oxygen.")]
    assert source_identity(source).startswith(f"{tmp_path / 'ds'}@local-")


def test_hf_identity_pins_a_commit_from_the_revision_or_the_local_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    commit = "0123456789abcdef0123456789abcdef01234567"
    source = {"call": "hf_dataset", "args": dict(HF_ARGS)}
    assert source_identity(source) == "org/data@main"
    refs = tmp_path / "datasets--org--data" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(commit)
    assert source_identity(source) == f"org/data@{commit}"
    source["args"]["revision"] = "v2"
    assert source_identity(source) == "org/data@v2"
    source["args"]["revision"] = "f" * 40
    assert source_identity(source) == "org/data@" + "f" * 40


def test_hf_dataset_named_by_a_dataset_parameter_frees_id_for_the_record_field():
    from ragdsl.data.hf import dataset_name, field_args

    args = {**HF_ARGS, "dataset": "org/other", "id": "qid"}
    assert (dataset_name(args), field_args(args)["id"]) == ("org/other", "qid")
    assert (dataset_name(HF_ARGS), field_args(HF_ARGS)["id"]) == ("org/data", "id")


# ---------------------------------------------------------------- identity, describe, licence


def test_file_sources_have_no_identity_of_their_own():
    for call in ("jsonl", "csv", "parquet", "squad", "text", "markdown"):
        assert source_identity({"call": call, "args": {"path": {"file": "x"}}}) is None


def test_describe_counts_examples_and_licence(project):
    write, locate = project
    write("qa.jsonl", jsonl(*({"id": f"q{i}", "question": f"Question number {i}?", "answer": ["a", "b"],
                               "ctx": "Some context."} for i in range(10))))
    text = describe(questions("jsonl", "qa.jsonl", context="ctx"), locate, examples=2)
    assert text.startswith('jsonl(path = "qa.jsonl", question = "question", answer = "answer", id = "id", '
                           'context = "ctx")\n')
    assert "questions  10, 3.0 words on average" in text
    assert "2.00 gold answers per question" in text
    assert "  q0  Q: Question number 0?  A: a | b" in text and "  q5  " in text and "q1 " not in text
    assert text.rstrip().endswith(attribution({"call": "jsonl"}))
    assert attribution({"call": "jsonl"}).startswith("provided by the spec author")
