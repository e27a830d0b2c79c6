"""finetune node: train a LoRA/QLoRA adapter, a full model, or a DPO adapter, and save it as an artifact.

Steps: draw the training questions (train split only, leaks into the test
split dropped), render their answers through the format's `target` template
when it has one, retrieve their contexts for `with_context` through the same
Haystack lowering as evaluation, render prompts with the pipeline's
PromptBuilder, load the base (merging a base fine-tune in fp32), train
(ragdsl.finetune.loop, resumed from the node's checkpoint when a run was
killed), and save `adapter/` or `model/`, `training.json` and `loss.jsonl` in
the node's workdir. `format = documents()` draws a corpus's passages instead
and trains on their text, with no prompt. docs/finetuning.md describes the
artifact.
"""

from __future__ import annotations

import gc
import json
import platform
import time
from pathlib import Path

from ragdsl.execute.checkpoint import batch_key
from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import read_jsonl
from ragdsl.execute.runners.model import base_model_info, materialize_base
from ragdsl.execute.runners.questions import load
from ragdsl.execute.store import atomic_write_text

PROMPT = {"call": "default_prompt", "args": {}}  # what training prompts are rendered with
PAIR_MAX_NEW_TOKENS = 32


def run(ctx: NodeContext) -> Output:
    from ragdsl.data import DataError
    from ragdsl.finetune import FinetuneError

    try:
        return _run(ctx)
    except FinetuneError as exc:
        raise NodeFailed(exc.message, exc.hint) from exc
    except DataError as exc:
        raise NodeFailed(exc.message, exc.hint) from exc


def _run(ctx: NodeContext) -> Output:
    import torch

    from ragdsl.finetune import (
        Example,
        Settings,
        artifact_kind,
        choose_placement,
        data_hash,
        method_from_params,
    )
    from ragdsl.finetune.examples import encode, encode_text, max_length_from_data
    from ragdsl.finetune.loop import LossLog, Pair, eval_loss, train
    from ragdsl.finetune.targets import render_targets, target_from_format
    from ragdsl.finetune.weights import add_trainable, load_base, save
    from ragdsl.lower.components import uses_chat

    params = ctx.node.params
    fmt = params["format"]
    documents = fmt["call"] == "documents"
    method = method_from_params(params["method"])
    settings = Settings.from_params(params, ctx.seed)
    base = ctx.upstream(params["base"])
    info = base_model_info(base)
    stacked = base.kind == "finetune"
    kind = artifact_kind(method, stacked)

    data = ctx.upstream(params["data"])
    if documents:
        ctx.note("choosing training passages")
        chosen, target = _passages(data, params, method, settings.seed), None
    else:
        ctx.note("choosing training questions")
        chosen, target = _training_questions(data, params, settings.seed), target_from_format(fmt, ctx.locate)
    answers, held_answers = None, None
    if target is not None:  # before any weights load: a template error costs nothing
        ctx.note(f"rendering training answers with {target.name}")
        answers, held_answers = render_targets(target, chosen.train), render_targets(target, chosen.held_out)

    placement = choose_placement(method, info.get("device", "auto"), has_cuda=torch.cuda.is_available(),
                                 bf16_supported=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
                                 has_bitsandbytes=_has_bitsandbytes())
    ctx.note(f"loading the base model ({placement.describe()})")
    if stacked and base.outputs.get("artifact") == "model":
        folder, adapter = base.folder / "model", None
    else:
        folder = materialize_base(info, ctx)
        adapter = base.folder / "adapter" if stacked else None
    model, tokenizer = load_base(folder, placement, adapter=adapter)
    use_chat = uses_chat(tokenizer, info.get("chat_template", "auto"))

    if documents:
        examples = [Example(p.id, "", p.text) for p in chosen.train]
        held_out = [Example(p.id, "", p.text) for p in chosen.held_out]
    else:
        ctx.note("rendering training prompts")

        def render(items) -> list[str]:
            return _prompts(ctx, fmt, items, info, folder)
        train_prompts, eval_prompts = render(chosen.train), render(chosen.held_out)
        examples = _examples(chosen.train, train_prompts, answers)
        held_out = _examples(chosen.held_out, eval_prompts, held_answers)
        if method.name == "dpo":
            examples = _preference_examples(ctx, method, examples, chosen, (model, tokenizer), info, data,
                                            render, target is not None)

    limit = settings.max_length or getattr(model.config, "max_position_embeddings", None)

    def tokens(prompt: str, answer: str):
        if documents:
            return encode_text(tokenizer, answer, max_length=limit)
        return encode(tokenizer, prompt, answer, use_chat=use_chat, max_length=limit)
    rows = [tokens(e.prompt, e.answer) for e in examples]
    eval_rows = [tokens(e.prompt, e.answer) for e in held_out]
    max_length = settings.max_length or max_length_from_data(rows, limit)
    train_rows = rows if method.name != "dpo" else [Pair(r, tokens(e.prompt, e.rejected or ""))
                                                    for r, e in zip(rows, examples)]

    # The base's held-out loss is the same for every variant of a sweep over one base: measure it once
    # per run (on the base, before the adapter exists: a fresh LoRA adapter changes nothing).
    before_key = ("finetune.eval_before", base.fingerprint, info.get("chat_template", "auto"), fmt["call"],
                  data_hash(held_out), placement.describe(), settings.max_length)
    if eval_rows:
        ctx.note(f"held-out loss before training ({len(eval_rows)} {'passages' if documents else 'questions'})")
    before = ctx.resources.get(before_key, lambda m=model: eval_loss(m, eval_rows, tokenizer.pad_token_id,
                                                                        placement))
    model, targets = add_trainable(model, method, placement, settings.seed)
    total = settings.steps(len(train_rows))
    ctx.started(total=total, unit="steps")
    log = LossLog(ctx.workdir / "loss.jsonl")

    def on_step(report) -> None:
        ctx.advance(1)
        ctx.note(f"loss {report.loss:.3f}, {report.tokens_per_s:,.0f} tok/s, ETA {_eta(report.eta_s)}")
    began = time.perf_counter()
    try:
        stats = train(model, train_rows, settings, placement, pad_id=tokenizer.pad_token_id, eval_rows=eval_rows,
                      dpo_beta=method.beta if method.name == "dpo" else None, log=log, on_step=on_step,
                      eval_before=lambda: before, on_note=ctx.note, checkpoint=_train_checkpoint(ctx))
    finally:
        log.close()
    ctx.note("saving the " + kind)
    save(model, tokenizer, ctx.workdir, kind, info["node"])
    del model  # peft and transformers hold reference cycles: free the weights before the next node
    gc.collect()
    outputs = {
        "method": method.name, "samples": len(examples), "train_tokens": stats.tokens,
        "train_loss": _round(stats.train_loss), "eval_loss_before": _round(stats.eval_loss_before),
        "eval_loss": _round(stats.eval_loss),
        "tokens_per_s": round(stats.tokens_per_s, 2), "device": placement.device, "artifact": kind,
        "loss_curve": "loss.jsonl", "base_model": info, "chat_template": info.get("chat_template", "auto"),
    }
    training = {
        "node": ctx.node.id, "method": {**method.__dict__, "target_modules": list(targets)},
        "hyperparameters": {**settings.__dict__, "max_length": max_length, "steps": stats.steps},
        "format": fmt["call"], "prompt": None if documents else PROMPT["call"],
        "chat_template": use_chat and not documents, "target": target.name if target else None,
        "examples": len(examples), "held_out": len(eval_rows), "excluded_leaks": chosen.excluded,
        "truncated": sum(r.truncated for r in rows), "data_sha256": data_hash(examples),
        "example_ids": [e.id for e in examples], "base": {"node": info["node"], "reference": info["reference"],
                                                          "stacked_on": base.node if stacked else None},
        "placement": placement.__dict__, "device": placement.device, "host": platform.machine(),
        "tokens": stats.tokens, "tokens_per_s": stats.tokens_per_s, "train_seconds": round(stats.seconds, 3),
        "total_seconds": round(time.perf_counter() - began, 3), "train_loss": stats.train_loss,
        "eval_loss_before": stats.eval_loss_before, "eval_loss": stats.eval_loss, "artifact": kind,
    }
    atomic_write_text(ctx.workdir / "training.json", json.dumps(training, indent=2, sort_keys=True) + "\n")
    metrics = {k: outputs[k] for k in ("train_loss", "eval_loss_before", "eval_loss", "tokens_per_s")}
    return Output(outputs, metrics)


def _train_checkpoint(ctx: NodeContext):
    """Training state saved in the node's checkpoint folder every few steps, so that a killed run
    resumes where it stopped (ragdsl.finetune.resume); None when the run keeps no checkpoints."""
    from ragdsl.finetune.resume import TrainCheckpoint

    checkpoint = ctx.checkpoint
    if checkpoint is None:
        return None

    def saved(step: int, steps: int) -> None:
        checkpoint.set_progress(step, steps, "steps")

    def resumed(step: int, steps: int) -> None:
        ctx.resumed(step)
        ctx.note(f"resuming training at step {step}/{steps}")
    return TrainCheckpoint(checkpoint.folder / "train", on_save=saved, on_resume=resumed)


def _training_questions(data, params: dict, seed: int):
    """The drawn training questions and the held-out slice (leaks into the test split dropped)."""
    from ragdsl.finetune.data import select

    if data.kind != "questions":  # the checker refuses this (E415); a hand-built graph must not slip through
        raise NodeFailed(f"format = {params['format']['call']}() trains on questions, but {data.node} is a "
                         f"{data.kind}", "use format = documents() to train on a corpus's passages")
    part = params["data"].get("part") or "train"
    if part != "train":  # the checker refuses this (E411); a hand-built graph must not slip through
        raise NodeFailed(f"fine-tuning reads only a train split, not '{part}'", "use data = <questions>.train")
    return select(_questions(load(data, "train")), _questions(load(data, "test")), params.get("samples"), seed,
                  params.get("holdout") or "question")


def _passages(data, params: dict, method, seed: int):
    """The drawn passages of a corpus for documents(); no test split, so no leak check."""
    from ragdsl.data import Passage
    from ragdsl.finetune import FinetuneError
    from ragdsl.finetune.data import select_passages

    if data.kind != "corpus":  # the checker refuses this (E414)
        raise NodeFailed(f"format = documents() trains on a corpus's passages, but {data.node} is a {data.kind}",
                         "name a corpus in `data`")
    if params["data"].get("part"):  # the checker refuses this (E306)
        raise NodeFailed(f"a corpus has no parts to select, not '{params['data']['part']}'",
                         "write data = <corpus>")
    if method.name == "dpo":
        raise FinetuneError("dpo learns a preference between two answers, and documents() has no answers",
                            "use lora(), qlora() or full() to train on passages")
    records = read_jsonl(data.folder / "passages.jsonl")
    passages = [Passage(r["id"], r["text"], r.get("meta") or {}) for r in records]
    return select_passages(passages, params.get("samples"), seed)


def _examples(questions, prompts: list[str], answers: list[str] | None) -> list:
    """Training examples: each question's prompt and its gold answer, or its rendered target."""
    from ragdsl.finetune import Example

    answers = answers if answers is not None else [q.answers[0] for q in questions]
    return [Example(q.id, p, a) for q, p, a in zip(questions, prompts, answers)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _questions(records: list[dict]):
    from ragdsl.data import Question

    return [Question(r["id"], r["question"], tuple(r["answers"]), r.get("context"), r.get("meta") or {})
            for r in records]


def _has_bitsandbytes() -> bool:
    import importlib.util

    return importlib.util.find_spec("bitsandbytes") is not None


def _eta(seconds: float) -> str:
    from ragdsl.execute.progress import format_seconds

    return format_seconds(seconds)


def _prompts(ctx: NodeContext, fmt: dict, questions, info: dict, folder: Path) -> list[str]:
    """Each question's prompt through the pipeline's own PromptBuilder; with_context retrieves first."""
    from haystack import Document

    from ragdsl.lower import GeneratorInfo, describe_generation
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.run import render_prompts

    if not questions:
        return []
    documents = None
    if fmt["call"] == "with_context":
        from ragdsl.execute.runners.retrieve import retrieval_pipeline
        from ragdsl.lower.run import retrieve

        spec, pipeline = retrieval_pipeline(ctx, fmt["args"]["retrieve"], None)
        found = retrieve(pipeline, spec, [q.question for q in questions])
        documents = [[Document(id=d.id, content=d.content, meta=d.meta) for d in docs] for docs in found]
    generator = GeneratorInfo(label=ctx.node.id, model=info["node"])
    spec = describe_generation(PROMPT, generator, 1, 0.0)
    pipeline = build(spec, Resources(models={info["node"]: folder}))
    return render_prompts(pipeline, spec, [q.question for q in questions], documents)


def _preference_examples(ctx, method, examples, chosen, loaded, info, questions_result, render, targeted):
    """DPO pairs: from the pairs file (its questions must not be test questions), or generated: the base
    model answers each training prompt and every wrong answer becomes (gold, wrong). With a target
    template, the chosen answer is the rendered target, and a reply is wrong unless it matches that."""
    from ragdsl.data import find_leaks
    from ragdsl.finetune import Example
    from ragdsl.finetune.data import as_questions, is_correct, read_pairs
    from ragdsl.lower.components import LocalGenerator

    if method.pairs != "generated":
        pairs = read_pairs(ctx.locate(method.pairs), method.pairs)
        test = _questions(load(questions_result, "test"))
        leaks = find_leaks(as_questions(pairs), test, "question")
        if leaks:
            raise NodeFailed(f"{len(leaks)} preference pairs in {method.pairs} ask test questions "
                             f"(first: pair {leaks[0][0]} = test question {leaks[0][1]})",
                             "remove them from the pairs file: test questions are for evaluation only")
        prompts = render(as_questions(pairs))
        return [Example(p.id, prompt, p.chosen, p.rejected) for p, prompt in zip(pairs, prompts)]
    prompts = [e.prompt for e in examples]
    # Kept in the checkpoint: a run killed while training does not generate the pairs again. One call
    # over all prompts, as before checkpoints (its batches, hence its replies, depend on that).
    journal = ctx.checkpoint.journal("pairs") if ctx.checkpoint is not None else None
    key = batch_key("pairs", PAIR_MAX_NEW_TOKENS, prompts)
    replies = journal.get(key) if journal is not None else None
    if replies is None or len(replies) != len(prompts):
        ctx.note(f"generating answers to {len(examples)} training questions for preference pairs")
        generator = LocalGenerator(model=info["node"], chat_template=info.get("chat_template", "auto"),
                                   max_new_tokens=PAIR_MAX_NEW_TOKENS, seed=ctx.seed)
        model, tokenizer = loaded
        generator.attach(model, tokenizer)
        model.config.use_cache = True  # load_base turns the KV cache off for training; generation wants it
        try:
            replies = generator.run(prompts=prompts)["replies"]
        finally:
            model.config.use_cache = False
        tokenizer.padding_side = "right"
        if journal is not None:
            journal.append(key, replies)
    gold = {e.id: (e.answer,) for e in examples} if targeted else {q.id: q.answers for q in chosen.train}
    pairs = [Example(e.id, e.prompt, e.answer, reply) for e, reply in zip(examples, replies)
             if reply.strip() and not is_correct(reply, gold[e.id])]
    if not pairs:
        raise NodeFailed(f"the base model answers all {len(examples)} training questions correctly, so there "
                         "are no preference pairs to learn from",
                         "use more samples, or give pairs as a file: dpo(pairs = \"pairs.jsonl\")")
    return pairs
