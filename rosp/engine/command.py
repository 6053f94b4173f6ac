"""Typer command functions of the engine (registered by rosp/cli.py).

Errors are raised (every user-facing one is a `RospError`) and handled once by
the CLI. The run is written into a temporary folder renamed to `--out` at the end
(`rosp.io.outdir`); the data directory is checked first (`rosp.io.preflight`); the loader rejects
implausible rows and refuses implausible extracts (`rosp.claims.plausibility`); the
share of rejected rows is checked after the load.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rosp.engine.run import run, stages
from rosp.errors import RospError


class RejectShareError(RospError):
    """Too many rows of a table were rejected for the payments to be trusted."""


def _reject_warnings(manifest: dict, year: int, accept: bool) -> list[str]:
    from rosp.catalogue.parameters import load_parameters

    share_max = load_parameters().get("plausibility.max_reject_share", year).decimal
    over: list[tuple[str, str]] = []
    for table, t in sorted(manifest.get("claims", {}).get("tables", {}).items()):
        read, rej = int(t.get("rows_read", 0)), int(t.get("rows_rejected", 0))
        if read and rej / read > float(share_max):
            text = (f"{table}: {rej} of {read} rows rejected ({rej / read:.1%}, above the limit "
                    f"plausibility.max_reject_share = {float(share_max):.0%})")
            over.append((table, text))
    if over and not accept:
        raise RejectShareError(
            "; ".join(t for _, t in over) + ". The payments would be wrong: fix the extract, or pass "
            "--accept-rejects (the rejected rows are in rejected/)", file=over[0][0])
    return [t + " ; accepted with --accept-rejects" for _, t in over]


def run_to_directory(
    data: Path | str, year: int, out: Path, *, overwrite: bool = False, accept_rejects: bool = False,
    start_file: Path | None = None, progress=None, **run_options,
):
    """One run written atomically into ``out``, with the manifest every run carries:
    inputs relative to ``data``, the files of ``data`` not read, warnings, reject policy.
    ``rosp run`` and ``rosp demo`` both go through it, so their run directories agree.
    Returns ``(result, warnings)``."""
    from rosp.io.manifest import file_entry, relative_path, update_manifest
    from rosp.io.outdir import atomic_output
    from rosp.io.preflight import preflight

    remote = isinstance(data, str)  # a cluster URI, read by Spark alone
    pre = None if remote else preflight(data)
    warnings = list(pre.warnings) if pre is not None else []
    with atomic_output(out, overwrite) as tmp:
        result = run(data, year, tmp, start_rates=start_file, progress=progress, **run_options)
        warnings += result.warnings  # the loader's plausibility warnings
        warnings += _reject_warnings(result.manifest, year, accept_rejects)
        inputs = {(p.rsplit("/", 1)[-1] if remote else relative_path(p, data)): h
                  for p, h in result.manifest.get("inputs", {}).items()}
        update_manifest(tmp / "manifest.json", {
            "inputs": dict(sorted(inputs.items())),
            "start_rates_file": file_entry(start_file, None) if start_file is not None else None,
            "ignored_files": pre.ignored if pre is not None else [],
            "warnings": warnings,
            "accept_rejects": accept_rejects,
        })
    return result, warnings


def run_command(
    year: int = typer.Option(2018, "--year", help="Année de paiement N."),
    data: str = typer.Option(
        ..., "--data",
        help="Répertoire de l'extraction SNDS, ou URI (file://… ; hdfs://…, s3a://… avec --engine spark).",
    ),
    out: Path = typer.Option(..., "--out", help="Répertoire de sortie du run."),
    start_rates: Path | None = typer.Option(
        None, "--start-rates",
        help="start_rates.csv d'un run antérieur (taux de départ fixés pour la convention). "
        "Sans lui, l'année de réinitialisation (2018) les mesure sur l'année N−1.",
    ),
    baseline: Path | None = typer.Option(None, "--baseline", hidden=True, help="Retiré : voir --start-rates."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Remplace entièrement un --out existant."),
    accept_rejects: bool = typer.Option(
        False, "--accept-rejects", help="Continue même si la part de lignes rejetées dépasse le seuil."
    ),
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
    spark_loader: str = typer.Option(
        "spark", "--spark-loader",
        help="Avec --engine spark : contrôles et vues propres sur Spark (spark, défaut) ou sur DuckDB, "
        "les vues passant à Spark en Parquet (duckdb ; pour une extraction CSV).",
    ),
    spark_conf: list[str] = typer.Option(
        [], "--spark-conf", help="Réglage Spark clé=valeur (répétable) ; avec --engine spark."
    ),
) -> None:
    """Calcule patientèles, indicateurs, points et euros à partir des données de remboursement."""
    from rosp.engine.start_rates import catalogue_for_run, read_start_rates
    from rosp.io.outdir import check_output_dir

    console = Console(stderr=True)
    if baseline is not None:
        raise RospError(
            "--baseline est retiré : les taux de départ ne sont pas les taux observés de l'année précédente, "
            "ils sont fixés pour la durée de la convention (réinitialisés par l'avenant 6 pour 2018). "
            f"Utiliser --start-rates {baseline / 'start_rates.csv'}.", column="--baseline")
    if engine not in ("duckdb", "spark"):
        raise RospError(f"--engine must be duckdb or spark, not {engine!r}", column="--engine")
    if spark_loader not in ("spark", "duckdb"):
        raise RospError(f"--spark-loader must be spark or duckdb, not {spark_loader!r}", column="--spark-loader")
    from rosp.engine.run import check_data_location

    location = check_data_location(data, engine if spark_loader == "spark" else "duckdb")
    remote = isinstance(location, str)
    conf: dict[str, str] = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RospError(f"--spark-conf expects key=value, got {item!r}", column="--spark-conf")
        conf[key.strip()] = value.strip()
    check_output_dir(out, overwrite)
    catalogue = catalogue_for_run(year)  # None: counts only (the year before the reset of starting rates)
    if catalogue is not None and not catalogue.programmes:
        raise RospError(f"no conventional table is in force for {year}; see `rosp catalogue list --year {year}`",
                        column="--year")
    data = location if remote else Path(location)
    start_file = None
    if start_rates is not None:
        start_file = start_rates / "start_rates.csv" if start_rates.is_dir() else start_rates
        read_start_rates(start_file)  # refuses rates x100 before any work
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

        result, warnings = run_to_directory(
            data, year, out, overwrite=overwrite, accept_rejects=accept_rejects, start_file=start_file,
            progress=progress, engine=engine, work_dir=work_dir, memory_limit=memory_limit, threads=threads,
            spark_master=spark_master, spark_conf=conf, spark_loader=spark_loader,
        )
        bar.stop()
    for w in warnings:
        console.print(f"[yellow]avertissement :[/yellow] {w}", highlight=False, soft_wrap=True)
    tables = result.manifest.get("claims", {}).get("tables", {})
    rejected = {t: v["rows_rejected"] for t, v in tables.items() if v.get("rows_rejected")}
    read = sum(v.get("rows_read", 0) for v in tables.values())
    console.print(
        f"Lignes lues : {read} ; rejetées : {sum(rejected.values())}"
        + (f" ({', '.join(f'{t} {n}' for t, n in sorted(rejected.items()))}, détail dans {out / 'rejected'})"
           if rejected else ""),
        highlight=False, soft_wrap=True,
    )
    sr = result.manifest.get("start_rates", {})
    if result.payments is None:
        console.print(f"[bold yellow]{result.manifest['outputs'].get('scoring', 'pas de scoring')}[/bold yellow]",
                      highlight=False, soft_wrap=True)
    elif sr.get("source") == "measured":
        f = sr.get("flags", {})
        console.print(
            f"Taux de départ mesurés sur {sr.get('reference_period')} : {f.get('measured', 0)} mesurés, "
            f"{f.get('below_threshold', 0)} sous le seuil, {f.get('not_measured', 0)} non mesurés "
            f"({out / 'start_rates.csv'}).", highlight=False, soft_wrap=True,
        )
    elif sr.get("source") == "file":
        console.print(f"Taux de départ lus dans {sr.get('file')} ({sr.get('rows')} lignes).",
                      highlight=False, soft_wrap=True)
    else:
        console.print(f"Pas de taux de départ : {sr.get('reason', '')} (règle scoring.missing_start_rate).",
                      highlight=False, soft_wrap=True)
    n_pay = 0 if result.payments is None else len(result.payments)
    console.print(
        f"Run {year} écrit dans {out}: {len(result.counts)} lignes de comptage, "
        f"{n_pay} paiements médecin × programme.", highlight=False, soft_wrap=True,
    )
