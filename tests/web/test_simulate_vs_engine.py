"""POST /api/simulate (exact scalar rule) equals `rosp score` (vectorised batch) to the cent."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rosp.catalogue import load_catalogue
from rosp.outputs import format_indicators
from rosp.scoring.batch import score_batch

CAT = load_catalogue(2018)
PROGRAMMES = {p.slug: p for p in CAT.programmes}
rates = st.one_of(st.none(), st.decimals(min_value=0, max_value=1, places=3).map(lambda d: float(d)))


@st.composite
def doctors(draw):
    slug = draw(st.sampled_from(sorted(PROGRAMMES)))
    prog = PROGRAMMES[slug]
    rows = []
    for ind in prog.indicators:
        if not draw(st.booleans()) and len(rows) > 0:
            continue  # absent indicator: denominator 0, neutralised on both sides
        den = draw(st.integers(0, 120))
        num = draw(st.integers(0, den))
        declared = draw(rates) if ind.declarative else None
        rows.append({"indicator_id": ind.id, "numerator": num, "denominator": den,
                     "start_rate": draw(rates), "declared_rate": declared})
    return slug, draw(st.integers(0, 3000)), rows


def _engine(slug, patientele, rows):
    counts = pd.DataFrame([
        {"doctor_id": "D1", "indicator_id": r["indicator_id"], "numerator": r["numerator"],
         "denominator": r["denominator"],
         "start_rate": "" if r["start_rate"] is None else repr(r["start_rate"]),
         "declared_rate": "" if r["declared_rate"] is None else repr(r["declared_rate"])}
        for r in rows
    ])
    pat = pd.DataFrame([{"doctor_id": "D1", "programme": slug, "patientele": patientele}])
    res = score_batch(counts, pat, 2018, CAT)
    return format_indicators(res.indicators), res.payments


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doctors())
def test_simulate_equals_rosp_score(client, doc):
    slug, patientele, rows = doc
    body = {"programme": slug, "year": 2018, "patientele": patientele,
            "indicators": [{k: v for k, v in r.items() if v is not None} for r in rows]}
    r = client.post("/api/simulate", json=body)
    assert r.status_code == 200, r.text
    sim = r.json()
    ind, pay = _engine(slug, patientele, rows)
    assert sim["payment"]["euros"] == pay["euros"].iloc[0]  # to the cent
    by_id = {x["indicator_id"]: x for x in sim["indicators"]}
    assert set(by_id) == set(ind["indicator_id"])
    for e in ind.to_dict("records"):
        s = by_id[e["indicator_id"]]
        assert (s["branch"], s["neutralised"]) == (e["branch"], e["neutralised"]), e["indicator_id"]
        for col in ("rate", "start_rate", "realisation", "points", "euros"):
            if e[col] == "" or s[col] == "":
                assert e[col] == s[col], col
            else:
                assert abs(Decimal(s[col]) - Decimal(e[col])) <= Decimal("0.000001"), col


def test_simulate_equals_the_rosp_score_command(client, cli, tmp_path):
    """One case through the real `rosp score` command and its CSV files."""
    rows = [{"indicator_id": "ENF-01", "numerator": 21, "denominator": 37, "start_rate": 0.4, "declared_rate": None},
            {"indicator_id": "ENF-02", "numerator": 7, "denominator": 26, "start_rate": None, "declared_rate": None}]
    counts = tmp_path / "counts.csv"
    counts.write_text("doctor_id,indicator_id,numerator,denominator,start_rate\n"
                      "D1,ENF-01,21,37,0.4\nD1,ENF-02,7,26,\n")
    pat = tmp_path / "patientele.csv"
    pat.write_text("doctor_id,programme,patientele\nD1,mt-enfant,640\n")
    r = cli("score", "--year", "2018", "--counts", str(counts), "--patientele", str(pat), "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    paid = pd.read_csv(tmp_path / "o" / "payments.csv", dtype=str)
    sim = client.post("/api/simulate", json={"programme": "mt-enfant", "year": 2018, "patientele": 640,
                                             "indicators": [{k: v for k, v in x.items() if v is not None} for x in rows]})
    assert sim.json()["payment"]["euros"] == paid["euros"].iloc[0]
    ind = pd.read_csv(tmp_path / "o" / "indicators.csv", dtype=str, keep_default_na=False)
    got = {x["indicator_id"]: x for x in sim.json()["indicators"]}
    for e in ind.to_dict("records"):
        assert got[e["indicator_id"]]["branch"] == e["branch"]
        assert got[e["indicator_id"]]["euros"] == e["euros"]
