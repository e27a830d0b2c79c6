"""What running a plan will cost: each node's work, and its time on this machine.

For every node that runs, `work` counts what it will do: passages to read or embed,
queries, prompts and tokens to generate, judge calls, training tokens. A count comes
from the plan where the plan says it (a question set's `test`, a `limit`, `samples`),
else from the store (the recorded outputs of a cached upstream node), else from the
source itself where that is cheap (the lines of a local JSON Lines or CSV file) or
known (the catalog's datasets, KNOWN_SIZES), else it is *assumed* (DEFAULT_PASSAGES,
DEFAULT_QUESTIONS) and said so. Time is work over a rate for the work and model
(ragdsl.plan.rates: observed in earlier runs, measured by `ragdsl estimate --calibrate`,
or a documented default). Cached and reused nodes cost nothing; a node with a
checkpoint (ragdsl.execute.checkpoint) costs the part left to do.

Every number is an estimate; docs/cost.md says how each is made. Import-light: the
dry run computes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragdsl.finetune.estimate import PASSAGE_TOKENS, QA_TOKENS, TOKENS_PER_WORD
from ragdsl.finetune.estimate import estimate as training_estimate
from ragdsl.plan.planner import CACHED, REUSE, RUN, Action, Plan
from ragdsl.plan.rates import SETUP_S, Rate, Rates

if TYPE_CHECKING:
    from ragdsl.execute.store import Store
    from ragdsl.ir.nodes import Node

# Counts assumed when nothing says them (a source read only at run time).
DEFAULT_PASSAGES = 10_000
DEFAULT_QUESTIONS = 200
DEFAULT_CALIBRATION_CASES = 30  # a rubric's calibration file that cannot be read now
# Sizes of catalog datasets read whole (no filter): Factbook measured with `ragdsl data show factbook`;
# question counts of the others from their catalog entries (ragdsl.data.catalog).
KNOWN_SIZES: dict[str, dict[str, int]] = {
    "factbook": {"passages": 32_606, "questions": 2_533},
    "pubmedqa": {"questions": 1_000}, "covid_qa": {"questions": 1_380}, "squad_v1": {"questions": 10_570},
    "squad_v2": {"questions": 5_928}, "nq_open": {"questions": 3_610}, "qasper": {"questions": 1_005},
    "qasper_sample": {"questions": 45},
}
MAX_COUNTED_BYTES = 64 * 1024 * 1024  # larger local files are not read to count their lines
# Tokens in one prompt besides its passages: ragdsl's answer templates and a question (about 70 words).
PROMPT_TOKENS = 100
# A judge prompt with the built-in rubrics: 260 to 340 words (about 400 tokens) besides any contexts.
JUDGE_PROMPT_TOKENS = 400
JUDGE_MAX_NEW_TOKENS = 48  # the evaluate node's default judge_max_new_tokens
JUDGE_BATCH, JUDGE_CHUNK = 8, 32  # as ragdsl.execute.runners.evaluate judges (part of a calibration's cache key)
HISTORY_NODES = 2000  # finished nodes of the run database read for observed rates
# Shorter nodes say more about fixed costs (imports, loading) than about a rate: they are not observed.
MIN_OBSERVED_SECONDS = 5.0


@dataclass(frozen=True)
class Count:
    value: int
    source: str  # plan | store | file | catalog | assumed
    what: str = ""  # for an assumed count: what it counts

    @property
    def assumed(self) -> bool:
        return self.source == "assumed"


@dataclass(frozen=True)
class Part:
    """One kind of work of a node, timed at one rate."""

    work: str  # a key of ragdsl.plan.rates.DEFAULTS, or "train"
    model: str  # the model reference, or ""
    amount: float
    unit: str
    seconds: float
    rate: Rate

    def to_json(self) -> dict:
        return {"work": self.work, "model": self.model or None, "amount": _number(self.amount), "unit": self.unit,
                "seconds": round(float(self.seconds), 1), "rate": float(f"{self.rate.per_second:.6g}"),
                "source": self.rate.source, "observations": self.rate.n}


@dataclass(frozen=True)
class NodeCost:
    node: str
    kind: str
    op: str  # run | cached | reuse
    work: dict = field(default_factory=dict)
    parts: tuple[Part, ...] = ()
    assumed: tuple[str, ...] = ()  # what was counted with a default
    calls: int = 0  # model calls: prompts generated and judgments
    tokens: int = 0  # prompt and new tokens (an upper bound) of those calls, and training tokens
    done: str = ""  # "312/500 questions" when resumed from a checkpoint

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.parts)

    @property
    def main(self) -> Part | None:
        return max(self.parts, key=lambda p: p.seconds, default=None)

    @property
    def source(self) -> str:
        if self.op != RUN:
            return self.op
        return self.main.rate.source if self.main is not None else "default"

    def to_json(self) -> dict:
        main = self.main
        return {"work": self.work, "seconds": round(float(self.seconds), 1), "source": self.source,
                "observations": main.rate.n if main is not None else 0, "calls": self.calls, "tokens": self.tokens,
                "assumed": list(self.assumed), "parts": [p.to_json() for p in self.parts]}

    def text(self, device: str) -> str:
        """`20 prompts (~850 tokens each), ≤640 new tokens; ~3m on cpu (default)`."""
        if self.op != RUN:
            return "nothing to do" if self.op == CACHED else f"nothing to do ({self.op})"
        label = self.main.rate.label() if self.main is not None else "default"
        if self.assumed:
            label += "; assumed: " + "; ".join(self.assumed)
        done = f"{self.done} done, " if self.done else ""
        what = describe(self.kind, self.work)
        return (f"{what}; " if what else "") + f"{done}{about(self.seconds)} on {device} ({label})"


@dataclass(frozen=True)
class PlanCost:
    nodes: tuple[NodeCost, ...]
    device: str
    cores: int
    _by_id: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((n.node, n) for n in self.nodes)

    def __getitem__(self, node_id: str) -> NodeCost:
        return self._by_id[node_id]

    @property
    def seconds(self) -> float:
        return sum(n.seconds for n in self.nodes)

    @property
    def calls(self) -> int:
        return sum(n.calls for n in self.nodes)

    @property
    def tokens(self) -> int:
        return sum(n.tokens for n in self.nodes)

    @property
    def assumed(self) -> list[str]:
        return sorted({a for n in self.nodes for a in n.assumed})

    @property
    def running(self) -> list[NodeCost]:
        return [n for n in self.nodes if n.op == RUN]

    def amount(self, unit: str = "seconds") -> float:
        """The total in a budget's unit: seconds, calls or tokens."""
        return sum(_in_unit(n, unit) for n in self.nodes)

    def dominant(self, n: int = 3, unit: str = "seconds") -> list[tuple[NodeCost, float]]:
        """The n most expensive nodes (in `unit`) and their share of the total."""
        total = self.amount(unit)
        ranked = sorted(self.running, key=lambda c: -_in_unit(c, unit))[:n]
        return [(c, _in_unit(c, unit) / total if total else 0.0) for c in ranked if _in_unit(c, unit) > 0]

    def where(self) -> str:
        return f"{self.device} ({self.cores} cores)" if self.device == "cpu" else self.device

    def total_line(self) -> str:
        """`estimated time to run: ~2h10m on cpu (2 cores); dominated by rag.x 45%, evaluate.y 30%`."""
        line = f"estimated time to run: {about(self.seconds)} on {self.where()}"
        top = [(c, share) for c, share in self.dominant() if share >= 0.005]
        if top:
            line += "; dominated by " + ", ".join(f"{c.node} {share:.0%}" for c, share in top)
        if self.assumed:
            line += f" ({len(self.assumed)} count{'s' if len(self.assumed) != 1 else ''} assumed)"
        return line

    def summary_json(self) -> dict:
        return {"seconds": round(float(self.seconds), 1), "device": self.device, "cores": self.cores,
                "calls": self.calls, "tokens": self.tokens, "assumed": self.assumed,
                "nodes": [{"id": c.node, "seconds": round(float(c.seconds), 1), "share": round(share, 3)}
                          for c, share in self.dominant()]}


def _in_unit(cost: NodeCost, unit: str) -> float:
    return {"seconds": cost.seconds, "calls": cost.calls, "tokens": cost.tokens}[unit]


# -- estimating ------------------------------------------------------------------------------------------


def estimate_plan(plan: Plan, store: Store | None = None, rates: Rates | None = None,
                  files: Mapping[str, Path] | None = None) -> PlanCost:
    """The cost of every node of `plan`. `files` (content hash -> path, ExperimentGraph.files) lets counts
    read local sources; `store` gives cached upstream counts and checkpoints."""
    rates = rates if rates is not None else Rates.load()
    est = _Estimator(plan, store, rates, files or {})
    return PlanCost(tuple(est.node_cost(a) for a in plan.actions), rates.device, rates.cores)


# A part as a kind's function describes it: (work, model, amount, unit[, default rate]).
Spec = tuple


@dataclass
class _Work:
    work: dict = field(default_factory=dict)
    parts: list[Spec] = field(default_factory=list)
    calls: int = 0
    tokens: int = 0


class _Estimator:
    def __init__(self, plan: Plan, store: Store | None, rates: Rates, files: Mapping[str, Path]):
        self.plan, self.store, self.rates, self.files = plan, store, rates, files
        self.actions = {a.node.id: a for a in plan.actions}
        self.assumed: list[str] = []
        self.calibrations: set[str] = set()  # calibration cache keys counted earlier in this plan

    def node_cost(self, action: Action) -> NodeCost:
        node = action.node
        if action.op != RUN:
            return NodeCost(node.id, node.kind, action.op)
        self.assumed = []
        try:
            found = KIND_COSTS.get(node.kind, lambda est, n: _Work())(self, node)
        except Exception:  # noqa: BLE001 - an estimate never stops a plan; RAGDSL_DEBUG=1 shows why
            import os

            if os.environ.get("RAGDSL_DEBUG"):
                raise
            found = _Work()
            self.assumed.append("no estimate for this node (unexpected parameters)")
        remaining, done = self._remaining(action)
        parts = []
        for spec in found.parts:
            work, model, amount, unit = spec[:4]
            rate = self.rates.lookup(work, model, default=spec[4] if len(spec) > 4 else None)
            left = amount * remaining
            seconds = left / rate.per_second if rate.per_second > 0 else 0.0
            if left > 0:
                seconds += SETUP_S.get(work, 0.0)
            parts.append(Part(work, model, left, unit, seconds, rate))
        if done:
            found.work["done"] = done
        return NodeCost(node.id, node.kind, RUN, found.work, tuple(parts), tuple(dict.fromkeys(self.assumed)),
                        round(found.calls * remaining), round(found.tokens * remaining), done)

    def _remaining(self, action: Action) -> tuple[float, str]:
        """The share of the node still to do, from its checkpoint's progress (1.0 without one)."""
        if self.store is None:
            return 1.0, ""
        try:
            from ragdsl.execute.checkpoint import read_progress

            progress = read_progress(self.store.root, action.fingerprint.value)
        except Exception:  # noqa: BLE001 - an estimate never fails a command
            return 1.0, ""
        if not progress or not progress.get("total"):
            return 1.0, ""
        done, total = progress["done"], progress["total"]
        if not (0 < done <= total):
            return 1.0, ""
        return 1.0 - done / total, f"{done}/{total} {progress.get('unit') or ''}".rstrip()

    # -- counts ---------------------------------------------------------------------------------------

    def node(self, node_id: str) -> Node | None:
        action = self.actions.get(node_id)
        return action.node if action is not None else None

    def outputs(self, node_id: str) -> dict | None:
        """The recorded outputs of a cached node (or of the node a reused one stands for)."""
        action = self.actions.get(node_id)
        if action is not None and action.op == REUSE:
            action = self.actions.get(action.detail)
        if action is None or action.op != CACHED or self.store is None:
            return None
        record = self.store.result(action.fingerprint.value) or {}
        outputs = record.get("outputs")
        return outputs if isinstance(outputs, dict) else None

    def assume(self, value: int, what: str) -> Count:
        noun, _, rest = what.partition(" ")
        self.assumed.append(f"{value:,} {noun[:-1] if value == 1 and noun.endswith('s') else noun} {rest}".rstrip())
        return Count(value, "assumed", what)

    def passages(self, corpus_id: str) -> Count:
        """Passages a corpus node gives."""
        found = (self.outputs(corpus_id) or {}).get("passages")
        if isinstance(found, int):
            return Count(found, "store")
        node = self.node(corpus_id)
        if node is None:
            return self.assume(DEFAULT_PASSAGES, f"passages in {corpus_id}")
        params = node.params
        limit, split = params.get("limit"), params.get("split")
        documents = self.source_size(node, "passages")
        if documents is None:
            if limit and not split:
                return Count(limit, "plan")
            return self.assume(DEFAULT_PASSAGES, f"passages in {corpus_id}")
        value = min(documents.value, limit) if limit else documents.value
        if split:  # at least one passage per document; how many more depends on the text
            return self.assume(value, f"passages in {corpus_id}, one per document before splitting")
        return Count(value, documents.source)

    def questions(self, ref: object, limit: object = None) -> Count:
        """Questions of a part (`{"node", "part"}`) of a questions node, at most `limit`."""
        count = self._questions(ref)
        if isinstance(limit, int) and limit > 0 and limit < count.value:
            return Count(limit, "plan")
        return count

    def _questions(self, ref: object) -> Count:
        if not isinstance(ref, dict) or "node" not in ref:
            return self.assume(DEFAULT_QUESTIONS, "questions")
        node_id, part = ref["node"], ref.get("part") or "all"
        found = (self.outputs(node_id) or {}).get({"test": "test", "train": "train"}.get(part, "questions"))
        if isinstance(found, int):
            return Count(found, "store")
        node = self.node(node_id)
        what = f"questions in {node_id}" + (f" ({part})" if part != "all" else "")
        if node is None or node.kind != "questions":
            return self.assume(DEFAULT_QUESTIONS, what)
        test, train = node.params.get("test"), node.params.get("train") or 0
        if part == "test" and isinstance(test, int) and _is_count(test):
            return Count(test, "plan")
        if part == "train" and _is_count(train):
            return Count(int(train), "plan")
        total = self.source_size(node, "questions") or self.assume(DEFAULT_QUESTIONS, f"questions in {node_id}")
        n_train = round(train * total.value) if isinstance(train, float) and train < 1 else int(train)
        value = {"train": n_train, "test": total.value - n_train}.get(part, total.value)
        return Count(max(0, value), total.source, total.what)

    def source_size(self, node: Node, what: str) -> Count | None:
        """Records in a corpus or questions node's source, where known without reading it through."""
        source = node.params.get("source") or {}
        call, args = source.get("call"), source.get("args") or {}
        name = None
        if call == "factbook" and args.get("release", "2025") == "2025":
            name = "factbook" if not any(v for k, v in args.items() if k != "release") else None
        elif call == "dataset":
            name = args.get("name") if not any(v for k, v in args.items() if k != "name") else None
        known = KNOWN_SIZES.get(name or "", {}).get(what)
        if known is not None:
            return Count(known, "catalog")
        if call in ("jsonl", "csv"):
            lines = self._lines(node, args.get("path"))
            if lines is not None:
                return Count(max(0, lines - (1 if call == "csv" else 0)), "file")
        return None

    def _lines(self, node: Node, path: object) -> int | None:
        written = path.get("file") if isinstance(path, dict) else path
        if not isinstance(written, str):
            return None
        found = self.locate(node, written)
        try:
            if found is None or found.stat().st_size > MAX_COUNTED_BYTES:
                return None
            return sum(1 for line in found.read_bytes().splitlines() if line.strip())
        except OSError:
            return None

    def locate(self, node: Node, written: str) -> Path | None:
        sha = dict(node.data).get(written)
        if sha is not None and sha in self.files:
            return Path(self.files[sha])
        candidate = Path(str(node.span.file)).parent / written
        return candidate if candidate.is_file() else None

    # -- models ---------------------------------------------------------------------------------------

    def model_ref(self, ref: object) -> str:
        """The reference of the weights a value names: a string, a constructor, or a model/finetune node."""
        from ragdsl.lower.spec import model_reference

        seen = 0
        while isinstance(ref, dict) and "node" in ref and seen < 32:
            node = self.node(str(ref["node"]))
            if node is None:
                return str(ref["node"])
            if node.kind == "model":
                ref = node.params.get("source")
            elif node.kind == "finetune":
                ref = node.params.get("base")
            else:
                return node.id
            seen += 1
        try:
            return model_reference(ref)
        except (KeyError, TypeError, ValueError):
            return json.dumps(ref, sort_keys=True)


# -- the work of each kind --------------------------------------------------------------------------------


def _corpus(est: _Estimator, node: Node) -> _Work:
    n = est.passages(node.id)
    return _Work({"passages": n.value}, [("read", "", n.value, "passages")])


def _questions(est: _Estimator, node: Node) -> _Work:
    n = est.questions({"node": node.id, "part": "all"})
    return _Work({"questions": n.value}, [("questions", "", n.value, "questions")])


def _index(est: _Estimator, node: Node) -> _Work:
    n = est.passages(node.params["corpus"]["node"])
    embedder = node.params.get("embedder")
    if embedder is None:
        return _Work({"passages": n.value, "embedder": None}, [("bm25", "", n.value, "passages")])
    model = est.model_ref(embedder)
    return _Work({"passages": n.value, "embedder": model}, [("embed", model, n.value, "passages")])


def _model(est: _Estimator, node: Node) -> _Work:
    status = node.weights[0].status if node.weights else "available"
    if status == "fetched at run time":
        return _Work({"weights": status}, [("fetch", "", 1, "models")])
    return _Work({"weights": status})


def _finetune(est: _Estimator, node: Node) -> _Work:
    params = node.params
    data = est.node(params["data"]["node"])
    fmt = params.get("format") or {}
    documents = fmt.get("call") == "documents"
    samples = params.get("samples")
    if samples is None:
        samples = (est.passages(data.id) if documents else est.questions(params["data"])).value \
            if data is not None else est.assume(DEFAULT_QUESTIONS, "training examples").value
    model = est.model_ref(params["base"])
    method = params["method"]["call"]
    found = training_estimate(samples=samples, train=None, epochs=params["epochs"], method=method, fmt=fmt,
                              model=model, device=est.rates.device, cores=est.rates.cores,
                              split=data.params.get("split") if data is not None and data.kind == "corpus" else None)
    tokens = found.tokens or 0
    default = Rate(tokens / found.seconds if found.seconds else 1.0, "training tokens", "default", 0,
                   "ragdsl.finetune.estimate (docs/finetuning.md)")
    return _Work({"examples": samples, "training_tokens": tokens},
                 [("train", f"{model} {method}", tokens, "training tokens", default)], tokens=tokens)


def _leaves(retriever: dict) -> list[dict]:
    if retriever.get("call") == "hybrid":
        return [leaf for item in retriever.get("items") or [] for leaf in _leaves(item)]
    return [retriever]


def _top_k(retrieve: Node | None) -> int:
    """Passages a retrieve node hands to each prompt."""
    if retrieve is None:
        return 0
    rerank = retrieve.params.get("rerank")
    if rerank:
        return int(rerank["args"].get("top_k") or 5)
    return int((retrieve.params.get("retrieve") or {}).get("args", {}).get("top_k") or 10)


def _retrieve(est: _Estimator, node: Node) -> _Work:
    params = node.params
    queries = est.questions(params["questions"], params.get("limit")).value
    parts: list[Spec] = []
    loaded: set[str] = set()
    searched = 0
    for leaf in _leaves(params.get("retrieve") or {}):
        index = est.node(str((leaf.get("args", {}).get("index") or {}).get("node", "")))
        if index is None:
            continue
        passages = est.passages(index.params["corpus"]["node"]).value
        server = index.params["store"]["call"] != "memory"
        searched += passages
        if leaf.get("call") == "dense":
            parts.append(("dense_search", est.model_ref(index.params.get("embedder")), queries, "queries"))
        elif server:
            parts.append(("es_search", "", queries, "queries"))
        else:
            parts.append(("bm25_search", "", queries * passages, "passage scores"))
        if not server and index.id not in loaded:
            loaded.add(index.id)
            parts.append(("load", "", passages, "passages"))
    rerank = params.get("rerank")
    if rerank:
        candidates = int((params.get("retrieve") or {}).get("args", {}).get("top_k") or 10)
        parts.append(("rerank", est.model_ref(rerank["args"]["model"]), queries * candidates, "pairs"))
    return _Work({"queries": queries, "passages_searched": searched}, parts)


def _passage_tokens(est: _Estimator, retrieve: Node | None) -> int:
    """Tokens in one retrieved passage: words(size = N) splits give 1.3 N, otherwise PASSAGE_TOKENS."""
    for leaf in _leaves((retrieve.params.get("retrieve") or {}) if retrieve is not None else {}):
        index = est.node(str((leaf.get("args", {}).get("index") or {}).get("node", "")))
        corpus = est.node(index.params["corpus"]["node"]) if index is not None else None
        split = (corpus.params.get("split") or {}) if corpus is not None else {}
        if split.get("call") == "words" and split.get("args", {}).get("size"):
            return round(TOKENS_PER_WORD * int(split["args"]["size"]))
    return PASSAGE_TOKENS


def _rag(est: _Estimator, node: Node) -> _Work:
    params = node.params
    prompts = est.questions(params["questions"], params.get("limit")).value
    contexts = next((est.node(i.node) for i in node.inputs if i.role == "contexts"), None)
    examples = params.get("examples") or {}
    each = (PROMPT_TOKENS + _top_k(contexts) * _passage_tokens(est, contexts)
            + int((examples.get("args") or {}).get("k") or 0) * QA_TOKENS)
    new = prompts * int(params.get("max_new_tokens") or 0)
    model = est.model_ref(params["generate"])
    return _Work({"prompts": prompts, "prompt_tokens": prompts * each, "new_tokens_max": new},
                 [("generate", model, prompts, "prompts")], calls=prompts, tokens=prompts * each + new)


def _evaluate(est: _Estimator, node: Node) -> _Work:
    from ragdsl.evaluate.rubric import JUDGED

    params = node.params
    answers = 0
    for rag_id in (params.get("systems") or {}).values():
        rag = est.node(rag_id)
        count = est.questions(rag.params["questions"], rag.params.get("limit")) if rag is not None else \
            est.questions(params.get("questions"))
        answers += min(count.value, params["limit"]) if params.get("limit") else count.value
    judged = [m for m in params.get("metrics") or [] if m in JUDGED]
    ref = params.get("judge")
    judges = sorted(ref if isinstance(ref, list) else [ref] if ref else [], key=lambda r: r["node"])
    work = _Work({"answers": answers, "judge_calls": 0, "calibration_calls": 0})
    max_new = int(params.get("judge_max_new_tokens") or JUDGE_MAX_NEW_TOKENS)
    for judge in judges if judged else []:
        calls = answers * len(judged)
        calibration = sum(_calibration_cases(est, node, judge, m) for m in judged)
        work.work["judge_calls"] += calls
        work.work["calibration_calls"] += calibration
        work.parts.append(("judge", est.model_ref(judge), calls + calibration, "judgments"))
        work.calls += calls + calibration
        work.tokens += (calls + calibration) * (JUDGE_PROMPT_TOKENS + max_new)
    if "semantic_similarity" in (params.get("metrics") or []):
        model = est.model_ref(params.get("similarity_model") or "all-minilm-l6-v2")
        work.work["similarity_answers"] = answers
        work.parts.append(("similarity", model, answers, "answers"))
    return work


def _calibration_cases(est: _Estimator, node: Node, judge: dict, metric: str) -> int:
    """Calibration cases the judge will score for `metric`: 0 when its replies are cached (or judged by
    an earlier node of this plan), as the evaluate runner decides (its cache key is rebuilt here)."""
    params = node.params
    if metric not in (params.get("calibrations") or {}):
        return 0
    from ragdsl.evaluate import calibration as cal
    from ragdsl.evaluate.judge import build_prompt
    from ragdsl.evaluate.rubric import BUILTIN, builtin_rubric, parse_rubric

    try:
        rubric, folder = builtin_rubric(metric), BUILTIN
        if params.get("rubric"):
            path = est.locate(node, params["rubric"]["file"])
            custom = parse_rubric(path.read_text(encoding="utf-8")) if path is not None else None
            if custom is not None and custom.name == metric:
                rubric, folder = custom, path.parent  # type: ignore[union-attr]
        found = cal.calibration_path(rubric, folder)
        if found is None:
            return 0
        calibration = cal.load_calibration(found, rubric)
    except Exception:  # noqa: BLE001 - unreadable here: the run will say why; count a typical file
        return DEFAULT_CALIBRATION_CASES
    cases = len(calibration.cases)
    model = est.node(judge["node"])
    identity = model.weights[0].identity if model is not None and model.weights else ""
    if not identity:
        return cases
    seed = params["judge_seed"] if params.get("judge_seed") is not None else params.get("seed", est.plan.seed)
    settings = {"chat_template": model.params.get("chat_template", "auto"),  # type: ignore[union-attr]
                "precision": model.params.get("precision", "auto"),  # type: ignore[union-attr]
                "device": model.params.get("device", "auto"),  # type: ignore[union-attr]
                "max_new_tokens": params.get("judge_max_new_tokens") or JUDGE_MAX_NEW_TOKENS,
                "temperature": float(params.get("judge_temperature") or 0.0), "seed": seed,
                "batch_size": JUDGE_BATCH, "chunk": JUDGE_CHUNK}
    prompts = [build_prompt(rubric, case.item()) for case in calibration.cases]
    material = cal.key_material(identity, rubric, calibration, settings, prompts)
    key = cal.cache_key(material)
    if key in est.calibrations:
        return 0
    est.calibrations.add(key)
    return 0 if cal.default_cache().get(key, material, cases) is not None else cases


def _report(est: _Estimator, node: Node) -> _Work:
    return _Work({"evaluations": len(node.params.get("from") or [])}, [("report", "", 1, "reports")])


KIND_COSTS: dict[str, Callable[[_Estimator, Node], _Work]] = {
    "corpus": _corpus, "questions": _questions, "index": _index, "model": _model, "finetune": _finetune,
    "retrieve": _retrieve, "rag": _rag, "evaluate": _evaluate, "report": _report,
}


# -- text ----------------------------------------------------------------------------------------------


def describe(kind: str, work: dict) -> str:
    """The work in words: `20 prompts (~850 tokens each), ≤640 new tokens`."""
    w = work
    if kind == "corpus":
        return f"{_plural(w['passages'], 'passage')} to read"
    if kind == "questions":
        return f"{_plural(w['questions'], 'question')} to read"
    if kind == "index":
        how = f"embed with {w['embedder']}" if w.get("embedder") else "index (BM25, no embedder)"
        return f"{_plural(w['passages'], 'passage')} to {how}"
    if kind == "model":
        return {"fetched at run time": "weights to fetch",
                "missing": "weights missing here (the run stops at this node)"}.get(
                    w.get("weights", ""), "weights available, nothing to fetch")
    if kind == "finetune":
        return f"{_plural(w['examples'], 'example')}, ~{compact(w['training_tokens'])} training tokens"
    if kind == "retrieve":
        return f"{_plural(w['queries'], 'query').replace('querys', 'queries')} over " \
               f"{_plural(w['passages_searched'], 'passage')}"
    if kind == "rag":
        each = w["prompt_tokens"] // w["prompts"] if w["prompts"] else 0
        return f"{_plural(w['prompts'], 'prompt')} (~{compact(each)} tokens each), " \
               f"≤{compact(w['new_tokens_max'])} new tokens"
    if kind == "evaluate":
        parts = []
        if w.get("judge_calls") or w.get("calibration_calls"):
            calibration = f" + {w['calibration_calls']:,} calibration" if w.get("calibration_calls") else ""
            parts.append(f"{_plural(w['judge_calls'], 'judge call')}{calibration}")
        if w.get("similarity_answers"):
            parts.append(f"{_plural(w['similarity_answers'], 'answer')} to embed")
        return ", ".join(parts) or f"{_plural(w['answers'], 'answer')} to score"
    return ""


def about(seconds: float) -> str:
    """`~12m`, or `<1s`."""
    return "<1s" if seconds < 0.5 else f"~{approx_duration(seconds)}"


def approx_duration(seconds: float) -> str:
    """Rounded as an estimate deserves: `40s`, `12m`, `1h05m`."""
    if seconds < 59.5:
        return f"{max(1, round(seconds))}s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def compact(n: float) -> str:
    n = int(round(n))
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


# -- learning rates from earlier runs -----------------------------------------------------------------------


def learn_from_store(rates: Rates, store: Store) -> int:
    """Fold the finished nodes of the store's run database into `rates` (in memory; `rates.save()` keeps
    them). Each node counts once (by fingerprint). Returns how many observations were added."""
    import sqlite3
    from urllib.parse import quote

    path = store.root / "runs.sqlite"
    if not path.is_file():
        return 0
    # Read only, and without a write-ahead log pending (the usual state once runs end) as an immutable
    # file: SQLite then creates no -wal/-shm files beside it, so a dry run leaves the store as it was.
    pending = path.with_name(path.name + "-wal").exists()
    try:
        conn = sqlite3.connect(f"file:{quote(path.resolve().as_posix())}?mode=ro" + ("" if pending else "&immutable=1"),
                               uri=True, timeout=2.0)
        try:
            rows = conn.execute(
                "SELECT kind, fingerprint, seconds FROM nodes WHERE status = 'done' AND op = 'run' AND seconds > 0 "
                "ORDER BY started_at DESC LIMIT ?", (HISTORY_NODES,)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # a damaged or busy database: no observations this time
    added = 0
    for kind, fingerprint, seconds in rows:
        if rates.seen(fingerprint):
            continue
        record = store.result(fingerprint)
        found = _observation(kind, record, store) if isinstance(record, dict) else None
        if found is None:
            continue
        work, model, amount, unit, node_seconds = found
        took = node_seconds or seconds
        if took >= MIN_OBSERVED_SECONDS and took - SETUP_S.get(work, 0.0) > 0:  # the estimate adds the setup back
            added += rates.observe(work, model, amount, took - SETUP_S.get(work, 0.0), unit=unit, key=fingerprint)
    return added


def _observation(kind: str, record: dict, store: Store) -> tuple[str, str, float, str, float | None] | None:
    """(work, model, amount, unit, seconds or None for the node's) of a finished node, from its record."""
    from ragdsl.lower.spec import model_reference

    found = record.get("outputs")
    out: dict = found if isinstance(found, dict) else {}
    inputs = [i for i in record.get("inputs") or [] if isinstance(i, list) and len(i) == 2]

    def upstream(role: str) -> list[dict]:
        return [(store.result(fp) or {}).get("outputs") or {} for r, fp in inputs if r == role]

    def reference(outputs: dict) -> str | None:
        ref = outputs.get("reference", (outputs.get("base_model") or {}).get("reference"))
        try:
            return model_reference(ref) if ref is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    try:
        if kind == "corpus" and _is_count(out.get("passages")):
            return "read", "", out["passages"], "passages", None
        if kind == "questions" and _is_count(out.get("questions")):
            return "questions", "", out["questions"], "questions", None
        if kind == "index" and _is_count(out.get("passages")):
            embedder = out.get("embedder")
            if embedder is None:
                return "bm25", "", out["passages"], "passages", None
            return "embed", model_reference(embedder), out["passages"], "passages", None
        if kind == "rag" and _is_count(out.get("questions")):
            generators = upstream("generator")
            model = reference(generators[0]) if len(generators) == 1 else None
            return ("generate", model, out["questions"], "prompts", None) if model else None
        if kind == "evaluate" and out.get("judge_seconds"):
            judges = upstream("judge")
            model = reference(judges[0]) if len(judges) == 1 else None
            amount = int(out.get("judgments") or 0) + int(out.get("calibration_judgments") or 0)
            return ("judge", model, amount, "judgments", float(out["judge_seconds"])) if model else None
        if kind == "finetune" and _is_count(out.get("train_tokens")):
            model = reference(out)
            return ("train", f"{model} {out.get('method')}", out["train_tokens"], "training tokens", None) \
                if model else None
    except (KeyError, TypeError, ValueError):
        return None
    return None


# -- from the command line ----------------------------------------------------------------------------------


def estimate_compilation(compilation, store: Store | None) -> PlanCost:
    """The plan's cost with this machine's rates, refined (in memory) by the store's earlier runs."""
    rates = Rates.load()
    if store is not None:
        learn_from_store(rates, store)
    return estimate_plan(compilation.plan, store, rates, compilation.graph.files)


def remember_runs(store: Store) -> int:
    """Keep what the store's finished nodes say about this machine's rates in the rates file."""
    rates = Rates.load()
    added = learn_from_store(rates, store)
    if added:
        rates.save()
    return added


BUDGET_UNITS = {"h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
                "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
                "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0}
_QUANTITY_UNITS = {"token": "tokens", "tokens": "tokens", "call": "calls", "calls": "calls"}
BUDGET_HELP = "a duration (90m, 2h, 1h30m, 3600s) or a quantity (200000tokens, 200k tokens, 500calls)"


@dataclass(frozen=True)
class Budget:
    amount: float
    unit: str  # seconds | tokens | calls

    def show(self) -> str:
        """The budget as given back: `1h30m`, `200k tokens`."""
        return _exact_duration(self.amount) if self.unit == "seconds" else f"{compact(self.amount)} {self.unit}"

    def estimate(self, amount: float) -> str:
        """An estimate in the budget's unit: `~1h05m`, `~450k tokens`."""
        return about(amount) if self.unit == "seconds" else f"~{compact(amount)} {self.unit}"


def parse_budget(text: str) -> Budget:
    """`90m`, `2h`, `1h30m`, `3600s`, `200000tokens`, `200k tokens`, `1.5M tokens`, `500calls`.

    Raises ValueError with a message that says what is accepted."""
    import re

    raw = text.strip().lower().replace("_", "").replace(",", "")
    quantity = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([km]?)\s*([a-z]+)", raw)
    if quantity and quantity.group(3) in _QUANTITY_UNITS:
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[quantity.group(2)]
        amount = float(quantity.group(1)) * scale
        budget = Budget(amount, _QUANTITY_UNITS[quantity.group(3)])
    else:
        pieces = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", raw)
        if not pieces or re.sub(r"(\d+(?:\.\d+)?)\s*([a-z]+)", "", raw).strip() or \
                any(unit not in BUDGET_UNITS for _, unit in pieces):
            hint = " (give a unit)" if re.fullmatch(r"\d+(?:\.\d+)?", raw) else ""
            raise ValueError(f"--budget {text!r} is not {BUDGET_HELP}{hint}")
        budget = Budget(sum(float(n) * BUDGET_UNITS[unit] for n, unit in pieces), "seconds")
    if budget.amount <= 0:
        raise ValueError(f"--budget {text!r} must be more than zero")
    return budget


def over_budget(cost: PlanCost, budget: Budget) -> str | None:
    """Why the plan does not fit the budget (its estimate and the nodes that dominate it), or None."""
    total = cost.amount(budget.unit)
    if total <= budget.amount:
        return None
    where = f" on {cost.where()}" if budget.unit == "seconds" else ""
    lines = [f"the estimate, {budget.estimate(total)}{where}, exceeds the budget of {budget.show()}; nothing was run"]
    top = cost.dominant(3, budget.unit)
    if top:
        lines.append("  dominated by " + ", ".join(f"{c.node} {budget.estimate(_in_unit(c, budget.unit))} ({share:.0%})"
                                                   for c, share in top))
    if cost.assumed:
        lines.append(f"  counted with assumed sizes: {', '.join(cost.assumed)}")
    return "\n".join(lines)


def _exact_duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


# -- calibration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A model whose rate a calibration measures."""

    work: str  # generate | judge | embed | similarity (ragdsl.plan.rates.BENCHES)
    model: str  # the reference rates are keyed by
    source: object  # what ragdsl.models.resolve_model reads
    role: str  # generator | embedder
    settings: dict
    locate: Callable[[str], Path] | None = None


def calibration_targets(plan: Plan, files: Mapping[str, Path] | None = None) -> list[Target]:
    """The (work, model) pairs of a plan that a calibration can measure: generators, judges, embedders."""
    est = _Estimator(plan, None, Rates({}), files or {})
    found: dict[tuple[str, str], Target] = {}

    def add(work: str, ref: object, role: str, settings: dict) -> None:
        model = est.model_ref(ref)
        source, locate = ref, None
        node = est.node(str(ref["node"])) if isinstance(ref, dict) and "node" in ref else None
        while node is not None and node.kind == "finetune":  # a fine-tune generates about as fast as its base
            node = est.node(str(node.params["base"]["node"]))
        if node is not None and node.kind == "model":
            source = node.params["source"]
            settings = {k: node.params.get(k, "auto") for k in ("chat_template", "precision", "device")} | settings
            locate = _locator(est, node)
        found.setdefault((work, model), Target(work, model, source, role, settings, locate))

    for action in plan.actions:
        node, params = action.node, action.node.params
        if node.kind == "rag":
            add("generate", params["generate"], "generator", {"max_new_tokens": params.get("max_new_tokens")})
        elif node.kind == "index" and params.get("embedder") is not None:
            add("embed", params["embedder"], "embedder", {"batch_size": params.get("batch_size", 32)})
        elif node.kind == "evaluate":
            from ragdsl.evaluate.rubric import JUDGED

            ref = params.get("judge")
            if any(m in JUDGED for m in params.get("metrics") or []):
                for judge in ref if isinstance(ref, list) else [ref] if ref else []:
                    add("judge", judge, "generator",
                        {"max_new_tokens": params.get("judge_max_new_tokens") or JUDGE_MAX_NEW_TOKENS})
            if "semantic_similarity" in (params.get("metrics") or []):
                add("similarity", params.get("similarity_model") or "all-minilm-l6-v2", "embedder", {})
    return list(found.values())


def _locator(est: _Estimator, node: Node) -> Callable[[str], Path]:
    def locate(written: str) -> Path:
        found = est.locate(node, written)
        if found is None:
            raise FileNotFoundError(written)
        return found
    return locate


def _weights(target: Target) -> Path:
    from ragdsl.models import materialize, resolve_model

    resolved = resolve_model(target.source, target.role, target.locate or Path)  # type: ignore[arg-type]
    if not resolved.available and not resolved.fetchable:
        raise ValueError(f"weights for '{resolved.reference}' are not available here")
    return Path(materialize(resolved))


def calibrate_plan(compilation, *, force: bool = False, rates: Rates | None = None,
                   benches: Mapping[str, Callable[[Path, dict], tuple[int, float]]] | None = None,
                   weights: Callable[[Target], Path] = _weights):
    """Measure the rate of each model of the plan without one (all with `force`), keep them in the rates
    file, and yield a line per model saying what was done."""
    import os

    from ragdsl.plan.rates import BENCHES

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # as `ragdsl run` does
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    rates = rates if rates is not None else Rates.load()
    benches = benches if benches is not None else BENCHES
    for target in calibration_targets(compilation.plan, compilation.graph.files):
        label = f"{target.work} with {target.model}"
        if rates.measured(target.work, target.model) and not force:
            rate = rates.lookup(target.work, target.model)
            yield f"{label}: measured before ({_rate_text(rate)}); --force measures again"
            continue
        try:
            folder = weights(target)
            amount, seconds = benches[target.work](folder, target.settings)
        except Exception as exc:  # noqa: BLE001 - one model that cannot run here does not stop the others
            yield f"{label}: not measured ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            continue
        rate = rates.measure(target.work, target.model, amount, seconds, unit=_UNITS.get(target.work, ""))
        rates.save()
        yield f"{label}: {_rate_text(rate)} ({amount} in {seconds:.1f}s)"


_UNITS = {"generate": "prompts", "judge": "judgments", "embed": "passages", "similarity": "answers"}


def _rate_text(rate: Rate) -> str:
    per = rate.per_second
    unit = rate.unit or "units"
    return f"{per:.3g} {unit}/s" if per >= 1 else f"{1 / per:.3g} s per {unit.rstrip('s')}"
