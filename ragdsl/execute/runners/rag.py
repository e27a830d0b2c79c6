"""rag node: prompt and generate an answer for every question, in batches.

Contexts come from the shared retrieve node (or none: closed-book); the
generation half of the pipeline is a real Haystack PromptBuilder feeding
ragdsl's batched LocalGenerator (see ragdsl.lower).

Every chunk of answers is kept in the node's checkpoint as it finishes: a
killed run resumes at the first unfinished chunk. Chunks have fixed bounds and
each generator call seeds itself, so the resumed answers are the ones an
uninterrupted run gives.
"""

from __future__ import annotations

from ragdsl.execute.checkpoint import batch_key
from ragdsl.execute.context import NodeContext, NodeFailed, Output
from ragdsl.execute.runners._io import read_jsonl, write_jsonl
from ragdsl.execute.runners.model import base_model_info, materialize_base
from ragdsl.execute.runners.questions import load

GENERATE_CHUNK = 32  # a multiple of LocalGenerator's batch size


def generator_info(ctx: NodeContext, ref: dict):
    """(GeneratorInfo, {model reference: folder}) for a model node or a fine-tune's artifact.

    A fine-tune that saved an adapter generates with its root base model plus `adapter/`; one that
    saved full weights (full fine-tuning, or a fine-tune of a fine-tune) with its own `model/`.
    """
    from ragdsl.lower import GeneratorInfo

    result = ctx.upstream(ref)
    base = base_model_info(result)
    settings = {"chat_template": base.get("chat_template", "auto"), "precision": base.get("precision", "auto"),
                "device": base.get("device", "auto")}
    if result.kind == "model":
        # Found through the reference, not result.node: a reused result is another declaration's.
        return (GeneratorInfo(label=result.node, model=result.node, adapter=None, **settings),
                {result.node: materialize_base(base, ctx)})
    if result.kind != "finetune":
        raise NodeFailed(f"{result.node} is a {result.kind}, not a generator")
    artifact = result.outputs.get("artifact")
    if artifact == "model":
        folder = result.folder / "model"
        if not folder.is_dir():
            raise NodeFailed(f"the saved model of {result.node} is missing ({folder})",
                             "delete the store's record for it (or the whole .ragdsl folder) and run again")
        return GeneratorInfo(label=result.node, model=result.node, **settings), {result.node: folder}
    adapter = result.folder / "adapter"
    if artifact != "adapter" or not (adapter / "adapter_config.json").is_file():
        raise NodeFailed(f"{result.node} has no saved adapter ({adapter})",
                         "delete the store's record for it (or the whole .ragdsl folder) and run again")
    return (GeneratorInfo(label=result.node, model=base["node"], adapter=result.node, **settings),
            {base["node"]: materialize_base(base, ctx), result.node: adapter})


def _pools(ctx: NodeContext, examples: dict | None, models: dict) -> dict[str, list[dict]]:
    """The few-shot pool of `examples = fewshot(...)` by reference, and its embedder's folder in `models`."""
    if examples is None:
        return {}
    from ragdsl.execute.runners.index import model_folder
    from ragdsl.lower.fewshot import usable_pool
    from ragdsl.lower.spec import EXAMPLES, examples_ref, model_reference

    args = examples["args"]
    pool = args["pool"]
    evaluated = ctx.node.params["questions"]
    records = usable_pool(load(ctx.upstream(pool), pool.get("part") or "train"),
                          load(ctx.upstream(evaluated), evaluated.get("part") or "test"), args.get("holdout") or "question")
    if not records:
        raise NodeFailed(f"the few-shot pool {pool['node']}.{pool.get('part') or 'train'} has no questions",
                         "give the question set a train split (`train = 0.5` or a count)")
    if args.get("select") == "similar":
        embedder = args.get("embedder") or "all-minilm-l6-v2"
        models[model_reference(embedder)] = model_folder(embedder, "embedder", ctx)
    return {examples_ref(pool)[EXAMPLES]: records}


def run(ctx: NodeContext) -> Output:
    from ragdsl.lower.prompts import TemplateFailure

    try:
        return _run(ctx)
    except TemplateFailure as exc:  # a prompt that passed `ragdsl check` but failed on this data
        raise NodeFailed(exc.message, exc.hint) from None


def _run(ctx: NodeContext) -> Output:
    from haystack import Document

    from ragdsl.lower import describe_generation
    from ragdsl.lower.haystack import Resources, build
    from ragdsl.lower.run import generate, prompt_failure

    params = ctx.node.params
    questions = load(ctx.upstream(params["questions"]), params["questions"].get("part", ""))
    if params.get("limit"):
        questions = questions[: params["limit"]]
    contexts = None
    if any(i.role == "contexts" for i in ctx.node.inputs):
        by_id = {r["id"]: r["documents"] for r in read_jsonl(ctx.input("contexts").folder / "contexts.jsonl")}
        contexts = [by_id.get(q["id"], []) for q in questions]
    info, models = generator_info(ctx, params["generate"])
    seed = params.get("seed", ctx.seed)
    invariant = bool(params.get("batch_invariant"))
    examples = params.get("examples")
    spec = describe_generation(params["prompt"], info, params["max_new_tokens"], params["temperature"], seed=seed,
                               batch_invariant=invariant, examples=examples)
    ctx.note("loading the generator")
    pools = _pools(ctx, examples, models)
    files = {}
    prompt = params["prompt"]
    if prompt["call"] == "template":
        written = prompt["args"]["path"]["file"]
        files[written] = ctx.locate(written)
    try:
        pipeline = build(spec, Resources(models=models, files=files, examples=pools))
    except Exception as exc:  # the template is compiled here: one edited since the check can fail to parse
        failure = prompt_failure(exc, spec)
        if failure is None:
            raise
        raise failure from None
    ctx.started(total=len(questions), unit="questions")
    documents = None
    if contexts is not None:
        documents = [[Document(id=d["id"], content=d["text"], meta=d.get("meta") or {}) for d in docs]
                     for docs in contexts]
    texts = [q["question"] for q in questions]
    replies: list[str] = []
    journal = ctx.checkpoint.journal("answers") if ctx.checkpoint is not None else None
    for start in range(0, len(texts), GENERATE_CHUNK):  # chunks of whole batches: progress, same answers
        end = start + GENERATE_CHUNK
        key = batch_key("answers", start, [q["id"] for q in questions[start:end]])
        done = journal.get(key) if journal is not None else None
        if done is not None and len(done) == len(texts[start:end]):
            replies += done
            ctx.resumed(len(done))
            continue
        try:
            chunk = generate(pipeline, spec, texts[start:end], documents[start:end] if documents else None)
        except Exception as exc:  # a template that passed the check can still fail on this data
            failure = prompt_failure(exc, spec)
            if failure is None:
                raise
            raise failure from None
        replies += chunk
        ctx.advance(len(chunk))
        if journal is not None and ctx.checkpoint is not None:
            journal.append(key, chunk)
            ctx.checkpoint.set_progress(len(replies), len(texts), "questions")
    write_jsonl(ctx.workdir / "answers.jsonl", (
        {"id": q["id"], "question": q["question"], "answers": q["answers"], "context": q.get("context"),
         "prediction": reply, **({"contexts": contexts[i]} if contexts is not None else {})}
        for i, (q, reply) in enumerate(zip(questions, replies))))
    return Output({"questions": len(questions), "generator": info.label, "batch_invariant": invariant})
