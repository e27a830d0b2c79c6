"""The example specs in experiments/: what a newcomer copies must check, compile and stay canonical.

Top-level `experiments/*.rag` are experiments: they must check with no
diagnostics at all. `experiments/shared/*.rag` are libraries imported by the
experiments: on their own they may only warn that nothing uses their
declarations (W101), and they must still compile.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "experiments"
SPECS = sorted(EXPERIMENTS_DIR.glob("*.rag"))
LIBRARIES = sorted((EXPERIMENTS_DIR / "shared").glob("*.rag"))
ALL_SPECS = SPECS + LIBRARIES
DATA_DIR = EXPERIMENTS_DIR / "data"

EXPECTED_EXAMPLES = {"quickstart", "quickstart_elasticsearch", "retrieval_comparison", "finetuning_sweep",
                     "finetune_samples", "team_a"}


def _rel(path: Path) -> str:
    return path.relative_to(EXPERIMENTS_DIR).as_posix()


@pytest.fixture
def in_experiments(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(EXPERIMENTS_DIR)
    return EXPERIMENTS_DIR


def _plan(run_cli, spec: Path, store: Path, fmt: str = "json") -> str:
    result = run_cli("compile", "--dry-run", "--root", ".", _rel(spec), "--format", fmt, "--store", store)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_examples_exist() -> None:
    assert {p.stem for p in SPECS} >= EXPECTED_EXAMPLES
    assert {"corpora", "pipelines"} <= {p.stem for p in LIBRARIES}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_example_checks_without_diagnostics(spec: Path, run_cli, in_experiments) -> None:
    result = run_cli("check", _rel(spec))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith(f"{_rel(spec)}: ok")


@pytest.mark.parametrize("spec", LIBRARIES, ids=lambda p: p.stem)
def test_library_checks_on_its_own(spec: Path, run_cli, in_experiments) -> None:
    # Libraries read files beside their importers (../prompts): their project is experiments/.
    result = run_cli("check", "--root", ".", _rel(spec))
    assert result.exit_code == 0, result.stderr
    codes = re.findall(r"^(?:error|warning)\[(\w+)\]", result.stderr, re.MULTILINE)
    assert set(codes) <= {"W101"}, result.stderr  # "never used": expected of a library


@pytest.mark.parametrize("spec", ALL_SPECS, ids=_rel)
def test_example_compiles_to_json(spec: Path, run_cli, in_experiments, tmp_path: Path) -> None:
    plan = json.loads(_plan(run_cli, spec, tmp_path / "store"))
    assert plan["format"] == "ragdsl.plan/1"
    assert plan["spec"] == _rel(spec)
    assert plan["nodes"], "an example should plan something"
    assert plan["summary"]["nodes"] == len(plan["nodes"])
    assert {n["action"] for n in plan["nodes"]} == {"run"}  # a fresh store caches nothing
    for node in plan["nodes"]:
        assert (EXPERIMENTS_DIR / node["source"]["file"]).is_file()
    assert not (tmp_path / "store").exists(), "a dry run wrote to the store"


@pytest.mark.parametrize("spec", ALL_SPECS, ids=_rel)
def test_plans_are_byte_identical_across_runs(spec: Path, run_cli, in_experiments, tmp_path: Path) -> None:
    for fmt in ("text", "json", "dot", "mermaid"):
        first = _plan(run_cli, spec, tmp_path / "store", fmt)
        second = _plan(run_cli, spec, tmp_path / "store", fmt)
        assert first == second, f"{fmt} plan differs between two runs"


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_fingerprints_do_not_depend_on_the_working_directory(spec: Path, run_cli, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def fingerprints(cwd: Path) -> dict[str, str]:
        monkeypatch.chdir(cwd)
        shown = Path(spec).relative_to(cwd) if cwd in spec.parents else spec
        result = run_cli("compile", "--dry-run", shown, "--format", "json", "--store", tmp_path / "store")
        assert result.exit_code == 0, result.stderr
        return {n["id"]: n["fingerprint"] for n in json.loads(result.stdout)["nodes"]}

    assert fingerprints(EXPERIMENTS_DIR) == fingerprints(EXPERIMENTS_DIR.parent) == fingerprints(tmp_path)


def test_examples_are_formatted(run_cli, in_experiments) -> None:
    result = run_cli("fmt", "--check", *(_rel(p) for p in ALL_SPECS))
    assert result.exit_code == 0, result.stderr
    assert "would reformat" not in result.stderr


def test_fmt_check_accepts_the_experiments_folder(run_cli, in_experiments) -> None:
    result = run_cli("fmt", "--check", ".")
    assert result.exit_code == 0, result.stderr


# --------------------------------------------------------------- per example

def _nodes(run_cli, name: str, tmp_path: Path) -> list[dict]:
    return json.loads(_plan(run_cli, EXPERIMENTS_DIR / name, tmp_path / "store"))["nodes"]


def test_quickstart_stays_small_enough_to_run_on_a_cpu(run_cli, in_experiments, tmp_path: Path) -> None:
    nodes = _nodes(run_cli, "quickstart.rag", tmp_path)
    kinds = [n["kind"] for n in nodes]
    assert "finetune" not in kinds
    assert kinds.count("model") == 2 and kinds.count("rag") == 1  # the generator and the judge
    (questions,) = [n for n in nodes if n["kind"] == "questions"]
    assert questions["params"]["test"] <= 20
    (evaluation,) = [n for n in nodes if n["kind"] == "evaluate"]
    assert {"accuracy", "completeness", "exact_match", "f1", "recall@5"} <= set(evaluation["params"]["metrics"])
    judge = evaluation["params"]["judge"]["node"]
    generators = {i["node"] for n in nodes if n["kind"] == "rag" for i in n["inputs"] if i["role"] == "generator"}
    assert judge not in generators
    (report,) = [n for n in nodes if n["kind"] == "report"]
    assert report["params"]["formats"] == ["markdown", "html"]


def test_retrieval_comparison_sweeps_top_k_for_three_retrievers(run_cli, in_experiments, tmp_path: Path) -> None:
    nodes = _nodes(run_cli, "retrieval_comparison.rag", tmp_path)
    retrieves = [n for n in nodes if n["kind"] == "retrieve"]
    methods = {n["params"]["retrieve"]["call"] for n in retrieves}
    assert methods == {"bm25", "dense", "hybrid"}
    top_ks = {n["params"]["retrieve"]["args"]["top_k"] for n in retrieves}
    assert top_ks == {3, 5, 10}
    (hybrid, *_) = [n for n in retrieves if n["params"]["retrieve"]["call"] == "hybrid"]
    assert hybrid["params"]["retrieve"]["args"]["fusion"] == "rrf"
    (evaluation,) = [n for n in nodes if n["kind"] == "evaluate"]
    assert len(evaluation["params"]["systems"]) == 9


def test_finetuning_sweep_plans_a_grid_of_finetunes(run_cli, in_experiments, tmp_path: Path) -> None:
    nodes = _nodes(run_cli, "finetuning_sweep.rag", tmp_path)
    finetunes = [n for n in nodes if n["kind"] == "finetune"]
    assert len(finetunes) >= 12
    assert {n["params"]["samples"] for n in finetunes} == {200, 500, 1000}
    assert len({(n["params"]["samples"], n["params"]["lr"]) for n in finetunes}) == len(finetunes)
    assert len({n["fingerprint"] for n in finetunes}) == len(finetunes)
    # shared retrieval: every system answers from the same retrieved passages
    assert len([n for n in nodes if n["kind"] == "retrieve"]) == 1
    (evaluation,) = [n for n in nodes if n["kind"] == "evaluate"]
    assert len(evaluation["params"]["systems"]) == len(finetunes) + 1
    # judged metrics, by a judge that generates none of the judged answers
    assert {"accuracy", "completeness"} <= set(evaluation["params"]["metrics"])
    judge = evaluation["params"]["judge"]["node"]
    generators = {i["node"] for n in nodes if n["kind"] == "rag" for i in n["inputs"] if i["role"] == "generator"}
    assert judge not in generators


def test_team_a_uses_the_shared_declarations(run_cli, in_experiments, tmp_path: Path) -> None:
    nodes = _nodes(run_cli, "team_a.rag", tmp_path)
    declared_in = {n["id"]: n["source"]["file"] for n in nodes}
    assert declared_in["corpus.biomed"] == "shared/corpora.rag"
    assert declared_in["index.biomed_idx"] == "shared/corpora.rag"
    assert declared_in["questions.biomed_qa"] == "shared/corpora.rag"
    rag_nodes = [n for n in nodes if n["kind"] == "rag"]
    assert any(s["value"].startswith('template("../prompts/') for n in rag_nodes for s in n["stages"])


def test_shared_corpora_plan_the_same_nodes_as_a_local_copy(run_cli, in_experiments, tmp_path: Path) -> None:
    """Declared in another file, the same sources and seed (7) give the same fingerprints."""
    library = (EXPERIMENTS_DIR / "shared" / "corpora.rag").read_text(encoding="utf-8")
    local = tmp_path / "local.rag"
    local.write_text("experiment local { seed = 7 }\n" + library + "\nreport r { from = e }\n"
                     "evaluate e { systems = { c: closed(m) }; questions = biomed_qa.test; metrics = [f1] }\n"
                     'model m = "qwen2.5-coder-0.5b-instruct"\n'
                     'pipeline closed(g) { prompt = template("p.jinja"); generate = g }\n'
                     "pipeline rag(g) { retrieve = bm25(biomed_idx); prompt = template(\"p.jinja\"); generate = g }\n"
                     "evaluate e2 { systems = { r: rag(m) }; questions = biomed_qa.test; metrics = [f1] }\n",
                     encoding="utf-8")
    (tmp_path / "p.jinja").write_text("{{ question }}", encoding="utf-8")
    shared = {n["id"]: n["fingerprint"] for n in _nodes(run_cli, "team_a.rag", tmp_path)}
    result = run_cli("compile", "--dry-run", local, "--format", "json", "--store", tmp_path / "store")
    assert result.exit_code == 0, result.stderr
    copied = {n["id"]: n["fingerprint"] for n in json.loads(result.stdout)["nodes"]}
    for node in ("corpus.biomed", "index.biomed_idx", "questions.biomed_qa"):
        assert shared[node] == copied[node]


# ------------------------------------------------------------- data, prompts

def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_sample_data_is_small_and_self_consistent() -> None:
    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert total < 200 * 1024
    passages = _jsonl(DATA_DIR / "biomed" / "passages.jsonl")
    questions = _jsonl(DATA_DIR / "biomed" / "qa.jsonl")
    assert len(passages) >= 40 and len(questions) >= 60
    for rows, fields in ((passages, {"id", "title", "text"}), (questions, {"id", "question", "answer", "context"})):
        assert all(set(r) == fields for r in rows)
        assert len({r["id"] for r in rows}) == len(rows), "ids must be unique"
    texts = {p["text"] for p in passages}
    for q in questions:
        assert q["context"] in texts, f"{q['id']}: its context is not a passage"
        assert q["answer"] in q["context"], f"{q['id']}: the answer is not a span of its context"
        assert q["question"].endswith("?")


@pytest.mark.parametrize("template", sorted((EXPERIMENTS_DIR / "prompts").glob("*.jinja")), ids=lambda p: p.name)
def test_prompt_templates_render(template: Path) -> None:
    pytest.importorskip("jinja2")
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class Document:
        def __init__(self, content: str):
            self.content = content

    env = SandboxedEnvironment(undefined=StrictUndefined)
    example = {"question": "Where is insulin made?", "answer": "the pancreas", "answers": ["the pancreas"],
               "context": "Insulin is made in the pancreas.", "evidence": "Insulin is made in the pancreas."}
    source = template.read_text(encoding="utf-8")
    variables = {"examples": [example]} if "examples" in source.split("-#}", 1)[-1] else {}
    text = env.from_string(source).render(
        question="Which cells produce insulin?",
        documents=[Document("Insulin is produced by beta cells."), Document("Hemoglobin carries oxygen.")],
        **variables)
    assert "Which cells produce insulin?" in text
    if variables:  # a few-shot template shows its examples
        assert "Where is insulin made?" in text and "the pancreas" in text
    if "documents" in source.split("-#}", 1)[-1]:
        assert "Insulin is produced by beta cells." in text


@pytest.mark.parametrize("template", sorted((EXPERIMENTS_DIR / "targets").glob("*.jinja")), ids=lambda p: p.name)
def test_training_targets_render(template: Path) -> None:
    """Fine-tuning targets (`qa(target = template(...))`) render from a question's gold answer and evidence."""
    pytest.importorskip("jinja2")
    from ragdsl.data import Question
    from ragdsl.finetune.targets import render_targets, target_from_format

    fmt = {"call": "qa", "args": {"target": {"call": "template", "args": {"path": {"file": template.name}}}}}
    target = target_from_format(fmt, lambda written: template.parent / written)
    assert target is not None
    question = Question("q1", "Where is insulin made?", ("the pancreas",), "It is a hormone. Insulin is made in "
                        "the pancreas.")
    (text,) = render_targets(target, [question])
    assert "the pancreas" in text
    if template.name.startswith("json"):
        assert json.loads(text) == {"answer": "the pancreas", "evidence": "Insulin is made in the pancreas."}
