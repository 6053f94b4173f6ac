"""Catalogue: the avenant 6 tables as data, checked against the seed text itself."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import SEEDS

from rosp.catalogue import CatalogueError, NoTableInForce, load_catalogue, load_parameters
from rosp.catalogue.model import tables_dir

FIXTURES = Path(__file__).parent / "fixtures" / "bad_catalogues"
SEED6 = SEEDS / "004_059d98efbb7f15e8.txt"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(2018)


def test_four_programmes_with_published_totals(cat):
    got = {p.slug: (p.total_points, p.reference_patientele, len(p.indicators)) for p in cat.programmes}
    assert got == {
        "mt-enfant": (305, 600, 10),
        "cardiologie": (340, 800, 9),
        "gastro-enterologie": (300, 1100, 8),
        "endocrinologie": (340, 1000, 8),
    }


# Every seed row, transcribed by hand from the arrêté: (id, intermediate, target, direction,
# threshold, unit, points, declarative). Each must match the TOML exactly.
SEED_ROWS = [
    ("ENF-01", "0.43", "0.70", "higher", 5, "patients", 35, False),
    ("ENF-02", "0.25", "0.60", "higher", 5, "patients", 35, False),
    ("ENF-03", "0.80", "0.95", "higher", 5, "patients", 20, True),
    ("ENF-04", "0.50", "0.80", "higher", 5, "patients", 35, False),
    ("ENF-05", "0.43", "0.83", "higher", 5, "patients", 35, False),
    ("ENF-06", "0.52", "0.11", "lower", 5, "patients", 35, False),
    ("ENF-07", "0.31", "0.07", "lower", 5, "patients", 35, False),
    ("ENF-08", "0.80", "0.95", "higher", 5, "patients", 20, True),
    ("ENF-09", "0.80", "0.95", "higher", 5, "patients", 20, True),
    ("ENF-10", "0.69", "0.83", "higher", 5, "patients", 35, False),
    ("CAR-01", "0.26", "0.46", "higher", 5, "patients", 30, False),
    ("CAR-02", "0.57", "0.74", "higher", 5, "patients", 35, False),
    ("CAR-03", "0.64", "0.77", "higher", 5, "patients", 30, False),
    ("CAR-04", "0.88", "0.94", "higher", 5, "patients", 30, False),
    ("CAR-05", "0.60", "0.75", "higher", 5, "patients", 30, False),
    ("CAR-06", "0.73", "0.57", "lower", 5, "patients", 35, False),
    ("CAR-07", "0.65", "0.80", "higher", 5, "patients", 30, False),
    ("CAR-08", "0.84", "0.93", "higher", 10, "boites", 60, False),
    ("CAR-09", "0.89", "0.98", "higher", 10, "boites", 60, False),
    ("GAS-01", "0.63", "0.86", "higher", 5, "patients", 30, False),
    ("GAS-02", "0.15", "0.40", "higher", 5, "patients", 30, False),
    ("GAS-03", "0.24", "0.60", "higher", 5, "patients", 30, False),
    ("GAS-04", "0.63", "0.86", "higher", 5, "patients", 30, False),
    ("GAS-05", "0.030", "0.012", "lower", 5, "patients", 80, False),
    ("GAS-06", "0.49", "0.71", "higher", 5, "patients", 35, False),
    ("GAS-07", "0.20", "0.25", "higher", 5, "patients", 35, False),
    ("GAS-08", "0.85", "0.95", "higher", 5, "patients", 30, False),
    ("END-01", "0.74", "0.89", "higher", 5, "patients", 30, False),
    ("END-02", "0.80", "0.95", "higher", 5, "patients", 20, True),
    ("END-03", "0.56", "0.82", "higher", 5, "patients", 50, False),
    ("END-04", "0.38", "0.67", "higher", 5, "patients", 50, False),
    ("END-05", "0.20", "0.05", "lower", 5, "patients", 20, True),
    ("END-06", "0.42", "0.57", "higher", 5, "patients", 30, False),
    ("END-07", "0.64", "0.85", "higher", 5, "patients", 70, False),
    ("END-08", "0.28", "0.09", "lower", 5, "patients", 70, False),
]


@pytest.mark.parametrize("row", SEED_ROWS, ids=[r[0] for r in SEED_ROWS])
def test_every_seed_row_exact(cat, row):
    iid, inter, target, direction, thr, unit, pts, decl = row
    ind = cat.indicators[iid]
    assert (ind.intermediate, ind.target) == (Decimal(inter), Decimal(target))
    assert (ind.direction, ind.threshold, ind.threshold_unit, ind.points, ind.declarative) == (
        direction, thr, unit, pts, decl,
    )


def test_catalogue_covers_exactly_the_seed_rows(cat):
    assert sorted(cat.indicators) == sorted(r[0] for r in SEED_ROWS)


@pytest.mark.skipif(not SEED6.exists(), reason="seed text not available")
def test_labels_and_printed_objectives_appear_verbatim_in_the_seed(cat):
    """Each label, sub-theme and printed objective is found, in order, in the arrêté text."""
    seed = _norm(SEED6.read_text(encoding="utf-8"))
    pos = 0
    for p in sorted(cat.programmes, key=lambda p: seed.index(_norm(p.title))):
        pos = seed.index(_norm(p.title))
        for ind in p.indicators:
            at = seed.find(_norm(ind.label), pos)
            assert at >= 0, f"{ind.id}: label not found verbatim after its table title"
            assert seed.find(_norm(ind.sub_theme)) >= 0, f"{ind.id}: sub-theme not in seed"
            after = seed[at + len(_norm(ind.label)) : at + len(_norm(ind.label)) + 80]
            assert ind.printed_intermediate in after and ind.printed_target in after, ind.id
            if ind.declarative:
                assert after.lstrip().startswith("Déclaratif"), f"{ind.id}: not marked Déclaratif"
            pos = at


def test_declaratives_match_the_seed_marks(cat):
    assert {i for i, x in cat.indicators.items() if x.declarative} == {
        "ENF-03", "ENF-08", "ENF-09", "END-02", "END-05",
    }


def test_lower_is_better_includes_the_degressif_row(cat):
    lower = {i for i, x in cat.indicators.items() if x.direction == "lower"}
    assert lower == {"ENF-06", "ENF-07", "CAR-06", "GAS-05", "END-05", "END-08"}


# (year, why): no table is in force, so the catalogue stops with "no table in force for YEAR"
# instead of reusing the 2018 tables (fidelity review L-28: 2030 listed 4 programmes).
NO_TABLE_YEARS = [
    (2016, "before the 2016 convention's first tables"),
    (2017, "the 2017 tables (Annexe 15) are not sourced: nothing is invented"),
    (2026, "the 2024 convention replaces the ROSP from 1 January 2026 (validity.<slug> = 2025)"),
    (2030, "far beyond the end of validity"),
]


@pytest.mark.parametrize("year,why", NO_TABLE_YEARS, ids=[str(y) for y, _ in NO_TABLE_YEARS])
def test_no_table_in_force_is_a_clean_error(year, why):
    with pytest.raises(NoTableInForce, match=f"no table in force for {year}"):
        load_catalogue(year)


def test_end_of_validity_is_a_dated_parameter_of_each_programme():
    cat = load_catalogue(2025)
    assert {p.slug: p.valid_until for p in cat.programmes} == {
        "mt-enfant": 2025, "cardiologie": 2025, "gastro-enterologie": 2025, "endocrinologie": 2025,
    }


def test_parameter_values_may_end():
    from rosp.catalogue.parameters import ParameterError, Parameters

    params = Parameters({"x": {"values": [{"from": 2017, "until": 2018, "value": "1", "source": "s", "confidence": "inferred"}]}})
    assert params.get("x", 2018).valid_until == 2018
    with pytest.raises(ParameterError, match="ended in 2018"):
        params.get("x", 2019)


# (indicator, measurement, why). The seed flag « Déclaratif » stays verbatim; every
# departure is a dated parameter measurement.<ID> (fidelity review L-09).
MEASUREMENTS = [
    ("ENF-03", "declaration", "seed « Déclaratif »"),
    ("ENF-08", "declaration", "seed « Déclaratif »"),
    ("ENF-09", "declaration", "seed « Déclaratif »"),
    ("END-02", "declaration", "seed « Déclaratif »"),
    ("END-05", "declaration", "seed « Déclaratif »"),
    ("CAR-07", "declaration", "parameter: SNDS has no LDL result"),
    ("GAS-07", "declaration", "parameter: SNDS has no FIT result nor histology"),
    ("GAS-08", "declaration", "parameter: SNDS has no letter to the GP"),
    ("CAR-01", "claims", "computed from claims, not declarative"),
    ("ENF-01", "claims", "computed from claims"),
]


@pytest.mark.parametrize("ind,measurement,why", MEASUREMENTS, ids=[m[0] for m in MEASUREMENTS])
def test_measurement_is_resolved_from_seed_flag_or_dated_parameter(cat, ind, measurement, why):
    i = cat.indicators[ind]
    assert i.measurement == measurement, why
    if i.declarative:
        assert "Déclaratif" in i.measurement_source
    elif measurement == "declaration":
        assert i.measurement_source.startswith(f"paramètre measurement.{ind}")


def test_seed_flag_stays_verbatim_for_parameter_departures(cat):
    assert not any(cat.indicators[i].declarative for i in ("CAR-07", "GAS-07", "GAS-08"))


def test_declarative_status_agrees_with_the_definitions(cat):
    """The engine's definitions take the same indicators from declarations as the catalogue."""
    from rosp.indicators.definitions import load_programmes

    defs = {i.id for p in load_programmes().values() for i in p.indicators if i.declared}
    assert defs == {i.id for i in cat.indicators.values() if i.measurement == "declaration"}


def test_a_table_cannot_state_the_measurement(tmp_path):
    src = tables_dir() / "2018" / "cardiologie.toml"
    (tmp_path / "2018").mkdir()
    text = src.read_text(encoding="utf-8").replace('id = "CAR-01"', 'id = "CAR-01"\nmeasurement = "declaration"', 1)
    (tmp_path / "2018" / "cardiologie.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError, match="measurement is resolved"):
        load_catalogue(2018, root=tmp_path)


def test_2018_tables_stay_in_force_later():
    assert {p.slug for p in load_catalogue(2025).programmes} == {
        "mt-enfant", "cardiologie", "gastro-enterologie", "endocrinologie",
    }


BAD = [
    ("points_sum", "points sum to 341, but the published total is 340", "points must add up to the table total"),
    ("direction_order", "direction 'higher' needs intermediate < target", "objectives must be ordered with the direction"),
    ("bad_rate", "outside [0, 1]", "rates are fractions"),
    ("bad_category", "unknown category 'bonus'", "categories are the L.162-5 21° commitments"),
    ("float_rate", "write rates as strings", "float rates would not be exact"),
    ("missing_field", "field threshold_unit: Field required", "every row states its threshold unit"),
]


@pytest.mark.parametrize("name,message,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_catalogues_fail_with_clear_messages(name, message, reason):
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(2018, root=FIXTURES / name)
    assert message in str(exc.value), reason
    assert "cardiologie.toml" in str(exc.value), "the message names the file"
    assert "CAR-01" in str(exc.value) or name == "points_sum"


def test_bundled_tables_dir_is_packaged():
    assert sorted(p.name for p in (tables_dir() / "2018").glob("*.toml")) == [
        "cardiologie.toml", "endocrinologie.toml", "gastro-enterologie.toml", "mt-enfant.toml",
    ]


PARAMS = [
    ("point_value", 2018, "7", "verified"),
    ("scoring.intermediate_share", 2017, "0.50", "secondary"),
    ("scoring.intermediate_share", 2018, "0.30", "secondary"),
    ("scoring.intermediate_share", 2019, "0.30", "secondary"),
    ("scoring.rule_version", 2017, "annexe-15-convention-2016", "verified"),
    ("scoring.rule_version", 2018, "annexe-4-avenant-6", "verified"),
    ("reference_patientele.endocrinologie", 2018, "1000", "secondary"),
    ("safeguard.drop_threshold", 2018, "0.10", "verified"),
    ("safeguard.restore_to", 2018, "baseline_2016", "inferred"),
]


@pytest.mark.parametrize("name,year,value,confidence", PARAMS)
def test_dated_parameters_carry_value_source_and_confidence(name, year, value, confidence):
    p = load_parameters().get(name, year)
    assert (p.value, p.confidence) == (value, confidence)
    assert p.source


def test_reform_override_is_flagged():
    p = load_parameters(overrides={"scoring.intermediate_share": "0.40"}).get("scoring.intermediate_share", 2018)
    assert p.value == "0.40" and p.overridden and p.source == "reform override"


def test_the_fund_is_named_cnam_in_user_prose():
    """Avenant 6: « CNAMTS » is replaced by « Cnam » (review L-32). Historical names may
    appear only inside an exact quotation (« … »)."""
    root = Path(__file__).parent.parent
    files = [*(root / "docs").glob("*.md"), *(root / "rosp").rglob("*.toml"), *(root / "rosp").rglob("README.md")]
    offenders = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            outside = re.sub(r"«[^»]*»", "", line)
            if re.search(r"\bCNAM(TS)?\b", outside):
                offenders.append(f"{f.relative_to(root)}:{n}")
    assert offenders == []
    for name, spec in load_parameters().snapshot(2018).items():
        assert not re.search(r"\bCNAM(TS)?\b", re.sub(r"«[^»]*»", "", spec["source"])), name


@pytest.mark.parametrize(
    "args",
    [
        ("catalogue", "list", "--year", "2030"),
        ("score", "--year", "2030", "--counts", "{c}", "--patientele", "{p}", "--out", "{o}"),
    ],
    ids=["catalogue-2030", "score-2030"],
)
def test_cli_stops_cleanly_with_no_table_in_force(cli, tmp_path, args):
    c, p = tmp_path / "c.csv", tmp_path / "p.csv"
    c.write_text("doctor_id,indicator_id,numerator,denominator,start_rate\n", encoding="utf-8")
    p.write_text("doctor_id,programme,patientele\n", encoding="utf-8")
    r = cli(*(a.format(c=c, p=p, o=tmp_path / "o") for a in args))
    assert r.returncode == 2 and "no table in force for 2030" in r.stderr
    assert "Traceback" not in r.stderr
