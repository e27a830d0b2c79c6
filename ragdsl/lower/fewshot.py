"""`FewShotExamples`: the worked examples a prompt shows, chosen per question.

A Haystack component between the question and the PromptBuilder: its
`examples` output feeds the template's `examples` variable. The pool is a
train split (the checker refuses test questions; see
ragdsl.semantics.rules_examples), sorted by question id so that a selection
never depends on file order.

- `fixed`: k examples drawn once by seed; every question sees the same ones
  (static few-shot).
- `similar`: the k pool questions nearest to the question by cosine of
  sentence embeddings (dynamic few-shot, as in Liu et al. 2022, "What Makes
  Good In-Context Examples for GPT-3?"), nearest first, ties broken by pool
  order. A pool question identical to the asked one (after SQuAD
  normalisation) is never shown.

`usable_pool` first drops pool questions that leak into the evaluated ones,
by the same rule as a fine-tune's holdout (ragdsl.data.leaks).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from haystack import component, default_from_dict, default_to_dict

from ragdsl.data.evidence import evidence
from ragdsl.data.leaks import normalize

SELECTIONS = ("fixed", "similar")


def usable_pool(pool: Sequence[Mapping[str, Any]], evaluated: Sequence[Mapping[str, Any]],
                holdout: str = "question") -> list[Mapping[str, Any]]:
    """The pool without questions that leak into the evaluated ones: the same question (normalised), or
    with holdout "passage" also the same gold passage."""
    from ragdsl.data import Question
    from ragdsl.data.leaks import find_leaks

    def as_question(r: Mapping[str, Any]) -> Question:
        return Question(str(r["id"]), str(r["question"]), tuple(r.get("answers") or ()), r.get("context"))

    leaks = {train for train, _ in find_leaks([as_question(r) for r in pool],
                                              [as_question(r) for r in evaluated], holdout)}
    return [r for r in pool if str(r["id"]) not in leaks]


def example_record(question: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees of one example: question, answer (the first gold), answers, context, evidence."""
    answers = [str(a) for a in question.get("answers") or []]
    context = question.get("context") or ""
    return {"id": str(question["id"]), "question": str(question["question"]),
            "answer": answers[0] if answers else "", "answers": answers, "context": context,
            "evidence": evidence(context, answers)}


@component
class FewShotExamples:
    """Chooses k worked examples from a pool for each question."""

    def __init__(self, pool: Sequence[Mapping[str, Any]], k: int = 3, select: str = "fixed", seed: int = 0,
                 embedder: str | None = None) -> None:
        """
        :param pool: question records (`id`, `question`, `answers`, optional `context`).
        :param k: examples per question (fewer when the pool is smaller).
        :param select: "fixed" (k drawn by `seed`, the same for every question) or "similar".
        :param seed: the seed of the fixed draw.
        :param embedder: a sentence-transformers model (folder or hub id); needed for "similar".
        """
        if select not in SELECTIONS:
            raise ValueError(f"select must be one of {', '.join(SELECTIONS)}, not {select!r}")
        if k < 1:
            raise ValueError("k must be positive")
        if select == "similar" and not embedder:
            raise ValueError("similar selection needs an embedder")
        self.pool = sorted((example_record(q) for q in pool), key=lambda e: e["id"])
        self.k = k
        self.select = select
        self.seed = seed
        self.embedder = embedder
        self._fixed = self._draw() if select == "fixed" else None
        self._model: Any = None
        self._vectors: Any = None

    def _draw(self) -> list[dict[str, Any]]:
        chosen = random.Random(self.seed).sample(range(len(self.pool)), min(self.k, len(self.pool)))
        return [self.pool[i] for i in chosen]

    def warm_up(self) -> None:
        """Loads the embedder and embeds the pool (once); nothing to do for fixed selection."""
        if self.select != "similar" or self._model is not None:
            return
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(self.embedder, device="cpu")
        self._vectors = self._embed([e["question"] for e in self.pool])

    def _embed(self, texts: list[str]) -> Any:
        return self._model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False)

    @component.output_types(examples=list[dict[str, Any]])
    def run(self, question: str) -> dict[str, list[dict[str, Any]]]:
        if self._fixed is not None:
            return {"examples": list(self._fixed)}
        self.warm_up()
        import numpy as np

        scores = self._vectors @ self._embed([question])[0] if self.pool else np.zeros(0)
        # Stable sort on -score: equal scores keep pool (id) order.
        order = np.argsort(-scores, kind="stable")
        asked = normalize(question)
        chosen = [self.pool[i] for i in order if normalize(self.pool[i]["question"]) != asked]
        return {"examples": chosen[: self.k]}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, pool=self.pool, k=self.k, select=self.select, seed=self.seed,
                               embedder=self.embedder)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FewShotExamples:
        return default_from_dict(cls, data)
