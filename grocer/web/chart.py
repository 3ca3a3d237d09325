"""Server-rendered SVG charts (no JavaScript): price-history step lines and crawl-health bars.

Every function returns SVG markup as a string built from numbers and escaped labels only.
"""

from __future__ import annotations

import datetime as dt
from html import escape

# Colour per chain (the chains' own colours, darkened for contrast); others cycle the palette.
CHAIN_COLOURS = {"aldi": "#1f4e9c", "coles": "#d2232a", "woolworths": "#178841",
                 "iga": "#e07b00"}
PALETTE = ("#6a3d9a", "#1b9e77", "#a6761d", "#e7298a", "#666666", "#66a61e", "#7570b3")
STATE_COLOURS = {"fresh": "#178841", "stale": "#e0a800", "failed": "#d2232a", "never": "#9e9e9e"}


def colour(name: str, index: int) -> str:
    return CHAIN_COLOURS.get(name) or PALETTE[index % len(PALETTE)]


def _money(value) -> str:
    return f"${float(value):,.2f}"


def step_chart(series: list[dict], *, now: dt.datetime, width: int = 760,
               height: int = 280) -> str:
    """Step lines, one per series (``{"name", "label", "points": [{"at", "price",
    "was_price", "on_special"}, ...]}``), each held flat until its next point and drawn on to
    `now`. Specials are dots, was-prices short dashes above the line. Each line is a
    ``<path class="series" data-series=NAME>``."""
    left, right, top, bottom = 64, 16, 16, 40
    plotted = [s for s in series if s["points"]]
    if not plotted:
        return (f'<svg class="chart" role="img" aria-label="no price history" width="{width}" '
                f'height="60" viewBox="0 0 {width} 60"><text x="8" y="30">No price history '
                'yet.</text></svg>')
    times = [p["at"] for s in plotted for p in s["points"]]
    start, end = min(times), max(max(times), now)
    if end <= start:
        end = start + dt.timedelta(days=1)
    values = [float(p["price"]) for s in plotted for p in s["points"]]
    values += [float(p["was_price"]) for s in plotted for p in s["points"] if p.get("was_price")]
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(high * 0.1, 0.5)
    low, high = max(low - pad, 0), high + pad
    span = (end - start).total_seconds()

    def x(at: dt.datetime) -> float:
        return left + (at - start).total_seconds() / span * (width - left - right)

    def y(value) -> float:
        return top + (high - float(value)) / (high - low) * (height - top - bottom)

    parts = [f'<svg class="chart" role="img" aria-label="price history" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<rect class="plot" x="{left}" y="{top}" width="{width - left - right}" '
             f'height="{height - top - bottom}"/>']
    for step in range(5):  # price grid
        value = low + (high - low) * step / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}"/><text class="axis" x="{left - 6}" '
                     f'y="{y(value) + 4:.1f}" text-anchor="end">{_money(value)}</text>')
    for at, anchor in ((start, "start"), (end, "end")):
        parts.append(f'<text class="axis" x="{x(at):.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="{anchor}">{at:%Y-%m-%d %H:%M}</text>')
    legend_x = left
    for index, s in enumerate(plotted):
        stroke = colour(s["name"], index)
        points = s["points"]
        d = [f"M{x(points[0]['at']):.1f},{y(points[0]['price']):.1f}"]
        for point in points[1:]:
            d.append(f"H{x(point['at']):.1f}V{y(point['price']):.1f}")
        d.append(f"H{x(end):.1f}")
        name = escape(s["name"], quote=True)
        parts.append(f'<path class="series" data-series="{name}" stroke="{stroke}" '
                     f'd="{"".join(d)}"><title>{escape(s["label"])}</title></path>')
        for point in points:
            tip = escape(f"{s['label']}: {_money(point['price'])} from {point['at']:%Y-%m-%d %H:%M}")
            if point.get("on_special"):
                parts.append(f'<circle class="special" cx="{x(point["at"]):.1f}" '
                             f'cy="{y(point["price"]):.1f}" r="4" fill="{stroke}">'
                             f'<title>special — {tip}</title></circle>')
            if point.get("was_price"):
                parts.append(f'<line class="was" x1="{x(point["at"]) - 5:.1f}" '
                             f'x2="{x(point["at"]) + 5:.1f}" y1="{y(point["was_price"]):.1f}" '
                             f'y2="{y(point["was_price"]):.1f}" stroke="{stroke}"><title>was '
                             f'{_money(point["was_price"])} — {tip}</title></line>')
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
                     f'fill="{stroke}"/><text class="legend" x="{legend_x + 14}" '
                     f'y="{height - 5}">{escape(s["label"])}</text>')
        legend_x += 24 + 7 * len(s["label"])
    parts.append("</svg>")
    return "".join(parts)


def health_bars(chains: list[dict], *, width: int = 760, bar_height: int = 22) -> str:
    """One horizontal bar per chain, split into its fresh/stale/failed/never-crawled stores."""
    left, right = 110, 16
    height = len(chains) * (bar_height + 10) + 30
    parts = [f'<svg class="chart health" role="img" aria-label="crawl health" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for row, chain in enumerate(chains):
        counts = chain["counts"]
        total = sum(counts.values())
        top = row * (bar_height + 10) + 4
        parts.append(f'<text class="axis" x="{left - 8}" y="{top + bar_height * 0.7:.1f}" '
                     f'text-anchor="end">{escape(chain["chain_name"])}</text>')
        offset = float(left)
        for state, count in counts.items():
            if not total or not count:
                continue
            share = count / total * (width - left - right)
            parts.append(f'<rect class="state-{state}" data-state="{state}" x="{offset:.1f}" '
                         f'y="{top}" width="{share:.1f}" height="{bar_height}" '
                         f'fill="{STATE_COLOURS[state]}"><title>{count} {state}</title></rect>')
            offset += share
        if not total:
            parts.append(f'<text class="axis" x="{left}" y="{top + bar_height * 0.7:.1f}">'
                         'no stores loaded</text>')
    legend_x = left
    for state, fill in STATE_COLOURS.items():
        parts.append(f'<rect x="{legend_x}" y="{height - 16}" width="10" height="10" '
                     f'fill="{fill}"/><text class="legend" x="{legend_x + 14}" '
                     f'y="{height - 7}">{state}</text>')
        legend_x += 80
    parts.append("</svg>")
    return "".join(parts)
