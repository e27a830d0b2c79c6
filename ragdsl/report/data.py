"""Everything a report shows, gathered once from the report node's upstream results.

The renderers (Markdown, HTML) only format a ReportData; they read no files.
Fine-tunes follow the interface of the finetune runner: Result.outputs has
`method`, `samples`, `train_loss`, `eval_loss`, ... and `loss_curve` names a
JSON Lines file of {"step", "epoch", "loss", ...} (train) and {"step", "epoch",
"eval_loss"} (eval) rows in the node's artifact folder.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ragdsl._version import __version__

VERSIONED = ("torch", "transformers", "peft", "trl", "haystack-ai", "sentence-transformers", "scipy", "numpy")


@dataclass
class Evaluation:
    node: str
    fingerprint: str
    summary: dict  # the evaluate node's summary.json
    questions: list[dict]  # its questions.jsonl (drill-down)
    attribution: list[str]
    # Its system labels in the order the spec declares them, where the report node's params give it
    # (`systems`: {evaluation node: [names]}); empty otherwise. The first is the overview's reference.
    systems: list[str] = field(default_factory=list)


@dataclass
class Finetune:
    node: str
    system: str  # label of the system that generates with it
    fingerprint: str
    outputs: dict
    train: list[tuple[float, float]] = field(default_factory=list)  # (step, loss)
    eval: list[tuple[float, float]] = field(default_factory=list)  # (step, eval_loss)


@dataclass
class ReportData:
    title: str
    evaluations: list[Evaluation]
    finetunes: dict[str, dict[str, Finetune]]  # evaluation node -> system label -> fine-tune
    spec: list[tuple[str, str]]  # (file name, text)
    versions: list[tuple[str, str]]


def gather(ctx, title: str) -> ReportData:
    params = ctx.node.params
    order = params.get("systems") or {}
    evaluations = [_evaluation(ctx.results[n], order.get(n) or []) for n in params.get("from") or []]
    finetunes: dict[str, dict[str, Finetune]] = {}
    for eval_id, systems in sorted((params.get("finetunes") or {}).items()):
        for label, node in sorted(systems.items()):
            finetunes.setdefault(eval_id, {})[label] = load_finetune(ctx.results[node], label)
    return ReportData(title, evaluations, finetunes, spec_sources(ctx.files), versions())


def _evaluation(result, systems: list[str]) -> Evaluation:
    folder = Path(result.folder)
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    questions = _jsonl(folder / "questions.jsonl")
    credits = [line for line in (result.outputs.get("attribution") or "").splitlines() if line]
    return Evaluation(result.node, result.fingerprint, summary, questions, credits, list(systems))


def load_finetune(result, label: str) -> Finetune:
    found = Finetune(result.node, label, result.fingerprint, dict(result.outputs))
    curve = result.outputs.get("loss_curve")
    if curve:
        for row in _jsonl(Path(result.folder) / curve):
            if _is_number(row.get("loss")):
                found.train.append((float(row.get("step", len(found.train))), float(row["loss"])))
            if _is_number(row.get("eval_loss")):
                found.eval.append((float(row.get("step", len(found.eval))), float(row["eval_loss"])))
    return found


def spec_sources(files) -> list[tuple[str, str]]:
    """The spec files as they are when the report is written (registered by the expander, not hashed)."""
    out = []
    for key in sorted(k for k in files if isinstance(k, str) and k.startswith("spec:")):
        try:
            out.append((key[5:], Path(files[key]).read_text(encoding="utf-8")))
        except OSError:
            continue  # moved or deleted since compiling: the report still has the fingerprints
    return out


def versions() -> list[tuple[str, str]]:
    found = [("ragdsl", __version__), ("python", platform.python_version())]
    for name in VERSIONED:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return found


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a torn line of a hand-edited file: skip it rather than lose the report
    return rows


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
