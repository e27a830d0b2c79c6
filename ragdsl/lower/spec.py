"""Pipelines as data: what a retrieve or rag node lowers to, with no Haystack import.

`describe_retrieval`, `describe_generation` and `describe_rag` turn a node's
canonical parameters into a `PipelineSpec`: Haystack components (by fully
qualified class name, with JSON init parameters) and their connections. Plans
render it; `ragdsl.lower.haystack.build` turns it into a real `haystack.Pipeline`.

Parameters that need something live are references, resolved by `build`:
`{"$store": index node id}` (a document store), `{"$model": reference}` (a
model folder or hub id), `{"$file": path as written}` (a prompt template),
`{"$examples": "questions node:part"}` (a few-shot pool) and `{"$builtin": name}`
(text that ships with ragdsl: the default prompt).
They keep the spec free of absolute paths and secrets, and stable across machines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ragdsl.lower.prompts import DEFAULT_PROMPT

# Haystack component classes, by the name Haystack serializes them under.
_HS = "haystack.components"
_HI = "haystack_integrations.components"
BM25_MEMORY = f"{_HS}.retrievers.in_memory.bm25_retriever.InMemoryBM25Retriever"
DENSE_MEMORY = f"{_HS}.retrievers.in_memory.embedding_retriever.InMemoryEmbeddingRetriever"
# ragdsl's BM25 over the passage text; see ragdsl/backends/elasticsearch/retriever.py for why not
# elasticsearch-haystack's ElasticsearchBM25Retriever (all fields, fuzzy).
BM25_ELASTICSEARCH = "ragdsl.backends.elasticsearch.retriever.ElasticsearchContentBM25Retriever"
DENSE_ELASTICSEARCH = f"{_HI}.retrievers.elasticsearch.embedding_retriever.ElasticsearchEmbeddingRetriever"
TEXT_EMBEDDER = (f"{_HI}.embedders.sentence_transformers.sentence_transformers_text_embedder"
                 ".SentenceTransformersTextEmbedder")
RANKER = (f"{_HI}.rankers.sentence_transformers.sentence_transformers_similarity"
          ".SentenceTransformersSimilarityRanker")
JOINER = f"{_HS}.joiners.document_joiner.DocumentJoiner"
PROMPT_BUILDER = f"{_HS}.builders.prompt_builder.PromptBuilder"
LOCAL_GENERATOR = "ragdsl.lower.components.LocalGenerator"
FEWSHOT = "ragdsl.lower.fewshot.FewShotExamples"
CHAT_GENERATOR = f"{_HI}.generators.transformers.chat.chat_generator.TransformersChatGenerator"

# Retriever class per (store backend, retrieval method). Third-party backends
# list theirs in their `retrievers` attribute (see ragdsl.backends).
RETRIEVERS: dict[str, dict[str, str]] = {
    "memory": {"bm25": BM25_MEMORY, "dense": DENSE_MEMORY},
    "elasticsearch": {"bm25": BM25_ELASTICSEARCH, "dense": DENSE_ELASTICSEARCH},
}

# hybrid(fusion = ...) -> DocumentJoiner(join_mode = ...)
JOIN_MODES = {"rrf": "reciprocal_rank_fusion", "merge": "merge", "concatenate": "concatenate"}

# The input socket that receives the question, per component class.
QUESTION_SOCKETS = {BM25_MEMORY: "query", BM25_ELASTICSEARCH: "query", TEXT_EMBEDDER: "text",
                    RANKER: "query", PROMPT_BUILDER: "question", FEWSHOT: "question"}

STORE, MODEL, FILE, BUILTIN, EXAMPLES = "$store", "$model", "$file", "$builtin", "$examples"
BUILTINS = {"default_prompt": DEFAULT_PROMPT}


def store_ref(node: str) -> dict[str, str]:
    return {STORE: node}


def model_ref(reference: str) -> dict[str, str]:
    return {MODEL: reference}


def file_ref(path: str) -> dict[str, str]:
    return {FILE: path}


def examples_ref(pool: dict) -> dict[str, str]:
    """A few-shot pool: `{"node": questions node, "part": split}` -> `{"$examples": "node:part"}`."""
    return {EXAMPLES: f"{pool['node']}:{pool.get('part') or 'train'}"}


def reference_of(value: object) -> tuple[str, str] | None:
    """(kind, target) for a `$store`/`$model`/`$file`/`$builtin`/`$examples` reference, else None."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, target),) = value.items()
        if key in (STORE, MODEL, FILE, BUILTIN, EXAMPLES) and isinstance(target, str):
            return key, target
    return None


@dataclass(frozen=True)
class IndexInfo:
    """What lowering needs to know about an index node."""

    node: str  # "index.biomed_idx"
    store: str = "memory"  # the backend: "memory", "elasticsearch", or a registered third-party name
    embedder: str | None = None  # model reference for dense retrieval (see model_reference), None: BM25 only
    bm25: str | None = "BM25L"  # the memory store's BM25 variant (None for other backends)


@dataclass(frozen=True)
class GeneratorInfo:
    """What lowering needs to know about a generator (a model or fine-tune node)."""

    label: str  # the node id: "model.qwen", "finetune.tuned[samples=200]"
    model: str  # reference to the (base) weights, resolved by Resources.models
    adapter: str | None = None  # reference to a LoRA adapter folder (a fine-tune node id), or None
    chat_template: str = "auto"  # "auto": the tokenizer's chat template where it has one; "off": plain text
    precision: str = "auto"  # "auto" | "bf16" | "fp16" | "fp32"
    device: str = "auto"  # "auto" | "cpu" | "cuda"


@dataclass(frozen=True)
class ComponentSpec:
    name: str  # the component's name in the pipeline: bm25, dense, joiner, ...
    type: str  # fully qualified Haystack class, as Haystack serializes it
    params: tuple[tuple[str, object], ...]  # JSON-able init parameters ($-references resolved by build)

    def param(self, key: str, default: object = None) -> object:
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class PipelineSpec:
    components: tuple[ComponentSpec, ...]
    connections: tuple[tuple[str, str], ...]  # ("bm25.documents", "joiner.documents")
    inputs: tuple[str, ...] = ()  # sockets that receive the question: ("bm25.query", ...)
    outputs: tuple[str, ...] = ()  # sockets read after a run: the documents, then the replies
    _by_name: dict[str, ComponentSpec] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.components})

    def component(self, name: str) -> ComponentSpec:
        return self._by_name[name]

    @property
    def documents_output(self) -> str | None:
        return next((o for o in self.outputs if o.endswith(".documents")), None)

    @property
    def replies_output(self) -> str | None:
        return next((o for o in self.outputs if o.endswith(".replies")), None)

    def run_data(self, question: str) -> dict[str, dict[str, str]]:
        """`Pipeline.run` input: the question on every socket that takes it."""
        data: dict[str, dict[str, str]] = {}
        for socket in self.inputs:
            name, _, key = socket.partition(".")
            data.setdefault(name, {})[key] = question
        return data

    def render(self) -> list[str]:
        """Plan lines: one per component, then the question's inputs, connections and outputs."""
        lines = [f"{c.name}: {c.type.rpartition('.')[2]}({_render_params(c.params)})" for c in self.components]
        lines += [f"question -> {socket}" for socket in self.inputs]
        lines += [f"{sender} -> {receiver}" for sender, receiver in self.connections]
        if self.outputs:
            lines.append("returns " + ", ".join(self.outputs))
        return lines

    def to_json(self) -> dict:
        return {
            "components": [{"name": c.name, "type": c.type, "params": dict(c.params)} for c in self.components],
            "connections": [list(c) for c in self.connections],
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
        }


def model_reference(value: object) -> str:
    """A stable string naming model weights, from canonical JSON (a model's `source`, an embedder, ...).

    "all-minilm-l6-v2" and catalog(name) give the name, hf(id, revision) "id@revision",
    local(path) and gguf(path) the path as written, {"node": id} the node id.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "node" in value:
            return str(value["node"])
        args = value.get("args", {})
        call = value.get("call")
        if call == "hf":
            return args["id"] + (f"@{args['revision']}" if args.get("revision") else "")
        if call in ("local", "gguf"):
            path = args["path"]
            return path["file"] if isinstance(path, dict) else str(path)
        if call == "catalog":
            return str(args["name"])
    raise ValueError(f"not a model reference: {value!r}")


def index_info(node: str, params: dict) -> IndexInfo:
    """IndexInfo from an index node's canonical params."""
    store = params.get("store") or {"call": "memory", "args": {}}
    embedder = params.get("embedder")
    return IndexInfo(
        node=node,
        store=store["call"],
        embedder=model_reference(embedder) if embedder is not None else None,
        bm25=store["args"].get("bm25", "BM25L") if store["call"] == "memory" else None,
    )


def describe_retrieval(retrieve: dict, rerank: dict | None,
                       index_info: Callable[[str], IndexInfo]) -> PipelineSpec:
    """The retrieval half of a pipeline: retriever(s), joiner(s), optional reranker."""
    draft = _Draft()
    output = draft.retriever(retrieve, index_info)
    if rerank is not None:
        output = draft.reranker(rerank, output)
    return draft.finish(outputs=(output,))


def describe_generation(prompt: dict, generator: GeneratorInfo, max_new_tokens: int, temperature: float,
                        *, seed: int = 0, batch_size: int = 8, portable: bool = False,
                        batch_invariant: bool = False, examples: dict | None = None) -> PipelineSpec:
    """The generation half: PromptBuilder -> generator. Documents are an optional input.

    `portable=True` (for export) uses transformers-haystack's TransformersChatGenerator where it
    behaves like LocalGenerator (see `portable_generator`); otherwise, and always for running,
    ragdsl's batched LocalGenerator.
    """
    draft = _Draft()
    name = draft.generation(prompt, generator, max_new_tokens, temperature, seed, batch_size, portable, None,
                            batch_invariant, examples)
    return draft.finish(outputs=(f"{name}.replies",))


def describe_rag(retrieve: dict | None, rerank: dict | None, prompt: dict, generator: GeneratorInfo, *,
                 max_new_tokens: int, temperature: float, index_info: Callable[[str], IndexInfo],
                 seed: int = 0, batch_size: int = 8, portable: bool = False,
                 batch_invariant: bool = False, examples: dict | None = None) -> PipelineSpec:
    """Retrieval and generation in one pipeline (closed-book when `retrieve` is None): what export writes."""
    draft = _Draft()
    outputs: tuple[str, ...] = ()
    documents = None
    if retrieve is not None:
        documents = draft.retriever(retrieve, index_info)
        if rerank is not None:
            documents = draft.reranker(rerank, documents)
        outputs = (documents,)
    name = draft.generation(prompt, generator, max_new_tokens, temperature, seed, batch_size, portable, documents,
                            batch_invariant, examples)
    return draft.finish(outputs=(*outputs, f"{name}.replies"))


def portable_generator(generator: GeneratorInfo, temperature: float) -> bool:
    """Whether a standard TransformersChatGenerator reproduces LocalGenerator for this generator.

    It does for greedy decoding through the model's chat template with no adapter; it cannot
    cut plain-text answers (chat_template off), load a LoRA adapter, or seed sampling.
    """
    return generator.chat_template == "auto" and generator.adapter is None and temperature == 0


# --------------------------------------------------------------------- drafting


class _Draft:
    """Collects components under provisional names ("bm25#0") and makes them readable at the end."""

    def __init__(self) -> None:
        self.components: list[ComponentSpec] = []
        self.connections: list[tuple[str, str]] = []
        self.inputs: list[str] = []
        self.counts: dict[str, int] = {}
        self.embedders: dict[str, str] = {}  # model reference -> provisional name (shared per model)

    def add(self, base: str, type_: str, params: dict[str, object]) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        name = f"{base}#{n}"
        self.components.append(ComponentSpec(name, type_, tuple(params.items())))
        socket = QUESTION_SOCKETS.get(type_)
        if socket is not None:
            self.inputs.append(f"{name}.{socket}")
        return name

    def connect(self, sender: str, receiver: str) -> None:
        self.connections.append((sender, receiver))

    def retriever(self, spec: dict, index_info: Callable[[str], IndexInfo]) -> str:
        """Adds a retriever (recursively for hybrid); returns its documents output socket."""
        call, args = spec["call"], spec.get("args", {})
        if call == "hybrid":
            outputs = [self.retriever(item, index_info) for item in spec.get("items", [])]
            if len(outputs) < 2:
                raise ValueError("hybrid() needs two or more retrievers")
            weights = args.get("weights")
            if weights is not None and len(weights) != len(outputs):
                raise ValueError(f"hybrid() has {len(outputs)} retrievers but {len(weights)} weights")
            joiner = self.add("joiner", JOINER, {"join_mode": JOIN_MODES[args.get("fusion", "rrf")],
                                                 "weights": list(weights) if weights is not None else None,
                                                 "top_k": args.get("top_k", 10)})
            for output in outputs:
                self.connect(output, f"{joiner}.documents")
            return f"{joiner}.documents"
        if call not in ("bm25", "dense"):
            raise ValueError(f"unknown retriever {call!r}")
        info = index_info(args["index"]["node"])
        retriever_type = _retriever_type(info.store, call)
        name = self.add(call, retriever_type, {"document_store": store_ref(info.node), "top_k": args.get("top_k", 10)})
        if call == "dense":
            if info.embedder is None:
                raise ValueError(f"dense retrieval from {info.node}, which has no embedder")
            embedder = self.embedders.get(info.embedder)
            if embedder is None:
                embedder = self.add("query_embedder", TEXT_EMBEDDER, {"model": model_ref(info.embedder)})
                self.embedders[info.embedder] = embedder
            self.connect(f"{embedder}.embedding", f"{name}.query_embedding")
        return f"{name}.documents"

    def reranker(self, spec: dict, documents: str) -> str:
        if spec["call"] != "cross_encoder":
            raise ValueError(f"unknown reranker {spec['call']!r}")
        args = spec.get("args", {})
        ranker = self.add("ranker", RANKER, {"model": model_ref(model_reference(args["model"])),
                                             "top_k": args.get("top_k", 5)})
        self.connect(documents, f"{ranker}.documents")
        return f"{ranker}.documents"

    def generation(self, prompt: dict, generator: GeneratorInfo, max_new_tokens: int, temperature: float,
                   seed: int, batch_size: int, portable: bool, documents: str | None,
                   batch_invariant: bool = False, examples: dict | None = None) -> str:
        """Adds [FewShotExamples ->] PromptBuilder -> generator; returns the generator's name."""
        chooser = self.examples(examples, seed) if examples is not None else None
        builder = self.add("prompt_builder", PROMPT_BUILDER, {"template": _template(prompt)})
        if documents is not None:
            self.connect(documents, f"{builder}.documents")
        if chooser is not None:
            self.connect(f"{chooser}.examples", f"{builder}.examples")
        if portable and portable_generator(generator, temperature):
            name = self.add("generator", CHAT_GENERATOR, _chat_generator_params(generator, max_new_tokens))
            self.connect(f"{builder}.prompt", f"{name}.messages")
            return name
        params: dict[str, object] = {"model": model_ref(generator.model)}
        if generator.adapter is not None:
            params["adapter"] = model_ref(generator.adapter)
        params.update(chat_template=generator.chat_template, precision=generator.precision,
                      device=generator.device, max_new_tokens=max_new_tokens, temperature=temperature,
                      seed=seed, batch_size=batch_size)
        if batch_invariant:  # only when set, so plans of pipelines without it read as before
            params["batch_invariant"] = True
        name = self.add("generator", LOCAL_GENERATOR, params)
        self.connect(f"{builder}.prompt", f"{name}.prompts")
        return name

    def examples(self, spec: dict, seed: int) -> str:
        """Adds the few-shot chooser of `fewshot(...)`; returns its name."""
        if spec["call"] != "fewshot":
            raise ValueError(f"unknown examples {spec['call']!r}")
        args = spec.get("args", {})
        select = args.get("select", "fixed")
        params: dict[str, object] = {"pool": examples_ref(args["pool"]), "k": args.get("k", 3), "select": select}
        if select == "fixed":
            params["seed"] = args["seed"] if args.get("seed") is not None else seed
        else:
            params["embedder"] = model_ref(model_reference(args.get("embedder") or "all-minilm-l6-v2"))
        return self.add("fewshot", FEWSHOT, params)

    def finish(self, outputs: tuple[str, ...]) -> PipelineSpec:
        names = {}
        seen: dict[str, int] = {}
        for c in self.components:
            base = c.name.partition("#")[0]
            seen[base] = seen.get(base, 0) + 1
            names[c.name] = base if self.counts[base] == 1 else f"{base}_{seen[base]}"

        def rename(socket: str) -> str:
            name, _, key = socket.partition(".")
            return f"{names[name]}.{key}"

        components = [ComponentSpec(names[c.name], c.type, c.params) for c in self.components]
        connections = [(rename(s), rename(r)) for s, r in self.connections]
        components = _weights_in_arrival_order(components, connections)
        return PipelineSpec(tuple(components), tuple(connections), tuple(rename(s) for s in self.inputs),
                            tuple(rename(s) for s in outputs))


def _retriever_type(store: str, method: str) -> str:
    table = RETRIEVERS.get(store)
    if table is None:
        from ragdsl.backends import get_backend

        table = dict(getattr(get_backend(store), "retrievers", {}))
    if method not in table:
        raise ValueError(f"the {store!r} document store backend has no {method} retriever")
    return table[method]


def _template(prompt: dict) -> object:
    call, args = prompt["call"], prompt.get("args", {})
    if call == "template":
        path = args["path"]
        return file_ref(path["file"] if isinstance(path, dict) else str(path))
    if call == "inline":
        return args["text"]
    if call == "default_prompt":
        return {BUILTIN: "default_prompt"}
    raise ValueError(f"unknown prompt {call!r}")


_TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32", "auto": "auto"}


def _chat_generator_params(generator: GeneratorInfo, max_new_tokens: int) -> dict[str, object]:
    return {
        "model": model_ref(generator.model),
        "task": "text-generation",
        "generation_kwargs": {"max_new_tokens": max_new_tokens, "do_sample": False},
        "huggingface_pipeline_kwargs": {"dtype": _TORCH_DTYPES[generator.precision]},
    }


def _weights_in_arrival_order(components: list[ComponentSpec],
                              connections: list[tuple[str, str]]) -> list[ComponentSpec]:
    """Permute each joiner's weights into the order its inputs arrive at run time.

    DocumentJoiner takes its lists through one variadic socket, in the order
    their senders run, and Haystack runs a DAG in lexicographic topological
    order of component names. Weights are written in retriever order; this
    lines them up with the lists they weigh (tests/test_lower_haystack.py pins it).
    """
    position = {name: i for i, name in enumerate(_lexicographic_topological_order(components, connections))}
    result = []
    for c in components:
        weights = c.param("weights")
        if c.type == JOINER and isinstance(weights, list) and weights:
            senders = [s.partition(".")[0] for s, r in connections if r.partition(".")[0] == c.name]
            order = sorted(range(len(senders)), key=lambda i: position[senders[i]])
            params = dict(c.params) | {"weights": [weights[i] for i in order]}
            c = ComponentSpec(c.name, c.type, tuple(params.items()))
        result.append(c)
    return result


def _lexicographic_topological_order(components: list[ComponentSpec],
                                     connections: list[tuple[str, str]]) -> list[str]:
    import heapq

    indegree = {c.name: 0 for c in components}
    after: dict[str, list[str]] = {c.name: [] for c in components}
    for sender, receiver in connections:
        s, r = sender.partition(".")[0], receiver.partition(".")[0]
        after[s].append(r)
        indegree[r] += 1
    ready = [name for name, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for nxt in after[name]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    return order


# --------------------------------------------------------------------- rendering

_MAX_STR = 40


def _render_params(params: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{key}={_render_value(value)}" for key, value in params if value is not None)


def _render_value(value: object) -> str:
    ref = reference_of(value)
    if ref is not None:
        return f"<{ref[1]}>"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= _MAX_STR else text[: _MAX_STR - 2] + '…"'
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_render_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def iter_references(spec: PipelineSpec) -> Iterator[tuple[str, str, str]]:
    """(component, kind, target) for every `$store`/`$model`/`$file`/`$examples` reference: what Resources
    must hold."""
    for c in spec.components:
        for _, value in c.params:
            ref = reference_of(value)
            if ref is not None and ref[0] != BUILTIN:
                yield c.name, ref[0], ref[1]
