"""Small helpers shared by the unit tests: write a spec and its data files."""

from __future__ import annotations

from pathlib import Path

DATA_FILES = {
    "data/passages.jsonl": '{"id": "p1", "text": "Insulin is made in the pancreas."}\n',
    "data/qa.jsonl": '{"id": "q1", "question": "Where is insulin made?", "answer": "the pancreas"}\n',
    "prompts/answer.jinja": "Answer: {{ question }}\n",
}

BASE = '''
experiment study { seed = 7 }
corpus docs { source = jsonl("data/passages.jsonl"); split = words(size = 100) }
questions qa { source = jsonl("data/qa.jsonl"); train = 10; test = 5 }
index idx { corpus = docs; embedder = "all-minilm-l6-v2" }
model base = "qwen2.5-0.5b-instruct"
model judge_model = "qwen2.5-1.5b-instruct"
'''


def write_project(root: Path, spec: str, name: str = "spec.rag", with_base: bool = True) -> Path:
    for rel, text in DATA_FILES.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    path = root / name
    path.write_text((BASE if with_base else "") + spec)
    return path


def isolate_weights(monkeypatch, tmp_path: Path) -> None:
    """No hub, an empty hub cache and an empty ragdsl cache: weights resolve alike on every machine.

    The plan's training-time estimates are for a fixed 2-core CPU, not this machine.
    """
    monkeypatch.setenv("RAGDSL_DEVICE", "cpu:2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))


def portable(plan: str) -> str:
    """Packaged weights are installed on some machines and fetched at run time on others: same identity."""
    return (plan.replace(" (fetched at run time)", "")
            .replace('"status": "fetched at run time"', '"status": "available"'))


# Seven short biomedical passages the backend tests index and search.
BACKEND_TEXTS = [
    "Insulin is a hormone made by beta cells in the pancreas.",
    "The heart is a muscle that circulates blood around the body.",
    "Chloroplasts carry out photosynthesis in plant cells.",
    "Hemoglobin in red blood cells carries oxygen to the tissues.",
    "The liver stores glycogen and produces bile for digestion.",
    "The kidneys filter blood and make urine.",
    "Blood pressure is the pressure of circulating blood on the walls of blood vessels.",
]
