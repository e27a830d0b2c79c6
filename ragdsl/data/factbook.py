"""The CIA World Factbook as a corpus: one passage per field of each country profile.

A release is a folder of region folders holding one JSON file per country
(`europe/fr.json`), sections (`Geography`, `Government`, ...) mapping field
names to `{"text": ...}` leaves, to sub-fields, or to a `note` string. Text
carries HTML (`<strong>`, `<br>`, entities), which is flattened here.

A passage is one field of one profile (`fr/government/capital`), its text
led by the country and field names so that keyword retrieval can find
"the capital of France" in it. Questions derived from the same profiles are
in ragdsl.data.factbook_questions.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ragdsl.data.errors import DataError
from ragdsl.data.records import Passage

# Profiles without a usable conventional name (none, or no Government section).
_FALLBACK_NAMES = {
    "ee": "European Union", "xx": "World", "oo": "Southern Ocean", "xo": "Indian Ocean",
    "xq": "Arctic Ocean", "zh": "Atlantic Ocean", "zn": "Pacific Ocean", "cc": "Curacao",
    "sk": "Sint Maarten",
}
_SKIPPED_FOLDERS = frozenset({"meta"})  # the 2015 release's category list, not a profile
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True)
class Profile:
    code: str  # the file name: "fr"
    region: str  # the folder: "europe"
    name: str  # "France"
    sections: Mapping[str, Mapping]

    def field(self, section: str, *path: str) -> object:
        """The raw value at section > path..., or None (keys compared without surrounding spaces)."""
        value: object = self.sections.get(section)
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = next((v for k, v in value.items() if k.strip() == key), None)
        return value

    def text(self, section: str, *path: str) -> str | None:
        """The cleaned text of a leaf (`{"text": ...}` or a plain string), or None."""
        value = self.field(section, *path)
        if isinstance(value, Mapping):
            value = value.get("text")
        return clean(value) if isinstance(value, str) and clean(value) else None


def clean(text: str) -> str:
    """Plain text from a Factbook leaf: line breaks kept, tags dropped, entities decoded."""
    text = _BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def read_profiles(root: Path, shown: str) -> list[Profile]:
    """Every profile under `root` (region folders of <code>.json files), sorted by region and code."""
    files = sorted(p for p in root.glob("*/*.json") if p.parent.name not in _SKIPPED_FOLDERS)
    if not files:
        raise DataError(f"{shown} holds no Factbook profiles (<region>/<code>.json)",
                        "the release folder is incomplete: remove it and run again to fetch a fresh copy")
    return [_profile(path, shown) for path in files]


def _profile(path: Path, shown: str) -> Profile:
    where = f"{shown}/{path.parent.name}/{path.name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read Factbook profile {where}: {exc}",
                        "the cached release is damaged: remove it and run again") from None
    if not isinstance(data, Mapping):
        raise DataError(f"Factbook profile {where} is not a JSON object", "the cached release is damaged")
    return make_profile(path.stem, path.parent.name, data)


def make_profile(code: str, region: str, sections: Mapping[str, Mapping]) -> Profile:
    """A profile named as the Factbook names the country (its conventional short form)."""
    unnamed = Profile(code, region, "", sections)
    return Profile(code, region, _name(unnamed), sections)


def _name(profile: Profile) -> str:
    for form in ("conventional short form", "conventional long form"):
        name = profile.text("Government", "Country name", form)
        if name and name.lower() != "none":
            return name
    return _FALLBACK_NAMES.get(profile.code, profile.code.upper())


def flatten(value: object, label: str = "") -> Iterator[tuple[str, str]]:
    """(label, text) pairs of a field's leaves in document order; labels are sub-field names."""
    if isinstance(value, str):
        text = clean(value)
        if text:
            yield label, text
        return
    if not isinstance(value, Mapping):
        return
    for key, inner in value.items():
        name = key.strip()
        yield from flatten(inner, label if name == "text" else name)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def passage_for(profile: Profile, section: str, field: str) -> str:
    return f"{profile.code}/{slug(section)}/{slug(field)}"


def profile_passages(profile: Profile, release: str) -> list[Passage]:
    passages = []
    for section, fields in profile.sections.items():
        if not isinstance(fields, Mapping):
            continue
        for field, value in fields.items():
            lines = [f"{label}: {text}" if label else text for label, text in flatten(value)]
            if not lines:
                continue
            name = field.strip()
            meta = {"title": f"{profile.name}: {name}", "country": profile.name, "code": profile.code,
                    "region": profile.region, "section": section.strip(), "field": name,
                    "release": release, "dataset": "factbook"}
            text = f"{profile.name} — {name}\n" + "\n".join(lines)
            passages.append(Passage(passage_for(profile, section, name), text, meta))
    return passages
