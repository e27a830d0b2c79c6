"""Loading a materialized folder: picking the device and precision, then the model and tokenizer.

precision "auto" is bf16 where the hardware computes it natively (a CUDA GPU
with bf16, or a CPU with avx512_bf16 / AMX, about 3x faster than fp32 there),
else fp32; device "auto" is cuda when a GPU is visible, else cpu.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ragdsl.models.errors import ModelError

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DEVICES = ("auto", "cpu", "cuda")
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def pick_device(device: str = "auto") -> str:
    """"cuda" or "cpu"; asking for cuda where there is none is a ModelError."""
    if device not in DEVICES:
        raise ModelError(f"unknown device '{device}'", f"use one of {', '.join(DEVICES)}")
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise ModelError("device = cuda, but no CUDA device is visible (or this torch build has no CUDA)",
                         "set device = auto (or cpu) on the model, or install a CUDA build of torch")
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    return device


def pick_dtype(precision: str = "auto", device: str = "cpu") -> Any:
    """The torch dtype for `precision` on `device` (a picked device, not "auto")."""
    import torch

    explicit = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if precision in explicit:
        return explicit[precision]
    if precision != "auto":
        raise ModelError(f"unknown precision '{precision}'", f"use one of {', '.join(PRECISIONS)}")
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (Linux: avx512_bf16 or amx_bf16 in /proc/cpuinfo)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(flag in flags for flag in _CPU_BF16_FLAGS)
    except OSError:
        return False
    return False


def load_causal_lm(folder: Path, precision: str = "auto", device: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) from a materialized folder, in eval mode on the picked device.

    The tokenizer keeps its chat template; a missing pad token is set to the
    end-of-sequence token so batches can be padded.
    """
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelError(f"loading a model needs torch and transformers ({exc})", "pip install 'ragdsl[run]'") from None
    where = pick_device(device)
    dtype = pick_dtype(precision, where)
    folder = Path(folder)
    if not folder.is_dir():  # never let transformers take a missing path for a hub id
        raise ModelError(f"model folder {folder} does not exist", "run `ragdsl models pull NAME` to rebuild it")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model: Any = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    except (OSError, ValueError, KeyError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"could not load a causal language model from {folder}: {text}",
                         "the folder needs config.json, weights (*.safetensors) and tokenizer files; for a "
                         "cached model, delete the folder and run `ragdsl models pull NAME` again") from None
    model.to(where)
    model.eval()
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
