"""ragdsl's own Haystack component: `LocalGenerator`, batched local generation.

Haystack's TransformersChatGenerator answers one conversation per call; an
evaluation answers hundreds of questions, so ragdsl generates in batches
(left padding, longest prompts first), through the model's chat template or
on plain text, greedy or seeded sampling, with an optional LoRA adapter (peft).
It follows Haystack's component contract: a light `__init__`, weights loaded
in `warm_up()`, `run()` returning a dict, `to_dict`/`from_dict`, so pipelines
that use it serialize to YAML (loading that YAML needs `pip install ragdsl`).

Greedy means `do_sample=False` on top of the model's own generation config
(e.g. Qwen's repetition_penalty), exactly as Hugging Face pipelines and
TransformersChatGenerator do, so the two give the same answers (docs/lowering.md).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
from pathlib import Path
from typing import Any

from haystack import component, default_from_dict, default_to_dict

log = logging.getLogger(__name__)


@component
class LocalGenerator:
    """Generates one reply per prompt with a local causal language model, in batches."""

    def __init__(
        self,
        model: str,
        adapter: str | None = None,
        chat_template: str = "auto",
        precision: str = "auto",
        device: str = "auto",
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        seed: int = 0,
        batch_size: int = 8,
        batch_invariant: bool = False,
    ) -> None:
        """
        :param model: a folder saved with `save_pretrained`, or a Hugging Face id.
        :param adapter: a LoRA adapter folder (peft) applied on top of `model`, or None.
        :param chat_template: "auto" wraps each prompt as a user message in the tokenizer's chat
            template (plain text when it has none); "off" feeds the prompt as it is and keeps the
            reply's first line.
        :param precision: "auto" (bf16 on a GPU or a CPU with bf16 instructions, else fp32), "bf16",
            "fp16" or "fp32".
        :param device: "auto" (CUDA when present), "cpu" or "cuda".
        :param temperature: 0 for greedy decoding, else sampling at this temperature, seeded by `seed`.
        :param batch_size: prompts generated together.
        :param batch_invariant: generate every prompt on its own (and seed sampling per prompt), so a
            reply never depends on which other prompts are generated with it; slower (see
            benchmarks/README.md, batch invariance).
        """
        if chat_template not in ("auto", "off"):
            raise ValueError(f"chat_template must be 'auto' or 'off', not {chat_template!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
        if max_new_tokens < 1 or batch_size < 1 or temperature < 0:
            raise ValueError("max_new_tokens and batch_size must be positive and temperature not negative")
        self.model = str(model)
        self.adapter = str(adapter) if adapter is not None else None
        self.chat_template = chat_template
        self.precision = precision
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.batch_size = batch_size
        self.batch_invariant = batch_invariant
        self._model: Any = None
        self._tokenizer: Any = None
        self._use_chat = False
        self._eos: frozenset[int] = frozenset()
        self._config: Any = None

    def warm_up(self) -> None:
        """Loads the tokenizer, the weights and the adapter (once)."""
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = resolve_device(self.device)
        dtype = resolve_dtype(self.precision, device)
        tokenizer = AutoTokenizer.from_pretrained(self.model)
        model: Any = AutoModelForCausalLM.from_pretrained(self.model, dtype=dtype)
        if self.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.adapter)
        model.to(torch.device(device))
        self.attach(model, tokenizer)
        log.debug("loaded %s (%s on %s)%s", self.model, dtype, device,
                  f" with adapter {self.adapter}" if self.adapter else "")

    def attach(self, model: Any, tokenizer: Any) -> None:
        """Generate with an already loaded model (e.g. the base of a fine-tune building DPO pairs),
        with exactly the settings warm_up would use; the model is put in eval mode."""
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            if tokenizer.eos_token is None:
                raise ValueError(f"the tokenizer of {self.model} has neither a pad nor an end-of-sequence token")
            tokenizer.pad_token = tokenizer.eos_token
        model.eval()
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        config = copy.deepcopy(model.generation_config)
        sampling = self.temperature > 0
        config.update(max_new_tokens=self.max_new_tokens, do_sample=sampling,
                      pad_token_id=tokenizer.pad_token_id, eos_token_id=sorted(eos_ids))
        if sampling:
            config.temperature = self.temperature
        else:  # neutral values: greedy ignores them, and transformers warns when they are set
            config.update(temperature=1.0, top_p=1.0, top_k=50)

        self._tokenizer = tokenizer
        self._use_chat = uses_chat(tokenizer, self.chat_template)
        self._eos = frozenset(eos_ids)
        self._config = config
        self._model = model

    @component.output_types(replies=list[str])
    def run(self, prompts: list[str]) -> dict[str, list[str]]:
        """One reply per prompt, in order: stripped, cut at end-of-sequence (and at the first newline
        when there is no chat template). Deterministic for the same prompts and settings."""
        import torch

        self.warm_up()
        if not prompts:
            return {"replies": []}
        tokenizer = self._tokenizer
        encoded = [tokenizer(self.format(p), add_special_tokens=not self._use_chat)["input_ids"] for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: (-len(encoded[i]), i))  # longest first: OOM early
        replies: list[str] = [""] * len(prompts)
        if self.temperature > 0:
            torch.manual_seed(self.seed)
        device = next(self._model.parameters()).device
        size = 1 if self.batch_invariant else self.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), size):
                chunk = order[start:start + size]
                if self.batch_invariant and self.temperature > 0:
                    torch.manual_seed(prompt_seed(self.seed, prompts[chunk[0]]))
                batch = tokenizer.pad({"input_ids": [encoded[i] for i in chunk]}, return_tensors="pt")
                batch = {k: v.to(device) for k, v in batch.items()}
                output = self._model.generate(**batch, generation_config=self._config)
                new_tokens = output[:, batch["input_ids"].shape[1]:].tolist()
                for i, row in zip(chunk, new_tokens):
                    replies[i] = self.decode(row)
        return {"replies": replies}

    def format(self, prompt: str) -> str:
        """The text the model sees for a prompt (after warm_up)."""
        return format_prompt(self._tokenizer, prompt, self._use_chat)

    def decode(self, tokens: list[int]) -> str:
        """A reply from generated token ids: up to the first end-of-sequence token, stripped;
        without a chat template, only the first line (plain prompts run on into the next question)."""
        end = next((i for i, t in enumerate(tokens) if t in self._eos), len(tokens))
        text = self._tokenizer.decode(tokens[:end], skip_special_tokens=True).strip()
        if not self._use_chat:
            text = text.split("\n", 1)[0].strip()
        return text

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, model=self.model, adapter=self.adapter, chat_template=self.chat_template,
                               precision=self.precision, device=self.device, max_new_tokens=self.max_new_tokens,
                               temperature=self.temperature, seed=self.seed, batch_size=self.batch_size,
                               batch_invariant=self.batch_invariant)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocalGenerator:
        return default_from_dict(cls, data)


PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def prompt_seed(seed: int, prompt: str) -> int:
    """A sampling seed for one prompt: the same whatever else is generated, different per prompt."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def uses_chat(tokenizer: Any, chat_template: str) -> bool:
    """Whether prompts are wrapped in the tokenizer's chat template ("auto" and the tokenizer has one)."""
    return chat_template == "auto" and bool(getattr(tokenizer, "chat_template", None))


def format_prompt(tokenizer: Any, prompt: str, use_chat: bool) -> str:
    """The text a model sees for a prompt: one user message in the chat template, or the prompt itself.
    Fine-tuning formats its training prompts with this same function."""
    if not use_chat:
        return prompt
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                         add_generation_prompt=True, enable_thinking=False)


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a CUDA device is visible, else "cpu"."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(precision: str, device: str) -> Any:
    """The torch dtype for a precision on a device ("auto": bf16 where the hardware has it)."""
    import torch

    fixed = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if precision in fixed:
        return fixed[precision]
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else torch.float32


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether the CPU has native bf16 instructions (AVX512-BF16 or AMX), where bf16 runs ~3x faster."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))
