"""`rosp synth`: Typer-compatible command (registered by rosp.cli)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.errors import RospError
from rosp.synth.generator import generate
from rosp.synth.sas import FORMATS, convert_to_sas_csv

#: Largest extract `rosp synth` accepts. The generator builds the whole population
#: in memory (about 1 kB per person with its claims) and pseudonyms and claim keys
#: are drawn from fixed-width spaces; beyond this size a run cannot finish on a
#: workstation (10^12 used to hang, and more than ~82 M can never finish).
MAX_PATIENTS = 20_000_000
#: Study years the generator has code lists and calibration for (claims N-2..N).
YEARS = range(2014, 2031)


class SynthOptionError(RospError):
    """An option `rosp synth` cannot honour."""


def check_options(patients: int, seed: int, year: int, out: Path, fmt: str = "parquet") -> None:
    if patients > MAX_PATIENTS:
        raise SynthOptionError(
            f"{patients} patients is more than the generator can produce; the maximum is {MAX_PATIENTS}",
            column="--patients",
        )
    if not 0 <= seed < 2**32:
        raise SynthOptionError(f"the seed must be an integer from 0 to {2**32 - 1}", column="--seed")
    if year not in YEARS:
        raise SynthOptionError(
            f"year {year} is outside the years the generator knows ({YEARS.start}-{YEARS.stop - 1})", column="--year"
        )
    if fmt not in FORMATS:
        raise SynthOptionError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", column="--format")
    if out.exists() and not out.is_dir():
        raise SynthOptionError("le chemin de sortie existe et c'est un fichier, pas un dossier", file=str(out))


def synth_command(
    patients: int = typer.Option(10000, "--patients", min=1, help="Number of persons to simulate."),
    seed: int = typer.Option(42, "--seed", help="Random seed (same seed => identical files)."),
    year: int = typer.Option(2018, "--year", help="Study year N (claims cover N-2..N)."),
    out: Path = typer.Option(..., "--out", help="Output directory (created if needed)."),
    fmt: str = typer.Option("parquet", "--format",
                            help="parquet, or csv-sas: the CSV a SAS export gives on the Cnam portal "
                                 "(';', SAS datetimes, decimal commas)."),
) -> None:
    """Generate a realistic synthetic SNDS extract (one file per table: Parquet or SAS-export CSV)."""
    check_options(patients, seed, year, out, fmt)
    console = Console(stderr=True)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]synth"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("patients", total=patients)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = generate(patients=patients, seed=seed, year=year, out_dir=out, progress=progress)
    if fmt == "csv-sas":
        convert_to_sas_csv(out, summary.files)  # each <TABLE>.parquet becomes <TABLE>.csv
    else:
        for path in summary.files:  # no CSV of an earlier csv-sas run beside its Parquet twin
            if path.suffix == ".parquet":
                (path.parent / f"{path.stem}.csv").unlink(missing_ok=True)
    out_console = Console()
    out_console.print(f"Synthetic extract written to {summary.out_dir} "
                      f"({summary.patients} patients, {summary.doctors} doctors, "
                      f"{time.perf_counter() - t0:.1f} s)")
    for name, rows in summary.rows.items():
        out_console.print(f"  {name}: {rows} rows")
    out_console.print(f"  calibration: {summary.out_dir / 'calibration.md'}")
