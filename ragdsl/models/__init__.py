"""Model weights: a catalog of well-known models, resolution to a source, fetching and loading.

    resolved = resolve_model("qwen2.5-coder-0.5b-instruct", "generator", locate)  # fast, no heavy imports
    folder = materialize(resolved, progress=print)   # fetch, assemble, verify, convert once
    model, tokenizer = load_causal_lm(folder, precision="auto", device="auto")

Only materialize (for GGUF and hub downloads) and the loaders import torch,
transformers or huggingface_hub, and only when called. docs/models.md
describes the catalog, the resolution order and identities.
"""

from ragdsl.models.catalog import CATALOG, ROLES, CatalogEntry
from ragdsl.models.errors import FetchError, ModelError
from ragdsl.models.load import cpu_has_bf16, load_causal_lm, pick_device, pick_dtype
from ragdsl.models.prefetch import pull
from ragdsl.models.resolve import ResolvedModel, resolve_model
from ragdsl.models.weights import materialize

__all__ = [
    "CATALOG",
    "ROLES",
    "CatalogEntry",
    "FetchError",
    "ModelError",
    "ResolvedModel",
    "cpu_has_bf16",
    "load_causal_lm",
    "materialize",
    "pick_device",
    "pick_dtype",
    "pull",
    "resolve_model",
]
