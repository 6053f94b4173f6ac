"""`rosp synth --format csv-sas` and reading SAS-export CSVs (issue 12 §3, issue 8 §3).

A SAS export from the Cnam portal (';', SAS datetimes, decimal commas, upper-case
names, SAS table file names), and a Latin-1 one, load into the same values as the
Parquet files and give the same money. Fail on the code before: `--format` did not
exist and `;` / Latin-1 CSVs were refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rosp.claims import load_claims
from rosp.cli import app

from .builders import minimal_dataset
from .test_real_shape import _every_quirk, _rows

VIEWS = ("patients", "doctors", "mt_declarations", "ald", "services", "drug_deliveries", "bio_acts",
         "ccam_acts", "hospital_diagnoses", "hospital_acts")
PATIENTS = 2000
SEED = 11


def _views(claims) -> dict[str, list[tuple]]:
    out = {}
    for view in VIEWS:
        cols = [c for c in claims.view(view).columns if c not in ("claim_ref", "stay_id")]
        out[view] = _rows(claims, view, *cols)
    return out


def test_builder_extract_with_every_quirk_reads_the_same_from_a_sas_export(tmp_path):
    b, h = minimal_dataset()
    _every_quirk(b, h)
    parquet = load_claims(b.write(tmp_path / "pq"), 2019)
    sas = load_claims(b.write(tmp_path / "sas", fmt="csv-sas"), 2019)
    assert _views(sas) == _views(parquet)
    dialects = sas.report.tables["ER_PRS_F"].dialects
    assert dialects == {"ER_PRS_F.csv": {"encoding": "utf-8", "delimiter": ";", "decimal_comma": True, "bom": False}}
    assert sas.report.tables["IR_BEN_R"].coercions["BEN_DCD_DTE"]["sentinel"] == 2
    assert sas.report.to_dict()["tables"]["ER_PRS_F"]["dialects"] == dialects


def test_latin1_sas_export_reads_the_same_and_is_recorded(tmp_path):
    b, h = minimal_dataset()
    for r in b.rows["IR_PHA_R"]:
        r["PHA_MED_NOM"] = "ÉPINÉPHRINE"
    parquet = load_claims(b.write(tmp_path / "pq"), 2019)
    data = b.write(tmp_path / "sas", fmt="csv-sas")
    for path in data.glob("*.csv"):
        path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    sas = load_claims(data, 2019)
    assert _views(sas) == _views(parquet)
    assert sas.report.tables["IR_PHA_R"].dialects["IR_PHA_R.csv"]["encoding"] == "latin-1"
    names = sas.table("IR_PHA_R").select("PHA_MED_NOM").distinct().to_pyarrow()["PHA_MED_NOM"].to_pylist()
    assert names == ["ÉPINÉPHRINE"]


# ------------------------------------------------------------------ the CLI, end to end


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same seed as Parquet and as csv-sas, each synthesised and run once."""
    root = tmp_path_factory.mktemp("csvsas")
    runner = CliRunner()
    for fmt in ("parquet", "csv-sas"):
        r = runner.invoke(app, ["synth", "--patients", str(PATIENTS), "--seed", str(SEED), "--out",
                                str(root / f"data-{fmt}"), "--format", fmt])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["run", "--data", str(root / f"data-{fmt}"), "--out", str(root / f"run-{fmt}")])
        assert r.exit_code == 0, r.output
    return root


def test_synth_csv_sas_writes_what_sas_exports(two_runs):
    data = two_runs / "data-csv-sas"
    assert not list(data.glob("*.parquet"))
    names = {p.stem for p in data.glob("*.csv")} - {"ground_truth"}
    assert {"ER_PRS_F", "IR_BEN_R", "IR_BEN_R_ARC", "DA_PRA_R", "T_MCO18B", "T_MCO17C"} <= names
    header, first = (data / "ER_PRS_F.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert header == header.upper() and header.count(";") > 20 and "," not in header
    cells = dict(zip(header.split(";"), first.split(";"), strict=True))
    assert re.fullmatch(r"\d\d[A-Z]{3}\d{4}:00:00:00", cells["EXE_SOI_DTD"])
    assert re.fullmatch(r"\d+,\d\d", cells["PRS_ACT_QTE"])  # DECIMAL(4,2) with a decimal comma
    ben = (data / "IR_BEN_R.csv").read_text(encoding="utf-8")
    assert "01JAN1600:00:00:00" in ben  # the placeholder of the living
    assert re.search(r"^\d+;\d+;\d+;\d+;\d{8};", (data / "DA_PRA_R.csv").read_text().splitlines()[1])


def test_same_seed_same_money_in_parquet_and_csv_sas(two_runs):
    a, b = two_runs / "run-parquet", two_runs / "run-csv-sas"
    assert (a / "payments.csv").read_text().count("\n") > 1, "the run pays nobody"
    for name in ("payments.csv", "indicators.csv", "counts.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_manifests_differ_only_by_inputs_and_how_the_files_were_read(two_runs):
    ma = json.loads((two_runs / "run-parquet" / "manifest.json").read_text())
    mb = json.loads((two_runs / "run-csv-sas" / "manifest.json").read_text())
    assert all(Path(p).suffix == ".csv" for p in mb["inputs"])
    tables_a, tables_b = ma["claims"].pop("tables"), mb["claims"].pop("tables")
    for m in (ma, mb):
        m.pop("inputs")
    assert ma == mb
    for name, ta in tables_a.items():
        tb = tables_b[name]
        assert [Path(f).stem for f in ta["files"]] == [Path(f).stem for f in tb["files"]], name
        assert "dialects" not in ta and all(d["delimiter"] == ";" for d in tb["dialects"].values()), name
        for key in ("files", "coercions", "dialects"):
            ta.pop(key, None), tb.pop(key, None)
        assert ta == tb, name


def test_preflight_reads_the_sas_export_and_lists_its_dialects(tmp_path):
    from rosp.io.preflight import preflight

    b, h = minimal_dataset()
    pre = preflight(b.write(tmp_path / "sas", fmt="csv-sas"))
    assert pre.dialects["ER_PRS_F.csv"] == {"encoding": "utf-8", "delimiter": ";", "decimal_comma": True,
                                            "bom": False}
    assert set(pre.tables) >= {"ER_PRS_F", "IR_BEN_R", "DA_PRA_R"}
