"""Engine: counts reconcile with evidence, determinism, baseline, boxes, explain, real loader."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from clean_builders import CleanViews
from decks import DECKS, DOCTORS

from rosp.engine.run import explain_patients, run, run_on_views

OUTPUTS = ("indicators.csv", "payments.csv", "counts.csv", "patientele.csv", "manifest.json")


def scenario() -> CleanViews:
    """Every deck case (patients prefixed by indicator) + box prescriptions + declarations."""
    cv = CleanViews()
    for did, spe in (("GP1", 1), ("GP2", 1), ("CAR1", 3), ("CAR2", 3), ("GAS1", 8), ("END1", 42)):
        cv.doctor(did, spe)
    for iid, cases in sorted(DECKS.items()):
        for name, history, *_ in cases:
            history(cv, f"{iid}_{name}")
    # box-count indicators: CAR1 prescriptions, one generic, one not; CAR2 too; GP1 ignored
    cv.patient("box1", "1950-01").contacts("box1", "CAR1")
    cv.drug("box1", "2018-02-01", "C09AA05", boxes=3, prescriber="CAR1", generic_group=12, cip13=3400930000011)
    cv.drug("box1", "2018-03-01", "C09CA01", boxes=2, prescriber="CAR1", cip13=3400930000012)
    cv.drug("box1", "2018-04-01", "C10AA05", boxes=10, prescriber="CAR1", generic_group=7, cip13=3400930000013)
    cv.drug("box1", "2017-04-01", "C10AA05", boxes=50, prescriber="CAR1", cip13=3400930000013)  # previous year
    cv.drug("box1", "2018-04-01", "C10AA05", boxes=4, prescriber="GP1", cip13=3400930000013)  # not a cardiologist
    cv.patient("box2", "1950-01").contacts("box2", "CAR2")
    cv.drug("box2", "2018-02-01", "C08CA01", boxes=6, prescriber="CAR2", cip13=3400930000014)
    cv.drug("box2", "2017-05-01", "C08CA01", boxes=3, prescriber="CAR2", cip13=3400930000014)  # D under the seuil
    cv.declaration("GP1", "ENF-03", 8, 10, 0.8).declaration("END1", "END-02", 3, 4, None)
    cv.declaration("GAS1", "GAS-08", 9, 10, 0.9)
    # rejected: a declaration on an indicator computed from claims (fidelity review L-08),
    # and a declared denominator above the population computed from claims (L-14)
    cv.declaration("CAR1", "CAR-01", 10, 10, 1.0).declaration("GP2", "ENF-03", 40, 999, None)
    return cv


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    dirs = []
    for k in range(2):
        con, views = scenario().build()
        out = tmp_path_factory.mktemp(f"run{k}")
        run_on_views(con, views, 2018, out)
        dirs.append(out)
    return dirs


def test_outputs_present(two_runs):
    out = two_runs[0]
    for f in (*OUTPUTS, "timings.json"):
        assert (out / f).exists(), f
    assert sorted(p.name for p in (out / "evidence").glob("*.parquet")) == [
        "cardiologie.parquet", "endocrinologie.parquet", "gastro-enterologie.parquet", "mt-enfant.parquet",
    ]
    counts = pd.read_csv(out / "counts.csv", dtype=str, keep_default_na=False)
    assert list(counts.columns) == ["doctor_id", "indicator_id", "numerator", "denominator", "start_rate", "declared_rate"]


def test_counts_equal_evidence_sums(two_runs):
    out = two_runs[0]
    counts = pd.read_csv(out / "counts.csv", dtype={"doctor_id": str})
    ev = duckdb.sql(
        f"SELECT doctor_id, indicator_id, sum(num_units) AS n, sum(den_units) AS d "
        f"FROM read_parquet('{out}/evidence/*.parquet') GROUP BY ALL"
    ).df()
    m = counts.merge(ev, on=["doctor_id", "indicator_id"], how="left")
    computed = m[m.n.notna()]
    assert (computed.numerator == computed.n).all() and (computed.denominator == computed.d).all()
    # every indicator without evidence is either declarative or has zero counts
    rest = m[m.n.isna()]
    decl = {"ENF-03", "ENF-08", "ENF-09", "END-02", "END-05", "GAS-08"}
    assert ((rest.numerator == 0) & (rest.denominator == 0) | rest.indicator_id.isin(decl)).all()
    # patient indicators: units are 0/1 and follow the flags
    e = duckdb.sql(f"SELECT * FROM read_parquet('{out}/evidence/*.parquet')").df()
    p = e[e.reason != "boxes"]
    assert (p.den_units == p.in_denominator.astype(int)).all() and (p.num_units == p.in_numerator.astype(int)).all()


def test_deck_expectations_hold_in_full_run(two_runs):
    e = duckdb.sql(f"SELECT * FROM read_parquet('{two_runs[0]}/evidence/*.parquet')").df()
    got = {
        (r.indicator_id, r.patient_id): (r.in_denominator, r.in_numerator, r.reason)
        for r in e.itertuples()
        if r.doctor_id == DOCTORS[r.programme]
    }
    # Declaration-measured indicators with a claims definition (CAR-07, GAS-07) are
    # compiled too: their evidence is the population the declarations are checked against.
    for iid, cases in DECKS.items():
        for name, _, den, num, reason in cases:
            key = (iid, f"{iid}_{name}")
            if reason is None:
                assert key not in got, key
            else:
                assert got[key] == (den, num, reason), key


def test_box_counts(two_runs):
    counts = pd.read_csv(two_runs[0] / "counts.csv", dtype={"doctor_id": str}).set_index(["doctor_id", "indicator_id"])
    assert tuple(counts.loc[("CAR1", "CAR-08"), ["numerator", "denominator"]]) == (3, 5)
    assert tuple(counts.loc[("CAR1", "CAR-09"), ["numerator", "denominator"]]) == (10, 10)
    assert tuple(counts.loc[("CAR2", "CAR-08"), ["numerator", "denominator"]]) == (0, 6)
    assert ("GP1", "CAR-09") not in counts.index


def test_declarative_rates(two_runs):
    """Declarations supply the numerator; the denominator is the population claims compute."""
    c = pd.read_csv(two_runs[0] / "counts.csv", dtype=str, keep_default_na=False).set_index(["doctor_id", "indicator_id"])
    # GP1 declares 8/10 on ENF-03: numerator 8 over its MT children under 16 (the patientèle), not 10
    pat = pd.read_csv(two_runs[0] / "patientele.csv", dtype=str).set_index(["doctor_id", "programme"])
    children = pat.loc[("GP1", "mt-enfant"), "patientele"]
    assert children != "10"
    assert tuple(c.loc[("GP1", "ENF-03"), ["numerator", "denominator", "declared_rate"]]) == ("8", children, "")
    assert tuple(c.loc[("END1", "END-02"), ["numerator", "denominator", "declared_rate"]]) == ("3", "4", "")
    assert tuple(c.loc[("GAS1", "GAS-08"), ["numerator", "denominator", "declared_rate"]]) == ("9", "10", "")
    # CAR1's declaration of 10/10 on CAR-01 is ignored: the counts come from claims
    assert tuple(c.loc[("CAR1", "CAR-01"), ["numerator", "denominator", "declared_rate"]]) == ("2", "6", "")
    assert ("GP1", "ENF-08") not in c.index  # not declared


def test_declarations_on_claims_indicators_or_above_population_are_rejected(two_runs):
    rej = pd.read_csv(two_runs[0] / "rejected" / "ROSP_DECL.csv", dtype=str)
    got = dict(zip(rej["key"], rej["reason"], strict=True))
    assert got == {
        "CAR1|CAR-01": "CAR-01 is computed from claims, not declarative: a declaration is not accepted",
        "GP2|ENF-03": "declared denominator 999 above the population computed from claims (2)",
    }
    manifest = json.loads((two_runs[0] / "manifest.json").read_text())
    assert manifest["outputs"]["declarations_rejected"] == 2


def test_every_declared_rate_is_flagged_and_missing_ones_are_not_declared(two_runs):
    i = pd.read_csv(two_runs[0] / "indicators.csv", dtype=str, keep_default_na=False).set_index(["doctor_id", "indicator_id"])
    assert i.columns[-1] == "rate_source"
    assert i.loc[("GAS1", "GAS-08"), "rate_source"] == "declaration"
    assert i.loc[("CAR1", "CAR-07"), "rate_source"] == "declaration"
    assert i.loc[("CAR1", "CAR-01"), "rate_source"] == "claims"
    assert i.loc[("GP1", "ENF-08"), "branch"] == "not_declared"
    assert i.loc[("GP2", "ENF-03"), "branch"] == "not_declared"
    assert i.loc[("CAR1", "CAR-01"), "euros"] != "210.000000"


def test_byte_identical(two_runs):
    a, b = two_runs
    for f in OUTPUTS:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    for f in sorted((a / "evidence").glob("*.parquet")):
        assert f.read_bytes() == (b / "evidence" / f.name).read_bytes(), f.name


def test_reset_year_measures_start_rates_on_the_year_before(two_runs):
    # CAR1 prescribed 50 non-generic statin boxes in 2017: the 2018 definitions on 2017 give D.
    sr = pd.read_csv(two_runs[0] / "start_rates.csv", dtype=str, keep_default_na=False)
    assert list(sr.columns) == ["doctor_id", "indicator_id", "rate", "numerator", "denominator",
                                "reference_period", "flag"]
    row = sr.set_index(["doctor_id", "indicator_id"]).loc[("CAR1", "CAR-09")]
    assert (row["numerator"], row["denominator"], row["rate"], row["reference_period"], row["flag"]) == (
        "0", "50", "0.000000", "2017", ""), "measured on 2017, above the seuil of 10 boxes"
    counts = pd.read_csv(two_runs[0] / "counts.csv", dtype=str, keep_default_na=False)
    c = counts.set_index(["doctor_id", "indicator_id"])
    assert c.loc[("CAR1", "CAR-09"), "start_rate"] == "0.000000"
    # declaratives have no declaration history: not measured, no D
    assert set(sr.loc[sr["indicator_id"] == "ENF-03", "flag"]) == {"not_measured"}
    assert c.loc[("GP1", "ENF-03"), "start_rate"] == ""
    import json

    m = json.loads((two_runs[0] / "manifest.json").read_text())
    assert m["start_rates"]["source"] == "measured" and m["start_rates"]["reference_period"] == "2017"


def test_start_rates_file_is_reused_not_rolled(two_runs, tmp_path):
    """A later run takes D from the stored file, never from the previous run's observed rates."""
    store = pd.read_csv(two_runs[0] / "start_rates.csv", dtype=str, keep_default_na=False)
    store.loc[(store.doctor_id == "CAR1") & (store.indicator_id == "CAR-08"), ["rate", "numerator", "denominator", "flag"]] = [
        "0.123000", "123", "1000", ""]
    path = tmp_path / "store.csv"
    store.to_csv(path, index=False)
    con, views = scenario().build()
    r = run_on_views(con, views, 2019, tmp_path / "out", start_rates=path)
    c = r.counts.set_index(["doctor_id", "indicator_id"])
    assert c.loc[("CAR1", "CAR-08"), "start_rate"] == "0.123000", "the stored D, not the 2018 rate 0.600000"
    assert r.manifest["start_rates"]["source"] == "file"


def test_start_rate_below_threshold_is_flagged_and_missing_by_default(two_runs):
    sr = pd.read_csv(two_runs[0] / "start_rates.csv", dtype=str, keep_default_na=False)
    low = sr[sr["flag"] == "below_threshold"]
    assert ("CAR2", "CAR-08") in set(zip(low["doctor_id"], low["indicator_id"], strict=True)), "0/3 boxes < 10"
    assert (low["denominator"].astype(int) > 0).all()
    counts = pd.read_csv(two_runs[0] / "counts.csv", dtype=str, keep_default_na=False)
    m = low.merge(counts, on=["doctor_id", "indicator_id"])
    assert (m["start_rate"] == "").all(), "start_rates.below_threshold = missing"


def test_year_without_table_writes_counts_and_rates_only(tmp_path):
    con, views = scenario().build()
    r = run_on_views(con, views, 2017, tmp_path)
    assert r.payments is None and not (tmp_path / "payments.csv").exists()
    rates = pd.read_csv(tmp_path / "rates.csv", dtype=str, keep_default_na=False)
    assert list(rates.columns) == ["doctor_id", "indicator_id", "rate", "numerator", "denominator", "reference_period", "flag"]
    assert "aucun tableau" in r.manifest["outputs"]["scoring"]


def test_explain_patients(two_runs):
    df = explain_patients(two_runs[0], "GP1", "ENF-01")
    assert list(df.patient_id) == sorted(df.patient_id)
    assert set(df.indicator_id) == {"ENF-01"} and set(df.doctor_id) == {"GP1"}
    row = df.set_index("patient_id").loc["ENF-01_in_denominator_and_numerator"]
    assert row.reason == "numerator" and row.claim_table == "drug_deliveries" and row.claim_code == "R03BA02"


def test_patientele(two_runs):
    p = pd.read_csv(two_runs[0] / "patientele.csv", dtype={"doctor_id": str}).set_index(["doctor_id", "programme"])
    # deceased patients are not counted in the weighting patientèle
    assert p.loc[("GP1", "mt-enfant"), "patientele"] > 0
    assert ("GP2", "mt-enfant") in p.index and ("CAR1", "cardiologie") in p.index
    assert ("GP1", "cardiologie") not in p.index


# ------------------------------------------------------------ real claims loader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "claims"))


def test_corrected_away_by_negative_line_through_real_loader(tmp_path):
    builders = pytest.importorskip("builders")
    pytest.importorskip("rosp.claims.load")
    b = builders.ClaimsBuilder()
    gp = b.doctor("011000001", specialty=1)
    amox, ceftri = b.drug(3400930000101, atc="J01CA04"), b.drug(3400930000102, atc="J01DD04")
    kept = b.patient(birth=(2016, 1))
    corrected = b.patient(birth=(2016, 1))
    for pat in (kept, corrected):
        b.mt(pat, gp, dt.date(2017, 1, 1))
        b.service(pat, dt.date(2018, 1, 20), executant=gp)
        b.delivery(pat, dt.date(2018, 2, 1), amox, prescriber=gp)
        b.delivery(pat, dt.date(2018, 5, 1), ceftri, prescriber=gp)
    b.delivery(corrected, dt.date(2018, 5, 1), ceftri, boxes=-1, prescriber=gp)  # régularisation
    data = b.write(tmp_path / "data")
    r = run(data, 2018, tmp_path / "out")
    ev = explain_patients(tmp_path / "out", gp, "ENF-06").set_index("patient_id")
    assert tuple(ev.loc[kept.idt, ["in_denominator", "in_numerator", "reason"]]) == (True, True, "numerator")
    assert tuple(ev.loc[corrected.idt, ["in_denominator", "in_numerator", "reason"]]) == (True, False, "not_numerator:c3g_c4g")
    c = r.counts.set_index(["doctor_id", "indicator_id"])
    assert tuple(c.loc[(gp, "ENF-06"), ["numerator", "denominator"]]) == (1, 2)
    assert r.manifest["inputs"] and all(len(v) == 64 for v in r.manifest["inputs"].values())
