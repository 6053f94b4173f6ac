"""Share of the demo total that each section of issue 7 moves (fidelity waterfall).

On a run directory (default out/demo/run, written by `make demo`), the run is
re-scored with each section's effect switched off in turn, where a parameter or
the run's own files allow it, and the difference from the run's total is
reported. The table goes to stdout, to benchmarks/RESULTS.md (section "Fidelity
waterfall") and, with --docs, to docs/method.md (between the waterfall markers).

    python benchmarks/fidelity_waterfall.py --run out/demo/run [--docs]

What cannot be switched off from a run directory is listed with the reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_section  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "method.md"
BEGIN, END = "<!-- waterfall:begin -->", "<!-- waterfall:end -->"

#: eligibility.csv reasons decided by the opt-out windows and CAPI rules of §5.
S5_REASONS = ("eligible_capi_superseded", "eligible_opt_out_invalid_late", "eligible_opt_out_invalid_early",
              "eligible_opt_out_expired", "opted_out", "opted_out_capi_superseded", "capi_not_superseded")

#: (section, switch, how) for what a run directory cannot replay.
NOT_SWITCHABLE = [
    ("§2 fenêtres de chargement (L-04, L-24)", "END-03 sur 3 ans au lieu de 10",
     "changer les fenêtres change les comptages : il faut relancer `rosp run` sur les sinistres"),
    ("§3 déclarations (L-08..L-10)", "accepter un taux déclaré sur un indicateur calculé",
     "le ROSP_DECL synthétique ne déclare que des indicateurs déclaratifs : effet nul sur la démo ; "
     "le dénominateur calculé par les sinistres vient du moteur (relance nécessaire)"),
    ("§4 clause de sauvegarde (L-05, L-06)", "coefficient non borné, périmètre d'un seul médecin",
     "`rosp safeguard` s'applique aux totaux nationaux, hors total de la démo : effet nul ici"),
    ("§6 définitions L-11..L-23 (hors END-07)", "anciennes définitions",
     "les lectures sont des paramètres des définitions ($param), lus par le compilateur : "
     "relance du moteur nécessaire"),
]


def _read(run: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(run / name, dtype=str, keep_default_na=False)


def waterfall(run: Path) -> tuple[list[dict], dict]:
    from rosp.catalogue import load_catalogue
    from rosp.scoring.batch import score_batch

    year = int(json.loads((run / "manifest.json").read_text(encoding="utf-8"))["year"])
    counts = _read(run, "counts.csv")
    for col in ("numerator", "denominator"):
        counts[col] = counts[col].astype("int64")
    pat = _read(run, "patientele.csv")
    pat["patientele"] = pat["patientele"].astype("int64")
    elig = _read(run, "eligibility.csv") if (run / "eligibility.csv").exists() else None
    ok = None if elig is None else elig.loc[elig["eligible"].str.lower().isin(["true", "1"]),
                                            ["doctor_id", "programme"]]
    cat = load_catalogue(year)

    def total(c=cat, cnt=counts, eligible=ok) -> Decimal:
        pay = score_batch(cnt, pat, year, c).payments
        if eligible is not None:
            pay = pay.merge(eligible, on=["doctor_id", "programme"], how="inner")
        return sum((Decimal(x) for x in pay["euros"]), Decimal("0.00"))

    base = total()
    rows = []

    def add(section: str, switch: str, value: Decimal) -> None:
        diff = base - value
        pct = (diff / base * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) if base else Decimal("0.0")
        rows.append({"section": section, "switch": switch, "total_off": value, "effect": diff, "pct": pct})

    add("§1 taux de départ (L-01..L-03)", "aucun taux de départ (avant l'issue 7)",
        total(cnt=counts.assign(start_rate="")))
    if elig is not None:
        s5 = elig["reason"].isin(S5_REASONS)
        widened = elig.loc[elig["eligible"].str.lower().isin(["true", "1"]) | s5, ["doctor_id", "programme"]]
        add("§5 éligibilité dans le temps (L-07, L-28, L-30)",
            f"médecin × programme décidés par les fenêtres d'opposition ou la CAPI payés ({int(s5.sum())} lignes)",
            total(eligible=widened))
    paid = dataclasses.replace(cat, params=cat.params.with_overrides({"scoring.provisional_definitions": "paid"}))
    add("§6 END-07 provisoire (L-13)", "END-07 payé (scoring.provisional_definitions = paid)", total(c=paid))
    return rows, {"year": year, "base": base, "run": run}


def fr(x: Decimal) -> str:
    s = f"{x:,.2f}".replace(",", " ").replace(".", ",")
    return s + " €"


def render(rows: list[dict], info: dict) -> str:
    lines = [
        f"Run `{info['run']}` ({info['year']}), total payé : {fr(info['base'])}. « Effet » = total du run − total",
        "sans l'effet de la section (positif : la section ajoute des euros).",
        "",
        "| section | effet coupé | total sans l'effet | effet de la section | part du total |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        pct = str(r["pct"]).replace(".", ",")
        lines.append(f"| {r['section']} | {r['switch']} | {fr(r['total_off'])} | {fr(r['effect'])} | {pct} % |")
    lines += ["", "Non rejouable depuis un répertoire de run :", ""]
    for section, switch, why in NOT_SWITCHABLE:
        lines.append(f"- {section} — {switch} : {why}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path("out/demo/run"))
    ap.add_argument("--docs", action="store_true", help="also refresh the table in docs/method.md")
    args = ap.parse_args()
    rows, info = waterfall(args.run)
    body = render(rows, info)
    print(body)
    write_section("Fidelity waterfall (benchmarks/fidelity_waterfall.py)", body)
    if args.docs:
        text = DOCS.read_text(encoding="utf-8")
        block = f"{BEGIN}\n{body}\n{END}"
        if BEGIN in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        DOCS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
