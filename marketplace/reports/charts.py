"""Charts drawn on the server as inline SVG: no script, no chart library, nothing fetched from elsewhere.

A suppressed value (None) is drawn as no bar with a "—" in its place, never as zero.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from marketplace.reports.definitions import MONEY

WIDTH = 720
BAR_HEIGHT = 22


def _format(value: int | None, indicator: str) -> str:
    if value is None:
        return "—"
    if indicator in MONEY:
        return f"¥{value / 100:,.2f}"
    return f"{value:,}"


def _top(values: list[int | None]) -> int:
    return max([v for v in values if v] or [1])


def columns(title: str, points: list[tuple[str, int | None]], indicator: str) -> Markup:
    """A time series as columns, one per day or month, labelled under every few columns."""
    height, left, bottom, top_margin = 220, 56, 36, 24
    plot_width, plot_height = WIDTH - left - 8, height - bottom - top_margin
    top = _top([v for _label, v in points])
    step = plot_width / max(len(points), 1)
    every = max(1, len(points) // 10)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-columns" role="img" '
             f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
             f'<text x="{left - 4}" y="{top_margin + 4}" text-anchor="end" class="chart-axis">'
             f'{escape(_format(top, indicator))}</text>',
             f'<line x1="{left}" y1="{top_margin + plot_height}" x2="{WIDTH - 8}" y2="{top_margin + plot_height}" '
             f'stroke="#888"/>']
    for index, (label, value) in enumerate(points):
        x = left + index * step
        tip = escape(f"{label}: {_format(value, indicator)}")
        if value is None:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{top_margin + plot_height - 4}" text-anchor="middle" '
                         f'class="chart-suppressed">—<title>{tip}</title></text>')
        elif value:
            bar = plot_height * value / top
            parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{top_margin + plot_height - bar:.1f}" '
                         f'width="{step * 0.7:.1f}" height="{bar:.1f}" fill="#c0392b"><title>{tip}</title></rect>')
        if index % every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 20}" text-anchor="middle" class="chart-axis">'
                         f'{escape(label[-5:] if len(label) == 10 else label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(title: str, items: list[tuple[str, int | None]], indicator: str, limit: int = 15) -> Markup:
    """A breakdown as horizontal bars, largest first (at most ``limit`` of them)."""
    shown = items[:limit]
    label_width, value_width = 180, 110
    height = 30 + BAR_HEIGHT * max(len(shown), 1)
    plot_width = WIDTH - label_width - value_width
    top = _top([v for _label, v in shown])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-bars" role="img" '
             f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-label="{escape(title)}">',
             f'<title>{escape(title)}</title>', f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    for index, (label, value) in enumerate(shown):
        y = 26 + index * BAR_HEIGHT
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(label[:16])}</text>')
        if value:
            parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{plot_width * value / top:.1f}" '
                         f'height="{BAR_HEIGHT - 6}" fill="#2c6e9b"/>')
        parts.append(f'<text x="{WIDTH - 4}" y="{y + 15}" text-anchor="end" '
                     f'class="{"chart-suppressed" if value is None else "chart-value"}">'
                     f'{escape(_format(value, indicator))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
