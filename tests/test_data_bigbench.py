"""bigbench sources: sdist verification, atomic extraction into the cache, and the collections.

Most tests build a miniature sdist with the real member layout and pin its
sha256 in place of the real one, so the whole fetch-verify-extract path runs
in milliseconds. The real 358 MB sdist is read only by the `slow` test, and
only if a copy is on disk (tests never download it).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from ragdsl.data import (
    DataError,
    attribution,
    bigbench,
    read_corpus,
    read_questions,
    read_source,
    source_identity,
)
from ragdsl.data.bigbench_sets import BIOMEDICAL, coqa_title

PREFIX = "bigbench-1.0.0/bigbench/benchmark_tasks/"


def _article(title: str, n: int) -> dict:
    return {"title": title, "paragraphs": [
        {"context": f"{title} paragraph {p}.", "qas": [
            {"id": f"{title}-{p}-{q}", "question": f"What about {title} {p}.{q}?",
             "answers": [{"text": f"{title} answer", "answer_start": 0}]} for q in range(2)]}
        for p in range(n)]}


def _squad(*articles: dict) -> dict:
    return {"version": "1.1", "data": list(articles)}


COQA = {"data": [
    {"source": "science", "id": "s1", "name": "sciq_train_1", "story": "Water freezes at 273.15 K.",
     "questions": [{"input_text": "When does water freeze?", "turn_id": 1},
                   {"input_text": "In Celsius?", "turn_id": 2}],
     "answers": [{"input_text": "273.15 K", "turn_id": 1}, {"input_text": "zero", "turn_id": 2}],
     "additional_answers": {"0": [{"input_text": "273.15 K", "turn_id": 1}, {"input_text": "0", "turn_id": 2}],
                            "1": [{"input_text": "at 273.15 K", "turn_id": 1}, {"input_text": "0", "turn_id": 2}]}},
    {"source": "wikipedia", "id": "w1", "name": "Premier_LeaguePremier_League_" + "ab" * 28,
     "story": "The Premier League is English football's top tier.",
     "questions": [{"input_text": "What is it?", "turn_id": 1}],
     "answers": [{"input_text": "a football league", "turn_id": 1}], "additional_answers": {}},
]}

CONFLICTS = {"examples": [
    {"input": "\nQuestion: who wrote hamlet?\nContext: Hamlet is a tragedy written by Jane Austen .",
     "target": "Jane Austen", "target_scores": {"Jane Austen": 1, "William Shakespeare": 0}},
    {"input": "\nQuestion: who voiced the beef ads?\nContext: It featured actor Robert Mitchum .",
     "target": "Robert Mitchum", "target_scores": {"Robert Mitchum": 0}},
]}

MEMBERS = {
    "squad_shifts/squaddev_v1.1.json": _squad(*(_article(t, 2) for t in (*BIOMEDICAL["squad_dev"], "Warsaw"))),
    "squad_shifts/new_wiki_v1.0.json": _squad(*(_article(t, 1) for t in (*BIOMEDICAL["squad_shifts_wiki"],
                                                                        "Acronym"))),
    "squad_shifts/nyt_v1.0.json": _squad(_article("https://www.nytimes.com/a.html", 1)),
    "squad_shifts/reddit_v1.0.json": _squad(_article("Filtered_Reddit_Comments", 3)),
    "squad_shifts/amazon_reviews_v1.0.json": _squad(_article("Amazon_Reviews_1", 1)),
    "coqa_conversational_question_answering/coqa.test.json": COQA,
    "contextual_parametric_knowledge_conflicts/task.json": CONFLICTS,
}


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def mini_sdist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small sdist with the real member paths, pinned as if it were bigbench 1.0.0."""
    path = tmp_path / "dl" / bigbench.SDIST_NAME
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "bigbench-1.0.0/setup.py", b"# not extracted\n")
        for name, content in MEMBERS.items():
            _add(tar, PREFIX + name, json.dumps(content).encode())
    monkeypatch.setattr(bigbench, "SDIST_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setenv(bigbench.SDIST_ENV, str(path))
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def source(collection: str, domain: str | None = None, titles: list[str] | None = None) -> dict:
    return {"call": "bigbench", "args": {"collection": collection, "domain": domain, "titles": titles or []}}


def no_locate(path: str) -> Path:
    raise AssertionError("bigbench sources read no spec files")


# ---------------------------------------------------------------- fetch, verify, extract


def test_extraction_copies_only_the_members_into_the_cache(mini_sdist, cache):
    folder = bigbench.ensure_extracted(cache)
    assert folder == cache / "datasets" / "bigbench" / f"{bigbench.SDIST_SHA256[:16]}-x{bigbench.EXTRACTOR_VERSION}"
    extracted = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert extracted == sorted([*MEMBERS, bigbench.MANIFEST])
    manifest = json.loads((folder / bigbench.MANIFEST).read_text())
    assert manifest["sha256"] == bigbench.SDIST_SHA256
    name = "squad_shifts/nyt_v1.0.json"
    assert manifest["files"][name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary folders left


def test_second_read_reuses_the_cache_without_extracting(mini_sdist, cache, monkeypatch):
    calls = []
    real = bigbench._extract
    monkeypatch.setattr(bigbench, "_extract", lambda *a: calls.append(a) or real(*a))
    first = read_questions(source("squad_dev"), no_locate, cache)
    stamp = (bigbench.extracted_dir(cache) / bigbench.MANIFEST).stat().st_mtime_ns
    mini_sdist.unlink()  # a cache hit needs no sdist at all
    assert read_questions(source("squad_dev"), no_locate, cache) == first
    assert len(calls) == 1
    assert (bigbench.extracted_dir(cache) / bigbench.MANIFEST).stat().st_mtime_ns == stamp


def test_corrupt_sdist_is_rejected_and_leaves_the_cache_clean(mini_sdist, cache):
    data = bytearray(mini_sdist.read_bytes())
    data[len(data) // 2] ^= 0xFF
    mini_sdist.write_bytes(bytes(data))
    with pytest.raises(DataError) as caught:
        read_corpus(source("squad_dev"), no_locate, cache)
    assert f"expected {bigbench.SDIST_SHA256}" in caught.value.message
    assert "delete it" in (caught.value.hint or "")
    assert not (cache / "datasets").exists()


def test_a_folder_without_manifest_is_rebuilt(mini_sdist, cache):
    folder = bigbench.extracted_dir(cache)
    (folder / "squad_shifts").mkdir(parents=True)
    (folder / "squad_shifts" / "squaddev_v1.1.json").write_text("{half")
    assert len(read_questions(source("squad_dev"), no_locate, cache)) == 7 * 2 * 2
    assert (folder / bigbench.MANIFEST).is_file()


def test_unwritable_cache_is_a_data_error(mini_sdist, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(DataError, match="cannot write the dataset cache"):
        bigbench.ensure_extracted(blocker)


def test_download_runs_pip_download_without_installing(mini_sdist, cache, monkeypatch):
    monkeypatch.delenv(bigbench.SDIST_ENV)
    seen = []

    def fake_run(command, **kwargs):
        seen.append(command)
        dest = Path(command[command.index("-d") + 1])
        (dest / bigbench.SDIST_NAME).write_bytes(mini_sdist.read_bytes())
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(bigbench.subprocess, "run", fake_run)
    bigbench.ensure_extracted(cache)
    [command] = seen
    assert command[1:8] == ["-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "bigbench==1.0.0"]


def test_failed_download_explains_the_offline_route(cache, monkeypatch):
    monkeypatch.delenv(bigbench.SDIST_ENV, raising=False)
    monkeypatch.setattr(bigbench.subprocess, "run", lambda command, **kw: subprocess.CompletedProcess(
        command, 1, "", "ERROR: Could not find a version that satisfies the requirement bigbench==1.0.0\n"))
    with pytest.raises(DataError) as caught:
        bigbench.ensure_extracted(cache)
    assert "pip download bigbench==1.0.0 failed: ERROR: Could not find a version" in caught.value.message
    assert bigbench.SDIST_ENV in (caught.value.hint or "")
    assert not (cache / "datasets").exists()


def test_identity_names_the_pinned_sdist_and_extractor():
    identity = source_identity(source("coqa"))
    assert identity == bigbench.identity()
    assert bigbench.SDIST_SHA256 in identity and f"extractor:{bigbench.EXTRACTOR_VERSION}" in identity


# ---------------------------------------------------------------- collections


def test_squad_collections_carry_titles_and_collection_meta(mini_sdist, cache):
    passages, questions = read_source(source("squad_shifts_reddit"), no_locate, cache)
    assert len(passages) == 3 and len(questions) == 6
    assert passages[0].meta == {"title": "Filtered_Reddit_Comments", "collection": "squad_shifts_reddit"}
    assert questions[0].meta["passage_id"] == passages[0].id


def test_biomedical_domain_takes_the_listed_articles_from_both_wikipedia_sets(mini_sdist, cache):
    passages, questions = read_source(source("squad_dev", "biomedical"), no_locate, cache)
    titles = {p.meta["title"] for p in passages}
    assert titles == {*BIOMEDICAL["squad_dev"], *BIOMEDICAL["squad_shifts_wiki"]}
    assert len(passages) == 2 * 6 + 4 and len(questions) == 2 * len(passages)
    origin = {p.meta["title"]: p.meta["collection"] for p in passages}
    assert origin["Pharmacy"] == "squad_dev" and origin["Lipid"] == "squad_shifts_wiki"


def test_titles_filter_articles_and_unknown_titles_suggest(mini_sdist, cache):
    got = read_corpus(source("squad_dev", titles=["Black Death", "Warsaw"]), no_locate, cache)
    assert {p.meta["title"] for p in got} == {"Black_Death", "Warsaw"}
    with pytest.raises(DataError) as caught:
        read_corpus(source("squad_dev", "biomedical", titles=["Warsaw"]), no_locate, cache)
    assert caught.value.message == "bigbench squad_dev (domain biomedical) has no article 'Warsaw'"
    with pytest.raises(DataError) as caught:
        read_corpus(source("squad_dev", titles=["Pharmacie"]), no_locate, cache)
    assert (caught.value.hint or "").startswith("did you mean 'Pharmacy'? articles: ")


@pytest.mark.parametrize(("collection", "domain", "expected"), [
    ("squad_dev", "biomed", "did you mean 'biomedical'? domains: biomedical"),
    ("coqa", "sciense", "did you mean 'science'? domains: cnn, gutenberg, mctest, race, reddit, science"),
    ("squad_shifts_nyt", "biomedical", "leave domain out; domains exist for squad_dev (biomedical) and coqa"),
])
def test_unknown_domains_list_the_valid_ones(cache, collection, domain, expected):
    with pytest.raises(DataError) as caught:
        read_corpus(source(collection, domain), no_locate, cache)
    assert (caught.value.hint or "").startswith(expected)
    assert not cache.exists()  # checked before anything is fetched


def test_coqa_turns_become_questions_with_every_gold_answer_and_their_history(mini_sdist, cache):
    passages, questions = read_source(source("coqa", "science"), no_locate, cache)
    assert [(p.id, p.meta["source"]) for p in passages] == [("s1", "science")]
    first, second = questions
    assert (first.id, first.answers) == ("s1:1", ("273.15 K", "at 273.15 K"))
    assert (second.id, second.question, second.answers) == ("s1:2", "In Celsius?", ("zero", "0"))
    assert second.context == passages[0].text and second.meta["passage_id"] == "s1"
    assert second.meta["history"] == [["When does water freeze?", "273.15 K"]] and first.meta["history"] == []
    assert read_corpus(source("coqa", titles=["Premier_League"]), no_locate, cache)[0].id == "w1"


def test_coqa_titles_are_cleaned_of_hashes_and_repeats():
    assert coqa_title("Premier_LeaguePremier_League_" + "4c" * 28) == "Premier_League"
    assert coqa_title("International_Chemical_Identifier.txt") == "International_Chemical_Identifier"
    assert coqa_title("data/gutenberg/txt/Zane Grey___The Lone Star Ranger.txt/CHAPTER VII_" + "d2" * 28) == \
        "Zane Grey: The Lone Star Ranger, CHAPTER VII"


def test_knowledge_conflict_keeps_the_counterfactual_context_and_both_answers(mini_sdist, cache):
    passages, (swapped, kept) = read_source(source("knowledge_conflict"), no_locate, cache)
    assert swapped.question == "who wrote hamlet?" and swapped.answers == ("Jane Austen",)
    assert swapped.context == "Hamlet is a tragedy written by Jane Austen ." == passages[0].text
    assert swapped.meta | {"passage_id": None} == {
        "passage_id": None, "collection": "knowledge_conflict", "contextual_answer": "Jane Austen",
        "parametric_answer": "William Shakespeare", "counterfactual": True}
    assert (kept.meta["parametric_answer"], kept.meta["counterfactual"]) == ("Robert Mitchum", False)
    with pytest.raises(DataError, match="no article titles"):
        read_corpus(source("knowledge_conflict", titles=["Hamlet"]), no_locate, cache)


def test_attribution_names_each_collections_licences():
    assert "CC BY-SA 4.0" in attribution(source("squad_dev")) and "CC BY 4.0" not in attribution(source("squad_dev"))
    assert "SQuAD-Shifts" in attribution(source("squad_dev", "biomedical"))
    assert "CC BY 4.0" in attribution(source("squad_shifts_amazon"))
    assert "Apache-2.0" in attribution(source("coqa", "cnn")).splitlines()[-1]
    assert len(attribution(source("coqa")).splitlines()) == 2 + 7
    assert "Natural Questions" in attribution(source("knowledge_conflict"))
