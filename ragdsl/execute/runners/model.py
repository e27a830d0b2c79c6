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
