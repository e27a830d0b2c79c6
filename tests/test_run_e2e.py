"""`ragdsl run` end to end, on a tiny project built in a temporary folder.

The project: ten passages and eight questions (answers and gold contexts) as JSON
Lines, a Jinja prompt, and a tiny random Qwen2 (hidden size 32, 2 layers, a BPE
tokenizer with a chat template; see test_models_load) saved with save_pretrained and
referenced as `local("tiny-qwen")`. One evaluation compares two systems that share one
BM25 retrieval (the same weights with and without the chat template) on exact_match,
f1, recall@2 and mrr, and a report collects it.

The `ran` fixture runs that project once per module; tests that change anything work on
a copy of it (store included), so each of them re-runs only what it changes. Runs are
in process (the `ragdsl` command through click), except the one that is killed with
SIGKILL. Which runners a run calls is observed by wrapping the runner table.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("haystack")

from test_models_load import save_tiny_qwen2  # noqa: E402

import ragdsl  # noqa: E402

# ----------------------------------------------------------------- the project

PASSAGES = {
    "p01": "Insulin is a hormone produced by the beta cells of the pancreas.",
    "p02": "The mitochondrion is the powerhouse of the cell and makes ATP.",
    "p03": "Paris is the capital and largest city of France.",
    "p04": "The Amazon river flows through Brazil into the Atlantic Ocean.",
    "p05": "Photosynthesis converts sunlight, water and carbon dioxide into glucose.",
    "p06": "Mount Everest is the highest mountain above sea level, in the Himalayas.",
    "p07": "Hemoglobin carries oxygen in red blood cells.",
    "p08": "The Pacific is the largest and deepest ocean on Earth.",
    "p09": "Penicillin was discovered by Alexander Fleming in 1928.",
    "p10": "The femur is the longest bone in the human body.",
}

# (id, question, answer, gold passage). Each question but q8 shares rare words with its
# gold passage only, so BM25 ranks it first; q8 shares no word with any passage at all
# (BM25 finds nothing), so its recall is 0.
QUESTIONS = [
    ("q1", "Which cells of the pancreas produce insulin?", "beta cells", "p01"),
    ("q2", "What is the powerhouse of the cell?", "the mitochondrion", "p02"),
    ("q3", "What is the capital of France?", "Paris", "p03"),
    ("q4", "Into which ocean does the Amazon river flow?", "the Atlantic Ocean", "p04"),
    ("q5", "What is the highest mountain above sea level?", "Mount Everest", "p06"),
    ("q6", "What carries oxygen in red blood cells?", "Hemoglobin", "p07"),
    ("q7", "Who discovered penicillin?", "Alexander Fleming", "p09"),
    ("q8", "Which skeletal element measures tallest?", "the femur", "p10"),
]
FINDABLE = {qid for qid, *_ in QUESTIONS if qid != "q8"}
GOLD = {qid: PASSAGES[pid] for qid, _, _, pid in QUESTIONS}
TEST = 6  # questions held out for the evaluation (of 8)

PROMPT = """{% for document in documents -%}
Passage {{ loop.index }}: {{ document.content }}
{% endfor -%}
Question: {{ question }}
Answer:"""

SPEC = """\
experiment e2e {
  seed = 7
}

corpus docs {
  source = jsonl("data/passages.jsonl")
}

questions qa {
  source = jsonl("data/qa.jsonl", context = "context")
  test = 6
}

index idx {
  corpus = docs
}

model gen {
  source = local("tiny-qwen")
}

model gen_plain {
  source = local("tiny-qwen")
  chat_template = off
}

pipeline rag(generator) {
  retrieve = bm25(idx, top_k = 2)
  prompt = template("prompts/answer.jinja")
  generate = generator
  max_new_tokens = 4
}

evaluate compare {
  systems = { chat: rag(gen), plain: rag(gen_plain) }
  questions = qa.test
  metrics = [exact_match, f1, recall@2, mrr]
}

report summary {
  from = compare
  title = "End to end"
}
"""

NODES = ("corpus.docs", "index.idx", "model.gen", "model.gen_plain", "questions.qa", "retrieve.compare.rag",
         "rag.compare.chat", "rag.compare.plain", "evaluate.compare", "report.summary")
SYSTEMS = {"chat": "rag.compare.chat", "plain": "rag.compare.plain"}
RETRIEVAL_METRICS = ("recall@2", "mrr")


def spec_line(text: str, spec: str = SPEC) -> int:
    """The 1-based line of the spec that starts with `text`."""
    return next(i for i, line in enumerate(spec.splitlines(), 1) if line.startswith(text))


def write_project(root: Path, weights: Path, spec: str = SPEC) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "prompts").mkdir(exist_ok=True)
    (root / "data" / "passages.jsonl").write_text(
        "".join(json.dumps({"id": pid, "text": text}) + "\n" for pid, text in PASSAGES.items()))
    (root / "data" / "qa.jsonl").write_text("".join(
        json.dumps({"id": qid, "question": q, "answer": a, "context": PASSAGES[pid]}) + "\n"
        for qid, q, a, pid in QUESTIONS))
    (root / "prompts" / "answer.jinja").write_text(PROMPT)
    shutil.copytree(weights, root / "tiny-qwen")
    (root / "spec.rag").write_text(spec)
    return root


# ----------------------------------------------------------------- running ragdsl


@dataclass(frozen=True)
class Invocation:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def run_id(self) -> str:
        found = re.findall(r"^run (r\d{8}-\d{6}-[0-9a-f]{4}): details with", self.stderr, re.MULTILINE)
        assert len(found) == 1, self.stderr
        return found[0]


def ragdsl_cli(root: Path, *args: str) -> Invocation:
    """`ragdsl ARGS...` in process, in the folder `root` (so the default store is root/.ragdsl)."""
    from click.testing import CliRunner

    from ragdsl.cli import cli

    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()
    before = Path.cwd()
    os.chdir(root)
    try:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)
    return Invocation(result.exit_code, result.stdout, result.stderr)


def run_ok(root: Path, *args: str) -> Invocation:
    result = ragdsl_cli(root, "run", "spec.rag", "--progress", "plain", *args)
    assert result.exit_code == 0, result.stderr
    return result


def plan(root: Path, *args: str) -> dict[str, dict]:
    """The dry-run plan's nodes by id (JSON form)."""
    result = ragdsl_cli(root, "compile", "--dry-run", "--format", "json", "spec.rag", *args)
    assert result.exit_code == 0, result.stderr
    return {node["id"]: node for node in json.loads(result.stdout)["nodes"]}


def store(root: Path) -> Path:
    return root / ".ragdsl"


def artifacts(root: Path, fingerprint: str) -> Path:
    return store(root) / "artifacts" / fingerprint[:2] / fingerprint


def result_record(root: Path, fingerprint: str) -> dict | None:
    path = store(root) / "results" / fingerprint[:2] / f"{fingerprint}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_detail(root: Path, run_id: str) -> dict:
    result = ragdsl_cli(root, "runs", "show", run_id, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def node_statuses(root: Path, run_id: str) -> dict[str, str]:
    return {n["id"]: n["status"] for n in run_detail(root, run_id)["nodes"]}


def store_files(root: Path) -> dict[str, int]:
    """Every file of the store's results and artifacts, with its modification time (ns)."""
    return {p.relative_to(store(root)).as_posix(): p.stat().st_mtime_ns
            for sub in ("results", "artifacts") for p in (store(root) / sub).rglob("*") if p.is_file()}


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory) -> Iterator[None]:
    """No hub, empty caches, no store from the environment: the same on every machine."""
    caches = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HOME", str(caches / "hf"))
        mp.setenv("RAGDSL_CACHE", str(caches / "ragdsl"))
        mp.delenv("RAGDSL_STORE", raising=False)
        mp.delenv("RAGDSL_DEBUG", raising=False)
        yield


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weights") / "tiny-qwen"
    save_tiny_qwen2(folder)
    return folder


@dataclass(frozen=True)
class Ran:
    root: Path
    result: Invocation
    plan: dict[str, dict]  # as planned before the run

    def fp(self, node_id: str) -> str:
        return self.plan[node_id]["fingerprint"]


@pytest.fixture(scope="module")
def ran(tmp_path_factory, weights) -> Ran:
    """The project, run once. Read it; copy it (`copy_of`) to change anything."""
    root = write_project(tmp_path_factory.mktemp("ran"), weights)
    before = plan(root)
    return Ran(root, ragdsl_cli(root, "run", "spec.rag", "--progress", "plain"), before)


def copy_of(ran: Ran, tmp_path: Path) -> Path:
    assert ran.result.exit_code == 0, ran.result.stderr
    return Path(shutil.copytree(ran.root, tmp_path / "project"))


@pytest.fixture
def executed(monkeypatch) -> list[str]:
    """The node ids whose runner was called, in call order (the runners still run)."""
    from ragdsl.execute.runners import RUNNERS

    calls: list[str] = []
    lock = threading.Lock()
    for kind, runner in list(RUNNERS.items()):
        def spy(ctx, runner=runner):
            with lock:
                calls.append(ctx.node.id)
            return runner(ctx)

        monkeypatch.setitem(RUNNERS, kind, spy)
    return calls


# ----------------------------------------------------------------- 1. a first run


def test_first_run_runs_every_node_and_prints_the_summary(ran):
    assert ran.result.exit_code == 0, ran.result.stderr
    assert {n["action"] for n in ran.plan.values()} == {"run"}
    assert set(ran.plan) == set(NODES)
    lines = ran.result.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if re.fullmatch(r"node +status +time +detail", line))
    rows = {line.split()[0]: line.split()[1] for line in lines[header + 1: header + 1 + len(NODES)]}
    assert rows == dict.fromkeys(NODES, "done")
    assert re.fullmatch(rf"{len(NODES)} nodes: {len(NODES)} done in \S+", lines[header + 1 + len(NODES)])
    assert "Traceback" not in ran.result.stderr


def test_first_run_records_every_node_by_fingerprint(ran):
    for node_id in NODES:
        record = result_record(ran.root, ran.fp(node_id))
        assert record is not None, f"no result recorded for {node_id}"
        assert record["node"] == node_id and record["fingerprint"] == ran.fp(node_id)
        assert record["seed"] == 7
        assert artifacts(ran.root, ran.fp(node_id)).is_dir() or record["kind"] == "model"


def test_questions_are_split_and_contexts_are_the_top_k_passages(ran):
    folder = artifacts(ran.root, ran.fp("questions.qa"))
    test = jsonl(folder / "test.jsonl")
    assert len(test) == TEST and len(jsonl(folder / "all.jsonl")) == len(QUESTIONS)
    assert len({q["id"] for q in test}) == TEST
    contexts = jsonl(artifacts(ran.root, ran.fp("retrieve.compare.rag")) / "contexts.jsonl")
    assert [c["id"] for c in contexts] == [q["id"] for q in test]
    for record in contexts:
        docs = record["documents"]
        assert len(docs) <= 2, "top_k = 2"
        assert all(PASSAGES[d["id"]] == d["text"] for d in docs)
        assert [d["score"] for d in docs] == sorted((d["score"] for d in docs), reverse=True)
        if record["id"] in FINDABLE:
            assert docs[0]["text"] == GOLD[record["id"]], f"BM25 ranks the gold passage of {record['id']} first"
        else:
            assert GOLD[record["id"]] not in [d["text"] for d in docs]


def test_each_system_answers_every_test_question(ran):
    test_ids = [q["id"] for q in jsonl(artifacts(ran.root, ran.fp("questions.qa")) / "test.jsonl")]
    answers_of = dict((qid, a) for qid, _, a, _ in QUESTIONS)
    for node_id in SYSTEMS.values():
        answers = jsonl(artifacts(ran.root, ran.fp(node_id)) / "answers.jsonl")
        assert [a["id"] for a in answers] == test_ids
        for a in answers:
            assert isinstance(a["prediction"], str)
            assert a["answers"] == [answers_of[a["id"]]]
            assert a["context"] == GOLD[a["id"]]


def test_scores_and_metrics(ran):
    rows = jsonl(artifacts(ran.root, ran.fp("evaluate.compare")) / "scores.jsonl")
    contexts = {c["id"]: [d["text"] for d in c["documents"]]
                for c in jsonl(artifacts(ran.root, ran.fp("retrieve.compare.rag")) / "contexts.jsonl")}
    assert sorted((r["system"], r["id"]) for r in rows) == sorted((s, q) for s in SYSTEMS for q in contexts)
    for row in rows:
        assert 0.0 <= row["exact_match"] <= 1.0 and 0.0 <= row["f1"] <= 1.0
        assert row["exact_match"] in (0.0, 1.0)
        retrieved = contexts[row["id"]]
        gold_rank = retrieved.index(GOLD[row["id"]]) + 1 if GOLD[row["id"]] in retrieved else None
        assert row["recall@2"] == (1.0 if gold_rank else 0.0), row
        assert row["mrr"] == pytest.approx(1 / gold_rank if gold_rank else 0.0), row
    metrics = result_record(ran.root, ran.fp("evaluate.compare"))["metrics"]
    assert set(metrics) == set(SYSTEMS)
    for system, table in metrics.items():
        mine = [r for r in rows if r["system"] == system]
        assert table["questions"] == TEST
        for metric in ("exact_match", "f1", "recall@2", "mrr"):
            assert table[metric] == pytest.approx(statistics.fmean(r[metric] for r in mine))
            assert 0.0 <= table[metric] <= 1.0
        assert table["recall@2"] > 0, "BM25 finds the gold passage of most questions"
        assert table["recall@2"] == pytest.approx(len(FINDABLE & contexts.keys()) / TEST)


def test_the_report_has_the_metric_table(ran):
    report = (artifacts(ran.root, ran.fp("report.summary")) / "report.md").read_text()
    metrics = result_record(ran.root, ran.fp("evaluate.compare"))["metrics"]
    assert report.startswith("# End to end\n")
    assert f"Each cell: mean [95% CI] over all {TEST} questions." in report
    for title, names in (("Answer metrics", ("exact_match", "f1")), ("Retrieval metrics", ("recall@2", "mrr"))):
        table = report.split(f"### {title}\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert table[0] == "| system | " + " | ".join(names) + " |"
        for system, values in metrics.items():  # each mean with its bootstrap 95% CI, over all questions
            cells = next(line for line in table if line.startswith(f"| {system} | ")).strip("| ").split(" | ")[1:]
            assert not any("(n=" in cell for cell in cells)
            assert [float(c.split(" [")[0]) for c in cells] == [pytest.approx(round(values[m], 3)) for m in names]
    assert (artifacts(ran.root, ran.fp("report.summary")) / "report.html").is_file()


# ----------------------------------------------------------------- 2. a second run


def test_a_second_run_recomputes_nothing(ran, tmp_path, executed):
    root = copy_of(ran, tmp_path)
    files = store_files(root)
    result = run_ok(root)
    assert executed == []
    assert store_files(root) == files, "no artifact or record was rewritten"
    for node_id in NODES:
        assert f"[cached] {node_id} " in result.stderr
    assert f"{len(NODES)} nodes: {len(NODES)} cached in" in result.stderr
    assert set(node_statuses(root, result.run_id).values()) == {"cached"}

    dry = ragdsl_cli(root, "compile", "--dry-run", "spec.rag")
    assert dry.exit_code == 0, dry.stderr
    for node_id in NODES:
        assert re.search(rf"^= {re.escape(node_id)} +cached$", dry.stdout, re.MULTILINE), node_id
        assert f"fingerprint {ran.fp(node_id)[:12]} " in dry.stdout
    assert f"{len(NODES)} nodes: 0 to run, {len(NODES)} cached" in dry.stdout
    assert {n["action"] for n in plan(root).values()} == {"cached"}


# ----------------------------------------------------------------- 3. an evaluation parameter


def test_changing_the_metrics_reruns_only_evaluate_and_report(ran, tmp_path, executed):
    root = copy_of(ran, tmp_path)
    override = ("--set", "evaluate.compare.metrics=[f1]")
    planned = plan(root, *override)
    assert {k: v["reason"] for k, v in planned.items() if v["action"] == "run"} == {
        "evaluate.compare": "params changed", "report.summary": "upstream changed"}
    run_ok(root, *override)
    assert sorted(executed) == ["evaluate.compare", "report.summary"]
    metrics = result_record(root, planned["evaluate.compare"]["fingerprint"])["metrics"]
    old = result_record(root, ran.fp("evaluate.compare"))["metrics"]
    for system in SYSTEMS:
        assert set(metrics[system]) == {"f1", "questions"}
        assert metrics[system]["f1"] == pytest.approx(old[system]["f1"]), "same answers, same f1"
    report = (artifacts(root, planned["report.summary"]["fingerprint"]) / "report.md").read_text()
    assert "### Answer metrics\n\n| system | f1 |\n" in report and "recall@2" not in report.split("## Spec")[0]

    executed.clear()  # both versions stay in the store: going back runs nothing
    run_ok(root)
    assert executed == []


# ----------------------------------------------------------------- 4. a data file


@pytest.mark.parametrize(("changed", "rerun"), [
    ("data/passages.jsonl", {"corpus.docs", "index.idx", "retrieve.compare.rag", "rag.compare.chat",
                             "rag.compare.plain", "evaluate.compare", "report.summary"}),
    ("data/qa.jsonl", {"questions.qa", "retrieve.compare.rag", "rag.compare.chat", "rag.compare.plain",
                       "evaluate.compare", "report.summary"}),
])
def test_changing_a_data_file_reruns_what_reads_it_and_downstream(ran, tmp_path, executed, changed, rerun):
    root = copy_of(ran, tmp_path)
    with (root / changed).open("a") as f:  # one more record, so the file's content changes
        if changed.endswith("passages.jsonl"):
            f.write(json.dumps({"id": "p11", "text": "Copper conducts electricity well."}) + "\n")
        else:
            f.write(json.dumps({"id": "q9", "question": "What conducts electricity?", "answer": "copper",
                                "context": "Copper conducts electricity well."}) + "\n")
    planned = plan(root)
    reader = "corpus.docs" if "passages" in changed else "questions.qa"
    assert (planned[reader]["reason"], planned[reader]["detail"]) == ("input changed", changed)
    assert {k for k, v in planned.items() if v["action"] == "run"} == rerun
    assert planned["model.gen"]["action"] == planned["model.gen_plain"]["action"] == "cached"
    run_ok(root)
    assert set(executed) == rerun and len(executed) == len(rerun)
    assert "model.gen" not in executed
    for node_id in rerun:
        assert result_record(root, planned[node_id]["fingerprint"]) is not None, node_id


# ----------------------------------------------------------------- 5. shared retrieval


def test_two_systems_share_one_retrieve_node(ran):
    retrieve_nodes = [k for k, v in ran.plan.items() if v["kind"] == "retrieve"]
    assert retrieve_nodes == ["retrieve.compare.rag"]
    for node_id in SYSTEMS.values():
        inputs = {i["role"]: i["node"] for i in ran.plan[node_id]["inputs"]}
        assert inputs["contexts"] == "retrieve.compare.rag"
    contexts = {c["id"]: c["documents"]
                for c in jsonl(artifacts(ran.root, ran.fp("retrieve.compare.rag")) / "contexts.jsonl")}
    answered = {system: {a["id"]: a["contexts"] for a in jsonl(artifacts(ran.root, ran.fp(n)) / "answers.jsonl")}
                for system, n in SYSTEMS.items()}
    assert answered["chat"] == answered["plain"] == contexts
    metrics = result_record(ran.root, ran.fp("evaluate.compare"))["metrics"]
    for metric in RETRIEVAL_METRICS:
        assert metrics["chat"][metric] == metrics["plain"][metric]
    statuses = node_statuses(ran.root, ran.result.run_id)
    assert [k for k in statuses if k.startswith("retrieve.")] == ["retrieve.compare.rag"]


# ----------------------------------------------------------------- 6. runs, and a killed run


def test_runs_lists_the_run_and_shows_its_nodes(ran):
    listed = ragdsl_cli(ran.root, "runs")
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["id", "started", "status", "spec", "experiment", "run", "cached", "failed",
                                "duration"]
    assert len(lines) == 2 and lines[1].split()[0] == ran.result.run_id
    assert lines[1].split()[3:9] == ["ok", "spec.rag", "e2e", str(len(NODES)), "0", "0"]

    shown = ragdsl_cli(ran.root, "runs", "show", ran.result.run_id[:-2])  # a unique prefix will do
    assert shown.exit_code == 0, shown.stderr
    assert f"run         {ran.result.run_id}  ok" in shown.stdout
    assert "experiment  e2e, seed 7" in shown.stdout
    assert f"nodes       {len(NODES)}: {len(NODES)} done, 0 cached, 0 failed" in shown.stdout
    for node_id in NODES:
        row = next(line for line in shown.stdout.splitlines() if line.startswith(node_id + " "))
        assert row.split()[1:3] == [ran.plan[node_id]["kind"], "done"]
        assert ran.fp(node_id)[:12] in row
    detail = run_detail(ran.root, "latest")
    assert detail["id"] == ran.result.run_id and detail["status"] == "ok"
    artifacts_of = {n["id"]: n["artifacts"] for n in detail["nodes"]}
    assert artifacts_of["rag.compare.chat"] == ["answers.jsonl"]
    assert artifacts_of["retrieve.compare.rag"] == ["contexts.jsonl"]
    assert artifacts_of["report.summary"] == ["plots", "report.html", "report.md"]


def test_a_run_record_keeps_the_command_line(ran, tmp_path):
    root = copy_of(ran, tmp_path)
    result = run_ok(root, "--keep-going")
    assert run_detail(root, result.run_id)["argv"] == ["run", "spec.rag", "--progress", "plain", "--keep-going"]


def _no_half_written_results(root: Path) -> None:
    """Every stored record is whole JSON for its own fingerprint, and names a finished artifact folder."""
    for sub in ("results", "nodes"):
        leftovers = [p.name for p in (store(root) / sub).rglob("*") if p.is_file() and not p.name.endswith(".json")]
        assert leftovers == [], f"temporary files in {sub}/"
    for path in (store(root) / "results").rglob("*.json"):
        record = json.loads(path.read_text())
        assert path.name == f"{record['fingerprint']}.json" and not path.name.startswith(".")
        folder = artifacts(root, record["fingerprint"])
        assert folder.is_dir() or record["kind"] == "model", record["node"]


def test_a_killed_run_resumes_where_it_stopped(ran, tmp_path, executed):
    spec = SPEC.replace("max_new_tokens = 4", "max_new_tokens = 48")  # a generation slow enough to kill
    root = write_project(tmp_path / "project", ran.root / "tiny-qwen", spec)
    planned = plan(root)
    rag_fp = planned["rag.compare.chat"]["fingerprint"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(ragdsl.__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])}
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "ragdsl.cli", "run", "spec.rag", "--progress", "plain", "-j", "1"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Wait until retrieval is recorded and the first system is building its answers, then kill -9.
        deadline = time.monotonic() + 120
        building: list[Path] = []
        while not building and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
            if result_record(root, planned["retrieve.compare.rag"]["fingerprint"]):
                building = list((store(root) / "artifacts" / rag_fp[:2]).glob(f".tmp-{rag_fp}-*"))
        assert building and proc.poll() is None, \
            "the run ended (or hung) before it could be killed:\n" + (tmp_path / "run.log").read_text()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        log.close()
    assert proc.returncode == -signal.SIGKILL

    finished = {n for n in NODES if result_record(root, planned[n]["fingerprint"]) is not None}
    assert {"corpus.docs", "questions.qa", "index.idx", "retrieve.compare.rag"} <= finished
    assert "rag.compare.chat" not in finished and "report.summary" not in finished
    assert all(p.is_dir() for p in building), "the half-built answers are left under a temporary name"
    _no_half_written_results(root)
    listed = ragdsl_cli(root, "runs", "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    [killed] = json.loads(listed.stdout)["runs"]
    assert killed["status"] == "interrupted"
    statuses = node_statuses(root, killed["id"])
    assert statuses["rag.compare.chat"] == "interrupted" and statuses["retrieve.compare.rag"] == "done"

    result = run_ok(root)
    assert set(executed) == set(NODES) - finished and len(executed) == len(NODES) - len(finished)
    for node_id in finished:
        assert f"[cached] {node_id} " in result.stderr
    statuses = node_statuses(root, result.run_id)
    assert statuses == {n: "cached" if n in finished else "done" for n in NODES}
    _no_half_written_results(root)
    answers = jsonl(artifacts(root, rag_fp) / "answers.jsonl")
    assert len(answers) == TEST
    assert (artifacts(root, planned["report.summary"]["fingerprint"]) / "report.md").is_file()


# ----------------------------------------------------------------- 7. failures

CLOSED_BOOK = """
pipeline closed(generator) {
  prompt = inline("Question: {{ question }}\\nAnswer:")
  generate = generator
  max_new_tokens = 4
}

evaluate closed_book {
  systems = { chat: closed(gen) }
  questions = qa.test
  metrics = [exact_match, f1]
}
"""
NEEDS_CORPUS = {"index.idx", "retrieve.compare.rag", "rag.compare.chat", "rag.compare.plain", "evaluate.compare",
                "report.summary"}


@pytest.fixture
def broken_corpus(ran, tmp_path) -> Path:
    """A fresh project whose third passage is not JSON, plus a closed-book evaluation that needs no corpus."""
    root = write_project(tmp_path / "project", ran.root / "tiny-qwen", SPEC + CLOSED_BOOK)
    lines = (root / "data" / "passages.jsonl").read_text().splitlines(keepends=True)
    lines[2] = '{"id": "p03", "text": "Paris is the capital\n'
    (root / "data" / "passages.jsonl").write_text("".join(lines))
    return root


def _check_corpus_failure(root: Path, result: Invocation) -> None:
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    declared = f"spec.rag:{spec_line('corpus docs')}:1"
    message = re.search(r"^error: corpus\.docs failed \(declared at (\S+)\): (.*)$", result.stderr, re.MULTILINE)
    assert message, result.stderr
    assert message[1] == declared
    assert message[2].startswith("line 3 of data/passages.jsonl is not valid JSON")
    assert "= help: each line must hold one complete JSON object" in result.stderr
    planned = plan(root)
    assert result_record(root, planned["corpus.docs"]["fingerprint"]) is None
    detail = {n["id"]: n for n in run_detail(root, result.run_id)["nodes"]}
    assert detail["corpus.docs"]["status"] == "failed"
    assert "line 3 of data/passages.jsonl" in detail["corpus.docs"]["error"]
    for node_id in NEEDS_CORPUS:
        assert detail[node_id]["status"] == "skipped", node_id
        assert f"[skipped] {node_id} " in result.stderr


def test_a_malformed_corpus_line_stops_the_run_before_any_node_starts(broken_corpus, executed):
    result = ragdsl_cli(broken_corpus, "run", "spec.rag", "--progress", "plain", "-j", "1")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "error[E610]: line 3 of data/passages.jsonl is not valid JSON" in result.stderr
    assert "spec.rag: 1 error in the data; nothing was run" in result.stderr
    assert executed == [], "the data is checked before any node runs"
    assert not (broken_corpus / ".ragdsl" / "results").exists()


def test_keep_going_runs_what_does_not_need_the_failed_node(broken_corpus, executed):
    result = ragdsl_cli(broken_corpus, "run", "spec.rag", "--progress", "plain", "-j", "1", "--keep-going")
    _check_corpus_failure(broken_corpus, result)
    statuses = node_statuses(broken_corpus, result.run_id)
    independent = {"model.gen", "model.gen_plain", "questions.qa", "rag.closed_book.chat",
                   "evaluate.closed_book"}
    assert {n: s for n, s in statuses.items() if n in independent} == dict.fromkeys(independent, "done")
    assert set(executed) == independent | {"corpus.docs"}
    metrics = result_record(broken_corpus, plan(broken_corpus)["evaluate.closed_book"]["fingerprint"])["metrics"]
    assert metrics["chat"]["questions"] == TEST


# ----------------------------------------------------------------- 8. seeds


def test_the_seed_is_recorded_with_the_run_and_its_results(ran):
    assert run_detail(ran.root, ran.result.run_id)["seed"] == 7
    for node_id in NODES:
        assert result_record(ran.root, ran.fp(node_id))["seed"] == 7
    assert result_record(ran.root, ran.fp("questions.qa"))["outputs"]["seed"] == 7


def test_changing_the_seed_changes_the_split_and_replans(ran, tmp_path, executed):
    root = copy_of(ran, tmp_path)
    override = ("--set", "experiment.seed=3")
    planned = plan(root, *override)
    assert planned["questions.qa"]["reason"] == "params changed"
    unchanged = {"corpus.docs", "index.idx", "model.gen", "model.gen_plain"}
    assert {k for k, v in planned.items() if v["action"] == "cached"} == unchanged
    result = run_ok(root, *override)
    assert set(executed) == set(NODES) - unchanged
    assert run_detail(root, result.run_id)["seed"] == 3
    assert result_record(root, planned["questions.qa"]["fingerprint"])["seed"] == 3

    def test_ids(fingerprint: str) -> set[str]:
        return {q["id"] for q in jsonl(artifacts(root, fingerprint) / "test.jsonl")}

    assert test_ids(planned["questions.qa"]["fingerprint"]) != test_ids(ran.fp("questions.qa"))
    assert len(test_ids(planned["questions.qa"]["fingerprint"])) == TEST
    answered = {a["id"] for a in jsonl(artifacts(root, planned["rag.compare.chat"]["fingerprint"]) / "answers.jsonl")}
    assert answered == test_ids(planned["questions.qa"]["fingerprint"])

    # writing the seed into the spec is the same experiment as --set: all cached
    (root / "spec.rag").write_text(SPEC.replace("seed = 7", "seed = 3"))
    assert {v["fingerprint"] for v in plan(root).values()} == {v["fingerprint"] for v in planned.values()}
    executed.clear()
    run_ok(root)
    assert executed == []


# ----------------------------------------------------------------- 9. fine-tuning


FINETUNE = SPEC.replace("  test = 6\n", "  train = 2\n  test = 6\n").replace(
    "systems = { chat: rag(gen), plain: rag(gen_plain) }",
    "systems = { chat: rag(gen), plain: rag(gen_plain), tuned: rag(tuned) }") + """
finetune tuned {
  base = gen
  data = qa.train
  method = qlora()
}

evaluate base_only {
  systems = { chat: rag(gen) }
  questions = qa.test
  metrics = [f1, recall@2]
}
"""


def test_a_finetune_node_fails_clearly_and_keep_going_runs_the_rest(ran, tmp_path, executed):
    root = copy_of(ran, tmp_path)
    (root / "spec.rag").write_text(FINETUNE)
    planned = plan(root)
    assert planned["finetune.tuned"]["action"] == "run"
    result = ragdsl_cli(root, "run", "spec.rag", "--progress", "plain", "--keep-going")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    declared = f"spec.rag:{spec_line('finetune tuned', FINETUNE)}:1"
    assert re.search(rf"^error: finetune\.tuned failed \(declared at {re.escape(declared)}\): "
                     r".*qlora quantises the base model", result.stderr, re.MULTILINE), result.stderr
    assert "= help:" in result.stderr and "lora(" in result.stderr
    statuses = node_statuses(root, result.run_id)
    assert statuses["finetune.tuned"] == "failed"
    for node_id in ("rag.compare.tuned", "evaluate.compare", "report.summary"):
        assert statuses[node_id] == "skipped", node_id
    ok = {n for n, s in statuses.items() if s in ("done", "cached")}
    assert {"corpus.docs", "index.idx", "model.gen", "questions.qa", "retrieve.compare.rag", "rag.compare.chat",
            "rag.compare.plain", "evaluate.base_only"} <= ok
    assert set(statuses) == ok | {"finetune.tuned", "rag.compare.tuned", "evaluate.compare", "report.summary"}
    metrics = result_record(root, planned["evaluate.base_only"]["fingerprint"])["metrics"]
    assert metrics["chat"]["questions"] == TEST
    assert "finetune.tuned" in executed


def test_a_generator_reused_from_another_model_declaration_generates(weights, tmp_path):
    """Two model declarations with the same weights plan as one (the second reuses the first's
    result); a pipeline generating with the second must still find its weights."""
    spec = SPEC.replace('model gen {\n  source = local("tiny-qwen")\n}',
                        'model another {\n  source = local("tiny-qwen")\n}\n\nmodel gen {\n'
                        '  source = local("tiny-qwen")\n}')
    root = write_project(tmp_path, weights, spec)
    planned = plan(root)
    assert planned["model.gen"]["action"] == "reuse"
    run_ok(root)
    answers = jsonl(artifacts(root, planned["rag.compare.chat"]["fingerprint"]) / "answers.jsonl")
    assert len(answers) == TEST
