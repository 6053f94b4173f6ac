"""Profile the load and validation of an extract: time of every DuckDB statement.

    python benchmarks/profile_load.py --data EXTRACT [--top 15] [--log profile.jsonl]

Runs ``load_claims`` as ``rosp run`` does (file-backed DuckDB in a scratch work dir,
default memory limit, rejects written) with ``ROSP_PROFILE_SQL`` set
(rosp/claims/sqlprofile.py), then prints the most expensive statements (seconds, share
of the load, rows, the statement's head) as a Markdown table for docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--year", type=int, default=2018)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--width", type=int, default=110, help="characters of each statement shown")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rosp-profile-"))
    log = args.log or work / "profile.jsonl"
    log.unlink(missing_ok=True)
    os.environ["ROSP_PROFILE_SQL"] = str(log)
    from rosp.claims.load import load_claims
    from rosp.engine.backends import open_duckdb
    from rosp.engine.run import _known_indicators

    la = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    con = open_duckdb(work / "duckdb")
    t0 = time.perf_counter()
    try:
        load_claims(args.data, args.year, rejects_dir=work / "rejected", con=con, work_dir=work,
                    known_indicators=_known_indicators(args.year))
    finally:
        total = time.perf_counter() - t0
        con.disconnect()
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    timed = sum(e["seconds"] for e in entries)
    print(f"Machine: {machine()}; load average at start {la}. Extract {args.data.name}.")
    print(f"load_claims: {total:.1f} s wall, {len(entries)} statements timed ({timed:.1f} s in DuckDB).\n")
    print("| s | share | rows | statement |\n|---:|---:|---:|---|")
    for e in sorted(entries, key=lambda e: -e["seconds"])[: args.top]:
        sql = e["sql"][: args.width].replace("|", "\\|")
        rows = "" if e["rows"] is None else f"{e['rows']:,}"
        print(f"| {e['seconds']:.2f} | {100 * e['seconds'] / total:.0f} % | {rows} | `{sql}` |")
    if args.log is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
