"""Dated declarations (ROSP_DECL.DECL_ANN): N rows score N, N-1 rows are the declared
starting rates of the reset year, any other year is a counted reject with its reason.

Deck: one GP, médecin traitant of three children (born 2010) seen in 2017 and 2018;
each declaration row is named by its outcome. Before DECL_ANN existed the 2017 rows
were read as declarations for 2018 (duplicate key, or taken for N) and declarative
indicators never had a starting rate.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "claims"))
from builders import ClaimsBuilder  # noqa: E402

from rosp.catalogue import load_catalogue  # noqa: E402
from rosp.engine.declarations import screen_run_declarations  # noqa: E402

GP = "011000001"


def _decl(b: ClaimsBuilder, ind: str, num: int, den: int, year: int | None) -> None:
    b.rows["ROSP_DECL"].append({"STA_PFS_NUM": GP, "INDICATOR_ID": ind, "DECL_NUM": num, "DECL_DEN": den,
                                "DECL_RATE": num / den, "DECL_ANN": year})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from rosp.engine.run import run

    b = ClaimsBuilder()
    b.doctor(GP, specialty=1)
    for _ in range(3):
        child = b.patient(birth=(2010, 5))
        b.mt(child, GP, date(2015, 1, 1))
        b.service(child, date(2017, 3, 1), executant=GP)
        b.service(child, date(2018, 3, 1), executant=GP)
    # ENF-03, declared for 2018 (DECL_ANN empty = the payment year): the rate of N
    _decl(b, "ENF-03", 2, 3, None)
    # "declared in 2017 -> starting rate from the declaration"
    _decl(b, "ENF-03", 1, 3, 2017)
    # "declaration for 2015 -> rejected"
    _decl(b, "ENF-09", 1, 1, 2015)
    # "declared in 2017 on a computed indicator -> rejected"
    _decl(b, "ENF-01", 1, 1, 2017)
    # "declared in 2017 above the population of 2017 -> rejected"
    _decl(b, "ENF-08", 5, 999, 2017)
    data = b.write(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("run")
    run(data, 2018, out)
    return out


def test_declared_in_2017_gives_the_starting_rate(run_dir):
    sr = pd.read_csv(run_dir / "start_rates.csv", dtype=str, keep_default_na=False).set_index(
        ["doctor_id", "indicator_id"])
    row = sr.loc[(GP, "ENF-03")]
    assert (row["rate"], row["numerator"], row["denominator"], row["reference_period"]) == (
        "0.333333", "1", "3", "2017")
    assert row["flag"] != "not_measured"


def test_declared_for_2018_still_scores_2018(run_dir):
    c = pd.read_csv(run_dir / "counts.csv", dtype=str, keep_default_na=False).set_index(
        ["doctor_id", "indicator_id"])
    assert tuple(c.loc[(GP, "ENF-03"), ["numerator", "denominator"]]) == ("2", "3")


def test_other_years_and_bad_2017_rows_are_rejected_with_their_reason(run_dir):
    rej = pd.read_csv(run_dir / "rejected" / "ROSP_DECL.csv", dtype=str)
    got = dict(zip(rej["key"], rej["reason"], strict=True))
    assert got == {
        f"{GP}|ENF-09|2015": ("declaration for 2015: a run of 2018 reads the declarations for 2018 "
                              "and, in the reset year of the starting rates, for 2017"),
        f"{GP}|ENF-01|2017": ("declaration for 2017 (starting rate): ENF-01 is computed from claims, "
                              "not declarative: a declaration is not accepted"),
        f"{GP}|ENF-08|2017": ("declaration for 2017 (starting rate): declared denominator 999 above "
                              "the population computed from claims (0)"),
    }
    assert set(rej.loc[rej["key"].str.endswith("2015"), "column"]) == {"DECL_ANN"}


# ---------------------------------------------------------------- spec table (pure)

CAT = load_catalogue(2018)
POPS = pd.DataFrame({"doctor_id": ["D1"], "indicator_id": ["ENF-03"], "population": [10]})

#: (case, declaration year, read N-1?, accepted for N, accepted for N-1, rejected)
CASES = [
    ("no year column value = the payment year", None, True, 1, 0, 0),
    ("2018 row in a 2018 run = N", 2018, True, 1, 0, 0),
    ("2017 row read as starting rate in the reset year", 2017, True, 0, 1, 0),
    ("2017 row when N-1 is not read (--start-rates, not the reset year) = rejected", 2017, False, 0, 0, 1),
    ("2015 row = rejected", 2015, True, 0, 0, 1),
    ("2019 row (after N) = rejected", 2019, True, 0, 0, 1),
]


@pytest.mark.parametrize("case,year,read_prev,n_acc,prev_acc,n_rej", CASES, ids=[c[0] for c in CASES])
def test_dated_declaration_spec(tmp_path, case, year, read_prev, n_acc, prev_acc, n_rej):
    decl = pd.DataFrame({"doctor_id": ["D1"], "indicator_id": ["ENF-03"], "numerator": [4], "denominator": [10],
                         "declared_rate": [0.4], "year": [year]})
    acc, rejected, prev = screen_run_declarations(
        decl, CAT, POPS, tmp_path, year=2018, previous_pops=POPS if read_prev else None,
        previous_reason="declaration for 2017: not read")
    assert (len(acc), 0 if prev is None else len(prev), rejected) == (n_acc, prev_acc, n_rej), case
