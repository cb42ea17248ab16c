"""The chart types every HTML report uses, as inline SVG strings: histogram, grouped bars, horizontal bars (or dots)
with intervals, line over time, confusion matrix and binned scatter (residual plot). Each takes plain numbers and
`Mark`s (thresholds, tolerances, observed statistics) that it draws across the plot; a mark outside the data's
range is drawn at the edge with an arrow, so a threshold is on the chart even when the data is far from it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runtime.html.svg import (
    AXIS,
    GRID,
    INK,
    MARK,
    NEW,
    PALETTE,
    TEXT,
    Mark,
    Scale,
    clip,
    e,
    finite,
    fmt,
    frame,
    h_marks,
    legend,
    line,
    nice_domain,
    rect,
    text,
    text_width,
    v_marks,
    x_axis,
    y_axis,
)

__all__ = ["HBar", "Mark", "confusion_matrix", "density", "grouped_bars", "hbars", "histogram", "line_chart"]

WIDTH = 560


def _values(items: Sequence[float | None]) -> list[float]:
    return [float(v) for v in items if v is not None and finite(v)]


def histogram(edges: Sequence[float], counts: Sequence[float], *, title: str, x_label: str,
              marks: Sequence[Mark] = (), overflow: float = 0, color: str = NEW) -> str:
    """Counts per bin [edges[i], edges[i+1]); `overflow` counts values beyond the last edge."""
    top, bottom, left, right = 16 + 12 * len(marks), 190 + 12 * len(marks), 48, WIDTH - 14
    height = bottom + 36
    _, y_hi, y_ticks = nice_domain([*counts, 1], zero=True)
    ys = Scale(0, y_hi, bottom, top)
    xs = Scale(edges[0], edges[-1], left, right) if len(edges) > 1 else Scale(0, 1, left, right)
    x_ticks = [t for t in nice_domain([edges[0], edges[-1]], count=6)[2] if xs.inside(t)]
    parts = [y_axis(ys, y_ticks, left, right, "count"), x_axis(xs, x_ticks, top, bottom, x_label)]
    for i, count in enumerate(counts):
        x0, x1 = xs(edges[i]), xs(edges[i + 1])
        parts.append(rect(x0 + 0.5, ys(count), x1 - x0 - 1, bottom - ys(count), color,
                          tip=f"[{fmt(edges[i])}, {fmt(edges[i + 1])}): {fmt(count)}"))
    if overflow:
        parts.append(text(right, top + 12 * len(marks) + 12, f"+{fmt(overflow)} beyond {fmt(edges[-1])}",
                          anchor="end"))
    parts.append(v_marks(marks, xs, top, bottom, 12))
    return frame(WIDTH, height, title, "".join(parts))


def grouped_bars(categories: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str,
                 y_label: str, marks: Sequence[Mark] = (), colors: Mapping[str, str] | None = None,
                 note: str = "", percent: bool = False, width: float = WIDTH) -> str:
    """One group of bars per category, one bar per series; `marks` are horizontal lines (y values)."""
    k, n = max(len(categories), 1), max(len(series), 1)
    rotated = k > 6
    top, left, right = 34, 76 if rotated else 52, width - 14
    bottom = 200
    label_room = 62 if rotated else 24
    height = bottom + label_room + 14
    values = [v for s in series.values() for v in _values(s)] + [m.value for m in marks if finite(m.value)]
    y_lo, y_hi, y_ticks = nice_domain(values, zero=True)
    ys = Scale(y_lo, y_hi, bottom, top)
    slot = (right - left) / k
    bar = min(slot * 0.8 / n, 56.0)
    pad = (slot - bar * n) / 2
    palette = colors or {}
    base = ys(0.0)
    parts = [y_axis(ys, y_ticks, left, right, y_label), line(left, base, right, base, AXIS)]
    for j, (name, vals) in enumerate(series.items()):
        color = palette.get(name, PALETTE[j % len(PALETTE)])
        for i, value in enumerate(vals):
            if value is None or not finite(value):
                continue
            x = left + i * slot + pad + j * bar
            shown = f"{100 * value:.2f}%" if percent else fmt(value)
            parts.append(rect(x, min(ys(value), base), bar - 0.5, abs(base - ys(value)), color,
                              tip=f"{categories[i] if i < len(categories) else i}: {name} {shown}"))
    step = max(1, math.ceil(k / 16))
    chars = max(3, int(slot * step / 6.3))
    for i in range(0, len(categories), step):
        x = left + (i + 0.5) * slot
        if rotated:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 10:.1f}" font-size="10" fill="{TEXT}" text-anchor="end" '
                         f'transform="rotate(-35 {x:.1f} {bottom + 10:.1f})">{e(clip(categories[i], 14))}</text>')
        else:
            parts.append(text(x, bottom + 14, clip(categories[i], chars), anchor="middle"))
    parts.append(legend([(name, palette.get(name, PALETTE[j % len(PALETTE)])) for j, name in enumerate(series)],
                        left, 14))
    if note:
        parts.append(text(right, 14, note, anchor="end", color=INK))
    parts.append(h_marks(marks, ys, left, right))
    return frame(width, height, title, "".join(parts))


@dataclass(frozen=True)
class HBar:
    """One row of a horizontal bar (or dot) chart: a value with an optional interval [low, high], its own
    threshold tick, and a text shown at the right."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    color: str = NEW
    mark: Mark | None = None
    note: str = ""
    tip: str = field(default="")


def hbars(rows: Sequence[HBar], *, title: str, x_label: str, marks: Sequence[Mark] = (), zero: bool = True) -> str:
    """Rows of bars from 0 (`zero`) or dots on a zoomed axis (`zero=False`, for values that differ in the third
    digit), each with its interval whisker and its own threshold tick; chart-wide `marks` are vertical lines."""
    row_h = 24
    label_w = min(190.0, max([text_width(r.label) for r in rows] + [20]) + 12)
    note_w = min(230.0, max([text_width(r.note) for r in rows] + [0]) + 10)
    left, right = label_w, WIDTH - note_w - 8
    top = 16 + 12 * len(marks)
    bottom = top + row_h * max(len(rows), 1) + 4
    height = bottom + 36
    values = [v for r in rows for v in (r.value, r.low, r.high) if v is not None and finite(v)]
    values += [m.value for m in marks if finite(m.value)]
    values += [r.mark.value for r in rows if r.mark is not None and finite(r.mark.value)]
    lo, hi, ticks = nice_domain(values, zero=zero)
    xs = Scale(lo, hi, left, right)
    parts = [x_axis(xs, ticks, top, bottom, x_label)]
    for i, row in enumerate(rows):
        y = top + i * row_h + 4
        mid = y + (row_h - 8) / 2
        parts.append(text(left - 8, mid + 4, clip(row.label, int(label_w / 6.3)), anchor="end", color=INK))
        tip = row.tip or f"{row.label}: {fmt(row.value)}"
        if row.value is None or not finite(row.value):
            parts.append(text(left + 4, mid + 4, "no value", color=TEXT))
        elif zero:
            x0, x1 = xs(max(lo, 0.0)), xs(row.value)
            parts.append(rect(min(x0, x1), y, abs(x1 - x0), row_h - 8, row.color, tip=tip))
        else:
            parts.append(f'<circle cx="{xs(row.value):.1f}" cy="{mid:.1f}" r="5" fill="{row.color}">'
                         f"<title>{e(tip)}</title></circle>")
        if row.low is not None and row.high is not None and finite(row.low) and finite(row.high):
            a, b = xs.clamped(row.low), xs.clamped(row.high)
            parts += [line(a, mid, b, mid, INK, width=1.5), line(a, mid - 5, a, mid + 5, INK, width=1.5),
                      line(b, mid - 5, b, mid + 5, INK, width=1.5)]
        if row.mark is not None and finite(row.mark.value):
            x = xs.clamped(row.mark.value)
            parts.append(line(x, y - 2, x, y + row_h - 6, MARK[row.mark.kind], width=2, dash="3 2"))
        if row.note:
            parts.append(text(right + 8, mid + 4, row.note))
    parts.append(v_marks(marks, xs, top, bottom, 12))
    return frame(WIDTH, height, title, "".join(parts))


def line_chart(x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str, y_label: str,
               marks: Sequence[Mark] = (), colors: Mapping[str, str] | None = None, x_label: str = "") -> str:
    """One line per series over evenly spaced points (periods); None leaves a gap."""
    top, left, right = 34, 56, WIDTH - 14
    bottom = 200
    height = bottom + 40
    n = max(len(x_labels), 1)
    values = [v for s in series.values() for v in _values(s)] + [m.value for m in marks if finite(m.value)]
    y_lo, y_hi, y_ticks = nice_domain(values, zero=True)
    ys = Scale(y_lo, y_hi, bottom, top)
    xs = Scale(0, max(n - 1, 1), left + 8, right - 8)
    palette = colors or {}
    parts = [y_axis(ys, y_ticks, left, right, y_label), line(left, bottom, right, bottom, AXIS)]
    step = max(1, math.ceil(n / 6))
    for i in range(0, len(x_labels), step):
        parts.append(line(xs(i), bottom, xs(i), bottom + 4, AXIS))
        parts.append(text(xs(i), bottom + 15, x_labels[i], anchor="middle"))
    if x_label:
        parts.append(text((left + right) / 2, bottom + 31, x_label, anchor="middle"))
    for j, (name, vals) in enumerate(series.items()):
        color = palette.get(name, PALETTE[j % len(PALETTE)])
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(vals):
            if value is None or not finite(value):
                runs.append([])
                continue
            point = (xs(i), ys(value))
            runs[-1].append(point)
            label = x_labels[i] if i < len(x_labels) else str(i)
            parts.append(f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="2.5" fill="{color}">'
                         f"<title>{e(f'{name} {label}: {fmt(value)}')}</title></circle>")
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    parts.append(legend([(name, palette.get(name, PALETTE[j % len(PALETTE)])) for j, name in enumerate(series)],
                        left, 14))
    parts.append(h_marks(marks, ys, left, right))
    return frame(WIDTH, height, title, "".join(parts))


def _shade(share: float, hue: str) -> str:
    """Blue (agreement) or red (confusion) at an opacity that grows with the share of the row."""
    base = {"blue": (9, 105, 218), "red": (207, 34, 46)}[hue]
    weight = 0.08 + 0.92 * min(max(share, 0.0), 1.0)
    r, g, b = (round(255 - (255 - c) * weight) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"


def confusion_matrix(labels: Sequence[str], counts: Sequence[Sequence[float]], *, title: str, note: str = "") -> str:
    """Rows: actual class; columns: predicted class. Shade: the cell's share of its row (the class's recall on
    the diagonal), blue on the diagonal, red off it; every cell shows its count."""
    k = max(len(labels), 1)
    cell = max(18.0, min(72.0, 330 / k))
    label_w = min(120.0, max([text_width(str(x)) for x in labels] + [20]) + 10)
    left, top = 26 + label_w, 62
    size = cell * k
    width = max(300.0, left + size + 20, text_width(note) + 24)
    height = top + size + 30
    parts = [text(left + size / 2, 30, "predicted", anchor="middle", color=INK, bold=True),
             text(12, top + size / 2, "actual", anchor="middle", color=INK, bold=True, rotate=True)]
    if note:
        parts.append(text(12, height - 8, note, color=INK))
    for j, label in enumerate(labels):
        x = left + (j + 0.5) * cell
        parts.append(text(x, top - 8, clip(str(label), max(2, int(cell / 6.3))), anchor="middle"))
    for i, label in enumerate(labels):
        row = counts[i] if i < len(counts) else []
        total = sum(row) or 1
        y = top + i * cell
        parts.append(text(left - 6, y + cell / 2 + 4, clip(str(label), int(label_w / 6.3)), anchor="end"))
        for j, count in enumerate(row):
            share = count / total
            fill = _shade(share, "blue" if i == j else "red") if count else "#ffffff"
            parts.append(rect(left + j * cell, y, cell - 1, cell - 1, fill,
                              tip=f"actual {label}, predicted {labels[j]}: {fmt(count)} ({100 * share:.1f}% of row)"))
            if cell >= 22:
                ink = "#ffffff" if share > 0.55 else INK
                parts.append(text(left + (j + 0.5) * cell, y + cell / 2 + 4, fmt(count), anchor="middle",
                                  size=10 if cell < 34 else 11, color=ink))
    parts.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{size:.1f}" height="{size:.1f}" fill="none" '
                 f'stroke="{GRID}"/>')
    return frame(width, height, title, "".join(parts))


def density(x_edges: Sequence[float], y_edges: Sequence[float], counts: Sequence[Sequence[float]], *, title: str,
            x_label: str, y_label: str, x_marks: Sequence[Mark] = (), y_marks: Sequence[Mark] = (),
            note: str = "") -> str:
    """A binned scatter: `counts[i][j]` rows fall in x bin i and y bin j, shaded by count (square root, so a few
    outliers stay visible). For residuals: x the prediction, y actual minus predicted."""
    top, left, right = 18 + 12 * len(x_marks), 56, WIDTH - 14
    bottom = top + 220
    height = bottom + 40
    xs = Scale(x_edges[0], x_edges[-1], left, right)
    ys = Scale(y_edges[0], y_edges[-1], bottom, top)
    x_ticks = [t for t in nice_domain([x_edges[0], x_edges[-1]], count=6)[2] if xs.inside(t)]
    y_ticks = [t for t in nice_domain([y_edges[0], y_edges[-1]], count=5)[2] if ys.inside(t)]
    top_count = max([c for col in counts for c in col] + [1])
    parts = [y_axis(ys, y_ticks, left, right, y_label), x_axis(xs, x_ticks, top, bottom, x_label)]
    for i, column in enumerate(counts):
        for j, count in enumerate(column):
            if not count:
                continue
            x0, x1, y0, y1 = xs(x_edges[i]), xs(x_edges[i + 1]), ys(y_edges[j + 1]), ys(y_edges[j])
            parts.append(rect(x0, y0, x1 - x0, y1 - y0, NEW,
                              tip=f"x [{fmt(x_edges[i])}, {fmt(x_edges[i + 1])}), y [{fmt(y_edges[j])}, "
                              f"{fmt(y_edges[j + 1])}): {fmt(count)}",
                              opacity=0.15 + 0.85 * math.sqrt(count / top_count)))
    if note:
        parts.append(text(left + 4, top + 12, note, color=INK, halo=True))
    parts.append(h_marks(y_marks, ys, left, right))
    parts.append(v_marks(x_marks, xs, top, bottom, 12))
    return frame(WIDTH, height, title, "".join(parts))
