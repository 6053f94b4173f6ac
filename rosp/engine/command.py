"""Typer command functions of the engine (registered by the lead in rosp/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.catalogue import CatalogueError
from rosp.claims.errors import ClaimsError
from rosp.engine.run import run, stages
from rosp.indicators.definitions import DefinitionError


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

        try:
            result = run(data, year, out, baseline=baseline, progress=progress)
        except (ClaimsError, CatalogueError, DefinitionError, FileNotFoundError) as exc:
            bar.stop()
            console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    tables = result.manifest.get("claims", {}).get("tables", {})
    rejected = {t: v["rows_rejected"] for t, v in tables.items() if v.get("rows_rejected")}
    read = sum(v.get("rows_read", 0) for v in tables.values())
    console.print(
        f"Lignes lues : {read} ; rejetées : {sum(rejected.values())}"
        + (f" ({', '.join(f'{t} {n}' for t, n in sorted(rejected.items()))}, détail dans {out / 'rejected'})" if rejected else "")
    )
    n_pay = 0 if result.payments is None else len(result.payments)
    console.print(
        f"Run {year} écrit dans {result.out_dir}: {len(result.counts)} lignes de comptage, "
        f"{n_pay} paiements médecin × programme."
    )
