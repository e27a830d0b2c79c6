"""The plan's cost: work per node kind, rates and their sources, learning from runs, calibration, --budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import isolate_weights

from ragdsl.compiler import compile_spec
from ragdsl.execute.store import Store
from ragdsl.plan import cost as cost_mod
from ragdsl.plan.cost import (
    Budget,
    approx_duration,
    calibrate_plan,
    estimate_plan,
    learn_from_store,
    over_budget,
    parse_budget,
)
from ragdsl.plan.planner import record_for
from ragdsl.plan.rates import DEFAULTS, Rates, default_rate, machine_key

SPEC = """\
experiment costs { seed = 3 }
corpus docs { source = jsonl("data/passages.jsonl") }
questions qa { source = jsonl("data/qa.jsonl"); train = 4; test = 6 }
index idx { corpus = docs; embedder = "all-minilm-l6-v2" }
index kw { corpus = docs }
model base = "qwen2.5-0.5b-instruct"
model judge = "qwen2.5-1.5b-instruct"
finetune tuned { base = base; data = qa.train; epochs = 2 }
pipeline rag(generator) { retrieve = bm25(kw, top_k = 3); generate = generator; max_new_tokens = 16 }
evaluate compare {
  systems = { base: rag(base), tuned: rag(tuned) }
  questions = qa.test
  metrics = [accuracy, f1, semantic_similarity]
  judge = judge
  limit = 5
}
report summary { from = compare }
"""

PASSAGES = 7
QUESTIONS = 12


def _project(root: Path, spec: str = SPEC) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "passages.jsonl").write_text(
        "".join(json.dumps({"id": f"p{i}", "text": f"Passage number {i}."}) + "\n" for i in range(PASSAGES)))
    (root / "data" / "qa.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "question": f"Question {i}?", "answer": f"answer {i}"}) + "\n"
                for i in range(QUESTIONS)))
    path = root / "spec.rag"
    path.write_text(spec)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    isolate_weights(monkeypatch, tmp_path)  # cpu:2, an empty cache: default rates, no cached calibration
    monkeypatch.chdir(tmp_path)
    _project(tmp_path)

    def compile_(store: Store | None = None, sets=()):
        compilation = compile_spec("spec.rag", list(sets), store)
        assert compilation.ok, [d.message for d in compilation.diagnostics if d.is_error]
        return compilation
    return compile_


def _estimate(compilation, store=None, rates=None):
    return estimate_plan(compilation.plan, store, rates or Rates({}), compilation.graph.files)


# ------------------------------------------------------------------------------------- work per node kind


def test_work_of_every_node_kind(project):
    cost = _estimate(project())
    work = {c.node: c.work for c in cost.nodes}
    assert work["corpus.docs"] == {"passages": PASSAGES}  # the file's lines
    assert work["questions.qa"] == {"questions": QUESTIONS}
    assert work["index.idx"] == {"passages": PASSAGES, "embedder": "all-minilm-l6-v2"}
    assert work["index.kw"] == {"passages": PASSAGES, "embedder": None}
    assert work["model.base"] == {"weights": "missing"}  # offline, no hub cache
    # train = 4 examples, 2 epochs, 65 tokens per qa() example (ragdsl.finetune.estimate)
    assert work["finetune.tuned"] == {"examples": 4, "training_tokens": 4 * 2 * 65}
    # the evaluation's limit (5) caps its test split (6)
    assert work["retrieve.compare.rag"] == {"queries": 5, "passages_searched": PASSAGES}
    # 100 tokens of template and question, 3 passages of 150 tokens; 16 new tokens at most
    assert work["rag.compare.base"] == {"prompts": 5, "prompt_tokens": 5 * (100 + 3 * 150), "new_tokens_max": 80}
    # one judged metric x 10 answers, plus the accuracy rubric's 31 calibration cases (not cached)
    assert work["evaluate.compare"] == {"answers": 10, "judge_calls": 10, "calibration_calls": 31,
                                        "similarity_answers": 10}
    assert work["report.summary"] == {"evaluations": 1}
    assert cost.calls == 5 + 5 + 10 + 31
    assert not cost.assumed


def test_parts_use_the_rate_of_their_model(project):
    cost = _estimate(project())
    rag = cost["rag.compare.base"]
    assert [(p.work, p.model, p.amount) for p in rag.parts] == [("generate", "qwen2.5-0.5b-instruct", 5)]
    assert rag.seconds == pytest.approx(5 * 7.9)
    judge = next(p for p in cost["evaluate.compare"].parts if p.work == "judge")
    assert judge.model == "qwen2.5-1.5b-instruct" and judge.amount == 41
    assert judge.seconds == pytest.approx(41 * 6.0)  # the 1.5B default needs no size scaling
    retrieve = cost["retrieve.compare.rag"]
    assert {p.work for p in retrieve.parts} == {"bm25_search", "load"}
    assert cost["index.idx"].seconds == pytest.approx(PASSAGES / 74 + 3.0)  # embedding plus loading the model


def test_text_line_and_total(project):
    from ragdsl.plan.render import to_text

    compilation = project()
    cost = _estimate(compilation)
    assert cost["rag.compare.base"].text("cpu") == \
        "5 prompts (~550 tokens each), ≤80 new tokens; ~40s on cpu (default)"
    text = to_text(compilation.plan, cost=cost)
    assert "    cost 41 judge calls" not in text  # calibration is shown apart
    assert "    cost 10 judge calls + 31 calibration, 10 answers to embed; ~4m on cpu (default)" in text
    last = text.rstrip().splitlines()[-1]
    top = cost.dominant()
    assert last == (f"estimated time to run: ~{approx_duration(cost.seconds)} on cpu (2 cores); dominated by "
                    + ", ".join(f"{c.node} {share:.0%}" for c, share in top))
    assert [c.node for c, _ in top[:2]] == ["evaluate.compare", "finetune.tuned"]
    assert sum(c.seconds for c in cost.nodes) == pytest.approx(cost.seconds)


def test_counts_come_from_the_store_when_upstream_is_cached(tmp_path, monkeypatch):
    """A question set without `test` is sized by its cached result; without one, an assumed default."""
    isolate_weights(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, SPEC.replace("train = 4; test = 6", "train = 0.25")
             .replace('source = jsonl("data/qa.jsonl")', 'source = hf_dataset("org/qa", split = "validation")'))
    store = Store(tmp_path / "store")
    first = compile_spec("spec.rag", [], store)
    assert first.ok, [d.message for d in first.diagnostics if d.is_error]
    before = _estimate(first, store)
    assert before["rag.compare.base"].work["prompts"] == 5  # the evaluation's limit
    assert before["questions.qa"].assumed == (f"{cost_mod.DEFAULT_QUESTIONS:,} questions in questions.qa",)
    assert before["finetune.tuned"].work["examples"] == round(0.25 * cost_mod.DEFAULT_QUESTIONS)
    assert "assumed" in before.total_line()

    questions = next(a for a in first.plan.actions if a.node.id == "questions.qa")
    store.artifact_dir(questions.fingerprint.value).mkdir(parents=True)
    store.record("questions.qa", {**record_for(questions), "outputs": {"questions": 40, "train": 10, "test": 30}})
    after = compile_spec("spec.rag", [], store)
    cost = _estimate(after, store)
    assert cost["questions.qa"].op == "cached" and cost["questions.qa"].seconds == 0
    assert cost["finetune.tuned"].work["examples"] == 10  # the recorded train count
    assert cost["finetune.tuned"].assumed == ()


def test_cached_and_reused_nodes_cost_nothing(project, tmp_path):
    store = Store(tmp_path / "store")
    compilation = project(store)
    for action in compilation.plan.actions:
        if action.node.kind in ("corpus", "questions"):
            store.artifact_dir(action.fingerprint.value).mkdir(parents=True, exist_ok=True)
            outputs = {"passages": 3} if action.node.kind == "corpus" else {"questions": 12, "train": 4, "test": 6}
            store.record(action.node.id, {**record_for(action), "outputs": outputs})
    cost = _estimate(project(store), store)
    assert cost["corpus.docs"].op == "cached" and cost["corpus.docs"].seconds == 0
    assert cost["corpus.docs"].text("cpu")  # never rendered, but harmless
    assert cost["index.kw"].work["passages"] == 3  # from the cached corpus, not the file
    assert "corpus.docs" not in [c.node for c, _ in cost.dominant(10)]


def test_a_checkpoint_leaves_part_of_the_work(project, tmp_path):
    from ragdsl.execute.checkpoint import Checkpoint

    store = Store(tmp_path / "store")
    compilation = project(store)
    rag = next(a for a in compilation.plan.actions if a.node.id == "rag.compare.base")
    Checkpoint(store.root, rag.node.id, rag.fingerprint.value).open().set_progress(3, 5, "questions")
    resumed = project(store)
    action = next(a for a in resumed.plan.actions if a.node.id == "rag.compare.base")
    assert action.reason == "resume"
    cost = _estimate(resumed, store)["rag.compare.base"]
    assert cost.parts[0].amount == pytest.approx(2)
    assert cost.seconds == pytest.approx(2 * 7.9)
    assert cost.calls == 2
    assert "3/5 questions done" in cost.text("cpu")


# ------------------------------------------------------------------------------------------------- rates


def test_default_rates_scale_by_model_size_cores_and_device():
    base = default_rate("generate", "qwen2.5-0.5b-instruct")
    assert base.source == "default" and base.per_second == pytest.approx(1 / 7.9)
    assert default_rate("generate", "qwen2.5-1.5b-instruct").per_second == pytest.approx(base.per_second / 3)
    assert default_rate("generate", "my-model").per_second == base.per_second  # size unknown: the reference
    assert default_rate("generate", "qwen2.5-0.5b", cores=4).per_second == pytest.approx(2 * base.per_second)
    assert default_rate("bm25", cores=8).per_second == DEFAULTS["bm25"].rate  # I/O-bound: not scaled
    gpu = default_rate("judge", "qwen2.5-1.5b-instruct", device="cuda")
    assert gpu.per_second == pytest.approx(DEFAULTS["judge"].rate * DEFAULTS["judge"].gpu)
    assert "assumed on a GPU" in gpu.why
    assert all(d.why for d in DEFAULTS.values())  # each default says where it comes from


def test_rates_prefer_observed_then_measured_then_default(tmp_path):
    rates = Rates(None, path=tmp_path / "rates.json", device="cpu", cores=2)
    assert rates.lookup("judge", "j-1.5b").source == "default"
    rates.measure("judge", "j-1.5b", 8, 40.0, unit="judgments")
    assert (rates.lookup("judge", "j-1.5b").source, rates.lookup("judge", "j-1.5b").per_second) == ("measured", 0.2)
    assert rates.observe("judge", "j-1.5b", 10, 100.0, key="fp1")
    found = rates.lookup("judge", "j-1.5b")
    assert (found.source, found.n, found.per_second) == ("observed", 1, 0.1)
    assert found.label() == "observed, 1 run"
    assert not rates.observe("judge", "j-1.5b", 10, 1.0, key="fp1")  # one node counts once
    assert rates.observe("judge", "j-1.5b", 30, 100.0, key="fp2")
    found = rates.lookup("judge", "j-1.5b")
    assert (found.n, found.per_second) == (2, 0.2)  # work-weighted: 40 judgments in 200 s
    rates.save()
    again = Rates.load(tmp_path / "rates.json", device="cpu", cores=2)
    assert again.lookup("judge", "j-1.5b").per_second == 0.2
    other = Rates.load(tmp_path / "rates.json", device="cpu", cores=8)  # another machine: its own rates
    assert other.lookup("judge", "j-1.5b").source == "default"
    assert machine_key("cpu", 8) == "cpu:8"


def test_a_damaged_rates_file_means_defaults(tmp_path):
    path = tmp_path / "rates.json"
    for text in ("{not json", "[]", '{"format": "other"}', '{"format": "ragdsl.rates/1", "machines": {"cpu:2": 5}}'):
        path.write_text(text)
        rates = Rates.load(path, device="cpu", cores=2)
        assert rates.lookup("generate", "m").source == "default"
        assert rates.observe("generate", "m", 1, 1.0, key="k")  # and it can be written again


def _history(store: Store, runs, nodes: list[tuple[str, str, float, dict, list]]) -> None:
    """Record one finished run: (node id, kind, seconds, outputs, inputs) per node, fingerprints made up."""
    run_id = runs.start(spec="s.rag", spec_hash="h", experiment="e", seed=1, argv=[],
                        nodes=[(n, kind, _fp(n, outputs), "run") for n, kind, _, outputs, _ in nodes])
    for node_id, kind, seconds, outputs, inputs in nodes:
        fp = _fp(node_id, outputs)
        store.record(node_id, {"fingerprint": fp, "kind": kind, "outputs": outputs,
                               "inputs": [[role, _fp(up, out)] for role, up, out in inputs], "seconds": seconds})
        runs.node_finished(run_id, node_id, status="done", seconds=seconds)
    runs.finish(run_id, "ok")


def _fp(node_id: str, outputs: dict) -> str:
    from ragdsl.hashing import digest

    return digest([node_id, outputs])[:64].ljust(64, "0")


def test_observed_rates_come_from_the_run_history(tmp_path):
    from ragdsl.execute.runs import RunStore

    store = Store(tmp_path / "store")
    model_out = {"reference": "qwen2.5-0.5b-instruct"}
    judge_out = {"reference": "qwen2.5-1.5b-instruct"}
    with RunStore(store.root) as runs:
        _history(store, runs, [
            ("model.qwen", "model", 0.5, model_out, []),
            ("model.judge", "model", 0.5, judge_out, []),
            ("index.idx", "index", 8.0, {"passages": 400, "embedder": "all-minilm-l6-v2"}, []),
            ("corpus.docs", "corpus", 0.4, {"documents": 4, "passages": 4}, []),  # too short to say anything
            ("rag.e.qwen", "rag", 100.0, {"questions": 20, "generator": "model.qwen"},
             [("generator", "model.qwen", model_out)]),
            ("evaluate.e", "evaluate", 130.0, {"judgments": 40, "calibration_judgments": 20, "judge_seconds": 120.0},
             [("judge", "model.judge", judge_out)]),
        ])
    rates = Rates(None, device="cpu", cores=2)
    assert learn_from_store(rates, store) == 3
    generate = rates.lookup("generate", "qwen2.5-0.5b-instruct")
    assert (generate.source, generate.n, generate.per_second) == ("observed", 1, 0.2)
    judge = rates.lookup("judge", "qwen2.5-1.5b-instruct")
    assert judge.per_second == pytest.approx(60 / 120.0)  # the judging time, not the node's
    assert rates.lookup("embed", "all-minilm-l6-v2").per_second == 400 / (8.0 - 3.0)  # less the model loading
    assert rates.lookup("read").source == "default"
    assert learn_from_store(rates, store) == 0  # already counted

    with RunStore(store.root) as runs:  # a later run of another size: the running mean moves
        _history(store, runs, [("rag.e.qwen[n=60]", "rag", 200.0, {"questions": 60, "generator": "model.qwen"},
                                [("generator", "model.qwen", model_out)])])
    assert learn_from_store(rates, store) == 1
    generate = rates.lookup("generate", "qwen2.5-0.5b-instruct")
    assert (generate.n, generate.per_second) == (2, pytest.approx(80 / 300.0))
    assert generate.label() == "observed, 2 runs"


def test_the_estimate_uses_observed_rates(project, tmp_path):
    rates = Rates(None, device="cpu", cores=2)
    rates.observe("generate", "qwen2.5-0.5b-instruct", 10, 20.0, key="x")
    cost = _estimate(project(), rates=rates)
    assert cost["rag.compare.base"].seconds == pytest.approx(5 * 2.0)
    assert cost["rag.compare.base"].text("cpu").endswith("~10s on cpu (observed, 1 run)")
    # a fine-tune generates with its base: the same observed rate
    assert cost["rag.compare.tuned"].source == "observed"


def test_a_damaged_run_database_gives_no_observations(tmp_path):
    store = Store(tmp_path / "store")
    store.root.mkdir(parents=True)
    (store.root / "runs.sqlite").write_bytes(b"garbage" * 100)
    assert learn_from_store(Rates(None), store) == 0


# ------------------------------------------------------------------------------------------- calibration


def test_calibration_measures_each_model_once(project, tmp_path, monkeypatch):
    compilation = project()
    measured = []

    def bench(work):
        def run(folder, settings):
            measured.append((work, folder.name, settings.get("max_new_tokens")))
            return 8, 4.0
        return run
    benches = {w: bench(w) for w in ("generate", "judge", "embed", "similarity")}
    lines = list(calibrate_plan(compilation, benches=benches, weights=lambda t: tmp_path / t.model))
    assert sorted(measured) == [("embed", "all-minilm-l6-v2", None), ("generate", "qwen2.5-0.5b-instruct", 16),
                                ("judge", "qwen2.5-1.5b-instruct", 48), ("similarity", "all-minilm-l6-v2", None)]
    assert "generate with qwen2.5-0.5b-instruct: 2 prompts/s (8 in 4.0s)" in lines
    rates = Rates.load()  # kept in the cache folder's rates.json
    assert rates.lookup("generate", "qwen2.5-0.5b-instruct").source == "measured"
    cost = estimate_plan(compilation.plan, None, rates, compilation.graph.files)
    assert cost["rag.compare.base"].text("cpu").endswith("(measured)")
    assert cost["rag.compare.base"].seconds == pytest.approx(5 / 2.0)

    measured.clear()
    again = list(calibrate_plan(compilation, benches=benches, weights=lambda t: tmp_path / t.model))
    assert measured == [] and all("measured before" in line for line in again)
    failing = {w: (lambda folder, settings: 1 / 0) for w in benches}
    lines = list(calibrate_plan(compilation, force=True, benches=failing, weights=lambda t: tmp_path / t.model))
    assert all("not measured (ZeroDivisionError" in line for line in lines)


def test_calibration_key_matches_the_evaluate_runner(project, tmp_path):
    """A calibration the judge's cache already holds costs nothing: the key is rebuilt as the runner builds it."""
    from types import SimpleNamespace

    from ragdsl.evaluate import calibration as cal
    from ragdsl.evaluate.judge import build_prompt
    from ragdsl.evaluate.rubric import BUILTIN, builtin_rubric
    from ragdsl.execute.runners import evaluate as runner

    assert (cost_mod.JUDGE_BATCH, cost_mod.JUDGE_CHUNK) == (runner.JUDGE_BATCH, runner.JUDGE_CHUNK)
    compilation = project()
    action = next(a for a in compilation.plan.actions if a.node.kind == "evaluate")
    judge = next(a.node for a in compilation.plan.actions if a.node.id == "model.judge")
    model = SimpleNamespace(kind="model", node="model.judge",
                            outputs={k: judge.params[k] for k in ("chat_template", "precision", "device")})
    ctx = SimpleNamespace(seed=compilation.plan.seed, upstream=lambda ref: model)
    rubric = builtin_rubric("accuracy")
    calibration = cal.load_calibration(cal.calibration_path(rubric, BUILTIN), rubric)
    settings = {**runner._settings(ctx, action.node.params, {"node": "model.judge"}), "chunk": runner.JUDGE_CHUNK}
    prompts = [build_prompt(rubric, case.item()) for case in calibration.cases]
    material = cal.key_material(judge.weights[0].identity, rubric, calibration, settings, prompts)
    cal.default_cache().put(cal.cache_key(material), material, ["{}"] * len(prompts))
    work = _estimate(compilation)["evaluate.compare"].work
    assert work["calibration_calls"] == 0 and work["judge_calls"] == 10


# ------------------------------------------------------------------------------------------------ budget


@pytest.mark.parametrize(("text", "amount", "unit"), [
    ("90m", 5400, "seconds"), ("2h", 7200, "seconds"), ("1h30m", 5400, "seconds"), ("3600s", 3600, "seconds"),
    ("1h 30min", 5400, "seconds"), ("1.5h", 5400, "seconds"), ("200000tokens", 200_000, "tokens"),
    ("200k tokens", 200_000, "tokens"), ("1.5M tokens", 1_500_000, "tokens"), ("500calls", 500, "calls"),
    ("1_000 calls", 1000, "calls"), ("1 call", 1, "calls"),
])
def test_budget_parsing(text, amount, unit):
    assert parse_budget(text) == Budget(amount, unit)


@pytest.mark.parametrize(("text", "message"), [
    ("90", "give a unit"), ("", "is not a duration"), ("2 hours later", "is not"), ("5 parsecs", "is not"),
    ("-5m", "is not"), ("0m", "more than zero"), ("0calls", "more than zero"), ("m5", "is not"),
])
def test_bad_budgets_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_budget(text)


def test_budget_shows_as_given():
    assert parse_budget("1h30m").show() == "1h30m"
    assert parse_budget("200k tokens").show() == "200k tokens"
    assert parse_budget("90m").estimate(3900) == "~1h05m"


def test_over_budget_names_the_dominant_nodes(project):
    cost = _estimate(project())
    assert over_budget(cost, Budget(cost.seconds + 1, "seconds")) is None
    refusal = over_budget(cost, parse_budget("1m"))
    assert refusal is not None
    head, dominated = refusal.splitlines()
    assert head == f"the estimate, ~{approx_duration(cost.seconds)} on cpu (2 cores), exceeds the budget of 1m; " \
                   "nothing was run"
    named = [c.node for c, _ in cost.dominant(3)]
    assert dominated.startswith(f"  dominated by {named[0]} ~")
    assert all(n in dominated for n in named)
    calls = over_budget(cost, parse_budget("10calls"))
    assert calls is not None and calls.startswith("the estimate, ~51 calls, exceeds the budget of 10 calls")
    assert "evaluate.compare ~41 calls (80%)" in calls


def test_run_refuses_a_plan_over_budget(project, run_cli, tmp_path):
    project()
    result = run_cli("run", "spec.rag", "--store", tmp_path / "store", "--budget", "1m")
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "error: the estimate, ~" in result.stderr and "exceeds the budget of 1m; nothing was run" in result.stderr
    assert "dominated by evaluate.compare" in result.stderr
    assert "= help: raise --budget" in result.stderr
    assert not (tmp_path / "store" / "runs.sqlite").exists()  # nothing started

    calls = run_cli("run", "spec.rag", "--store", tmp_path / "store", "--budget", "20calls")
    assert calls.exit_code == 1 and "evaluate.compare ~41 calls" in calls.stderr


@pytest.mark.parametrize("bad", ["90", "lots", "-1h"])
def test_run_with_a_bad_budget_is_a_user_error(project, run_cli, tmp_path, bad):
    project()
    result = run_cli("run", "spec.rag", "--store", tmp_path / "store", "--budget", bad)
    assert result.exit_code == 1
    assert f"error: --budget '{bad}' is not a duration (90m, 2h, 1h30m, 3600s) or a quantity" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_within_budget_says_so_and_goes_on(project, run_cli, tmp_path):
    project()
    result = run_cli("run", "spec.rag", "--store", tmp_path / "store", "--budget", "100h")
    assert "within the budget of 100h" in result.stderr
    # then the usual checks: these weights are not available offline, so nothing runs
    assert result.exit_code == 1 and "cannot be loaded here" in result.stderr


# ---------------------------------------------------------------------------------------- JSON and CLI


def test_json_plan_has_cost_fields(project, run_cli, tmp_path):
    project()
    result = run_cli("compile", "--dry-run", "--format", "json", "spec.rag", "--store", tmp_path / "store")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    nodes = {n["id"]: n for n in plan["nodes"]}
    rag = nodes["rag.compare.base"]["cost"]
    assert rag["work"] == {"prompts": 5, "prompt_tokens": 2750, "new_tokens_max": 80}
    assert rag["seconds"] == pytest.approx(39.5) and rag["source"] == "default" and rag["calls"] == 5
    assert rag["parts"][0] == {"work": "generate", "model": "qwen2.5-0.5b-instruct", "amount": 5,
                               "unit": "prompts", "seconds": 39.5, "rate": 0.126582, "source": "default",
                               "observations": 0}
    estimate = plan["summary"]["estimate"]
    total = sum(n["cost"]["seconds"] for n in plan["nodes"])
    assert estimate["seconds"] == pytest.approx(total, abs=0.5)
    assert (estimate["device"], estimate["cores"], estimate["calls"]) == ("cpu", 2, 51)
    assert [n["id"] for n in estimate["nodes"]] == ["evaluate.compare", "finetune.tuned", "rag.compare.base"]
    assert estimate["nodes"][0]["share"] == pytest.approx(nodes["evaluate.compare"]["cost"]["seconds"] / total,
                                                          abs=0.002)
    assert not (tmp_path / "store").exists()  # a dry run writes nothing


def test_estimate_command(project, run_cli, tmp_path):
    project()
    result = run_cli("estimate", "spec.rag", "--store", tmp_path / "store")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("rag.compare.base ") and "5 prompts" in line for line in lines)
    assert lines[-1].startswith("estimated time to run: ~")
    data = json.loads(run_cli("estimate", "spec.rag", "--format", "json").stdout)
    assert data["nodes"]["evaluate.compare"]["work"]["judge_calls"] == 10
