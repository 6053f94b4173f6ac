"""The reform's fast re-scorer (rosp/reform/rescore.py) pays exactly what `score_batch` pays.

Each case is a reform (or a rule option) whose arithmetic path differs; the fast
path must give the same payable cents and the same points as the generic scorer
on the same reformed catalogue, row for row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rosp.catalogue import load_catalogue
from rosp.outputs import format_payments, write_csv
from rosp.reform.engine import compute, load_run
from rosp.reform.model import parse_reform
from rosp.scoring.batch import PAYMENT_COLUMNS, score_batch

REFORMS = Path(__file__).resolve().parents[2] / "reforms"
HEAD = '[reform]\ntitle = "t"\n'


@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    """400 random doctors, some in two programmes, with declared rates and missing start rates."""
    rng = np.random.default_rng(3)
    cat = load_catalogue(2018)
    progs = list(cat.programmes)
    pat_rows, count_rows = [], []
    for k in range(400):
        doc = f"{rng.integers(10**8, 10**9)}"
        chosen = rng.choice(len(progs), size=1 + (k % 7 == 0), replace=False)
        for pi in chosen:
            p = progs[pi]
            pat_rows.append((doc, p.slug, int(rng.integers(20, 2500))))
            for ind in p.indicators:
                if rng.uniform() < 0.05:
                    continue  # no counts row: neutralised (or not declared)
                den = int(rng.integers(0, 120))
                num = int(rng.binomial(den, rng.uniform())) if den else 0
                start = f"{rng.uniform():.3f}" if rng.uniform() < 0.7 else ""
                declared = f"{rng.uniform():.4f}" if ind.measurement == "declaration" and rng.uniform() < 0.8 else ""
                count_rows.append((doc, ind.id, num, den, start, declared))
    pat = pd.DataFrame(pat_rows, columns=["doctor_id", "programme", "patientele"]).drop_duplicates(
        ["doctor_id", "programme"])
    counts = pd.DataFrame(count_rows, columns=["doctor_id", "indicator_id", "numerator", "denominator",
                                               "start_rate", "declared_rate"]).drop_duplicates(
        ["doctor_id", "indicator_id"])
    res = score_batch(counts, pat, 2018, cat)
    run = tmp_path_factory.mktemp("random_run")
    write_csv(counts, run / "counts.csv")
    write_csv(pat, run / "patientele.csv")
    write_csv(format_payments(res.payments)[PAYMENT_COLUMNS], run / "payments.csv")
    (run / "manifest.json").write_text(json.dumps({"year": 2018}))
    return run


CASES = [
    # reason: the identity (the baseline itself)
    ("identity", HEAD),
    # reason: a new point value (every euro amount scaled, half-cent ties on round totals)
    ("point value 7.50", (REFORMS / "point-750.toml").read_text()),
    # reason: the 2017 share at the intermediate objective
    ("rule 2017", (REFORMS / "regle-2017.toml").read_text()),
    # reason: objectives moved to the run's own percentiles (every indicator cell changes)
    ("P30/P80 objectives", (REFORMS / "objectifs-p30-p80.toml").read_text()),
    # reason: the (T − D) normalisation has a jump at I: rows on an objective are recomputed exactly
    ("T-D normalisation", HEAD + '[parameters]\n"scoring.progression_normalisation" = "target"\n'),
    # reason: a cap on the patientèle weight
    ("patientele cap", HEAD + '[parameters]\n"scoring.patientele_cap" = "1"\n'),
    # reason: points, thresholds and a reference patientèle changed
    ("cells", HEAD + '[parameters]\n"reference_patientele.mt-enfant" = "700"\n'
              '[[indicators]]\nid = "ENF-01"\npoints = 40\nthreshold = 12\n'),
]


@pytest.mark.parametrize("name, text", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("which", ["small_run", "random_run"])
def test_fast_rescore_pays_what_score_batch_pays(which, name, text, request):
    run = load_run(request.getfixturevalue(which))
    res = compute(run, parse_reform(text))
    assert run.grid(res.catalogue) is not None, "the fast path did not apply"
    sb = score_batch(run.counts, run.patientele, 2018, res.catalogue).payments
    m = res.doctors.merge(sb, on=["doctor_id", "programme"], how="left", validate="one_to_one")
    assert len(m) == len(run.payments) > 10
    assert (m["euros_after"] == m["euros"]).all()
    assert (m["points_after"].to_numpy() == m["points"].to_numpy()).all()


def test_duplicate_counts_rows_fall_back_to_score_batch(random_run, tmp_path):
    """Two counts rows for one doctor × indicator: the grid declines and the generic scorer decides."""
    import shutil

    shutil.copytree(random_run, tmp_path / "run")
    counts = pd.read_csv(tmp_path / "run" / "counts.csv", dtype=str, keep_default_na=False)
    pd.concat([counts, counts.iloc[:1]]).to_csv(tmp_path / "run" / "counts.csv", index=False)
    run = load_run(tmp_path / "run")
    res = compute(run, parse_reform((REFORMS / "point-750.toml").read_text()))
    assert run.grid(res.catalogue) is None
    sb = score_batch(run.counts, run.patientele, 2018, res.catalogue).payments
    m = res.doctors.merge(sb.drop_duplicates(["doctor_id", "programme"]), on=["doctor_id", "programme"], how="left")
    assert (m["euros_after"] == m["euros"]).all()
