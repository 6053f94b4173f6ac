"""The doctor's statement (« relevé ROSP »), in French, for the terminal.

Reads a run directory (from `rosp score` or `rosp run`) and explains, for one
doctor, every indicator: observed rate, starting rate, objectives, threshold,
realisation, points, euros and legal reference; then the totals.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from rosp.catalogue import CATEGORIES, load_catalogue
from rosp.errors import RospError


class StatementError(RospError):
    pass


def fr_number(value: float | Decimal | str, decimals: int = 2) -> str:
    """French number format: thin no-break space for thousands, comma for decimals."""
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals))
    sign = "-" if d < 0 else ""
    whole, _, frac = f"{abs(d):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = "\u202f".join(groups)
    return sign + text + ("," + frac if frac else "")


def fr_percent(rate: str | float | None) -> str:
    if rate is None or rate == "" or (isinstance(rate, float) and rate != rate):
        return "—"
    return fr_number(Decimal(str(rate)) * 100, 1) + " %"


def fr_euros(amount: str | Decimal) -> str:
    return fr_number(amount, 2) + " €"


def _declared_measurements() -> set[str]:
    """Ids of non-declarative indicators that the engine measures from declarations."""
    from rosp.indicators.definitions import load_programmes

    return {i.id for p in load_programmes().values() for i in p.indicators if i.measurement == "declarations"}


def _print_eligibility(run_dir: Path, doctor_id: str, console: Console) -> None:
    """Eligibility and commitments (L.162-5 21° CSS) when the run decided them."""
    path = run_dir / "eligibility.csv"
    if not path.exists():
        return
    from rosp.eligibility import reason_label_fr

    el = pd.read_csv(path, dtype=str, keep_default_na=False)
    for _, e in el[el["doctor_id"] == doctor_id].iterrows():
        prog = e["programme"] or "—"
        console.print(f"Éligibilité ({prog}) : {reason_label_fr(e['reason'])}")


def _is_declared(spec, r) -> bool:
    """A declarative indicator whose rate is not numerator ÷ denominator was declared."""
    if not spec.declarative or r["rate"] == "":
        return False
    den = int(r["denominator"])
    return den == 0 or abs(Decimal(r["rate"]) - Decimal(r["numerator"]) / den) > Decimal("0.000001")


def load_run(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read indicators.csv, payments.csv and manifest.json of a run (as text)."""
    from rosp.io.rundir import load_run as _load_run

    r = _load_run(run_dir)
    return r.indicators, r.payments, r.manifest


def render_statement(run_dir: Path, doctor_id: str, console: Console | None = None) -> None:
    """Print the French statement of `doctor_id` for the run in `run_dir`."""
    console = console or Console()
    ind, pay, manifest = load_run(run_dir)
    year = int(manifest["year"])
    catalogue = load_catalogue(year)
    mine = ind[ind["doctor_id"] == doctor_id]
    my_pay = pay[pay["doctor_id"] == doctor_id]
    if mine.empty and my_pay.empty:
        el = run_dir / "eligibility.csv"
        known = el.exists() and doctor_id in set(pd.read_csv(el, dtype=str)["doctor_id"])
        if not known:
            raise StatementError(f"médecin {doctor_id!r} n'est pas dans le run {run_dir}")
        console.print(f"[bold]ROSP {manifest['year']} — médecin {doctor_id} : aucune rémunération.[/bold]")
        _print_eligibility(run_dir, doctor_id, console)
        return
    params = catalogue.params
    declared_in_run = _declared_measurements()
    s = params.get("scoring.intermediate_share", year)
    console.print(
        Panel.fit(
            f"[bold]Rémunération sur objectifs de santé publique — année {year}[/bold]\n"
            f"Médecin : {doctor_id}\n"
            f"Valeur du point : {fr_euros(params.get('point_value', year).decimal)} "
            f"({params.get('point_value', year).source})\n"
            f"Règle de calcul : {params.get('scoring.rule_version', year).text} ; "
            f"part des points à l'objectif intermédiaire : {fr_percent(s.value)} "
            f"(confiance : {s.confidence})",
            title="Relevé individuel ROSP",
        )
    )
    _print_eligibility(run_dir, doctor_id, console)
    total = Decimal("0.00")
    for _, p in my_pay.iterrows():
        prog = catalogue.programme(p["programme"])
        rows = mine[mine["programme"] == prog.slug]
        console.rule(f"[bold]{prog.name}[/bold]")
        console.print(f"[dim]{prog.title} — {prog.legal_source}[/dim]")
        table = Table(show_lines=False, pad_edge=False)
        for col in ("Indicateur", "Taux", "Départ", "Objectifs", "Réal.", "Points", "Montant"):
            table.add_column(col, justify="left" if col in ("Indicateur", "Objectifs") else "right", no_wrap=True)
        details = []
        for _, r in rows.iterrows():
            spec = prog.indicator(r["indicator_id"])
            neutral = r["neutralised"] == "true"
            unit = "boîtes" if spec.threshold_unit == "boites" else "patients"
            table.add_row(
                spec.id + (" (décl.)" if spec.declarative else ""),
                fr_percent(r["rate"]),
                fr_percent(r["start_rate"]),
                f"{spec.printed_intermediate} → {spec.printed_target}",
                "neutralisé" if neutral else fr_percent(r["realisation"]),
                fr_number(r["points"], 2),
                fr_euros(Decimal(r["euros"]).quantize(Decimal("0.01"))),
            )
            status = (
                f"[yellow]Neutralisé : {r['denominator']} {unit} au dénominateur, sous le seuil minimal "
                f"de {spec.threshold} {unit} ; aucun point.[/yellow]"
                if neutral
                else f"Taux constaté {fr_percent(r['rate'])} ({r['numerator']}/{r['denominator']} {unit}"
                + (", taux déclaré par le médecin" if _is_declared(spec, r) else "")
                + (
                    ", mesuré sur déclaration : l'information n'existe pas dans le SNDS"
                    if spec.id in declared_in_run and not spec.declarative
                    else ""
                )
                + f") ; taux de départ {fr_percent(r['start_rate'])} ; réalisation {fr_percent(r['realisation'])} "
                f"de {spec.points} points × pondération = {fr_number(r['points'], 4)} points × "
                f"{fr_euros(prog.point_value)} = {fr_number(r['euros'], 4)} €"
            )
            details.append(
                f"[bold]{spec.id}[/bold] {spec.label}"
                + (" [italic](déclaratif)[/italic]" if spec.declarative else "")
                + f"\n   Objectif intermédiaire {spec.printed_intermediate}, objectif cible {spec.printed_target}, "
                f"seuil minimal {spec.threshold} {unit}.\n   {status}"
                f"\n   [dim]Engagement (art. L.162-5 21° CSS) : {CATEGORIES[spec.category]}.[/dim]"
            )
        console.print(table)
        for d in details:
            console.print(d)
        weight = Decimal(p["patientele"]) / Decimal(prog.reference_patientele)
        amount = Decimal(p["euros"])
        total += amount
        console.print(
            f"Patientèle : {p['patientele']} patients ; patientèle de référence : "
            f"{prog.reference_patientele} ; coefficient de pondération : {fr_number(weight, 4)}\n"
            f"Total des points pondérés : {fr_number(p['points'], 2)} sur {prog.total_points} points maximum "
            f"(avant pondération)\n"
            f"[bold]Montant {prog.name} : {fr_euros(amount)}[/bold] "
            "(total arrondi au centime, demi-centime vers le haut ; montants par indicateur "
            "affichés à titre explicatif)\n"
        )
    console.print(f"[bold]Total ROSP {year} : {fr_euros(total)}[/bold]")
