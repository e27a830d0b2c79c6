"""The front end stays light: checking, formatting and planning never import ML or server libraries.

Each case runs in a fresh interpreter (sys.modules starts clean) and reports,
at exit, which heavy modules were loaded and which were even looked for: an
import finder at the front of sys.meta_path records every attempt, so a
top-level `import torch` is caught even where torch is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "peft", "elasticsearch", "haystack", "haystack_integrations",
         "sentence_transformers", "trl", "bitsandbytes", "accelerate", "datasets")

SPEC = """\
experiment lazy { seed = 1 }
corpus docs { source = jsonl("data/p.jsonl"); split = words(size = 50) }
questions qa { source = jsonl("data/qa.jsonl"); train = 10; test = 5 }
index idx { corpus = docs; embedder = "all-minilm-l6-v2" }
index es_idx { corpus = docs; store = elasticsearch(url = "http://localhost:9200") }
model base = hf("Qwen/Qwen2.5-0.5B-Instruct")
finetune tuned { base = base; data = qa.train; samples = sweep(2, 4); method = lora(r = 8) }
pipeline rag(generator) { retrieve = hybrid(bm25(es_idx), dense(idx), top_k = 3); generate = generator }
evaluate compare { systems = { base: rag(base), tuned: rag(tuned) }; questions = qa.test; metrics = [f1, recall@3] }
report summary { from = compare }
"""

DATA_FILES = {
    "data/p.jsonl": '{"id": "1", "text": "Insulin is made in the pancreas."}\n',
    "data/qa.jsonl": '{"id": "q1", "question": "Where is insulin made?", "answer": "the pancreas"}\n',
}

PROBE = textwrap.dedent("""\
    import json, sys
    HEAVY = {heavy!r}
    attempted = []

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                attempted.append(name)
            return None  # let the normal finders decide

    sys.meta_path.insert(0, Spy())
    argv = json.loads(sys.argv[1])
    extra = json.loads(sys.argv[2])
    code = 0
    try:
        import ragdsl
        for name in extra:
            __import__(name)
        if argv is not None:
            from ragdsl.cli import main
            main(argv)
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
        print("HEAVY=" + json.dumps({{"loaded": loaded, "attempted": sorted(set(attempted)), "code": code}}))
""").format(heavy=HEAVY)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lazy")
    for rel, text in DATA_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "spec.rag").write_text(SPEC, encoding="utf-8")
    (root / "broken.rag").write_text("corpus c { source = jsonl(\"missing.jsonl\") }\nmodel m =\n",
                                     encoding="utf-8")
    return root


def _probe(argv: list[str] | None, cwd: Path, extra: tuple[str, ...] = ()) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(list(extra))], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=_env())
    line = next((x for x in proc.stdout.splitlines() if x.startswith("HEAVY=")), None)
    assert line is not None, f"probe failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(line[len("HEAVY="):]) | {"stderr": proc.stderr}


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("RAGDSL_DEBUG", None)
    env["RAGDSL_STORE"] = ".ragdsl-lazy-test"
    return env


CASES = {
    "import ragdsl": None,
    "--version": ["--version"],
    "--help": ["--help"],
    "check": ["check", "spec.rag"],
    "check --format json": ["check", "--format", "json", "spec.rag"],
    "check with errors": ["check", "broken.rag"],
    "fmt --check": ["fmt", "--check", "spec.rag"],
    "fmt --diff": ["fmt", "--diff", "spec.rag"],
    "compile --dry-run": ["compile", "--dry-run", "spec.rag"],
    "compile --dry-run --format json": ["compile", "--dry-run", "--format", "json", "spec.rag"],
    "compile --dry-run --format dot": ["compile", "--dry-run", "--format", "dot", "spec.rag"],
    "graph --format mermaid": ["graph", "--format", "mermaid", "spec.rag"],
}


@pytest.mark.parametrize("argv", list(CASES.values()), ids=list(CASES))
def test_no_heavy_module_is_imported(project, argv):
    result = _probe(argv, project)
    assert result["loaded"] == [], f"heavy modules loaded: {result['loaded']}"
    assert result["attempted"] == [], f"heavy modules looked for: {result['attempted']}"


def test_the_spec_used_here_is_valid(project):
    """Guard against a vacuous pass: the commands above really check and plan the spec."""
    result = _probe(["compile", "--dry-run", "spec.rag"], project)
    assert result["code"] == 0, result["stderr"][-2000:]
    assert _probe(["check", "broken.rag"], project)["code"] == 1


def test_the_probe_notices_an_attempted_import(project):
    """Guard the guard: a module that merely tries `import torch` is reported."""
    (project / "tries_torch.py").write_text("try:\n    import torch.nn\nexcept ImportError:\n    pass\n")
    result = _probe(None, project, extra=("tries_torch",))
    assert "torch" in result["attempted"]


def test_the_elasticsearch_backend_imports_its_client_only_when_used(project):
    modules = ("ragdsl.backends.elasticsearch", "ragdsl.backends.elasticsearch.indexer",
               "ragdsl.backends.elasticsearch.retry", "ragdsl.backends.online")
    result = _probe(None, project, extra=modules)
    assert result["loaded"] == [] and result["attempted"] == [], result
