"""Scoring answers and retrievals: objective metrics, the LLM judge and its rubrics, statistics.

Light to import: numpy, scipy, jsonschema and Haystack load inside the functions that use them.
"""

from ragdsl.evaluate.judge import Judgment, build_prompt, judge, parse_reply
from ragdsl.evaluate.metrics import exact_match, format_valid, gold_ranks, normalize_answer, token_f1
from ragdsl.evaluate.rubric import (
    Rubric,
    RubricError,
    builtin_hashes,
    builtin_rubric,
    parse_rubric,
    rubrics_for,
)
from ragdsl.evaluate.scoring import FormatRule, kind_of, objective
from ragdsl.evaluate.stats import Estimate, Paired, agreement, bootstrap_ci, estimate, paired, permutation_p
from ragdsl.evaluate.summary import judge_agreement, summarise

__all__ = [
    "Estimate", "FormatRule", "Judgment", "Paired", "Rubric", "RubricError", "agreement", "bootstrap_ci",
    "build_prompt", "builtin_hashes", "builtin_rubric", "estimate", "exact_match", "format_valid", "gold_ranks",
    "judge", "judge_agreement", "kind_of", "normalize_answer", "objective", "paired", "parse_reply", "parse_rubric",
    "permutation_p", "rubrics_for", "summarise", "token_f1",
]
