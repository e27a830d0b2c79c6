"""One runner per node kind: `run(ctx) -> Output`, registered by kind."""

from __future__ import annotations

from collections.abc import Callable

from ragdsl.execute.context import NodeContext, Output
from ragdsl.execute.runners import corpus, evaluate, finetune, index, model, questions, rag, report, retrieve

RUNNERS: dict[str, Callable[[NodeContext], Output]] = {
    "corpus": corpus.run,
    "questions": questions.run,
    "index": index.run,
    "model": model.run,
    "finetune": finetune.run,
    "retrieve": retrieve.run,
    "rag": rag.run,
    "evaluate": evaluate.run,
    "report": report.run,
}
