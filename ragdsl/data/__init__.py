"""Datasets: read corpora and question sets, split and sample them, check for leaks.

The executor reads a source through `read_corpus` / `read_questions` with the
canonical constructor call the compiler produced; `source_identity` adds the
data version of non-file sources to node fingerprints. See docs/data.md.
"""

from ragdsl.data.describe import describe
from ragdsl.data.errors import DataError
from ragdsl.data.leaks import find_leaks, normalize
from ragdsl.data.licences import ATTRIBUTION, attribution
from ragdsl.data.records import Passage, Question
from ragdsl.data.sources import read_corpus, read_questions, read_source, source_identity
from ragdsl.data.splits import draw_samples, split_questions

__all__ = [
    "ATTRIBUTION",
    "DataError",
    "Passage",
    "Question",
    "attribution",
    "describe",
    "draw_samples",
    "find_leaks",
    "normalize",
    "read_corpus",
    "read_questions",
    "read_source",
    "source_identity",
    "split_questions",
]
