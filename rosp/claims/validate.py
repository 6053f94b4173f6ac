"""Validation rules for raw SNDS tables, run as SQL inside DuckDB.

Two classes of problems (docs/data-model.md, "Validation"):

* **structural -> fatal** (:class:`~rosp.claims.errors.ClaimsError` is raised): a
  required table has no file, a declared column is missing, a column cannot be
  read as its declared type. Nothing sensible can be computed from such a file.
* **row-level -> rejected**: a null in a non-nullable column, a care date outside
  the study period, a reference to a missing or rejected parent row (broken
  foreign key, unknown beneficiary, unknown CIP13), a duplicate primary key. The
  row goes to ``rejects_dir/<TABLE>.parquet`` with a ``_reason`` code and is
  counted; the load goes on.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from rosp.claims.errors import PATIENT_ID_COLUMNS, ColumnTypeError, MissingColumnError
from rosp.claims.schema import BENEFICIARY_KEY, TABLES, TableSchema

# Study period. ROSP windows are "12 / 24 mois glissants" ending at 31/12/N and some
# indicators look further back for history, hence 3 years before N; DCIR is loaded
# by flow month and a care year needs ~6 more months of flows (indicators.md §a.4,
# "Flux lag"; [I] for the exact bounds). Parameters, not facts.
HISTORY_YEARS = 3
FLOW_LAG_END = (6, 30)  # (month, day) of year N+1: last care date accepted


def period_bounds(year: int) -> tuple[date, date]:
    """Care dates accepted for study year ``year``: 1 Jan N-3 to 30 Jun N+1 (inclusive)."""
    return date(year - HISTORY_YEARS, 1, 1), date(year + 1, *FLOW_LAG_END)


# Extra row-level references beyond the schema's declared foreign keys: without
# them a kept row could not be mapped to a patient or a drug in the clean views.
EXTRA_REFERENCES: dict[str, tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]] = {
    "ER_PRS_F": ((BENEFICIARY_KEY, "IR_BEN_R", BENEFICIARY_KEY),),
    "ER_PHA_F": ((("PHA_PRS_C13",), "IR_PHA_R", ("PHA_CIP_C13",)),),
    "T_MCOaaC": ((("NIR_ANO_17",), "IR_BEN_R", ("BEN_NIR_PSA",)),),
    "T_MCOaaD": ((("ETA_NUM", "RSA_NUM"), "T_MCOaaC", ("ETA_NUM", "RSA_NUM")),),
    "T_MCOaaA": ((("ETA_NUM", "RSA_NUM"), "T_MCOaaC", ("ETA_NUM", "RSA_NUM")),),
}

# Reason codes for a missing parent, where a plainer name helps the reader.
_MISSING_PARENT_REASON = {"IR_BEN_R": "unknown_beneficiary", "IR_PHA_R": "unknown_cip13"}

DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
}

_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def references(schema: TableSchema) -> tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]:
    """Declared foreign keys plus :data:`EXTRA_REFERENCES`, in checking order."""
    return schema.foreign_keys + EXTRA_REFERENCES.get(schema.name, ())


def missing_parent_reason(parent: str) -> str:
    return _MISSING_PARENT_REASON.get(parent, f"missing_parent:{parent}")


# ---------------------------------------------------------------- structural checks


def check_columns(
    con: duckdb.DuckDBPyConnection, source_sql: str, schema: TableSchema, file: str
) -> dict[str, str]:
    """Raise :class:`MissingColumnError` for the first declared column absent from the file.

    Returns the source DuckDB type of each declared column (names compared case-insensitively,
    as DuckDB does).
    """
    described = con.execute(f"DESCRIBE SELECT * FROM ({source_sql})").fetchall()
    found = {name.upper(): dtype for name, dtype, *_ in described}
    for column in schema.names:
        if column.upper() not in found:
            raise MissingColumnError("column is missing", file=file, column=column)
    return {c: found[c.upper()] for c in schema.names}


def _bad_value_predicate(column: str, source: str, target: pa.DataType) -> str | None:
    """SQL predicate true on a non-null value that cannot be read as ``target``.

    ``None`` when the source type already is the target. Integers must not lose a
    fraction and strings must stay strings (casting a number to text would drop the
    leading zeros of codes such as departments or PS numbers).
    """
    want = DUCKDB_TYPES[target]
    src = source.upper()
    c = q(column)
    if src == want:
        return None
    family = src.split("(")[0]
    if want == "VARCHAR":
        ok = "false"
    elif want == "DATE":
        ok = (
            f"TRY_CAST({c} AS DATE) IS NOT NULL"
            if family in {"VARCHAR", "DATE"} or family.startswith("TIMESTAMP")
            else "false"
        )
    elif want == "DOUBLE":
        ok = (
            f"TRY_CAST({c} AS DOUBLE) IS NOT NULL"
            if family in _INT_TYPES | _FLOAT_TYPES | {"VARCHAR", "DECIMAL"}
            else "false"
        )
    elif family in _INT_TYPES:
        ok = f"TRY_CAST({c} AS {want}) IS NOT NULL"
    elif family == "VARCHAR":
        ok = f"regexp_full_match(trim({c}), '[+-]?[0-9]+') AND TRY_CAST(trim({c}) AS {want}) IS NOT NULL"
    elif family in _FLOAT_TYPES | {"DECIMAL"}:
        ok = f"TRY_CAST({c} AS {want}) IS NOT NULL AND TRY_CAST({c} AS {want}) = {c}"
    else:
        ok = "false"
    return f"({c} IS NOT NULL AND NOT coalesce({ok}, false))"


def check_types(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    schema: TableSchema,
    source_types: dict[str, str],
    file: str,
) -> None:
    """Raise :class:`ColumnTypeError` at the first row holding a value of the wrong type.

    One scan of the file for all the columns whose source type differs from the
    declared one; a file already written with the declared types is not scanned.
    """
    predicates = {
        c: p
        for c in schema.names
        if (p := _bad_value_predicate(c, source_types[c], schema.column(c).type)) is not None
    }
    if not predicates:
        return
    select = ", ".join(f"min(CASE WHEN {p} THEN _row END)" for p in predicates.values())
    firsts = con.execute(f"SELECT {select} FROM ({source_sql})").fetchall()[0]
    bad = [
        (row, i, c)
        for i, (c, row) in enumerate(zip(predicates, firsts, strict=True))
        if row is not None
    ]
    if not bad:
        return
    row, _, column = min(bad)
    want = schema.column(column).type
    reason = f"cannot be read as {want} (file type {source_types[column]})"
    if column not in PATIENT_ID_COLUMNS:
        (value,) = con.execute(
            f"SELECT CAST({q(column)} AS VARCHAR) FROM ({source_sql}) WHERE _row = {row}"
        ).fetchall()[0]
        reason = f"value {value!r} " + reason
    raise ColumnTypeError(reason, file=file, row=row, column=column)


# ---------------------------------------------------------------- row-level checks


def has_duplicate_keys(con, schema: TableSchema, typed_sql: str) -> bool:
    """Whether any primary key value occurs twice (a hash aggregate, no sort)."""
    if not schema.primary_key:
        return False
    pk = ", ".join(q(c) for c in schema.primary_key)
    sql = f"SELECT 1 FROM ({typed_sql}) GROUP BY {pk} HAVING count(*) > 1 LIMIT 1"
    return bool(con.execute(sql).fetchall())


def typed_select(schema: TableSchema, source_sql: str) -> str:
    """SELECT casting every declared column to its type, keeping ``_file`` and ``_row``."""
    cols = [f"CAST({q(c.name)} AS {DUCKDB_TYPES[c.type]}) AS {q(c.name)}" for c in schema.columns]
    return f"SELECT {', '.join(cols)}, _file, _row FROM ({source_sql})"


def check_rows_sql(
    schema: TableSchema,
    typed_sql: str,
    period: tuple[date, date],
    kept_tables: set[str],
    has_duplicates: bool = True,
) -> str:
    """SQL returning the typed rows plus a ``_reason`` code (NULL = row kept).

    ``has_duplicates=False`` (the caller checked that no primary key repeats)
    skips the window that ranks duplicates, the costliest part on fact tables.

    Rules, first match wins: null in a non-nullable column, care date outside the
    period, missing/rejected parent for each reference, then duplicate primary key
    (the first valid occurrence in file order is kept).
    ``kept_tables`` lists parent tables already loaded (kept rows in ``<T>``,
    rejected rows in ``_rej_<T>``).
    """
    cases: list[str] = []
    joins: list[str] = []
    for c in schema.columns:
        if not c.nullable:
            cases.append(f"WHEN s.{q(c.name)} IS NULL THEN 'null:{c.name}'")
    lo, hi = period
    for c in schema.period_dates:
        cases.append(
            f"WHEN s.{q(c)} < DATE '{lo.isoformat()}' OR s.{q(c)} > DATE '{hi.isoformat()}' "
            f"THEN 'date_out_of_period:{c}'"
        )
    for i, (local, parent, remote) in enumerate(references(schema)):
        if parent not in kept_tables:
            raise RuntimeError(f"{schema.name} references {parent}, which is not loaded yet")
        on_ok = " AND ".join(f"s.{q(a)} = k{i}.{q(b)}" for a, b in zip(local, remote, strict=True))
        on_rej = " AND ".join(f"s.{q(a)} = r{i}.{q(b)}" for a, b in zip(local, remote, strict=True))
        cols = ", ".join(q(b) for b in remote)
        # Kept rows are unique on their primary key: no DISTINCT needed to join on it.
        distinct = "" if tuple(remote) == TABLES[parent].primary_key else "DISTINCT "
        joins.append(
            f"LEFT JOIN (SELECT {distinct}{cols}, true AS _hit FROM {q(parent)}) k{i} ON {on_ok}"
        )
        joins.append(
            f"LEFT JOIN (SELECT DISTINCT {cols}, true AS _hit FROM {q('_rej_' + parent)}) r{i} ON {on_rej}"
        )
        cases.append(
            f"WHEN k{i}._hit IS NULL AND r{i}._hit IS NULL THEN '{missing_parent_reason(parent)}'"
        )
        cases.append(f"WHEN k{i}._hit IS NULL THEN 'parent_rejected:{parent}'")
    reason0 = f"CASE {' '.join(cases)} END" if cases else "CAST(NULL AS VARCHAR)"
    base = f"SELECT s.*, {reason0} AS _reason0 FROM ({typed_sql}) s {' '.join(joins)}"
    if schema.primary_key and has_duplicates:
        pk = ", ".join(q(c) for c in schema.primary_key)
        dup = (
            f"CASE WHEN _reason0 IS NULL AND row_number() OVER "
            f"(PARTITION BY {pk}, _reason0 IS NULL ORDER BY _file, _row) > 1 THEN 'duplicate_key' END"
        )
    else:
        dup = "CAST(NULL AS VARCHAR)"
    return f"SELECT * EXCLUDE (_reason0), coalesce(_reason0, {dup}) AS _reason FROM ({base})"
