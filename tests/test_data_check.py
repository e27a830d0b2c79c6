"""`ragdsl check --data` and the data check before `ragdsl run`: every data error at once, located (E610).

Each project is a spec and small data files in tmp_path. The readers' raising mode
(the first bad record raises DataError) is the reference: collecting mode must find the
same first problem, then go on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragdsl.data import DataError, read_corpus, read_questions, read_source

# ------------------------------------------------------------------ helpers


def write_project(root: Path, spec: str, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    (root / "spec.rag").write_text(spec, encoding="utf-8")
    return root


def lines(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def e610(output: str) -> list[str]:
    return re.findall(r"^error\[E610\]: (.*)$", output, re.MULTILINE)


def as_json(run_cli, *args) -> list[dict]:
    result = run_cli("check", "--data", "--format", "json", *args)
    return [d for d in json.loads(result.stdout) if d["code"] == "E610"]


GOOD_QA = {"id": "q1", "question": "What does aspirin inhibit?", "answer": "COX-1"}

# 3 malformed lines, a record missing its answer, an answer of the wrong type
FIVE_PROBLEMS = lines(
    GOOD_QA,
    '{"id": "q2", "question": "Who?" "answer": "x"}',   # line 2: not JSON
    '{"id": "q3", "question": "Where?", "answer": ',     # line 3: cut short
    "[1, 2]",                                            # line 4: not an object
    {"id": "q4", "question": "When?"},                   # line 5: no answer
    {"id": "q5", "question": "Why?", "answer": {"x": 1}},  # line 6: an object
    {"id": "q6", "question": "How?", "answer": "so"},
)

QA_SPEC = """\
corpus docs { source = jsonl("data/passages.jsonl") }
questions qa {
  source = jsonl("data/qa.jsonl")
  test = 1
}
"""
PASSAGES = lines({"id": "p1", "text": "Aspirin inhibits COX-1."})


@pytest.fixture
def bad_qa(tmp_path, monkeypatch) -> Path:
    root = write_project(tmp_path, QA_SPEC, {"data/passages.jsonl": PASSAGES, "data/qa.jsonl": FIVE_PROBLEMS})
    monkeypatch.chdir(root)
    return root


# ------------------------------------------------------- check --data


def test_check_data_reports_every_problem_of_a_file_at_once(bad_qa, run_cli):
    result = run_cli("check", "--data", "spec.rag")
    assert result.exit_code == 1
    found = e610(result.stderr)
    assert [m.split(": Expecting")[0] for m in found] == [
        "line 2 of data/qa.jsonl is not valid JSON",
        "line 3 of data/qa.jsonl is not valid JSON",
        "line 4 of data/qa.jsonl holds a JSON list, not an object",
        "field 'answer' missing in line 5 of data/qa.jsonl; fields present: id, question",
        "field 'answer' in line 6 of data/qa.jsonl is an object; expected a string",
    ]
    # located at the source call, with the spec line and a caret under it
    assert result.stderr.count("  --> spec.rag:3:12\n") == 5
    assert '3 |   source = jsonl("data/qa.jsonl")\n  |            ^^^^^^^^^^^^^^^^^^^^^^ in the data read here' \
        in result.stderr
    assert "= help: each line must hold one complete JSON object" in result.stderr
    assert "spec.rag: failed (5 errors, 2 warnings; 2 data sources read)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_check_data_json_gives_spans_and_help(bad_qa, run_cli):
    found = as_json(run_cli, "spec.rag")
    assert len(found) == 5
    assert {(d["span"]["file"], d["span"]["line"], d["span"]["col"], d["span"]["end_col"]) for d in found} == {
        ("spec.rag", 3, 12, 34)}
    assert all(d["severity"] == "error" and d["help"] for d in found)


def test_plain_check_reads_no_data(bad_qa, run_cli, monkeypatch):
    import ragdsl.data.sources as sources
    import ragdsl.data.tabular as tabular

    def forbidden(*args, **kwargs):
        raise AssertionError("plain check read a data file")

    for module, name in ((tabular, "jsonl_records"), (tabular, "csv_records"), (tabular, "_jsonl"),
                         (sources, "jsonl_records"), (sources, "_records"), (sources, "_paired"),
                         (sources, "read_text_files")):
        monkeypatch.setattr(module, name, forbidden)
    result = run_cli("check", "spec.rag")
    assert result.exit_code == 0, result.stderr
    assert "E610" not in result.stderr + result.stdout
    assert run_cli("compile", "--dry-run", "--brief", "spec.rag").exit_code == 0


def test_clean_data_passes(tmp_path, monkeypatch, run_cli):
    root = write_project(tmp_path, QA_SPEC, {"data/passages.jsonl": PASSAGES, "data/qa.jsonl": lines(GOOD_QA)})
    monkeypatch.chdir(root)
    result = run_cli("check", "--data", "spec.rag")
    assert result.exit_code == 0, result.stderr
    assert "spec.rag: ok (2 warnings; 2 data sources read)" in result.stdout


def test_ragged_csv_rows_are_all_reported(tmp_path, monkeypatch, run_cli):
    spec = 'questions qa { source = csv("data/qa.csv", question = "q", answer = "a"); test = 1 }\n'
    csv_text = "id,q,a\n1,Who?,x\n2,What?,y,extra\n3,Where?\n4,When?,z\n5,a,b,c,d\n"
    root = write_project(tmp_path, spec, {"data/qa.csv": csv_text})
    monkeypatch.chdir(root)
    result = run_cli("check", "--data", "spec.rag")
    assert result.exit_code == 1
    assert e610(result.stderr) == [
        "row 2 (line 3) of data/qa.csv has 4 cells but the header has 3",
        "row 3 (line 4) of data/qa.csv has 2 cells but the header has 3",
        "row 5 (line 6) of data/qa.csv has 5 cells but the header has 3",
    ]
    assert "--> spec.rag:1:25" in result.stderr


def test_duplicate_ids_are_all_reported(tmp_path, monkeypatch, run_cli):
    spec = 'corpus docs { source = jsonl("data/docs.jsonl") }\n'
    docs = lines({"id": "a", "text": "One."}, {"id": "b", "text": "Two."}, {"id": "a", "text": "Three."},
                 {"id": "b", "text": "Four."}, {"id": "a", "text": "Five."})
    root = write_project(tmp_path, spec, {"data/docs.jsonl": docs})
    monkeypatch.chdir(root)
    assert e610(run_cli("check", "--data", "spec.rag").stderr) == [
        "duplicate id 'a' in line 3 of data/docs.jsonl (first in line 1)",
        "duplicate id 'b' in line 4 of data/docs.jsonl (first in line 2)",
        "duplicate id 'a' in line 5 of data/docs.jsonl (first in line 1)",
    ]


def test_a_source_shared_by_several_declarations_is_read_and_reported_once(bad_qa, run_cli):
    (bad_qa / "spec.rag").write_text(QA_SPEC + 'questions again { source = jsonl("data/qa.jsonl"); test = 2 }\n')
    result = run_cli("check", "--data", "spec.rag")
    assert len(e610(result.stderr)) == 5
    assert "2 data sources read" in result.stderr


def test_a_split_larger_than_the_source_is_reported_at_its_declaration(tmp_path, monkeypatch, run_cli):
    spec = 'questions qa { source = jsonl("data/qa.jsonl"); test = 5 }\n'
    root = write_project(tmp_path, spec, {"data/qa.jsonl": lines(GOOD_QA)})
    monkeypatch.chdir(root)
    [found] = as_json(run_cli, "spec.rag")
    assert found["message"] == "train = 0 and test = 5 need 5 questions but the source has 1"
    assert (found["span"]["line"], found["span"]["col"], found["span"]["end_col"]) == (1, 49, 57)
    assert found["label"] == "questions.qa splits them here"


def test_a_sweep_over_sources_points_at_the_bad_one(tmp_path, monkeypatch, run_cli):
    spec = 'corpus docs { source = sweep(jsonl("data/a.jsonl"), jsonl("data/b.jsonl")) }\n'
    root = write_project(tmp_path, spec, {"data/a.jsonl": lines({"text": "Fine."}), "data/b.jsonl": "oops\n"})
    monkeypatch.chdir(root)
    [found] = as_json(run_cli, "spec.rag")
    assert found["message"].startswith("line 1 of data/b.jsonl is not valid JSON")
    assert (found["span"]["col"], found["span"]["end_col"]) == (53, 74)


def test_the_number_reported_per_source_is_capped(tmp_path, monkeypatch, run_cli):
    spec = 'corpus docs { source = jsonl("data/docs.jsonl") }\n'
    root = write_project(tmp_path, spec, {"data/docs.jsonl": lines({"text": "ok"}, *["{bad"] * 50)})
    monkeypatch.chdir(root)
    result = run_cli("check", "--data", "spec.rag")
    found = e610(result.stderr)
    assert len(found) == 20
    assert found[-1].startswith("line 21 of data/docs.jsonl")
    assert result.stderr.count("= note: ") == 1
    assert "= note: and 30 more data errors in data/docs.jsonl (the first 20 are shown)" in result.stderr


def test_long_values_are_cut_in_messages(tmp_path, monkeypatch, run_cli):
    long_id = "x" * 500
    spec = 'corpus docs { source = jsonl("data/docs.jsonl") }\n'
    docs = lines({"id": long_id, "text": "One."}, {"id": long_id, "text": "Two."})
    root = write_project(tmp_path, spec, {"data/docs.jsonl": docs})
    monkeypatch.chdir(root)
    [message] = e610(run_cli("check", "--data", "spec.rag").stderr)
    assert message == f"duplicate id '{'x' * 40}…' in line 2 of data/docs.jsonl (first in line 1)"


def test_an_unavailable_named_dataset_is_a_diagnostic(tmp_path, monkeypatch, run_cli):
    import ragdsl.data.named as named

    def unavailable(call, args):
        raise DataError("dataset 'nq_open' cannot be fetched here: offline", "run `ragdsl data pull nq_open`")

    monkeypatch.setattr(named, "load", unavailable)
    spec = 'questions nq { source = dataset("nq_open"); test = 5 }\n'
    root = write_project(tmp_path, spec, {})
    monkeypatch.chdir(root)
    result = run_cli("check", "--data", "spec.rag")
    assert result.exit_code == 1
    assert e610(result.stderr) == ["dataset 'nq_open' cannot be fetched here: offline"]
    assert "= help: run `ragdsl data pull nq_open`" in result.stderr
    assert "--> spec.rag:1:25" in result.stderr
    assert "Traceback" not in result.stderr


def test_squad_and_text_sources_report_every_problem(tmp_path, monkeypatch, run_cli):
    squad = {"data": [{"title": "T", "paragraphs": [
        {"context": "Paris is in France.", "qas": [
            {"id": "1", "question": "Where is Paris?", "answers": [{"text": "France"}]},
            {"id": "2", "question": "", "answers": [{"text": "x"}]},
            {"id": "1", "question": "Again?", "answers": [{"text": "France"}]},
        ]},
        {"qas": []},
    ]}]}
    spec = 'corpus docs { source = text("notes") }\nquestions qa { source = squad("data/s.json"); test = 1 }\n'
    root = write_project(tmp_path, spec, {"data/s.json": json.dumps(squad), "notes/a.txt": "Fine.",
                                          "notes/b.txt": b"bad \xff byte", "notes/c.txt": b"\xfe"})
    monkeypatch.chdir(root)
    assert e610(run_cli("check", "--data", "spec.rag").stderr) == [
        "notes/b.txt is not UTF-8 text: byte 0xff cannot be decoded",
        "notes/c.txt is not UTF-8 text: byte 0xfe cannot be decoded",
        "'question' is missing or empty in article 1 ('T'), paragraph 1, question 2 of data/s.json",
        "duplicate question id '1' in article 1 ('T'), paragraph 1, question 3 of data/s.json "
        "(first in article 1 ('T'), paragraph 1, question 1)",
        "'context' is missing or empty in article 1 ('T'), paragraph 2 of data/s.json",
    ]


# --------------------------------------------- collecting mode vs the readers


CORPUS = {"text": "text", "id": "id", "title": None, "meta": []}
QUESTIONS = {"question": "question", "answer": "answer", "id": "id", "context": None}

FIXTURES = {
    "bad json": ("jsonl", "corpus", {}, lines({"text": "a"}, "{nope", "[1]", {"text": "b"})),
    "bad byte": ("jsonl", "corpus", {}, b'{"text": "a"}\n{"text": "\xff"}\n{"text": 1}\n'),
    "missing text": ("jsonl", "corpus", {}, lines({"text": "a"}, {"body": "b"}, {"text": ""})),
    "missing answer": ("jsonl", "questions", {}, lines(GOOD_QA, {"question": "Q?"}, {"question": "R?", "answer": []})),
    "wrong type": ("jsonl", "questions", {}, lines({"question": "Q?", "answer": {"a": 1}}, {"question": ["x"]})),
    "duplicate ids": ("jsonl", "corpus", {}, lines({"id": 1, "text": "a"}, {"id": "1", "text": "b"})),
    "explicit id missing": ("jsonl", "corpus", {"id": "doc"}, lines({"doc": "1", "text": "a"}, {"text": "b"})),
    "unused optional field": ("jsonl", "questions", {"context": "ctx"}, lines(GOOD_QA)),
    "no records": ("jsonl", "corpus", {}, "\n\n"),
    "ragged csv": ("csv", "questions", {}, "question,answer\nQ?,A\nR?,B,C\nS?\n"),
    "csv header": ("csv", "corpus", {}, "text;id\na;1\n"),
    "csv quoting": ("csv", "corpus", {}, 'text,id\n"a,1\n'),
    "csv bad byte": ("csv", "corpus", {}, b"text,id\na,1\n\xff,2\n"),
    "squad": ("squad", "questions", {}, json.dumps({"data": [{"paragraphs": [
        {"context": "C.", "qas": [{"question": "Q?", "answers": []}, {"question": "R?", "answers": "x"}]}]}]})),
    "not squad": ("squad", "questions", {}, json.dumps({"version": 1})),
    "text": ("text", "corpus", {}, b"\xff"),
}


def _source(call: str, role: str, fields: dict) -> dict:
    if call == "squad":
        return {"call": "squad", "args": {"path": {"file": "data.in"}}}
    if call == "text":
        return {"call": "text", "args": {"path": {"file": "data.in"}}}
    return {"call": call, "args": {"path": {"file": "data.in"}, **(CORPUS if role == "corpus" else QUESTIONS),
                                   **fields}}


@pytest.mark.parametrize("name", list(FIXTURES))
def test_collecting_mode_finds_the_readers_first_error_first(name, tmp_path):
    call, role, fields, content = FIXTURES[name]
    path = tmp_path / "data.in"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    source = _source(call, role, fields)
    read = read_corpus if role == "corpus" else read_questions

    def locate(written: str) -> Path:
        return tmp_path / written

    with pytest.raises(DataError) as raised:
        read(source, locate)
    collected: list[DataError] = []
    try:
        read(source, locate, on_error=collected.append)
    except DataError as final:  # a problem that ends the read comes last
        collected.append(final)
    assert collected, name
    assert (collected[0].message, collected[0].hint) == (raised.value.message, raised.value.hint)
    assert len({c.message for c in collected}) == len(collected)


def test_collecting_mode_reads_good_data_exactly_as_the_readers_do(tmp_path):
    (tmp_path / "q.jsonl").write_text(lines(GOOD_QA, {"question": "Q?", "answer": ["a", "b"], "ctx": "C."}))
    (tmp_path / "q.csv").write_text("question,answer\nQ?,A\n")
    for source in ({"call": "jsonl", "args": {"path": {"file": "q.jsonl"}, **QUESTIONS, "context": "ctx"}},
                   {"call": "csv", "args": {"path": {"file": "q.csv"}, **QUESTIONS, "delimiter": ","}}):
        problems: list[DataError] = []
        assert read_source(source, lambda w: tmp_path / w, on_error=problems.append) == \
            read_source(source, lambda w: tmp_path / w)
        assert problems == []


def test_collecting_mode_leaves_bad_records_out_and_keeps_the_rest(tmp_path):
    (tmp_path / "d.jsonl").write_text(lines({"id": "1", "text": "a"}, "{x", {"id": "1", "text": "b"},
                                            {"id": "2", "text": "c"}))
    problems: list[DataError] = []
    passages = read_corpus({"call": "jsonl", "args": {"path": {"file": "d.jsonl"}, **CORPUS}},
                           lambda w: tmp_path / w, on_error=problems.append)
    assert [p.id for p in passages] == ["1", "2"]
    assert len(problems) == 2


# ------------------------------------------------------------- ragdsl run


TWO_CORPORA = """\
corpus good { source = jsonl("data/good.jsonl") }
corpus bad { source = jsonl("data/bad.jsonl") }
"""


@pytest.fixture
def two_corpora(tmp_path, monkeypatch) -> Path:
    root = write_project(tmp_path / "project", TWO_CORPORA, {
        "data/good.jsonl": lines({"id": "g1", "text": "Good."}),
        "data/bad.jsonl": lines({"id": "b1", "text": "One."}, {"id": "b1", "text": "Two."}, "{no"),
    })
    monkeypatch.chdir(root)
    return root


def test_run_stops_before_any_node_when_data_is_bad(two_corpora, run_cli, monkeypatch):
    from ragdsl.execute import runners

    started: list[str] = []
    monkeypatch.setitem(runners.RUNNERS, "corpus", lambda ctx: started.append(ctx.node.id))
    result = run_cli("run", "spec.rag", "--progress", "plain", "-j", "1", "--store", "store")
    assert result.exit_code == 1
    found = e610(result.stderr)
    assert found[0] == "duplicate id 'b1' in line 2 of data/bad.jsonl (first in line 1)"
    assert found[1].startswith("line 3 of data/bad.jsonl is not valid JSON: ") and len(found) == 2
    assert "spec.rag: 2 errors in the data; nothing was run" in result.stderr
    assert started == []
    assert "corpus.good" not in result.stderr + result.stdout  # no progress of any node
    assert not (two_corpora / "store").exists()


def test_keep_going_reports_the_data_errors_then_runs_the_rest(two_corpora, run_cli):
    result = run_cli("run", "spec.rag", "--progress", "plain", "-j", "1", "--store", "store", "--keep-going")
    assert result.exit_code == 1
    assert len(e610(result.stderr)) == 2
    assert "--keep-going: running what does not read it" in result.stderr
    assert "[done] corpus.good" in result.stderr
    assert re.search(r"^error: corpus\.bad failed .*duplicate id 'b1'", result.stderr, re.MULTILINE)


def test_a_cached_ingest_is_not_read_again(two_corpora, run_cli, monkeypatch):
    import ragdsl.data.validate as validate

    (two_corpora / "data" / "bad.jsonl").write_text(lines({"id": "b1", "text": "Fixed."}))
    first = run_cli("run", "spec.rag", "--progress", "quiet", "--store", "store")
    assert first.exit_code == 0, first.stderr
    reads: list[dict] = []
    real = validate._read
    monkeypatch.setattr(validate, "_read", lambda read, *rest: reads.append(read.source) or real(read, *rest))
    again = run_cli("run", "spec.rag", "--progress", "quiet", "--store", "store")
    assert again.exit_code == 0, again.stderr
    assert reads == []
    # a changed file is read before its node runs again, and only that one
    (two_corpora / "data" / "bad.jsonl").write_text(lines({"id": "b1", "text": "Changed."}))
    assert run_cli("run", "spec.rag", "--progress", "quiet", "--store", "store").exit_code == 0
    assert [r["args"]["path"]["file"] for r in reads] == ["data/bad.jsonl"]
