"""`ExperimentGraph`: the expanded DAG of nodes, backed by networkx."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

from ragdsl.ir.nodes import Node

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort "samples=200" before "samples=1000"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text) if part)


class ExperimentGraph:
    def __init__(self) -> None:
        self._g = nx.DiGraph()
        self._order: list[str] | None = None
        # Input files by content hash (sha256 -> absolute path): how the executor
        # finds what a node's `data` names, without absolute paths in any plan.
        self.files: dict[str, Path] = {}

    def add(self, node: Node) -> None:
        self._order = None
        self._g.add_node(node.id, node=node)
        for item in node.inputs:
            self._g.add_edge(item.node, node.id, role=item.role)

    def replace(self, node: Node) -> None:
        """Swap in an enriched copy of a node (same id and inputs)."""
        assert self.node(node.id).inputs == node.inputs
        self._g.nodes[node.id]["node"] = node

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def node(self, node_id: str) -> Node:
        return self._g.nodes[node_id]["node"]

    def order(self) -> list[str]:
        """Topological order, ties broken by id: the same graph always lists the same way."""
        if self._order is None:
            self._order = list(nx.lexicographical_topological_sort(self._g, key=self._listing_key))
        return list(self._order)

    def _listing_key(self, node_id: str) -> tuple:
        # Among nodes ready at the same time: by declaration, then sweep values in written order.
        node = self.node(node_id)
        return (natural_key(f"{node.kind}.{node.decl}"), node.rank, natural_key(node_id))

    def nodes(self) -> Iterator[Node]:
        for node_id in self.order():
            yield self.node(node_id)

    def downstream(self, node_id: str) -> set[str]:
        return nx.descendants(self._g, node_id)

    def edges(self) -> list[tuple[str, str, str]]:
        return sorted((u, v, d["role"]) for u, v, d in self._g.edges(data=True))

    @property
    def networkx(self) -> nx.DiGraph:
        return self._g
