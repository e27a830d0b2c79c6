"""The run display: plain lines (content, order, throttling), the summary table, rich rendering, threads."""

from __future__ import annotations

import io
import sys
import threading

import pytest

from ragdsl.execute.progress import (
    PlainProgress,
    QuietProgress,
    RichProgress,
    first_line,
    format_rate,
    format_seconds,
    format_summary,
    format_table,
    make_progress,
)


class FakeClock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


PLAN = [("corpus.docs", "corpus", "cached"), ("index.biomed_idx", "index", "run"),
        ("evaluate.compare", "evaluate", "run")]


def play(progress, clock: FakeClock) -> None:
    """A small run: one cached node, one index built in 400 steps, one failed evaluation."""
    progress.plan(PLAN)
    progress.finished("corpus.docs", "cached", 0.0)
    progress.started("index.biomed_idx", total=400, unit="passages")
    for _ in range(400):
        clock.tick(0.01)
        progress.advance("index.biomed_idx")
    progress.finished("index.biomed_idx", "done", 4.0, "400 passages")
    progress.started("evaluate.compare")
    progress.note("evaluate.compare", "loading weights")
    clock.tick(0.5)
    progress.finished("evaluate.compare", "failed", 0.5, "KeyError: 'f1'\n  more detail")


def test_plain_lines_in_order():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock)
    play(progress, clock)
    assert out.getvalue() == (
        "[plan] 3 nodes: 2 run, 1 cached\n"
        "[cached] corpus.docs 0.0s\n"
        "[run] index.biomed_idx started (400 passages)\n"
        "[run] index.biomed_idx 100/400 passages (25%) 1.0s, 100/s, ETA 3.0s\n"
        "[run] index.biomed_idx 200/400 passages (50%) 2.0s, 100/s, ETA 2.0s\n"
        "[run] index.biomed_idx 300/400 passages (75%) 3.0s, 100/s, ETA 1.0s\n"
        "[done] index.biomed_idx 4.0s: 400 passages\n"
        "[run] evaluate.compare started\n"
        "[run] evaluate.compare: loading weights\n"
        "[failed] evaluate.compare 0.5s: KeyError: 'f1'\n"
    )


def test_plain_progress_is_throttled_by_time_between_quarters():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=2.0)
    progress.started("finetune.tuned", total=10_000, unit="steps")
    for _ in range(40):  # 20% in 10 s: a line every 2 s, never one per step
        clock.tick(0.25)
        progress.advance("finetune.tuned", 50)
    lines = out.getvalue().splitlines()
    assert lines == [
        "[run] finetune.tuned started (10000 steps)",
        "[run] finetune.tuned 400/10000 steps (4%) 2.0s, 200/s, ETA 48.0s",
        "[run] finetune.tuned 800/10000 steps (8%) 4.0s, 200/s, ETA 46.0s",
        "[run] finetune.tuned 1200/10000 steps (12%) 6.0s, 200/s, ETA 44.0s",
        "[run] finetune.tuned 1600/10000 steps (16%) 8.0s, 200/s, ETA 42.0s",
        "[run] finetune.tuned 2000/10000 steps (20%) 10.0s, 200/s, ETA 40.0s",
    ]


def test_plain_progress_without_total_counts_every_interval():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=2.0)
    progress.started("corpus.docs", unit="documents")
    for _ in range(10):
        clock.tick(0.5)
        progress.advance("corpus.docs", 10)
    assert out.getvalue().splitlines() == [
        "[run] corpus.docs started",
        "[run] corpus.docs 40 documents 2.0s",
        "[run] corpus.docs 80 documents 4.0s",
    ]


def test_plain_notes_are_throttled_and_progress_lines_carry_the_latest():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=2.0)
    progress.started("finetune.tuned", total=4, unit="epochs")
    for step in range(10):
        clock.tick(0.5)
        progress.note("finetune.tuned", f"loss {2.0 - step / 10:.2f}")
    progress.advance("finetune.tuned")
    assert out.getvalue().splitlines() == [
        "[run] finetune.tuned started (4 epochs)",
        "[run] finetune.tuned: loss 2.00",
        "[run] finetune.tuned: loss 1.60",
        "[run] finetune.tuned: loss 1.20",
        "[run] finetune.tuned 1/4 epochs (25%) 5.0s, 0.2/s, ETA 15.0s: loss 1.10",
    ]


def test_started_again_begins_a_phase_without_a_second_start_line():
    """The executor announces a node; its runner then says how much work there is."""
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock)
    progress.started("corpus.docs")
    progress.note("corpus.docs", "reading documents")
    clock.tick(1.0)
    progress.started("corpus.docs", total=8, unit="documents")
    progress.advance("corpus.docs", 2)
    clock.tick(1.0)
    progress.started("corpus.docs", total=4, unit="chunks")
    progress.advance("corpus.docs", 2)
    assert out.getvalue().splitlines() == [
        "[run] corpus.docs started",
        "[run] corpus.docs: reading documents",
        "[run] corpus.docs 0/8 documents (0%) 1.0s",
        "[run] corpus.docs 2/8 documents (25%) 1.0s",
        "[run] corpus.docs 0/4 chunks (0%) 2.0s",
        "[run] corpus.docs 2/4 chunks (50%) 2.0s",
    ]


def test_work_on_an_unannounced_node_starts_it():
    out = io.StringIO()
    progress = PlainProgress(out, clock=FakeClock())
    progress.advance("index.idx", 3)
    assert out.getvalue().splitlines() == ["[run] index.idx started"]
    assert "index.idx  running" in progress.summary()


def test_summary_is_an_aligned_table_with_totals():
    clock = FakeClock()
    progress = QuietProgress(clock=clock)
    play(progress, clock)
    clock.tick(1.0)
    assert progress.summary() == (
        "node              status  time  detail\n"
        "corpus.docs       cached  0.0s\n"
        "index.biomed_idx  done    4.0s  400 passages\n"
        "evaluate.compare  failed  0.5s  KeyError: 'f1'\n"
        "3 nodes: 1 done, 1 cached, 1 failed in 5.5s"
    )


def test_summary_shows_nodes_that_never_finished():
    clock = FakeClock()
    progress = QuietProgress(clock=clock)
    progress.plan([("a.one", "corpus", "run"), ("a.two", "index", "run")])
    progress.started("a.one")
    clock.tick(75.0)
    assert progress.summary().splitlines() == [
        "node   status    time  detail",
        "a.one  running  1m15s",
        "a.two  pending      -",
        "2 nodes: 1 running, 1 pending in 1m15s",
    ]


def test_summary_is_the_same_text_in_every_mode():
    texts = []
    for make in (lambda c: QuietProgress(clock=c), lambda c: PlainProgress(io.StringIO(), clock=c),
                 lambda c: RichProgress(clock=c, console=_console(io.StringIO()))):
        clock = FakeClock()
        progress = make(clock)
        play(progress, clock)
        progress.close()
        texts.append(progress.summary())
    assert texts[0] == texts[1] == texts[2]


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0.0, "0.0s"), (3.24, "3.2s"), (59.9, "59.9s"), (59.96, "1m00s"), (65, "1m05s"),
    (3599, "59m59s"), (3600, "1h00m"), (7384, "2h03m"), (-0.2, "0.0s"),
])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_format_table_aligns_and_trims():
    assert format_table(("a", "num", "c"), [("xyz", "1", ""), ("q", "1234", "end")], right={1}) == [
        "a     num  c",
        "xyz     1",
        "q    1234  end",
    ]


def test_first_line_picks_the_exception_of_a_traceback_and_truncates():
    assert first_line("\n  boom  \nsecond") == "boom"
    assert first_line('Traceback (most recent call last):\n  File "x", line 1\nValueError: bad') == "ValueError: bad"
    assert first_line("x" * 200, 20) == "x" * 17 + "..."
    assert format_summary([], 0.0) == "node  status  time  detail\n0 nodes in 0.0s"


def test_many_threads_advancing_lose_nothing():
    out = io.StringIO()
    progress = PlainProgress(out, interval=0.0)  # the real clock, a line per advance: maximum contention
    progress.plan([(f"n.{i}", "index", "run") for i in range(4)])
    for i in range(4):
        progress.started(f"n.{i}", total=8 * 500, unit="docs")

    def work(worker: int) -> None:
        for step in range(500):
            progress.advance(f"n.{worker % 4}")
            if step % 100 == 0:
                progress.note(f"n.{worker % 4}", f"worker {worker}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        progress.finished(f"n.{i}", "done", 1.0)
    lines = out.getvalue().splitlines()
    assert all(line.startswith(("[plan] ", "[run] n.", "[done] n.")) for line in lines)
    assert sum(line.startswith("[run] n.") and "/4000 docs" in line for line in lines) == 32 * 500
    assert "4 nodes: 4 done" in progress.summary()
    for i in range(4):  # each node's last progress line saw every advance
        assert any(line.startswith(f"[run] n.{i} 4000/4000 docs (100%) ") for line in lines)


def _console(buffer: io.StringIO):
    from rich.console import Console

    return Console(file=buffer, force_terminal=True, width=100, color_system=None)


def test_rich_mode_renders_bars_and_finished_lines():
    clock, buffer = FakeClock(), io.StringIO()
    progress = RichProgress(clock=clock, console=_console(buffer))
    progress.plan(PLAN)
    progress.started("index.biomed_idx", total=400, unit="passages")
    progress.advance("index.biomed_idx", 200)
    progress.note("index.biomed_idx", "embedding")
    progress._bars.refresh()
    live = buffer.getvalue()
    assert "index.biomed_idx" in live and "200/400 passages (50%)" in live and "embedding" in live
    progress.finished("index.biomed_idx", "done", 3.2)
    progress.started("evaluate.compare")
    progress.advance("evaluate.compare", 7)
    progress.finished("evaluate.compare", "failed", 0.1, "[bold]not markup[/bold]")
    progress.close()
    progress.close()  # idempotent
    text = buffer.getvalue()
    assert "[plan] 3 nodes: 2 run, 1 cached" in text
    assert "[done] index.biomed_idx 3.2s" in text
    assert "[failed] evaluate.compare 0.1s: [bold]not markup[/bold]" in text


def test_rich_mode_from_threads_does_not_crash():
    progress = RichProgress(console=_console(io.StringIO()))
    progress.plan([(f"n.{i}", "index", "run") for i in range(8)])

    def work(i: int) -> None:
        progress.started(f"n.{i}", total=1000, unit="docs")
        for _ in range(1000):
            progress.advance(f"n.{i}")
        progress.finished(f"n.{i}", "done", 0.5)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    progress.close()
    assert "8 nodes: 8 done" in progress.summary()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_make_progress_picks_a_display(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    assert isinstance(make_progress(io.StringIO()), PlainProgress)
    assert isinstance(make_progress(io.StringIO(), mode="plain"), PlainProgress)
    quiet = make_progress(io.StringIO(), mode="quiet")
    assert type(quiet) is QuietProgress
    live = make_progress(_Terminal())
    assert isinstance(live, RichProgress)
    live.close()
    with pytest.raises(ValueError, match="not one of"):
        make_progress(io.StringIO(), mode="fancy")
    monkeypatch.setenv("TERM", "dumb")  # cannot redraw: plain lines even on a terminal
    assert isinstance(make_progress(_Terminal()), PlainProgress)


def test_quiet_prints_nothing():
    out = io.StringIO()
    clock = FakeClock()
    play(make_progress(out, mode="quiet", clock=clock), clock)
    assert out.getvalue() == ""


def test_without_rich_auto_falls_back_to_plain_and_rich_mode_explains(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich -> ImportError
    assert isinstance(make_progress(_Terminal()), PlainProgress)
    with pytest.raises(ImportError, match=r"pip install 'ragdsl\[run\]'"):
        make_progress(_Terminal(), mode="rich")


# ------------------------------------------------------------------------------------- rate and ETA


def test_progress_lines_show_rate_and_eta():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=1000.0)
    progress.started("rag.e.qwen", total=500, unit="questions")
    for _ in range(125):
        clock.tick(8.0)
        progress.advance("rag.e.qwen")
    assert out.getvalue().splitlines()[-1] == \
        "[run] rag.e.qwen 125/500 questions (25%) 16m40s, 0.125/s, ETA 50m00s"


def test_resumed_units_count_toward_progress_but_not_the_rate():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=1000.0)
    progress.started("rag.e.qwen", total=100, unit="questions")
    progress.resumed("rag.e.qwen", 40)  # finished by an earlier run: no rate yet
    assert out.getvalue().splitlines()[-1] == "[run] rag.e.qwen 40/100 questions (40%) 0.0s"
    clock.tick(10.0)
    progress.advance("rag.e.qwen", 20)  # 20 in 10 s: 2/s, 40 left
    assert out.getvalue().splitlines()[-1] == "[run] rag.e.qwen 60/100 questions (60%) 10.0s, 2/s, ETA 20.0s"


def test_a_new_phase_restarts_the_rate():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=1000.0)
    progress.started("evaluate.e", total=4, unit="answers")
    clock.tick(100.0)
    progress.advance("evaluate.e", 4)
    progress.started("evaluate.e", total=10, unit="judgments")  # a slower phase starts from 0
    progress.resumed("evaluate.e", 5)
    clock.tick(6.0)
    progress.advance("evaluate.e", 3)
    assert out.getvalue().splitlines()[-1] == "[run] evaluate.e 8/10 judgments (80%) 1m46s, 0.5/s, ETA 4.0s"


def test_nodes_without_a_total_show_no_eta():
    clock, out = FakeClock(), io.StringIO()
    progress = PlainProgress(out, clock=clock, interval=1.0)
    progress.started("corpus.docs", unit="documents")
    clock.tick(2.0)
    progress.advance("corpus.docs", 10)
    assert out.getvalue().splitlines()[-1] == "[run] corpus.docs 10 documents 2.0s"


@pytest.mark.parametrize(("rate", "text"), [
    (1234.5, "1234/s"), (100.0, "100/s"), (99.96, "100/s"), (12.5, "12.5/s"), (2.0, "2/s"), (0.1266, "0.127/s"),
    (0.0042, "0.0042/s"), (0.00001234, "0.0000123/s"),
])
def test_format_rate(rate, text):
    assert format_rate(rate) == text


def test_rich_mode_shows_rate_and_eta():
    clock, buffer = FakeClock(), io.StringIO()
    progress = RichProgress(clock=clock, console=_console(buffer))
    progress.started("rag.e.qwen", total=400, unit="questions")
    progress.resumed("rag.e.qwen", 100)
    clock.tick(50.0)
    progress.advance("rag.e.qwen", 100)
    progress._bars.refresh()
    assert "200/400 questions (50%)" in buffer.getvalue() and "2/s, ETA 1m40s" in buffer.getvalue()
    progress.close()


def test_every_display_takes_resumed():
    for progress in (QuietProgress(), PlainProgress(io.StringIO()), RichProgress(console=_console(io.StringIO()))):
        progress.started("index.idx", total=10, unit="passages")
        progress.resumed("index.idx", 4)
        progress.finished("index.idx", "done", 1.0)
        progress.close()
        assert "index.idx  done" in progress.summary()
