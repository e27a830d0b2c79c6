"""Fine-tuning benchmark: training tokens/s through ragdsl vs a plain transformers + peft loop.

Both sides train the same LoRA (same rank, alpha, dropout, target modules, seed) on the same base
weights, the same tokenized examples (prompt through ragdsl's default prompt and the chat template,
loss on answer tokens only), with the same batch size, learning rate, schedule and step count, in
the same run:

  ragdsl    ragdsl.finetune: load_base, add_trainable, loop.train (length-grouped, left-padded
            batches; logits only for the answer positions).
  baseline  the loop a transformers + peft user writes: AutoModelForCausalLM + get_peft_model,
            a shuffled torch DataLoader with right padding, AdamW, a linear schedule,
            `model(**batch).loss`, backward, step.

Tokens/s counts real (non-padding) tokens per second of training; model loading is not timed.
The sides alternate which goes first from one repeat to the next (the machine is shared), and the
median of --repeat runs is reported.

    python benchmarks/bench_finetune.py                 # qwen2.5-coder-0.5b-instruct, 48 examples
    python benchmarks/bench_finetune.py --smoke         # a tiny random Qwen2, seconds (CI)
    python benchmarks/bench_finetune.py --examples 96 --repeat 3 --json

Target: ratio (ragdsl / baseline tokens/s) >= 1.0. Reported, not asserted: the script exits 1 only
when a side does not train (its adapter did not move or a loss is not finite) or the two sides
processed different numbers of tokens. First and last step losses are shown for reference: with a
few steps they move with the batch content as much as with training.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
REPO = Path(__file__).resolve().parent.parent
QA = REPO / "experiments" / "data" / "biomed" / "qa.jsonl"


def tiny_model(folder: Path) -> Path:
    """A tiny random Qwen2 with a byte-level tokenizer and a chat template (no download)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    vocab = {chr(i): i - 32 for i in range(32, 127)} | {"<|im_end|>": 95, "<|endoftext|>": 96}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}<|im_end|>{% endfor %}"
                               "{% if add_generation_prompt %}assistant: {% endif %}")
    config = Qwen2Config(vocab_size=97, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         eos_token_id=95, initializer_range=0.2)
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def real_model(name: str) -> Path:
    from ragdsl.models import materialize, resolve_model

    resolved = resolve_model(name, "generator", lambda p: Path(p))
    if not resolved.available:
        sys.exit(f"weights for {name} are not available here: {resolved.hint}")
    return materialize(resolved)


def examples(folder: Path, count: int, max_length: int | None):
    """(tokenized rows, tokenizer): questions from the repository's biomedical sample, rendered with the
    default prompt by Haystack's PromptBuilder and encoded by ragdsl.finetune.encode."""
    from transformers import AutoTokenizer

    from ragdsl.finetune import encode
    from ragdsl.lower import GeneratorInfo, describe_generation
    from ragdsl.lower.components import uses_chat
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.run import render_prompts

    records = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = (records * (count // len(records) + 1))[:count]
    spec = describe_generation({"call": "default_prompt", "args": {}}, GeneratorInfo("m", "m"), 1, 0.0)
    prompts = render_prompts(build(spec, Resources(models={"m": folder})), spec, [r["question"] for r in records])
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    chat = uses_chat(tokenizer, "auto")
    return [encode(tokenizer, p, r["answer"], use_chat=chat, max_length=max_length)
            for p, r in zip(prompts, records)], tokenizer


def run_ragdsl(folder: Path, rows, pad_id: int, args) -> dict:
    from ragdsl.finetune import Method, Settings, choose_placement
    from ragdsl.finetune.loop import train
    from ragdsl.finetune.weights import add_trainable, load_base

    method = Method("lora", r=args.r, alpha=2 * args.r, dropout=0.05)
    placement = choose_placement(method, "cpu" if args.cpu else "auto", **_hardware())
    model, _ = load_base(folder, placement)
    model, _ = add_trainable(model, method, placement, seed=0)
    settings = Settings(epochs=1, lr=args.lr, batch_size=args.batch_size, grad_accum=1, warmup=0.1,
                        max_length=None, seed=0)
    stats = train(model, rows, settings, placement, pad_id=pad_id)
    losses = [r["loss"] for r in stats.curve if "loss" in r]
    return {"tokens": stats.tokens, "seconds": stats.seconds, "first_loss": losses[0], "last_loss": losses[-1],
            "device": placement.describe(), "trained": _trained(model, losses)}


def run_baseline(folder: Path, rows, pad_id: int, args) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, get_linear_schedule_with_warmup

    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.bfloat16 if bf16 else torch.float32)
    model.to(device)
    if device == "cuda":
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    torch.manual_seed(0)
    model = get_peft_model(model, LoraConfig(r=args.r, lora_alpha=2 * args.r, lora_dropout=0.05,
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                             task_type="CAUSAL_LM"))

    def collate(batch):
        width = max(len(r.input_ids) for r in batch)
        ids = torch.full((len(batch), width), pad_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, r in enumerate(batch):
            ids[i, :len(r.input_ids)] = torch.tensor(r.input_ids)
            labels[i, :len(r.labels)] = torch.tensor(r.labels)
            mask[i, :len(r.input_ids)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    loader = torch.utils.data.DataLoader(rows, batch_size=args.batch_size, shuffle=True, collate_fn=collate,
                                         generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * len(loader) + 0.999), len(loader))
    model.train()
    tokens, losses = 0, []
    began = time.perf_counter()
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
        losses.append(float(loss.detach()))
    if device == "cuda":
        torch.cuda.synchronize()
    return {"tokens": tokens, "seconds": time.perf_counter() - began, "first_loss": losses[0],
            "last_loss": losses[-1], "device": device + (" bf16" if bf16 else " fp32"),
            "trained": _trained(model, losses)}


def _trained(model, losses: list[float]) -> bool:
    """Every loss finite and the LoRA B matrices (zero at initialisation) moved."""
    import math

    moved = [float(p.detach().abs().sum()) > 0 for n, p in model.named_parameters() if "lora_B" in n]
    return bool(moved) and all(moved) and all(math.isfinite(v) for v in losses)


def _hardware() -> dict:
    import importlib.util

    import torch

    cuda = torch.cuda.is_available()
    return {"has_cuda": cuda, "bf16_supported": cuda and torch.cuda.is_bf16_supported(),
            "has_bitsandbytes": importlib.util.find_spec("bitsandbytes") is not None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--r", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    parser.add_argument("--smoke", action="store_true", help="a tiny random model, 64 examples, 2 repeats")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.smoke:
            folder, args.examples, args.repeat, args.lr = tiny_model(Path(tmp) / "tiny"), 64, 2, 5e-3
            name = "tiny random qwen2 (hidden 64, 2 layers)"
        else:
            folder, name = real_model(args.model), args.model
        rows, tokenizer = examples(folder, args.examples, None)
        runs: dict[str, list[dict]] = {"ragdsl": [], "baseline": []}
        sides = {"ragdsl": run_ragdsl, "baseline": run_baseline}
        for i in range(args.repeat):
            order = ["ragdsl", "baseline"] if i % 2 == 0 else ["baseline", "ragdsl"]
            for side in order:
                runs[side].append(sides[side](folder, rows, tokenizer.pad_token_id, args))
    result = {"model": name, "examples": len(rows), "batch_size": args.batch_size, "repeat": args.repeat,
              "tokens_per_example": round(statistics.mean(len(r.input_ids) for r in rows), 1)}
    for side, items in runs.items():
        rates = [r["tokens"] / r["seconds"] for r in items]
        result[side] = {"tokens": items[0]["tokens"], "tokens_per_s": round(statistics.median(rates), 1),
                        "range": [round(min(rates), 1), round(max(rates), 1)], "device": items[0]["device"],
                        "first_loss": round(items[0]["first_loss"], 4), "last_loss": round(items[0]["last_loss"], 4)}
    result["ratio"] = round(result["ragdsl"]["tokens_per_s"] / result["baseline"]["tokens_per_s"], 3)
    ok = all(r["trained"] for items in runs.values() for r in items) and \
        result["ragdsl"]["tokens"] == result["baseline"]["tokens"]
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"model {name}: {len(rows)} examples (~{result['tokens_per_example']} tokens each), "
              f"batch {args.batch_size}, median of {args.repeat}")
        print(f"{'side':<10} {'device':<28} {'tokens':>7} {'tokens/s':>9} {'range':>16} {'loss first -> last':>20}")
        for side in runs:
            r = result[side]
            print(f"{side:<10} {r['device']:<28} {r['tokens']:>7} {r['tokens_per_s']:>9} "
                  f"{str(r['range']):>16} {r['first_loss']:>9} -> {r['last_loss']:<8}")
        print(f"ratio (ragdsl / baseline tokens/s): {result['ratio']} "
              f"({'meets' if result['ratio'] >= 1.0 else 'misses'} the target >= 1.0)")
    if not ok:
        print("error: a side did not train (adapter unchanged or a loss not finite) or the token counts differ",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
