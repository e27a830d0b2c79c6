"""De-quantising a GGUF file, once, into a safetensors folder transformers loads in about a second.

Loading GGUF through transformers takes 20-70 s each time (every tensor is
de-quantised); saving the result makes later loads fast. The folder keeps the
file's tokenizer and chat template. Weights are stored in bf16, the dtype the
original checkpoints were published in; the rounding this adds is far below
the 4-bit quantisation error already in the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from ragdsl.models.assemble import write_marker
from ragdsl.models.errors import ModelError
from ragdsl.paths import atomic_dir

STORED_DTYPE = "bfloat16"


def convert_gguf(gguf: Path, target: Path, provenance: dict[str, str], *, tokenizer: str | None = None,
                 progress: Callable[[str], None] = lambda _: None) -> Path:
    """Write `target` (atomically): the GGUF's model and tokenizer as save_pretrained would."""
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelError(f"converting a GGUF file needs torch, transformers and gguf ({exc})",
                         "pip install 'ragdsl[run]'") from None
    progress(f"converting {gguf.name} to a safetensors folder, once (de-quantising takes 20-70 s)")
    with atomic_dir(target) as tmp:
        try:
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                         dtype=getattr(torch, STORED_DTYPE), **_dequantized())
            if tokenizer is None:
                tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            else:
                tok = AutoTokenizer.from_pretrained(tokenizer)
        except Exception as exc:  # noqa: BLE001 - an untrusted file fails in many ways (struct.error, MemoryError, ...)
            what = f"the tokenizer {tokenizer}" if tokenizer and "model" in locals() else f"the GGUF file {gguf}"
            raise ModelError(f"transformers could not load {what}: {type(exc).__name__}: {_first_line(exc)}",
                             "check that the file is a complete GGUF of a causal LM architecture transformers "
                             "supports (llama, qwen2, mistral, gemma, phi3, ...), and that `gguf` is installed "
                             "(pip install 'ragdsl[run]')") from None
        _drop_quantization(model)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        write_marker(tmp, {**provenance, "converted_from": gguf.name, "stored_dtype": STORED_DTYPE,
                           "converted_with": f"transformers {transformers.__version__}"})
    progress(f"converted: {target}")
    return target


def _dequantized() -> dict[str, object]:
    """Ask for plain dense weights even where transformers could keep GGUF blocks packed (they cannot be saved)."""
    try:
        from transformers import GgufConfig  # type: ignore[attr-defined]
    except ImportError:  # older transformers always de-quantise
        return {}
    try:
        return {"quantization_config": GgufConfig(dequantize=True)}
    except TypeError:
        return {}


def _drop_quantization(model: object) -> None:
    """Forget the GGUF origin, or save_pretrained refuses ("quantized with gguf and is not serializable")."""
    model.hf_quantizer = None  # type: ignore[attr-defined]
    config = model.config  # type: ignore[attr-defined]
    if hasattr(config, "quantization_config"):
        try:
            del config.quantization_config
        except AttributeError:
            config.quantization_config = None
    if hasattr(model, "is_quantized"):
        with contextlib.suppress(AttributeError):  # a read-only property derived from hf_quantizer
            model.is_quantized = False  # type: ignore[attr-defined]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
