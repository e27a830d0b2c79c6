"""Training examples: prompts rendered as the pipeline renders them, tokenized with the loss on answers only.

The prompt text comes from the same Haystack PromptBuilder the rag runner uses
and is wrapped in the chat template exactly as `LocalGenerator` wraps it at
inference (`ragdsl.lower.components.format_prompt`), so a fine-tune learns the
format it will be asked in. Labels are -100 on prompt and padding tokens.

Passages (`format = documents()`) are plain text with no prompt and no chat
template (`encode_text`): the loss covers every token.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragdsl.hashing import digest

IGNORE = -100  # the label that cross-entropy skips


@dataclass(frozen=True)
class Example:
    id: str
    prompt: str  # the rendered prompt, before the chat template ("" for a passage)
    answer: str  # the gold answer or its rendered target (DPO: the chosen one); a passage's text
    rejected: str | None = None  # DPO: the dispreferred answer


@dataclass(frozen=True)
class Tokenized:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    truncated: bool = False

    @property
    def answer_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


def data_hash(examples: Sequence[Example]) -> str:
    """sha256 of the examples (ids, prompts, answers), in training order."""
    return digest([[e.id, e.prompt, e.answer, e.rejected] for e in examples])


def encode(tokenizer: Any, prompt: str, answer: str, *, use_chat: bool, max_length: int | None) -> Tokenized:
    """Prompt (formatted as at inference) + answer + end-of-sequence; labels only on the answer.

    Past `max_length` the prompt loses its first tokens, so the answer is always learned.

    Without a chat template the answer follows a space and ends with a newline, which is where
    LocalGenerator cuts plain-text replies; the end-of-sequence token is appended in both cases.
    """
    from ragdsl.lower.components import format_prompt

    text = format_prompt(tokenizer, prompt, use_chat)
    prompt_ids = list(tokenizer(text, add_special_tokens=not use_chat)["input_ids"])
    reply = answer.strip() if use_chat else " " + answer.strip() + "\n"
    answer_ids = list(tokenizer(reply, add_special_tokens=False)["input_ids"])
    if tokenizer.eos_token_id is not None:
        answer_ids.append(tokenizer.eos_token_id)
    truncated = max_length is not None and len(prompt_ids) + len(answer_ids) > max_length
    if truncated and max_length is not None:  # keep the answer; drop the prompt's start (the oldest text)
        answer_ids = answer_ids[:max_length]
        prompt_ids = prompt_ids[len(prompt_ids) - (max_length - len(answer_ids)):] if len(answer_ids) < max_length \
            else []
    ids = prompt_ids + answer_ids
    labels = [IGNORE] * len(prompt_ids) + answer_ids
    return Tokenized(tuple(ids), tuple(labels), truncated)


def encode_text(tokenizer: Any, text: str, *, max_length: int | None) -> Tokenized:
    """A passage for continued pre-training: every token of the text and end-of-sequence is labelled.

    The row starts with the tokenizer's beginning-of-sequence token, or without one (Qwen) its
    end-of-sequence token, as if a previous document had just ended. That start token is context only,
    so the passage's first token is learned too. Past `max_length` the passage loses its end.
    """
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    ids = list(tokenizer(text.strip(), add_special_tokens=False)["input_ids"])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    prefix = [start] if start is not None else []
    truncated = max_length is not None and len(prefix) + len(ids) > max_length
    if truncated and max_length is not None:
        prefix = prefix if max_length > len(prefix) else []
        ids = ids[:max_length - len(prefix)]
    return Tokenized(tuple(prefix + ids), tuple([IGNORE] * len(prefix) + ids), truncated)


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Batches of indices for one epoch: shuffled by (seed, epoch), then sorted by length within windows
    of 16 batches so that batches pad little; the batches themselves are shuffled again."""
    rng = random.Random(f"{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 16
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: (-lengths[i], i))
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(rows: Sequence[Tokenized], pad_id: int) -> dict[str, Any]:
    """Left-padded tensors: input_ids, attention_mask, position_ids (counting real tokens only), labels
    (IGNORE on padding), and `keep`: how many final positions hold every labelled token and its predictor.

    Left padding puts every answer at the end of its row, so the model computes logits for the last
    `keep` positions only instead of the whole sequence (the vocabulary projection is the costliest
    layer of a small model with a large vocabulary).
    """
    import torch

    width = max(len(r.input_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    keep = 1
    for i, row in enumerate(rows):
        n = len(row.input_ids)
        ids[i, width - n:] = torch.tensor(row.input_ids)
        labels[i, width - n:] = torch.tensor(row.labels)
        mask[i, width - n:] = 1
        first = next((j for j, label in enumerate(row.labels) if label != IGNORE), n)
        keep = max(keep, n - first + 1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "labels": labels,
            "keep": min(keep, width)}


def max_length_from_data(rows: Sequence[Tokenized], model_limit: int | None) -> int:
    """The longest example, capped by the model's context size."""
    longest = max((len(r.input_ids) for r in rows), default=1)
    return min(longest, model_limit) if model_limit else longest
