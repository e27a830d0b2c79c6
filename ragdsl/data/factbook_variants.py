"""Factbook variants for "form vs facts" experiments: a subset of facts, counterfactual facts, new facts.

Each is a pure function over the passages and questions that ragdsl.data.named
derives from the selected profiles, applied in this order:

- `changes_since`: keep the questions whose answer differs from an older
  release's (SQuAD-normalised, thousands separators and accents dropped);
  `meta["previous"]` holds the old answers.
- `counterfactual`: swap the listed facts between countries by a derangement
  (one draw per fact, seeded by the seed and the fact); every mention of a
  country's real answer in its own passages is rewritten to the swapped-in
  answer, and `meta["previous"]` holds the real one.
- `facts`: keep the questions about the listed facts.

With `facts` or `changes_since`, a corpus keeps only the gold passages of the
questions kept. VERSION enters the source identity of a variant (never of the
plain release), so changing these rules recomputes what depends on them.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from ragdsl.data.errors import DataError
from ragdsl.data.leaks import normalize
from ragdsl.data.records import Passage, Question

VERSION = 2
OPTIONS = ("facts", "counterfactual", "changes_since", "seed")

OldQuestions = Callable[[str, set[str]], list[Question]]  # (release, country codes) -> its questions
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_REPAIR_PASSES = 20


def used(opts: Mapping) -> bool:
    return any(opts.get(k) not in (None, [], ()) for k in OPTIONS if k != "seed")


def check(release: str, opts: Mapping) -> None:
    """Reject option combinations that mean nothing, before anything is read."""
    since = opts.get("changes_since")
    if since is None:
        return
    since = str(since)
    if since == release:
        raise DataError(f"factbook(release = \"{release}\", changes_since = \"{since}\") compares the release "
                        "with itself: no fact changed",
                        "compare with the other release, e.g. factbook(release = \"2025\", changes_since = "
                        "\"2015\"), or leave changes_since out")
    if int(since) > int(release):
        raise DataError(f"changes_since = \"{since}\" is newer than release \"{release}\"",
                        f"read the newer release and name the older one: factbook(release = \"{since}\", "
                        f"changes_since = \"{release}\")")
    if opts.get("counterfactual"):
        raise DataError("factbook(...) takes changes_since or counterfactual, not both",
                        "each sets a question's previous answer (the old release's, or the real one): "
                        "declare two question sets, one with each")


def apply(passages: list[Passage], questions: list[Question], release: str, opts: Mapping,
          old_questions: OldQuestions) -> tuple[list[Passage], list[Question]]:
    check(release, opts)
    since, swapped = opts.get("changes_since"), list(opts.get("counterfactual") or [])
    facts = list(opts.get("facts") or [])
    if since is not None:
        codes = {str(q.meta["code"]) for q in questions}
        questions = changed(questions, old_questions(str(since), codes))
    if swapped:
        passages, questions = counterfactual(passages, questions, swapped, int(opts.get("seed") or 0))
    if facts:
        questions = [q for q in questions if q.meta["fact"] in facts]
    if not questions:
        chosen = ", ".join(f"{k} = {opts[k]!r}" for k in ("facts", "changes_since") if opts.get(k))
        raise DataError(f"factbook(...) keeps no questions ({chosen})",
                        "widen the selection: more countries, more facts, or no changes_since")
    if since is not None or facts:
        passages = gold_passages(passages, questions)
    return passages, questions


def gold_passages(passages: Iterable[Passage], questions: Iterable[Question]) -> list[Passage]:
    """The passages the questions are answered from, in corpus order."""
    gold = {pid for q in questions for pid in q.meta.get("passage_ids") or [q.meta["passage_id"]]}
    return [p for p in passages if p.id in gold]


# ----------------------------------------------------------------- changes between releases


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation, after dropping thousands separators ("68,512,806" == "68512806") and
    accents (the 2025 release spells "Bogotá" and "San José" where the 2015 one has "Bogota")."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return normalize(_THOUSANDS.sub("", folded))


def same_answer(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether a spelling of one answer is a spelling of the other, or contained in one, whole words
    after normalisation ("Mandarin" and "Mandarin Chinese", "American Samoa" and "Territory of American
    Samoa"): an answer that names the other would count as both the new fact and the old one."""
    def forms(answers: Iterable[str]) -> set[str]:  # an answer that normalises away is compared as written
        return {f" {normalize_answer(x) or x.strip().lower()} " for x in answers if x.strip()}
    left, right = forms(a), forms(b)
    return any(x in y or y in x for x in left for y in right)


def changed(questions: Sequence[Question], old: Sequence[Question]) -> list[Question]:
    """The questions an older release also asks (same id) with a different answer, `previous` = old answers."""
    before = {q.id: q for q in old}
    kept = []
    for q in questions:
        was = before.get(q.id)
        if was is not None and not same_answer(q.answers, was.answers):
            kept.append(Question(q.id, q.question, q.answers, q.context, {**q.meta, "previous": list(was.answers)}))
    return kept


# ----------------------------------------------------------------- counterfactual facts


def derangement(values: Sequence[Sequence[str]], rng: random.Random) -> list[int] | None:
    """donor[i] != i with values[donor[i]] not the same answer as values[i]; None when none is found.

    A seeded shuffle, then random swaps that repair each clash (a fixed point or an equal answer).
    """
    n = len(values)

    def clash(i: int, donor: int) -> bool:
        return i == donor or same_answer(values[i], values[donor])

    donor = list(range(n))
    rng.shuffle(donor)
    for _ in range(_REPAIR_PASSES):
        bad = [i for i in range(n) if clash(i, donor[i])]
        if not bad:
            return donor
        for i in bad:
            if not clash(i, donor[i]):
                continue
            fits = [j for j in range(n) if not clash(i, donor[j]) and not clash(j, donor[i])]
            if fits:
                j = rng.choice(fits)
                donor[i], donor[j] = donor[j], donor[i]
    return None


def _in_name(answers: Iterable[str], name: str) -> bool:
    """An answer spelled inside the country's name (Luxembourg's capital): rewriting it would rename the country."""
    return any(_mentions(a).search(name) for a in answers)


def _mentions(*spellings: str) -> re.Pattern:
    """Whole-word matches of the spellings as written or in capitals (the Factbook writes capitals so in
    "Major urban areas": "PARIS (capital)"), the longest tried first."""
    forms = {form for s in spellings for form in (s, s.upper())}
    ordered = sorted(forms, key=lambda s: (-len(s), s))
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in ordered) + r")(?!\w)")


def _rewrite(text: str, edits: Mapping[str, str]) -> str:
    """Every whole-word mention of a real spelling replaced at once (a replacement is never re-read); a
    mention in capitals gets the replacement in capitals."""
    if not edits:
        return text
    upper = {spelling.upper(): replacement.upper() for spelling, replacement in edits.items()}

    def replace(match: re.Match) -> str:
        return edits[match[0]] if match[0] in edits else upper[match[0]]
    return _mentions(*edits).sub(replace, text)


def _counterparts(real: Sequence[str], given: Sequence[str]) -> list[str]:
    """What each real spelling becomes: the swapped-in answer's main spelling, or its spelling in the
    same place when both answers list as many ("Mont Blanc 4,810" -> "Cerro de Punta 1,338 m", ".fr" -> ".de"
    and "fr" -> "de", "EUR" -> "XCD"), so a height, a unit or a code keeps its form."""
    return list(given) if len(given) == len(real) else [given[0]] * len(real)


def counterfactual(passages: list[Passage], questions: list[Question], facts: Sequence[str], seed: int
                   ) -> tuple[list[Passage], list[Question]]:
    """Swap each fact between the countries that have a question about it (see the module doc)."""
    new_answers: dict[str, tuple[str, ...]] = {}  # question id -> swapped-in answers
    edits: dict[str, dict[str, str]] = {}  # country code -> {real spelling: its replacement}
    for fact in dict.fromkeys(facts):
        pool = [q for q in questions if q.meta["fact"] == fact and not _in_name(q.answers, q.meta["country"])]
        if len(pool) < 2:
            raise DataError(f"counterfactual {fact!r} needs two countries with a {fact} question to swap "
                            f"between; the selection has {len(pool)}",
                            "select more countries, or leave this fact out of counterfactual")
        donor = derangement([q.answers for q in pool], random.Random(f"{seed}:{fact}"))
        if donor is None:
            raise DataError(f"counterfactual {fact!r}: no swap gives every one of the {len(pool)} countries "
                            "another answer (over half of them share one)",
                            "select more countries with other answers, or leave this fact out")
        for i, q in enumerate(pool):
            given = pool[donor[i]].answers
            new_answers[q.id] = given
            code_edits = edits.setdefault(str(q.meta["code"]), {})
            for spelling, replacement in zip(q.answers, _counterparts(q.answers, given)):
                code_edits.setdefault(spelling, replacement)
    edited = {}
    for p in passages:
        text = _rewrite(p.text, edits.get(str(p.meta.get("code"))) or {})
        if text != p.text:
            edited[p.id] = Passage(p.id, text, p.meta)
    passages = [edited.get(p.id, p) for p in passages]
    out = []
    for q in questions:
        gold = edited.get(str(q.meta.get("passage_id")))
        context = gold.text if gold is not None else q.context
        if q.id in new_answers:
            out.append(Question(q.id, q.question, new_answers[q.id], context,
                                {**q.meta, "previous": list(q.answers)}))
        else:
            out.append(Question(q.id, q.question, q.answers, context, q.meta) if context != q.context else q)
    return passages, out
