"""The QA collections inside the BIG-bench sdist, read as passages and questions.

- squad_dev, squad_shifts_{nyt,reddit,amazon,wiki}: SQuAD format (ragdsl.data.squad).
- coqa: 700 stories from 7 source domains; each turn's question is a question
  (gold answers: the answer plus CoQA's additional answers), its story the
  context; earlier turns are kept in meta["history"] because CoQA questions
  lean on them ("who created him?").
- knowledge_conflict: Natural Questions with the answer entity substituted in
  the context (Longpre et al., 2021). The counterfactual context is the
  context and passage; the gold answer is the one the context supports;
  meta keeps both the contextual and the parametric (original) answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ragdsl import suggest
from ragdsl.data.bigbench import ensure_extracted
from ragdsl.data.errors import DataError
from ragdsl.data.records import Passage, Question, passage_id, question_id, unique_answers
from ragdsl.data.squad import articles, load_json, parse_squad, title_of

SQUAD_FILES = {
    "squad_dev": "squad_shifts/squaddev_v1.1.json",
    "squad_shifts_nyt": "squad_shifts/nyt_v1.0.json",
    "squad_shifts_reddit": "squad_shifts/reddit_v1.0.json",
    "squad_shifts_amazon": "squad_shifts/amazon_reviews_v1.0.json",
    "squad_shifts_wiki": "squad_shifts/new_wiki_v1.0.json",
}
COQA_FILE = "coqa_conversational_question_answering/coqa.test.json"
CONFLICT_FILE = "contextual_parametric_knowledge_conflicts/task.json"
COLLECTIONS = (*SQUAD_FILES, "coqa", "knowledge_conflict")
COQA_DOMAINS = ("cnn", "gutenberg", "mctest", "race", "reddit", "science", "wikipedia")

# domain = "biomedical": a stand-in for biomedical QA (nothing reachable ships
# BioASQ or PubMedQA). Every SQuAD dev article on medicine or biology, plus the
# four on medicine, physiology and biochemistry from SQuAD-Shifts' new Wikipedia
# set (same annotation protocol, newer articles): 349 passages, 1,762 questions.
# Left out as mostly off-topic: Amazon_rainforest (geography), Geology.
BIOMEDICAL = {
    "squad_dev": ("Black_Death", "Chloroplast", "Ctenophora", "Immune_system", "Oxygen", "Pharmacy"),
    "squad_shifts_wiki": ("Cardiovascular_disease", "Doctor_of_Medicine", "Lipid", "Neuroscience"),
}
DOMAINS: dict[str, tuple[str, ...]] = {"squad_dev": ("biomedical",), "coqa": COQA_DOMAINS}

_CONFLICT_INPUT = re.compile(r"\AQuestion: (?P<question>.*?)\nContext: (?P<context>.*)\Z", re.DOTALL)


def load_collection(args: Mapping, cache: Path | None = None) -> tuple[list[Passage], list[Question]]:
    """Passages and questions of `bigbench(collection, domain, titles)`."""
    collection, domain = args["collection"], args.get("domain")
    titles = [str(t) for t in args.get("titles") or []]
    if collection not in COLLECTIONS:
        raise DataError(f"unknown bigbench collection '{collection}'",
                        f"{suggest.did_you_mean(collection, COLLECTIONS)} collections: "
                        f"{suggest.one_of(COLLECTIONS)}".lstrip())
    check_domain(collection, domain)
    root = ensure_extracted(cache)
    if collection in SQUAD_FILES:
        return _squad(root, collection, domain, titles)
    if collection == "coqa":
        return _coqa(root, domain, titles)
    if titles:
        raise DataError("bigbench knowledge_conflict has no article titles to filter by",
                        "leave titles out")
    return _conflicts(root)


def check_domain(collection: str, domain: str | None) -> None:
    if domain is None:
        return
    valid = DOMAINS.get(collection, ())
    if domain in valid:
        return
    if not valid:
        raise DataError(f"bigbench collection '{collection}' has no domains (domain = \"{domain}\")",
                        "leave domain out; domains exist for squad_dev (biomedical) and coqa "
                        f"({', '.join(COQA_DOMAINS)})")
    raise DataError(f"bigbench collection '{collection}' has no domain '{domain}'",
                    f"{suggest.did_you_mean(domain, valid)} domains: {suggest.one_of(valid)}".lstrip())


def _select_titles(titles: list[str], available: list[str], what: str) -> set[str]:
    """The article titles asked for; spaces and underscores are interchangeable."""
    by_key = {t.replace(" ", "_"): t for t in available}
    chosen = set()
    for title in titles:
        found = by_key.get(title.replace(" ", "_"))
        if found is None:
            raise DataError(f"bigbench {what} has no article '{title}'",
                            f"{suggest.did_you_mean(title, available)} articles: "
                            f"{suggest.one_of(available)}".lstrip())
        chosen.add(found)
    return chosen


def _squad(root: Path, collection: str, domain: str | None, titles: list[str]):
    parts = BIOMEDICAL if domain == "biomedical" else {collection: None}
    selected: list[tuple[str, list[Mapping]]] = []
    for name, keep in parts.items():
        items = articles(load_json(root / SQUAD_FILES[name], name), name)
        if keep is not None:
            items = [a for a in items if a.get("title") in keep]
            assert len(items) == len(keep), f"biomedical titles missing from {name}"  # pinned sdist
        selected.append((name, items))
    if titles:
        available = [title_of(a, i) for _, items in selected for i, a in enumerate(items, 1)]
        what = f"{collection}" + (f" (domain {domain})" if domain else "")
        chosen = _select_titles(titles, available, what)
        selected = [(name, [a for i, a in enumerate(items, 1) if title_of(a, i) in chosen])
                    for name, items in selected]
    passages: list[Passage] = []
    questions: list[Question] = []
    for name, items in selected:
        if items:
            p, q = parse_squad(items, f"bigbench:{SQUAD_FILES[name]}", {"collection": name})
            passages += p
            questions += q
    return passages, questions


def coqa_title(name: str) -> str:
    """A readable title from a CoQA file name (they carry hashes and doubled names)."""
    name = re.sub(r"_[0-9a-f]{40,}$", "", name).removeprefix("data/gutenberg/txt/")
    name = re.sub(r"\.(txt|story)(?=/|$)", "", name)
    half = len(name) // 2
    if len(name) % 2 == 0 and name[:half] == name[half:]:
        name = name[:half]  # wikipedia names repeat the title: "Premier_LeaguePremier_League"
    return name.replace("___", ": ").replace("/", ", ")  # gutenberg: "Author___Book/Chapter"


def _pinned(path: Path) -> dict:
    """A member of the pinned sdist: its layout is known, so only its presence is checked."""
    data = load_json(path, f"bigbench:{path.parent.name}/{path.name}")
    assert isinstance(data, dict), path
    return data


def _coqa(root: Path, domain: str | None, titles: list[str]):
    data = _pinned(root / COQA_FILE)
    stories = [s for s in data["data"] if domain is None or s["source"] == domain]
    if titles:
        what = "coqa" + (f" (domain {domain})" if domain else "")
        chosen = _select_titles(titles, [coqa_title(s["name"]) for s in stories], what)
        stories = [s for s in stories if coqa_title(s["name"]) in chosen]
    passages, questions = [], []
    for story in stories:
        sid, text, title = story["id"], story["story"].strip(), coqa_title(story["name"])
        base = {"title": title, "source": story["source"], "collection": "coqa"}
        passages.append(Passage(sid, text, base))
        # CoQA's extra annotators, aligned by turn: {"0": [{"turn_id": 1, "input_text": ...}, ...], ...}
        extra: dict[int, list[str]] = {}
        for alternatives in (story.get("additional_answers") or {}).values():
            for answer in alternatives:
                extra.setdefault(answer["turn_id"], []).append(answer["input_text"])
        history: list[list[str]] = []
        for q, a in zip(story["questions"], story["answers"]):
            turn, question = q["turn_id"], q["input_text"].strip()
            answers = unique_answers([a["input_text"], *extra.get(turn, [])])
            meta = {**base, "passage_id": sid, "turn": turn, "history": [list(h) for h in history]}
            questions.append(Question(f"{sid}:{turn}", question, answers, text, meta))
            history.append([question, a["input_text"].strip()])
    return passages, questions


def _conflicts(root: Path):
    data = _pinned(root / CONFLICT_FILE)
    passages: dict[str, Passage] = {}
    questions = []
    for example in data["examples"]:
        found = _CONFLICT_INPUT.match(example["input"].strip())
        assert found is not None, example["input"][:80]  # every example of the pinned sdist matches
        question, context = found["question"].strip(), found["context"].strip()
        contextual = example["target"].strip()
        # target_scores: {contextual answer: 1, original answer: 0}; one example keeps its
        # original context, so its only answer is both
        originals = [k for k, v in example["target_scores"].items() if v == 0]
        parametric = next((k for k in originals if k != example["target"]), contextual).strip()
        pid = passage_id(context)
        passages.setdefault(pid, Passage(pid, context, {"collection": "knowledge_conflict"}))
        meta = {"passage_id": pid, "collection": "knowledge_conflict", "contextual_answer": contextual,
                "parametric_answer": parametric, "counterfactual": contextual != parametric}
        questions.append(Question(question_id(question, [contextual], context), question, (contextual,),
                                  context, meta))
    return list(passages.values()), questions
