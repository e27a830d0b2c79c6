"""Which questions (or passages) a fine-tune trains on, which it holds out for eval loss, and DPO pairs.

Training questions come only from the train split. Any that leak into the test
split (same normalised question, or with holdout = passage the same gold
passage) are dropped before drawing. The draw is `draw_samples`' seeded order,
so 200 samples are the first 200 of 500. The eval slice is the end of that
order (at most 32 questions, a tenth of the pool), the same for every sample
count that leaves room for it, so eval losses compare across a sweep.

Passages (`format = documents()`) are drawn in the same nested order, with no
leak check: there are no test questions in a corpus, and training on the text
RAG retrieves is the point of knowledge injection. Unset `samples` takes them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from ragdsl.data import DataError, Passage, Question, draw_samples, find_leaks, normalize

EVAL_MAX = 32
T = TypeVar("T", Question, Passage)


@dataclass(frozen=True)
class Selection(Generic[T]):
    train: list[T]
    held_out: list[T]
    excluded: int  # train questions dropped because they leak into the test split


def select(train: list[Question], test: list[Question], samples: int | None, seed: int,
           holdout: str) -> Selection[Question]:
    leaking = {t for t, _ in find_leaks(train, test, holdout)}
    pool = [q for q in train if q.id not in leaking]
    order = draw_samples(pool, None, seed)
    spare = min(EVAL_MAX, len(order) // 10)
    n = len(order) - spare if samples is None else samples
    if n > len(order):
        dropped = f" ({len(leaking)} dropped because they leak into the test split)" if leaking else ""
        raise DataError(f"samples = {n} but only {len(order)} training questions are available{dropped}",
                        f"use at most {len(order)} samples, or a larger train split")
    if n == 0:
        raise DataError("no training questions are left", "raise `train` on the questions declaration")
    spare = min(spare, len(order) - n)
    return Selection(order[:n], order[len(order) - spare:] if spare else [], len(leaking))


def select_passages(passages: list[Passage], samples: int | None, seed: int) -> Selection[Passage]:
    """`samples` passages in the seeded nested order (all when unset); what `samples` leaves over gives
    the held-out slice from the end of the order, as for questions."""
    order = draw_samples(passages, None, seed)  # type: ignore[arg-type]  # any records with an id
    if not order:
        raise DataError("the corpus has no passages to train on", "check the corpus's source and split")
    n = len(order) if samples is None else samples
    if n > len(order):
        raise DataError(f"samples = {n} but the corpus has only {len(order)} passages",
                        f"use at most {len(order)} samples, or unset samples to train on every passage")
    spare = min(EVAL_MAX, len(order) // 10, len(order) - n)
    return Selection(order[:n], order[len(order) - spare:] if spare else [], 0)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PairRecord:
    id: str
    question: str
    chosen: str
    rejected: str


def read_pairs(path: Path, written: str) -> list[PairRecord]:
    """Preference pairs from JSON Lines: {"question", "chosen", "rejected"} and an optional "id"."""
    pairs = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{written}:{number}: not valid JSON ({exc.msg})") from None
            missing = [k for k in ("question", "chosen", "rejected") if not isinstance(row.get(k), str) or
                       not row.get(k).strip()] if isinstance(row, dict) else ["question", "chosen", "rejected"]
            if missing:
                raise DataError(f"{written}:{number}: a preference pair needs non-empty string fields "
                                f"{', '.join(missing)}", 'write {"question": ..., "chosen": ..., "rejected": ...}')
            pairs.append(PairRecord(str(row.get("id", f"pair-{number}")), row["question"], row["chosen"],
                                    row["rejected"]))
    if not pairs:
        raise DataError(f"{written} holds no preference pairs")
    return pairs


def is_correct(prediction: str, answers: tuple[str, ...] | list[str]) -> bool:
    """Exact match after SQuAD normalisation against any gold answer."""
    return normalize(prediction) in {normalize(a) for a in answers}


def as_questions(pairs: list[PairRecord]) -> list[Question]:
    """Pairs as questions (chosen = the answer), for the leak check against the test split."""
    return [Question(p.id, p.question, (p.chosen,)) for p in pairs]
