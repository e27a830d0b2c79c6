"""The front end as one call: load, check, expand, plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ragdsl.access import ReadGrants
from ragdsl.collector import collector_paused
from ragdsl.diagnostics import Diagnostic
from ragdsl.execute.store import Store
from ragdsl.ir.expand import expand, experiment_seed
from ragdsl.ir.graph import ExperimentGraph
from ragdsl.ir.pipelines import attach_pipelines
from ragdsl.ir.weights import resolve_data_sources, resolve_weights
from ragdsl.plan.planner import Plan, plan_graph
from ragdsl.semantics import CheckedSpec, check_spec
from ragdsl.source import display_path


@dataclass
class Compilation:
    checked: CheckedSpec
    graph: ExperimentGraph | None = None
    plan: Plan | None = None
    resolution: list[Diagnostic] = field(default_factory=list)  # from resolving datasets and model weights

    @property
    def ok(self) -> bool:
        return self.checked.ok and self.plan is not None and not any(d.is_error for d in self.resolution)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.checked.diagnostics + self.resolution


def compile_spec(path: Path | str, overrides: list[str] | tuple[str, ...] = (),
                 store: Store | None = None, profiles: list[Path] | tuple[Path, ...] = (),
                 grants: ReadGrants | None = None) -> Compilation:
    checked = check_spec(path, overrides, profiles, grants)
    if not checked.ok:
        return Compilation(checked)
    program = checked.program
    assert program is not None
    experiment = program.experiment()
    description = experiment.get("description") if experiment else None
    with collector_paused():
        graph = expand(checked)
        resolution = resolve_data_sources(graph)
        resolution += resolve_weights(graph)
        attach_pipelines(graph)
        plan = plan_graph(
            graph, store,
            spec=display_path(Path(path).resolve()),
            experiment=experiment.name if experiment else Path(path).stem,
            seed=experiment_seed(checked),
            description=getattr(description.value, "value", "") if description else "",
        )
    return Compilation(checked, graph, plan, resolution)
