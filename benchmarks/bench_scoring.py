"""Benchmark: score 100 000 doctors across the four programmes.

Times the vectorised path (`score_batch`) against the exact scalar reference
(`score_batch_reference`) on the same random counts, checks they agree to the
cent, and writes the figures to benchmarks/RESULTS.md. Each path runs in its own
process so that its peak memory is its own.

    python benchmarks/bench_scoring.py [--doctors 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, peak_rss_mib, write_section  # noqa: E402

from rosp.catalogue import load_catalogue  # noqa: E402


def population(n_doctors: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random counts: each doctor in one programme, every indicator present."""
    rng = np.random.default_rng(seed)
    cat = load_catalogue(2018)
    progs = [p for p in cat.programmes]
    choice = rng.integers(0, len(progs), n_doctors)
    doctors = np.array([f"D{k:07d}" for k in range(n_doctors)])
    pat = pd.DataFrame(
        {
            "doctor_id": doctors,
            "programme": [progs[c].slug for c in choice],
            "patientele": rng.integers(50, 2500, n_doctors),
        }
    )
    rows = []
    for pi, p in enumerate(progs):
        ds = doctors[choice == pi]
        for ind in p.indicators:
            n = len(ds)
            den = rng.integers(0, 200, n)
            num = rng.binomial(den, rng.uniform(0, 1, n))
            start = np.where(rng.uniform(size=n) < 0.7, np.round(rng.uniform(0, 1, n), 3).astype(str), "")
            rows.append(
                pd.DataFrame(
                    {
                        "doctor_id": ds,
                        "indicator_id": ind.id,
                        "numerator": num,
                        "denominator": den,
                        "start_rate": start,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True), pat


def _worker(kind: str, n: int, seed: int, q: mp.Queue) -> None:
    from rosp.scoring.batch import score_batch, score_batch_reference

    counts, pat = population(n, seed)
    cat = load_catalogue(2018)
    fn = score_batch if kind == "vectorised" else score_batch_reference
    t0 = time.perf_counter()
    res = fn(counts, pat, 2018, cat)
    elapsed = time.perf_counter() - t0
    q.put(
        {
            "kind": kind,
            "seconds": elapsed,
            "rows": len(res.indicators),
            "peak_mib": peak_rss_mib(),
            "euros": res.payments["euros"].tolist(),
            "exact_groups": res.exact_recomputed_groups,
        }
    )


def measure(kind: str, n: int, seed: int) -> dict:
    q: mp.Queue = mp.get_context("fork").Queue()
    p = mp.get_context("fork").Process(target=_worker, args=(kind, n, seed, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--doctors", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5,
                    help="fresh processes timing the vectorised path (the median is the figure)")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    # One process's time varies by ±30 % on these machines: the vectorised path is timed in
    # --repeat fresh processes and judged on the median; the slow reference runs once.
    runs = [measure("vectorised", args.doctors, args.seed) for _ in range(max(args.repeat, 1))]
    times = sorted(r["seconds"] for r in runs)
    vec = dict(runs[0], seconds=statistics.median(times), peak_mib=max(r["peak_mib"] for r in runs))
    ref = measure("reference", args.doctors, args.seed)
    agree = all(r["euros"] == ref["euros"] for r in runs)
    body = f"""
Machine: {machine()} (target: 2 cores, 24 GiB).
Command: `python benchmarks/bench_scoring.py --doctors {args.doctors} --seed {args.seed}`.
Input: {args.doctors:,} doctors spread over the four 2018 programmes, {vec['rows']:,} doctor × indicator rows,
random counts and starting rates. Time excludes reading/writing files.

| path | time (s) | rows/s | peak RSS (MiB) |
|---|---:|---:|---:|
| vectorised (`score_batch`), median of {len(times)} processes | {vec['seconds']:.2f} | {vec['rows'] / vec['seconds']:,.0f} | {vec['peak_mib']:.0f} |
| scalar exact reference (`score_batch_reference`, baseline) | {ref['seconds']:.2f} | {ref['rows'] / ref['seconds']:,.0f} | {ref['peak_mib']:.0f} |

Vectorised path in each fresh process: {', '.join(f"{t:.2f}" for t in times)} s (min {times[0]:.2f}, max {times[-1]:.2f}).
Load average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after.
Speed-up of the vectorised path (median) over the reference: **{ref['seconds'] / vec['seconds']:.1f}×**.
Goal: vectorised under 2 s on 2 cores (median) — {'met' if vec['seconds'] < 2 else 'NOT met'}.
Payments identical to the cent on all {len(vec['euros']):,} doctors: **{agree}**
({vec['exact_groups']} doctor totals within float noise of a half-cent were recomputed exactly).
"""
    write_section("Scoring (bench_scoring.py)", body)
    print(body)
    if not agree:
        raise SystemExit("vectorised and reference payments differ")


if __name__ == "__main__":
    main()
