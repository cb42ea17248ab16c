"""Building blocks of the inline-SVG charts (runtime/html/charts.py): scales and ticks, axes, threshold lines,
legends, and escaped text. Pure string building, no plotting library and no scripts; every chart is one `<svg>`
element that needs nothing from outside the page.

Coordinates are in SVG user units; every chart sets a `viewBox`, so the page may scale it down (CSS `max-width:
100%`) without re-layout.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeGuard

FONT = 11
#: Average glyph width of a sans-serif at FONT px, used to reserve room for labels.
CHAR_W = 6.3
TEXT = "#57606a"
INK = "#1f2328"
AXIS = "#8c959f"
GRID = "#eaeef2"
#: Series colours: the reference side (champion, baseline, reference data) grey, the new side blue.
OLD = "#8c959f"
NEW = "#0969da"
PALETTE = ("#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#0a7c86", "#bc4c00", "#57606a")
VERDICT = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700", "NODATA": "#8c959f"}
MARK = {"threshold": "#cf222e", "tolerance": "#bc4c00", "observed": "#1f2328"}
DASH = {"threshold": "6 3", "tolerance": "2 3", "observed": ""}

MarkKind = Literal["threshold", "tolerance", "observed"]


@dataclass(frozen=True)
class Mark:
    """A value drawn across a chart: a `threshold` (dashed red: the limit a check applies), a `tolerance` (dotted
    orange: a limit derived from the other side, such as the champion's value minus the allowed regression) or an
    `observed` statistic (solid: a percentile, a median)."""

    value: float
    label: str
    kind: MarkKind = "threshold"


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def finite(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def num(value: object) -> float | None:
    """A finite number as float, anything else (None, NaN, text) as None."""
    return float(value) if finite(value) else None


def fmt(value: object, digits: int = 4) -> str:
    """A number as people read it: 4 significant digits, no float noise; anything else as text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a" if value is None else str(value)
    if not math.isfinite(value):
        return "n/a"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def tick_text(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:g}k"
    if magnitude < 1e-3:
        return f"{value:.0e}"
    return f"{value:.6g}"


def text_width(label: str, size: float = FONT) -> float:
    return len(label) * CHAR_W * size / FONT


def clip(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: max(chars - 1, 1)] + "…"


# Scales ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """Linear map of the domain [lo, hi] onto the pixel range [start, end] (end < start for a y axis)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start + (value - self.lo) / span * (self.end - self.start)

    def clamped(self, value: float) -> float:
        return self(min(max(value, self.lo), self.hi))

    def inside(self, value: float) -> bool:
        return self.lo - 1e-12 <= value <= self.hi + 1e-12


def nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))


def nice_domain(values: Sequence[float], *, count: int = 5, zero: bool = False) -> tuple[float, float, list[float]]:
    """A rounded domain covering `values` (and 0 when `zero`) and its tick positions."""
    points = [float(v) for v in values if finite(v)] or [0.0, 1.0]
    lo, hi = min(points), max(points)
    if zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = (lo - pad if not (zero and lo == 0) else lo), hi + pad
    step = nice_step(hi - lo, count)
    lo_n, hi_n = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    ticks = [round(lo_n + i * step, 12) for i in range(round((hi_n - lo_n) / step) + 1)]
    return lo_n, hi_n, ticks


# Primitives -----------------------------------------------------------------------------------------------------
def text(x: float, y: float, label: str, *, anchor: str = "start", size: float = FONT, color: str = TEXT,
         bold: bool = False, rotate: bool = False, halo: bool = False) -> str:
    """A label; `halo` paints a white outline under it so it stays readable over bars and lines."""
    weight = ' font-weight="600"' if bold else ""
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    outline = ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' if halo else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{color}" text-anchor="{anchor}"{weight}'
            f'{turn}{outline}>{e(label)}</text>')


def line(x1: float, y1: float, x2: float, y2: float, color: str, *, width: float = 1, dash: str = "") -> str:
    pattern = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
            f'stroke-width="{width:g}"{pattern}/>')


def rect(x: float, y: float, w: float, h: float, fill: str, *, tip: str = "", opacity: float = 1.0) -> str:
    alpha = f' fill-opacity="{opacity:.3g}"' if opacity < 1 else ""
    inner = f"<title>{e(tip)}</title>" if tip else ""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{max(h, 0.0):.1f}" fill="{fill}"'
            f'{alpha}>{inner}</rect>')


def frame(width: float, height: float, label: str, body: str) -> str:
    """One chart: fixed user units, scaled by the page; the label is its accessible name and tooltip."""
    return (f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img" '
            f'aria-label="{e(label)}" font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif">'
            f"<title>{e(label)}</title>{body}</svg>")


# Axes -----------------------------------------------------------------------------------------------------------
def x_axis(scale: Scale, ticks: Sequence[float], top: float, bottom: float, label: str) -> str:
    parts = [line(scale.start, bottom, scale.end, bottom, AXIS)]
    for t in ticks:
        x = scale(t)
        parts.append(line(x, top, x, bottom, GRID))
        parts.append(text(x, bottom + 15, tick_text(t), anchor="middle"))
    if label:
        parts.append(text((scale.start + scale.end) / 2, bottom + 29, label, anchor="middle"))
    return "".join(parts)


def y_axis(scale: Scale, ticks: Sequence[float], left: float, right: float, label: str) -> str:
    parts = [line(left, scale.start, left, scale.end, AXIS)]
    for t in ticks:
        y = scale(t)
        parts.append(line(left, y, right, y, GRID))
        parts.append(text(left - 4, y + 3.5, tick_text(t), anchor="end"))
    if label:
        parts.append(text(11, (scale.start + scale.end) / 2, label, anchor="middle", rotate=True))
    return "".join(parts)


def legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    parts = []
    for name, color in items:
        parts.append(rect(x, y - 9, 10, 10, color))
        parts.append(text(x + 14, y, name))
        x += 26 + text_width(name)
    return "".join(parts)


# Threshold and statistic lines ----------------------------------------------------------------------------------
def v_marks(marks: Sequence[Mark], scale: Scale, top: float, bottom: float, label_top: float) -> str:
    """Vertical lines at x values, each labelled on its own row above the plot (rows start at `label_top`, 12 px
    apart) so labels never overlap. A value outside the domain is drawn at the edge with an arrow; a value that is
    not a finite number is left out."""
    parts = []
    for i, mark in enumerate(m for m in marks if finite(m.value)):
        color, dash = MARK[mark.kind], DASH[mark.kind]
        x = scale.clamped(mark.value)
        arrow = "" if scale.inside(mark.value) else ("→ " if mark.value > scale.hi else "← ")
        label = f"{arrow}{mark.label}: {fmt(mark.value)}"
        y = label_top + 12 * i
        anchor = "end" if x > (scale.start + scale.end) / 2 else "start"
        dx = -3 if anchor == "end" else 3
        parts.append(line(x, y + 2, x, bottom, color, width=1.5, dash=dash))
        parts.append(text(x + dx, y, label, anchor=anchor, color=color, bold=mark.kind != "observed", halo=True))
    return "".join(parts)


def h_marks(marks: Sequence[Mark], scale: Scale, left: float, right: float) -> str:
    """Horizontal lines at y values, labelled at the right end above the line (clamped to the plot)."""
    parts = []
    placed: list[float] = []
    for mark in sorted((m for m in marks if finite(m.value)), key=lambda m: m.value):
        color, dash = MARK[mark.kind], DASH[mark.kind]
        y = scale.clamped(mark.value)
        arrow = "" if scale.inside(mark.value) else ("↑ " if mark.value > scale.hi else "↓ ")
        parts.append(line(left, y, right, y, color, width=1.5, dash=dash))
        crowded = any(abs(y - p) < 12 for p in placed)
        x, anchor = (left + 4, "start") if crowded else (right - 2, "end")
        parts.append(text(x, y - 3, f"{arrow}{mark.label}: {fmt(mark.value)}", anchor=anchor, color=color,
                          bold=mark.kind != "observed", halo=True))
        placed.append(y)
    return "".join(parts)
