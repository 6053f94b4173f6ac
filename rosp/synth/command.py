"""`rosp synth`: Typer-compatible command (registered by rosp.cli)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.synth.generator import generate


def synth_command(
    patients: int = typer.Option(10000, "--patients", min=1, help="Number of persons to simulate."),
    seed: int = typer.Option(42, "--seed", help="Random seed (same seed => identical files)."),
    year: int = typer.Option(2018, "--year", help="Study year N (claims cover N-2..N)."),
    out: Path = typer.Option(..., "--out", help="Output directory (created if needed)."),
) -> None:
    """Generate a realistic synthetic SNDS extract (Parquet, one file per table)."""
    console = Console(stderr=True)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]synth"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("patients", total=patients)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = generate(patients=patients, seed=seed, year=year, out_dir=out, progress=progress)
    out_console = Console()
    out_console.print(f"Synthetic extract written to {summary.out_dir} "
                      f"({summary.patients} patients, {summary.doctors} doctors, "
                      f"{time.perf_counter() - t0:.1f} s)")
    for name, rows in summary.rows.items():
        out_console.print(f"  {name}: {rows} rows")
    out_console.print(f"  calibration: {summary.out_dir / 'calibration.md'}")
