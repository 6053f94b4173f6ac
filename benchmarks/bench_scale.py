"""Benchmark: `rosp synth` + `rosp run` at growing sizes, DuckDB (out of core) and Spark local.

For each size, in fresh processes: synthesise the extract, measure the scan floor (one
DuckDB scan decoding every declared column of every input table), then `rosp run`
(the CLI's `run()`, with its default memory limit and a work dir beside the data).
Records wall time, peak RSS (the Python process; for Spark also its JVM child),
input rows per second, the ratio to the scan floor of the same size, the share of
time per stage (`timings.json`), the log-log growth exponent of run time against
size, and the machine's load average (the machine may be shared).

    python benchmarks/bench_scale.py [--sizes 100000 1000000 5000000] [--spark-sizes 1000000]
                                     [--pandas-size 1000000]

With ``--pandas-size N`` (one of the DuckDB sizes) the pandas comparison of
``bench_pipeline.py`` runs on the same extract in the same session: the pandas
implementation of three indicators against the engine computing the same three
(``ENGINE3``: validated load of every table, then the three compiled indicators).
Every figure carries the commit it came from.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import ENGINE3, PANDAS  # noqa: E402
from common import SCAN, SYNTH, machine, timed, write_section  # noqa: E402

#: Operations no computation of the payments can skip, each alone, bare (a count, nothing
#: written), on the largest table: netting régularisations (the group of indicators.md
#: §a.1), the duplicate-key probe, the beneficiary reference check, attaching pharmacy
#: lines to their prestation line. Their sum against the scan floor shows how far below
#: the run any ratio goal can be (best of two each).
BARE_OPS = """
import duckdb, time
d = {data!r}
K = "FLX_DIS_DTD, FLX_TRT_DTD, FLX_EMT_TYP, FLX_EMT_NUM, FLX_EMT_ORD, ORG_CLE_NUM, DCT_ORD_NUM, PRS_ORD_NUM, REM_TYP_AFF"
P, F, B = (f"read_parquet('{{d}}/{{t}}.parquet')" for t in ("ER_PRS_F", "ER_PHA_F", "IR_BEN_R"))
Q = {{
    "netting": f"SELECT count(*) FROM (SELECT 1 FROM {{P}} GROUP BY BEN_NIR_PSA, BEN_RNG_GEM, PFS_EXE_NUM, "
               "PFS_PRE_NUM, EXE_SOI_DTD, PRS_NAT_REF, CPL_MAJ_TOP)",
    "duplicate keys": f"SELECT count(*) FROM (SELECT hash({{K}}) h FROM {{P}} GROUP BY h HAVING count(*) > 1)",
    "beneficiary check": f"SELECT count(*) FROM {{P}} p ANTI JOIN {{B}} b USING (BEN_NIR_PSA, BEN_RNG_GEM)",
    "pharmacy to prestation": f"SELECT count(*) FROM {{F}} f JOIN {{P}} p USING ({{K}})",
}}
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
for k, q in Q.items():
    best = None
    for _ in range(2):
        t = time.perf_counter()
        con.execute(q).fetchall()
        best = min(best or 1e9, time.perf_counter() - t)
    result[k] = best
"""

RUN = (
    "from pathlib import Path; from rosp.engine.run import run; "
    "run(Path({data!r}), 2018, Path({out!r}), engine={engine!r}, work_dir=Path({work!r}){extra})"
)


def commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).parent).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class DiskPeak:
    """Samples the size of a directory every few seconds in a thread: the work dir's peak
    (DuckDB database + spill, or Spark's stored tables), which bounds the largest run."""

    def __init__(self, path: Path, every: float = 5.0) -> None:
        self.path, self.every, self.peak = path, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, du(self.path))
            except OSError:  # files come and go while sampled
                pass
            self._stop.wait(self.every)

    def __enter__(self) -> DiskPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def slope(points: list[tuple[float, float]]) -> float | None:
    pts = [(math.log(n), math.log(t)) for n, t in points if t > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    num = sum((x - mx) * (y - my) for x, y in pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return num / den


def stage_shares(timings: dict) -> str:
    t = {k: v for k, v in timings.items() if isinstance(v, (int, float))}
    ind = sum(v for k, v in t.items() if k.startswith("indicators:"))
    parts = {"load": t.get("load", 0), "export+spark start": t.get("export_views", 0) + t.get("spark_start", 0),
             "patientèles": t.get("patienteles", 0), "indicators+evidence": ind, "starting rates (N-1)": t.get("start_rates", 0), "scoring": t.get("scoring", 0),
             "writing": t.get("writing", 0)}
    total = sum(parts.values()) or 1
    return ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in parts.items() if v)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000, 5_000_000])
    ap.add_argument("--spark-sizes", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--work", type=Path, default=Path(__file__).parent / "_work_scale")
    ap.add_argument("--memory-limit", default=None, help="passed to run() (default: rosp's default)")
    ap.add_argument("--spark-timeout", type=float, default=1800)
    ap.add_argument("--keep", action="store_true", help="keep the extracts and run directories")
    ap.add_argument("--pandas-size", type=int, default=None,
                    help="run bench_pipeline's pandas comparison on this DuckDB size, in this session")
    args = ap.parse_args()
    args.commit = commit()
    args.work.mkdir(parents=True, exist_ok=True)
    started, load_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load()
    rows, duck_points = [], []
    args.pandas = None
    plan = [(n, "duckdb") for n in sorted(args.sizes)] + [(n, "spark") for n in sorted(args.spark_sizes)]
    extracts: dict[int, tuple[dict, dict]] = {}
    for k, (n, engine) in enumerate(plan):
        data = args.work / f"data_{n}"
        if n not in extracts:
            shutil.rmtree(data, ignore_errors=True)
            synth = timed(SYNTH.format(n=n, data=str(data)))
            scan = timed(SCAN.format(data=str(data)))
            scan["seconds"] = scan.get("scan_seconds", scan.get("seconds"))  # without imports
            extracts[n] = (synth, scan)
            print(n, "synth", synth, "scan", scan, flush=True)
        synth, scan = extracts[n]
        out, work = args.work / f"run_{engine}_{n}", args.work / f"scratch_{engine}_{n}"
        shutil.rmtree(out, ignore_errors=True)
        extra = f", memory_limit={args.memory_limit!r}" if args.memory_limit else ""
        if engine == "spark":
            extra += ", spark_master='local[*]'"
        la = load()
        with DiskPeak(work) as disk:
            res = timed(RUN.format(data=str(data), out=str(out), engine=engine, work=str(work), extra=extra),
                        timeout=args.spark_timeout if engine == "spark" else None)
        res["load_avg"], res["work_peak"] = la, disk.peak
        shutil.rmtree(work, ignore_errors=True)
        if "error" not in res:
            man = json.loads((out / "manifest.json").read_text())
            res["input_rows"] = sum(t["rows_read"] for t in man.get("claims", {}).get("tables", {}).values())
            res["timings"] = json.loads((out / "timings.json").read_text())
            res["evidence_bytes"] = du(out / "evidence")
            if engine == "duckdb":
                duck_points.append((n, res["seconds"]))
        print(n, engine, res, flush=True)
        if engine == "duckdb" and n == args.pandas_size:
            la = load()
            pandas = timed(PANDAS.format(data=str(data)))
            engine3 = timed(ENGINE3.format(data=str(data)))
            ops = timed(BARE_OPS.format(data=str(data)))
            args.pandas = (n, pandas, engine3, la, res, scan, ops)
            print(n, "pandas", pandas, "engine3", engine3, "bare ops", ops, flush=True)
        rows.append((n, engine, synth, scan, res, du(data)))
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
            if all(m != n for m, _ in plan[k + 1:]):
                shutil.rmtree(data, ignore_errors=True)
        report(args, rows, duck_points, started, load_start)


def report(args, rows, duck_points, started, load_start) -> None:
    exponent = slope(duck_points)
    lines = []
    for n, engine, synth, scan, r, size in rows:
        if "error" in r:
            lines.append(f"| {n:,} | {engine} | {synth.get('seconds', 0):.0f} | {scan.get('seconds', 0):.2f} | "
                         f"{r['error']} | | | | | | | {r['load_avg']} |")
            continue
        jvm = f" (+ JVM {r['children_peak_mib'] / 1024:.1f})" if engine == "spark" else ""
        lines.append(
            f"| {n:,} | {engine} | {synth['seconds']:.0f} | {scan['seconds']:.2f} | {r['seconds']:.0f} | "
            f"{r['peak_mib'] / 1024:.2f}{jvm} | {r['input_rows']:,} | {r['input_rows'] / r['seconds']:,.0f} | "
            f"{r['seconds'] / scan['seconds']:.0f}× | {size / 2**30:.2f} | {r.get('work_peak', 0) / 2**30:.1f} | "
            f"{r['load_avg']} |"
        )
    pandas = ""
    if args.pandas:
        n, pd_, e3, la, full, scan, ops = args.pandas
        if "error" in pd_ or "error" in e3:
            pandas = f"Pandas comparison at {n:,} patients failed: {pd_.get('error') or e3.get('error')}."
        else:
            pandas = f"""Pandas comparison at {n:,} patients, same extract, same session (load average {la}), each side
in a fresh process reading the same Parquet files: the pandas implementation of ENF-04, ENF-06 and
CAR-09 (`rosp/engine/reference_pandas.py`: reads the columns of those indicators, validates nothing)
against the engine computing the same three indicators (`ENGINE3` of bench_pipeline.py: validated
load of every table, every check, clean views, then the three compiled indicators on DuckDB). The engine side loads into
an in-memory DuckDB, as `load_claims` does without a connection (not `rosp run`'s out-of-core database),
hence its peak above `rosp run`'s.

| pandas, 3 indicators (s) | pandas peak (GiB) | engine, 3 indicators (s) | engine peak (GiB) | full run (s) | pandas ÷ engine-3 | pandas ÷ full run |
|---:|---:|---:|---:|---:|---:|---:|
| {pd_['seconds']:.1f} | {pd_['peak_mib'] / 1024:.2f} | {e3['seconds']:.1f} | {e3['peak_mib'] / 1024:.2f} | {full.get('seconds', 0):.0f} | {pd_['seconds'] / e3['seconds']:.2f}× | {pd_['seconds'] / full['seconds'] if full.get('seconds') else 0:.2f}× |
"""
            if "error" not in ops:
                bare = {k: v for k, v in ops.items() if k not in ("seconds", "peak_mib", "children_peak_mib")}
                total = sum(bare.values())
                pandas += f"""
Bare operations at {n:,} patients (`BARE_OPS`: each alone, a count over the Parquet files,
nothing written, best of two), against the scan floor of the same extract ({scan['seconds']:.2f} s):
{"; ".join(f"{k} {v:.2f} s" for k, v in bare.items())}; together **{total:.2f} s = {total / scan['seconds']:.1f}× the floor**,
before any view is written and before any indicator (35 definitions on N and again on N−1).
"""
    shares = "\n".join(f"- {n:,} {e}: {stage_shares(r['timings'])}" for n, e, _, _, r, _ in rows if "timings" in r)
    body = f"""
Machine: {machine()} (2 cores, 24 GiB); the machine may be shared with other work while measured
(load average 1/5/15 min at start {load_start}, at end {load()}; per run in the last column).
Started {started}, commit `{args.commit}`. Command: `python benchmarks/bench_scale.py --sizes {' '.join(map(str, args.sizes))}
--spark-sizes {' '.join(map(str, args.spark_sizes))}{f' --pandas-size {args.pandas_size}' if args.pandas_size else ''}`. Each step in a fresh process; `rosp run` with its
defaults (file-backed DuckDB in a scratch work dir, memory limit {args.memory_limit or 'default: RAM/4, at most 4 GiB'}).

| patients | engine | synth (s) | scan floor (s) | run (s) | run peak RSS (GiB) | input rows | rows/s | run ÷ floor | extract on disk (GiB) | work dir peak (GiB) | load avg at start |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
{chr(10).join(lines)}

Growth exponent (log-log slope of DuckDB run time against patients): {f'{exponent:.2f}' if exponent is not None else 'n/a'}.

Share of run time per stage:
{shares}

{pandas}
On a loaded machine absolute times are inflated (several times); the ratios within one row
(run ÷ floor) and the peak RSS are the figures to trust. The scan floor decodes every
declared column of every input file the run reads (`SCAN` of common.py, the loader's file list). Peak RSS is bounded by DuckDB's
`memory_limit` (buffer pool; it spills to the work dir beyond it) plus the Python side
(per-doctor counts, scoring, Arrow batches of 262 144 evidence rows).
"""
    write_section("Scaling (bench_scale.py)", body)
    print(body, flush=True)


if __name__ == "__main__":
    main()
