"""`rosp demo`: the whole chain on embedded data, no server, no external file.

1. generate ONE synthetic SNDS extract (seeded, deterministic) holding the history
   every definition reads (PMSI from N-10 for END-03, DCIR from its earliest
   window) and the care of the year before;
2. run claims → patientèles → indicators → scoring → payments, with evidence: the
   run measures the starting rates (taux de départ, reset by avenant 6) itself on
   the year before, from the same extract;
3. print the national summary, the starting rates, END-03's history and one
   doctor's French statement.
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


def start_rate_summary(run_dir: Path, console: Console) -> None:
    """How many scored rows have a starting rate, which branch paid, and the spread of D."""
    ind = pd.read_csv(run_dir / "indicators.csv", dtype=str, keep_default_na=False)
    scored = ind[ind["neutralised"].str.lower() == "false"]
    filled = int((scored["start_rate"] != "").sum())
    d = pd.to_numeric(scored.loc[scored["start_rate"] != "", "start_rate"])
    q = d.quantile([0.25, 0.5, 0.75]) if len(d) else pd.Series([0.0, 0.0, 0.0], index=[0.25, 0.5, 0.75])
    console.print(
        f"Taux de départ : {filled} lignes notées sur {len(scored)} en ont un "
        f"(quartiles {fr_number(Decimal(str(q[0.25] * 100)), 1)} % / {fr_number(Decimal(str(q[0.5] * 100)), 1)} % / "
        f"{fr_number(Decimal(str(q[0.75] * 100)), 1)} %)."
    )
    counts = scored["branch"].value_counts()
    from rosp.scoring.rules import BRANCHES

    console.print("Branche de la règle : " + " ; ".join(
        f"{BRANCHES.get(b, b)} {int(n)}" for b, n in sorted(counts.items())))


def history_summary(data: Path, run_dir: Path, year: int, console: Console) -> None:
    """END-03 reads ten years of hospital stays: the thyroidectomies of the one extract
    by PMSI year, and END-03's denominator in the run."""
    import duckdb

    from rosp.indicators.codelists import load_codelist

    files = [str(p) for p in sorted(data.glob("T_MCO??A.parquet"))]
    if not files:
        return
    codes = [e.code for e in load_codelist("thyroidectomy_ccam").entries]
    rows = duckdb.sql(
        "SELECT 2000 + CAST(regexp_extract(filename, 'T_MCO(\\d\\d)A', 1) AS INTEGER) AS y, count(*) "
        "FROM read_parquet(?, filename = true) WHERE list_contains(?, CDC_ACT) GROUP BY y ORDER BY y",
        params=[files, codes]).fetchall()
    if not rows:
        return
    counts = pd.read_csv(run_dir / "counts.csv", dtype={"doctor_id": str})
    den = int(counts.loc[counts["indicator_id"] == "END-03", "denominator"].sum())
    old = sum(n for y, n in rows if y < year - 3)
    console.print(
        f"Historique END-03 (thyroïdectomie « durant les dix années précédentes ») : séjours de {rows[0][0]} à "
        f"{rows[-1][0]}, dont {old} avant {year - 3} ; {den} patients au dénominateur d'END-03.")


def demo_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="where to write data and results"),
    patients: int = typer.Option(100_000, "--patients"),
    seed: int = typer.Option(42, "--seed"),
    year: int = typer.Option(2018, "--year"),
) -> None:
    """Generate synthetic claims, compute every doctor's ROSP, print a statement."""
    from rosp.engine.command import run_to_directory
    from rosp.synth import generate

    console = Console(width=max(Console().width, 110))
    from rosp.engine.start_rates import scoring_catalogue

    if scoring_catalogue(year) is None:
        Console(stderr=True).print(
            f"[bold red]error:[/bold red] aucun tableau conventionnel sourcé n'est en vigueur pour {year} : "
            f"pas de points ni d'euros à montrer ; rosp run --year {year} écrit les comptages et les taux.",
            highlight=False)
        raise typer.Exit(2)
    data, run_dir = out / "data", out / "run"
    with _progress(console) as bar:
        synth_task = bar.add_task(f"données synthétiques {year} (et historique)", total=patients)
        generate(patients, seed, year, data, progress=lambda k, t: bar.update(synth_task, completed=k, total=t))
        tasks: dict[str, int] = {}

        def on_stage(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        # the same run as `rosp run --data out/demo/data --out out/demo/run --overwrite`
        # (atomic folder, the same manifest)
        run_to_directory(data, year, run_dir, overwrite=True, progress=on_stage)
    national_summary(run_dir, console)
    start_rate_summary(run_dir, console)
    history_summary(data, run_dir, year, console)
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
