"""The LLM judge: prompts built from a rubric, replies parsed into a score and a rationale.

Parsing never raises: a reply without a usable score is kept with the reason it
could not be read, counted, and reported; its question simply has no judged score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ragdsl.evaluate.rubric import Rubric

EVIDENCE_WORDS = 80  # the gold passage, cut: judging cost grows with the prompt on a CPU
CONTEXT_WORDS = 200  # all retrieved passages together
RATIONALE_CHARS = 400

INSTRUCTION = ('Reply with one line of JSON and nothing else: {"score": <integer from LOW to HIGH>, '
               '"reason": "<one short sentence>"}')

_JSON = re.compile(r"\{[^{}]*\}", re.S)
_LABELLED = re.compile(r"\b(?:score|rating|grade)\b\s*[\"']?\s*[:=]?\s*[\"']?\s*(-?\d+(?:\.\d+)?)"
                       r"(?:\s*(?:/|out of)\s*\d+)?", re.I)
_FRACTION = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+)", re.I)
_LEADING = re.compile(r"^\W*(-?\d+(?:\.\d+)?)\b")
_REASON_KEYS = ("reason", "rationale", "explanation", "justification")


@dataclass(frozen=True)
class Judgment:
    score: float | None  # on the rubric's scale; None when unparseable or out of scale
    rationale: str
    error: str | None  # why no score was read
    raw: str

    def as_dict(self) -> dict:
        return asdict(self)


def _cut(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def build_prompt(rubric: Rubric, item: dict) -> str:
    """The judge's prompt for one answer: rubric, the fields it names, the reply format."""
    lines = [rubric.body, "", "Now rate this case."]
    fields = {
        "question": lambda: f"Question: {item.get('question', '')}",
        "gold": lambda: "Gold: " + (" | ".join(item.get("answers") or []) or "(none)"),
        "evidence": lambda: f"Evidence: {_cut(item.get('context') or '(none)', EVIDENCE_WORDS)}",
        "contexts": lambda: "Passages: " + (_cut(" ".join(f"[{i}] {c.get('text', '')}" for i, c in enumerate(
            item.get("contexts") or [], 1)), CONTEXT_WORDS) or "(none)"),
        # a blank answer is shown as one: after "Answer:" a small judge reads on into the instruction
        "answer": lambda: f"Answer: {item.get('prediction') or ''}" if str(item.get("prediction") or "").strip()
        else "Answer: (empty)",
    }
    lines += [fields[name]() for name in rubric.inputs]
    lines += ["", INSTRUCTION.replace("LOW", str(rubric.low)).replace("HIGH", str(rubric.high))]
    return "\n".join(lines)


def parse_reply(text: str, low: int, high: int) -> Judgment:
    """A score and rationale from a judge reply: JSON first, then 'Score: N', 'N/5', a leading number."""
    raw = text if isinstance(text, str) else repr(text)
    score, reason = _from_json(raw)
    if score is None:
        score = _from_text(raw, high)
        reason = _strip_score(raw)
    if score is None:
        return Judgment(None, reason[:RATIONALE_CHARS], "no score found", raw)
    if not low <= score <= high:
        return Judgment(None, reason[:RATIONALE_CHARS], f"score {score:g} is outside the scale {low}-{high}", raw)
    return Judgment(score, reason[:RATIONALE_CHARS], None, raw)


def _from_json(text: str) -> tuple[float | None, str]:
    for match in _JSON.finditer(text):
        try:
            data = json.loads(match.group(0))
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        value = next((data[k] for k in data if str(k).lower() in ("score", "rating", "grade")), None)
        number = _number(value)
        if number is not None:
            reason = next((str(data[k]) for k in data if str(k).lower() in _REASON_KEYS), "")
            return number, reason.strip()
    return None, ""


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _LEADING.match(value.strip())
        return float(match.group(1)) if match else None
    return None


def _from_text(text: str, high: int) -> float | None:
    for pattern in (_LABELLED, _FRACTION):
        match = pattern.search(text)
        if match and (pattern is _LABELLED or int(match.group(2)) == high):
            return float(match.group(1))
    match = _LEADING.match(text)
    return float(match.group(1)) if match else None


def _strip_score(text: str) -> str:
    """The rationale of a non-JSON reply: the text with its score phrase and JSON fragments removed."""
    text = _LABELLED.sub("", text)
    text = re.sub(r"[{}\"]", "", text)
    return " ".join(text.replace("reason:", "").replace("Reason:", "").split()).strip(" .,;:-") or ""


def judge(generate, rubric: Rubric, items: Sequence[dict]) -> list[Judgment]:
    """Judge every item with one batched call: `generate(prompts) -> replies` (LocalGenerator.run)."""
    prompts = [build_prompt(rubric, item) for item in items]
    replies = generate(prompts) if prompts else []
    if len(replies) != len(prompts):
        raise RuntimeError(f"the judge returned {len(replies)} replies for {len(prompts)} prompts")
    return [parse_reply(reply, rubric.low, rubric.high) for reply in replies]
