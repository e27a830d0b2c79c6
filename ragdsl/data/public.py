"""Public QA data sets of the paper's domains, from the publishers' files or Hugging Face rows.

`read_files(name, files, options)` reads the files as published (`files` maps
the names in FILES to paths); `read_rows(name, rows, options)` reads the rows
of the matching Hugging Face dataset (plain dicts, as `datasets` yields them).
Both give the same passages and questions, except where a layout lacks
information (said below). Every record's meta has "dataset"; a question with
gold evidence has meta["passage_id"] (the first gold passage), "passage_ids"
(all, in order) and, as context, the gold passages' texts joined by "\\n\\n".
Layouts keyed by id (pubmedqa, qasper) are read in id order, so key order
never matters; the others keep their order.

- pubmedqa: PQA-L, 1,000 questions (HF qiaojin/PubMedQA, pqa_labeled, train). A
  passage per abstract section ("{pmid}:{i}"); the long answer (the abstract's
  conclusion) is the gold answer, yes/no/maybe is meta["final_decision"]. Only
  the files have "year" (58 records have none) and, with test_ground_truth.json,
  "official_split" (500 "test", 500 "train").
- covid_qa: 98 full-text papers, 1,380 questions (HF deepset/covid_qa_deepset,
  train). A passage per paper, id = its document_id. 234 answer_start offsets
  are wrong, so no offsets are kept.
- squad_v1, squad_v2: the dev sets (HF rajpurkar/squad and rajpurkar/squad_v2,
  validation), read by ragdsl.data.squad: v2.0's 5,945 unanswerable questions
  are left out. domain = "biomedical" keeps BIOMEDICAL's six articles of v1.1
  dev; v2.0 dev has no Chloroplast, so five there.
- nq_open: the dev set, 3,610 questions with their aliases (HF
  google-research-datasets/nq_open, validation); closed book, so passages are None.
- qasper: papers in the HF schema (allenai/qasper), as concatenated JSON objects,
  a list, or the original dict keyed by paper id (whose own layout, with
  full_text and qas as lists of objects, is read too). Passages: the abstract
  and every non-empty paragraph ("{paper}:{section}:{paragraph}", numbered as
  in the source). Gold answers as the official evaluator forms them; evidence
  strings equal to a paragraph give the gold passages ("FLOAT SELECTED: ..."
  figure evidence matches none). A question whose annotators all marked it
  unanswerable has no gold answer and is skipped: 6 of the 51 questions of
  the 10-paper sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from ragdsl import suggest
from ragdsl.data import _public_rows as layout
from ragdsl.data.errors import DataError
from ragdsl.data.records import Passage, Question, question_id, unique_answers
from ragdsl.data.squad import articles, load_json, parse_squad, title_of
from ragdsl.data.tabular import jsonl_records

READERS: tuple[str, ...] = ("pubmedqa", "covid_qa", "squad_v1", "squad_v2", "nq_open", "qasper")
FILES: dict[str, tuple[str, ...]] = {  # qasper: any file names, each a file of papers
    "pubmedqa": ("ori_pqal.json", "test_ground_truth.json"), "covid_qa": ("200423_covidQA.json",),
    "squad_v1": ("dev-v1.1.json",), "squad_v2": ("dev-v2.0.json",), "nq_open": ("NQ-open.dev.jsonl",),
    "qasper": ("qasper-dev-v0.3.json",)}
OPTIONAL_FILES = ("test_ground_truth.json",)
# The SQuAD dev articles on medicine or biology (as bigbench_sets.BIOMEDICAL["squad_dev"]).
BIOMEDICAL = ("Black_Death", "Chloroplast", "Ctenophora", "Immune_system", "Oxygen", "Pharmacy")
DOMAINS: dict[str, tuple[str, ...]] = {"biomedical": BIOMEDICAL}
_SQUAD = ("squad_v1", "squad_v2")
_PQAL_FIELDS = {"question": "QUESTION", "contexts": "CONTEXTS", "labels": "LABELS",
                "long_answer": "LONG_ANSWER", "final_decision": "final_decision", "year": "YEAR"}

Result = tuple[list[Passage] | None, list[Question]]


def read_files(name: str, files: Mapping[str, Path], options: Mapping) -> Result:
    """Passages (None for nq_open) and questions of the publisher's files, `files` naming them as FILES."""
    _check_options(name, options)
    paths = _check_files(name, files)
    shown = {key: f"{name}:{key}" for key in paths}
    if name == "pubmedqa":
        return _pubmedqa_files(paths, shown)
    if name == "qasper":
        papers = [paper for key, path in paths.items() for paper in layout.qasper_papers(path, shown[key])]
        return _qasper(papers, " and ".join(shown.values()))
    (key, path), = paths.items()
    if name == "nq_open":
        return _nq_open(jsonl_records(path, shown[key]), shown[key])
    if name == "covid_qa":
        return _covid_qa(load_json(path, shown[key]), shown[key])
    return _squad(name, articles(load_json(path, shown[key]), shown[key]), shown[key], options)


def read_rows(name: str, rows: Iterable[Mapping], options: Mapping) -> Result:
    """The same from the rows of the matching Hugging Face dataset (see the module's docstring)."""
    _check_options(name, options)
    shown = f"{name} rows"
    if name == "pubmedqa":
        return _pubmedqa(layout.pubmedqa(rows, shown), layout.PUBMEDQA_FIELDS, None, shown)
    if name == "covid_qa":
        return _covid_qa(layout.covid_qa(rows, shown), shown)
    if name == "nq_open":
        return _nq_open(layout.numbered(rows, shown), shown)
    if name == "qasper":
        return _qasper([(f"{where} ({row.get('id')})", None, row) for where, row in layout.numbered(rows, shown)],
                       shown)
    return _squad(name, layout.squad(rows, shown, v2=name == "squad_v2"), shown, options)


def _check_options(name: str, options: Mapping) -> None:
    if name not in READERS:
        raise DataError(f"unknown public data set '{name}'",
                        f"{suggest.did_you_mean(name, READERS)} data sets: {suggest.one_of(READERS)}".lstrip())
    unknown = [key for key in options if key not in ("domain", "titles")]
    if unknown:
        raise DataError(f"{name} has no option '{unknown[0]}'", "options: domain, titles (squad_v1, squad_v2)")
    domain, titles = options.get("domain"), options.get("titles") or []
    if name not in _SQUAD and (domain is not None or titles):
        what = f'domain = "{domain}"' if domain is not None else "titles"
        raise DataError(f"{name} cannot be filtered ({what})",
                        "leave domain and titles out: only squad_v1 and squad_v2 have them")
    if domain is not None and (not isinstance(domain, str) or domain not in DOMAINS):
        raise DataError(f"{name} has no domain '{domain}'",
                        f"{suggest.did_you_mean(str(domain), DOMAINS)} domains: {suggest.one_of(DOMAINS)}".lstrip())
    if not isinstance(titles, (list, tuple)) or not all(isinstance(t, str) for t in titles):
        raise DataError(f"titles for {name} must be a list of article titles", 'e.g. titles = ["Oxygen"]')


def _check_files(name: str, files: Mapping[str, Path]) -> dict[str, Path]:
    paths = {str(key): Path(path) for key, path in files.items()}
    expected = (tuple(paths) or FILES[name]) if name == "qasper" else FILES[name]
    unknown = [key for key in paths if key not in expected]
    missing = [key for key in expected if key not in paths and key not in OPTIONAL_FILES]
    if unknown or missing:
        what = f"an unexpected file '{unknown[0]}'" if unknown else f"no file '{missing[0]}'"
        raise DataError(f"{name} is given {what}", f"{name} reads {', '.join(expected)}")
    return paths


def _pubmedqa_files(paths: Mapping[str, Path], shown: Mapping[str, str]) -> Result:
    pqal, truth = shown["ori_pqal.json"], shown.get("test_ground_truth.json")
    data = load_json(paths["ori_pqal.json"], pqal)
    if not isinstance(data, Mapping):
        raise DataError(f"{pqal} is not an object keyed by PubMed id", "use ori_pqal.json as published")
    test = None
    if truth is not None:
        decisions = load_json(paths["test_ground_truth.json"], truth)
        if not isinstance(decisions, Mapping):
            raise DataError(f"{truth} is not an object mapping PubMed ids to decisions", "use it as published")
        test = {str(k) for k in decisions}
        if not test <= set(data):
            raise DataError(f"{truth} names PubMed ids that {pqal} lacks, e.g. {min(test - set(data))}",
                            "use the two files of one PubMedQA release")
    return _pubmedqa([(str(k), f"record {k}", v) for k, v in data.items()], _PQAL_FIELDS, test, pqal)


def _pubmedqa(records: Sequence[tuple[str, str, object]], fields: Mapping[str, str], test: set[str] | None,
              shown: str) -> Result:
    """`(pmid, where, record)` in PubMed id order; `fields` names the record's fields."""
    passages: list[Passage] = []
    questions: list[Question] = []
    for pmid, where, record in sorted(records, key=lambda r: (len(r[0]), r[0])):
        question = layout.text(record, fields["question"], where, shown)
        texts = layout.strings(record, fields["contexts"], where, shown)
        labels = layout.strings(record, fields["labels"], where, shown)
        if len(labels) != len(texts):
            raise DataError(f"{where} of {shown} has {len(texts)} sections but {len(labels)} labels",
                            f"'{fields['labels']}' names each of '{fields['contexts']}'")
        answer = layout.text(record, fields["long_answer"], where, shown)
        base = {"dataset": "pubmedqa"}
        year = record.get(fields["year"]) if isinstance(record, Mapping) else None
        if isinstance(year, (str, int)) and not isinstance(year, bool) and str(year).strip():
            base["year"] = str(year).strip()
        meta = {"final_decision": layout.text(record, fields["final_decision"], where, shown), **base}
        if test is not None:
            meta["official_split"] = "test" if pmid in test else "train"
        sections = [Passage(f"{pmid}:{i}", text.strip(),
                            {"title": f"PMID {pmid}", "section": label.strip(), "pmid": pmid, **base})
                    for i, (label, text) in enumerate(zip(labels, texts), 1) if text.strip()]
        if not sections:
            raise DataError(f"{where} of {shown} has no abstract text", f"'{fields['contexts']}' is empty")
        passages += sections
        questions.append(_gold(Question(pmid, question, (answer,), None, meta), sections))
    return passages, _unique(questions, shown)


def _covid_qa(data: object, shown: str) -> Result:
    """A passage per paper (id: document_id); offsets are not kept (234 are wrong)."""
    passages: dict[str, Passage] = {}
    questions: list[Question] = []
    for a, article in enumerate(articles(data, shown), 1):
        for p, paper in enumerate(layout.value(article, "paragraphs", list, f"article {a}", shown), 1):
            where = f"article {a}, paragraph {p}"
            doc = layout.ident(paper, "document_id", where, shown)
            where = f"{where} (document_id {doc})"
            text = layout.text(paper, "context", where, shown)
            passage = Passage(doc, text, {"title": _first_line(text), "document_id": doc, "dataset": "covid_qa"})
            if passages.setdefault(doc, passage).text != text:
                raise DataError(f"document_id {doc} names two texts in {shown}", "document ids must be unique")
            for q, qa in enumerate(layout.value(paper, "qas", list, where, shown), 1):
                q_where = f"{where}, question {q}"
                qid = layout.ident(qa, "id", q_where, shown)
                q_where = f"{q_where} (id {qid})"
                answers = layout.value(qa, "answers", list, q_where, shown)
                gold = unique_answers([layout.value(x, "text", str, f"an answer of {q_where}", shown) for x in answers])
                if not gold and not qa.get("is_impossible"):
                    raise DataError(f"{q_where} of {shown} has no answer", "every question needs a gold answer")
                if gold:  # an unanswerable question (none in COVID-QA) is left out, as SQuAD 2.0's are
                    question = Question(qid, layout.text(qa, "question", q_where, shown), gold, None,
                                        {"dataset": "covid_qa"})
                    questions.append(_gold(question, [passage]))
    return list(passages.values()), _unique(questions, shown)


def _first_line(text: str, limit: int = 120) -> str:
    """A paper's title: its first non-empty line, cut at a word to at most `limit` characters."""
    line = next(line.strip() for line in text.splitlines() if line.strip())
    if len(line) <= limit:
        return line
    head = line[:limit - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip() + "…"


def _squad(name: str, items: Sequence[Mapping], shown: str, options: Mapping) -> Result:
    domain, titles = options.get("domain"), list(options.get("titles") or [])
    if domain is not None:
        items = [a for a in items if a.get("title") in DOMAINS[domain]]
        if not items:
            raise DataError(f"{shown} has none of the {domain} articles", ", ".join(DOMAINS[domain]))
    if titles:
        available = [title_of(a, i) for i, a in enumerate(items, 1)]
        by_key = {t.replace(" ", "_"): t for t in available}
        for title in titles:
            if title.replace(" ", "_") not in by_key:
                within = f" (domain {domain})" if domain else ""
                raise DataError(f"{shown}{within} has no article '{title}'",
                                f"{suggest.did_you_mean(title, available)} articles: "
                                f"{suggest.one_of(available)}".lstrip())
        chosen = {by_key[t.replace(" ", "_")] for t in titles}
        items = [a for i, a in enumerate(items, 1) if title_of(a, i) in chosen]
    passages, questions = parse_squad(list(items), shown, {"dataset": name})
    return passages, [replace(q, meta={**q.meta, "passage_ids": [q.meta["passage_id"]]}) for q in questions]


def _nq_open(records: Iterable[tuple[str, Mapping]], shown: str) -> Result:
    """Questions only; a line repeating another's question and aliases is the same question, kept once."""
    questions: dict[str, Question] = {}
    for where, record in records:
        question = layout.text(record, "question", where, shown)
        gold = unique_answers(layout.strings(record, "answer", where, shown))
        if not gold:
            raise DataError(f"{where} of {shown} has no answer", "'answer' lists the gold aliases")
        qid = question_id(question, gold, None)
        questions.setdefault(qid, Question(qid, question, gold, None, {"dataset": "nq_open"}))
    return None, list(questions.values())


def _qasper(papers: list[tuple[str, str | None, object]], shown: str) -> Result:
    """Papers in id order; `key` is the id of a paper that has no "id" (the original dict layout)."""
    if not papers:
        raise DataError(f"{shown} holds no papers", "expected Qasper papers (id, title, abstract, ...)")
    read: dict[str, tuple[list[Passage], list[Question]]] = {}
    for where, key, paper in papers:
        if key is not None and isinstance(paper, Mapping) and "id" not in paper:
            pid = key
        else:
            pid = layout.text(paper, "id", where, shown)
        if pid in read:
            raise DataError(f"paper {pid} appears twice in {shown}", "paper ids must be unique")
        read[pid] = _qasper_paper(pid, paper, where, shown)
    passages = [p for pid in sorted(read) for p in read[pid][0]]
    return passages, _unique([q for pid in sorted(read) for q in read[pid][1]], shown)


def _qasper_paper(pid: str, paper: object, where: str, shown: str) -> tuple[list[Passage], list[Question]]:
    title, base = layout.text(paper, "title", where, shown), {"paper_id": pid, "dataset": "qasper"}
    abstract = layout.value(paper, "abstract", str, where, shown).strip()
    passages = [Passage(f"{pid}:abstract", abstract, {"title": f"{title} — Abstract", "section": "Abstract",
                                                       **base})] if abstract else []
    for s, (name, paragraphs) in enumerate(layout.qasper_sections(paper, where, shown), 1):
        for p, text in enumerate(paragraphs, 1):
            if not isinstance(text, str):
                raise DataError(f"paragraph {p} of section {s} in {where} of {shown} is not text",
                                "paragraphs are lists of strings")
            if text.strip():
                heading = f"{title} — {name}" if name else title
                passages.append(Passage(f"{pid}:{s}:{p}", text.strip(), {"title": heading, "section": name, **base}))
    by_text: dict[str, Passage] = {}
    for passage in passages:
        by_text.setdefault(passage.text, passage)  # a repeated paragraph is its first passage
    questions = []
    for question, qid, answers in layout.qasper_qas(paper, where, shown):
        q_where = f"{where}, question {qid}"
        kinds: dict[str, str] = {}  # answer -> type, first annotator's first
        gold: dict[str, Passage] = {}
        for annotation in answers:
            answer, kind = _qasper_answer(annotation, q_where, shown)
            if answer:
                kinds.setdefault(answer, kind)
            for line in layout.strings(annotation, "evidence", q_where, shown, absent_ok=True):
                if line.strip() in by_text:
                    gold.setdefault(by_text[line.strip()].id, by_text[line.strip()])
        if kinds:  # else every annotator found it unanswerable: skipped
            meta: dict = {**base, "answer_types": list(kinds.values())}
            questions.append(_gold(Question(qid, question, tuple(kinds), None, meta), list(gold.values())))
    return passages, questions


def _qasper_answer(answer: object, where: str, shown: str) -> tuple[str, str]:
    """(answer, type) as Qasper's evaluator forms them; ("", "none") when unanswerable or empty."""
    if layout.value(answer, "unanswerable", (bool, type(None)), f"an answer of {where}", shown):
        return "", "none"
    yes_no = layout.value(answer, "yes_no", (bool, type(None)), f"an answer of {where}", shown)
    if yes_no is not None:
        return ("Yes" if yes_no else "No"), "boolean"
    spans = ", ".join(layout.strings(answer, "extractive_spans", f"an answer of {where}", shown, absent_ok=True))
    if spans.strip():
        return spans.strip(), "extractive"
    free = layout.value(answer, "free_form_answer", (str, type(None)), f"an answer of {where}", shown) or ""
    return (free.strip(), "abstractive") if free.strip() else ("", "none")


def _gold(question: Question, gold: list[Passage]) -> Question:
    """The question with its gold passages (if any) as meta and context."""
    if not gold:
        return question
    meta = {**question.meta, "passage_id": gold[0].id, "passage_ids": [p.id for p in gold]}
    return replace(question, context="\n\n".join(p.text for p in gold), meta=meta)


def _unique(questions: list[Question], shown: str) -> list[Question]:
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise DataError(f"question id '{question.id}' appears twice in {shown}", "question ids must be unique")
        seen.add(question.id)
    return questions
