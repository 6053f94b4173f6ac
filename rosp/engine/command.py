"""Typer command functions of the engine (registered by the lead in rosp/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.engine.run import run, stages


def run_command(
    year: int = typer.Option(2018, "--year", help="Année de paiement N."),
    data: Path = typer.Option(..., "--data", help="Répertoire de l'extraction SNDS."),
    out: Path = typer.Option(..., "--out", help="Répertoire de sortie du run."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Run précédent (taux de départ)."),
) -> None:
    """Calcule patientèles, indicateurs, points et euros à partir des données de remboursement."""
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as bar:
        tasks = {s: bar.add_task(s, total=1, start=False) for s in stages()}

        def progress(stage: str, done: int, total: int) -> None:
            task = tasks.get(stage)
            if task is None:
                return
            if done == 0:
                bar.start_task(task)
            bar.update(task, completed=done, total=total)

        result = run(data, year, out, baseline=baseline, progress=progress)
    n_pay = 0 if result.payments is None else len(result.payments)
    console.print(
        f"Run {year} écrit dans {result.out_dir}: {len(result.counts)} lignes de comptage, "
        f"{n_pay} paiements médecin × programme."
    )
