"""Resolving named datasets to their sources, fetching, and checking files against pinned hashes.

A test entry with two small files is added to the catalog; files are served by a web
server on the loopback address for the publisher and mirror routes. The real entries
are checked against the shared data folder, and a spec naming a dataset that cannot
be had here is followed from the warning to `ragdsl run` refusing to start.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from ragdsl.data import DataError, fetch
from ragdsl.data.catalog import CATALOG, DataFile, Dataset
from ragdsl.semantics.schema import DATASETS

QA = b'{"question": "Where is the Eiffel Tower?", "answer": ["Paris"]}\n'
NOTES = b"optional notes\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(tmp_path: Path):
    """A loopback web server over tmp_path/www: (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, served):
    """A catalog entry `toy` whose publisher is the loopback server; empty cache, no data folder."""
    base, www = served
    entry = Dataset("toy", "Toy QA", "tests", "toy",
                    (DataFile("qa.jsonl", (sha(QA),), f"{base}/publisher/qa.jsonl"),
                     DataFile("notes.txt", (sha(NOTES),), f"{base}/publisher/notes.txt", optional=True)),
                    "CC0", "Nobody, 2026", "one question", provides=("questions",))
    monkeypatch.setitem(CATALOG, "toy", entry)
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RAGDSL_DATA_DIR", raising=False)
    monkeypatch.delenv("RAGDSL_DATA_MIRROR", raising=False)
    fetch._unreachable.cache_clear()
    (www / "publisher").mkdir()
    return entry, www / "publisher"


def test_the_schema_names_every_catalog_dataset():
    assert set(DATASETS) == set(CATALOG)


def test_a_data_folder_is_used_in_place_and_verified(toy, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "toy"
    folder.mkdir(parents=True)
    (folder / "qa.jsonl").write_bytes(QA)
    monkeypatch.setenv("RAGDSL_DATA_DIR", str(tmp_path / "data"))
    resolved = fetch.resolve("toy")
    assert (resolved.source, resolved.available) == ("folder", True)
    assert resolved.locator == "folder $RAGDSL_DATA_DIR/toy"  # no absolute path in plans
    assert resolved.identity == f"dataset:toy files:qa.jsonl={sha(QA)[:16]} reader:{fetch.READER_VERSION}"
    assert fetch.files(resolved) == {"qa.jsonl": folder / "qa.jsonl"}


def test_a_wrong_file_in_a_data_folder_is_named_with_both_hashes_and_left_alone(toy, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "toy"
    folder.mkdir(parents=True)
    (folder / "qa.jsonl").write_bytes(b"tampered\n")
    monkeypatch.setenv("RAGDSL_DATA_DIR", str(tmp_path / "data"))
    (toy[1] / "qa.jsonl").write_bytes(QA)
    resolved = fetch.resolve("toy")
    assert resolved.source == "url"  # the folder is refused; the publisher is next
    unusable = fetch._folder(toy[0])
    assert unusable is not None and not unusable.available
    assert sha(b"tampered\n") in unusable.state and sha(QA) in unusable.state
    # changed after planning: refused at read time, and the user's file is kept
    (folder / "qa.jsonl").write_bytes(QA)
    good = fetch.resolve("toy")
    (folder / "qa.jsonl").write_bytes(b"changed again\n")
    with pytest.raises(DataError) as caught:
        fetch.files(good)
    assert sha(b"changed again\n") in caught.value.message and sha(QA) in caught.value.message
    assert "ragdsl never changes files in a data folder" in caught.value.hint
    assert (folder / "qa.jsonl").read_bytes() == b"changed again\n"


def test_the_publisher_copy_is_fetched_once_into_the_cache(toy, tmp_path):
    entry, publisher = toy
    (publisher / "qa.jsonl").write_bytes(QA)  # the optional notes are not published
    resolved = fetch.resolve("toy")
    assert (resolved.source, resolved.available, resolved.fetchable) == ("url", False, True)
    files = fetch.files(resolved)
    cached = tmp_path / "cache" / "datasets" / "files" / sha(QA)[:16] / "qa.jsonl"
    assert files == {"qa.jsonl": cached} and cached.read_bytes() == QA
    (publisher / "qa.jsonl").unlink()
    again = fetch.resolve("toy")
    assert (again.source, again.available) == ("cache", True)
    assert again.identity == resolved.identity  # where the bytes came from changes no fingerprint
    assert fetch.files(again) == files


def test_a_damaged_cached_copy_is_discarded(toy, tmp_path):
    (toy[1] / "qa.jsonl").write_bytes(QA)
    cached = fetch.files(fetch.resolve("toy"))["qa.jsonl"]
    cached.write_bytes(b"bit rot\n")
    with pytest.raises(DataError) as caught:
        fetch.files(fetch.resolve("toy"))
    assert sha(b"bit rot\n") in caught.value.message and "has been removed" in caught.value.hint
    assert not cached.exists()
    assert fetch.resolve("toy").source == "url"


def test_a_download_with_the_wrong_hash_is_refused_and_not_kept(toy, tmp_path):
    (toy[1] / "qa.jsonl").write_bytes(b"a newer release\n")
    with pytest.raises(DataError) as caught:
        fetch.files(fetch.resolve("toy"))
    message = caught.value.message
    assert "/publisher/qa.jsonl has sha256 " + sha(b"a newer release\n") in message
    assert f"expected {sha(QA)}" in message
    assert not list((tmp_path / "cache").rglob("qa.jsonl"))


def test_a_mirror_with_the_data_folder_layout_comes_before_the_publisher(toy, served, monkeypatch):
    base, www = served
    (www / "mirror" / "toy").mkdir(parents=True)
    (www / "mirror" / "toy" / "qa.jsonl").write_bytes(QA)
    (www / "mirror" / "toy" / "notes.txt").write_bytes(NOTES)
    monkeypatch.setenv("RAGDSL_DATA_MIRROR", f"{base}/mirror/")
    resolved = fetch.resolve("toy")
    assert resolved.source == "mirror"
    assert set(fetch.files(resolved)) == {"qa.jsonl", "notes.txt"}


def test_nowhere_to_get_it_is_a_clear_remedy(toy, monkeypatch):
    monkeypatch.setattr(fetch, "_unreachable", lambda url: "unreachable (test)")
    resolved = fetch.resolve("toy")
    assert (resolved.source, resolved.available, resolved.fetchable) == ("missing", False, False)
    assert resolved.hint.startswith("put qa.jsonl into $RAGDSL_DATA_DIR/toy/")
    assert "ragdsl data pull toy" in resolved.hint
    with pytest.raises(DataError, match="not available here"):
        fetch.files(resolved)


def test_a_hub_dataset_in_the_local_cache_is_read_from_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    refs = tmp_path / "hub" / "datasets--allenai--qasper" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(commit)
    resolved = fetch.resolve("qasper")
    assert (resolved.source, resolved.available) == ("hub", True)
    assert resolved.identity == f"dataset:qasper hub:allenai/qasper@{commit} reader:{fetch.READER_VERSION}"


def test_a_hub_dataset_offline_and_uncached_is_missing_with_a_remedy(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    resolved = fetch.resolve("qasper")
    assert resolved.source == "missing" and "HF_HUB_OFFLINE" in resolved.state
    assert "allenai/qasper" in resolved.hint


@pytest.mark.parametrize("name", ["pubmedqa", "covid_qa", "squad_v1", "squad_v2", "nq_open", "qasper_sample",
                                  "factbook_2015"])
def test_every_dataset_in_the_shared_folder_resolves_to_it(shared_data, name):
    resolved = fetch.resolve(name)
    assert (resolved.source, resolved.available) == ("folder", True), resolved.state
    assert resolved.files is not None and all(p.parent.parent == shared_data for p in resolved.files.values())


# ------------------------------------------------------------------ in a spec


SPEC = """\
experiment e { seed = 1 }
questions papers {
  source = dataset("qasper")
  test = 5
}
model m = "qwen2.5-coder-0.5b-instruct"
pipeline closed(g) {
  prompt = template("p.jinja")
  generate = g
}
evaluate e {
  systems = { c: closed(m) }
  questions = papers.test
  metrics = [f1]
}
"""


def test_an_unavailable_dataset_warns_at_its_line_and_run_refuses(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    Path("spec.rag").write_text(SPEC, encoding="utf-8")
    Path("p.jinja").write_text("{{ question }}", encoding="utf-8")
    plan = run_cli("compile", "--dry-run", "spec.rag", "--store", "store")
    assert plan.exit_code == 0
    assert "warning[W421]: dataset 'qasper' (questions.papers) is not available here" in plan.stderr
    assert "--> spec.rag:2:1" in plan.stderr and "allenai/qasper" in plan.stderr
    assert "Traceback" not in plan.stderr
    run = run_cli("run", "spec.rag", "--store", "store", "--progress", "quiet")
    assert run.exit_code == 1
    assert "1 dataset cannot be loaded here (see the warnings above); nothing was run" in run.stderr
    assert not Path("store", "artifacts").exists()


def test_plans_show_where_a_dataset_comes_from(run_cli, shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("spec.rag").write_text(SPEC.replace('"qasper"', '"nq_open"'), encoding="utf-8")
    Path("p.jinja").write_text("{{ question }}", encoding="utf-8")
    plan = run_cli("compile", "--dry-run", "spec.rag", "--store", "store")
    assert plan.exit_code == 0, plan.stderr
    assert "    data nq_open: folder $RAGDSL_DATA_DIR/nq_open, dataset:nq_open files:NQ-open.dev.jsonl=" in plan.stdout


def test_data_commands_list_show_and_pull(run_cli, shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path))
    listing = run_cli("data", "list")
    assert listing.exit_code == 0
    assert all(name in listing.stdout for name in CATALOG)
    assert "pubmedqa       biomedical" in listing.stdout
    shown = run_cli("data", "show", "pubmedqa", "--examples", "1")
    assert shown.exit_code == 0, shown.stderr
    assert "questions  1,000" in shown.stdout and "Jin et al., 2019" in shown.stdout and "licence: MIT" in shown.stdout
    pulled = run_cli("data", "pull", "nq_open")
    assert pulled.exit_code == 0 and "nq_open: available (folder $RAGDSL_DATA_DIR/nq_open), verified" in pulled.stdout
    unknown = run_cli("data", "show", "pubmed")
    assert unknown.exit_code == 1 and "did you mean 'pubmedqa'?" in unknown.stderr


def test_a_hub_copy_reads_into_the_same_records_as_the_files(shared_data, monkeypatch, tmp_path):
    """The hub route end to end, with `datasets` replaced at its boundary by the file's own rows."""
    import json

    from ragdsl.data import read_source

    from_files = read_source({"call": "dataset", "args": {"name": "nq_open"}}, Path)[1]
    monkeypatch.delenv("RAGDSL_DATA_DIR")
    monkeypatch.setenv("RAGDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    refs = tmp_path / "hub" / "datasets--google-research-datasets--nq_open" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("f" * 40)
    asked = []

    def rows(args):
        asked.append(dict(args))
        lines = (shared_data / "nq_open" / "NQ-open.dev.jsonl").read_text(encoding="utf-8").splitlines()
        return ((f"row {n}", json.loads(line)) for n, line in enumerate(lines, 1))

    monkeypatch.setattr("ragdsl.data.hf.hf_records", rows)
    assert fetch.resolve("nq_open").source == "hub"
    from_hub = read_source({"call": "dataset", "args": {"name": "nq_open"}}, Path)[1]
    assert asked == [{"dataset": "google-research-datasets/nq_open", "config": None, "split": "validation"}]
    assert from_hub == from_files
