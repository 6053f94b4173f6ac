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

import math
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


def indicator_spec(
    *,
    rate: Number | None,
    intermediate: Number,
    target: Number,
    direction: str = "higher",
    start_rate: Number | None = None,
    ci: tuple[Number, Number] | None = None,
    width: int = 300,
    height: int = 46,
) -> dict:
    """The Vega-Lite spec (a dict) of `indicator_chart_svg`."""
    import altair as alt

    if direction not in ("higher", "lower"):
        raise ValueError(f"unknown direction {direction!r}")
    c, d, i, t = _f(rate), _f(start_rate), float(intermediate), float(target)
    x = alt.X(
        "v:Q",
        scale=alt.Scale(domain=[0, 1], nice=False, clamp=True),
        axis=alt.Axis(
            values=[0, 0.25, 0.5, 0.75, 1],
            labelExpr="format(datum.value * 100, 'd') + '\u202f%'",
            title="mieux →" if direction == "higher" else "← mieux",
            titleFontSize=8, titleFontWeight="normal", titleColor="#555555", titlePadding=1,
            titleX=width if direction == "higher" else 0, titleAlign="right" if direction == "higher" else "left",
            grid=False, tickSize=3, labelFontSize=9, labelPadding=1, labelFlush=True,
        ),
    )
    # The zone where the target is reached: right of T (higher) or left of T (lower).
    good = [t, 1.0] if direction == "higher" else [0.0, t]
    bands = alt.Data(values=[{"v": 0.0, "v2": 1.0, "k": "track"}, {"v": good[0], "v2": good[1], "k": "good"}])
    layers = [
        alt.Chart(bands)
        .mark_rect(y=12, y2=28)
        .encode(
            x=x,
            x2="v2:Q",
            color=alt.Color("k:N", scale=alt.Scale(domain=["track", "good"], range=[_C_TRACK, _C_GOOD]), legend=None),
        )
    ]
    if c is not None:
        layers.append(
            alt.Chart(alt.Data(values=[{"v": 0.0, "v2": c}])).mark_rect(y=16, y2=24, color=_C_RATE, opacity=0.85)
            .encode(x=x, x2="v2:Q")
        )
    if ci is not None and c is not None:
        lo, hi = float(ci[0]), float(ci[1])
        layers.append(
            alt.Chart(alt.Data(values=[{"v": lo, "v2": hi}])).mark_rule(y=32, strokeWidth=1.2, color=_C_CI)
            .encode(x=x, x2="v2:Q")
        )
        layers.append(
            alt.Chart(alt.Data(values=[{"v": lo}, {"v": hi}])).mark_rule(y=29, y2=35, strokeWidth=1.2, color=_C_CI)
            .encode(x=x)
        )
    marks = [(i, "OI", _C_OBJ), (t, "OC", _C_TARGET)]
    if d is not None:
        marks.append((d, "D", _C_START))
    values = [{"v": v, "k": k, "col": col} for v, k, col in marks]
    layers.append(
        alt.Chart(alt.Data(values=values))
        .mark_rule(y=9, y2=31, strokeWidth=1.6, strokeDash=[3, 2])
        .encode(x=x, color=alt.Color("col:N", scale=None, legend=None))
    )
    # Letters above the bar, pushed apart when two markers are close.
    for v, k, col, dx in _spread(marks):
        layers.append(
            alt.Chart(alt.Data(values=[{"v": v}]))
            .mark_text(y=4, dx=dx, fontSize=8, fontWeight="bold", color=col, text=k)
            .encode(x=x)
        )
    if c is not None:
        layers.append(
            alt.Chart(alt.Data(values=[{"v": c}])).mark_point(
                y=20, shape="diamond", size=55, filled=True, color="#000000", opacity=1
            ).encode(x=x)
        )
    chart = alt.layer(*layers).properties(width=width, height=36)
    spec = chart.configure(font=FONT).configure_view(stroke=None).configure_axis(
        domain=False, labelFont=FONT, titleFont=FONT
    ).to_dict(validate=False)
    spec["padding"] = {"left": 4, "right": 4, "top": 2, "bottom": 1}
    spec["background"] = "white"
    return spec


def indicator_chart_svg(
    *,
    rate: Number | None,
    intermediate: Number,
    target: Number,
    direction: str = "higher",
    start_rate: Number | None = None,
    ci: tuple[Number, Number] | None = None,
    width: int = 300,
    height: int = 46,
) -> str:
    """SVG of one indicator: 0–100 % bar, observed rate (bar and ◆), Wilson interval (whiskers),
    markers D (starting rate), OI (intermediate objective), OC (target).

    Rates are fractions in [0, 1]. `direction="lower"` shades the zone at or below the target
    (lower-is-better indicators: the bar is read from the right). `rate=None` draws the
    objectives only (a neutralised or undeclared indicator). `ci` is (low, high), e.g. from
    `wilson_interval(numerator, denominator)`.
    """
    spec = indicator_spec(
        rate=rate, intermediate=intermediate, target=target, direction=direction,
        start_rate=start_rate, ci=ci, width=width, height=height,
    )
    return svg_from_spec(spec)


def svg_from_spec(spec: dict) -> str:
    """Render a Vega-Lite spec to SVG offline, with DejaVu Sans registered."""
    return _vlc().vegalite_to_svg(spec)
