"""Decisions made before any weights load: the method, the hyper-parameters, where training runs.

Everything here is plain Python (no torch), so the decisions are unit-tested
without a GPU and `compile --dry-run` can show them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ragdsl.finetune.errors import FinetuneError

LORA_METHODS = ("lora", "qlora", "dpo")  # methods that train an adapter on frozen base weights

# Attention projections by naming family, most common first: what `target_modules = "auto"` adapts.
_ATTENTION_FAMILIES = (
    ("q_proj", "k_proj", "v_proj", "o_proj"),  # llama, qwen, mistral, gemma, phi3-like, smollm
    ("query", "key", "value"),  # bert-like
    ("c_attn", "c_proj"),  # gpt2
    ("query_key_value", "dense"),  # falcon, gpt-neox
    ("Wqkv", "out_proj"),  # mpt, phi-2
    ("qkv_proj", "o_proj"),  # phi-3
)


@dataclass(frozen=True)
class Method:
    """A `method = ...` call, with every default filled in."""

    name: str  # lora | qlora | full | dpo
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None  # None: auto
    bits: int = 4
    beta: float = 0.1
    pairs: str | None = None  # dpo: "generated", or the pairs file as written in the spec

    @property
    def adapter(self) -> bool:
        return self.name in LORA_METHODS


def method_from_params(call: dict) -> Method:
    """The canonical `method` parameter ({"call": ..., "args": {...}}) as a Method."""
    name = call["call"]
    args = call.get("args") or {}
    targets = args.get("target_modules", "auto")
    pairs = args.get("pairs")
    if isinstance(pairs, dict):  # a file: {"file": path}
        pairs = pairs["file"]
    return Method(name=name, r=int(args.get("r", 8)), alpha=int(args.get("alpha", 16)),
                  dropout=float(args.get("dropout", 0.0 if name == "dpo" else 0.05)),
                  target_modules=None if targets in (None, "auto") else tuple(targets),
                  bits=int(args.get("bits", 4)), beta=float(args.get("beta", 0.1)), pairs=pairs)


@dataclass(frozen=True)
class Settings:
    """The training hyper-parameters of one finetune node."""

    epochs: int
    lr: float
    batch_size: int
    grad_accum: int
    warmup: float
    max_length: int | None
    seed: int

    @classmethod
    def from_params(cls, params: dict, default_seed: int) -> Settings:
        seed = params.get("seed")
        return cls(epochs=int(params["epochs"]), lr=float(params["lr"]), batch_size=int(params["batch_size"]),
                   grad_accum=int(params["grad_accum"]), warmup=float(params["warmup"]),
                   max_length=params.get("max_length"), seed=int(default_seed if seed is None else seed))

    def steps(self, examples: int) -> int:
        """Optimizer steps: batches per epoch, grouped by gradient accumulation (a partial group counts)."""
        batches = -(-examples // self.batch_size)
        return self.epochs * -(-batches // self.grad_accum)


@dataclass(frozen=True)
class Placement:
    """Where and how training runs."""

    device: str  # cpu | cuda
    weights: str  # dtype the base weights are loaded in: fp32 | bf16 | fp16
    autocast: str | None  # mixed-precision compute dtype (GPU), or None
    gradient_checkpointing: bool
    quantized_bits: int | None  # qlora: 4 or 8

    def describe(self) -> str:
        parts = [self.device, f"{self.weights} weights"]
        if self.autocast:
            parts.append(f"{self.autocast} autocast")
        if self.quantized_bits:
            parts.append(f"{self.quantized_bits}-bit base")
        if self.gradient_checkpointing:
            parts.append("gradient checkpointing")
        return ", ".join(parts)


def choose_placement(method: Method, device: str, *, has_cuda: bool, bf16_supported: bool,
                     has_bitsandbytes: bool) -> Placement:
    """Device and precision for training.

    GPU: bf16 where supported (else fp16 autocast over fp32 weights), gradient checkpointing on.
    CPU: fp32 throughout; checkpointing off (it trades compute, which a CPU lacks, for memory).
    QLoRA needs CUDA and bitsandbytes: anything else is a FinetuneError, never a silent fallback.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise FinetuneError(f"unknown device '{device}'", "use auto, cpu or cuda on the base model")
    if device == "cuda" and not has_cuda:
        raise FinetuneError("the base model asks for device = cuda, but no CUDA device is visible",
                            "set device = auto (or cpu) on the model, or install a CUDA build of torch")
    where = "cuda" if device == "cuda" or (device == "auto" and has_cuda) else "cpu"
    if method.name == "qlora":
        if where != "cuda":
            raise FinetuneError("qlora quantises the base model to 4/8 bits with bitsandbytes, which needs a "
                                "CUDA GPU, and this run is on the CPU",
                                "use method = lora(...) on the CPU (same adapter, full-precision base), "
                                "or run on a machine with a CUDA GPU")
        if not has_bitsandbytes:
            raise FinetuneError("qlora needs the bitsandbytes package, which is not installed",
                                "pip install bitsandbytes (on a CUDA machine), or use method = lora(...)")
        compute = "bf16" if bf16_supported else "fp16"
        return Placement("cuda", compute, compute, True, method.bits)
    if where == "cpu":
        return Placement("cpu", "fp32", None, False, None)
    if method.name == "full":  # full fine-tuning keeps fp32 master weights; compute in bf16/fp16
        return Placement("cuda", "fp32", "bf16" if bf16_supported else "fp16", True, None)
    if bf16_supported:  # frozen base in bf16, trainable adapter weights are upcast by peft
        return Placement("cuda", "bf16", "bf16", True, None)
    return Placement("cuda", "fp32", "fp16", True, None)


def auto_target_modules(linear_names: Iterable[str], model_type: str = "") -> tuple[str, ...]:
    """The attention projections among a model's linear layer names (their last dotted part)."""
    present = {name.rsplit(".", 1)[-1] for name in linear_names}
    for family in _ATTENTION_FAMILIES:
        found = tuple(m for m in family if m in present)
        if len(found) >= 2 or (found and len(family) == 1):
            return found
    raise FinetuneError(f"cannot tell the attention projections of this {model_type or 'model'} architecture "
                        f"(linear layers: {', '.join(sorted(present)[:12]) or 'none'})",
                        "set target_modules = [\"...\"] in the method, e.g. lora(target_modules = [\"q_proj\"])")


def check_target_modules(wanted: Iterable[str], linear_names: Iterable[str]) -> tuple[str, ...]:
    """The user's target_modules, each of which must name a linear layer of the model."""
    present = {name.rsplit(".", 1)[-1] for name in linear_names}
    missing = [m for m in wanted if m not in present]
    if missing:
        raise FinetuneError(f"target_modules {', '.join(repr(m) for m in missing)} name no linear layer of "
                            "the base model",
                            f"choose from: {', '.join(sorted(present)[:20])}")
    return tuple(wanted)


def artifact_kind(method: Method, base_is_finetune: bool) -> str:
    """"adapter" (peft folder over the base weights) or "model" (full weights).

    Full fine-tuning saves a model. So does any fine-tune of a fine-tune: its base is the
    earlier adapter merged in full precision, so its own result is merged too.
    """
    return "model" if method.name == "full" or base_is_finetune else "adapter"
