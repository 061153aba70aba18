"""The recent-runs chart, drawn on the server as SVG: one bar per run, oldest on the left, its height the run's
duration and its colour the outcome. Every bar has a `<title>` (run, outcome, duration, start), so a pointer or a
screen reader can tell them apart; the chart as a whole has a text summary for `aria-label`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from erp_sync.web.console.formatting import duration, outcome_class, status_label, when

WIDTH, HEIGHT = 1000, 150
TOP, BOTTOM, LEFT = 6, 1, 0
MIN_BAR = 3.0


@dataclass(frozen=True)
class _Bar:
    x: float
    width: float
    height: float
    css: str
    title: str


def _bars(runs: list[dict[str, Any]]) -> list[_Bar]:
    ordered = list(reversed(runs))  # the history arrives newest first
    slot = (WIDTH - LEFT) / max(len(ordered), 30)
    longest = max((r["duration_ms"] or 0 for r in ordered), default=0) or 1
    plot = HEIGHT - TOP - BOTTOM
    bars = []
    for index, run in enumerate(ordered):
        height = max(plot * (run["duration_ms"] or 0) / longest, MIN_BAR)
        title = (f"run {run['id']} · {status_label(run['status'])} · {duration(run['duration_ms'])} · "
                 f"{when(run['started_at'])}")
        bars.append(_Bar(LEFT + index * slot + slot * 0.15, slot * 0.7, height, outcome_class(run["status"]), title))
    return bars


def summary(runs: list[dict[str, Any]]) -> str:
    """The chart in words: how many runs, by outcome, and the longest."""
    if not runs:
        return "No runs yet."
    counts = Counter(status_label(r["status"]) for r in runs)
    longest = max((r["duration_ms"] or 0 for r in runs), default=0)
    parts = ", ".join(f"{n} {label}" for label, n in counts.most_common())
    return f"The last {len(runs)} runs: {parts}; the longest took {duration(longest)}."


def runs_chart(runs: list[dict[str, Any]]) -> Markup:
    """The chart of `runs` (newest first, as the run history answers): an SVG of bars, stretched to the width it
    gets, with its scale written beside it in HTML so the text keeps its size on a phone."""
    if not runs:
        return Markup('<p class="muted">No runs yet: the chart fills in as runs finish.</p>')
    longest = max((r["duration_ms"] or 0 for r in runs), default=0)
    base = HEIGHT - BOTTOM
    parts = ['<figure class="chart-box">',
             '<div class="chart-scale" aria-hidden="true">',
             f'<span>{escape(duration(longest))}</span><span>0</span></div>',
             f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" role="img" '
             f'aria-label="{escape(summary(runs))}">',
             f'<line class="grid" x1="0" y1="{TOP}" x2="{WIDTH}" y2="{TOP}" vector-effect="non-scaling-stroke"/>',
             f'<line class="axis" x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" vector-effect="non-scaling-stroke"/>']
    for bar in _bars(runs):
        parts.append(f'<rect class="bar {bar.css}" x="{bar.x:.1f}" y="{base - bar.height:.1f}" '
                     f'width="{bar.width:.1f}" height="{bar.height:.1f}"><title>{escape(bar.title)}</title></rect>')
    parts.append('</svg><figcaption class="chart-axis" aria-hidden="true"><span>older</span><span>latest</span>'
                 '</figcaption></figure>')
    return Markup("".join(parts))  # noqa: S704  # every interpolated text above is escaped
