"""The dry-run estimate for a finetune node: examples, training tokens, and time on this machine.

Computed from the plan alone, with no heavy import and no data read: the
example count is `samples` (else the questions' `train` count; a corpus's
passage count is not known before it is read), tokens are
examples x epochs x a per-example token estimate for the format, and time is
tokens over a throughput table per device and method, scaled by model size.
docs/finetuning.md says where each number comes from. Always labelled an estimate.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# Tokens in one training example through the default prompt and a chat template: measured on the
# squad_dev biomedical questions with qwen2.5's tokenizer (system prompt + instructions + question +
# short answer: 64 on average). with_context adds the retrieved passages: about PASSAGE_TOKENS each.
# documents() trains on passages alone: PASSAGE_TOKENS each, or for a corpus split into words
# TOKENS_PER_WORD per word (a common figure for English with BPE tokenizers; not measured here).
QA_TOKENS = 65
PASSAGE_TOKENS = 150
TOKENS_PER_WORD = 1.3
DEFAULT_TOP_K = 10
# The held-out slice (ragdsl.finetune.data.EVAL_MAX) is scored before and after training: forward
# passes only, about a third of the cost of a training token.
EVAL_EXAMPLES = 32
EVAL_COST = 1 / 3

# Training tokens per second for a 0.5B-parameter model with LoRA. CPU: measured in this repository
# on a 2-core x86 machine shared with other jobs, fp32 (5.6 to 23.7 tokens/s as the load varied,
# docs/finetuning.md), per core. GPU: an assumption for an H100-class card in bf16, not measured here.
CPU_TOKENS_PER_S_PER_CORE = 6.0
GPU_TOKENS_PER_S = 20000.0
REFERENCE_BILLIONS = 0.5
# Relative cost of a method: full fine-tuning updates (and keeps optimizer state for) every weight;
# DPO runs chosen and rejected answers and a reference pass.
METHOD_COST = {"lora": 1.0, "qlora": 1.3, "full": 1.6, "dpo": 2.5}

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Estimate:
    examples: int | None  # None: the whole train split, size unknown before reading it
    tokens: int | None
    seconds: float | None
    device: str
    billions: float
    sized: bool  # whether the model size came from its name (else REFERENCE_BILLIONS is assumed)
    cores: int = 1
    pool: str = "the train split"  # where examples come from, for an unknown count

    def text(self) -> str:
        if self.examples is None:
            return f"examples: all of {self.pool} (count known after reading it); no time estimate"
        out = f"{self.examples} examples, ~{_compact(self.tokens or 0)} training tokens"
        if self.seconds is not None:
            size = f"{self.billions:g}B" if self.sized else f"~{self.billions:g}B assumed"
            where = f"{self.device} ({self.cores} cores)" if self.device == "cpu" else self.device
            out += f", ~{_duration(self.seconds)} on {where}, {size} model"
        return out + " (estimate)"


def current_device() -> tuple[str, int]:
    """("cuda" when an NVIDIA GPU is visible, by device files and without importing torch, else "cpu",
    CPU cores usable).

    RAGDSL_DEVICE=cpu|cuda|cpu:N overrides it (to plan for another machine, or for stable test output).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    forced = os.environ.get("RAGDSL_DEVICE", "").strip().lower()
    kind, _, count = forced.partition(":")
    if kind in ("cpu", "cuda"):
        return kind, int(count) if count.isdigit() and int(count) > 0 else cores
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return "cpu", cores
    return ("cuda" if os.path.exists("/dev/nvidia0") else "cpu"), cores


def model_billions(reference: str) -> tuple[float, bool]:
    """Parameters in billions from a model name like qwen2.5-coder-0.5b or smollm2-135m, else the reference."""
    sizes = [float(n) / (1000 if unit.lower() == "m" else 1) for n, unit in _SIZE.findall(reference)]
    sizes = [s for s in sizes if 0.01 <= s <= 1000]
    return (sizes[-1], True) if sizes else (REFERENCE_BILLIONS, False)


def estimate(*, samples: int | None, train: int | float | None, epochs: int, method: str, fmt: dict | None,
             model: str, device: str, cores: int | None = None, split: dict | None = None) -> Estimate:
    """`train` is the questions' train count; for `format = documents()` it is None and `split` is the
    corpus's `split` (how long its passages are)."""
    documents = bool(fmt) and fmt.get("call") == "documents"  # type: ignore[union-attr]
    examples = samples
    if examples is None and isinstance(train, int) and train > 0 and not documents:
        examples = train
    billions, sized = model_billions(model)
    if examples is None:
        pool = "the corpus's passages" if documents else "the train split"
        return Estimate(None, None, None, device, billions, sized, cores or 1, pool)
    per_example = _example_tokens(fmt, split)
    tokens = examples * epochs * per_example
    rate = GPU_TOKENS_PER_S if device == "cuda" else CPU_TOKENS_PER_S_PER_CORE * (cores or 1)
    work = tokens * METHOD_COST.get(method, 1.0) + 2 * EVAL_EXAMPLES * per_example * EVAL_COST
    seconds = work / rate * (billions / REFERENCE_BILLIONS)
    return Estimate(examples, tokens, seconds, device, billions, sized, cores or 1)


def _example_tokens(fmt: dict | None, split: dict | None) -> int:
    """Tokens in one training example of the format."""
    call = (fmt or {}).get("call")
    if call == "documents":
        size = ((split or {}).get("args") or {}).get("size")
        if (split or {}).get("call") == "words" and size:
            return round(TOKENS_PER_WORD * int(size)) + 1  # and end-of-sequence
        return PASSAGE_TOKENS
    if call == "with_context":
        retrieve = ((fmt or {}).get("args") or {}).get("retrieve") or {}
        top_k = (retrieve.get("args") or {}).get("top_k", DEFAULT_TOP_K)
        return QA_TOKENS + PASSAGE_TOKENS * int(top_k)
    return QA_TOKENS


def _compact(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))}s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{round(minutes)} min"
    return f"{minutes / 60:.1f} h"
