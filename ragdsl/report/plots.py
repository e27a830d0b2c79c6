"""Which plots a report has, from its data: metrics with CIs, metrics by fine-tuning sample size
per domain (the paper's bar charts), retrieval metrics, and training loss curves."""

from __future__ import annotations

from ragdsl.evaluate.scoring import kind_of
from ragdsl.report.data import Evaluation, Finetune, ReportData
from ragdsl.report.svg import Bar, bar_chart, line_chart


def plots(data: ReportData) -> list[tuple[str, str]]:
    """(caption, svg) pairs in a fixed order."""
    out = []
    for ev in data.evaluations:
        metrics = ev.summary.get("metrics") or []
        answer = [m for m in metrics if kind_of(m) != "retrieval"]
        retrieval = [m for m in metrics if kind_of(m) == "retrieval"]
        domain = ev.summary.get("questions") or ev.node
        if answer:
            out.append((f"{ev.node}: answer metrics (mean, 95% CI)", _by_metric(ev, answer, "answer quality")))
        if retrieval:
            out.append((f"{ev.node}: retrieval metrics (mean, 95% CI)", _by_metric(ev, retrieval, "retrieval")))
        tunes = data.finetunes.get(ev.node, {})
        if tunes:
            for metric in answer:
                out.append((f"{ev.node}: {metric} by fine-tuning sample size ({domain})",
                            _by_samples(ev, metric, tunes, domain)))
    tunes = [t for ev in data.evaluations for t in data.finetunes.get(ev.node, {}).values()]
    if any(t.train for t in tunes):
        out.append(("training loss", line_chart("training loss", [(t.system, t.train) for t in tunes], "step",
                                                "loss")))
    if any(t.eval for t in tunes):
        out.append(("held-out loss", line_chart("held-out (eval) loss", [(t.system, t.eval) for t in tunes], "step",
                                                "eval loss")))
    return out


def _by_metric(ev: Evaluation, metrics: list[str], what: str) -> str:
    estimates = ev.summary.get("estimates") or {}
    groups = [(m, [Bar(s, *_est(estimates[s].get(m))) for s in sorted(estimates)]) for m in metrics]
    return bar_chart(f"{ev.node}: {what}", groups, y_max=1.0)


def sample_size(system: str, tunes: dict[str, Finetune]) -> int:
    """The fine-tuning sample count of a system: 0 for a base model (not fine-tuned)."""
    tune = tunes.get(system)
    if tune is None:
        return 0
    samples = tune.outputs.get("samples")
    return int(samples) if isinstance(samples, int | float) else 0


def _by_samples(ev: Evaluation, metric: str, tunes: dict[str, Finetune], domain: str) -> str:
    estimates = ev.summary.get("estimates") or {}
    sizes: dict[int, list[Bar]] = {}
    for system in sorted(estimates):
        sizes.setdefault(sample_size(system, tunes), []).append(Bar(system, *_est(estimates[system].get(metric))))
    groups = [(("base" if n == 0 else f"{n} samples"), bars) for n, bars in sorted(sizes.items())]
    return bar_chart(f"{metric} by fine-tuning samples: {domain}", groups, y_label=metric, y_max=1.0)


def _est(e: dict | None) -> tuple[float | None, float | None, float | None]:
    if not e:
        return None, None, None
    return e.get("mean"), e.get("low"), e.get("high")
