"""Lowering to data: describe_* turn canonical node params into PipelineSpecs, with no Haystack import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ragdsl.lower import (
    GeneratorInfo,
    IndexInfo,
    PipelineSpec,
    describe_generation,
    describe_rag,
    describe_retrieval,
    index_info,
    model_reference,
    portable_generator,
)
from ragdsl.lower import spec as S
from ragdsl.lower.prompts import DEFAULT_PROMPT, template_variables

INDEXES = {
    "index.docs": IndexInfo("index.docs", "memory", "all-minilm-l6-v2"),
    "index.other": IndexInfo("index.other", "memory", "all-mpnet-base-v2"),
    "index.same_model": IndexInfo("index.same_model", "memory", "all-minilm-l6-v2"),
    "index.es": IndexInfo("index.es", "elasticsearch", "all-minilm-l6-v2", bm25=None),
    "index.keywords": IndexInfo("index.keywords", "memory", None),
}
GENERATOR = GeneratorInfo("model.qwen", "qwen2.5-0.5b-instruct")
TEMPLATE = {"call": "template", "args": {"path": {"file": "prompts/answer.jinja"}}}


def bm25(index: str = "index.docs", top_k: int = 5) -> dict:
    return {"call": "bm25", "args": {"index": {"node": index}, "top_k": top_k}}


def dense(index: str = "index.docs", top_k: int = 5) -> dict:
    return {"call": "dense", "args": {"index": {"node": index}, "top_k": top_k}}


def hybrid(*items: dict, top_k: int = 3, fusion: str = "rrf", weights: list[float] | None = None) -> dict:
    return {"call": "hybrid", "args": {"top_k": top_k, "fusion": fusion, "weights": weights}, "items": list(items)}


def retrieval(retrieve: dict, rerank: dict | None = None) -> PipelineSpec:
    return describe_retrieval(retrieve, rerank, INDEXES.__getitem__)


def test_bm25_is_one_retriever_fed_the_question():
    spec = retrieval(bm25(top_k=5))
    assert spec.render() == [
        "bm25: InMemoryBM25Retriever(document_store=<index.docs>, top_k=5)",
        "question -> bm25.query",
        "returns bm25.documents",
    ]
    assert spec.component("bm25").type == S.BM25_MEMORY
    assert spec.run_data("Where is insulin made?") == {"bm25": {"query": "Where is insulin made?"}}
    assert spec.documents_output == "bm25.documents" and spec.replies_output is None


def test_dense_embeds_the_question_with_the_index_embedder():
    spec = retrieval(dense(top_k=4))
    assert spec.render() == [
        "dense: InMemoryEmbeddingRetriever(document_store=<index.docs>, top_k=4)",
        "query_embedder: SentenceTransformersTextEmbedder(model=<all-minilm-l6-v2>)",
        "question -> query_embedder.text",
        "query_embedder.embedding -> dense.query_embedding",
        "returns dense.documents",
    ]


def test_dense_without_embedder_is_a_lowering_bug():
    with pytest.raises(ValueError, match="no embedder"):
        retrieval(dense("index.keywords"))


def test_hybrid_rrf_joins_both_retrievers():
    spec = retrieval(hybrid(bm25(top_k=20), dense(top_k=20), top_k=3))
    assert spec.render() == [
        "bm25: InMemoryBM25Retriever(document_store=<index.docs>, top_k=20)",
        "dense: InMemoryEmbeddingRetriever(document_store=<index.docs>, top_k=20)",
        "query_embedder: SentenceTransformersTextEmbedder(model=<all-minilm-l6-v2>)",
        'joiner: DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=3)',
        "question -> bm25.query",
        "question -> query_embedder.text",
        "query_embedder.embedding -> dense.query_embedding",
        "bm25.documents -> joiner.documents",
        "dense.documents -> joiner.documents",
        "returns joiner.documents",
    ]


@pytest.mark.parametrize(("fusion", "join_mode"), [("rrf", "reciprocal_rank_fusion"), ("merge", "merge"),
                                                  ("concatenate", "concatenate")])
def test_hybrid_fusion_names_the_join_mode(fusion, join_mode):
    spec = retrieval(hybrid(bm25(), dense(), fusion=fusion))
    assert spec.component("joiner").param("join_mode") == join_mode


def test_hybrid_weights_follow_the_order_lists_arrive_in():
    """The joiner gets lists in run order (bm25 before dense, which waits for its embedder)."""
    in_order = retrieval(hybrid(bm25(), dense(), fusion="merge", weights=[0.7, 0.3]))
    assert in_order.component("joiner").param("weights") == [0.7, 0.3]
    reversed_ = retrieval(hybrid(dense(), bm25(), fusion="merge", weights=[0.7, 0.3]))
    assert reversed_.component("joiner").param("weights") == [0.3, 0.7]


def test_hybrid_weights_must_match_the_retrievers():
    with pytest.raises(ValueError, match="2 retrievers but 3 weights"):
        retrieval(hybrid(bm25(), dense(), weights=[1.0, 1.0, 1.0]))


def test_several_of_a_kind_get_numbered_names():
    spec = retrieval(hybrid(bm25("index.docs"), bm25("index.other"), dense("index.docs"), dense("index.other")))
    names = [c.name for c in spec.components]
    assert names == ["bm25_1", "bm25_2", "dense_1", "query_embedder_1", "dense_2", "query_embedder_2", "joiner"]
    assert ("query_embedder_2.embedding", "dense_2.query_embedding") in spec.connections


def test_dense_retrievers_with_one_embedder_share_the_query_embedding():
    spec = retrieval(hybrid(dense("index.docs"), dense("index.same_model")))
    assert [c.name for c in spec.components] == ["dense_1", "query_embedder", "dense_2", "joiner"]
    assert spec.inputs == ("query_embedder.text",)


def test_nested_hybrid_gets_its_own_joiner():
    spec = retrieval(hybrid(hybrid(bm25(), dense(), fusion="merge"), bm25("index.other"), top_k=4))
    assert ("joiner_1.documents", "joiner_2.documents") in spec.connections
    assert spec.outputs == ("joiner_2.documents",)


def test_elasticsearch_indexes_use_the_elasticsearch_retrievers():
    spec = retrieval(hybrid(bm25("index.es"), dense("index.es")))
    assert spec.component("bm25").type == S.BM25_ELASTICSEARCH
    assert spec.component("dense").type == S.DENSE_ELASTICSEARCH


def test_an_unknown_store_backend_is_reported_by_the_registry():
    from ragdsl.backends import UnknownBackendError

    with pytest.raises(UnknownBackendError, match="no document-store backend 'nosuch'"):
        describe_retrieval(bm25("index.x"), None, lambda node: IndexInfo(node, "nosuch"))


def test_rerank_follows_retrieval_and_gets_the_question():
    spec = retrieval(hybrid(bm25(), dense()), {"call": "cross_encoder", "args": {"model": "ms-marco", "top_k": 2}})
    assert "ranker: SentenceTransformersSimilarityRanker(model=<ms-marco>, top_k=2)" in spec.render()
    assert ("joiner.documents", "ranker.documents") in spec.connections
    assert spec.inputs[-1] == "ranker.query"
    assert spec.outputs == ("ranker.documents",)


def test_rerank_with_a_model_declaration_refers_to_its_node():
    spec = retrieval(bm25(), {"call": "cross_encoder", "args": {"model": {"node": "model.reranker"}, "top_k": 5}})
    assert spec.component("ranker").param("model") == {"$model": "model.reranker"}


@pytest.mark.parametrize(("prompt", "template"), [
    (TEMPLATE, {"$file": "prompts/answer.jinja"}),
    ({"call": "inline", "args": {"text": "Q: {{ question }}\nA:"}}, "Q: {{ question }}\nA:"),
    ({"call": "default_prompt", "args": {}}, {"$builtin": "default_prompt"}),
])
def test_prompts_become_prompt_builder_templates(prompt, template):
    spec = describe_generation(prompt, GENERATOR, 64, 0.0)
    assert spec.component("prompt_builder").param("template") == template


def test_generation_is_prompt_builder_then_local_generator():
    spec = describe_generation(TEMPLATE, GENERATOR, 64, 0.0, seed=7)
    assert spec.render() == [
        "prompt_builder: PromptBuilder(template=<prompts/answer.jinja>)",
        'generator: LocalGenerator(model=<qwen2.5-0.5b-instruct>, chat_template="auto", precision="auto", '
        'device="auto", max_new_tokens=64, temperature=0.0, seed=7, batch_size=8)',
        "question -> prompt_builder.question",
        "prompt_builder.prompt -> generator.prompts",
        "returns generator.replies",
    ]


def test_a_fine_tuned_generator_carries_its_adapter():
    tuned = GeneratorInfo("finetune.tuned[samples=200]", "qwen2.5-0.5b-instruct",
                          adapter="finetune.tuned[samples=200]", precision="bf16")
    generator = describe_generation(TEMPLATE, tuned, 32, 0.0).component("generator")
    assert generator.param("adapter") == {"$model": "finetune.tuned[samples=200]"}
    assert generator.param("precision") == "bf16"


def test_portable_generation_uses_the_standard_chat_generator_where_equivalent():
    spec = describe_generation(TEMPLATE, GENERATOR, 64, 0.0, portable=True)
    generator = spec.component("generator")
    assert generator.type == S.CHAT_GENERATOR
    assert generator.param("generation_kwargs") == {"max_new_tokens": 64, "do_sample": False}
    assert ("prompt_builder.prompt", "generator.messages") in spec.connections


@pytest.mark.parametrize("generator", [
    GeneratorInfo("model.base", "base", chat_template="off"),
    GeneratorInfo("finetune.tuned", "base", adapter="finetune.tuned"),
])
def test_portable_generation_keeps_local_generator_where_it_cannot_match(generator):
    assert not portable_generator(generator, 0.0)
    spec = describe_generation(TEMPLATE, generator, 64, 0.0, portable=True)
    assert spec.component("generator").type == S.LOCAL_GENERATOR


def test_seeded_sampling_is_not_portable():
    assert not portable_generator(GENERATOR, 0.7)
    assert describe_generation(TEMPLATE, GENERATOR, 64, 0.7, portable=True).component("generator").type \
        == S.LOCAL_GENERATOR


def test_rag_joins_retrieval_documents_into_the_prompt():
    spec = describe_rag(hybrid(bm25(), dense()), None, TEMPLATE, GENERATOR, max_new_tokens=64, temperature=0.0,
                        index_info=INDEXES.__getitem__, seed=7)
    assert ("joiner.documents", "prompt_builder.documents") in spec.connections
    assert spec.inputs == ("bm25.query", "query_embedder.text", "prompt_builder.question")
    assert spec.outputs == ("joiner.documents", "generator.replies")


def test_closed_book_rag_is_generation_only():
    spec = describe_rag(None, None, TEMPLATE, GENERATOR, max_new_tokens=64, temperature=0.0,
                        index_info=INDEXES.__getitem__)
    assert [c.name for c in spec.components] == ["prompt_builder", "generator"]
    assert spec.outputs == ("generator.replies",)


def test_spec_json_is_plain_data_without_absolute_paths():
    spec = describe_rag(hybrid(bm25(), dense()), {"call": "cross_encoder", "args": {"model": "ce", "top_k": 2}},
                        TEMPLATE, GENERATOR, max_new_tokens=64, temperature=0.0, index_info=INDEXES.__getitem__)
    text = json.dumps(spec.to_json())
    assert "/" not in text.replace("prompts/answer.jinja", "")
    refs = sorted({(kind, target) for _, kind, target in S.iter_references(spec)})
    assert refs == [("$file", "prompts/answer.jinja"), ("$model", "all-minilm-l6-v2"), ("$model", "ce"),
                    ("$model", "qwen2.5-0.5b-instruct"), ("$store", "index.docs")]


def test_long_strings_are_shortened_in_plans():
    text = "Use the passages below to answer the question in a few words.\n{{ question }}"
    spec = describe_generation({"call": "inline", "args": {"text": text}}, GENERATOR, 64, 0.0)
    assert spec.render()[0] == 'prompt_builder: PromptBuilder(template="Use the passages below to answer the …")'
    default = describe_generation({"call": "default_prompt", "args": {}}, GENERATOR, 64, 0.0)
    assert default.render()[0] == "prompt_builder: PromptBuilder(template=<default_prompt>)"


@pytest.mark.parametrize(("source", "reference"), [
    ("qwen2.5-0.5b-instruct", "qwen2.5-0.5b-instruct"),
    ({"call": "hf", "args": {"id": "Qwen/Qwen2.5-0.5B-Instruct", "revision": None}}, "Qwen/Qwen2.5-0.5B-Instruct"),
    ({"call": "hf", "args": {"id": "org/m", "revision": "v1"}}, "org/m@v1"),
    ({"call": "local", "args": {"path": {"file": "models/m"}}}, "models/m"),
    ({"call": "gguf", "args": {"path": {"file": "m.gguf"}, "tokenizer": None}}, "m.gguf"),
    ({"call": "catalog", "args": {"name": "all-minilm-l6-v2"}}, "all-minilm-l6-v2"),
    ({"node": "model.embedder"}, "model.embedder"),
])
def test_model_reference(source, reference):
    assert model_reference(source) == reference


def test_index_info_from_canonical_params():
    params = {"corpus": {"node": "corpus.c"}, "store": {"call": "memory", "args": {"bm25": "BM25Okapi"}},
              "embedder": {"node": "model.embed"}, "batch_size": 32}
    assert index_info("index.i", params) == IndexInfo("index.i", "memory", "model.embed", "BM25Okapi")
    es = {"corpus": {"node": "corpus.c"}, "store": {"call": "elasticsearch", "args": {"url": "http://x"}},
          "embedder": None, "batch_size": 32}
    assert index_info("index.e", es) == IndexInfo("index.e", "elasticsearch", None, None)


def test_template_variables():
    assert template_variables("{{ question }} {% for d in documents %}{{ d.content }}{% endfor %}") == \
        {"question", "documents"}
    assert template_variables(DEFAULT_PROMPT) == {"question", "documents", "examples"}


def test_every_example_lowers():
    """Each retrieve and rag node of the shipped retrieval comparison lowers to a spec."""
    from ragdsl.compiler import compile_spec

    compiled = compile_spec(Path(__file__).resolve().parent.parent / "experiments" / "retrieval_comparison.rag")
    assert compiled.graph is not None, [d.message for d in compiled.diagnostics]
    nodes = {n.id: n for n in compiled.graph.nodes()}
    info = lambda nid: index_info(nid, nodes[nid].params)  # noqa: E731
    kinds = {"retrieve": 0, "rag": 0}
    for node in nodes.values():
        if node.kind == "retrieve":
            spec = describe_retrieval(node.params["retrieve"], node.params["rerank"], info)
            assert spec.documents_output is not None
        elif node.kind == "rag":
            contexts = nodes[next(i.node for i in node.inputs if i.role == "contexts")].params
            model = nodes[node.params["generate"]["node"]].params
            generator = GeneratorInfo(node.params["generate"]["node"], model_reference(model["source"]),
                                      chat_template=model["chat_template"], precision=model["precision"],
                                      device=model["device"])
            spec = describe_rag(contexts["retrieve"], contexts["rerank"], node.params["prompt"], generator,
                                max_new_tokens=node.params["max_new_tokens"],
                                temperature=node.params["temperature"], index_info=info, seed=node.params["seed"])
            assert spec.replies_output == "generator.replies"
        else:
            continue
        kinds[node.kind] += 1
    assert kinds == {"retrieve": 9, "rag": 9}


def test_describing_imports_no_heavy_module():
    code = textwrap.dedent("""
        import json, sys
        from ragdsl.lower import IndexInfo, GeneratorInfo, describe_rag
        import ragdsl.backends
        retrieve = {"call": "hybrid", "args": {"top_k": 3, "fusion": "rrf", "weights": None}, "items": [
            {"call": "bm25", "args": {"index": {"node": "index.i"}, "top_k": 5}},
            {"call": "dense", "args": {"index": {"node": "index.i"}, "top_k": 5}}]}
        spec = describe_rag(retrieve, {"call": "cross_encoder", "args": {"model": "ce", "top_k": 2}},
                            {"call": "default_prompt", "args": {}}, GeneratorInfo("model.m", "m"),
                            max_new_tokens=8, temperature=0.0, index_info=lambda n: IndexInfo(n, "memory", "e"),
                            portable=True)
        spec.render()
        ragdsl.backends.get_backend("memory").describe({"bm25": "BM25L"})
        heavy = ("haystack", "haystack_integrations", "torch", "transformers", "sentence_transformers", "peft",
                 "jinja2", "elasticsearch")
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
