"""model node: make the weights available (fetch, verify, convert) and record which were used."""

from __future__ import annotations

from ragdsl.execute.context import NodeContext, NodeFailed, Output


def materialize_model(source, role: str, ctx: NodeContext, locate=None):
    """Resolve a model reference and make sure its weights are on disk; returns (resolved, folder).

    `locate` finds files the reference names (a `local()` folder); by default this node's own.
    """
    from ragdsl.models import ModelError, materialize, resolve_model

    try:
        resolved = resolve_model(source, role, locate or ctx.locate)
        if not resolved.available and not resolved.fetchable:
            raise NodeFailed(f"weights for '{resolved.reference}' are not available here", resolved.hint)
        folder = materialize(resolved, progress=ctx.note)
    except ModelError as exc:
        raise NodeFailed(str(exc), getattr(exc, "hint", "")) from exc
    return resolved, folder


def run(ctx: NodeContext) -> Output:
    params = ctx.node.params
    resolved, _ = materialize_model(params["source"], "generator", ctx)
    # Dependents re-resolve from `reference` (cheap once materialized) rather than
    # trusting a cache path recorded on another machine.
    return Output({"reference": params["source"], "source": resolved.source, "locator": resolved.locator,
                   "identity": resolved.identity, "precision": params.get("precision", "auto"),
                   "device": params.get("device", "auto"), "chat_template": params.get("chat_template", "auto")})


def base_model_info(result) -> dict:
    """What a model node's dependents need to find and run its weights, also through fine-tunes:
    its node id, reference, input files (for `local()`), and run settings."""
    if result.kind != "model":
        return dict(result.outputs["base_model"])
    out = result.outputs
    return {"node": result.node, "reference": out["reference"], "data": dict(sorted(result.data.items())),
            "chat_template": out.get("chat_template", "auto"), "precision": out.get("precision", "auto"),
            "device": out.get("device", "auto")}


def materialize_base(info: dict, ctx: NodeContext):
    """The folder of a base model described by `base_model_info`, from any node downstream of it."""
    data = info.get("data") or {}

    def locate(written: str):
        sha = data.get(written)
        if sha is None or sha not in ctx.files:
            raise NodeFailed(f"{info['node']} did not read a file named '{written}'")
        return ctx.files[sha]
    _, folder = materialize_model(info["reference"], "generator", ctx, locate)
    return folder
