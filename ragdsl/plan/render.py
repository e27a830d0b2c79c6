"""Renderings of a `Plan`: text for people, JSON as the contract, dot and mermaid for drawing.

The JSON form is documented in docs/plan-format.md; its `format` field is
bumped on any incompatible change.
"""

from __future__ import annotations

import json

from ragdsl.plan.cost import PlanCost, estimate_plan
from ragdsl.plan.fingerprint import IDENTITY_PREFIXES
from ragdsl.plan.planner import CACHED, REUSE, RUN, Plan

PLAN_FORMAT = "ragdsl.plan/1"


def to_json(plan: Plan, *, cost: PlanCost | None = None) -> str:
    return json.dumps(plan_dict(plan, cost=cost), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def plan_dict(plan: Plan, *, cost: PlanCost | None = None) -> dict:
    """The plan as JSON data; `cost` (ragdsl.plan.cost.estimate_plan) is estimated with default and cached
    rates and no store when not given."""
    cost = cost if cost is not None else estimate_plan(plan)
    return {
        "format": PLAN_FORMAT,
        "spec": plan.spec,
        "experiment": {"name": plan.experiment, "seed": plan.seed, "description": plan.description},
        "nodes": [
            {
                "id": a.node.id,
                "kind": a.node.kind,
                "declaration": a.node.decl,
                "axes": dict(a.node.axes),
                "action": a.op,
                "reason": a.reason,
                "detail": a.detail,
                "fingerprint": a.fingerprint.value,
                "params": a.node.params,
                "inputs": [{"role": i.role, "node": i.node} for i in a.node.inputs],
                "stages": [{"stage": s, "value": v} for s, v in a.node.stages],
                "data": [{"path": p, "sha256": h} for p, h in a.node.data if not p.startswith(IDENTITY_PREFIXES)],
                "identities": {p: h for p, h in a.node.data if p.startswith(IDENTITY_PREFIXES)},
                "pipeline": a.node.pipeline.to_json() if a.node.pipeline is not None else None,
                "weights": [{"use": w.use, "reference": w.reference, "source": w.locator,
                             "identity": w.identity, "status": w.status} for w in a.node.weights],
                "source": {"file": a.node.span.file, "line": a.node.span.line, "col": a.node.span.col},
                "cost": cost[a.node.id].to_json(),
            }
            for a in plan.actions
        ],
        "summary": {**summary_dict(plan), "estimate": cost.summary_json()},
    }


def summary_dict(plan: Plan) -> dict:
    counts = plan.counts()
    return {
        "nodes": len(plan.actions),
        "run": plan.to_run,
        "reuse": plan.reused,
        "cached": counts["cached"],
        "reasons": {k: v for k, v in counts.items() if v and k not in ("cached", "same as")},
    }


def summary_line(plan: Plan) -> str:
    s = summary_dict(plan)
    why = ", ".join(f"{v} {k}" for k, v in s["reasons"].items())
    reuse = f", {s['reuse']} reused (same work as another node)" if s["reuse"] else ""
    return f"{s['nodes']} nodes: {s['run']} to run" + (f" ({why})" if why else "") + reuse + f", {s['cached']} cached"


def to_text(plan: Plan, *, verbose: bool = True, cost: PlanCost | None = None) -> str:
    """The plan for people; verbose, each node that runs has a `cost` line and the plan ends with the estimate
    (`cost`, from ragdsl.plan.cost.estimate_plan, is estimated without a store when not given)."""
    if verbose and cost is None:
        cost = estimate_plan(plan)
    head = f"Plan for {plan.spec}"
    if plan.experiment:
        head += f" (experiment {plan.experiment}, seed {plan.seed})"
    lines = [head]
    if plan.description:
        lines.append(f"  {plan.description}")
    lines.append("")
    width = max((len(a.node.id) for a in plan.actions), default=0)
    nodes = {a.node.id: a.node for a in plan.actions}
    for a in plan.actions:
        mark = {RUN: "+", CACHED: "=", REUSE: "~"}[a.op]
        if a.op == CACHED:
            status = "cached"
        elif a.op == REUSE:
            status = f"reuse: same as {a.detail}"
        else:
            status = f"{a.op}: {a.reason}" + (f" ({a.detail})" if a.detail else "")
        lines.append(f"{mark} {a.node.id.ljust(width)}  {status}")
        if not verbose:
            continue
        lines.append(f"    fingerprint {a.fingerprint.short}  declared at {a.node.span.file}:{a.node.span.line}")
        staged = {s for s, _ in a.node.stages}
        if a.node.stages and a.node.kind == "rag":
            lines.append("    stages " + " -> ".join(f"{s}={v}" for s, v in a.node.stages))
        rest = [(k, v) for k, v in a.node.display if k not in staged or a.node.kind != "rag"]
        if rest:
            lines.append("    params " + "  ".join(f"{k}={v}" for k, v in rest))
        for w in a.node.weights:
            label = "data" if w.use == "data" else f"weights {w.use}"
            lines.append(f"    {label} {w.reference}: {w.locator}, {_short_identity(w.identity)}"
                         + ("" if w.status == "available" else f" ({w.status})"))
        if a.node.pipeline is not None and a.node.kind == "rag":
            lines.append("    haystack " + "\n             ".join(a.node.pipeline.render()))
        if a.node.kind == "finetune":
            lines.append("    training " + _training_estimate(a.node, nodes))
        if a.op == RUN and cost is not None:
            lines.append("    cost " + cost[a.node.id].text(cost.device))
        if a.node.inputs:
            lines.append("    inputs " + ", ".join(_input_text(i.role, i.node) for i in a.node.inputs))
    lines.append("")
    lines.append(summary_line(plan))
    if plan.to_run and cost is not None and verbose:  # --brief stays one line per node and the summary
        lines.append(cost.total_line())
    return "\n".join(lines) + "\n"


def _training_estimate(node, nodes: dict) -> str:
    """Examples, training tokens and time on this machine: an estimate from the plan (ragdsl.finetune.estimate)."""
    from ragdsl.finetune.estimate import current_device, estimate

    params = node.params
    data = nodes.get(params["data"]["node"])
    root = node
    while root.kind == "finetune" and root.params["base"]["node"] in nodes:
        root = nodes[root.params["base"]["node"]]
    model = next((w.reference for w in root.weights), "") or json.dumps(root.params.get("source", ""))
    device, cores = current_device()
    data_params = data.params if data is not None else {}
    kind = data.kind if data is not None else None  # questions, or a corpus for format = documents()
    return estimate(samples=params.get("samples"), train=data_params.get("train") if kind == "questions" else None,
                    epochs=params["epochs"], method=params["method"]["call"], fmt=params.get("format"),
                    model=model, device=device, cores=cores,
                    split=data_params.get("split") if kind == "corpus" else None).text()


def _short_identity(identity: str) -> str:
    kind, _, value = identity.partition(":")
    return f"{kind}:{value[:12]}" if kind == "sha256" else identity


def _input_text(role: str, node: str) -> str:
    return node if role.startswith("system:") else f"{role}={node}"


_SHAPES = {"corpus": "folder", "questions": "note", "index": "cylinder", "model": "box3d",
           "finetune": "component", "retrieve": "cds", "rag": "box", "evaluate": "hexagon", "report": "tab"}


def to_dot(plan: Plan) -> str:
    lines = ["digraph ragdsl {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    for a in plan.actions:
        style = "solid" if a.op == RUN else "dashed"  # dashed: nothing to compute
        label = f"{a.node.id}\\n{a.op}: {a.reason}"
        lines.append(f'  "{_esc(a.node.id)}" [shape={_SHAPES.get(a.node.kind, "box")}, style={style}, '
                     f'label="{_esc(label, keep_newlines=True)}"];')
    for a in plan.actions:
        for i in a.node.inputs:
            lines.append(f'  "{_esc(i.node)}" -> "{_esc(a.node.id)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(plan: Plan) -> str:
    ids = {a.node.id: f"n{i}" for i, a in enumerate(plan.actions)}
    lines = ["flowchart LR"]
    for a in plan.actions:
        text = a.node.id.replace('"', "'")
        lines.append(f'  {ids[a.node.id]}["{text}<br/>{a.op}: {a.reason}"]')
    for a in plan.actions:
        for i in a.node.inputs:
            lines.append(f"  {ids[i.node]} --> {ids[a.node.id]}")
    cached = [ids[a.node.id] for a in plan.actions if a.op != RUN]
    lines.append("  classDef cached stroke-dasharray: 5 5;")
    if cached:
        lines.append(f"  class {','.join(cached)} cached;")
    return "\n".join(lines) + "\n"


def _esc(text: str, keep_newlines: bool = False) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return out.replace("\\\\n", "\\n") if keep_newlines else out


RENDERERS = {"text": to_text, "json": to_json, "dot": to_dot, "mermaid": to_mermaid}
