"""Lowering: a retrieve or rag node's parameters -> a PipelineSpec (data) -> a real haystack.Pipeline.

This package's top level is import-light (plans render specs without Haystack);
`ragdsl.lower.haystack` (build, to_yaml) and `ragdsl.lower.components`
(LocalGenerator) import Haystack and are only imported to build or run.
"""

from ragdsl.lower.spec import (
    ComponentSpec,
    GeneratorInfo,
    IndexInfo,
    PipelineSpec,
    describe_generation,
    describe_rag,
    describe_retrieval,
    index_info,
    model_reference,
    portable_generator,
)

__all__ = [
    "ComponentSpec",
    "GeneratorInfo",
    "IndexInfo",
    "PipelineSpec",
    "describe_generation",
    "describe_rag",
    "describe_retrieval",
    "index_info",
    "model_reference",
    "portable_generator",
]
