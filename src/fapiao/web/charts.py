"""A tiny chart helper: bar charts as inline SVG, drawn on the server (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

PALETTE = ("#2f6fb0", "#e08a2c", "#3a9a5b", "#b5413b", "#7a5ab0")


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: list[float]


def bars(labels: list[str], series: list[Series], *, height: int = 180, title: str = "") -> str:
    """Grouped bars, one group per label; returns an <svg> element with a legend and <title>s."""
    width = max(320, 28 * len(labels) * max(1, len(series)) + 60)
    top, bottom, left = 16, 34, 44
    plot_h = height - top - bottom
    peak = max([v for s in series for v in s.values] + [1])
    group_w = (width - left - 8) / max(1, len(labels))
    bar_w = max(3.0, group_w * 0.8 / max(1, len(series)))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10">{_num(peak)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else 0
            h = plot_h * v / peak
            x = x0 + j * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(s.label)}: {_num(v)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 14}" '
            f'text-anchor="middle" font-size="10">{escape(label)}</text>'
        )
    for j, s in enumerate(series):
        x = left + j * 110
        parts.append(
            f'<rect x="{x}" y="{height - 12}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{height - 3}" font-size="11">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _num(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:g}"
