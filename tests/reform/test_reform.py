"""`rosp reform`: re-scoring a run under a reform, and the errors of a bad reform file."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from rosp.catalogue import load_catalogue
from rosp.reform.engine import compute, load_run, write_outputs
from rosp.reform.model import ReformError, apply_reform, parse_reform
from rosp.scoring.batch import score_batch_reference
from rosp.scoring.rules import round_euros

REFORMS = Path(__file__).resolve().parents[2] / "reforms"
HEAD = '[reform]\ntitle = "t"\n'


def test_identity_reform_gives_the_baseline_exactly(small_run):
    run = load_run(small_run)
    res = compute(run, parse_reform(HEAD))
    assert len(res.doctors) == len(run.payments) > 10
    assert (res.doctors["euros_after"] == res.doctors["euros_before"]).all()
    assert res.summary["total"]["delta"] == "0.00"
    assert res.summary["losers"]["unchanged"] == res.summary["doctors"]
    assert not res.summary["safeguard"]["triggered"]


def test_point_value_750_multiplies_every_payment_by_15_14_before_rounding(small_run):
    run = load_run(small_run)
    res = compute(run, parse_reform((REFORMS / "point-750.toml").read_text()))
    ref = score_batch_reference(run.counts, run.patientele, 2018, load_catalogue(2018)).indicators
    exact = ref.groupby(["doctor_id", "programme"])["euros"].apply(lambda s: sum(s, Fraction(0)))
    expected = {k: str(round_euros(v * Fraction(15, 14))) for k, v in exact.items()}
    got = {(r.doctor_id, r.programme): r.euros_after for r in res.doctors.itertuples()}
    assert got == {k: expected[k] for k in got}
    # and the totals per programme went up by about 1/14
    assert all(b["delta_pct"] in ("7.14", "7.15", "7.13") for b in res.summary["budget"] if b["before"] != "0.00")


def test_rule_2017_share_never_lowers_a_payment(small_run):
    res = compute(load_run(small_run), parse_reform((REFORMS / "regle-2017.toml").read_text()))
    assert res.summary["losers"]["losers"] == 0
    assert res.summary["losers"]["winners"] > 0


def test_percentile_objectives_are_the_run_own_percentiles(small_run):
    run = load_run(small_run)
    res = compute(run, parse_reform((REFORMS / "objectifs-p30-p80.toml").read_text()))
    base = load_catalogue(2018)
    changed = [
        i for i in res.catalogue.indicators.values()
        if (i.intermediate, i.target) != (base.indicators[i.id].intermediate, base.indicators[i.id].target)
    ]
    assert changed, "no objective was recomputed"
    for ind in changed:
        if ind.direction == "higher":
            assert ind.intermediate < ind.target
        else:
            assert ind.intermediate > ind.target


def test_cutting_the_point_value_triggers_the_safeguard_clause(small_run):
    # 7 € -> 6 € is a drop of 1/7 > 10 % against the run's own total (2018 is a safeguard year)
    text = HEAD + '[parameters]\npoint_value = "6"\n'
    res = compute(load_run(small_run), parse_reform(text))
    assert res.summary["safeguard"]["applies"] and res.summary["safeguard"]["triggered"]
    assert res.summary["losers"]["more_than_10_percent"] > 0


def test_outputs_and_manifest_record_the_reform_and_its_hash(small_run, tmp_path):
    path = REFORMS / "point-750.toml"
    run = load_run(small_run)
    res = compute(run, parse_reform(path.read_text(), source=str(path)))
    out = write_outputs(res, run, tmp_path / "out", path)
    m = json.loads((out / "manifest.json").read_text())
    import hashlib

    assert m["reform"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert m["parameters"]["point_value"]["value"] == "7.50"
    assert m["parameters"]["point_value"]["overridden"] is True
    doctors = pd.read_csv(out / "doctors.csv", dtype=str)
    assert list(doctors.columns)[:3] == ["doctor_id", "programme", "patientele"]
    for name in ("summary.json", "budget.csv", "deciles.csv", "specialties.csv", "reform.toml"):
        assert (out / name).is_file()


@pytest.mark.parametrize(
    "body, line, words",
    [
        # reason: a parameter that does not exist
        ('[parameters]\npoint_valeur = "7.5"\n', 5, "paramètre inconnu"),
        # reason: a programme that does not exist, through its reference patientèle
        ('[parameters]\npoint_value = "7"\n"reference_patientele.pediatrie" = "600"\n', 6, "programme inconnu"),
        # reason: a negative point value is impossible
        ('[parameters]\npoint_value = "-1"\n', 5, "valeur impossible"),
        # reason: a share above 1 is impossible
        ('[parameters]\n"scoring.intermediate_share" = "1.5"\n', 5, "valeur impossible"),
        # reason: an indicator that does not exist
        ('[[indicators]]\nid = "ENF-01"\npoints = 30\n\n[[indicators]]\nid = "XYZ-99"\npoints = 3\n', 9, "indicateur inconnu"),
        # reason: a target below the intermediate objective on a ≥ indicator (ENF-01 is ≥)
        ('[[indicators]]\nid = "ENF-01"\ntarget = "0.10"\n', 6, "valeur impossible"),
        # reason: an unknown field of an indicator row
        ('[[indicators]]\nid = "ENF-01"\nlabel = "x"\n', 6, "champ inconnu"),
        # reason: a float rate is not exact
        ('[[indicators]]\nid = "ENF-01"\nintermediate = 0.5\n', 6, "taux écrit en texte"),
        # reason: unknown programme in the percentile objectives
        ('[objectives]\nintermediate = 30\ntarget = 80\nprogrammes = ["pediatrie"]\n', 7, "programme inconnu"),
        # reason: invalid TOML
        ('[parameters]\npoint_value = \n', 5, "TOML invalide"),
    ],
)
def test_bad_reform_names_the_line(body, line, words):
    text = HEAD + "\n" + body
    with pytest.raises(ReformError) as exc:
        apply_reform(parse_reform(text, source="r.toml"), 2018, rates=pd.DataFrame({"indicator_id": [], "rate": []}))
    assert exc.value.line == line and exc.value.row is None, str(exc.value)
    assert words in str(exc.value)
    assert f"r.toml, line {line}" in str(exc.value)


def test_cli_reform_bad_file_exits_2(cli, small_run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD + '[parameters]\npoint_value = "-7"\n')
    r = cli("reform", "--run", str(small_run), "--reform", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    # the CLI's one handler: French, the TOML line as an editor shows it (no data-row conversion)
    assert "ligne 4, clé point_value" in r.stderr and "valeur impossible" in r.stderr
    assert "du fichier)" not in r.stderr and r.stderr.count("erreur") == 1 and "error:" not in r.stderr


def test_cli_reform_writes_outputs(cli, small_run, tmp_path):
    r = cli("reform", "--run", str(small_run), "--reform", str(REFORMS / "point-750.toml"), "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "doctors.csv").is_file()
    # reason: an earlier result is never overwritten silently; --overwrite replaces it whole
    r = cli("reform", "--run", str(small_run), "--reform", str(REFORMS / "point-750.toml"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--overwrite" in r.stderr
    (tmp_path / "o" / "stale.txt").write_text("x")
    r = cli("reform", "--run", str(small_run), "--reform", str(REFORMS / "point-750.toml"), "--out", str(tmp_path / "o"),
            "--overwrite")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "o" / "stale.txt").exists() and (tmp_path / "o" / "manifest.json").is_file()


def test_reform_that_fails_while_writing_leaves_no_result(small_run, tmp_path, monkeypatch):
    """reason: a failed reform must not leave a folder that looks complete (summary without doctors)."""
    from typer.testing import CliRunner

    import rosp.reform.engine as engine
    from rosp.cli import app

    def broken(*_a, **_k):
        raise OSError("disque plein")

    monkeypatch.setattr(engine, "doctors_csv", broken)
    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["reform", "--run", str(small_run), "--reform", str(REFORMS / "point-750.toml"),
                                 "--out", str(out)])
    assert r.exit_code != 0
    assert not out.exists(), sorted(p.name for p in out.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.tmp")]


def test_winners_and_losers_by_doctor_specialty_count_each_doctor_once(small_run):
    """Per specialty of the doctor (DA_PRA_R of the run), each doctor once with their total across
    programmes; the per-programme budget table stays."""
    run = load_run(small_run)
    res = compute(run, parse_reform((REFORMS / "regle-2017.toml").read_text()))
    s = res.summary
    assert "DA_PRA_R" in s["specialty_source"]
    assert sum(r["doctors"] for r in s["specialties"]) == s["doctors"]
    assert sum(r["winners"] + r["losers"] + r["unchanged"] for r in s["specialties"]) == s["doctors"]
    assert sum(int(r["delta"].replace(".", "")) for r in s["specialties"]) == int(s["total"]["delta"].replace(".", ""))
    # the doctor's specialty is the referential's, not the programme's
    pra = pd.read_parquet(Path(small_run).parent / "data" / "DA_PRA_R.parquet", columns=["STA_PFS_NUM", "PFS_PRA_SPE"])
    truth = {str(d): f"{int(c):02d}" for d, c in zip(pra["STA_PFS_NUM"], pra["PFS_PRA_SPE"], strict=True)}
    assert {d: sp for d, sp in zip(res.doctors["doctor_id"], res.doctors["specialty"], strict=True)} == {
        d: truth[d] for d in res.doctors["doctor_id"]}
    codes = {r["specialty"] for r in s["specialties"]}
    assert codes == set(res.doctors["specialty"])
    assert [b["programme"] for b in s["budget"]] == sorted(set(res.doctors["programme"]))


def test_specialty_falls_back_to_the_programme_without_the_referential(small_run, tmp_path):
    """Without DA_PRA_R (a run moved away from its claims), a one-specialty programme gives the
    specialty and mt-enfant (GPs and paediatricians) is 'unknown'."""
    import shutil

    shutil.copytree(small_run, tmp_path / "run", ignore=shutil.ignore_patterns("evidence"))
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    m["inputs"] = {}
    (tmp_path / "run" / "manifest.json").write_text(json.dumps(m))
    res = compute(load_run(tmp_path / "run"), parse_reform(HEAD))
    spec = dict(zip(res.doctors["programme"], res.doctors["specialty"], strict=True))
    assert spec.get("cardiologie", "03") == "03" and spec.get("mt-enfant", "") == ""
    assert "programme" in res.summary["specialty_source"]


@pytest.mark.parametrize(
    "kwargs, english, french",
    [
        # reason: a TOML line is printed as the editor shows it, its key as a key
        ({"file": "r.toml", "line": 3, "column": "point_value"}, "r.toml, line 3, key point_value: x",
         "fichier r.toml, ligne 3, clé point_value : x"),
        # reason: a CSV data row keeps its header-offset conversion and its column
        ({"file": "c.csv", "row": 3, "column": "euros"}, "c.csv, row 3 (line 4), column euros: x",
         "fichier c.csv, ligne 3 (ligne 4 du fichier), colonne euros : x"),
    ],
)
def test_rosp_error_line_only_form(kwargs, english, french):
    from rosp.cli import french as to_french
    from rosp.errors import RospError

    exc = RospError("x", **kwargs)
    assert str(exc) == english
    assert to_french(exc) == french
