"""Attach to each retrieve and rag node the Haystack pipeline it lowers to.

The description (components, connections, inputs, outputs) is plain data
from ragdsl.lower.spec, built without importing Haystack, so `compile
--dry-run` shows exactly what will run. The executor builds the same
descriptions into real `haystack.Pipeline`s.
"""

from __future__ import annotations

from dataclasses import replace

from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.nodes import Node


def generator_info(graph: ExperimentGraph, node_id: str):
    """GeneratorInfo for a model or fine-tune node, as the rag runner will load it: a LoRA-style
    fine-tune is its root base model plus the node's adapter; a full fine-tune, or a fine-tune of a
    fine-tune (saved merged), is its own weights."""
    from ragdsl.lower import GeneratorInfo

    node = graph.node(node_id)
    adapter = None
    saves_model = False
    if node.kind == "finetune":
        base = graph.node(node.params["base"]["node"])
        saves_model = node.params["method"]["call"] == "full" or base.kind == "finetune"
        adapter = None if saves_model else node.id
    while node.kind == "finetune":
        node = graph.node(node.params["base"]["node"])
    params = node.params
    model = node_id if saves_model else node.id
    return GeneratorInfo(label=node_id, model=model, adapter=adapter,
                         chat_template=params.get("chat_template", "auto"),
                         precision=params.get("precision", "auto"), device=params.get("device", "auto"))


def _index_info(graph: ExperimentGraph):
    from ragdsl.lower import index_info

    return lambda node_id: index_info(node_id, graph.node(node_id).params)


def describe(graph: ExperimentGraph, node: Node, *, portable: bool = False):
    from ragdsl.lower import describe_rag, describe_retrieval

    params = node.params
    if node.kind == "retrieve":
        return describe_retrieval(params["retrieve"], params.get("rerank"), _index_info(graph))
    contexts = next((i.node for i in node.inputs if i.role == "contexts"), None)
    retrieval = graph.node(contexts).params if contexts else {}
    return describe_rag(retrieval.get("retrieve"), retrieval.get("rerank"), params["prompt"],
                        generator_info(graph, params["generate"]["node"]),
                        max_new_tokens=params["max_new_tokens"], temperature=params["temperature"],
                        index_info=_index_info(graph), seed=params.get("seed", 0), portable=portable,
                        batch_invariant=bool(params.get("batch_invariant")), examples=params.get("examples"))


def attach_pipelines(graph: ExperimentGraph) -> None:
    for node_id in graph.order():
        node = graph.node(node_id)
        if node.kind in ("retrieve", "rag"):
            graph.replace(replace(node, pipeline=describe(graph, node)))
