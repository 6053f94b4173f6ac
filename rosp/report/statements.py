"""Individual statements as HTML or PDF: one doctor, or every doctor of a run.

`rosp statement --run OUT --doctor ID --format html|pdf --out FILE [--with-patients]`
`rosp statements --run OUT --out DIR [--format html|pdf] [--jobs N]`

Batches split the doctors into contiguous chunks, one per worker process; each
worker reads the run once and renders its chunk. Files are named
`releve_<doctor>.html|pdf` and are byte-identical across runs for HTML.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rosp.io.outdir import atomic_file
from rosp.report.html import html_to_pdf, render_template
from rosp.report.model import RunData, Statement

FORMATS = ("html", "pdf")


def statement_html(statement: Statement) -> str:
    return render_template("statement.html.j2", s=statement)


def write_statement(
    data: RunData, doctor_id: str, fmt: str, out: Path, with_patients: bool = False
) -> Path:
    """Render one doctor's statement to `out` (html or pdf)."""
    if fmt not in FORMATS:
        from rosp.report.statement import StatementError

        raise StatementError(f"--format : html ou pdf attendu, pas {fmt!r}")
    html = statement_html(data.statement(doctor_id, with_patients=with_patients))
    out = Path(out)
    with atomic_file(out) as tmp:  # a failed render leaves no half-written statement
        if fmt == "html":
            tmp.write_text(html, encoding="utf-8")
        else:
            html_to_pdf(html, tmp, base_url=out.parent)
    return out


def statement_name(doctor_id: str, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(doctor_id))
    return f"releve_{safe}.{fmt}"


_WORKER: dict[str, RunData] = {}


def _init_worker(run_dir: str, safeguard: str | None) -> None:
    """Each worker process reads the run once."""
    _WORKER["data"] = RunData(Path(run_dir), Path(safeguard) if safeguard else None)


def _render_chunk(doctors: list[str], fmt: str, out_dir: str, with_patients: bool) -> int:
    data = _WORKER["data"]
    for d in doctors:
        write_statement(data, d, fmt, Path(out_dir) / statement_name(d, fmt), with_patients)
    return len(doctors)


def write_statements(
    run_dir: Path,
    out_dir: Path,
    fmt: str = "html",
    *,
    jobs: int = 1,
    with_patients: bool = False,
    safeguard: Path | None = None,
    doctors: list[str] | None = None,
    progress=None,
) -> list[Path]:
    """Every paid doctor's statement into `out_dir`; progress(done, total) after each chunk/doctor."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = RunData(Path(run_dir), safeguard)
    ids = list(doctors) if doctors is not None else data.doctor_ids
    paths = [out_dir / statement_name(d, fmt) for d in ids]
    total = len(ids)
    if jobs <= 1 or total < 2:
        for n, d in enumerate(ids, start=1):
            write_statement(data, d, fmt, out_dir / statement_name(d, fmt), with_patients)
            if progress:
                progress(n, total)
        return paths
    chunk = max(1, min(25, -(-total // (jobs * 4))))
    parts = [ids[i : i + chunk] for i in range(0, total, chunk)]
    done = 0
    # spawn, not fork: the parent holds vl-convert's and DuckDB's threads, which a fork would copy mid-lock.
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
        initargs=(str(run_dir), str(safeguard) if safeguard else None),
    ) as pool:
        futures = [pool.submit(_render_chunk, part, fmt, str(out_dir), with_patients) for part in parts]
        for f in as_completed(futures):
            done += f.result()
            if progress:
                progress(done, total)
    return paths


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
