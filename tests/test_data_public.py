"""The public QA data sets (ragdsl.data.public), read from the real files in shared/data.

The numbers asserted are those of the files as published (shared/data/README.md):
PubMedQA PQA-L 1,000 questions over 3,358 abstract sections; COVID-QA 98 papers,
1,380 questions; SQuAD dev v1.1 2,067 paragraphs, 10,570 questions and v2.0 1,204
paragraphs, 11,873 questions of which 5,945 unanswerable (left out); NQ-open dev
3,610 questions; the Qasper sample 10 papers, 51 questions of which 6 only have
"unanswerable" annotations (skipped). Every data set is also converted here into the
rows its Hugging Face dataset yields, which must read the same. Without shared/data
the real-data tests skip, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from ragdsl.data.errors import DataError
from ragdsl.data.public import READERS, read_files, read_rows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {
    "pubmedqa": {"ori_pqal.json": "pubmedqa/ori_pqal.json", "test_ground_truth.json": "pubmedqa/test_ground_truth.json"},
    "covid_qa": {"200423_covidQA.json": "covid_qa/200423_covidQA.json"},
    "squad_v1": {"dev-v1.1.json": "squad/dev-v1.1.json"},
    "squad_v2": {"dev-v2.0.json": "squad/dev-v2.0.json"},
    "nq_open": {"NQ-open.dev.jsonl": "nq_open/NQ-open.dev.jsonl"},
    "qasper": {"qasper-sample.json": "qasper/qasper-sample.json"},
}
WITH_PASSAGES = [name for name in READERS if name != "nq_open"]


@pytest.fixture(scope="module")
def data() -> Path:
    if not SHARED.is_dir():
        reason = f"the public data sets are not at {SHARED} (the repository's sibling shared/data)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must provide them")
        pytest.skip(reason)
    return SHARED


@pytest.fixture(scope="module")
def files(data: Path) -> dict[str, dict[str, Path]]:
    return {name: {key: data / rel for key, rel in named.items()} for name, named in FILES.items()}


@pytest.fixture(scope="module")
def read(files) -> dict:
    """Every data set read once from its files, without options."""
    return {name: read_files(name, files[name], {}) for name in READERS}


@pytest.fixture(scope="module")
def raw(files) -> dict:
    """The files' contents as parsed JSON (NQ-open: its lines; Qasper: its concatenated objects)."""
    out = {name: json.loads(files[name][key].read_text("utf-8")) for name, key in
           [("pubmedqa", "ori_pqal.json"), ("covid_qa", "200423_covidQA.json"),
            ("squad_v1", "dev-v1.1.json"), ("squad_v2", "dev-v2.0.json")]}
    out["nq_open"] = [json.loads(line) for line in files["nq_open"]["NQ-open.dev.jsonl"].open(encoding="utf-8")]
    text, decoder, at, papers = files["qasper"]["qasper-sample.json"].read_text("utf-8"), json.JSONDecoder(), 0, []
    while text[at:].strip():
        paper, at = decoder.raw_decode(text, len(text) - len(text[at:].lstrip()))
        papers.append(paper)
    out["qasper"] = papers
    return out


# --- Hugging Face rows, built from the files as the hub's datasets lay them out ---------------

def _answers(qa: dict) -> dict:
    return {"text": [a["text"] for a in qa["answers"]], "answer_start": [a["answer_start"] for a in qa["answers"]]}


def hf_rows(name: str, raw: object) -> list[dict]:
    if name == "pubmedqa":  # qiaojin/PubMedQA, pqa_labeled: no YEAR, int pubid, context a dict of lists
        return [{"pubid": int(pmid), "question": r["QUESTION"],
                 "context": {"contexts": r["CONTEXTS"], "labels": r["LABELS"], "meshes": r["MESHES"],
                             "reasoning_required_pred": list(r["reasoning_required_pred"]),
                             "reasoning_free_pred": list(r["reasoning_free_pred"])},
                 "long_answer": r["LONG_ANSWER"], "final_decision": r["final_decision"]}
                for pmid, r in raw.items()]
    if name == "covid_qa":  # deepset/covid_qa_deepset: one row per question
        return [{"document_id": p["document_id"], "context": p["context"], "question": qa["question"],
                 "is_impossible": qa["is_impossible"], "id": qa["id"], "answers": _answers(qa)}
                for a in raw["data"] for p in a["paragraphs"] for qa in p["qas"]]
    if name in ("squad_v1", "squad_v2"):  # rajpurkar/squad(_v2): unanswerable = empty answers
        return [{"id": qa["id"], "title": a["title"], "context": p["context"], "question": qa["question"],
                 "answers": _answers(qa)} for a in raw["data"] for p in a["paragraphs"] for qa in p["qas"]]
    return list(raw)  # nq_open rows are its lines; allenai/qasper rows are the papers


def _without(records, keys: set[str]) -> list:
    return [replace(r, meta={k: v for k, v in r.meta.items() if k not in keys}) for r in records]


@pytest.mark.parametrize("name", READERS)
def test_rows_read_as_the_files(name, raw, read):
    passages, questions = read_rows(name, iter(hf_rows(name, raw[name])), {})
    want_passages, want_questions = read[name]
    missing = {"year", "official_split"} if name == "pubmedqa" else set()  # not in the HF dataset
    assert questions == _without(want_questions, missing)
    assert [q.meta for q in questions] == [q.meta for q in _without(want_questions, missing)]
    if want_passages is None:
        assert passages is None
    else:
        assert passages == _without(want_passages, missing)
        assert [p.meta for p in passages] == [p.meta for p in _without(want_passages, missing)]


@pytest.mark.parametrize("name", WITH_PASSAGES)
def test_gold_passages_resolve_and_make_the_context(name, read):
    passages, questions = read[name]
    by_id = {p.id: p for p in passages}
    assert len(by_id) == len(passages)
    assert len({q.id for q in questions}) == len(questions)
    for question in questions:
        assert question.meta["dataset"] == name and question.answers
        ids = question.meta.get("passage_ids")
        if ids is None:
            assert name == "qasper" and question.context is None
            continue
        assert question.meta["passage_id"] == ids[0]
        assert question.context == "\n\n".join(by_id[i].text for i in ids)
        assert all(by_id[i].text in question.context for i in ids)
    assert all(p.meta["dataset"] == name and p.meta["title"] for p in passages)


@pytest.mark.parametrize("name", READERS)
def test_reading_twice_gives_the_same(name, files, read):
    assert read_files(name, files[name], {}) == read[name]


def test_pubmedqa(read):
    passages, questions = read["pubmedqa"]
    assert (len(passages), len(questions)) == (3358, 1000)
    assert Counter(q.meta["official_split"] for q in questions) == {"test": 500, "train": 500}
    assert Counter(q.meta["final_decision"] for q in questions) == {"yes": 552, "no": 338, "maybe": 110}
    assert sum("year" not in q.meta for q in questions) == 58  # YEAR is null in 58 records
    question = next(q for q in questions if q.id == "21645374")
    assert question.question == ("Do mitochondria play a role in remodelling lace plant leaves during "
                                 "programmed cell death?")
    assert question.answers[0].startswith("Results depicted mitochondrial dynamics in vivo as PCD progresses")
    assert question.meta == {"passage_id": "21645374:1", "passage_ids": ["21645374:1", "21645374:2"],
                             "final_decision": "yes", "dataset": "pubmedqa", "year": "2011",
                             "official_split": "test"}
    first = next(p for p in passages if p.id == "21645374:1")
    assert first.text.startswith("Programmed cell death (PCD) is the regulated death of cells")
    assert first.meta == {"title": "PMID 21645374", "section": "BACKGROUND", "pmid": "21645374",
                          "dataset": "pubmedqa", "year": "2011"}


def test_pubmedqa_without_the_test_ids_has_no_split(files, read):
    _, questions = read_files("pubmedqa", {"ori_pqal.json": files["pubmedqa"]["ori_pqal.json"]}, {})
    assert questions == _without(read["pubmedqa"][1], {"official_split"})


def test_pubmedqa_key_order_does_not_matter(files, raw, read, tmp_path):
    items = list(raw["pubmedqa"].items())
    random.Random(7).shuffle(items)
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps(dict(items)), "utf-8")
    named = {**files["pubmedqa"], "ori_pqal.json": path}
    assert read_files("pubmedqa", named, {}) == read["pubmedqa"]


def test_covid_qa(read):
    passages, questions = read["covid_qa"]
    assert (len(passages), len(questions)) == (98, 1380)
    paper = passages[0]
    assert paper.id == "630" and paper.meta == {
        "title": "Functional Genetic Variants in DC-SIGNR Are Associated with Mother-to-Child Transmission of HIV-1",
        "document_id": "630", "dataset": "covid_qa"}
    assert all(len(p.meta["title"]) <= 120 for p in passages)
    question = questions[0]
    assert (question.id, question.question) == ("262", "What is the main cause of HIV-1 infection in children?")
    assert question.answers == ("Mother-to-child transmission (MTCT) is the main cause of HIV-1 infection "
                                "in children worldwide.",)
    assert question.meta == {"dataset": "covid_qa", "passage_id": "630", "passage_ids": ["630"]}
    # 234 answer_start offsets are off, but every answer text is in its paper
    assert all(a in q.context for q in questions for a in q.answers)


def test_squad(read):
    passages, questions = read["squad_v1"]
    assert (len(passages), len(questions)) == (2067, 10570)
    question = next(q for q in questions if q.id == "56be4db0acb8001400a502ec")
    assert question.question == "Which NFL team represented the AFC at Super Bowl 50?"
    assert question.answers == ("Denver Broncos",)
    assert question.meta["title"] == "Super_Bowl_50" and question.meta["dataset"] == "squad_v1"
    first = next(q for q in questions if q.id == "5725b33f6a3fe71400b8952d")
    assert first.answers == ("October 1973", "October", "1973")  # five annotators, three distinct answers
    passages, questions = read["squad_v2"]
    assert (len(passages), len(questions)) == (1204, 11873 - 5945)


@pytest.mark.parametrize(("name", "articles", "passages", "questions"), [
    ("squad_v1", 6, 235, 1199),
    ("squad_v2", 5, 172, 862),  # v2.0 dev has no Chloroplast
])
def test_squad_biomedical_domain(name, articles, passages, questions, files):
    got_passages, got_questions = read_files(name, files[name], {"domain": "biomedical", "titles": []})
    assert len({p.meta["title"] for p in got_passages}) == articles
    assert (len(got_passages), len(got_questions)) == (passages, questions)


def test_squad_titles(files, read):
    passages, questions = read_files("squad_v1", files["squad_v1"], {"titles": ["Super Bowl 50", "Oxygen"]})
    assert {p.meta["title"] for p in passages} == {"Super_Bowl_50", "Oxygen"}
    assert questions == [q for q in read["squad_v1"][1] if q.meta["title"] in ("Super_Bowl_50", "Oxygen")]
    with pytest.raises(DataError, match="did you mean 'Oxygen'") as caught:
        read_files("squad_v1", files["squad_v1"], {"domain": "biomedical", "titles": ["Oxygn"]})
    assert "domain biomedical" in caught.value.message and "Pharmacy" in caught.value.hint
    with pytest.raises(DataError, match="no article 'Chloroplast'"):
        read_files("squad_v2", files["squad_v2"], {"titles": ["Chloroplast"]})


def test_nq_open(read):
    passages, questions = read["nq_open"]
    assert passages is None and len(questions) == 3610
    question = questions[0]
    assert question.question == "when was the last time anyone was on the moon"
    assert question.answers == ("14 December 1972 UTC", "December 1972")
    assert (question.id, question.context, question.meta) == ("77bf6723f4aa0ee7", None, {"dataset": "nq_open"})


def test_qasper(read):
    passages, questions = read["qasper"]
    assert len(passages) == 10 + 975  # the abstracts and the non-empty paragraphs (140 are empty)
    assert len(questions) == 51 - 6  # 6 questions only have "unanswerable" annotations
    assert sum("passage_ids" in q.meta for q in questions) == 43  # the others cite only tables or nothing
    by_id = {q.id: q for q in questions}
    english = by_id["003f884d3893532f8c302431c9f70be6f64d9be8"]
    assert english.question == "Do they report results only on English data?"
    assert english.answers == ("No",) and english.meta["answer_types"] == ["boolean"]
    assert english.meta["passage_ids"] == ["1705.09665:6:4"]
    macro = by_id["3a9d391d25cde8af3334ac62d478b36b30079d74"]
    assert (macro.question, macro.answers) == ("Does the paper report macro F1?", ("Yes",))
    reviews = next(q for q in questions if q.question.startswith("Which dataset do they use a starting point"))
    assert reviews.answers == ("the Yelp Challenge dataset", "Yelp Challenge dataset BIBREF2")
    assert reviews.meta["answer_types"] == ["extractive", "extractive"]
    assert Counter(t for q in questions for t in q.meta["answer_types"]) == {
        "extractive": 30, "abstractive": 18, "boolean": 5}
    abstract = next(p for p in passages if p.id == "1909.00694:abstract")
    assert abstract.meta == {"title": "Minimally Supervised Learning of Affective Events Using Discourse "
                                      "Relations — Abstract", "section": "Abstract",
                             "paper_id": "1909.00694", "dataset": "qasper"}


def test_qasper_original_layout_and_paper_order(raw, read, tmp_path):
    """The allenai release: a dict keyed by paper id, sections and qas as lists of objects."""
    papers = {}
    for paper in reversed(raw["qasper"]):
        full, qas = paper["full_text"], paper["qas"]
        papers[paper["id"]] = {
            "title": paper["title"], "abstract": paper["abstract"],
            "full_text": [{"section_name": n, "paragraphs": p} for n, p in zip(full["section_name"], full["paragraphs"])],
            "qas": [{"question": q, "question_id": i, "answers": [
                {"answer": a, "annotation_id": n, "worker_id": w}
                for a, n, w in zip(answers["answer"], answers["annotation_id"], answers["worker_id"])]}
                for q, i, answers in zip(qas["question"], qas["question_id"], qas["answers"])]}
    path = tmp_path / "qasper-dev-v0.3.json"
    path.write_text(json.dumps(papers), "utf-8")
    assert read_files("qasper", {"qasper-dev-v0.3.json": path}, {}) == read["qasper"]


# --- bad data and bad options: DataError naming the file, the record and the field ------------

PAPER = {"id": "p1", "title": "T", "abstract": "A.",
         "full_text": {"section_name": ["Intro"], "paragraphs": [["P one."]]},
         "qas": {"question": ["Q?"], "question_id": ["q1"], "answers": [{"answer": [
             {"unanswerable": False, "extractive_spans": [], "yes_no": True, "free_form_answer": "",
              "evidence": ["P one."], "highlighted_evidence": []}], "annotation_id": ["a"], "worker_id": ["w"]}]}}
PQAL = {"123": {"QUESTION": "Q?", "CONTEXTS": ["C."], "LABELS": ["BACKGROUND"], "LONG_ANSWER": "L.",
                "final_decision": "yes", "YEAR": None}}
COVID = {"data": [{"paragraphs": [{"document_id": 5, "context": "Title\n\nText.", "qas": [
    {"id": 7, "question": "Q?", "answers": [{"text": "Text", "answer_start": 7}], "is_impossible": False}]}]}]}


def _with(obj, path: list, value):
    copy = json.loads(json.dumps(obj))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(("name", "key", "content", "fragments"), [
    ("pubmedqa", "ori_pqal.json", '{"123": {"QUESTION": "Q?"', ["pubmedqa:ori_pqal.json", "not valid JSON"]),
    ("pubmedqa", "ori_pqal.json", json.dumps(_with(PQAL, ["123", "QUESTION"], None)),
     ["'QUESTION'", "record 123", "pubmedqa:ori_pqal.json"]),
    ("pubmedqa", "ori_pqal.json", json.dumps(_with(PQAL, ["123", "CONTEXTS"], "C.")),
     ["'CONTEXTS'", "record 123", "pubmedqa:ori_pqal.json"]),
    ("pubmedqa", "ori_pqal.json", json.dumps(_with(PQAL, ["123", "LABELS"], [])), ["1 sections but 0 labels"]),
    ("pubmedqa", "ori_pqal.json", json.dumps(["not", "a", "dict"]), ["not an object keyed by PubMed id"]),
    ("covid_qa", "200423_covidQA.json", json.dumps(_with(COVID, ["data", 0, "paragraphs", 0, "qas", 0, "answers"], "x")),
     ["'answers'", "question 1 (id 7)", "document_id 5", "covid_qa:200423_covidQA.json"]),
    ("covid_qa", "200423_covidQA.json", json.dumps(_with(COVID, ["data", 0, "paragraphs", 0, "document_id"], None)),
     ["'document_id'", "article 1, paragraph 1", "covid_qa:200423_covidQA.json"]),
    ("covid_qa", "200423_covidQA.json", json.dumps({"version": 1}), ["not in SQuAD format"]),
    ("squad_v1", "dev-v1.1.json", json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "C", "qas": [
        {"id": "1", "question": "Q?", "answers": "C"}]}]}]}), ["'answers'", "question 1", "squad_v1:dev-v1.1.json"]),
    ("nq_open", "NQ-open.dev.jsonl", '{"question": "q", "answer": ["a"]}\n{"question": "r", "answer": "b"}\n',
     ["'answer'", "line 2", "nq_open:NQ-open.dev.jsonl"]),
    ("nq_open", "NQ-open.dev.jsonl", '{"question": "q", "answer": ["a"]}\n{"question": \n',
     ["line 2", "not valid JSON"]),
    ("qasper", "qasper-sample.json", json.dumps(PAPER) + "\n" + json.dumps(PAPER)[:-5],
     ["object 2", "not valid JSON", "qasper:qasper-sample.json"]),
    ("qasper", "qasper-sample.json", json.dumps(_with(PAPER, ["qas", "answers", 0, "answer", 0, "yes_no"], "yes")),
     ["'yes_no'", "paper 1 (p1), question q1", "qasper:qasper-sample.json"]),
    ("qasper", "qasper-sample.json", json.dumps(_with(PAPER, ["full_text", "paragraphs"], [["a"], ["b"]])),
     ["full_text of paper 1 (p1)", "align"]),
    ("qasper", "qasper-sample.json", json.dumps(PAPER) + json.dumps(PAPER), ["paper p1 appears twice"]),
    ("qasper", "qasper-sample.json", json.dumps(PAPER) + json.dumps({**PAPER, "id": "p2"}),
     ["question id 'q1' appears twice"]),
    ("qasper", "qasper-sample.json", json.dumps(_with(PAPER, ["qas", "question_id"], [])),
     ["qas of paper 1 (p1)", "different lengths"]),
])
def test_bad_files(name, key, content, fragments, tmp_path):
    path = tmp_path / key
    path.write_text(content, "utf-8")
    with pytest.raises(DataError) as caught:
        read_files(name, {key: path}, {})
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(("name", "rows", "fragments"), [
    ("pubmedqa", [{"pubid": 1, "question": "Q?"}], ["'context'", "row 1", "pubmedqa rows"]),
    ("pubmedqa", [{"pubid": None, "context": {}}], ["'pubid'", "row 1"]),
    ("pubmedqa", [{"pubid": 1, "question": "Q?", "context": {"contexts": ["C."], "labels": ["B"]},
                   "long_answer": "L.", "final_decision": "yes"}] * 2, ["question id '1' appears twice"]),
    ("covid_qa", [{"document_id": 1, "context": "C", "question": "Q?", "id": 2, "answers": {"text": "C"}}],
     ["'text'", "answers of row 1", "covid_qa rows"]),
    ("covid_qa", [{"document_id": 1, "context": "C", "question": "Q?", "id": 2, "answers": {"text": ["C"]}},
                  {"document_id": 1, "context": "D", "question": "Q?", "id": 3, "answers": {"text": ["D"]}}],
     ["row 2", "document_id 1"]),
    ("squad_v1", [{"id": "1", "context": "C", "question": "Q?", "answers": {"text": ["C"]}}],
     ["'title'", "row 1", "squad_v1 rows"]),
    ("squad_v1", [{"id": "1", "title": "T", "context": "C", "question": "Q?", "answers": {"text": []}}],
     ["has no answer"]),
    ("nq_open", ["when?"], ["row 1 of nq_open rows is a str"]),
    ("qasper", [{**PAPER, "title": None}], ["'title'", "row 1 (p1)", "qasper rows"]),
])
def test_bad_rows(name, rows, fragments):
    with pytest.raises(DataError) as caught:
        read_rows(name, rows, {})
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize(("name", "row"), [
    ("pubmedqa", {"pubid": 1, "question": "Q?", "context": {"contexts": ["C."], "labels": ["B"], "meshes": []},
                  "long_answer": "L.", "final_decision": "yes"}),
    ("covid_qa", {"document_id": 1, "context": "C", "question": "Q?", "id": 2, "is_impossible": False,
                  "answers": {"text": ["C"], "answer_start": [0]}}),
    ("squad_v2", {"id": "1", "title": "T", "context": "C", "question": "Q?",
                  "answers": {"text": ["C"], "answer_start": [0]}}),
    ("nq_open", {"question": "q", "answer": ["a"]}),
    ("qasper", PAPER),
])
def test_any_wrong_field_is_a_data_error(name, row):
    """Every field of a valid row, set to null, a number or a list in turn: a DataError or a result."""
    read_rows(name, [row], {})
    paths = [[k] for k in row] + [[k, j] for k, v in row.items() if isinstance(v, dict) for j in v]
    for path in paths:
        for wrong in (None, 3, ["x"], {"x": 1}):
            with contextlib.suppress(DataError):
                read_rows(name, [_with(row, path, wrong)], {})


@pytest.mark.parametrize(("name", "options", "fragment"), [
    ("pubmed_qa", {}, "did you mean 'pubmedqa'?"),
    ("covid_qa", {"domain": "biomedical"}, "covid_qa cannot be filtered"),
    ("nq_open", {"titles": ["Oxygen"]}, "nq_open cannot be filtered (titles)"),
    ("squad_v1", {"domain": "biomed"}, "did you mean 'biomedical'?"),
    ("squad_v1", {"titles": "Oxygen"}, "must be a list"),
    ("squad_v1", {"split": "dev"}, "no option 'split'"),
])
def test_bad_options(name, options, fragment):
    with pytest.raises(DataError) as caught:
        read_rows(name, [], options)
    assert fragment in str(caught.value)


def test_options_that_are_absent_or_empty_are_fine():
    assert read_rows("nq_open", [{"question": "q", "answer": ["a"]}], {"domain": None, "titles": []})[1]


def test_bad_file_sets(tmp_path):
    with pytest.raises(DataError, match="no file 'ori_pqal.json'"):
        read_files("pubmedqa", {"test_ground_truth.json": tmp_path / "t.json"}, {})
    with pytest.raises(DataError, match="unexpected file 'train-v1.1.json'"):
        read_files("squad_v1", {"train-v1.1.json": tmp_path / "t.json"}, {})
    with pytest.raises(DataError, match="cannot read nq_open:NQ-open.dev.jsonl"):
        read_files("nq_open", {"NQ-open.dev.jsonl": tmp_path / "absent.jsonl"}, {})
    (tmp_path / "ori_pqal.json").write_text(json.dumps(PQAL), "utf-8")
    (tmp_path / "truth.json").write_text('{"123": "yes", "999": "no"}', "utf-8")
    with pytest.raises(DataError, match="test_ground_truth.json names PubMed ids that .* lacks, e.g. 999"):
        read_files("pubmedqa", {"ori_pqal.json": tmp_path / "ori_pqal.json",
                                "test_ground_truth.json": tmp_path / "truth.json"}, {})
