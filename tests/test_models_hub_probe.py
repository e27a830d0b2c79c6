"""Without hub access, catalog names resolve to their packaged copies at plan time."""

from __future__ import annotations

import socket

import pytest

from ragdsl.models import hfcache, options, resolve
from ragdsl.models.resolve import resolve_model


@pytest.fixture
def real_probe(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(options, "hub_unreachable", hfcache.hub_unreachable)
    monkeypatch.setattr(resolve, "hub_unreachable", hfcache.hub_unreachable)
    hfcache.hub_unreachable.cache_clear()
    yield hfcache.hub_unreachable
    hfcache.hub_unreachable.cache_clear()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connecting is refused


def test_an_endpoint_that_refuses_connections_is_unreachable(real_probe, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    reason = real_probe()
    assert reason is not None and reason.startswith(f"127.0.0.1:{port} unreachable")


def test_a_listening_endpoint_is_reachable(real_probe, monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert real_probe() is None


def test_unreachable_hub_makes_the_packaged_copy_the_choice(real_probe, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    resolved = resolve_model("qwen2.5-coder-1.5b-instruct", "generator")
    assert resolved.source == "packaged"
    assert resolved.identity.startswith("sha256:cc324af070c2")
    assert resolved.fetchable


def test_reachable_hub_is_still_preferred(real_probe, monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        resolved = resolve_model("qwen2.5-coder-1.5b-instruct", "generator")
    assert resolved.source == "hub"
    assert resolved.identity == "hub:Qwen/Qwen2.5-Coder-1.5B-Instruct@main"
