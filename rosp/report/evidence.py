"""The patients behind one indicator of one doctor (`rosp explain --indicator`).

Pseudonymous patient ids are shown here on purpose: this is the evidence a
doctor needs to contest a rate. They never go to logs or error messages.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from rosp.catalogue import load_catalogue
from rosp.report.statement import StatementError, fr_percent, load_run


def render_evidence(run_dir: Path, doctor_id: str, indicator_id: str, console: Console) -> None:
    """Print the denominator patients of one indicator, numerator ones flagged."""
    from rosp.engine.run import explain_patients

    ind, _, manifest = load_run(run_dir)
    year = int(manifest["year"])
    try:
        spec = load_catalogue(year).indicators[indicator_id]
    except KeyError:
        raise StatementError(f"indicateur {indicator_id!r} inconnu pour {year}") from None
    row = ind[(ind["doctor_id"] == doctor_id) & (ind["indicator_id"] == indicator_id)]
    if row.empty:
        raise StatementError(f"médecin {doctor_id!r} n'a pas d'indicateur {indicator_id} dans le run {run_dir}")
    r = row.iloc[0]
    if not spec.declarative and not any((Path(run_dir) / "evidence").glob("*.parquet")):
        raise StatementError(
            f"run {run_dir} has no evidence/ folder: patients are kept only by `rosp run`, "
            "not by `rosp score`"
        )
    patients = explain_patients(run_dir, doctor_id, indicator_id)
    console.print(f"[bold]{spec.id}[/bold] {spec.label}")
    console.print(
        f"Taux constaté {fr_percent(r['rate'])} = {r['numerator']} / {r['denominator']} "
        f"({'boîtes' if spec.threshold_unit == 'boites' else 'patients'}) ; "
        f"objectifs {spec.printed_intermediate} → {spec.printed_target}"
    )
    if spec.declarative or patients.empty:
        console.print("Aucune pièce patient : indicateur déclaratif ou sans patient pour ce médecin.")
        return
    table = Table(title="Patients du dénominateur et candidats exclus (identifiants pseudonymisés)")
    for col in ("Patient", "Dén.", "Num.", "Unités", "Motif", "Pièce décisive", "Date", "Code"):
        table.add_column(col, no_wrap=col in ("Patient", "Date", "Code"))
    for p in patients.itertuples(index=False):
        table.add_row(
            str(p.patient_id),
            "oui" if p.in_denominator else "non",
            "oui" if p.in_numerator else "non",
            f"{int(p.num_units)}/{int(p.den_units)}",
            reason_fr(str(p.reason)),
            str(p.claim_table or ""),
            _date(p.claim_date),
            str(p.claim_code or ""),
        )
    console.print(table)
    console.print(
        f"{int(patients['in_denominator'].sum())} au dénominateur, {int(patients['in_numerator'].sum())} "
        f"au numérateur ; unités : numérateur/dénominateur (boîtes pour les indicateurs en boîtes)."
    )


def _date(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)[:10]


def reason_fr(code: str) -> str:
    """French label of an evidence reason code (codes are stable, labels are for reading)."""
    kind, _, cond = code.partition(":")
    return {
        "numerator": "au numérateur",
        "boxes": "boîtes prescrites",
        "not_numerator": f"hors numérateur ({cond})",
        "excluded": "exclu : décédé" if cond == "deceased" else f"exclu ({cond})",
    }.get(kind, code)
