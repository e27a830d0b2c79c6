"""finetune node: not runnable in this version.

Training (LoRA, QLoRA, full, DPO) is its own piece of work; until it lands a
finetune node fails clearly instead of pretending, and everything that does
not depend on it still runs (with --keep-going).
"""

from __future__ import annotations

from ragdsl.execute.context import NodeContext, NodeFailed, Output


def run(ctx: NodeContext) -> Output:
    raise NodeFailed(
        "fine-tuning is not implemented in this version of ragdsl",
        "plan it with `ragdsl compile --dry-run`; run the rest with `ragdsl run --keep-going`",
    )
