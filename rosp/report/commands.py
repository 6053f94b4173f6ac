"""CLI commands `rosp statement`, `rosp statements` and `rosp report` (registered in rosp/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.errors import RospError

console = Console()


def statement_command(
    run: Path = typer.Option(..., "--run", help="run directory (rosp run / rosp score)"),
    doctor: str = typer.Option(..., "--doctor", help="doctor id"),
    fmt: str = typer.Option("html", "--format", help="html or pdf"),
    out: Path = typer.Option(..., "--out", help="output file"),
    with_patients: bool = typer.Option(False, "--with-patients", help="add the annex of pseudonymous patients"),
    safeguard: Path = typer.Option(None, "--safeguard", help="output directory of rosp safeguard (majoration)"),
) -> None:
    """Write one doctor's statement (relevé individuel) as HTML or PDF."""
    from rosp.report.model import RunData
    from rosp.report.statements import write_statement

    # a RospError reaches the CLI's one handler (exit 2, sanitised message)
    path = write_statement(RunData(run, safeguard), doctor, fmt, out, with_patients)
    console.print(f"relevé {doctor} -> {path}")


def statements_command(
    run: Path = typer.Option(..., "--run", help="run directory"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    fmt: str = typer.Option("html", "--format", help="html or pdf"),
    jobs: int = typer.Option(1, "--jobs", help="worker processes (one per core)"),
    with_patients: bool = typer.Option(False, "--with-patients"),
    safeguard: Path = typer.Option(None, "--safeguard", help="output directory of rosp safeguard"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder whole"),
) -> None:
    """Write every paid doctor's statement into a directory (releve_<id>.html|pdf).

    The directory is written atomically: it appears complete or not at all."""
    from rosp.io.outdir import atomic_output
    from rosp.report.statements import FORMATS, write_statements

    if fmt not in FORMATS:
        raise RospError(f"format attendu : html ou pdf, pas {fmt!r}", column="--format")
    progress = Progress(
        TextColumn("relevés"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with progress, atomic_output(out, overwrite) as tmp:
        task = progress.add_task("relevés", total=None)
        paths = write_statements(
            run, tmp, fmt, jobs=jobs, with_patients=with_patients, safeguard=safeguard,
            progress=lambda d, t: progress.update(task, completed=d, total=t),
        )
    console.print(f"{len(paths)} relevés ({fmt}) -> {out}")


def report_command(
    run: Path = typer.Option(..., "--run", help="run directory"),
    out: Path = typer.Option(..., "--out", help="report.html"),
    pdf: bool = typer.Option(False, "--pdf", help="also write the PDF next to the HTML"),
    safeguard: Path = typer.Option(None, "--safeguard", help="output directory of rosp safeguard"),
) -> None:
    """Write the national report (HTML, optionally PDF)."""
    from rosp.report.national import write_report

    paths = write_report(run, out, pdf=pdf, safeguard=safeguard)
    console.print("rapport national -> " + ", ".join(str(p) for p in paths))
