"""Charts drawn on the server as SVG (no script, nothing to vendor), each shown with the same
figures as a table for screen readers and for reading exact values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

BAR = "#0b5cad"
ALT = "#a4161a"
INK = "#1b1f24"
GRID = "#cfd6dd"


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]
    colour: str


def bars(title: str, labels: Sequence[str], values: Sequence[int]) -> Markup:
    """Horizontal bars, one per label, the value written at the end."""
    width, label_w, row = 520, 210, 24
    height = row * len(values) + 8
    top = max(values, default=0) or 1
    parts = [_open(title, width, height)]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + n * row
        length = (width - label_w - 50) * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" fill="{INK}" '
            f'font-size="13">{escape(_short(label, 27))}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{BAR}"/>'
            f'<text x="{label_w + length + 5:.1f}" y="{y + 16}" fill="{INK}" '
            f'font-size="13">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(title: str, days: Sequence[str], series: Sequence[Series]) -> Markup:
    """Stacked columns per day (the series in order, bottom up), dates at the ends."""
    width, height, left, bottom = 520, 180, 34, 22
    totals = [sum(s.values[n] for s in series) for n in range(len(days))]
    top = max(totals, default=0) or 1
    plot_h = height - bottom - 8
    step = (width - left - 4) / max(len(days), 1)
    parts = [_open(title, width, height)]
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}" '
        f'stroke="{GRID}"/><text x="{left - 4}" y="14" text-anchor="end" font-size="12" '
        f'fill="{INK}">{top}</text><text x="{left - 4}" y="{height - bottom}" '
        f'text-anchor="end" font-size="12" fill="{INK}">0</text>'
    )
    for n in range(len(days)):
        base: float = height - bottom
        for s in series:
            h = plot_h * s.values[n] / top
            if h > 0:
                parts.append(
                    f'<rect x="{left + n * step + 1:.1f}" y="{base - h:.1f}" '
                    f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{s.colour}"/>'
                )
            base -= h
    if days:
        parts.append(
            f'<text x="{left}" y="{height - 6}" font-size="12" fill="{INK}">{days[0]}</text>'
            f'<text x="{width - 4}" y="{height - 6}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{days[-1]}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(title: str, width: int, height: int) -> str:
    # role=img with its own name: a screen reader announces the title; the table beside it
    # carries the figures.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
    )


def _short(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
