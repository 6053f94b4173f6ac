"""Typer command functions of the engine (registered by the lead in rosp/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.catalogue import CatalogueError
from rosp.claims.errors import ClaimsError
from rosp.engine.run import run, stages
from rosp.errors import RospError
from rosp.indicators.definitions import DefinitionError


def run_command(
    year: int = typer.Option(2018, "--year", help="Année de paiement N."),
    data: Path = typer.Option(..., "--data", help="Répertoire de l'extraction SNDS."),
    out: Path = typer.Option(..., "--out", help="Répertoire de sortie du run."),
    start_rates: Path | None = typer.Option(
        None, "--start-rates",
        help="start_rates.csv d'un run antérieur (taux de départ fixés pour la convention). "
        "Sans lui, l'année de réinitialisation (2018) les mesure sur l'année N−1.",
    ),
    baseline: Path | None = typer.Option(None, "--baseline", hidden=True, help="Retiré : voir --start-rates."),
    engine: str = typer.Option("duckdb", "--engine", help="Moteur des indicateurs : duckdb ou spark."),
    memory_limit: str | None = typer.Option(
        None, "--memory-limit",
        help="Mémoire de DuckDB (ex. 4GiB ; défaut : un quart de la RAM, au plus 4 GiB) ; au-delà, il écrit sur disque.",
    ),
    work_dir: Path | None = typer.Option(
        None, "--work-dir",
        help="Répertoire de travail (base DuckDB, débordement sur disque, vues exportées) ; défaut : $TMPDIR.",
    ),
    threads: int | None = typer.Option(None, "--threads", help="Threads DuckDB (défaut : tous les cœurs)."),
    spark_master: str | None = typer.Option(
        None, "--spark-master", help="Maître Spark (local[*], spark://hôte:7077, yarn) ; avec --engine spark."
    ),
    spark_conf: list[str] = typer.Option(
        [], "--spark-conf", help="Réglage Spark clé=valeur (répétable) ; avec --engine spark."
    ),
) -> None:
    """Calcule patientèles, indicateurs, points et euros à partir des données de remboursement."""
    console = Console(stderr=True)
    if baseline is not None:
        console.print(
            "[bold red]error:[/bold red] --baseline est retiré : les taux de départ ne sont pas les taux "
            "observés de l'année précédente, ils sont fixés pour la durée de la convention (réinitialisés "
            f"par l'avenant 6 pour 2018). Utiliser --start-rates {baseline / 'start_rates.csv'}.",
            highlight=False, soft_wrap=True,
        )
        raise typer.Exit(2)
    if engine not in ("duckdb", "spark"):
        console.print(f"[bold red]error:[/bold red] --engine must be duckdb or spark, not {engine!r}", highlight=False)
        raise typer.Exit(2)
    conf: dict[str, str] = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            console.print(f"[bold red]error:[/bold red] --spark-conf expects key=value, got {item!r}", highlight=False)
            raise typer.Exit(2)
        conf[key.strip()] = value.strip()
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
            result = run(
                data, year, out, start_rates=start_rates, progress=progress, engine=engine, work_dir=work_dir,
                memory_limit=memory_limit, threads=threads, spark_master=spark_master, spark_conf=conf,
            )
        except (RospError, ClaimsError, CatalogueError, DefinitionError, FileNotFoundError) as exc:
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
    sr = result.manifest.get("start_rates", {})
    if result.payments is None:
        console.print(f"[bold yellow]{result.manifest['outputs'].get('scoring', 'pas de scoring')}[/bold yellow]")
    elif sr.get("source") == "measured":
        f = sr.get("flags", {})
        console.print(
            f"Taux de départ mesurés sur {sr.get('reference_period')} : {f.get('measured', 0)} mesurés, "
            f"{f.get('below_threshold', 0)} sous le seuil, {f.get('not_measured', 0)} non mesurés "
            f"({result.out_dir / 'start_rates.csv'})."
        )
    elif sr.get("source") == "file":
        console.print(f"Taux de départ lus dans {sr.get('file')} ({sr.get('rows')} lignes).")
    else:
        console.print(f"Pas de taux de départ : {sr.get('reason', '')} (règle scoring.missing_start_rate).")
    n_pay = 0 if result.payments is None else len(result.payments)
    console.print(
        f"Run {year} écrit dans {result.out_dir}: {len(result.counts)} lignes de comptage, "
        f"{n_pay} paiements médecin × programme."
    )
