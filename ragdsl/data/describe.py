"""`ragdsl data show`: what a source holds, a few examples, and its licence."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ragdsl.data.licences import attribution
from ragdsl.data.records import Question
from ragdsl.data.sources import Locate, read_source

_WIDTH = 100  # characters of example text shown


def describe(source: Mapping, locate: Locate, cache: Path | None = None, *, examples: int = 3) -> str:
    passages, questions = read_source(source, locate, cache)
    lines = [call_text(source), ""]
    if passages is not None:
        lines.append(f"passages   {len(passages):,}, {_mean_words(p.text for p in passages):.1f} words on average")
    if questions is not None:
        lines += _question_stats(questions)
    if passages and examples > 0:
        lines += ["", "example passages"]
        lines += [f"  {p.id}  {_title(p.meta)}{_clip(p.text)}" for p in _spread(passages, examples)]
    if questions and examples > 0:
        lines += ["", "example questions"]
        for q in _spread(questions, examples):
            answers = " | ".join(_clip(a, 40) for a in q.answers[:3])
            lines.append(f"  {q.id}  {_title(q.meta)}Q: {_clip(q.question, 80)}  A: {answers}")
    lines += ["", "licence and citation"]
    lines += [f"  {line}" for line in attribution(source).splitlines()]
    return "\n".join(lines) + "\n"


def call_text(source: Mapping) -> str:
    """The source as ragdsl syntax, leaving out arguments that are unset or empty."""
    parts = []
    for name, value in (source.get("args") or {}).items():
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, Mapping) and "file" in value:
            value = value["file"]
        parts.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
    return f"{source['call']}({', '.join(parts)})"


def _question_stats(questions: Sequence[Question]) -> list[str]:
    n = len(questions) or 1
    answers = [a for q in questions for a in q.answers]
    with_context = sum(1 for q in questions if q.context)
    return [
        f"questions  {len(questions):,}, {_mean_words(q.question for q in questions):.1f} words on average",
        f"answers    {len(answers) / n:.2f} gold answers per question, "
        f"{_mean_words(answers):.1f} words on average",
        f"context    {with_context:,} questions ({100 * with_context / n:.0f}%) name their gold passage",
    ]


def _mean_words(texts) -> float:
    counts = [len(t.split()) for t in texts]
    return sum(counts) / len(counts) if counts else 0.0


def _spread(items: Sequence, k: int) -> list:
    """k items spread evenly over the source, so examples are not all from its first article."""
    k = min(k, len(items))
    return [items[i * len(items) // k] for i in range(k)]


def _title(meta: Mapping) -> str:
    return f"[{meta['title']}] " if meta.get("title") else ""


def _clip(text: str, width: int = _WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"
