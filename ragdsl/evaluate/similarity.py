"""Semantic answer similarity with Haystack's SASEvaluator on a local embedding model.

SASEvaluator names a hub model by default; ragdsl hands it the folder of a
resolved embedder (the catalog's all-minilm-l6-v2 is packaged and works
offline). A question with several gold answers scores its best match.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def semantic_similarity(folder: Path, predictions: Sequence[str], golds: Sequence[Sequence[str]],
                        batch_size: int = 32) -> list[float | None]:
    """Cosine similarity of each prediction with its closest gold answer (None without a gold answer)."""
    from haystack.components.evaluators import SASEvaluator

    pairs = [(i, p, g) for i, (p, gs) in enumerate(zip(predictions, golds)) for g in gs]
    if not pairs:
        return [None] * len(predictions)
    evaluator = SASEvaluator(model=str(folder), batch_size=batch_size)
    evaluator.warm_up()
    result = evaluator.run(ground_truth_answers=[g for _, _, g in pairs], predicted_answers=[p for _, p, _ in pairs])
    best: list[float | None] = [None] * len(predictions)
    for (i, _, _), value in zip(pairs, result["individual_scores"]):
        value = float(value)
        best[i] = value if best[i] is None else max(best[i], value)  # type: ignore[type-var]
    return best
