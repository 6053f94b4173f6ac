"""National report: its totals equal the sums of payments.csv; sensitivity and calibration shown."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from rosp.report.statement import fr_euros


def test_report_totals_equal_payments(demo_run, tmp_path):
    from rosp.report.national import build_report, write_report

    pay = pd.read_csv(demo_run / "payments.csv", dtype=str, keep_default_na=False)
    r = build_report(demo_run, charts=False)
    grand = sum((Decimal(e) for e in pay["euros"]), Decimal(0))
    assert r["grand_total"] == grand
    assert sum(p.total for p in r["programmes"]) == grand
    for p in r["programmes"]:
        g = pay[pay["programme"] == p.slug]
        assert p.total == sum((Decimal(e) for e in g["euros"]), Decimal(0)), p.slug
        assert p.doctors == len(g)
        assert p.paid == int((g["euros"].map(Decimal) > 0).sum())
        assert p.deciles == sorted(p.deciles)
    (out,) = write_report(demo_run, tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    assert f"<b>{fr_euros(grand)}</b>" in html
    assert "Calibration des données synthétiques" in html  # the demo run is synthetic
    assert "[V]" not in html and "https://" not in html.replace("https://vega.github.io", "")


def test_quantile_is_exact_and_matches_numpy():
    import numpy as np

    from rosp.report.national import quantile

    values = sorted(Decimal(x) for x in ("0.00", "10.05", "10.10", "250.00", "1000.01"))
    for q in ("0.1", "0.5", "0.9"):
        exact = quantile(values, Decimal(q))
        assert abs(float(exact) - float(np.quantile([float(v) for v in values], float(q)))) < 1e-9
    assert quantile(values, Decimal("0.5")) == Decimal("10.10")


def test_sensitivity_table_shown_when_present(demo_run, tmp_path):
    import shutil

    from rosp.report.national import build_report

    run = tmp_path / "run"
    shutil.copytree(demo_run, run, ignore=shutil.ignore_patterns("evidence"))
    (run / "sensitivity.csv").write_text("parameter,reading,total_euros\nscoring.intermediate_share,0.50,1\n")
    r = build_report(run, charts=False)
    assert r["sensitivity"][0] == ["parameter", "reading", "total_euros"]
    assert build_report(demo_run, charts=False)["sensitivity"] is None
