"""The training loop: AdamW, linear warm-up and decay, gradient accumulation, length-grouped batches.

One loop serves supervised fine-tuning (cross-entropy on answer tokens) and
DPO (the preference loss of Rafailov et al. 2023 against the frozen base,
which for an adapter is the same model with the adapter switched off).
Every optimizer step is logged to `loss.jsonl` and reported to `on_step`.
With a `TrainCheckpoint` the state is saved every few steps and a re-run resumes
from it (ragdsl.finetune.resume).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragdsl.finetune.examples import IGNORE, Tokenized, collate, length_grouped_batches
from ragdsl.finetune.resume import TrainCheckpoint, restore_rng, rng_state, training_identity
from ragdsl.finetune.settings import Placement, Settings


@dataclass
class StepReport:
    step: int
    steps: int
    loss: float
    tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_s(self) -> float:
        return self.seconds / self.step * (self.steps - self.step) if self.step else 0.0


@dataclass
class TrainStats:
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    train_loss: float = math.nan
    eval_loss_before: float | None = None
    eval_loss: float | None = None
    curve: list[dict] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Pair:
    chosen: Tokenized
    rejected: Tokenized


class LossLog:
    """loss.jsonl, one JSON object per line, flushed as it goes (a crash keeps the curve so far)."""

    def __init__(self, path: Path | None):
        self.rows: list[dict] = []
        self._file = path.open("w", encoding="utf-8") if path is not None else None

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if self._file is not None:
            self._file.write(json.dumps(row, sort_keys=True) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _device_batch(batch: dict, device: Any) -> dict:
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}


def _autocast(placement: Placement):
    import contextlib

    import torch

    if placement.autocast is None:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if placement.autocast == "bf16" else torch.float16
    return torch.autocast(placement.device, dtype=dtype)


def sequence_logps(model: Any, batch: dict) -> Any:
    """Sum of log-probabilities of the labelled (answer) tokens of each sequence (a `collate` batch:
    logits are computed for the last `keep` positions only)."""
    import torch

    keep = batch["keep"]
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   position_ids=batch["position_ids"], logits_to_keep=keep, use_cache=False).logits[:, :-1]
    labels = batch["labels"][:, batch["labels"].shape[1] - keep + 1:]
    mask = labels != IGNORE
    picked = torch.gather(logits.float().log_softmax(-1), 2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def answer_loss(model: Any, batch: dict) -> Any:
    """Mean cross-entropy per answer token (what `labels` in transformers computes, on fewer logits)."""
    count = (batch["labels"] != IGNORE).sum().clamp(min=1)
    return -sequence_logps(model, batch).sum() / count


def eval_loss(model: Any, rows: Sequence[Tokenized], pad_id: int, placement: Placement,
              batch_size: int = 8) -> float | None:
    """Mean cross-entropy per answer token over `rows` (None without rows)."""
    import torch

    if not rows:
        return None
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad(), _autocast(placement):
        for start in range(0, len(rows), batch_size):
            batch = _device_batch(collate(rows[start:start + batch_size], pad_id), device)
            total -= float(sequence_logps(model, batch).sum())
            count += int((batch["labels"][:, 1:] != IGNORE).sum())
    model.train(was_training)
    return total / count if count else None


def _lr_lambda(steps: int, warmup: float) -> Callable[[int], float]:
    warm = int(math.ceil(warmup * steps))

    def factor(step: int) -> float:  # linear warm-up, then linear decay to 0 (as transformers' "linear")
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (steps - step) / max(1, steps - warm))
    return factor


def train(model: Any, rows: Sequence[Tokenized] | Sequence[Pair], settings: Settings, placement: Placement, *,
          pad_id: int, eval_rows: Sequence[Tokenized] = (), dpo_beta: float | None = None,
          log: LossLog | None = None, on_step: Callable[[StepReport], None] | None = None,
          eval_before: Callable[[], float | None] | None = None,
          on_note: Callable[[str], None] | None = None, checkpoint: TrainCheckpoint | None = None) -> TrainStats:
    """Train `model` in place (only parameters with requires_grad). Deterministic for a seed.

    `eval_before` supplies the loss before training when it is already known (the same base and
    held-out slice across a sweep); by default it is measured on `eval_rows`.

    With `checkpoint`, the state is saved at optimizer-step boundaries (ragdsl.finetune.resume) and a
    saved state of this same training is resumed: the loss log's rows so far are written again, the
    finished batches are skipped, and the weights, loss log and stats end as an uninterrupted run's
    would (bit for bit on a deterministic device), except the timings: `seconds`, tokens/s and
    `StepReport.seconds` count the time of the runs that reached a checkpoint, not the steps a kill
    made a re-run repeat.
    """
    import torch

    log = log or LossLog(None)
    torch.manual_seed(settings.seed)
    device = next(model.parameters()).device
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.0)
    steps = settings.steps(len(rows))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(steps, settings.warmup))
    scaler = torch.amp.GradScaler("cuda") if placement.autocast == "fp16" else None
    stats = TrainStats()
    per_epoch = steps / settings.epochs
    identity: dict = {}
    saved = None
    if checkpoint is not None:
        identity = training_identity(settings, rows, steps, named, dpo_beta)
        saved = checkpoint.load(identity)
    if saved is None:
        stats.eval_loss_before = eval_before() if eval_before is not None else \
            eval_loss(model, eval_rows, pad_id, placement)
        if stats.eval_loss_before is not None:
            log.add({"step": 0, "epoch": 0.0, "eval_loss": stats.eval_loss_before})
        references = _reference_logps(model, rows, pad_id, placement) if dpo_beta is not None else None
        step, first_epoch, first_batch, earlier = 0, 0, 0, 0.0
    else:
        references = _restore(saved, named, optimizer, scheduler, scaler, stats, log)
        step, first_epoch, first_batch, earlier = saved["step"], saved["epoch"], saved["batch"], saved["seconds"]
    if saved is not None and checkpoint is not None:
        checkpoint.resumed(step, steps)

    lengths = [len(r.input_ids) if isinstance(r, Tokenized) else len(r.chosen.input_ids) + len(r.rejected.input_ids)
               for r in rows]
    model.train()
    began = time.perf_counter() - earlier  # timings go on from the checkpoint's
    running, micro = 0.0, 0
    for epoch in range(first_epoch, settings.epochs):
        batches = length_grouped_batches(lengths, settings.batch_size, settings.seed, epoch)
        for index in range(first_batch if epoch == first_epoch else 0, len(batches)):
            indices = batches[index]
            with _autocast(placement):
                if dpo_beta is None:
                    batch = _device_batch(collate([rows[i] for i in indices], pad_id), device)  # type: ignore[misc]
                    loss = answer_loss(model, batch)
                else:
                    batch, loss = _dpo_loss(model, rows, indices, references, dpo_beta, pad_id, device)
            stats.tokens += int(batch["attention_mask"].sum())
            group = min(settings.grad_accum, len(batches) - (index // settings.grad_accum) * settings.grad_accum)
            scaled = loss / group
            (scaler.scale(scaled) if scaler else scaled).backward()
            running += float(loss.detach()) / group
            micro += 1
            if micro < group:
                continue
            if scaler:
                scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            lr = scheduler.get_last_lr()[0]
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            stats.train_loss = running
            log.add({"step": step, "epoch": round(step / per_epoch, 4), "loss": running, "lr": lr,
                     "tokens": stats.tokens})
            last = index == len(batches) - 1
            if checkpoint is not None and checkpoint.due(step, steps, last):
                position = (epoch + 1, 0) if last else (epoch, index + 1)
                checkpoint.save(_state(step, steps, position, time.perf_counter() - began, named, optimizer,
                                       scheduler, scaler, stats, log, references), identity)
            if on_step is not None:
                on_step(StepReport(step, steps, running, stats.tokens, time.perf_counter() - began))
            running, micro = 0.0, 0
    stats.seconds = time.perf_counter() - began
    stats.steps = step
    if eval_rows and on_note is not None:
        on_note(f"held-out loss after training ({len(eval_rows)} examples)")
    stats.eval_loss = eval_loss(model, eval_rows, pad_id, placement)
    if stats.eval_loss is not None:
        log.add({"step": step, "epoch": float(settings.epochs), "eval_loss": stats.eval_loss})
    model.eval()
    stats.curve = list(log.rows)
    return stats


def _state(step: int, steps: int, position: tuple[int, int], seconds: float, named: Sequence[tuple[str, Any]],
           optimizer: Any, scheduler: Any, scaler: Any, stats: TrainStats, log: LossLog, references: Any) -> dict:
    """Everything the rest of training depends on, at an optimizer-step boundary (no gradients held)."""
    return {"step": step, "steps": steps, "epoch": position[0], "batch": position[1], "seconds": seconds,
            "params": {name: p.detach().cpu() for name, p in named}, "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict() if scaler else None,
            "rng": rng_state(), "tokens": stats.tokens, "train_loss": stats.train_loss,
            "eval_loss_before": stats.eval_loss_before, "log": list(log.rows), "references": references}


def _restore(state: dict, named: Sequence[tuple[str, Any]], optimizer: Any, scheduler: Any, scaler: Any,
             stats: TrainStats, log: LossLog) -> Any:
    """Put a `_state` back; returns the DPO reference log-probabilities (None for SFT)."""
    import torch

    with torch.no_grad():
        for name, p in named:
            p.copy_(state["params"][name])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    restore_rng(state["rng"])
    stats.tokens, stats.train_loss = state["tokens"], state["train_loss"]
    stats.eval_loss_before = state["eval_loss_before"]
    for row in state["log"]:  # the new loss.jsonl starts with the rows the earlier runs wrote
        log.add(row)
    return state["references"]


def _pair_batch(rows: Sequence[Any], indices: Sequence[int], pad_id: int, device: Any) -> dict:
    """Chosen answers first, then rejected ones, in one padded batch."""
    seqs = [rows[i].chosen for i in indices] + [rows[i].rejected for i in indices]
    return _device_batch(collate(seqs, pad_id), device)


def _reference_logps(model: Any, rows: Sequence[Any], pad_id: int, placement: Placement) -> Any:
    """log p_ref(chosen), log p_ref(rejected) per pair, from the base (adapter disabled), computed once."""
    import torch

    device = next(model.parameters()).device
    out = torch.zeros((len(rows), 2))
    model.eval()
    with torch.no_grad(), model.disable_adapter(), _autocast(placement):
        for start in range(0, len(rows), 8):
            indices = list(range(start, min(start + 8, len(rows))))
            logps = sequence_logps(model, _pair_batch(rows, indices, pad_id, device)).float().cpu()
            out[indices, 0] = logps[: len(indices)]
            out[indices, 1] = logps[len(indices):]
    return out


def _dpo_loss(model: Any, rows: Sequence[Any], indices: Sequence[int], references: Any, beta: float,
              pad_id: int, device: Any) -> tuple[dict, Any]:
    import torch.nn.functional as F

    batch = _pair_batch(rows, indices, pad_id, device)
    logps = sequence_logps(model, batch)
    n = len(indices)
    ref = references[list(indices)].to(logps.device)
    margin = (logps[:n] - ref[:, 0]) - (logps[n:] - ref[:, 1])
    return batch, -F.logsigmoid(beta * margin).mean()
