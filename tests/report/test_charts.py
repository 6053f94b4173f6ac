"""The per-indicator chart: markers, interval, direction; fonts registered; deterministic."""

from __future__ import annotations

import re

from rosp.report.charts import chart_data, indicator_chart_svg, wilson_interval


def test_chart_svg_has_markers_scale_and_direction():
    svg = indicator_chart_svg(rate=0.42, intermediate=0.26, target=0.46, start_rate=0.30,
                              ci=wilson_interval(5, 12))
    assert svg.lstrip().startswith("<svg")
    for label in ("OI", "OC", "D", "0\u202f%", "100\u202f%", "mieux →"):
        assert label in svg, label
    assert "DejaVu Sans" in svg
    assert svg == indicator_chart_svg(rate=0.42, intermediate=0.26, target=0.46, start_rate=0.30,
                                      ci=wilson_interval(5, 12))


def test_lower_is_better_shades_the_left():
    hi = chart_data(rate=0.1, intermediate=0.19, target=0.08, direction="lower")
    assert hi["bands"][1]["v"] == 0.0 and hi["bands"][1]["v2"] == 0.08
    up = chart_data(rate=0.1, intermediate=0.19, target=0.3)
    assert up["bands"][1]["v"] == 0.3 and up["bands"][1]["v2"] == 1.0
    assert "← mieux" in indicator_chart_svg(rate=0.1, intermediate=0.19, target=0.08, direction="lower")


def test_no_rate_draws_objectives_only():
    d = chart_data(rate=None, intermediate=0.5, target=0.8, ci=(0.1, 0.9))
    assert d["bar"] == [] and d["point"] == [] and d["ci"] == []
    svg = indicator_chart_svg(rate=None, intermediate=0.5, target=0.8)
    assert "OI" in svg and not re.search(r"<path[^>]*fill=\"#1f4e79\"", svg)


def test_close_markers_are_spread():
    d = chart_data(rate=0.5, intermediate=0.26, target=0.46, start_rate=0.27)
    xs = sorted(lbl["v"] for lbl in d["labels"])
    assert xs[1] - xs[0] > 0.01
