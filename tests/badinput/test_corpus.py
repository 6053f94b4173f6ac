"""The bad-input corpus run through the CLI in-process (Typer's CliRunner).

Over the whole corpus: no traceback, no patient identifier printed, the exit code
and message fragments of each case, and no exit 0 with money different from the
clean reference unless announced (tests/badinput/corpus.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from rosp.cli import app
from tests.badinput.corpus import (
    ANNOUNCED,
    CASES,
    COUNTS,
    DOCTORS,
    PATIENT_LIKE,
    PATIENTELE,
    REF,
    Case,
)

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="session")
def clean(tmp_path_factory):
    """One small clean extract, its run, and a clean score output (built once)."""
    from rosp.synth.generator import generate

    root = tmp_path_factory.mktemp("clean")
    generate(patients=600, seed=7, year=2018, out_dir=root / "data")
    for extra in ("calibration.md", "ground_truth.csv", "ground_truth_previous.csv"):
        (root / "data" / extra).unlink(missing_ok=True)
    (root / "counts.csv").write_text(COUNTS, encoding="utf-8")
    (root / "patientele.csv").write_text(PATIENTELE, encoding="utf-8")
    r = invoke("score", "--counts", str(root / "counts.csv"), "--patientele", str(root / "patientele.csv"),
               "--out", str(root / "scored"))
    assert r.exit_code == 0, r.output
    r = invoke("run", "--data", str(root / "data"), "--out", str(root / "run"))
    assert r.exit_code == 0, r.output
    assert (root / "run" / "payments.csv").read_text().count("\n") > 1, "the clean run pays nobody"
    ben = pq.read_table(root / "data" / "IR_BEN_R.parquet")
    ids = set(ben["BEN_NIR_PSA"].to_pylist()) | set(ben["BEN_IDT_ANO"].to_pylist()) | {PATIENT_LIKE}
    return root, ids


def _fill(arg: str, tmp: Path, root: Path) -> str:
    return arg.format(counts=tmp / "counts.csv", pat=tmp / "patientele.csv", out=tmp / "out", data=tmp / "data",
                      payments=tmp / "payments.csv", doctors=tmp / "doctors.csv", scored=root / "scored", tmp=tmp)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, clean, tmp_path):
    root, patient_ids = clean
    tmp = tmp_path
    shutil.copy(root / "counts.csv", tmp / "counts.csv")
    shutil.copy(root / "patientele.csv", tmp / "patientele.csv")
    (tmp / "doctors.csv").write_text(DOCTORS, encoding="utf-8")
    if case.args[0] == "run":
        shutil.copytree(root / "data", tmp / "data")
    if case.setup:
        case.setup(tmp)
    r = invoke(*[_fill(a, tmp, root) for a in case.args])
    out = r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), f"uncaught {r.exception!r}"
    assert "Traceback" not in out
    leaked = [i for i in patient_ids if i and i in out]
    assert not leaked, f"patient identifier printed ({case.why or case.id})"
    assert r.exit_code == case.exit, out
    flat = " ".join(out.split())
    for fragment in case.fragments:
        assert fragment in flat, f"{fragment!r} not in: {flat}"
    if r.exit_code == 0 and case.money:
        ref = root / ("scored" if case.args[0] == "score" else "run") / "payments.csv"
        got = (tmp / "out" / "payments.csv").read_bytes()
        if case.money == REF:
            assert got == ref.read_bytes()
        elif case.money == ANNOUNCED and got != ref.read_bytes():
            assert "avertissement" in flat or "rejetées" in flat
    if r.exit_code != 0:
        for name in ("payments.csv", "indicators.csv"):
            assert not (tmp / "out" / name).exists(), "a failed run left a result"
        assert not list(tmp.glob(".out.tmp-*")), "temporary folder left behind"
    if case.extra_check:
        case.extra_check(tmp, out)


def test_corpus_covers_the_issue():
    assert len(CASES) >= 60
    cats = {c.category for c in CASES}
    assert {"counts", "beneficiaries", "empty", "mt", "declarations", "start_rates", "rejects", "tables",
            "messages", "outputs", "leaks"} <= cats


def test_ctrl_c_exits_130_and_leaves_nothing(monkeypatch, tmp_path):
    import rosp.scoring.service as service

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "score_batch", interrupted)
    (tmp_path / "c.csv").write_text(COUNTS)
    (tmp_path / "p.csv").write_text(PATIENTELE)
    r = invoke("score", "--counts", str(tmp_path / "c.csv"), "--patientele", str(tmp_path / "p.csv"),
               "--out", str(tmp_path / "out"))
    assert r.exit_code == 130 and len(r.output.strip().splitlines()) == 1 and "interrompu" in r.output
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_a_bug_exits_1_and_the_traceback_needs_debug(monkeypatch, tmp_path):
    import rosp.scoring.service as service

    def bug(*a, **k):
        raise ZeroDivisionError(f"boom {PATIENT_LIKE}")

    monkeypatch.setattr(service, "score_batch", bug)
    (tmp_path / "c.csv").write_text(COUNTS)
    (tmp_path / "p.csv").write_text(PATIENTELE)
    args = ["score", "--counts", str(tmp_path / "c.csv"), "--patientele", str(tmp_path / "p.csv"),
            "--out", str(tmp_path / "out")]
    r = invoke(*args)
    assert r.exit_code == 1 and "--debug" in r.output and "Traceback" not in r.output
    assert PATIENT_LIKE not in r.output
    r = invoke("--debug", *args)
    assert r.exit_code == 1 and "Traceback" in r.output


def test_sanitize_drops_duckdb_echoed_lines():
    from rosp.cli import sanitize

    msg = ("Conversion Error: CSV Error on Line: 3\nOriginal Line: P0A1B2C3D4E5F6A7B,1,1980\n"
           "Possible Solution: ...")
    assert "P0A1B2C3D4E5F6A7B" not in sanitize(msg)
    assert "<identifiant masqué>" in sanitize(f"doctor {PATIENT_LIKE} unknown")
