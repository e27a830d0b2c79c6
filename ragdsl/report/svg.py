"""Plots as inline SVG text: grouped bars with confidence whiskers, and line charts.

No plotting library and no scripts: the same data gives the same bytes (every
number is formatted with fixed precision), and the page stays self-contained.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 70


@dataclass(frozen=True)
class Bar:
    series: str
    value: float | None
    low: float | None = None
    high: float | None = None


def _f(x: float) -> str:
    return f"{x:.1f}"


def _frame(title: str, body: list[str], legend: Sequence[str]) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{WIDTH // 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">'
             f"{escape(title)}</text>", *body]
    x = LEFT
    for i, name in enumerate(legend):
        parts.append(f'<rect x="{x}" y="{HEIGHT - 18}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{HEIGHT - 9}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return "\n".join(parts)


def _y_axis(y_min: float, y_max: float, label: str) -> tuple[list[str], Callable[[float], float]]:
    plot_h = HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    body = [f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#333"/>',
            f'<text x="14" y="{TOP + plot_h / 2:.1f}" font-size="11" transform="rotate(-90 14 '
            f'{TOP + plot_h / 2:.1f})" text-anchor="middle">{escape(label)}</text>']
    for i in range(5):
        v = y_min + (y_max - y_min) * i / 4
        body.append(f'<line x1="{LEFT - 4}" y1="{_f(y(v))}" x2="{WIDTH - RIGHT}" y2="{_f(y(v))}" '
                    f'stroke="#ddd"/><text x="{LEFT - 6}" y="{_f(y(v) + 4)}" font-size="10" '
                    f'text-anchor="end">{v:.3g}</text>')
    return body, y


def bar_chart(title: str, groups: Sequence[tuple[str, Sequence[Bar]]], y_label: str = "score",
              y_max: float | None = None) -> str:
    """Grouped bars (one colour per series) with the CI drawn as a whisker where known."""
    series = sorted({b.series for _, bars in groups for b in bars})
    tops = [v for _, bars in groups for b in bars for v in (b.value, b.high) if v is not None]
    top = y_max if y_max is not None else (max(tops, default=1.0) or 1.0)
    top = max(top, max(tops, default=0.0))
    body, y = _y_axis(0.0, _nice(top), y_label)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(1, len(groups))
    width = min(40.0, slot * 0.8 / max(1, len(series)))
    for g, (name, bars) in enumerate(groups):
        start = LEFT + g * slot + (slot - width * len(series)) / 2
        for b in bars:
            i = series.index(b.series)
            x = start + i * width
            color = PALETTE[i % len(PALETTE)]
            if b.value is None:
                body.append(f'<text x="{_f(x + width / 2)}" y="{_f(y(0) - 4)}" font-size="9" '
                            f'text-anchor="middle">n/a</text>')
                continue
            body.append(f'<rect x="{_f(x + 1)}" y="{_f(y(b.value))}" width="{_f(width - 2)}" '
                        f'height="{_f(y(0) - y(b.value))}" fill="{color}"><title>{escape(b.series)} '
                        f'{escape(name)}: {b.value:.3f}</title></rect>')
            if b.low is not None and b.high is not None:
                cx = x + width / 2
                body.append(f'<path d="M{_f(cx)} {_f(y(b.low))}V{_f(y(b.high))}M{_f(cx - 3)} {_f(y(b.low))}'
                            f'H{_f(cx + 3)}M{_f(cx - 3)} {_f(y(b.high))}H{_f(cx + 3)}" stroke="#222"/>')
        body.append(f'<text x="{_f(LEFT + g * slot + slot / 2)}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                    f'text-anchor="middle">{escape(name)}</text>')
    return _frame(title, body, series)


def line_chart(title: str, lines: Sequence[tuple[str, Sequence[tuple[float, float]]]], x_label: str,
               y_label: str) -> str:
    points = [p for _, pts in lines for p in pts]
    if not points:
        return _frame(title, [f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">no data</text>'],
                      [])
    x_min, x_max = min(p[0] for p in points), max(p[0] for p in points)
    y_min, y_max = min(p[1] for p in points), max(p[1] for p in points)
    y_min = 0.0 if y_min >= 0 else y_min
    body, y = _y_axis(y_min, _nice(y_max) if y_max > y_min else y_min + 1, y_label)
    span = (x_max - x_min) or 1.0

    def x(v: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (v - x_min) / span

    body.append(f'<text x="{WIDTH // 2}" y="{HEIGHT - BOTTOM + 30}" font-size="11" text-anchor="middle">'
                f"{escape(x_label)} ({x_min:g} to {x_max:g})</text>")
    for i, (name, pts) in enumerate(lines):
        if not pts:
            continue
        path = "M" + "L".join(f"{_f(x(a))} {_f(y(b))}" for a, b in sorted(pts))
        body.append(f'<path d="{path}" fill="none" stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="1.5">'
                    f"<title>{escape(name)}</title></path>")
    return _frame(title, body, [name for name, _ in lines])


def _nice(v: float) -> float:
    """A round axis maximum at or above v (1, 2 or 5 times a power of ten)."""
    if v <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(v))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= v - 1e-12)
