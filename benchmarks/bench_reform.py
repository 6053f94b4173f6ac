"""Benchmark: `rosp reform` on a run of 100 000 doctors.

Builds a synthetic completed run (random counts as in bench_scoring.py, baseline
payments from `score_batch`), then times, for the example reform
`reforms/point-750.toml`:
- the reform re-score in memory (`rosp.reform.engine.compute`: apply the reform,
  vectorised re-score, budget, deciles, losers, specialties, safeguard);
- the same end to end (read the run's CSV files, compute, write the outputs);
- beside them, the full re-score of the run through `rosp score` (validate the
  CSV inputs, score, write indicators.csv / payments.csv / manifest).

    python benchmarks/bench_reform.py [--doctors 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scoring import population  # noqa: E402
from common import machine, peak_rss_mib, write_section  # noqa: E402

from rosp.catalogue import load_catalogue  # noqa: E402
from rosp.outputs import format_payments, write_csv  # noqa: E402
from rosp.reform.engine import compute, load_run, write_outputs  # noqa: E402
from rosp.reform.model import load_reform  # noqa: E402
from rosp.scoring.batch import PAYMENT_COLUMNS, score_batch  # noqa: E402
from rosp.scoring.service import score_files  # noqa: E402

REFORM = Path(__file__).resolve().parents[1] / "reforms" / "point-750.toml"


def make_run(root: Path, n: int, seed: int) -> Path:
    counts, pat = population(n, seed)
    res = score_batch(counts, pat, 2018, load_catalogue(2018))
    run = root / "run"
    write_csv(counts, run / "counts.csv")
    write_csv(pat, run / "patientele.csv")
    write_csv(format_payments(res.payments)[PAYMENT_COLUMNS], run / "payments.csv")
    (run / "manifest.json").write_text(json.dumps({"year": 2018}))
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--doctors", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_dir = make_run(root, args.doctors, args.seed)
        reform = load_reform(REFORM)
        compute(load_run(run_dir), reform)  # warm-up (imports, catalogue)
        loads, colds, warms = [], [], []
        for _ in range(3):
            t0 = time.perf_counter()
            run = load_run(run_dir)
            loads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            res = compute(run, reform)  # a fresh run: includes building its scoring grid
            colds.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            compute(run, reform)  # the same run again (the web page's case: grid cached)
            warms.append(time.perf_counter() - t0)
        t_load, t_compute, t_warm = min(loads), min(colds), min(warms)
        from rosp.reform.model import apply_reform

        cat = apply_reform(reform, 2018)
        score_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            score_batch(run.counts, run.patientele, 2018, cat)
            score_times.append(time.perf_counter() - t0)
        t_score = min(score_times)
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        write_outputs(res, run, root / "out", REFORM)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "rosp.cli", "reform", "--run", str(run_dir), "--reform",
                              str(REFORM), "--out", str(root / "out-cli")], capture_output=True, text=True)
        t_cli = time.perf_counter() - t0
        if cli.returncode != 0:
            raise SystemExit(cli.stderr)
        t0 = time.perf_counter()
        score_files(2018, run_dir / "counts.csv", run_dir / "patientele.csv", root / "rescore")
        t_full = time.perf_counter() - t0
        load_after = os.getloadavg()
        rows = len(run.counts)
    e2e = t_load + t_compute + t_write
    body = f"""
Machine: {machine()} (target: 2 cores, 24 GiB).
Command: `python benchmarks/bench_reform.py --doctors {args.doctors} --seed {args.seed}`.
Input: a synthetic run of {args.doctors:,} doctors ({rows:,} counts rows, random counts as in
bench_scoring.py); reform `reforms/point-750.toml`. Best of 3 for the in-process steps.
Load average (1, 5, 15 min) {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} before the
full re-score, {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f} after it ({os.cpu_count()} cores, shared machine).

| step | time (s) |
|---|---:|
| read the run (counts.csv, patientele.csv, payments.csv, Arrow CSV reader) | {t_load:.2f} |
| **reform re-score** of a freshly read run (build the scoring grid, apply, re-score, budget, deciles, losers, specialties, safeguard) | **{t_compute:.2f}** |
| the same on a run already scored once (grid cached: the `/reforme` page) | {t_warm:.2f} |
| write the reform outputs (summary, CSV tables, doctors.csv, manifest) | {t_write:.2f} |
| reform end to end in process (read + re-score + write) | {e2e:.2f} |
| `rosp reform` command in a fresh interpreter (imports included) | {t_cli:.2f} |
| for comparison: `score_batch` alone on the same counts (the generic scorer, its own merges) | {t_score:.2f} |
| **full re-score** of the run with `rosp score` (validate CSV, score, write) | **{t_full:.2f}** |

Goal: reform re-score under 2 s for 100 000 doctors on 2 cores — {'met' if t_compute < 2 else 'NOT met'}
({t_compute:.2f} s; end to end in process {e2e:.2f} s). Full re-score / reform end to end: {t_full / e2e:.1f}×.
Peak RSS {peak_rss_mib():.0f} MiB. The reform scores the run's paid rows on a grid of integer codes
built once per run (`rosp/reform/rescore.py`), with the arithmetic of `score_batch`; payable amounts and
points equal `score_batch`'s (tests/reform/test_rescore.py).
"""
    write_section("Reform (bench_reform.py)", body)
    print(body)


if __name__ == "__main__":
    main()
