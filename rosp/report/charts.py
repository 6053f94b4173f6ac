"""Charts of the statements and of the national report, as SVG strings.

Altair builds the Vega-Lite spec; vl-convert renders it to SVG offline (no
browser, no CDN). DejaVu Sans is registered with vl-convert and named in every
spec, and the HTML/PDF use the same family, so labels measure the same in the
chart and on the page.

The public entry point shared with the web app is `indicator_chart_svg`: one
horizontal bar on the 0–100 % scale for one indicator of one doctor, from
plain values (no run directory, no catalogue object).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

FONT = "DejaVu Sans"
#: Where Debian's fonts-dejavu-core puts the font (apt-get install fonts-dejavu-core).
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts")

Number = float | Decimal | Fraction | int

# Colours: neutral grey scale, one accent for the observed rate (prints in black and white).
_C_TRACK = "#e6e6e6"
_C_GOOD = "#cfe8d5"
_C_RATE = "#1f4e79"
_C_CI = "#1f4e79"
_C_START = "#7f7f7f"
_C_OBJ = "#b35c00"
_C_TARGET = "#2e7d32"


class ChartError(RuntimeError):
    """The chart toolchain (vl-convert, DejaVu Sans) is missing; the message says what to install."""


def font_dir() -> Path:
    """The directory holding DejaVuSans.ttf, or a ChartError saying what to install."""
    for d in FONT_DIRS:
        if (Path(d) / "DejaVuSans.ttf").exists():
            return Path(d)
    raise ChartError(
        "DejaVu Sans not found (looked in " + ", ".join(FONT_DIRS) + "); install it with "
        "`apt-get install -y fonts-dejavu-core` (or `make system-deps`)"
    )


@lru_cache(maxsize=1)
def _vlc():
    try:
        import vl_convert as vlc
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ChartError("vl-convert-python is missing: pip install vl-convert-python") from None
    vlc.register_font_directory(str(font_dir()))
    return vlc


def wilson_interval(numerator: int, denominator: int, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """95 % Wilson score interval of numerator ÷ denominator, or None when the denominator is 0."""
    n = int(denominator)
    if n <= 0:
        return None
    k = min(max(int(numerator), 0), n)
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _f(x: Number | None) -> float | None:
    if x is None:
        return None
    if isinstance(x, float) and x != x:
        return None
    return float(x)


def _pct(x: float) -> str:
    return f"{x * 100:.0f}".replace(".", ",") + " %"


def _spread(marks: list[tuple[float, str, str]], gap: float = 0.07) -> list[tuple[float, str, str, int]]:
    """Marker labels with a horizontal offset (px) so that close markers stay readable."""
    ordered = sorted(marks, key=lambda m: m[0])
    dx = [0] * len(ordered)
    for n in range(1, len(ordered)):
        if ordered[n][0] - ordered[n - 1][0] < gap:
            dx[n - 1] -= 7
            dx[n] += 7
    return [(v, k, col, off) for (v, k, col), off in zip(ordered, dx, strict=True)]


@lru_cache(maxsize=8)
def _template(direction: str, width: int, height: int) -> dict:
    """The Altair chart of one indicator, with named (empty) datasets: built once per shape."""
    import altair as alt

    # The scale is drawn with marks, not an axis: vl-convert lays axes out slowly (text measuring).
    x = alt.X("v:Q", scale=alt.Scale(domain=[0, 1], nice=False, clamp=True), axis=None)
    colour = alt.Color("col:N", scale=None, legend=None)
    layers = [
        # track and the zone where the target is reached
        alt.Chart(alt.NamedData("bands")).mark_rect(y=12, y2=28).encode(x=x, x2="v2:Q", color=colour),
        # observed rate
        alt.Chart(alt.NamedData("bar")).mark_rect(y=16, y2=24, color=_C_RATE, opacity=0.85).encode(x=x, x2="v2:Q"),
        # 95 % interval: line and end ticks
        alt.Chart(alt.NamedData("ci")).mark_rule(y=32, strokeWidth=1.2, color=_C_CI).encode(x=x, x2="v2:Q"),
        alt.Chart(alt.NamedData("ci_ends")).mark_rule(y=29, y2=35, strokeWidth=1.2, color=_C_CI).encode(x=x),
        # D, OI, OC
        alt.Chart(alt.NamedData("marks")).mark_rule(y=9, y2=31, strokeWidth=1.6, strokeDash=[3, 2])
        .encode(x=x, color=colour),
        alt.Chart(alt.NamedData("labels")).mark_text(y=4, fontSize=8, fontWeight="bold")
        .encode(x=x, text="k:N", color=colour),
        alt.Chart(alt.NamedData("point")).mark_point(
            y=20, shape="diamond", size=55, filled=True, color="#000000", opacity=1
        ).encode(x=x),
        # the 0–100 % scale and the direction of the indicator
        alt.Chart(alt.Data(values=[{"v": v / 4} for v in range(5)])).mark_rule(y=37, y2=40, color="#888888")
        .encode(x=x),
        alt.Chart(alt.Data(values=[{"v": v / 4, "k": f"{25 * v}\u202f%"} for v in range(5)]))
        .mark_text(y=46, fontSize=9, color="#222222").encode(x=x, text="k:N"),
        alt.Chart(alt.Data(values=[{"v": 1.0 if direction == "higher" else 0.0}])).mark_text(
            y=56, fontSize=8, color="#555555", text="mieux →" if direction == "higher" else "← mieux",
            align="right" if direction == "higher" else "left",
        ).encode(x=x),
    ]
    chart = alt.layer(*layers).properties(width=width, height=height)
    spec = chart.configure(font=FONT).configure_view(stroke=None).configure_axis(
        domain=False, labelFont=FONT, titleFont=FONT
    ).to_dict()
    spec["padding"] = {"left": 12, "right": 18, "top": 2, "bottom": 1}
    spec["background"] = "white"
    return spec


def chart_data(
    *,
    rate: Number | None,
    intermediate: Number,
    target: Number,
    direction: str = "higher",
    start_rate: Number | None = None,
    ci: tuple[Number, Number] | None = None,
    width: int = 300,
) -> dict[str, list[dict]]:
    """The datasets of one indicator's chart (see `_template`)."""
    if direction not in ("higher", "lower"):
        raise ValueError(f"unknown direction {direction!r}")
    c, d, i, t = _f(rate), _f(start_rate), float(intermediate), float(target)
    good = [t, 1.0] if direction == "higher" else [0.0, t]
    marks = [(i, "OI", _C_OBJ), (t, "OC", _C_TARGET)]
    if d is not None:
        marks.append((d, "D", _C_START))
    data: dict[str, list[dict]] = {
        "bands": [{"v": 0.0, "v2": 1.0, "col": _C_TRACK}, {"v": good[0], "v2": good[1], "col": _C_GOOD}],
        "bar": [],
        "ci": [],
        "ci_ends": [],
        "marks": [{"v": v, "col": col} for v, _, col in marks],
        # label positions in data units: dx pixels = dx / width on the 0–1 scale
        "labels": [{"v": v + dx / width, "k": k, "col": col} for v, k, col, dx in _spread(marks)],
        "point": [],
    }
    if c is not None:
        data["bar"] = [{"v": 0.0, "v2": c}]
        data["point"] = [{"v": c}]
        if ci is not None:
            lo, hi = float(ci[0]), float(ci[1])
            data["ci"] = [{"v": lo, "v2": hi}]
            data["ci_ends"] = [{"v": lo}, {"v": hi}]
    return data


@dataclass(frozen=True)
class IndicatorChart:
    """One indicator's chart inputs: the keywords of `indicator_spec` and `indicator_chart_svg`.

    Rates are fractions in [0, 1]. `direction="lower"` shades the zone at or below the target
    (lower-is-better indicators: the bar is read from the right). `rate=None` draws the
    objectives only (a neutralised or undeclared indicator). `ci` is (low, high), e.g. from
    `wilson_interval(numerator, denominator)`.
    """

    rate: Number | None
    intermediate: Number
    target: Number
    direction: str = "higher"
    start_rate: Number | None = None
    ci: tuple[Number, Number] | None = None
    width: int = 300
    height: int = 60

    def data(self) -> dict[str, list[dict]]:
        return chart_data(rate=self.rate, intermediate=self.intermediate, target=self.target,
                          direction=self.direction, start_rate=self.start_rate, ci=self.ci, width=self.width)


def indicator_spec(**chart) -> dict:
    """The Vega-Lite spec (a dict) of `indicator_chart_svg`; keywords of :class:`IndicatorChart`."""
    c = IndicatorChart(**chart)
    spec = dict(_template(c.direction, c.width, c.height))
    spec["datasets"] = c.data()
    return spec


def indicator_chart_svg(**chart) -> str:
    """SVG of one indicator (keywords of :class:`IndicatorChart`): 0–100 % bar, observed rate
    (bar and ◆), Wilson interval (whiskers), markers D (starting rate), OI (intermediate
    objective), OC (target)."""
    c = IndicatorChart(**chart)
    data = c.data()
    vega = json.loads(_vega_template(c.direction, c.width, c.height))
    for entry in vega.get("data", []):
        if entry.get("name") in data:
            entry["values"] = data[entry["name"]]
    return _vlc().vega_to_svg(vega)


@lru_cache(maxsize=8)
def _vega_template(direction: str, width: int, height: int) -> str:
    """The Vega spec compiled once per shape (JSON text); datasets are filled per chart."""
    spec = dict(_template(direction, width, height))
    spec["datasets"] = {k: [] for k in ("bands", "bar", "ci", "ci_ends", "marks", "labels", "point")}
    return json.dumps(_vlc().vegalite_to_vega(spec))


def svg_from_spec(spec: dict) -> str:
    """Render a Vega-Lite spec to SVG offline, with DejaVu Sans registered."""
    return _vlc().vegalite_to_svg(spec)
