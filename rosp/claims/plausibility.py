"""Plausibility of an SNDS extract: what cannot be true is refused, what is unlikely
is announced. Run on the files, in DuckDB, before the load (`rosp run`).

Refused (`PlausibilityError`, naming file, row, column):
- beneficiaries born after the study period, born in month 0 or 13, dead before birth;
- no claim at all (every DCIR fact table empty), an empty doctor register, no claim
  dated in the payment year N;
- a patient pseudonym used as a doctor number in the médecin traitant declarations;
- `ROSP_DECL`: a rate above 1 (a percentage), a numerator above the denominator,
  an indicator the catalogue does not know, a doctor the register does not know
  (the same rules as `rosp score`).
Warned: médecin traitant declarations that point to no known doctor (counted).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from rosp.claims.validate import _DATE_TEXT, SENTINEL_DATE, SENTINEL_YEAR
from rosp.errors import RospError


class PlausibilityError(RospError):
    """An extract that cannot be true."""


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(paths: list[Path]) -> str:
    parts = []
    for p in paths:
        if p.suffix.lower() == ".parquet":
            parts.append(
                f"SELECT *, {_lit(p.name)} AS _file, file_row_number + 1 AS _row "
                f"FROM read_parquet({_lit(str(p))}, file_row_number = true)"
            )
        else:  # in its detected dialect (UTF-8 or Latin-1, ',' or ';'), as the loader reads it
            from rosp.io.textcsv import detect_dialect

            d = detect_dialect(p)
            parts.append(
                f"SELECT *, {_lit(p.name)} AS _file, row_number() OVER () AS _row "
                f"FROM read_csv({_lit(str(p))}, header = true, all_varchar = true, "
                f"delim = {_lit(d.delimiter)}, quote = '\"', encoding = {_lit(d.encoding)})"
            )
    return " UNION ALL BY NAME ".join(parts)


class _Extract:
    def __init__(self, tables: dict[str, list[Path]]):
        self.tables = tables
        self.con = duckdb.connect()

    def has(self, table: str, *columns: str) -> bool:
        if table not in self.tables:
            return False
        cols = {r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM ({_source(self.tables[table])})").fetchall()}
        return all(c in cols for c in columns)

    def rel(self, table: str) -> str:
        return f"({_source(self.tables[table])})"

    def first(self, sql: str) -> tuple | None:
        return self.con.execute(sql).fetchone()


def _refuse_first(x: _Extract, table: str, where: str, column: str, reason: str) -> None:
    row = x.first(
        f"SELECT _file, _row, count(*) OVER () FROM {x.rel(table)} WHERE {where} ORDER BY _file, _row LIMIT 1"
    )
    if row:
        raise PlausibilityError(f"{reason} ({row[2]} such rows)", file=row[0], row=int(row[1]), column=column)


def check_extract(tables: dict[str, list[Path]], year: int, catalogue_indicators: set[str]) -> list[str]:
    """Raise on what cannot be true; return the warnings."""
    warnings: list[str] = []
    x = _Extract(tables)
    try:
        _beneficiaries(x, year)
        _emptiness(x, year)
        _mt(x, warnings)
        _declarations(x, catalogue_indicators)
    finally:
        x.con.close()
    return warnings


def _date(col: str) -> str:
    """A date column of Parquet or CSV (ISO, yyyymmdd or SAS datetime text), as the loader reads it."""
    return _DATE_TEXT.format(t=f"nullif(trim(CAST({col} AS VARCHAR)), '')")


def _int(col: str) -> str:
    return f"TRY_CAST({col} AS BIGINT)"


def _beneficiaries(x: _Extract, year: int) -> None:
    if not x.has("IR_BEN_R", "BEN_NAI_ANN", "BEN_NAI_MOI"):
        return
    _refuse_first(x, "IR_BEN_R", f"{_int('BEN_NAI_MOI')} NOT BETWEEN 1 AND 12", "BEN_NAI_MOI",
                  "impossible birth month (expected 1 to 12)")
    _refuse_first(x, "IR_BEN_R", f"{_int('BEN_NAI_ANN')} > {year + 1}", "BEN_NAI_ANN",
                  f"birth in the future (after the study period of year {year})")
    # 1600 is the SNDS placeholder of an unknown year or date (rosp.claims.validate.sentinel_predicate)
    _refuse_first(x, "IR_BEN_R", f"{_int('BEN_NAI_ANN')} < 1880 AND {_int('BEN_NAI_ANN')} <> {SENTINEL_YEAR}",
                  "BEN_NAI_ANN", "impossible birth year (before 1880)")
    if x.has("IR_BEN_R", "BEN_DCD_DTE"):
        _refuse_first(
            x, "IR_BEN_R",
            f"{_date('BEN_DCD_DTE')} < make_date({_int('BEN_NAI_ANN')}::INT, {_int('BEN_NAI_MOI')}::INT, 1)"
            f" AND {_int('BEN_NAI_MOI')} BETWEEN 1 AND 12"
            f" AND {_date('BEN_DCD_DTE')} <> DATE '{SENTINEL_DATE.isoformat()}'"
            f" AND {_int('BEN_NAI_ANN')} <> {SENTINEL_YEAR}",
            "BEN_DCD_DTE", "death before birth",
        )


def _count(x: _Extract, table: str) -> int:
    return int(x.first(f"SELECT count(*) FROM {x.rel(table)}")[0]) if table in x.tables else 0


def _emptiness(x: _Extract, year: int) -> None:
    facts = ("ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "ER_CAM_F")
    if all(_count(x, t) == 0 for t in facts if t in x.tables) and any(t in x.tables for t in facts):
        raise PlausibilityError("every DCIR fact table (ER_PRS_F, ER_PHA_F, ER_BIO_F, ER_CAM_F) is empty: no claim",
                                file="ER_PRS_F")
    if "DA_PRA_R" in x.tables and _count(x, "DA_PRA_R") == 0:
        raise PlausibilityError("the doctor register is empty (no doctor)", file=x.tables["DA_PRA_R"][0].name)
    if x.has("ER_PRS_F", "EXE_SOI_DTD"):
        span = x.first(
            f"SELECT min({_date('EXE_SOI_DTD')}), max({_date('EXE_SOI_DTD')}), "
            f"count(*) FILTER (WHERE year({_date('EXE_SOI_DTD')}) = {year}) FROM {x.rel('ER_PRS_F')}"
        )
        if span and span[0] is not None and span[2] == 0:
            raise PlausibilityError(
                f"no claim dated in the payment year {year} (claims run from {span[0]} to {span[1]}): "
                "check --year or the extract",
                file=x.tables["ER_PRS_F"][0].name, column="EXE_SOI_DTD",
            )


def _mt(x: _Extract, warnings: list[str]) -> None:
    if not x.has("IR_MTT_R", "MTT_PFS_NUM"):
        return
    if x.has("IR_BEN_R", "BEN_NIR_PSA", "BEN_IDT_ANO"):
        _refuse_first(
            x, "IR_MTT_R",
            f"MTT_PFS_NUM IN (SELECT BEN_NIR_PSA FROM {x.rel('IR_BEN_R')} "
            f"UNION SELECT BEN_IDT_ANO FROM {x.rel('IR_BEN_R')})",
            "MTT_PFS_NUM", "a patient pseudonym is used as the doctor number (columns swapped?)",
        )
    if x.has("DA_PRA_R", "PFS_PFS_NUM"):
        n, total = x.first(
            f"SELECT count(*) FILTER (WHERE MTT_PFS_NUM NOT IN (SELECT PFS_PFS_NUM FROM {x.rel('DA_PRA_R')})), "
            f"count(*) FROM {x.rel('IR_MTT_R')}"
        )
        if n:
            warnings.append(
                f"IR_MTT_R: {n} of {total} médecin traitant declarations point to no doctor of DA_PRA_R "
                "(these patients count in no médecin traitant patientèle)"
            )


def _declarations(x: _Extract, known: set[str]) -> None:
    if not x.has("ROSP_DECL", "STA_PFS_NUM", "INDICATOR_ID"):
        return
    if known:
        ids = ", ".join(_lit(i) for i in sorted(known))
        _refuse_first(x, "ROSP_DECL", f"INDICATOR_ID NOT IN ({ids})", "INDICATOR_ID",
                      "unknown indicator for this year")
    if x.has("DA_PRA_R", "STA_PFS_NUM"):
        _refuse_first(x, "ROSP_DECL", f"STA_PFS_NUM NOT IN (SELECT STA_PFS_NUM FROM {x.rel('DA_PRA_R')})",
                      "STA_PFS_NUM", "unknown doctor (not in DA_PRA_R)")
    if x.has("ROSP_DECL", "DECL_RATE"):
        _refuse_first(x, "ROSP_DECL", "TRY_CAST(DECL_RATE AS DOUBLE) > 1 OR TRY_CAST(DECL_RATE AS DOUBLE) < 0",
                      "DECL_RATE", "rate outside [0, 1] (given as a percentage? rates are fractions, e.g. 0.845)")
    if x.has("ROSP_DECL", "DECL_NUM", "DECL_DEN"):
        _refuse_first(x, "ROSP_DECL", f"{_int('DECL_NUM')} > {_int('DECL_DEN')}", "DECL_NUM",
                      "numerator above denominator")
        _refuse_first(x, "ROSP_DECL", f"{_int('DECL_NUM')} < 0 OR {_int('DECL_DEN')} < 0", "DECL_NUM",
                      "negative count")
