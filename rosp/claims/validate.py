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
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from rosp.claims.errors import PATIENT_ID_COLUMNS, ColumnTypeError, MissingColumnError
from rosp.claims.schema import BENEFICIARY_KEY, QTY, TABLES, TableSchema

_STAY = ("PMSI_ANN", "ETA_NUM", "RSA_NUM")

# Study period. ROSP windows are "12 / 24 mois glissants" ending at 31/12/N; the history
# some indicators need comes from the definitions (rosp.claims.windows), this is the
# default for a load made without them. DCIR is loaded by flow month and a care year
# needs ~6 more months of flows (indicators.md §a.4, "Flux lag"; [I] for the exact
# bounds). Parameters, not facts.
HISTORY_YEARS = 3
FLOW_LAG_END = (6, 30)  # (month, day) of year N+1: last care date accepted

#: The SNDS placeholder for "no date" (alive, open-ended, missing): 01/01/1600
#: (Documentation-SNDS essentiel_snds.md). An unknown birth year is 1600 too.
SENTINEL_DATE = date(1600, 1, 1)
SENTINEL_YEAR = 1600
#: integer columns holding a year, where 1600 means unknown
YEAR_COLUMNS = frozenset({"BEN_NAI_ANN"})


def period_bounds(year: int, history_years: int = HISTORY_YEARS) -> tuple[date, date]:
    """Care dates accepted for study year ``year``: 1 Jan N-3 to 30 Jun N+1 (inclusive)."""
    return date(year - history_years, 1, 1), date(year + 1, *FLOW_LAG_END)


# Extra row-level references beyond the schema's declared foreign keys: without
# them a kept row could not be mapped to a patient or a drug in the clean views.
EXTRA_REFERENCES: dict[str, tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]] = {
    "ER_PRS_F": ((BENEFICIARY_KEY, "IR_BEN_R", BENEFICIARY_KEY),),
    "ER_PHA_F": ((("PHA_PRS_C13",), "IR_PHA_R", ("PHA_CIP_C13",)),),
    "T_MCOaaC": ((("NIR_ANO_17",), "IR_BEN_R", ("BEN_NIR_PSA",)),),
    "T_MCOaaD": ((_STAY, "T_MCOaaC", _STAY),),
    "T_MCOaaA": ((_STAY, "T_MCOaaC", _STAY),),
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
    QTY: f"DECIMAL({QTY.precision},{QTY.scale})",
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
) -> dict[str, str | None]:
    """Raise :class:`MissingColumnError` for the first required column absent from the file.

    Returns the source DuckDB type of each declared file column (names compared
    case-insensitively, as DuckDB does); ``None`` for an absent optional column.
    """
    described = con.execute(f"DESCRIBE SELECT * FROM ({source_sql})").fetchall()
    found = {name.upper(): dtype for name, dtype, *_ in described}
    types: dict[str, str | None] = {}
    for column in schema.file_columns:
        if column.name.upper() in found:
            types[column.name] = found[column.name.upper()]
        elif column.optional:
            types[column.name] = None
        else:
            raise MissingColumnError("column is missing", file=file, column=column.name)
    return types


_DATE_TEXT = (
    # ISO (2018-05-02, 2018-05-02 00:00:00), yyyymmdd (PFS_INS_DSD), SAS DATE9 and
    # DATETIME18 text as exported from the portal (02MAY2018, 02MAY2018:00:00:00)
    "CASE WHEN regexp_full_match({t}, '[0-9]{{8}}') THEN try_strptime({t}, '%Y%m%d')::DATE "
    "WHEN regexp_full_match({t}, '[0-9]{{1,2}}[A-Za-z]{{3}}[0-9]{{4}}(:[0-9:.]+)?') "
    "THEN try_strptime(upper(split_part({t}, ':', 1)), '%d%b%Y')::DATE "
    "ELSE TRY_CAST({t} AS DATE) END"
)


def convert_expr(column: str, source: str, target: pa.DataType, pad: int | None = None) -> str:
    """SQL reading ``column`` (DuckDB type ``source``) as ``target``; NULL where it cannot.

    The unambiguous coercions (docs/data-model.md, "Types"): blank text is NULL; digits
    in text are integers; decimal text (point or comma) is a decimal; yyyymmdd, ISO and
    SAS date/datetime text are dates; timestamps are dates; a numeric identifier with a
    known length (``pad``: ETA_NUM, RSA_NUM) is text left-padded with zeros; a boolean
    return code is '1'/'0'. Anything else (a number where a code must keep its leading
    zeros, a fraction in an integer, free text in a number) is NULL, i.e. refused.
    """
    want = DUCKDB_TYPES[target]
    src = source.upper()
    family = src.split("(")[0]
    c = q(column)
    t = f"nullif(trim({c}), '')"
    if src == want:
        return c
    if want == "VARCHAR":
        if family in _INT_TYPES and pad:
            return f"lpad(CAST({c} AS VARCHAR), {pad}, '0')"
        if family == "BOOLEAN":
            return f"CASE WHEN {c} THEN '1' ELSE '0' END"
        return "CAST(NULL AS VARCHAR)"
    if want == "DATE":
        if family == "VARCHAR":
            return _DATE_TEXT.format(t=t)
        if family == "DATE" or family.startswith("TIMESTAMP"):
            return f"CAST({c} AS DATE)"
        if family in _INT_TYPES:
            return f"try_strptime(CAST({c} AS VARCHAR), '%Y%m%d')::DATE"
        return "CAST(NULL AS DATE)"
    if want.startswith("DECIMAL"):
        if family == "VARCHAR":
            t = f"replace({t}, ',', '.')"
            return (
                f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+([.][0-9]+)?') "
                f"AND TRY_CAST({t} AS DOUBLE) = TRY_CAST({t} AS {want})::DOUBLE "
                f"THEN TRY_CAST({t} AS {want}) END"
            )
        if family in _INT_TYPES:
            return f"TRY_CAST({c} AS {want})"
        if family in _FLOAT_TYPES | {"DECIMAL"}:
            return f"CASE WHEN TRY_CAST({c} AS {want})::DOUBLE = {c}::DOUBLE THEN TRY_CAST({c} AS {want}) END"
        return f"CAST(NULL AS {want})"
    if want == "DOUBLE":
        if family in _INT_TYPES | _FLOAT_TYPES | {"DECIMAL"}:
            return f"TRY_CAST({c} AS DOUBLE)"
        if family == "VARCHAR":
            return f"TRY_CAST(replace({t}, ',', '.') AS DOUBLE)"
        return "CAST(NULL AS DOUBLE)"
    # integers
    if family in _INT_TYPES:
        return f"TRY_CAST({c} AS {want})"
    if family == "VARCHAR":
        return f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN TRY_CAST({t} AS {want}) END"
    if family in _FLOAT_TYPES | {"DECIMAL"}:
        return f"CASE WHEN TRY_CAST({c} AS {want}) = {c} THEN TRY_CAST({c} AS {want}) END"
    return f"CAST(NULL AS {want})"


def sentinel_predicate(schema: TableSchema, column: str, value_sql: str) -> str | None:
    """True where a converted value is the SNDS placeholder 01/01/1600 (or year 1600).

    One rule: a *nullable* date column (death, end of ALD or MT, ...) or a year column
    reads the placeholder as NULL; in a non-nullable date the placeholder also becomes
    NULL, and the row is then rejected as ``null:<COL>``.
    """
    col = schema.column(column)
    if col.type == pa.date32():
        return f"({value_sql}) = DATE '{SENTINEL_DATE.isoformat()}'"
    if column in YEAR_COLUMNS:
        return f"({value_sql}) = {SENTINEL_YEAR}"
    return None


def _value_class(value: str) -> str:
    v = value.strip()
    if not v:
        return "blank"
    if v.lstrip("+-").isdigit():
        return "integer"
    if v.lstrip("+-").replace(".", "", 1).replace(",", "", 1).isdigit():
        return "decimal number"
    if any(ch.isdigit() for ch in v) and any(ch in "-/:" for ch in v):
        return "date-like text"
    return "text"


def check_types(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    schema: TableSchema,
    source_types: dict[str, str | None],
    file: str,
) -> dict[str, dict[str, int | str]]:
    """Raise :class:`ColumnTypeError` at the first row holding a value that cannot be read.

    One scan of the file for the columns whose source type differs from the declared
    one and for the date columns (placeholder dates). Returns, per column, what was
    done: ``{"from": type, "to": type, "coerced": n, "blank": n, "sentinel": n}``
    (only non-zero entries), for the load report.
    """
    bad: dict[str, str] = {}
    stats: dict[str, str] = {}
    for col in schema.file_columns:
        src = source_types[col.name]
        if src is None:
            continue
        conv = convert_expr(col.name, src, col.type, col.pad)
        c = q(col.name)
        if src.upper() != DUCKDB_TYPES[col.type]:
            blank = f"trim(CAST({c} AS VARCHAR)) = ''" if src.upper() == "VARCHAR" else "false"
            bad[col.name] = f"({c} IS NOT NULL AND NOT ({blank}) AND ({conv}) IS NULL)"
            stats[f"{col.name}\x00coerced"] = f"count(*) FILTER (WHERE ({conv}) IS NOT NULL)"
            if src.upper() == "VARCHAR":
                stats[f"{col.name}\x00blank"] = f"count(*) FILTER (WHERE {blank})"
        sentinel = sentinel_predicate(schema, col.name, conv)
        if sentinel is not None:
            stats[f"{col.name}\x00sentinel"] = f"count(*) FILTER (WHERE {sentinel})"
    if not bad and not stats:
        return {}
    select = [f"min(CASE WHEN {p} THEN _row END)" for p in bad.values()] + list(stats.values())
    result = con.execute(f"SELECT {', '.join(select)} FROM ({source_sql})").fetchall()[0]
    firsts, counts = result[: len(bad)], result[len(bad) :]
    offending = [(row, c) for c, row in zip(bad, firsts, strict=True) if row is not None]
    if offending:
        row, column = min(offending)
        want = schema.column(column).type
        (value,) = con.execute(
            f"SELECT CAST({q(column)} AS VARCHAR) FROM ({source_sql}) WHERE _row = {row}"
        ).fetchall()[0]
        reason = (
            f"{_value_class(value)} value cannot be read as {want} "
            f"(file type {source_types[column]})"
        )
        if column not in PATIENT_ID_COLUMNS:
            reason = f"value {value!r}: " + reason
        raise ColumnTypeError(reason, file=file, row=row, column=column)
    out: dict[str, dict[str, int | str]] = {}
    for key, n in zip(stats, counts, strict=True):
        column, kind = key.split("\x00")
        if n:
            entry = out.setdefault(column, {})
            if kind == "coerced":
                entry |= {"from": source_types[column], "to": DUCKDB_TYPES[schema.column(column).type]}
            entry[kind] = int(n)
    return out


# ---------------------------------------------------------------- row-level checks


def typed_select(
    schema: TableSchema, source_sql: str, source_types: dict[str, str | None] | None = None
) -> str:
    """SELECT reading every declared column as its type, keeping ``_file`` and ``_row``.

    Absent optional columns are NULL; placeholder dates (01/01/1600) and years (1600)
    are NULL (:func:`sentinel_predicate`); derived columns come from ``source_sql``.
    """
    cols = []
    for c in schema.columns:
        want = DUCKDB_TYPES[c.type]
        src = want if source_types is None or c.derived else source_types[c.name]
        if src is None:
            cols.append(f"CAST(NULL AS {want}) AS {q(c.name)}")
            continue
        value = f"CAST({convert_expr(c.name, src, c.type, c.pad)} AS {want})"
        sentinel = sentinel_predicate(schema, c.name, value) if not c.derived else None
        if sentinel is not None:
            value = f"CASE WHEN {sentinel} THEN NULL ELSE {value} END"
        cols.append(f"{value} AS {q(c.name)}")
    return f"SELECT {', '.join(cols)}, _file, _row FROM ({source_sql})"


def has_duplicate_keys(backend, schema: TableSchema, typed: ir.Table) -> bool:
    """Whether any primary key value may occur twice among the rows of ``typed`` not yet
    rejected (no ``_reason`` column: all rows).

    One hash aggregate on a single 64-bit hash of the key (a struct of the key columns,
    :meth:`~rosp.engine.backends.QueryBackend.hash64`: 64 bits on both engines), not on the
    key columns themselves: a repeated key always repeats its hash, so ``False`` is exact;
    ``True`` may rarely be a hash collision (about n² / 2⁶⁵: 3·10⁻⁶ for 10 M rows), which
    only makes the caller run the exact ranking (:func:`mark_duplicate_keys`), whose
    result is the same. With Spark's 32-bit ``hash`` the 10 M lines of ER_PRS_F always
    collided, and every large table paid the ranking and two more copies."""
    if not schema.primary_key:
        return False
    t = typed.filter(typed._reason.isnull()) if "_reason" in typed.columns else typed
    h = t.select(_h=backend.hash64(ibis.struct({k: t[k] for k in schema.primary_key})))
    g = h.group_by("_h").aggregate(_n=h.count())
    return backend.to_arrow(g.filter(g._n > 1).limit(1)).num_rows > 0


def mark_duplicate_keys(schema: TableSchema, checked: ir.Table) -> ir.Table:
    """``checked`` (typed rows + ``_reason``) with ``duplicate_key`` on every row not
    otherwise rejected whose primary key a kept row earlier in file order (``_file``,
    ``_row``) already holds: the first valid occurrence is kept."""
    ok = checked._reason.isnull()
    rn = ibis.row_number().over(
        group_by=[checked[c] for c in schema.primary_key] + [ok], order_by=[checked._file, checked._row]
    )
    dup = ibis.cases((ok & (rn > 0), "duplicate_key"), else_=ibis.null("string"))
    return checked.mutate(_reason=checked._reason.coalesce(dup))


def check_rows(
    backend,
    schema: TableSchema,
    typed: ir.Table,
    period: tuple[date, date],
    kept_tables: set[str],
    extra: list[tuple[ir.BooleanValue, str]] | None = None,
    keys: bool = True,
) -> ir.Table:
    """The typed rows plus a ``_reason`` code (NULL = row kept), as one Ibis expression,
    so every engine runs the same rules.

    Rules, first match wins: null in a non-nullable column, care date outside the
    period, the ``extra`` rules (implausible rows: :func:`rosp.claims.plausibility.row_rules`),
    missing/rejected parent for each reference, then duplicate primary key
    (the first valid occurrence in file order is kept; the ranking window runs only
    when a hash aggregate found a repeated key, :func:`has_duplicate_keys`).
    ``kept_tables`` lists parent tables already loaded (kept rows in ``<T>``,
    rejected rows in ``_rej_<T>``, both stored on ``backend``).
    ``keys=False`` leaves the duplicate keys out: the loader checks them on the stored
    table (:func:`has_duplicate_keys`, :func:`mark_duplicate_keys`) rather than on a
    second reading of the files.
    """
    cases: list[tuple[ir.BooleanValue, str]] = []
    for c in schema.columns:
        if not c.nullable:
            cases.append((typed[c.name].isnull(), f"null:{c.name}"))
    lo, hi = period
    for c in schema.period_dates:
        col = typed[c]
        cases.append(((col < ibis.date(lo)) | (col > ibis.date(hi)), f"date_out_of_period:{c}"))
    cases += extra or []  # rows that cannot be true (rosp.claims.plausibility.row_rules)
    joined: ir.Table = typed
    hits: list[tuple[ir.Table, ir.Table]] = []
    for i, (local, parent, remote) in enumerate(references(schema)):
        if parent not in kept_tables:
            raise RuntimeError(f"{schema.name} references {parent}, which is not loaded yet")
        kept_t = backend.ibis.table(parent)
        rej_t = backend.ibis.table("_rej_" + parent)
        names = {b: f"_k{i}_{n}" for n, b in enumerate(remote)}
        k = kept_t.select(**{names[b]: kept_t[b] for b in remote})
        # Kept rows are unique on their primary key: no DISTINCT needed to join on it.
        if tuple(remote) != TABLES[parent].primary_key:
            k = k.distinct()
        k = k.mutate(**{f"_khit{i}": ibis.literal(True)})
        r = rej_t.select(**{names[b]: rej_t[b] for b in remote}).distinct().mutate(**{f"_rhit{i}": ibis.literal(True)})
        hits.append((k, r))
        joined = joined.left_join(k, [typed[a] == k[names[b]] for a, b in zip(local, remote, strict=True)])
        joined = joined.left_join(r, [typed[a] == r[names[b]] for a, b in zip(local, remote, strict=True)])
    for i, ((_local, parent, _remote), (k, r)) in enumerate(zip(references(schema), hits, strict=True)):
        kh, rh = k[f"_khit{i}"], r[f"_rhit{i}"]
        cases.append((kh.isnull() & rh.isnull(), missing_parent_reason(parent)))
        cases.append((kh.isnull(), f"parent_rejected:{parent}"))
    reason0 = ibis.cases(*cases, else_=ibis.null("string")) if cases else ibis.null("string")
    base = joined.select(*[typed[c] for c in typed.columns], _reason0=reason0)
    base = base.rename(_reason="_reason0")
    if keys and schema.primary_key and has_duplicate_keys(backend, schema, typed):
        return mark_duplicate_keys(schema, base)
    return base


def rejects_schema(schema: TableSchema) -> pa.Schema:
    """Arrow schema of a rejects file: the declared columns, ``_file``, ``_row``, ``_reason``."""
    fields = [pa.field(c.name, c.type) for c in schema.columns]
    return pa.schema(fields + [pa.field("_file", pa.string()), pa.field("_row", pa.int64()),
                               pa.field("_reason", pa.string())])


def replace_sentinels(schema: TableSchema, table: ir.Table) -> tuple[ir.Table, dict[str, ir.Scalar]]:
    """Placeholder dates 01/01/1600 (and years 1600) read as NULL, in Ibis, for engines
    reading files that already carry the declared types; with the count per column."""
    counts: dict[str, ir.Scalar] = {}
    values = {}
    for c in schema.columns:
        if c.derived:
            continue
        col = table[c.name]
        if c.type == pa.date32():
            hit = col == ibis.date(SENTINEL_DATE)
        elif c.name in YEAR_COLUMNS:
            hit = col == SENTINEL_YEAR
        else:
            continue
        counts[c.name] = table.count(where=hit)
        values[c.name] = ibis.cases((hit, ibis.null(col.type())), else_=col)
    return (table.mutate(**values) if values else table), counts


