"""Did-you-mean suggestions for misspelt names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    lowered = {c.lower(): c for c in pool}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else ""


def one_of(candidates: Iterable[str], limit: int = 12) -> str:
    pool = sorted(set(candidates))
    shown = ", ".join(pool[:limit])
    more = f", ... ({len(pool) - limit} more)" if len(pool) > limit else ""
    return shown + more
