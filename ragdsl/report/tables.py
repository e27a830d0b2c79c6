"""The report's tables as rows of strings, shared by the Markdown and HTML renderers."""

from __future__ import annotations

from ragdsl.report.data import Evaluation, Finetune


def estimate_text(e: dict | None) -> str:
    if not e or e.get("mean") is None:
        return "n/a"
    return f"{e['mean']:.3f} [{e['low']:.3f}, {e['high']:.3f}]"


def p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def summary_table(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    metrics = ev.summary.get("metrics") or []
    estimates = ev.summary.get("estimates") or {}
    header = ["system", "questions", *metrics]
    rows = []
    for system in sorted(estimates):
        counts = {e.get("n", 0) for e in estimates[system].values()}
        rows.append([system, "/".join(str(c) for c in sorted(counts)) or "0",
                     *[estimate_text(estimates[system].get(m)) for m in metrics]])
    return header, rows


def paired_table(ev: Evaluation) -> tuple[list[str], list[tuple[list[str], bool]]]:
    """Rows of (cells, significant)."""
    header = ["metric", "A", "B", "questions", "A - B [95% CI]", "p", "test"]
    rows = []
    for p in ev.summary.get("paired") or []:
        diff = "n/a" if p.get("diff") is None else f"{p['diff']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}]"
        rows.append(([p["metric"], p["a"], p["b"], str(p["n"]), diff, p_text(p.get("p")), p["test"]],
                     bool(p.get("significant"))))
    return header, rows


def judge_lines(ev: Evaluation) -> list[str]:
    judge = ev.summary.get("judge")
    if not judge:
        return []
    identity = str(judge.get("identity") or "")
    identity = identity[:19] if identity.startswith("sha256:") else identity  # sha256: and 12 hex digits
    lines = [f"Judge: {judge.get('model')} ({judge.get('reference')}, {identity}), temperature "
             f"{judge.get('temperature')}, seed {judge.get('seed')}, at most {judge.get('max_new_tokens')} tokens."]
    for metric, r in sorted((judge.get("rubrics") or {}).items()):
        lines.append(f"Rubric {metric}: version {r['version']}, scale {r['scale']} (reported as 0-1), "
                     f"sha256 {r['sha256'][:12]}.")
    bad = judge.get("unparseable") or {}
    per_metric = ", ".join(f"{m}: {n}" for m, n in sorted(bad.items()))
    lines.append(f"Unparseable judge replies: {sum(bad.values())} of {judge.get('judgments', 0)} ({per_metric}); "
                 "those answers have no judged score and are left out of its mean.")
    return lines


def agreement_table(ev: Evaluation) -> tuple[list[str], list[list[str]]]:
    header = ["judged metric", "vs", "answers", "Spearman", "Kendall tau"]
    rows = [[a["metric"], a["reference"], str(a["n"]), _num(a.get("spearman")), _num(a.get("kendall"))]
            for a in ev.summary.get("agreement") or []]
    return header, rows


def finetune_table(tunes: dict[str, Finetune]) -> tuple[list[str], list[list[str]]]:
    keys = ["method", "samples", "train_tokens", "train_loss", "eval_loss_before", "eval_loss", "tokens_per_s",
            "device"]
    header = ["system", *keys, "node"]
    rows = [[label, *[_num(t.outputs.get(k)) for k in keys], t.node] for label, t in sorted(tunes.items())]
    return header, rows


def fingerprint_rows(evaluations: list[Evaluation], tunes: dict[str, dict[str, Finetune]]) -> list[list[str]]:
    rows = []
    for ev in evaluations:
        rows.append([ev.node, ev.fingerprint[:12]])
        for label, fp in sorted((ev.summary.get("fingerprints") or {}).items()):
            rows.append([f"  {label}", fp[:12]])
        for t in sorted(tunes.get(ev.node, {}).values(), key=lambda t: t.node):
            rows.append([t.node, t.fingerprint[:12]])
    return rows


def _num(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
