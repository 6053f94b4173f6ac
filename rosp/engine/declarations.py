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


def screen_run_declarations(
    decl: pd.DataFrame,
    catalogue: Catalogue,
    pops: pd.DataFrame,
    out: Path,
) -> tuple[pd.DataFrame, int]:
    """Accepted declarations; rejected ones written to out/rejected/ROSP_DECL.csv (with their reason)."""
    order = decl.sort_values(["doctor_id", "indicator_id"], kind="mergesort") if len(decl) else decl
    accepted, rejects = screen_declarations(order.reset_index(drop=True), catalogue, pops, file="ROSP_DECL")
    if len(rejects):
        from rosp.outputs import write_csv

        write_csv(rejects[REJECT_COLUMNS], out / "rejected" / "ROSP_DECL.csv")
    return accepted, len(rejects)
