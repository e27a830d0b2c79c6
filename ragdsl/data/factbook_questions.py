"""Questions derived from Factbook profiles: structured fields with one short, unambiguous answer.

Each rule reads one field, keeps it only when its text has a single clear
answer (one capital, one country code, one official language, a plain
number), and asks a fixed question about it. The answer's aliases are
spellings a reader would accept ("La Marseillaise" and its translation;
".fr" and "fr"). The gold passage is the field's passage.

The rules are versioned: DERIVATION_VERSION enters the source identity, so
changing a rule recomputes every dependent result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ragdsl.data.factbook import Profile, passage_for
from ragdsl.data.records import Passage, Question, unique_answers

DERIVATION_VERSION = 1

Extract = Callable[[str], "tuple[str, ...] | None"]


@dataclass(frozen=True)
class Rule:
    key: str  # part of the question id: "fr:capital"
    question: str  # with {country}
    section: str
    path: tuple[str, ...]  # a field and sub-fields; the first that exists is read
    extract: Extract
    alternatives: tuple[tuple[str, ...], ...] = ()  # other releases' names for the same field


_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_PAREN = re.compile(r"\s*\(([^()]*)\)\s*$")


def _single(text: str) -> bool:
    """One value: no list, no alternatives, no footnote."""
    return not any(mark in text for mark in (";", "\n", " or ", "note", " and "))


def _capital(text: str) -> tuple[str, ...] | None:
    if not _single(text) or "(" in text or text.lower() in ("none", "no official capital"):
        return None
    aliases = [text]
    if "," in text:  # "Washington, DC"
        aliases.append(text.split(",")[0])
    return tuple(aliases)


def _place(text: str) -> tuple[str, ...] | None:
    """A highest or lowest point: "Mont Blanc 4,810 m" -> "Mont Blanc"."""
    match = re.fullmatch(rf"(?P<name>[^\d;()]+?)\s+(?P<height>{_NUMBER})(?:\s*m)?", text)
    if match is None or not _single(text):
        return None
    name = match["name"].strip(" ,")
    return (name, text) if len(name) > 2 else None  # the name, or the name with its height


def _plain_number(unit: str) -> Extract:
    def extract(text: str) -> tuple[str, ...] | None:
        match = re.fullmatch(rf"({_NUMBER})\s*{unit}(?:\s*\(\d{{4}} est\.\))?", text)
        if match is None:
            return None
        return (f"{match[1]} {unit}".strip(), match[1])
    return extract


def _independence_date(text: str) -> tuple[str, ...] | None:
    match = re.fullmatch(r"(\d{1,2} [A-Z][a-z]+ \d{4}) \(from ([^()]+)\)", text)
    return (match[1],) if match else None


def _independence_from(text: str) -> tuple[str, ...] | None:
    match = re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4} \(from ([^();,]+)\)", text)
    if match is None:
        return None
    name = match[1].strip()
    return unique_answers([name, re.sub(r"^the ", "", name)])


def _country_code(text: str) -> tuple[str, ...] | None:
    return (text, text[1:]) if re.fullmatch(r"\.[a-z]{2}", text) else None


def _anthem(text: str) -> tuple[str, ...] | None:
    match = re.fullmatch(r'"([^"]+)"(?:\s*\(([^()]+)\))?', text)
    if match is None:
        return None
    return unique_answers([match[1], *([match[2]] if match[2] else [])])


def _official_language(text: str) -> tuple[str, ...] | None:
    found = re.findall(r"([A-Z][A-Za-z' -]*?) \(official\)", text)
    if len(found) != 1 or text.count("official") != 1:
        return None
    return (found[0].strip(),)


def _long_name(text: str) -> tuple[str, ...] | None:
    return (text,) if _single(text) and text.lower() != "none" and "(" not in text else None


def _currency(text: str) -> tuple[str, ...] | None:
    match = re.match(r"([a-zA-Z][a-zA-Z .'-]*?) \(([A-Z]{3})\) per US dollar", text)
    if match is None:
        return None
    name = match[1].strip()
    singular = re.sub(r"s$", "", name)
    return unique_answers([name, singular, match[2]])


def _population(text: str) -> tuple[str, ...] | None:
    match = re.fullmatch(rf"({_NUMBER}) \(\w* ?\d{{4}} est\.\)", text)
    return (match[1],) if match else None


RULES: tuple[Rule, ...] = (
    Rule("capital", "What is the capital of {country}?", "Government", ("Capital", "name"), _capital),
    Rule("long-name", "What is the conventional long-form name of {country}?", "Government",
         ("Country name", "conventional long form"), _long_name),
    Rule("highest-point", "What is the highest point in {country}?", "Geography",
         ("Elevation", "highest point"), _place, (("Elevation extremes", "highest point"),)),
    Rule("lowest-point", "What is the lowest point in {country}?", "Geography",
         ("Elevation", "lowest point"), _place, (("Elevation extremes", "lowest point"),)),
    Rule("area", "What is the total area of {country}?", "Geography", ("Area", "total"),
         _plain_number("sq km")),
    Rule("coastline", "How long is the coastline of {country}?", "Geography", ("Coastline",),
         _plain_number("km")),
    Rule("independence", "On what date did {country} become independent?", "Government",
         ("Independence",), _independence_date),
    Rule("independence-from", "From which country did {country} gain independence?", "Government",
         ("Independence",), _independence_from),
    Rule("internet-code", "What is the internet country code of {country}?", "Communications",
         ("Internet country code",), _country_code),
    Rule("anthem", "What is the title of the national anthem of {country}?", "Government",
         ("National anthem(s)", "title"), _anthem, (("National anthem", "name"),)),
    Rule("official-language", "What is the official language of {country}?", "People and Society",
         ("Languages", "Languages"), _official_language, (("Languages",),)),
    Rule("currency", "What currency does {country} use?", "Economy", ("Exchange rates", "Currency"),
         _currency, (("Exchange rates",),)),
    Rule("population", "What is the population of {country}?", "People and Society",
         ("Population", "total"), _population, (("Population",),)),
)


def derive_questions(profile: Profile, passages: dict[str, Passage]) -> list[Question]:
    """The questions one profile answers; `passages` maps id to passage for the gold context."""
    questions = []
    for rule in RULES:
        for path in (rule.path, *rule.alternatives):
            text = profile.text(rule.section, *path)
            if text is not None:
                break
        else:
            continue
        answers = rule.extract(text)
        if not answers:
            continue
        gold = passages.get(passage_for(profile, rule.section, _field_key(profile, rule.section, path[0])))
        if gold is None:
            continue
        meta = {"title": gold.meta["title"], "country": profile.name, "code": profile.code,
                "fact": rule.key, "field": gold.meta["field"], "passage_id": gold.id,
                "passage_ids": [gold.id], "release": gold.meta["release"], "dataset": "factbook"}
        questions.append(Question(f"{profile.code}:{rule.key}", rule.question.format(country=profile.name),
                                  unique_answers(answers), gold.text, meta))
    return questions


def _field_key(profile: Profile, section: str, field: str) -> str:
    """The field's name as the profile spells it (some carry stray spaces)."""
    fields = profile.sections.get(section) or {}
    return next((k.strip() for k in fields if k.strip() == field), field)
