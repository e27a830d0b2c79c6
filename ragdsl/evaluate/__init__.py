"""Scoring answers and retrievals: objective metrics, the LLM judge and its rubrics, statistics.

Light to import: numpy, scipy, jsonschema and Haystack load inside the functions that use them.
"""

from ragdsl.evaluate.calibration import Calibration, CalibrationError, load_calibration, parse_calibration
from ragdsl.evaluate.judge import Judgment, build_prompt, judge, parse_reply
from ragdsl.evaluate.metrics import (
    exact_match,
    fact_update,
    format_valid,
    gold_ranks,
    json_field,
    mentions,
    normalize_answer,
    token_f1,
)
from ragdsl.evaluate.rubric import (
    Rubric,
    RubricError,
    builtin_hashes,
    builtin_rubric,
    parse_rubric,
    rubrics_for,
)
from ragdsl.evaluate.scoring import FormatRule, higher_is_better, kind_of, objective, scored_prediction
from ragdsl.evaluate.stats import Estimate, Paired, agreement, bootstrap_ci, estimate, paired, permutation_p
from ragdsl.evaluate.summary import combine_judges, judge_agreement, judges_pairwise, summarise

__all__ = [
    "Calibration", "CalibrationError", "Estimate", "FormatRule", "Judgment", "Paired", "Rubric", "RubricError",
    "agreement", "bootstrap_ci", "build_prompt", "builtin_hashes", "builtin_rubric", "combine_judges", "estimate",
    "exact_match", "fact_update", "format_valid", "gold_ranks", "higher_is_better", "json_field", "judge",
    "judge_agreement", "judges_pairwise", "kind_of", "load_calibration", "mentions", "normalize_answer", "objective",
    "paired", "parse_calibration", "parse_reply", "parse_rubric", "permutation_p", "rubrics_for", "scored_prediction",
    "summarise", "token_f1",
]
