"""The single command-line entry point: `rosp`.

Errors are printed as one line naming the file, row, column and reason, and
the command exits with status 2 (bad input) — never with a traceback.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from rosp.catalogue import CATEGORIES, CatalogueError, load_catalogue

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="ROSP engine: catalogue, scoring, eligibility, safeguard clause, claims pipeline.",
)
catalogue_app = typer.Typer(no_args_is_help=True, help="The conventional tables as data.")
app.add_typer(catalogue_app, name="catalogue")

console = Console()
err = Console(stderr=True)


class Format(StrEnum):
    json = "json"
    table = "table"


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@catalogue_app.command("list")
def catalogue_list(
    year: int = typer.Option(2018, "--year", help="ROSP year"),
    fmt: Format = typer.Option(Format.table, "--format"),
) -> None:
    """List the programmes in force for a year."""
    try:
        cat = load_catalogue(year)
    except CatalogueError as exc:
        fail(str(exc))
    rows = [
        {
            "slug": p.slug,
            "name": p.name,
            "reference_patientele": p.reference_patientele,
            "total_points": p.total_points,
            "point_value": str(p.point_value),
            "valid_from": p.valid_from,
            "indicators": len(p.indicators),
            "legal_source": p.legal_source,
        }
        for p in cat.programmes
    ]
    if fmt is Format.json:
        _json(rows)
        return
    if not rows:
        console.print(f"Aucun tableau conventionnel sourcé n'est en vigueur pour {year}.")
    for r in rows:
        console.print(
            f"[bold]{r['slug']}[/bold] {r['name']} — {r['total_points']} points, "
            f"patientèle de référence {r['reference_patientele']}, point {r['point_value']} €"
        )


@catalogue_app.command("show")
def catalogue_show(
    slug: str = typer.Argument(..., help="programme slug, e.g. cardiologie"),
    year: int = typer.Option(2018, "--year"),
    fmt: Format = typer.Option(Format.table, "--format"),
) -> None:
    """Show a programme's indicators."""
    try:
        prog = load_catalogue(year).programme(slug)
    except (CatalogueError, KeyError) as exc:
        fail(str(exc).strip("'\""))
    rows = [
        {
            "id": i.id,
            "programme": prog.slug,
            "theme": i.theme,
            "sub_theme": i.sub_theme,
            "label": i.label,
            "intermediate": float(i.intermediate),
            "target": float(i.target),
            "direction": i.direction,
            "threshold": i.threshold,
            "threshold_unit": i.threshold_unit,
            "points": i.points,
            "declarative": i.declarative,
            "category": i.category,
            "source": i.source,
        }
        for i in prog.indicators
    ]
    if fmt is Format.json:
        _json(rows)
        return
    for r in rows:
        console.print(
            f"[bold]{r['id']}[/bold] {r['label']}\n   {r['intermediate']:.1%} → {r['target']:.1%} "
            f"({r['direction']}), seuil {r['threshold']} {r['threshold_unit']}, {r['points']} points, "
            f"{CATEGORIES[r['category']]}{' , déclaratif' if r['declarative'] else ''}"
        )


@catalogue_app.command("validate")
def catalogue_validate(
    path: Path = typer.Argument(None, help="a tables directory (default: the bundled catalogue)"),
    year: int = typer.Option(2018, "--year"),
) -> None:
    """Validate a catalogue directory (schema + business checks)."""
    try:
        cat = load_catalogue(year, root=path)
    except CatalogueError as exc:
        fail(str(exc))
    console.print(f"catalogue valid: {len(cat.programmes)} programmes for {year}, version {cat.version}")


@app.command()
def score(
    year: int = typer.Option(2018, "--year"),
    counts: Path = typer.Option(..., "--counts", help="COUNTS.csv"),
    patientele: Path = typer.Option(..., "--patientele", help="PATIENTELE.csv"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    lenient: bool = typer.Option(
        False, "--lenient", help="score the valid rows and list the others in rejected.csv"
    ),
) -> None:
    """Score per-doctor indicator counts: points, weighting, euros."""
    from rosp.scoring.inputs import InputError
    from rosp.scoring.service import score_files, sum_euros

    try:
        run = score_files(year, counts, patientele, out, lenient=lenient)
    except (InputError, CatalogueError) as exc:
        fail(str(exc))
    console.print(
        f"{len(run.payments)} paiements, {len(run.indicators)} lignes d'indicateurs, "
        f"{len(run.rejects)} lignes rejetées ; total {sum_euros(run.payments)} € -> {out}"
    )


@app.command()
def explain(
    run: Path = typer.Option(..., "--run", help="run directory"),
    doctor: str = typer.Option(..., "--doctor"),
    indicator: str = typer.Option(None, "--indicator", help="show the patients behind one indicator"),
) -> None:
    """Print a doctor's statement in French (or the patients behind one indicator)."""
    from rosp.report.statement import StatementError, render_statement

    console = Console(width=max(Console().width, 110))
    try:
        if indicator:
            from rosp.report.evidence import render_evidence

            render_evidence(run, doctor, indicator, console)
        else:
            render_statement(run, doctor, console)
    except StatementError as exc:
        fail(str(exc))


@app.command()
def eligibility(
    doctors: Path = typer.Option(..., "--doctors", help="DOCTORS.csv"),
    year: int = typer.Option(2018, "--year"),
    out: Path = typer.Option(..., "--out", help="output CSV"),
) -> None:
    """Decide each doctor's programmes (specialty, convention, opt-out, CAPI)."""
    from rosp.eligibility import EligibilityInputError, run_eligibility

    try:
        res = run_eligibility(doctors, year, out)
    except EligibilityInputError as exc:
        fail(str(exc))
    n_ok = int(res["eligible"].astype(str).str.lower().isin(["true", "1"]).sum())
    console.print(f"{n_ok} médecin×programme éligibles sur {len(res)} lignes -> {out}")


@app.command()
def safeguard(
    year: int = typer.Option(..., "--year"),
    payments: Path = typer.Option(..., "--payments", help="payments.csv of a run"),
    previous_total: str = typer.Option(..., "--previous-total", help="national total of year N-1 (EUR)"),
    baseline_total: str = typer.Option(..., "--baseline-total", help="national total of 2016 (EUR)"),
    out: Path = typer.Option(..., "--out"),
) -> None:
    """Apply the safeguard clause (article 27.4 as amended by avenant 6)."""
    from rosp.safeguard import SafeguardInputError, run_safeguard

    try:
        res = run_safeguard(year, payments, previous_total, baseline_total, out)
    except SafeguardInputError as exc:
        fail(str(exc))
    s = res.summary
    console.print(
        f"clause {'déclenchée' if s['triggered'] else 'non déclenchée'} ; coefficient {s['coefficient']} ; "
        f"complément {s['complement_total']} € -> {out}"
    )


def _register_optional() -> None:
    """Register commands whose modules exist (the claims pipeline lands in stages)."""
    from importlib import import_module
    from importlib.util import find_spec

    for module, func, name, help_ in (
        ("rosp.synth.command", "synth_command", "synth", "Generate a realistic synthetic SNDS extract (Parquet)."),
        ("rosp.engine.command", "run_command", "run", "Compute indicators from claims, then score and pay."),
        ("rosp.demo", "demo_command", "demo", "Run the whole chain on embedded data."),
        ("rosp.reform.command", "reform_command", "reform", "Re-score a run under a reform (TOML): who gains, who loses."),
        ("rosp.web.command", "serve_command", "serve", "Serve the simulator, the reform page and the JSON API."),
    ):
        if find_spec(module) is not None:
            app.command(name, help=help_)(getattr(import_module(module), func))


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    app()
