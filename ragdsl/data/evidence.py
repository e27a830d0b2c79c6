"""The evidence for a gold answer: the sentence of its context that holds it.

Few-shot examples and training targets that teach a structured form (an
`answer` with its `evidence`) need a short quotation rather than a whole
passage; this picks it the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# A sentence ends at . ! ? (or a line break) followed by space; abbreviations are rare in the QA sets.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def evidence(context: str | None, answers: Sequence[str]) -> str:
    """The first sentence of `context` containing an answer (case-insensitive), else its first sentence;
    empty without a context."""
    if not context:
        return ""
    found = sentences(context)
    for answer in answers:
        needle = answer.strip().lower()
        if needle:
            for sentence in found:
                if needle in sentence.lower():
                    return sentence
    return found[0] if found else ""
