"""ROSP_DECL during `rosp run`: populations from claims, then the catalogue's screening.

The rules live in `rosp.catalogue.declarations` (pure); this module only computes,
in DuckDB through Ibis, the per-doctor populations that claims can compute for the
declaration-measured indicators (parameter ``declaration.population.<ID>``), and
writes the rejected declarations to ``rejected/ROSP_DECL.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rosp.catalogue import Catalogue
from rosp.catalogue.declarations import REJECT_COLUMNS, population_of, screen_declarations

POPULATION_COLUMNS = ["doctor_id", "indicator_id", "population"]


def _mt_age_population(comp: Any, prog: Any, views: dict[str, Any], lo: int, hi: int) -> pd.DataFrame:
    """Doctor -> number of basis patients alive at the reference date aged lo <= months < hi."""
    b = comp.basis(prog)
    pat = views["patients"]
    months = (comp.ref_end.year - pat.birth_year.cast("int64")) * 12 + (12 - pat.birth_month.cast("int64"))
    keep = pat.filter(
        (months >= lo) & (months < hi), pat.death_date.isnull() | (pat.death_date > comp.ref_end)
    ).select(patient_id=pat.patient_id.cast("string"))
    j = b.join(keep, "patient_id")
    return j.group_by("doctor_id").aggregate(population=j.patient_id.nunique()).execute()


def populations(
    catalogue: Catalogue,
    comp: Any,
    programmes: dict[str, Any],
    views: dict[str, Any],
    patientele: pd.DataFrame,
    aggregates: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    """doctor_id, indicator_id, population for every declaration-measured indicator that has one."""
    frames = []
    for slug, prog in programmes.items():
        try:
            cat_prog = catalogue.programme(slug)
        except KeyError:
            continue
        for ind in cat_prog.indicators:
            if ind.measurement != "declaration":
                continue
            rule = population_of(catalogue, ind.id)
            if rule.kind == "patientele":
                p = patientele.loc[patientele["programme"] == slug, ["doctor_id", "patientele"]]
                p = p.rename(columns={"patientele": "population"})
            elif rule.kind == "claims_denominator":
                a = aggregates.get(slug, pd.DataFrame(columns=["doctor_id", "indicator_id", "denominator"]))
                p = a.loc[a["indicator_id"].astype(str) == ind.id, ["doctor_id", "denominator"]]
                p = p.rename(columns={"denominator": "population"})
            elif rule.kind == "mt_age_months":
                p = _mt_age_population(comp, prog, views, int(rule.min_months), int(rule.max_months))
            else:
                continue
            frames.append(p.assign(indicator_id=ind.id, doctor_id=p["doctor_id"].astype(str)))
    if not frames:
        return pd.DataFrame(columns=POPULATION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[POPULATION_COLUMNS]
    out["population"] = pd.to_numeric(out["population"]).astype("int64")
    return out.sort_values(["doctor_id", "indicator_id"], kind="mergesort").reset_index(drop=True)


def previous_year_populations(
    catalogue: Catalogue, views: dict[str, Any], programmes: dict[str, Any], year: int, con: Any = None,
) -> pd.DataFrame:
    """The populations of :func:`populations` measured on the year before (`year` − 1):
    patientèles, claims denominators and MT age bands of N-1, against which the
    declarations for N-1 (declared starting rates) are screened."""
    from rosp.indicators.compiler import Compiler

    comp = Compiler(views, year - 1, con=con)
    try:
        wanted = {slug: [i for i in catalogue.programme(slug).indicators
                         if i.measurement == "declaration"]
                  for slug in programmes if slug in {p.slug for p in catalogue.programmes}}
        pat_frames, aggregates = [], {}
        for slug, inds in wanted.items():
            kinds = {population_of(catalogue, i.id).kind for i in inds}
            prog = programmes[slug]
            if "patientele" in kinds:
                p = comp.patientele(prog).execute()
                pat_frames.append(p.assign(programme=slug))
            if "claims_denominator" in kinds:
                rows = []
                for ind in prog.indicators:
                    if ind.id in {i.id for i in inds} and population_of(catalogue, ind.id).kind == "claims_denominator":
                        e = comp.compile(ind, prog)
                        a = e.group_by("doctor_id").aggregate(denominator=e.den_units.sum().cast("int64")).execute()
                        rows.append(a.assign(indicator_id=ind.id))
                if rows:
                    aggregates[slug] = pd.concat(rows, ignore_index=True).assign(
                        doctor_id=lambda f: f["doctor_id"].astype(str))
        patientele = (pd.concat(pat_frames, ignore_index=True) if pat_frames
                      else pd.DataFrame(columns=["doctor_id", "programme", "patientele"]))
        patientele["doctor_id"] = patientele["doctor_id"].astype(str)
        return populations(catalogue, comp, {k: programmes[k] for k in wanted}, views, patientele, aggregates)
    finally:
        comp.release()


def declaration_years(decl: pd.DataFrame, year: int) -> pd.Series:
    """The year each declaration is for (column `year`; absent or empty = the payment year)."""
    if "year" not in decl.columns:
        return pd.Series([year] * len(decl), index=decl.index, dtype="int64")
    return pd.to_numeric(decl["year"], errors="coerce").fillna(year).astype("int64")


def screen_run_declarations(
    decl: pd.DataFrame,
    catalogue: Catalogue,
    pops: pd.DataFrame,
    out: Path,
    *,
    year: int | None = None,
    previous_pops: pd.DataFrame | None = None,
    previous_reason: str = "",
) -> tuple[pd.DataFrame, int, pd.DataFrame | None]:
    """Accepted declarations for N, the number rejected, and the accepted declarations
    for N-1 (the declared starting rates; None unless `previous_pops` is given).

    Rows for N (column `year`, empty = N) and, when `previous_pops` is given, for N-1
    are screened by the same rules (:func:`screen_declarations`), N-1 against the
    populations of N-1. Every other row is rejected with its reason (`previous_reason`
    for an N-1 row that is not read). Rejects go to out/rejected/ROSP_DECL.csv; rows are
    numbered in the order doctor, indicator, year.
    """
    year = catalogue.year if year is None else year
    d = decl.copy()
    d["_year"] = declaration_years(d, year)
    if len(d):
        d = d.sort_values(["doctor_id", "indicator_id", "_year"], kind="mergesort")
    d = d.reset_index(drop=True)
    d["_pos"] = range(1, len(d) + 1)
    frames = []
    current = d[d["_year"] == year].reset_index(drop=True)
    accepted, rej = screen_declarations(current, catalogue, pops, file="ROSP_DECL")
    frames.append(_renumber(rej, current))
    accepted_prev = None
    prev = d[d["_year"] == year - 1].reset_index(drop=True)
    if previous_pops is not None:
        accepted_prev, rej = screen_declarations(prev, catalogue, previous_pops, file="ROSP_DECL")
        rej = _renumber(rej, prev)
        rej["reason"] = f"declaration for {year - 1} (starting rate): " + rej["reason"]
        rej["key"] = rej["key"] + f"|{year - 1}"
        frames.append(rej)
    else:
        other_prev = prev
        frames.append(_year_rejects(other_prev, previous_reason or f"declaration for {year - 1}: not read"))
    other = d[(d["_year"] != year) & (d["_year"] != year - 1)]
    for y, g in other.groupby("_year", sort=True):
        frames.append(_year_rejects(
            g, f"declaration for {int(y)}: a run of {year} reads the declarations for {year} "
               f"and, in the reset year of the starting rates, for {year - 1}"))
    rejects = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame(columns=REJECT_COLUMNS)
    if len(rejects):
        from rosp.outputs import write_csv

        rejects = rejects.sort_values("row", kind="mergesort").reset_index(drop=True)
        write_csv(rejects[REJECT_COLUMNS], out / "rejected" / "ROSP_DECL.csv")
    return accepted, len(rejects), accepted_prev


def _renumber(rejects: pd.DataFrame, subset: pd.DataFrame) -> pd.DataFrame:
    """Rows of `screen_declarations` (1-based in `subset`) as rows of the whole sorted file."""
    r = rejects.copy()
    if len(r):
        r["row"] = [int(subset["_pos"].iloc[int(k) - 1]) for k in r["row"]]
    return r


def _year_rejects(rows: pd.DataFrame, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"file": "ROSP_DECL", "row": rows["_pos"].astype("int64").tolist(), "column": "DECL_ANN", "reason": reason,
         "doctor_id": rows["doctor_id"].astype(str).tolist(),
         "key": [f"{a}|{b}|{int(y)}" for a, b, y in zip(rows["doctor_id"], rows["indicator_id"], rows["_year"],
                                                      strict=True)]},
        columns=REJECT_COLUMNS)
