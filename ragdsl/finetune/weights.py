"""Loading the base for training, adding the trainable part, and saving the artifact.

A base that is itself a fine-tune is merged first, in fp32 (merging into
bf16 or 4-bit weights would round the adapter away), and the result of such a
fine-tune is saved merged as well (`settings.artifact_kind`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragdsl.finetune.errors import FinetuneError
from ragdsl.finetune.settings import Method, Placement, auto_target_modules, check_target_modules


def _dtype(name: str) -> Any:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def load_base(folder: Path, placement: Placement, *, adapter: Path | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) ready to train on the placement's device; `adapter` (a LoRA folder) is merged in."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if placement.quantized_bits and adapter is not None:
        raise FinetuneError("qlora on top of another fine-tune is not supported (the merged base would "
                            "have to be re-quantised)", "use lora(...) for a fine-tune of a fine-tune")
    if not Path(folder).is_dir():
        raise FinetuneError(f"base model folder {folder} does not exist",
                            "run `ragdsl models pull NAME`, or re-run the base model node")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise FinetuneError("the base model's tokenizer has neither a pad nor an end-of-sequence token")
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {}
    if placement.quantized_bits and adapter is None:
        kwargs["quantization_config"] = _quantization(placement)
        kwargs["device_map"] = {"": 0}
    else:
        kwargs["dtype"] = _dtype("fp32") if adapter is not None else _dtype(placement.weights)
    model: Any = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()  # fp32 merge
        if placement.weights != "fp32":
            model = model.to(_dtype(placement.weights))
    if not placement.quantized_bits:
        model.to(placement.device)
    model.config.use_cache = False
    return model, tokenizer


def _quantization(placement: Placement) -> Any:
    from transformers import BitsAndBytesConfig

    compute = _dtype(placement.weights)
    if placement.quantized_bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute)


def linear_names(model: Any) -> list[str]:
    import torch

    return [name for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head")]


def target_modules(model: Any, method: Method) -> tuple[str, ...]:
    names = linear_names(model)
    if method.target_modules is None:
        return auto_target_modules(names, getattr(model.config, "model_type", ""))
    return check_target_modules(method.target_modules, names)


def add_trainable(model: Any, method: Method, placement: Placement, seed: int) -> tuple[Any, tuple[str, ...]]:
    """The model to train: a peft LoRA model for adapter methods, the model itself for `full`."""
    import warnings

    import torch

    if placement.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if not method.adapter:
        for p in model.parameters():
            p.requires_grad_(True)
        return model, ()
    from peft import LoraConfig, get_peft_model

    if placement.quantized_bits:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=placement.gradient_checkpointing)
    targets = target_modules(model, method)
    config = LoraConfig(r=method.r, lora_alpha=method.alpha, lora_dropout=method.dropout,
                        target_modules=list(targets), bias="none", task_type="CAUSAL_LM")
    torch.manual_seed(seed)  # the adapter's random initialisation
    with warnings.catch_warnings():  # peft calls a transformers property deprecated in 5.x
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config), targets


def _sort_target_modules(path: Path) -> None:
    """peft writes `target_modules` from a set, in an order that follows the process's string hash
    seed: sorted, the same adapter gives the same bytes in every process."""
    import json

    config = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
        path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save(model: Any, tokenizer: Any, folder: Path, kind: str, base_name: str) -> None:
    """`adapter/` (peft) or `model/` (full weights in fp32 with the tokenizer) under `folder`."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the run display is ours; no tqdm bars from save_pretrained
    if kind == "adapter":
        for config in model.peft_config.values():  # never record this machine's absolute path
            config.base_model_name_or_path = base_name
        # Embeddings are never trained here; "auto" would look the base up by name (on the hub).
        model.save_pretrained(str(folder / "adapter"), save_embedding_layers=False)
        _sort_target_modules(folder / "adapter" / "adapter_config.json")
        return
    if hasattr(model, "merge_and_unload"):  # an adapter trained on a merged base: merge in fp32
        model = model.to(torch.float32).merge_and_unload()
    else:
        model = model.to(torch.float32)
    if getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_disable()
    model.config.use_cache = True
    model.save_pretrained(str(folder / "model"))
    tokenizer.save_pretrained(str(folder / "model"))
