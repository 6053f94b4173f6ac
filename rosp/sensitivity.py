"""`rosp sensitivity`: how much money each inferred reading of the texts moves.

A run directory is re-scored (vectorised scorer, from its counts, patientèles and
starting rates) once per listed alternative of every inferred parameter, i.e. a
parameter whose value in force is not "verified" and that has an `alternatives`
list in `parameters.toml`. Only the parameters the scorer reads can be replayed
from a run (`REPLAYABLE`); the others (safeguard readings, indicator definitions)
need the national totals or the claims and are listed in docs/method.md §8.

The table (French, CSV and printed): paramètre, valeur retenue, confiance,
alternative, total national, écart en € et en %, nombre de médecins dont le
paiement varie de plus de 1 %.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import typer

from rosp.errors import RospError

#: Parameters a run can be re-scored under: those of `RuleParams` and the use of
#: starting rates measured below the seuil.
REPLAYABLE = (
    "scoring.missing_start_rate",
    "scoring.progression_normalisation",
    "scoring.lower_is_better_rule",
    "scoring.intermediate_share",
    "scoring.patientele_cap",
    "scoring.provisional_definitions",
    "start_rates.below_threshold",
)
COLUMNS = [
    "paramètre", "valeur retenue", "confiance", "alternative", "total national (€)", "écart (€)", "écart (%)",
    "médecins dont le paiement varie de plus de 1 %",
]
MOVE_SHARE = Decimal("0.01")


class SensitivityError(RospError):
    """The run directory cannot be re-scored."""


def _read(run: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    path = run / name
    if not path.exists():
        if required:
            raise SensitivityError("fichier manquant (est-ce bien le dossier de sortie de `rosp run` avec le calcul des paiements ?)",
                                   file=str(path))
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _doctor_totals(payments: pd.DataFrame) -> pd.Series:
    eur = payments["euros"].map(Decimal)
    return eur.groupby(payments["doctor_id"].astype(str)).sum()


def _moved(base: pd.Series, alt: pd.Series) -> int:
    both = pd.concat([base.rename("b"), alt.rename("a")], axis=1).fillna(Decimal(0))
    n = 0
    for b, a in zip(both["b"], both["a"], strict=True):
        if abs(a - b) > MOVE_SHARE * b if b else a != b:
            n += 1
    return n


def sensitivity_table(run_dir: str | Path) -> tuple[pd.DataFrame, dict]:
    """The sensitivity rows of a run, and a summary (year, base total, run total)."""
    from rosp.catalogue import load_catalogue
    from rosp.scoring.batch import score_batch
    from rosp.scoring.start_rates import attach

    run = Path(run_dir)
    manifest_path = run / "manifest.json"
    if not manifest_path.exists():
        raise SensitivityError("fichier manquant (ce n'est pas un dossier de run)", file=str(manifest_path))
    year = int(json.loads(manifest_path.read_text(encoding="utf-8"))["year"])
    counts = _read(run, "counts.csv")
    patientele = _read(run, "patientele.csv")
    paid = _read(run, "payments.csv")
    store = _read(run, "start_rates.csv", required=False)
    elig = _read(run, "eligibility.csv", required=False)
    for col in ("numerator", "denominator"):
        counts[col] = counts[col].astype("int64")
    patientele["patientele"] = patientele["patientele"].astype("int64")
    if store is not None:
        store = store[~((store["flag"] == "first_measured_level") & (store["reference_period"] == str(year)))]
        for col in ("numerator", "denominator"):
            store[col] = pd.to_numeric(store[col]).astype("int64")
    ok = None
    if elig is not None:
        ok = elig.loc[elig["eligible"].str.lower().isin(["true", "1"]), ["doctor_id", "programme"]]
    catalogue = load_catalogue(year)
    params = catalogue.params

    def total(cat, cnt) -> tuple[Decimal, pd.Series]:
        res = score_batch(cnt, patientele, year, cat)
        pay = res.payments
        if ok is not None:
            pay = pay.merge(ok, on=["doctor_id", "programme"], how="inner")
        per_doctor = _doctor_totals(pay)
        return sum(per_doctor, Decimal("0.00")), per_doctor

    base_total, base_doc = total(catalogue, counts)
    run_total = sum((Decimal(x) for x in paid["euros"]), Decimal("0.00"))
    rows = []
    for name in REPLAYABLE:
        try:
            p = params.get(name, year)
        except RospError:
            continue
        alts = params.alternatives(name)
        if p.confidence == "verified" or not alts:
            continue
        for alt in alts:
            if name == "start_rates.below_threshold":
                cnt = attach(counts, store, alt) if store is not None else counts
                tot, per = total(catalogue, cnt)
            else:
                cat = dataclasses.replace(catalogue, params=params.with_overrides({name: alt}))
                tot, per = total(cat, counts)
            diff = tot - base_total
            pct = (diff / base_total * 100).quantize(Decimal("0.01"), ROUND_HALF_UP) if base_total else Decimal(0)
            rows.append({
                "paramètre": name, "valeur retenue": p.value, "confiance": p.confidence, "alternative": alt,
                "total national (€)": str(tot), "écart (€)": str(diff), "écart (%)": str(pct),
                "médecins dont le paiement varie de plus de 1 %": _moved(base_doc, per),
            })
    summary = {"year": year, "base_total": base_total, "run_total": run_total, "doctors": len(base_doc)}
    return pd.DataFrame(rows, columns=COLUMNS), summary


def sensitivity_command(
    run: Path = typer.Option(..., "--run", help="Répertoire d'un run (rosp run)."),
    out: Path | None = typer.Option(None, "--out", help="Fichier CSV (défaut : RUN/sensitivity.csv)."),
) -> None:
    """Re-calcule un run sous chaque lecture alternative des paramètres inférés."""
    from rich.console import Console
    from rich.table import Table

    from rosp.outputs import write_csv
    from rosp.report.statement import fr_euros

    console = Console(width=max(Console().width, 150))
    table, summary = sensitivity_table(run)  # a RospError reaches the CLI's one handler (exit 2)
    path = out or run / "sensitivity.csv"
    write_csv(table, path)
    t = Table(title=f"Sensibilité du total {summary['year']} aux lectures inférées des textes")
    for col in ("paramètre", "valeur retenue", "confiance", "alternative", "total national", "écart",
                "écart %", "médecins > 1 %"):
        t.add_column(col, justify="left" if col in ("paramètre", "valeur retenue", "confiance", "alternative")
                     else "right", no_wrap=True)
    for r in table.itertuples(index=False):
        d = dict(zip(COLUMNS, r, strict=True))
        retained = d["alternative"] == d["valeur retenue"]
        t.add_row(
            d["paramètre"], d["valeur retenue"], d["confiance"], d["alternative"] + (" (retenue)" if retained else ""),
            fr_euros(Decimal(d["total national (€)"])), fr_euros(Decimal(d["écart (€)"])),
            d["écart (%)"].replace(".", ",") + " %", str(d["médecins dont le paiement varie de plus de 1 %"]),
        )
    console.print(t)
    console.print(f"Total du run : {fr_euros(summary['run_total'])} ; recalculé : {fr_euros(summary['base_total'])} "
                  f"({summary['doctors']} médecins). Tableau : {path}")
    if summary["run_total"] != summary["base_total"]:
        Console(stderr=True).print("[bold yellow]attention :[/bold yellow] le total recalculé diffère de payments.csv "
                  "(run produit par une autre version du code ou des paramètres).")
