"""`rosp demo`: the whole chain on embedded data, no server, no external file.

1. generate a synthetic SNDS extract (seeded, deterministic);
2. run claims → patientèles → indicators → scoring → payments, with evidence;
3. print the national summary and one doctor's French statement.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rosp.report.statement import fr_euros, fr_number, render_statement


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=False
    )


def national_summary(run_dir: Path, console: Console) -> pd.DataFrame:
    """Per-programme totals of a run, printed in French; returns the table."""
    pay = pd.read_csv(run_dir / "payments.csv", dtype={"doctor_id": str, "euros": str})
    pay["eur"] = pay["euros"].map(Decimal)
    rows = []
    table = Table(title="Synthèse nationale (données synthétiques)")
    for col in ("Programme", "Médecins", "Médecins rémunérés", "Total", "Moyenne par médecin rémunéré"):
        table.add_column(col, justify="left" if col == "Programme" else "right")
    for prog, g in pay.groupby("programme", sort=True):
        paid = g[g["eur"] > 0]
        total = sum(g["eur"], Decimal(0))
        mean = (total / len(paid)) if len(paid) else Decimal(0)
        rows.append({"programme": prog, "doctors": len(g), "paid": len(paid), "total": total})
        table.add_row(prog, str(len(g)), str(len(paid)), fr_euros(total), fr_euros(mean.quantize(Decimal("0.01"))))
    console.print(table)
    grand = sum((r["total"] for r in rows), Decimal(0))
    console.print(f"Total ROSP : [bold]{fr_euros(grand)}[/bold] pour {fr_number(len(pay), 0)} médecin×programme.")
    return pd.DataFrame(rows)


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="where to write data and results"),
    patients: int = typer.Option(100_000, "--patients"),
    seed: int = typer.Option(42, "--seed"),
    year: int = typer.Option(2018, "--year"),
) -> None:
    """Generate synthetic claims, compute every doctor's ROSP, print a statement."""
    from rosp.engine.run import run
    from rosp.synth import generate

    console = Console(width=max(Console().width, 110))
    data, run_dir = out / "data", out / "run"
    with _progress(console) as bar:
        synth_task = bar.add_task("données synthétiques", total=patients)
        generate(patients, seed, year, data, progress=lambda d, t: bar.update(synth_task, completed=d, total=t))
        tasks: dict[str, int] = {}

        def on_stage(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        run(data, year, run_dir, progress=on_stage)
    national_summary(run_dir, console)
    pay = pd.read_csv(run_dir / "payments.csv", dtype={"doctor_id": str, "euros": str})
    pay["eur"] = pay["euros"].map(Decimal)
    example = pay.sort_values(["eur", "doctor_id"], ascending=[False, True]).iloc[0]["doctor_id"]
    console.rule("Exemple de relevé individuel")
    render_statement(run_dir, str(example), console)
    console.print(
        f"\nRésultats : {run_dir} (indicators.csv, payments.csv, evidence/, manifest.json).\n"
        f"Relevé d'un autre médecin : rosp explain --run {run_dir} --doctor <id> [--indicator <id>]"
    )
    _write_documents(run_dir, out, str(example), console)


def _write_documents(run_dir: Path, out: Path, doctor: str, console: Console) -> None:
    """The example doctor's statement (HTML and PDF) and the national report, paths printed."""
    from rosp.report.model import RunData
    from rosp.report.national import write_report
    from rosp.report.statements import statement_name, write_statement

    data = RunData(run_dir)
    docs = out / "documents"
    # HTML with the annex of patients; the PDF (for printing) without it: `--with-patients` adds it.
    paths = [
        write_statement(data, doctor, "html", docs / statement_name(doctor, "html"), with_patients=True),
        write_statement(data, doctor, "pdf", docs / statement_name(doctor, "pdf")),
    ]
    paths += write_report(run_dir, docs / "rapport_national.html", pdf=True)
    console.print("Relevé et rapport national :")
    for p in paths:
        console.print(f"  {p}")
    console.print(
        f"Tous les relevés : rosp statements --run {run_dir} --out {docs / 'releves'} --format pdf --jobs 2"
    )
