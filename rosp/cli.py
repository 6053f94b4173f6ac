"""The single command-line entry point: `rosp`.

One handler for every command (`_guard`):
- a `RospError` (bad input) prints one French line naming the file, row, column
  and reason, and exits with status 2;
- Ctrl-C prints one line and exits with status 130 (output folders are written
  atomically, so nothing that looks like a result is left);
- any other exception is a bug: a short message pointing to `--debug`, exit 1;
  the traceback is shown only with `rosp --debug ...`.
Every message is sanitised: no patient identifier, no echoed input line.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from rosp.catalogue import CATEGORIES, CatalogueError, load_catalogue
from rosp.errors import RospError

console = Console()
err = Console(stderr=True)
_STATE = {"debug": False}

EXIT_INPUT, EXIT_BUG, EXIT_INTERRUPTED = 2, 1, 130

# Anything that may be a patient pseudonym: a long alphanumeric token with digits
# (BEN_NIR_PSA / BEN_IDT_ANO / NIR_ANO_17 are 16-17 characters). Doctor numbers
# (8-9 digits), indicator ids and programme slugs are shorter and stay readable.
_ID_LIKE = re.compile(r"(?<![A-Za-z0-9/._-])(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{12,}(?![A-Za-z0-9])")
# DuckDB (and other readers) echo the offending input line after these words.
_ECHO_MARKERS = ("Original Line", "LINE ", "Line:", "line:", "Possible Solution", "Possible fixes")


def sanitize(text: str) -> str:
    """One line, no echoed input line, no identifier-like token."""
    lines = []
    for line in str(text).splitlines():
        if any(m in line for m in _ECHO_MARKERS):
            break
        if line.strip():
            lines.append(line.strip())
    out = " ".join(lines)
    out = re.sub(r"\s+", " ", out)
    return _ID_LIKE.sub("<identifiant masqué>", out)


def french(exc: RospError) -> str:
    """The French one-line form of a user error (:meth:`RospError.french`)."""
    return exc.french()


def fail(message: str, code: int = EXIT_INPUT) -> None:
    err.print(f"[bold red]erreur :[/bold red] {sanitize(message)}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(code)


def _input_exception_types() -> tuple[type[BaseException], ...]:
    """Reader errors that mean a bad input file (truncated, not Parquet, bad CSV)."""
    types: list[type[BaseException]] = []
    try:
        import duckdb

        types += [duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException]
    except ImportError:  # pragma: no cover
        pass
    try:
        import pyarrow as pa

        types += [pa.ArrowInvalid]
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """The one handler wrapped around every command."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:
            err.print("interrompu (Ctrl-C) : aucun résultat écrit.", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except RospError as exc:
            if _STATE["debug"]:
                traceback.print_exc(file=sys.stderr)
            fail(french(exc))
        except _input_exception_types() as exc:
            if _STATE["debug"]:
                traceback.print_exc(file=sys.stderr)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            fail(f"fichier d'entrée illisible (tronqué, vide ou d'un autre format que son extension) : {first}")
        except Exception as exc:  # noqa: BLE001  (the top-level handler)
            if _STATE["debug"]:
                traceback.print_exc(file=sys.stderr)
            fail(
                f"erreur interne ({type(exc).__name__}) ; relancez avec `rosp --debug ...` "
                "pour afficher le détail et signalez-la",
                EXIT_BUG,
            )

    return wrapper


class RospTyper(typer.Typer):
    """A Typer app whose every command goes through `_guard`."""

    def command(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            register(_guard(func))
            return func

        return decorator


app = RospTyper(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="ROSP engine: catalogue, scoring, eligibility, safeguard clause, claims pipeline.",
)
catalogue_app = RospTyper(no_args_is_help=True, pretty_exceptions_enable=False,
                          help="The conventional tables as data.")
app.add_typer(catalogue_app, name="catalogue")


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="show the Python traceback of an error"),
) -> None:
    """ROSP engine: catalogue, scoring, eligibility, safeguard clause, claims pipeline."""
    _STATE["debug"] = debug


class Format(StrEnum):
    json = "json"
    table = "table"


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
    if path is not None and not path.is_dir():
        raise RospError("dossier du catalogue introuvable" if not path.exists() else "ce n'est pas un dossier", file=str(path))
    try:
        cat = load_catalogue(year, root=path)
    except CatalogueError as exc:
        fail(str(exc))
    if path is None:  # the bundled catalogue: also catalogue × definitions × parameters × synth
        from rosp.indicators.consistency import check_consistency

        problems = check_consistency(year)
        if problems:
            raise RospError("catalogue, définitions, paramètres et synthèse incohérents : " + "; ".join(problems))
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
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder whole"),
) -> None:
    """Score per-doctor indicator counts: points, weighting, euros."""
    from rosp.io.outdir import atomic_output
    from rosp.scoring.service import score_files, sum_euros

    with atomic_output(out, overwrite) as tmp:
        run = score_files(year, counts, patientele, tmp, lenient=lenient)
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
    from rosp.report.statement import render_statement

    console = Console(width=max(Console().width, 110))
    if indicator:
        from rosp.report.evidence import render_evidence

        render_evidence(run, doctor, indicator, console)
    else:
        render_statement(run, doctor, console)


@app.command()
def eligibility(
    doctors: Path = typer.Option(..., "--doctors", help="DOCTORS.csv"),
    year: int = typer.Option(2018, "--year"),
    out: Path = typer.Option(..., "--out", help="output CSV (its manifest is written beside it)"),
) -> None:
    """Decide each doctor's programmes (specialty, convention, opt-out, CAPI)."""
    from rosp.eligibility import run_eligibility
    from rosp.io.checks import check_doctor_register
    from rosp.io.manifest import build_manifest, input_hashes, write_manifest
    from rosp.io.outdir import atomic_file

    _check_year(year)
    check_doctor_register(doctors)
    manifest_path = out.with_name(out.stem + ".manifest.json")
    with atomic_file(out) as tmp, atomic_file(manifest_path) as tmp_manifest:
        res = run_eligibility(doctors, year, tmp)
        write_manifest(build_manifest(command="eligibility", year=year, inputs=input_hashes([doctors]),
                                      outputs={out.name: len(res)}), tmp_manifest)
    n_ok = int(res["eligible"].astype(str).str.lower().isin(["true", "1"]).sum())
    console.print(f"{n_ok} médecin×programme éligibles sur {len(res)} lignes -> {out}")


@app.command()
def safeguard(
    year: int = typer.Option(..., "--year"),
    payments: Path = typer.Option(..., "--payments", help="payments.csv of a run"),
    previous_total: str = typer.Option(
        ..., "--previous-total",
        help="global amount PAID for N-1 (including its safeguard majoration), on the compared programmes (EUR)",
    ),
    baseline_total: str = typer.Option(
        ..., "--baseline-total", help="global amount of 2016, « qualité de la pratique » indicators (EUR)"
    ),
    current_total: str = typer.Option(
        None, "--current-total",
        help="global amount of year N before majoration on the compared programmes (EUR); "
        "required unless the payments cover every compared programme",
    ),
    allow_large_coefficient: bool = typer.Option(
        False, "--allow-large-coefficient", help="accept a coefficient above safeguard.max_coefficient"
    ),
    out: Path = typer.Option(..., "--out"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder whole"),
) -> None:
    """Apply the safeguard clause (article 27.4 as amended by avenant 6)."""
    from rosp.io.checks import check_payments
    from rosp.io.manifest import build_manifest, input_hashes, write_manifest
    from rosp.io.outdir import atomic_output
    from rosp.safeguard import run_safeguard

    check_payments(payments)
    with atomic_output(out, overwrite) as tmp:
        res = run_safeguard(
            year, payments, previous_total, baseline_total, tmp,
            current_total=current_total, allow_large_coefficient=allow_large_coefficient,
        )
        write_manifest(
            build_manifest(command="safeguard", year=year, inputs=input_hashes([payments]),
                           outputs={"payments.csv": len(res.payments), "safeguard.json": 1},
                           extra={"totals": {"previous_total": previous_total, "baseline_total": baseline_total,
                                             "current_total": current_total},
                                  "allow_large_coefficient": allow_large_coefficient}),
            tmp / "manifest.json",
        )
    s = res.summary
    console.print(
        f"{s['outcome_label']} ; coefficient {s['coefficient']} ; "
        f"complément {s['complement_total']} € -> {out}"
    )


def _check_year(year: int) -> None:
    """A ROSP year some conventional table is in force for."""
    try:
        cat = load_catalogue(year)
    except CatalogueError:
        raise
    if not cat.programmes:
        raise RospError(f"no conventional table is in force for {year} (ROSP de la pratique clinique: 2017 onwards "
                        "for the programmes in this catalogue); see `rosp catalogue list --year {year}`"
                        .replace("{year}", str(year)), column="--year")


def main() -> None:
    """Console entry point."""
    app()


def _register_optional() -> None:
    """Register commands whose modules exist (the claims pipeline lands in stages)."""
    from importlib import import_module
    from importlib.util import find_spec

    for module, func, name, help_ in (
        ("rosp.synth.command", "synth_command", "synth", "Generate a realistic synthetic SNDS extract (Parquet)."),
        ("rosp.engine.command", "run_command", "run", "Compute indicators from claims, then score and pay."),
        ("rosp.demo", "demo_command", "demo", "Run the whole chain on embedded data."),
        ("rosp.sensitivity", "sensitivity_command", "sensitivity", "Re-score a run under each inferred reading."),
        ("rosp.report.commands", "statement_command", "statement", "Write one doctor's statement (HTML or PDF)."),
        ("rosp.report.commands", "statements_command", "statements", "Write every doctor's statement."),
        ("rosp.report.commands", "report_command", "report", "Write the national report (HTML, PDF)."),
        ("rosp.reform.command", "reform_command", "reform", "Re-score a run under a reform (TOML): who gains, who loses."),
        ("rosp.web.command", "serve_command", "serve", "Serve the simulator, the reform page and the JSON API."),
    ):
        if find_spec(module) is not None:
            app.command(name, help=help_)(getattr(import_module(module), func))


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    main()
