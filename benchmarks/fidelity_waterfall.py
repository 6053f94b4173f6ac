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

#: (section, switch, how) for what is not switched off.
NOT_SWITCHABLE = [
    ("§6 définitions L-13..L-23 sans lecture antérieure en paramètre", "L-14 Duoplavin, L-15/16 associations "
     "fixes, L-17 CAR-05, L-18 END-08, L-19 END-03, L-20 insuline + GLP-1, L-22 M'T dents, L-23 colonoscopies",
     "la lecture d'avant n'est pas une valeur de `$param` (liste de codes ou bloc changés) : non rejoué"),
]

#: §6: the definition parameters whose source names their former reading (L-11, L-12, L-21).
OLD_DEFINITIONS = {
    "CAR-01": {"mi_history_window": "N-1:N", "mi_ald_dated": "overlap"},
    "CAR-07": {"mi_history_window": "N-1:N", "mi_ald_dated": "overlap"},
    "GAS-05": {"polypectomy_anchor": "first"},
    "ENF-06": {"antibio_age_at": "ref_end"},
    "ENF-07": {"antibio_age_at": "ref_end"},
}

#: §2: END-03's window before issue 7 (the loader kept three years of stays).
OLD_WINDOWS = {"END-03": {"thyroid_surgery_window": "N-3:N-1"}}

#: §4: sgE of docs/method.md §7, one GP's file against national totals (2017, 2016).
SG_E = (Decimal("243500000"), Decimal("240000000"))


def _rerun_with_params(data: Path, year: int, overrides: dict[str, dict[str, str]], out: Path) -> pd.DataFrame:
    """`rosp run` on the extract with indicator parameters replaced (the old readings)."""
    import importlib

    engine = importlib.import_module("rosp.engine.run")
    from rosp.indicators.definitions import load_programmes

    def patched():
        progs = load_programmes()
        out_p = {}
        for slug, prog in progs.items():
            inds = []
            for ind in prog.indicators:
                if ind.id in overrides:
                    # parameters are resolved into the conditions when loading: replace
                    # the resolved value in every condition argument that took it
                    params = dict(ind.params)
                    swap = {}
                    for name, value in overrides[ind.id].items():
                        old = (params.get(name) or prog.params[name]).value
                        swap[old] = value
                        if name in params:
                            params[name] = dataclasses.replace(params[name], value=value)

                    def cond(c, swap=swap):
                        args = {k: (tuple(cond(x) for x in v) if k == "of" else swap.get(v, v)
                                    if isinstance(v, str) else v) for k, v in c.args.items()}
                        return dataclasses.replace(c, args=args)

                    ind = dataclasses.replace(ind, params=params, denominator=tuple(map(cond, ind.denominator)),
                                              numerator=tuple(map(cond, ind.numerator)))
                inds.append(ind)
            out_p[slug] = dataclasses.replace(prog, indicators=tuple(inds) if isinstance(prog.indicators, tuple)
                                              else inds)
        return out_p

    saved = engine.load_programmes
    engine.load_programmes = patched
    try:
        engine.run(data, year, out)
    finally:
        engine.load_programmes = saved
    counts = _read(out, "counts.csv")
    for col in ("numerator", "denominator"):
        counts[col] = counts[col].astype("int64")
    return counts


def _declared_on_computed(counts: pd.DataFrame, cat) -> tuple[pd.DataFrame, int]:
    """§3 switched off: the demo's ROSP_DECL declares only declarative indicators, so
    declarations on computed indicators are synthesised (every 10th doctor declares
    100 % on each computed indicator of its programme, the L-08 case) and accepted,
    as before issue 7."""
    computed = {i.id for i in cat.indicators.values() if i.measurement != "declaration"}
    docs = sorted(counts["doctor_id"].unique())
    chosen = set(docs[::10])
    c = counts.copy()
    hit = c["doctor_id"].isin(chosen) & c["indicator_id"].isin(computed) & (c["denominator"] > 0)
    c.loc[hit, "declared_rate"] = "1"
    return c, int(hit.sum())


def _read(run: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(run / name, dtype=str, keep_default_na=False)


def waterfall(run: Path, rerun: Path | None = None) -> tuple[list[dict], dict]:
    """Rows per section; with `rerun` (the run's extract) the sections that need the
    engine (§2) are replayed by running it again on that extract."""
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
    declared, n_decl = _declared_on_computed(counts, cat)
    add("§3 déclarations (L-08..L-10)",
        f"taux déclaré accepté sur un indicateur calculé ({n_decl} déclarations synthétiques à 100 %, "
        "un médecin sur dix)", total(cnt=declared))
    if rerun is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            rc = _rerun_with_params(rerun, year, OLD_WINDOWS, Path(tmp) / "run")
        off = total(cnt=rc)
        add("§2 fenêtres de chargement (L-04, L-24)", "END-03 sur 3 ans au lieu de 10 (moteur relancé)", off)
        with tempfile.TemporaryDirectory() as tmp:
            rc = _rerun_with_params(rerun, year, OLD_DEFINITIONS, Path(tmp) / "run")
        add("§6 définitions L-11, L-12, L-21", "lectures antérieures : GAS-05 première coloscopie, IDM "
            "N-1:N et ALD chevauchante (CAR-01/07), âge au 31/12 (ENF-06/07) (moteur relancé)", total(cnt=rc))
    add_safeguard(run, year, rows, base)
    paid = dataclasses.replace(cat, params=cat.params.with_overrides({"scoring.provisional_definitions": "paid"}))
    add("§6 END-07 provisoire (L-13)", "END-07 payé (scoring.provisional_definitions = paid)", total(c=paid))
    return rows, {"year": year, "base": base, "run": run}


def add_safeguard(run: Path, year: int, rows: list[dict], base: Decimal) -> None:
    """§4 on sgE: the run's payments against the national totals. Today: refused
    (perimeter), and k above the bound if forced; the old unbounded single-doctor
    reading multiplied every payment by k. The row gives the euros that reading adds."""
    from rosp.safeguard import SafeguardInputError, apply_safeguard

    pay = _read(run, "payments.csv")
    previous, baseline = SG_E
    try:
        apply_safeguard(pay, year, previous, baseline)
        today = "appliquée"
    except SafeguardInputError as exc:
        today = "refusée : périmètre" if "perimeter" in str(exc) else f"refusée : {str(exc).split(': ', 1)[-1][:60]}"
    k = (min(previous, baseline) / base) if base else Decimal(0)
    old = (base * k).quantize(Decimal("0.01"), ROUND_HALF_UP)
    rows.append({"section": "§4 clause de sauvegarde (L-05, L-06)",
                 "switch": f"lecture non bornée d'un seul fichier contre les totaux nationaux sgE "
                           f"(k = {k.quantize(Decimal('1'), ROUND_HALF_UP)} ; aujourd'hui : {today})",
                 "total_off": old, "effect": Decimal("0.00"), "pct": Decimal("0.0"),
                 "note": "hors total : la clause ne s'applique pas au total de la démo"})


def fr(x: Decimal) -> str:
    s = f"{x:,.2f}".replace(",", " ").replace(".", ",")
    return s + " €"


def render(rows: list[dict], info: dict) -> str:
    moved = sum((r["effect"] for r in rows if "note" not in r), Decimal(0))
    lines = [
        f"Run `{info['run']}` ({info['year']}), total payé : {fr(info['base'])}. « Effet » = total du run − total",
        "sans l'effet de la section (positif : la section ajoute des euros) ; « part du changement » = effet ÷",
        f"somme signée des effets ({fr(moved)}). Durée du calcul sur la démo : {info.get('seconds', 0):.0f} s"
        " (deux relances du moteur : §2, §6).",
        "",
        "| section | effet coupé | total sans l'effet | effet de la section | part du total | part du changement |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        pct = str(r["pct"]).replace(".", ",")
        if "note" in r:
            lines.append(f"| {r['section']} | {r['switch']} | {fr(r['total_off'])} | — ({r['note']}) | — | — |")
            continue
        share = (r["effect"] / moved * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) if moved else Decimal("0.0")
        lines.append(f"| {r['section']} | {r['switch']} | {fr(r['total_off'])} | {fr(r['effect'])} | {pct} % | "
                     f"{str(share).replace('.', ',')} % |")
    lines += ["", "Non rejoué :", ""]
    for section, switch, why in NOT_SWITCHABLE:
        lines.append(f"- {section} — {switch} : {why}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path("out/demo/run"))
    ap.add_argument("--data", type=Path, default=None,
                    help="the run's extract (default: DIR/../data when it exists): re-run the engine for §2")
    ap.add_argument("--docs", action="store_true", help="also refresh the table in docs/method.md")
    args = ap.parse_args()
    data = args.data or (args.run.parent / "data")
    import time

    t0 = time.perf_counter()
    rows, info = waterfall(args.run, data if data.exists() else None)
    info["seconds"] = time.perf_counter() - t0
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
