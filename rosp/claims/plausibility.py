"""Plausibility of an SNDS extract, inside the loader: a row that cannot be true is a
counted reject; an extract that cannot be true is refused; what is unlikely is announced.

Everything is an Ibis expression over the loaded tables, so both engines run it.

Row rejects (in the validation of ``IR_BEN_R``, :func:`row_rules`; rejects file and load
report, so one bad row no longer stops a national run; the share of rejected rows is
still bounded by ``plausibility.max_reject_share``):
- ``implausible_birth_month``: birth month other than 1 to 12 (0, 13...);
- ``birth_in_future``: birth year after the study period (``N + 1``);
- ``implausible_birth_year``: birth year before ``plausibility.min_birth_year``
  (1600, the SNDS placeholder of an unknown year, is read as NULL before);
- ``death_before_birth``: date of death before the first day of the birth month.

Refused (:class:`PlausibilityError`, naming file, row, column; :func:`check_loaded`,
run by :func:`rosp.claims.load.load_claims` when given the indicators of the run) --
what cannot be a row problem:
- no claim at all (every DCIR fact table empty), an empty doctor register, no claim
  dated in the payment year N;
- a patient pseudonym used as a doctor number in the médecin traitant declarations;
- ``ROSP_DECL``: a rate outside [0, 1] (a percentage), a numerator above the
  denominator, a negative count, an indicator the catalogue does not know, a doctor the
  register does not know (the same rules as ``rosp score``).
Warned: médecin traitant declarations that point to no known doctor (counted).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from rosp.errors import RospError

FACT_TABLES = ("ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "ER_CAM_F")


class PlausibilityError(RospError):
    """An extract that cannot be true."""


def _min_birth_year(year: int) -> int:
    from rosp.catalogue.parameters import load_parameters

    return int(load_parameters().get("plausibility.min_birth_year", year).value)


def row_rules(table: str, typed: ir.Table, year: int) -> list[tuple[ir.BooleanValue, str]]:
    """(condition, reason) of the rows of ``table`` that cannot be true, in checking order;
    evaluated on the typed values (placeholders already NULL)."""
    if table != "IR_BEN_R":
        return []
    month, born, death = typed.BEN_NAI_MOI, typed.BEN_NAI_ANN, typed.BEN_DCD_DTE
    birth_first_day = ibis.date(born.cast("int64"), month.cast("int64"), 1)
    return [
        (~month.between(1, 12), "implausible_birth_month"),
        (born > year + 1, "birth_in_future"),
        (born < _min_birth_year(year), "implausible_birth_year"),
        (month.between(1, 12) & (death < birth_first_day), "death_before_birth"),
    ]


# ------------------------------------------------------------------ refusals


def _all_rows(backend: Any, table: str) -> ir.Table:
    """Kept and rejected rows of a loaded table (``_rej_<T>`` without ``_reason``)."""
    kept = backend.ibis.table(table)
    rej = backend.ibis.table("_rej_" + table)
    return kept.union(rej.select(*kept.columns), distinct=False)


def _refuse_first(backend: Any, t: ir.Table, cond: ir.BooleanValue, column: str, reason: str) -> None:
    hits = t.filter(cond)
    n = backend.count(hits)
    if n:
        first = backend.to_arrow(hits.select("_file", "_row").order_by(["_file", "_row"]).limit(1)).to_pylist()[0]
        raise PlausibilityError(f"{reason} ({n} such rows)", file=first["_file"], row=int(first["_row"]), column=column)


def check_loaded(backend: Any, report: Any, year: int, known_indicators: set[str]) -> list[str]:
    """Raise on an extract that cannot be true; return the warnings. Runs on the loaded
    tables (kept and rejected rows, both still stored on ``backend``)."""
    tables = report.tables
    present = [t for t in FACT_TABLES if tables[t].files]
    if present and all(tables[t].rows_read == 0 for t in present):
        raise PlausibilityError("every DCIR fact table (ER_PRS_F, ER_PHA_F, ER_BIO_F, ER_CAM_F) is empty: no claim",
                                file="ER_PRS_F")
    pra = tables["DA_PRA_R"]
    if pra.files and pra.rows_read == 0:
        raise PlausibilityError("the doctor register is empty (no doctor)", file=pra.files[0])
    prs = _all_rows(backend, "ER_PRS_F")
    d = prs.EXE_SOI_DTD
    span = backend.to_arrow(prs.aggregate(lo=d.min(), hi=d.max(), n=prs.count(where=d.year() == year))).to_pylist()[0]
    if span["lo"] is not None and span["n"] == 0:
        raise PlausibilityError(
            f"no claim dated in the payment year {year} (claims run from {span['lo']} to {span['hi']}): "
            "check --year or the extract",
            file=tables["ER_PRS_F"].files[0], column="EXE_SOI_DTD",
        )
    warnings: list[str] = []
    mtt = _all_rows(backend, "IR_MTT_R")
    ben = _all_rows(backend, "IR_BEN_R")
    ids = ben.select(i=ben.BEN_NIR_PSA).union(ben.select(i=ben.BEN_IDT_ANO)).filter(ibis._.i.notnull())
    _refuse_first(backend, mtt, mtt.MTT_PFS_NUM.isin(ids.i), "MTT_PFS_NUM",
                  "a patient pseudonym is used as the doctor number (columns swapped?)")
    prat = _all_rows(backend, "DA_PRA_R")
    # a left join to the distinct numbers, not NOT IN (subquery): Spark plans NOT IN as a
    # null-aware anti join, a nested loop (123 s for 0.9 M declarations x 1 000 numbers)
    p = prat.filter(prat.PFS_PFS_NUM.notnull())
    known = p.select(_k=p.PFS_PFS_NUM).distinct().mutate(_hit=ibis.literal(True))
    j = mtt.left_join(known, mtt.MTT_PFS_NUM == known._k)
    row = backend.to_arrow(j.aggregate(n=j.count(where=j.MTT_PFS_NUM.notnull() & j._hit.isnull()), total=j.count()))
    n, total = (int(v) for v in row.to_pylist()[0].values())
    if n:
        warnings.append(
            f"IR_MTT_R: {n} of {total} médecin traitant declarations point to no doctor of DA_PRA_R "
            "(these patients count in no médecin traitant patientèle)"
        )
    _declarations(backend, _all_rows(backend, "ROSP_DECL"), prat, known_indicators)
    return warnings


def _declarations(backend: Any, decl: ir.Table, prat: ir.Table, known: set[str]) -> None:
    if known:
        _refuse_first(backend, decl, decl.INDICATOR_ID.notin(sorted(known)), "INDICATOR_ID",
                      "unknown indicator for this year")
    doctors = prat.filter(prat.STA_PFS_NUM.notnull()).STA_PFS_NUM
    _refuse_first(backend, decl, decl.STA_PFS_NUM.notin(doctors), "STA_PFS_NUM", "unknown doctor (not in DA_PRA_R)")
    rate = decl.DECL_RATE
    _refuse_first(backend, decl, (rate > 1) | (rate < 0), "DECL_RATE",
                  "rate outside [0, 1] (given as a percentage? rates are fractions, e.g. 0.845)")
    _refuse_first(backend, decl, decl.DECL_NUM > decl.DECL_DEN, "DECL_NUM", "numerator above denominator")
    _refuse_first(backend, decl, (decl.DECL_NUM < 0) | (decl.DECL_DEN < 0), "DECL_NUM", "negative count")
