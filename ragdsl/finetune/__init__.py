"""Fine-tuning: LoRA, QLoRA, full and DPO training of a finetune node (docs/finetuning.md).

The top level is import-light: settings, data selection and the dry-run
estimate need no torch. `weights` and `loop` import torch, transformers and
peft inside their functions.
"""

from ragdsl.finetune.errors import FinetuneError
from ragdsl.finetune.estimate import Estimate, current_device, estimate, model_billions
from ragdsl.finetune.examples import Example, Tokenized, data_hash, encode
from ragdsl.finetune.settings import (
    Method,
    Placement,
    Settings,
    artifact_kind,
    auto_target_modules,
    choose_placement,
    method_from_params,
)

__all__ = [
    "Estimate",
    "Example",
    "FinetuneError",
    "Method",
    "Placement",
    "Settings",
    "Tokenized",
    "artifact_kind",
    "auto_target_modules",
    "choose_placement",
    "current_device",
    "data_hash",
    "encode",
    "estimate",
    "method_from_params",
    "model_billions",
]
