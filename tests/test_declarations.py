"""Declarations: accepted only where the catalogue measures from declarations (§3 of issue 7).

Each case names its outcome and carries its reason; the reasons quote the fidelity review.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rosp.catalogue import load_catalogue
from rosp.catalogue.declarations import (
    Population,
    declaration_instruction,
    population_of,
    rate_source,
    screen_declarations,
)
from rosp.scoring.service import score_files


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(2018)


POP = pd.DataFrame(
    [("D1", "ENF-03", 48), ("D1", "ENF-08", 6), ("C1", "CAR-07", 12)],
    columns=["doctor_id", "indicator_id", "population"],
)

# (name, declaration row (doctor, indicator, num, den, rate), expected accepted row or reject reason, why)
CASES = [
    ("claims_indicator_rejected", ("C1", "CAR-01", 10, 10, 1.0),
     "CAR-01 is computed from claims, not declarative: a declaration is not accepted",
     "L-08: a doctor declaring 100 % on CAR-01 was paid 210 €"),
    ("unknown_indicator_rejected", ("C1", "XXX-01", 1, 1, None), "unknown indicator for year 2018", "not in the catalogue"),
    ("denominator_above_population_rejected", ("D1", "ENF-03", 48, 51, None),
     "declared denominator 51 above the population computed from claims (48)",
     "L-14: 011248641 declared ENF-03 = 48/51 with an MT patientèle < 16 of 48"),
    ("numerator_above_population_rejected", ("D1", "ENF-08", 7, None, None),
     "declared numerator 7 above the population computed from claims (6)", "cannot screen more children than exist"),
    ("numerator_over_population", ("D1", "ENF-03", 40, 45, None), ("D1", "ENF-03", 40, 48, ""),
     "the denominator is the population claims compute (MT children < 16), the declaration the numerator"),
    ("rate_only_over_population", ("D1", "ENF-08", None, None, 0.5), ("D1", "ENF-08", 0, 6, "0.5"),
     "a declared rate alone is used as the rate, over the computed population"),
    ("no_population_for_doctor_rejected", ("D2", "ENF-09", 3, 4, None),
     "declared denominator 4 above the population computed from claims (0)", "D2 has no MT child aged 3 to 5"),
    ("car07_population_from_claims_definition", ("C1", "CAR-07", 9, 12, 0.75), ("C1", "CAR-07", 9, 12, ""),
     "CAR-07 is measured from declarations (parameter) over the claims denominator"),
    ("gas08_declared_denominator_used", ("G1", "GAS-08", 94, 97, None), ("G1", "GAS-08", 94, 97, ""),
     "no population computable for GAS-08: the declared denominator is used"),
    ("no_population_needs_a_denominator", ("G1", "END-05", 2, None, None),
     "missing denominator (no population computable from claims for this indicator)", "END-05 has no claims population"),
    ("inconsistent_rate_rejected", ("G1", "GAS-08", 50, 100, 0.9), "declared rate 0.9 inconsistent with 50/100",
     "L-08: the declared rate was not checked against num/den"),
    ("nothing_declared_rejected", ("G1", "END-02", None, 10, None), "neither a numerator nor a rate is declared",
     "a row with no quantity is not a declaration"),
]


@pytest.mark.parametrize("name,row,expected,why", CASES, ids=[c[0] for c in CASES])
def test_screening(cat, name, row, expected, why):
    decl = pd.DataFrame([row], columns=["doctor_id", "indicator_id", "numerator", "denominator", "declared_rate"])
    accepted, rejects = screen_declarations(decl, cat, POP)
    if isinstance(expected, str):
        assert accepted.empty, why
        assert list(rejects["reason"]) == [expected], why
    else:
        assert rejects.empty, (why, list(rejects["reason"]))
        assert tuple(accepted.iloc[0]) == expected, why


def test_duplicate_declaration_rejected(cat):
    decl = pd.DataFrame([("G1", "GAS-08", 1, 2, None)] * 2,
                        columns=["doctor_id", "indicator_id", "numerator", "denominator", "declared_rate"])
    accepted, rejects = screen_declarations(decl, cat, POP)
    assert len(accepted) == 1 and rejects.iloc[0]["reason"].startswith("duplicate declaration")
    assert (rejects.iloc[0]["file"], rejects.iloc[0]["row"]) == ("ROSP_DECL", 2)


def test_populations_are_dated_parameters(cat):
    assert population_of(cat, "ENF-03") == Population("patientele")
    assert population_of(cat, "ENF-08") == Population("mt_age_months", 0, 12)
    assert population_of(cat, "ENF-09") == Population("mt_age_months", 36, 72)
    assert population_of(cat, "CAR-07") == Population("claims_denominator")
    assert population_of(cat, "END-05") == Population("none")


def test_end05_quantity_is_a_sourced_parameter_with_a_french_sentence(cat):
    p = cat.params.get("declaration.quantity.END-05", 2018)
    assert p.text == "with_scintigraphy" and p.confidence == "inferred" and "L-10" in p.source
    sentence = declaration_instruction(cat, "END-05")
    assert "AVEC recours à la scintigraphie" in sentence and "≤ 5 %" in sentence
    assert declaration_instruction(cat, "ENF-03") is None


def test_rate_source_flags_gas08(cat):
    src = rate_source(cat)
    assert src["GAS-08"] == "declaration" and src["CAR-07"] == "declaration" and src["CAR-01"] == "claims"


# --- rosp score: the counts file follows the same rules

COUNTS_HEAD = "doctor_id,indicator_id,numerator,denominator,start_rate,declared_rate\n"
PAT = "doctor_id,programme,patientele\nC1,cardiologie,800\nE1,mt-enfant,600\n"


def _score(tmp_path: Path, counts: str, lenient: bool = True):
    c, p = tmp_path / "counts.csv", tmp_path / "patientele.csv"
    c.write_text(COUNTS_HEAD + counts, encoding="utf-8")
    p.write_text(PAT, encoding="utf-8")
    return score_files(2018, c, p, tmp_path / "out", lenient=lenient)


SCORE_CASES = [
    ("car01_declared_100_rejected", "C1,CAR-01,1,10,,1.0\n", "CAR-01",
     "CAR-01 is computed from claims, not declarative: a declared rate is not accepted",
     "L-08 score/o2: CAR-01 with 1/10 and declared_rate 1.0 was paid 210 €"),
    ("enf03_inconsistent_rate_rejected", "E1,ENF-03,2,5,,1.0\n", "ENF-03",
     "declared rate 1.0 inconsistent with 2/5", "L-08: the declared rate was not checked against num/den"),
]


@pytest.mark.parametrize("name,counts,ind,reason,why", SCORE_CASES, ids=[c[0] for c in SCORE_CASES])
def test_score_rejects_undue_declarations(tmp_path, name, counts, ind, reason, why):
    run = _score(tmp_path, counts)
    assert list(run.rejects["reason"]) == [reason], why
    row = run.indicators.set_index("indicator_id").loc[ind]
    assert float(row["euros"]) == 0.0, why


def test_score_flags_declared_rates_and_missing_declarations(tmp_path):
    run = _score(tmp_path, "E1,ENF-03,0,40,,0.9\nC1,CAR-07,9,12,,\n", lenient=False)
    ind = run.indicators.set_index(["doctor_id", "indicator_id"])
    assert ind.loc[("E1", "ENF-03"), "rate_source"] == "declaration"
    assert ind.loc[("E1", "ENF-01"), "rate_source"] == "claims"
    assert ind.loc[("E1", "ENF-08"), "branch"] == "not_declared"
    assert ind.loc[("C1", "CAR-07"), "branch"] != "not_declared"
    assert ind.loc[("C1", "CAR-07"), "rate_source"] == "declaration"
