"""Checking a loaded spec: name resolution, types, values, cross-declaration rules and templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from ragdsl.access import ReadGrants
from ragdsl.collector import collector_paused
from ragdsl.diagnostics import Diagnostic, has_errors, sort_key
from ragdsl.semantics.check import Resolution, check_program
from ragdsl.semantics.overrides import apply_overrides
from ragdsl.semantics.program import Program, load_program
from ragdsl.semantics.rules import apply_rules
from ragdsl.semantics.templates import check_templates


@dataclass
class CheckedSpec:
    program: Program | None
    resolution: Resolution = field(default_factory=Resolution)
    decl_graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # The template files the spec uses, by display path: shown by diagnostics, never loaded as specs.
    templates: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.program is not None and not has_errors(self.diagnostics)

    def sources(self) -> dict[str, str]:
        return {**self.templates, **self.program.source_texts()} if self.program else {}


def check_spec(path: Path | str, overrides: list[str] | tuple[str, ...] = (),
               profiles: list[Path] | tuple[Path, ...] = (), grants: ReadGrants | None = None) -> CheckedSpec:
    """Load, override and check a spec; every phase's errors are collected before stopping.

    The spec reads only inside its project and what `grants` allow (see ragdsl.access).
    """
    with collector_paused():
        return _check(Path(path), overrides, profiles, grants)


def _check(path: Path, overrides: list[str] | tuple[str, ...], profiles: list[Path] | tuple[Path, ...],
           grants: ReadGrants | None) -> CheckedSpec:
    program, diagnostics = load_program(path, grants)
    if program is None:
        return CheckedSpec(None, diagnostics=sorted(diagnostics, key=sort_key))
    if program.root.display not in program.modules or has_errors(diagnostics):
        return CheckedSpec(program, diagnostics=_ordered(diagnostics))
    diagnostics += apply_overrides(program, list(overrides), list(profiles))
    if has_errors(diagnostics):
        return CheckedSpec(program, diagnostics=_ordered(diagnostics))
    resolution, found = check_program(program)
    diagnostics += found
    checked = not has_errors(found)
    graph, found = apply_rules(program, resolution) if checked else (nx.DiGraph(), [])
    diagnostics += found
    templates, found = check_templates(program, resolution) if checked else ({}, [])
    diagnostics += found
    return CheckedSpec(program, resolution, graph, _ordered(diagnostics), templates)


def _ordered(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = {(d.code, d.message, d.span): d for d in diagnostics}
    return sorted(unique.values(), key=sort_key)
