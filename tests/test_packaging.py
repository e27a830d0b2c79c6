"""Packaging: the wheel carries the grammar, installs into a clean venv and works there.

The wheel test builds with `python -m build --wheel` (isolated: hatchling
comes from PyPI), installs the wheel into a fresh venv without system site
packages (lark, networkx and click come from PyPI), and runs the installed
`ragdsl` outside the source tree, so nothing from the checkout can leak in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import ragdsl
from ragdsl.syntax.grammar import grammar_path

REPO = Path(__file__).resolve().parents[1]

SPEC = """\
experiment packaged { seed = 3 }
corpus docs { source = jsonl("data/p.jsonl") }
questions qa { source = jsonl("data/qa.jsonl"); train = 2; test = 2 }
index idx { corpus = docs }
model base = "qwen2.5-0.5b-instruct"
finetune tuned { base = base; data = qa.train; samples = sweep(1, 2) }
pipeline rag(generator) { retrieve = bm25(idx, top_k = 2); generate = generator }
evaluate compare { systems = { base: rag(base), tuned: rag(tuned) }; questions = qa.test; metrics = [f1] }
"""

DATA_FILES = {
    "data/p.jsonl": '{"id": "1", "text": "Insulin is made in the pancreas."}\n',
    "data/qa.jsonl": '{"id": "q1", "question": "Where is insulin made?", "answer": "the pancreas"}\n'
                     '{"id": "q2", "question": "What makes insulin?", "answer": "the pancreas"}\n',
}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "RAGDSL_DEBUG", "PIP_USER")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list[str | Path], cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=_clean_env())
    assert proc.returncode == 0, (f"`{' '.join(map(str, cmd))}` exited {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")
    return proc


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.mark.slow
def test_wheel_ships_the_grammar_and_works_in_a_clean_venv(tmp_path):
    # 1. build
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, REPO], cwd=tmp_path)
    wheels = list(dist.glob("ragdsl-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    wheel = wheels[0]

    # 2. contents: the grammar (identical to the source one), the package, the console script
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "ragdsl/grammar/rag.lark" in names, sorted(n for n in names if "lark" in n or "grammar" in n)
        assert zf.read("ragdsl/grammar/rag.lark") == (REPO / "grammar" / "rag.lark").read_bytes()
        assert "ragdsl/cli.py" in names and "ragdsl/syntax/parser.py" in names
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "ragdsl = ragdsl.cli:main" in zf.read(entry_points).decode()
        assert not any(n.startswith(("tests/", "benchmarks/", "experiments/")) for n in names)

    # 3. a clean venv (no system site packages) with only the wheel and its dependencies
    venv = tmp_path / "venv"
    python = _bin(venv, "python")
    made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True, timeout=120,
                          env=_clean_env())
    if made.returncode == 0:
        pip = [python, "-m", "pip"]
    else:  # Debian without python3-venv has no ensurepip: make the venv bare, drive it with our pip
        assert "ensurepip" in made.stdout + made.stderr, made.stdout + made.stderr
        _run([sys.executable, "-m", "venv", "--without-pip", "--clear", venv], cwd=tmp_path, timeout=120)
        pip = [sys.executable, "-m", "pip", "--python", python]
    _run([*pip, "install", "--quiet", wheel], cwd=tmp_path, timeout=240)

    # 4. the installed package is the wheel's, and it finds its own grammar
    work = tmp_path / "work"
    for rel, text in DATA_FILES.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text, encoding="utf-8")
    (work / "spec.rag").write_text(SPEC, encoding="utf-8")
    where = _run([python, "-c", "import ragdsl, ragdsl.syntax.grammar as g; "
                  "print(ragdsl.__file__); print(g.grammar_path())"], cwd=work).stdout.splitlines()
    site = Path(where[0]).resolve()
    assert venv.resolve() in site.parents, f"ragdsl imported from {site}, not from the venv"
    assert Path(where[1]).resolve() == site.parent / "grammar" / "rag.lark"

    # 5. the console script works
    ragdsl_exe = _bin(venv, "ragdsl")
    version = _run([ragdsl_exe, "--version"], cwd=work).stdout
    assert ragdsl.__version__ in version
    check = _run([ragdsl_exe, "check", "spec.rag"], cwd=work)
    assert "spec.rag: ok" in check.stdout + check.stderr
    plan = _run([ragdsl_exe, "compile", "--dry-run", "spec.rag"], cwd=work).stdout
    assert "finetune.tuned[samples=2]" in plan
    assert "evaluate.compare" in plan
    assert not (work / ".ragdsl").exists(), "--dry-run wrote to the store"


def test_editable_install_finds_the_grammar():
    path = grammar_path()
    assert path.is_file()
    package_dir = Path(ragdsl.__file__).resolve().parent
    if package_dir.parent == REPO:  # running from the checkout (editable install)
        assert path == REPO / "grammar" / "rag.lark"
    else:  # an installed wheel
        assert path == package_dir / "grammar" / "rag.lark"


def test_the_grammar_builds_a_parser():
    from ragdsl.syntax.grammar import parser

    tree = parser().parse('model base = "x"\n', start="module")
    assert tree.data == "module"
