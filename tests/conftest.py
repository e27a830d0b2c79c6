"""Fixtures shared by the test suite.

- `--update-goldens` (fixture `update_goldens`): rewrite golden files instead
  of comparing against them.
- `run_cli`: invoke the `ragdsl` command in-process and get its exit code,
  stdout and stderr separately.
- `golden`: compare text with a golden file, or rewrite it under
  `--update-goldens`.

Paths in ragdsl's output are shown relative to the working directory, so
tests that compare output chdir (with monkeypatch) to a known folder first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# Haystack phones home on import unless told not to; tests never should.
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"
# Plans show cost estimates from this machine's observed rates: tests start from none (defaults),
# and their runs do not teach the user's rates file (each test gets its own, see `own_rates`).
os.environ["RAGDSL_RATES"] = os.path.join(__import__("tempfile").mkdtemp(prefix="ragdsl-rates-"), "rates.json")


@pytest.fixture(autouse=True)
def own_rates(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("RAGDSL_RATES", str(tmp_path_factory.mktemp("rates") / "rates.json"))

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
GOLDENS_DIR = TESTS_DIR / "goldens"
EXPERIMENTS_DIR = REPO_ROOT / "experiments"

# The public datasets (../shared/data beside the repository, as CI lays it out): tests
# read named datasets from this folder, never from the network.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
if SHARED_DATA.is_dir():
    os.environ.setdefault("RAGDSL_DATA_DIR", str(SHARED_DATA))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests needing it skip without it, except under CI, where they fail."""
    if not SHARED_DATA.is_dir():
        message = f"the public datasets folder {SHARED_DATA} is missing"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


# Environment variables that change what ragdsl reads or prints.
_RAGDSL_ENV = ("RAGDSL_STORE", "RAGDSL_DEBUG")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite golden files under tests/goldens/ from the current output instead of comparing.",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `ragdsl ARGS...` in-process, in the current working directory."""
    from click.testing import CliRunner

    from ragdsl.cli import cli

    for name in _RAGDSL_ENV:
        monkeypatch.delenv(name, raising=False)
    try:  # click < 8.2 mixes stderr into stdout unless told not to
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        runner = CliRunner()

    def run(*args: str | os.PathLike[str]) -> CliResult:
        result = runner.invoke(cli, [os.fspath(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Compare `actual` with the golden file at `path` (or rewrite it when updating)."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    if not path.is_file():
        pytest.fail(f"missing golden file {path.relative_to(REPO_ROOT)}; "
                    "run `pytest tests/test_goldens.py --update-goldens` and review the new file")
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"output differs from {path.relative_to(REPO_ROOT)} (--update-goldens rewrites it)"


@pytest.fixture
def golden(update_goldens: bool) -> Callable[[Path, str], None]:
    def compare(path: Path, actual: str) -> None:
        check_golden(path, actual, update_goldens)

    return compare


# ------------------------------------------------------------------ Elasticsearch


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory):
    """The URL of an Elasticsearch-compatible server for tests marked `elasticsearch`.

    A real cluster when ES_URL is set; otherwise noida-db, started here on a free
    loopback port (one per xdist worker) and killed at the end. Without noida-db the
    tests are skipped locally, and fail under CI=true, where they must really run.
    """
    from es_server import NoidaServer, noida_binary

    url = os.environ.get("ES_URL")
    if url:
        yield url
        return
    if noida_binary() is None:
        message = "no ES_URL and noida-db is not installed (pip install noida-db)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    server = NoidaServer(tmp_path_factory.mktemp("noida") / "data").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def real_elasticsearch() -> bool:
    """Whether the tests talk to a real cluster (ES_URL), not the emulator."""
    return bool(os.environ.get("ES_URL"))


@pytest.fixture(autouse=True)
def hub_counts_as_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolution probes the hub's reachability; in-process tests pin the answer to "reachable".

    Whether a hub source is usable then depends only on HF_HUB_OFFLINE and the
    caches a test sets up, as on a machine with hub access. Tests of the probe
    itself (tests/test_models_hub_probe.py) undo this.
    """
    monkeypatch.setattr("ragdsl.models.options.hub_unreachable", lambda: None)
    monkeypatch.setattr("ragdsl.models.resolve.hub_unreachable", lambda: None)
