"""What a run shows while it works, and the table it ends with.

`make_progress(stream)` picks the display: a rich live view on a terminal (one
line per active node with a bar and elapsed time; finished nodes print a line
above it), plain lines elsewhere (logs, CI), or nothing (`quiet`). Every
display keeps the same node states, so `summary()` is the same text in all
modes. All methods are thread-safe: executors advance nodes from worker
threads.

Plain lines, in order of events:

    [plan] 3 nodes: 2 run, 1 cached
    [run] index.biomed_idx started (400 passages)
    [run] index.biomed_idx 100/400 passages (25%) 1.0s, 100/s, ETA 3.0s
    [run] finetune.tuned: loading weights
    [done] index.biomed_idx 3.2s
    [failed] evaluate.compare 0.4s: KeyError: 'f1'

Progress lines are throttled per node: one at each quarter of the total, and
otherwise at most one per `interval` seconds; notes likewise.

A node with a total shows its rate (units per second since its current phase
began) and the time left at that rate (ETA). Units a runner reports with
`resumed(node_id, n)` (finished by an earlier run, read from a checkpoint)
count toward the total but not toward the rate.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

MODES = ("auto", "rich", "plain", "quiet")
PLAIN_INTERVAL_S = 2.0
DETAIL_WIDTH = 100
_STATUS_ORDER = ("done", "cached", "failed", "skipped", "interrupted", "running", "pending")
_STYLES = {"done": "green", "cached": "dim", "failed": "bold red", "skipped": "yellow", "interrupted": "yellow"}


class Progress(Protocol):
    def plan(self, rows: list[tuple[str, str, str]]) -> None: ...  # (node_id, kind, op)

    def started(self, node_id: str, *, total: int | None = None, unit: str = "") -> None:
        """Mark a node running; on a running node, a total starts a new phase (count from 0, no note)."""

    def advance(self, node_id: str, n: int = 1) -> None: ...

    def resumed(self, node_id: str, n: int) -> None:
        """Count `n` units finished by an earlier run (from a checkpoint): progress, but not the rate."""

    def note(self, node_id: str, text: str) -> None: ...

    def finished(self, node_id: str, status: str, seconds: float, detail: str = "") -> None: ...

    def summary(self) -> str: ...

    def close(self) -> None: ...


@dataclass
class _Node:
    node_id: str
    kind: str = ""
    op: str = "run"
    status: str = "pending"
    total: int | None = None
    unit: str = ""
    completed: int = 0
    note: str = ""
    started_at: float = 0.0
    seconds: float | None = None
    detail: str = ""
    last_line_at: float = 0.0  # plain mode throttling
    last_quarter: int = 0
    last_note_at: float | None = None
    phase_at: float = 0.0  # when the current phase (count from 0) began: the rate's clock
    resumed: int = 0  # units of this phase finished by an earlier run: not part of the rate

    def count(self) -> str:
        if self.total:
            return f"{self.completed}/{self.total} {self.unit}".rstrip() + f" ({100 * self.completed // self.total}%)"
        return f"{self.completed} {self.unit}".rstrip()

    def rate(self, now: float) -> float | None:
        """Units per second worked in this run since the phase began; None before any."""
        worked, elapsed = self.completed - self.resumed, now - self.phase_at
        return worked / elapsed if worked > 0 and elapsed > 0 else None

    def speed(self, now: float) -> str:
        """`0.13/s, ETA 48m00s` for a node with a total, once it has a rate; else ""."""
        rate = self.rate(now)
        if not self.total or rate is None:
            return ""
        left = max(0, self.total - self.completed)
        return f"{format_rate(rate)}, ETA {format_seconds(left / rate)}"


class QuietProgress:
    """Keeps every node's state and prints nothing; the other displays draw from its hooks."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.RLock()
        self._nodes: dict[str, _Node] = {}
        self._began = clock()
        self._closed = False

    def plan(self, rows: list[tuple[str, str, str]]) -> None:
        with self._lock:
            for node_id, kind, op in rows:
                self._nodes[node_id] = _Node(node_id, kind, op)
            self._on_plan(rows)

    def started(self, node_id: str, *, total: int | None = None, unit: str = "") -> None:
        with self._lock:
            node = self._nodes.setdefault(node_id, _Node(node_id))
            first = node.status != "running"
            if first:
                now = self._clock()
                node.status, node.started_at, node.seconds, node.detail = "running", now, None, ""
                node.total, node.unit, node.note = total, unit, ""
                node.completed, node.last_quarter, node.last_line_at, node.last_note_at = 0, 0, now, None
                node.phase_at, node.resumed = now, 0
            elif total is not None:  # a new phase of a running node: count again from 0, old note gone
                node.total, node.unit, node.note = total, unit or node.unit, ""
                node.completed, node.last_quarter = 0, 0
                node.phase_at, node.resumed = self._clock(), 0
            self._on_started(node, first)

    def advance(self, node_id: str, n: int = 1) -> None:
        with self._lock:
            node = self._running(node_id)
            node.completed += n
            self._on_advance(node)

    def resumed(self, node_id: str, n: int) -> None:
        with self._lock:
            node = self._running(node_id)
            node.completed += n
            node.resumed += n
            self._on_advance(node)

    def note(self, node_id: str, text: str) -> None:
        with self._lock:
            node = self._running(node_id)
            node.note = text
            self._on_note(node)

    def finished(self, node_id: str, status: str, seconds: float, detail: str = "") -> None:
        with self._lock:
            node = self._nodes.setdefault(node_id, _Node(node_id))
            node.status, node.seconds, node.detail = status, seconds, first_line(detail)
            self._on_finished(node)

    def summary(self) -> str:
        with self._lock:
            now = self._clock()
            rows = [(n.node_id, n.status, now - n.started_at if n.status == "running" else n.seconds, n.detail)
                    for n in self._nodes.values()]
            return format_summary(rows, now - self._began)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._on_close()

    def _running(self, node_id: str) -> _Node:
        node = self._nodes.get(node_id)
        if node is None or node.status != "running":
            self.started(node_id)  # work reported for a node nobody announced: show it anyway
            node = self._nodes[node_id]
        return node

    # Hooks, called with the lock held.
    def _on_plan(self, rows: list[tuple[str, str, str]]) -> None: ...

    def _on_started(self, node: _Node, first: bool) -> None: ...

    def _on_advance(self, node: _Node) -> None: ...

    def _on_note(self, node: _Node) -> None: ...

    def _on_finished(self, node: _Node) -> None: ...

    def _on_close(self) -> None: ...


class PlainProgress(QuietProgress):
    """Deterministic, throttled lines: for logs, CI and anything that is not a terminal."""

    def __init__(self, stream: IO[str], *, clock: Callable[[], float] = time.monotonic,
                 interval: float = PLAIN_INTERVAL_S):
        super().__init__(clock=clock)
        self._stream = stream
        self._interval = interval

    def _emit(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def _on_plan(self, rows: list[tuple[str, str, str]]) -> None:
        self._emit(plan_line(rows))

    def _on_started(self, node: _Node, first: bool) -> None:
        if first:
            sized = f" ({node.total} {node.unit})".replace(" )", ")") if node.total is not None else ""
            self._emit(f"[run] {node.node_id} started{sized}")
        elif node.total is not None:
            self._progress_line(node, self._clock())

    def _on_advance(self, node: _Node) -> None:
        now = self._clock()
        quarter = min(4, 4 * node.completed // node.total) if node.total else 0
        if node.last_quarter < quarter < 4:
            node.last_quarter = quarter
            self._progress_line(node, now)
        elif now - node.last_line_at >= self._interval:
            node.last_quarter = max(node.last_quarter, min(quarter, 3))
            self._progress_line(node, now)

    def _on_note(self, node: _Node) -> None:
        now = self._clock()
        if node.last_note_at is None or now - node.last_note_at >= self._interval:
            node.last_note_at = now
            self._emit(f"[run] {node.node_id}: {node.note}")

    def _on_finished(self, node: _Node) -> None:
        self._emit(finished_line(node.node_id, node.status, node.seconds, node.detail))

    def _progress_line(self, node: _Node, now: float) -> None:
        node.last_line_at = now
        note = f": {node.note}" if node.note else ""
        speed = node.speed(now)
        speed = f", {speed}" if speed else ""
        self._emit(f"[run] {node.node_id} {node.count()} {format_seconds(now - node.started_at)}{speed}{note}")


class RichProgress(QuietProgress):
    """A live view for terminals: a bar per active node; finished nodes print a line above it."""

    def __init__(self, stream: IO[str] | None = None, *, clock: Callable[[], float] = time.monotonic,
                 console: Any = None):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        super().__init__(clock=clock)
        self._console = console if console is not None else Console(file=stream or sys.stderr)
        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                              TimeElapsedColumn(), TextColumn("{task.fields[speed]}"), TextColumn("{task.fields[note]}"),
                              console=self._console, get_time=clock, transient=True)
        self._tasks: dict[str, Any] = {}
        self._bars.start()

    def _print(self, line: str, style: str = "") -> None:
        from rich.text import Text

        self._bars.console.print(Text(line, style=style), soft_wrap=True)

    def _on_plan(self, rows: list[tuple[str, str, str]]) -> None:
        self._print(plan_line(rows), "bold")

    def _on_started(self, node: _Node, first: bool) -> None:
        task = self._tasks.get(node.node_id)
        if task is None:
            self._tasks[node.node_id] = self._bars.add_task(node.node_id, total=node.total, count=node.count(),
                                                            speed="", note="")
        else:
            self._bars.update(task, total=node.total, completed=node.completed, count=node.count(),
                              speed=node.speed(self._clock()), note=node.note)

    def _on_advance(self, node: _Node) -> None:
        self._bars.update(self._tasks[node.node_id], completed=node.completed, count=node.count(),
                          speed=node.speed(self._clock()))

    def _on_note(self, node: _Node) -> None:
        self._bars.update(self._tasks[node.node_id], note=node.note)

    def _on_finished(self, node: _Node) -> None:
        task = self._tasks.pop(node.node_id, None)
        if task is not None:
            self._bars.remove_task(task)
        self._print(finished_line(node.node_id, node.status, node.seconds, node.detail), _STYLES.get(node.status, ""))

    def _on_close(self) -> None:
        self._bars.stop()


def make_progress(stream: IO[str] | None = None, *, mode: str = "auto",
                  clock: Callable[[], float] = time.monotonic, interval: float = PLAIN_INTERVAL_S) -> Progress:
    """auto: rich on a terminal (when rich is installed), plain lines otherwise; or rich, plain, quiet."""
    if mode not in MODES:
        raise ValueError(f"progress mode {mode!r} is not one of {', '.join(MODES)}")
    stream = stream if stream is not None else sys.stderr
    if mode == "quiet":
        return QuietProgress(clock=clock)
    if mode == "rich" or (mode == "auto" and _is_terminal(stream)):
        try:
            return RichProgress(stream, clock=clock)
        except ImportError as exc:
            if mode == "rich":
                raise ImportError("the live display needs rich: pip install 'ragdsl[run]' (or pip install rich)") \
                    from exc
    return PlainProgress(stream, clock=clock, interval=interval)


def _is_terminal(stream: IO[str]) -> bool:
    if os.environ.get("TERM") in ("dumb", "unknown"):  # a terminal that cannot redraw lines
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


# -- text shared by every display (and by `ragdsl runs`) ----------------------------------------------


def plan_line(rows: Sequence[tuple[str, str, str]]) -> str:
    counts: dict[str, int] = {}
    for _, _, op in rows:
        counts[op] = counts.get(op, 0) + 1
    ops = sorted(counts, key=lambda op: (("run", "reuse", "cached").index(op) if op in ("run", "reuse", "cached")
                                         else 3, op))
    parts = ", ".join(f"{counts[op]} {op}" for op in ops)
    return f"[plan] {_plural(len(rows), 'node')}" + (f": {parts}" if parts else "")


def finished_line(node_id: str, status: str, seconds: float | None, detail: str = "") -> str:
    return f"[{status}] {node_id} {format_seconds(seconds)}" + (f": {detail}" if detail else "")


def format_summary(rows: Iterable[tuple[str, str, float | None, str]], wall: float) -> str:
    """The final table (node, status, time, detail) and a totals line; no trailing newline."""
    rows = list(rows)
    table = format_table(("node", "status", "time", "detail"),
                         [(node, status, format_seconds(secs), first_line(detail)) for node, status, secs, detail in rows],
                         right={2})
    counts: dict[str, int] = {}
    for _, status, _, _ in rows:
        counts[status] = counts.get(status, 0) + 1
    order = sorted(counts, key=lambda s: (_STATUS_ORDER.index(s) if s in _STATUS_ORDER else len(_STATUS_ORDER), s))
    parts = ", ".join(f"{counts[s]} {s}" for s in order)
    total = f"{_plural(len(rows), 'node')}" + (f": {parts}" if parts else "") + f" in {format_seconds(wall)}"
    return "\n".join([*table, total])


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> list[str]:
    """Aligned columns, two spaces apart; columns in `right` are right-aligned; no trailing spaces."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = []
    for row in [tuple(headers), *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_rate(per_second: float) -> str:
    """`120/s`, `12.5/s`, `0.13/s`, `0.0042/s`: about three significant digits."""
    if per_second >= 99.5:
        return f"{per_second:.0f}/s"
    text = f"{per_second:.3g}"
    if "e" in text:  # slower than one unit in 10,000 s
        text = f"{per_second:.7f}".rstrip("0").rstrip(".") or "0"
    return f"{text}/s"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 59.95:
        return f"{max(0.0, seconds):.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def first_line(text: str, width: int = DETAIL_WIDTH) -> str:
    """The line that says what happened: the first one, or a traceback's last (the exception)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = "" if not lines else lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return line if len(line) <= width else line[: width - 3] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
