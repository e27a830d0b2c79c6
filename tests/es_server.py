"""An Elasticsearch-compatible server for the `elasticsearch` tests: noida-db's binary on a free port.

noida-db (PyPI) speaks the Elasticsearch 8 REST API; see shared notes in
docs/backends.md for what it lacks. The binary inside the package is started
directly (terminating the `noida-db` console script would leave the server
running) with only its Elasticsearch face, on a free loopback port, with a data
folder of its own, so every pytest-xdist worker gets a separate server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def noida_binary() -> Path | None:
    """The server binary shipped in the noida-db wheel, or None when noida-db is not installed."""
    try:
        from importlib.resources import files

        path = Path(str(files("noida_db") / "noida-db"))
    except (ImportError, TypeError):
        return None
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoidaServer:
    """One noida-db process; `stop()` kills it (as a crash would), `start()` brings it back on the same port."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> NoidaServer:
        binary = noida_binary()
        if binary is None:
            raise RuntimeError("noida-db is not installed (pip install noida-db)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir.parent / f"noida-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [str(binary), "start", "--only", "elasticsearch", "--elasticsearch-port", str(self.port),
             "--data-dir", str(self.data_dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"},
            preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"noida-db exited with {self.process.returncode} (log: {log.name})")
            try:
                with urllib.request.urlopen(self.url, timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"noida-db did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, ask to be killed when the test process dies, so a crashed
    or killed pytest worker never leaves a server holding its port."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the fixture's finalizer still stops it
