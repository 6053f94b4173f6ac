"""Spec-style tests of rosp.eligibility (who is paid under which programme)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from rosp.catalogue.parameters import load_parameters
from rosp.eligibility import (
    COLUMNS,
    ELIGIBLE_REASONS,
    OUTPUT_COLUMNS,
    REASON_LABELS_FR,
    EligibilityInputError,
    add_months,
    evaluate,
    read_doctors_csv,
    run_eligibility,
)

FIXTURE = Path(__file__).parent / "fixtures" / "doctors_example.csv"
YEAR = 2018


def doctor(**kw: str) -> dict[str, str]:
    # A cardiologist: the cardiology ROSP's opt-out window opens with the convention
    # (24 Oct 2016); the per-programme windows are tested in PROGRAMME_WINDOW_CASES.
    base = {
        "doctor_id": "X1",
        "specialty": "03",
        "conventioned": "1",
        "installed_on": "2010-01-04",
        "opted_out_on": "",
        "capi_signed_on": "",
    }
    base.update(kw)
    return base


def one(year: int = YEAR, **kw: str) -> tuple[str, bool, str]:
    out = evaluate(pd.DataFrame([doctor(**kw)]), year)
    assert len(out) == 1
    row = out.iloc[0]
    return row["programme"], bool(row["eligible"]), row["reason"]


# ---------------------------------------------------------------- specialties

SPECIALTY_CASES = [
    ("1", "mt-enfant", "GP code without leading zero"),
    ("01", "mt-enfant", "GP code 01 with leading zero is normalised"),
    ("22", "mt-enfant", "GP (SNDS 22) -> child MT programme"),
    ("23", "mt-enfant", "GP (SNDS 23) -> child MT programme"),
    ("12", "mt-enfant", "paediatrician -> child MT programme"),
    ("3", "cardiologie", "cardiologist, short code"),
    ("03", "cardiologie", "cardiologist, zero-padded code"),
    ("8", "gastro-enterologie", "gastro-enterologist, short code"),
    ("08", "gastro-enterologie", "gastro-enterologist, zero-padded code"),
    ("42", "endocrinologie", "endocrinologist (avenant 4/6, from 2018)"),
]


@pytest.mark.parametrize(("specialty", "programme", "reason"), SPECIALTY_CASES)
def test_specialty_decides_programme(specialty, programme, reason):
    assert one(specialty=specialty) == (programme, True, "eligible"), reason


@pytest.mark.parametrize(
    ("specialty", "reason"),
    [
        ("5", "specialty 05 has no clinical-practice ROSP"),
        ("013", "zero-padded unknown code is not a GP"),
        ("2", "anaesthetist: no programme"),
    ],
)
def test_specialty_without_programme(specialty, reason):
    assert one(specialty=specialty) == ("", False, "no_programme_for_specialty"), reason


def test_specialty_mapping_comes_from_parameters():
    params = load_parameters(overrides={"eligibility.specialty_programmes": "5:cardiologie"})
    out = evaluate(pd.DataFrame([doctor(specialty="05"), doctor(doctor_id="X2")]), YEAR, params)
    assert out[["programme", "reason"]].values.tolist() == [
        ["cardiologie", "eligible"],
        ["", "no_programme_for_specialty"],
    ]


# ---------------------------------------------------------------- rules

RULE_CASES = [
    # (fields, expected eligible, expected reason, why)
    ({}, True, "eligible", "conventioned GP, installed long ago, no opt-out"),
    ({"conventioned": "0"}, False, "not_conventioned", "non-conventioned (0)"),
    ({"conventioned": "false"}, False, "not_conventioned", "non-conventioned (false)"),
    ({"conventioned": "TRUE"}, True, "eligible", "boolean text is case-insensitive"),
    ({"opted_out_on": "2016-10-24"}, False, "opted_out", "opt-out on the day of entry into force"),
    (
        {"opted_out_on": "2016-12-15"},
        False,
        "opted_out",
        "opt-out inside the window from 24 Oct 2016",
    ),
    (
        {"opted_out_on": "2017-01-24"},
        False,
        "opted_out",
        "exactly 3 calendar months: inclusive end",
    ),
    (
        {"opted_out_on": "2017-01-25"},
        True,
        "eligible_opt_out_invalid_late",
        "one day after the window: late",
    ),
    (
        {"opted_out_on": "2018-06-01"},
        True,
        "eligible_opt_out_invalid_late",
        "opt-out in the ROSP year: late",
    ),
    (
        {"installed_on": "2017-03-10", "opted_out_on": "2017-05-02"},
        False,
        "opted_out",
        "window runs from a later installation date",
    ),
    (
        {"installed_on": "2017-03-10", "opted_out_on": "2017-06-10"},
        False,
        "opted_out",
        "boundary from installation: 10 Mar + 3 months = 10 Jun, inclusive",
    ),
    (
        {"installed_on": "2017-03-10", "opted_out_on": "2017-06-11"},
        True,
        "eligible_opt_out_invalid_late",
        "one day after the installation window",
    ),
    (
        {"installed_on": "2017-11-30", "opted_out_on": "2018-02-28"},
        False,
        "opted_out",
        "30 Nov + 3 months has no 30 Feb: the window closes on the last day of February",
    ),
    (
        {"installed_on": "2017-11-30", "opted_out_on": "2018-03-01"},
        True,
        "eligible_opt_out_invalid_late",
        "1 March is after the clamped end of the window",
    ),
    (
        {"installed_on": "2016-05-01", "opted_out_on": "2016-12-01"},
        False,
        "opted_out",
        "installed before the convention: window from the entry into force",
    ),
    (
        {"installed_on": "", "opted_out_on": "2017-01-10"},
        False,
        "opted_out",
        "empty install date: window from entry into force",
    ),
    (
        {"opted_out_on": "2016-10-23"},
        True,
        "eligible_opt_out_invalid_early",
        "opt-out the day before entry into force",
    ),
    (
        {"opted_out_on": "2012-02-01"},
        True,
        "eligible_opt_out_invalid_early",
        "a 2011-rules refusal is not carried over",
    ),
    (
        {"installed_on": "2018-09-01", "opted_out_on": "2018-03-01"},
        True,
        "eligible_opt_out_invalid_early",
        "opt-out before installation",
    ),
    (
        {"installed_on": "2019-01-01"},
        False,
        "not_installed_in_year",
        "installed after the end of 2018",
    ),
    ({"installed_on": "2018-12-31"}, True, "eligible", "installed on the last day of the year"),
    # CAPI (review L-30): it ended with 2011 and cardiology never had identical
    # commitments, so a CAPI plays no part in a cardiologist's 2018 ROSP.
    ({"capi_signed_on": "2010-07-01"}, True, "eligible", "CAPI ended 31 Dec 2011; no identical commitments"),
    ({"capi_signed_on": "2018-06-01"}, True, "eligible", "a CAPI signed in 2018 is not active (ended 2011)"),
    ({"capi_signed_on": "2019-01-15"}, True, "eligible", "CAPI signed after the year: not active"),
    (
        {"capi_signed_on": "2011-01-15", "opted_out_on": "2016-12-01"},
        False,
        "opted_out",
        "valid opt-out; the old CAPI is irrelevant",
    ),
    (
        {"capi_signed_on": "2011-01-15", "opted_out_on": "2017-03-01"},
        True,
        "eligible_opt_out_invalid_late",
        "late opt-out; the old CAPI is irrelevant",
    ),
    (
        {"conventioned": "0", "capi_signed_on": "2011-01-15"},
        False,
        "not_conventioned",
        "non-conventioned wins over everything",
    ),
    (
        {"installed_on": "2019-03-01", "opted_out_on": "2019-04-01"},
        False,
        "not_installed_in_year",
        "not installed wins over a (future) opt-out",
    ),
]


@pytest.mark.parametrize(("fields", "eligible", "expected", "reason"), RULE_CASES)
def test_rules(fields, eligible, expected, reason):
    _, got_eligible, got_reason = one(**fields)
    assert (got_eligible, got_reason) == (eligible, expected), reason


YEAR_CASES = [
    (
        2021,
        {"opted_out_on": "2016-12-01"},
        False,
        "opted_out",
        "2021 overlaps the 5-year convention",
    ),
    (
        2022,
        {"opted_out_on": "2016-12-01"},
        True,
        "eligible_opt_out_expired",
        "after 24 Oct 2021 the opt-out has expired",
    ),
    (
        2018,
        {"installed_on": "2018-11-15", "opted_out_on": "2019-01-20"},
        False,
        "opted_out",
        "valid opt-out notified after 31 Dec N still covers N",
    ),
]


# Each programme's window opens when the programme was created (review L-07).
PROGRAMME_WINDOW_CASES = [
    # (year, fields, programme, eligible, reason code, why)
    (2018, {"specialty": "01", "opted_out_on": "2017-06-01"}, "mt-enfant", False, "opted_out",
     "enfant ROSP created by avenant 1 (JO 2 May 2017): a refusal on 1 June 2017 is in time"),
    (2018, {"specialty": "01", "opted_out_on": "2017-08-02"}, "mt-enfant", False, "opted_out",
     "2 May + 3 months = 2 Aug 2017, inclusive"),
    (2018, {"specialty": "01", "opted_out_on": "2017-08-03"}, "mt-enfant", True, "eligible_opt_out_invalid_late",
     "one day after the enfant window"),
    (2018, {"specialty": "01", "opted_out_on": "2016-12-15"}, "mt-enfant", True, "eligible_opt_out_invalid_early",
     "before the enfant ROSP existed"),
    (2018, {"specialty": "42", "opted_out_on": "2018-04-15"}, "endocrinologie", False, "opted_out",
     "review elig/e2018 endo_optout_after_av4: avenant 4 (JO 10 March 2018) opens the window"),
    (2018, {"specialty": "42", "opted_out_on": "2018-06-11"}, "endocrinologie", True, "eligible_opt_out_invalid_late",
     "10 March + 3 months = 10 June 2018; 11 June is late"),
    (2018, {"specialty": "42", "opted_out_on": "2017-01-10"}, "endocrinologie", True, "eligible_opt_out_invalid_early",
     "a refusal in the convention's window, before the endocrinology ROSP existed"),
    (2018, {"specialty": "42", "installed_on": "2018-05-02", "opted_out_on": "2018-08-01"}, "endocrinologie", False,
     "opted_out", "installed after the programme's opening: window from the installation"),
]


@pytest.mark.parametrize(
    ("year", "fields", "programme", "eligible", "expected", "reason"), PROGRAMME_WINDOW_CASES,
    ids=[c[5][:40] for c in PROGRAMME_WINDOW_CASES],
)
def test_programme_windows(year, fields, programme, eligible, expected, reason):
    got_programme, got_eligible, got_reason = one(year=year, **fields)
    assert (got_programme, got_eligible, got_reason) == (programme, eligible, expected), reason


# With the CAPI still running and identical commitments (a reform), supersession applies.
CAPI_REFORM = {"eligibility.capi_end": "2099-12-31", "eligibility.capi_identical_programmes": "cardiologie"}


@pytest.mark.parametrize(
    ("fields", "expected", "why"),
    [
        ({"capi_signed_on": "2010-07-01"}, "eligible_capi_superseded", "CAPI superseded by identical commitments"),
        ({"capi_signed_on": "2011-01-15", "opted_out_on": "2016-12-01"}, "opted_out_capi_superseded",
         "valid opt-out + CAPI: CAPI cannot be revived, nothing paid"),
        ({"capi_signed_on": "2011-01-15", "opted_out_on": "2017-03-01"}, "eligible_capi_superseded",
         "late opt-out + CAPI: eligible, CAPI not paid"),
    ],
)
def test_capi_supersession_only_with_identical_commitments(fields, expected, why):
    params = load_parameters(overrides=CAPI_REFORM)
    out = evaluate(pd.DataFrame([doctor(**fields)]), YEAR, params)
    assert out.reason.tolist() == [expected], why
    gp = evaluate(pd.DataFrame([doctor(specialty="01", **fields)]), YEAR, params)
    assert "capi" not in gp.reason.iloc[0], "the enfant ROSP has no identical commitments"


def test_capi_has_an_end_date():
    p = load_parameters().get("eligibility.capi_end", 2018)
    assert p.value == "2011-12-31"


@pytest.mark.parametrize(("year", "fields", "eligible", "expected", "reason"), YEAR_CASES)
def test_rules_by_year(year, fields, eligible, expected, reason):
    _, got_eligible, got_reason = one(year=year, **fields)
    assert (got_eligible, got_reason) == (eligible, expected), reason


def test_window_end_edge_is_parameterised():
    df = pd.DataFrame([doctor(opted_out_on="2017-01-24")])
    assert evaluate(df, YEAR).reason.tolist() == ["opted_out"]
    exclusive = evaluate(df, YEAR, opt_out_end_inclusive=False)
    assert exclusive.reason.tolist() == ["eligible_opt_out_invalid_late"]


def test_capi_not_superseded_reform_never_pays_twice():
    params = load_parameters(overrides={**CAPI_REFORM, "eligibility.capi_superseded": "false"})
    df = pd.DataFrame([doctor(capi_signed_on="2011-01-01"), doctor(doctor_id="X2")])
    out = evaluate(df, YEAR, params)
    assert out[["eligible", "reason"]].values.tolist() == [
        [False, "capi_not_superseded"],
        [True, "eligible"],
    ]


def test_window_parameter_drives_the_window():
    params = load_parameters(overrides={"eligibility.opt_out_window_months": "6"})
    df = pd.DataFrame([doctor(opted_out_on="2017-04-24")])
    assert evaluate(df, YEAR, params).reason.tolist() == ["opted_out"]
    assert evaluate(df, YEAR).reason.tolist() == ["eligible_opt_out_invalid_late"]


@pytest.mark.parametrize(
    ("start", "months", "end", "reason"),
    [
        (dt.date(2016, 10, 24), 3, dt.date(2017, 1, 24), "same day number, across the year"),
        (dt.date(2017, 11, 30), 3, dt.date(2018, 2, 28), "clamped to end of February"),
        (dt.date(2019, 11, 30), 3, dt.date(2020, 2, 29), "leap year"),
        (dt.date(2016, 10, 24), 60, dt.date(2021, 10, 24), "five years"),
    ],
)
def test_add_months(start, months, end, reason):
    assert add_months(start, months) == end, reason


# ---------------------------------------------------------------- output shape


def test_output_contract_and_sorting():
    df = pd.DataFrame(
        [
            doctor(doctor_id="B", specialty="3"),
            doctor(doctor_id="A"),
            doctor(doctor_id="C", specialty="99"),
        ]
    )
    out = evaluate(df, YEAR)
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out.doctor_id.tolist() == ["A", "B", "C"]
    assert out.eligible.dtype == bool


def test_accepts_typed_dataframe():
    df = pd.DataFrame(
        [
            {
                "doctor_id": 7,
                "specialty": 1,
                "conventioned": True,
                "installed_on": pd.Timestamp("2010-01-01"),
                "opted_out_on": None,
                "capi_signed_on": dt.date(2011, 1, 1),
            }
        ]
    )
    out = evaluate(df, YEAR)
    assert out.values.tolist() == [["7", "mt-enfant", True, "eligible"]]  # CAPI ended 2011


def test_every_reason_has_a_french_label():
    out = evaluate(read_doctors_csv(FIXTURE), YEAR)
    assert set(out.reason) <= set(REASON_LABELS_FR)
    assert ELIGIBLE_REASONS <= set(REASON_LABELS_FR)
    assert all(label.strip() for label in REASON_LABELS_FR.values())


# ---------------------------------------------------------------- fixture

FIXTURE_EXPECTED = {
    "D01": ("mt-enfant", True, "eligible"),
    "D02": ("mt-enfant", True, "eligible"),
    # D03-D05, D09, D12: refusals before the enfant ROSP existed (avenant 1, 2 May 2017)
    "D03": ("mt-enfant", True, "eligible_opt_out_invalid_early"),
    "D04": ("mt-enfant", True, "eligible_opt_out_invalid_early"),
    "D05": ("mt-enfant", True, "eligible_opt_out_invalid_early"),
    "D06": ("cardiologie", False, "opted_out"),
    "D07": ("gastro-enterologie", False, "not_conventioned"),
    "D08": ("endocrinologie", True, "eligible"),  # CAPI ended 2011, no identical commitments
    "D09": ("mt-enfant", True, "eligible_opt_out_invalid_early"),
    "D10": ("mt-enfant", False, "not_installed_in_year"),
    "D11": ("", False, "no_programme_for_specialty"),
    "D12": ("mt-enfant", True, "eligible_opt_out_invalid_early"),
    "D13": ("cardiologie", False, "not_conventioned"),
    "D14": ("gastro-enterologie", True, "eligible_opt_out_invalid_late"),
}


def test_fixture_covers_every_case(tmp_path):
    out_csv = tmp_path / "eligibility.csv"
    result = run_eligibility(FIXTURE, YEAR, out_csv)
    got = {r.doctor_id: (r.programme, bool(r.eligible), r.reason) for r in result.itertuples()}
    assert got == FIXTURE_EXPECTED
    written = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert list(written.columns) == OUTPUT_COLUMNS
    assert set(written.eligible) == {"true", "false"}
    assert len(written) == len(FIXTURE_EXPECTED)


# ---------------------------------------------------------------- bad input


def write(tmp_path: Path, rows: list[dict[str, str]], columns=COLUMNS) -> Path:
    path = tmp_path / "doctors.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


BAD_CASES = [
    (
        [doctor()],
        [c for c in COLUMNS if c != "opted_out_on"],
        ["missing column", "opted_out_on"],
        "a required column is absent",
    ),
    (
        [doctor(doctor_id="A"), doctor(doctor_id="B", installed_on="2017-13-01")],
        COLUMNS,
        ["row 2", "column installed_on", "2017-13-01"],
        "impossible month",
    ),
    (
        [doctor(opted_out_on="24/10/2016")],
        COLUMNS,
        ["row 1", "column opted_out_on", "yyyy-mm-dd"],
        "French date format is refused",
    ),
    (
        [doctor(doctor_id="A"), doctor(doctor_id="B"), doctor(doctor_id="A")],
        COLUMNS,
        ["row 3", "column doctor_id", "duplicate", "row 1"],
        "duplicate doctor names both rows",
    ),
    ([doctor(conventioned="maybe")], COLUMNS, ["row 1", "column conventioned"], "bad boolean"),
    ([doctor(specialty="MG")], COLUMNS, ["row 1", "column specialty"], "non-numeric specialty"),
    ([doctor(doctor_id="")], COLUMNS, ["row 1", "column doctor_id", "empty"], "empty doctor id"),
]


@pytest.mark.parametrize(("rows", "columns", "fragments", "reason"), BAD_CASES)
def test_bad_csv_names_file_row_column(tmp_path, rows, columns, fragments, reason):
    path = write(tmp_path, rows, columns)
    with pytest.raises(EligibilityInputError) as info:
        read_doctors_csv(path)
    message = str(info.value)
    assert str(path) in message, reason
    for fragment in fragments:
        assert fragment in message, (reason, fragment, message)


def test_input_error_is_a_value_error(tmp_path):
    assert issubclass(EligibilityInputError, ValueError)
    with pytest.raises(ValueError, match="file not found"):
        read_doctors_csv(tmp_path / "absent.csv")


def test_run_eligibility_refuses_bad_file(tmp_path):
    path = write(tmp_path, [doctor(installed_on="2018-02-30")])
    with pytest.raises(EligibilityInputError, match="row 1, column installed_on"):
        run_eligibility(path, YEAR, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
