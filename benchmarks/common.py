"""Shared helpers for the benchmarks: machine description and RESULTS.md sections."""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {cpu}, Python {platform.python_version()}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section `## name` of RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    section = f"## {name}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section, text) if pattern.search(text) else text + section
    RESULTS.write_text(text, encoding="utf-8")


# The steps both pipeline benchmarks time, each in a fresh interpreter.
SYNTH = "from pathlib import Path; from rosp.synth import generate; generate({n}, 42, 2018, Path({data!r}))"
#: the scan floor: one DuckDB scan decoding every declared column of every input file the
#: run reads (the loader's own file list: archives and yearly PMSI files included)
#: (fetchall: duckdb 2 refuses new work on a connection with an unfinished result)
SCAN = """
import duckdb
from pathlib import Path
from rosp.claims.load import find_files
from rosp.claims.schema import TABLES
import time
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = 0
t0 = time.perf_counter()  # the floor is the scan, not the interpreter's imports
for name, t in TABLES.items():
    for f in find_files(Path({data!r}), t):
        cols = [c for c in t.names if c != "PMSI_ANN"]  # PMSI_ANN comes from the file name
        aggs = ", ".join(f'sum(hash("{{c}}"))' for c in cols)
        rows += con.execute(f"SELECT count(*), {{aggs}} FROM read_parquet('{{f}}')").fetchall()[0][0]
result["rows"] = rows
result["scan_seconds"] = time.perf_counter() - t0
"""

_WRAPPER = textwrap.dedent(
    """
    import json, resource, sys, time
    t0 = time.perf_counter()
    result = {}
    exec(compile(sys.argv[1], "<bench>", "exec"))
    result["seconds"] = time.perf_counter() - t0
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["children_peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("@@" + json.dumps(result))
    """
)


def timed(code: str, timeout: float | None = None, check: bool = False) -> dict:
    """Run `code` in a fresh interpreter; it sets `result` (a dict). Adds seconds and peak MiB
    (the process and its children). A failure or time-out is returned as ``{"error": ...}``,
    or raised with ``check``."""
    try:
        out = subprocess.run([sys.executable, "-c", _WRAPPER, code], capture_output=True, text=True,
                             timeout=timeout, check=check)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": (out.stderr or "").strip().splitlines()[-1:] or ["failed"]}
    # the result line may follow a progress bar on the same line (DuckDB's, without newline)
    at = out.stdout.rfind("@@")
    if at < 0:
        return {"error": (out.stderr or "").strip().splitlines()[-1:] or ["no result"]}
    return json.loads(out.stdout[at + 2:].splitlines()[0])
