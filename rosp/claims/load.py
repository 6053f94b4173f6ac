"""Load an SNDS-shaped extract into DuckDB, validate it and build the clean views.

All heavy work runs in DuckDB: Parquet files are scanned in place, checks are SQL,
and only counts come back to Python. See docs/data-model.md.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir

from rosp.claims.errors import MissingTableError
from rosp.claims.schema import TABLES, TableSchema
from rosp.claims.validate import (
    DUCKDB_TYPES,
    check_columns,
    check_rows_sql,
    check_types,
    has_duplicate_keys,
    period_bounds,
    q,
    typed_select,
)
from rosp.claims.views import DCIR_KEY_SQL, VIEWS, build_views

log = logging.getLogger(__name__)

_EXTENSIONS = (".parquet", ".csv")


@dataclass
class TableReport:
    """Row accounting for one raw table: ``rows_read == rows_kept + rows_rejected``."""

    table: str
    files: list[str]
    rows_read: int
    rows_kept: int
    rejected: dict[str, int]
    #: kept rows that are DPN_QLF = 71 information lines (or detail lines of one):
    #: expected, excluded from the clean views, not rejects.
    information_lines: int = 0

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass
class LoadReport:
    """Counts per raw table and per clean view, for the run manifest."""

    year: int
    period: tuple[date, date]
    tables: dict[str, TableReport] = field(default_factory=dict)
    views: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "period": [d.isoformat() for d in self.period],
            "tables": {
                name: {
                    "files": t.files,
                    "rows_read": t.rows_read,
                    "rows_kept": t.rows_kept,
                    "rows_rejected": t.rows_rejected,
                    "rejected_by_reason": dict(t.rejected),
                    "information_lines": t.information_lines,
                }
                for name, t in self.tables.items()
            },
            "views": self.views,
        }


@dataclass
class Claims:
    """A validated extract: clean views on an Ibis DuckDB connection."""

    con: Any  # ibis DuckDB backend
    year: int
    period: tuple[date, date]
    input_files: dict[str, str]
    report: LoadReport

    def view(self, name: str) -> ir.Table:
        """The clean view ``name`` (see docs/architecture.md) as an Ibis table."""
        if name not in VIEWS:
            raise KeyError(f"unknown clean view {name!r}; available: {', '.join(VIEWS)}")
        return self.con.table(name)

    def table(self, name: str) -> ir.Table:
        """The kept rows of raw SNDS table ``name`` (plus ``_file``, ``_row``), for audits."""
        if name not in TABLES:
            raise KeyError(f"unknown SNDS table {name!r}")
        return self.con.table(name)

    @property
    def duckdb(self) -> duckdb.DuckDBPyConnection:
        return self.con.con


def find_files(data_dir: Path, schema: TableSchema) -> list[Path]:
    """Files holding ``schema``'s table: ``<NAME>.parquet|csv``; PMSI also ``T_MCO18B`` etc."""
    exact = [data_dir / f"{schema.name}{ext}" for ext in _EXTENSIONS]
    found = [p for p in exact if p.is_file()]
    if schema.name.startswith("T_MCOaa"):
        # Year-suffixed PMSI tables (one per year in SNDS) are stacked.
        pattern = re.compile(rf"T_MCO\d\d{schema.name[-1]}\.(parquet|csv)", re.IGNORECASE)
        found += sorted(p for p in data_dir.iterdir() if pattern.fullmatch(p.name))
    parquet_stems = {p.stem for p in found if p.suffix.lower() == ".parquet"}
    # A table given both as Parquet and CSV is read once, from the Parquet file.
    return [p for p in found if p.suffix.lower() == ".parquet" or p.stem not in parquet_stems]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source_sql(con: duckdb.DuckDBPyConnection, path: Path, index: int) -> str:
    """SQL for the file's rows with ``_file`` (name) and ``_row`` (1-based data row)."""
    if path.suffix.lower() == ".parquet":
        return (
            f"SELECT * EXCLUDE (file_row_number), {_lit(path.name)} AS _file, file_row_number + 1 AS _row "
            f"FROM read_parquet({_lit(str(path))}, file_row_number = true)"
        )
    # CSV: read as text (types are checked explicitly) into a table whose rowid
    # follows file order, to number rows.
    staging = f"_rosp_csv_{index}"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {staging} AS "
        f"SELECT * FROM read_csv({_lit(str(path))}, header = true, all_varchar = true)"
    )
    return f"SELECT *, {_lit(path.name)} AS _file, rowid + 1 AS _row FROM {staging}"


def _empty_sql(schema: TableSchema) -> str:
    cols = ", ".join(f"CAST(NULL AS {DUCKDB_TYPES[c.type]}) AS {q(c.name)}" for c in schema.columns)
    return f"SELECT {cols}, CAST(NULL AS VARCHAR) AS _file, CAST(NULL AS BIGINT) AS _row LIMIT 0"


def _wrap(con: Any) -> tuple[duckdb.DuckDBPyConnection, Any]:
    if con is None:
        raw = duckdb.connect()
        return raw, ibis.duckdb.from_connection(raw)
    if isinstance(con, duckdb.DuckDBPyConnection):
        return con, ibis.duckdb.from_connection(con)
    return con.con, con  # already an ibis DuckDB backend


def load_claims(
    data_dir: str | Path,
    year: int,
    rejects_dir: str | Path | None = None,
    con: Any = None,
    period: tuple[date, date] | None = None,
) -> Claims:
    """Validate the extract in ``data_dir`` and build the clean views for study ``year``.

    ``data_dir`` holds one file per table of :data:`rosp.claims.schema.TABLES`
    (``<TABLE>.parquet`` or ``.csv``). Structural problems raise
    :class:`~rosp.claims.errors.ClaimsError`; row-level problems send the row to
    ``rejects_dir/<TABLE>.parquet`` (original columns + ``_file``, ``_row``, ``_reason``)
    and are counted in ``claims.report``. ``con`` may be a DuckDB connection (e.g.
    file-backed, for extracts larger than memory) or an Ibis DuckDB backend.
    ``period`` overrides :func:`~rosp.claims.validate.period_bounds`.
    """
    data_dir = Path(data_dir)
    period = period or period_bounds(year)
    raw, backend = _wrap(con)
    # Row order inside DuckDB is never relied on (every output is sorted explicitly):
    # letting DuckDB drop it saves memory and time on the large fact tables.
    raw.execute("SET preserve_insertion_order = false")
    report = LoadReport(year=year, period=period)
    input_files: dict[str, str] = {}
    loaded: set[str] = set()

    for name, schema in TABLES.items():
        files = find_files(data_dir, schema)
        if not files and schema.required:
            raise MissingTableError(
                f"required table {name} not found in the data directory", file=f"{name}.parquet"
            )
        for path in files:
            input_files[str(path)] = sha256(path)
        started = time.perf_counter()
        report.tables[name] = _load_table(raw, schema, files, period, loaded, rejects_dir)
        loaded.add(name)
        t = report.tables[name]
        log.info(
            "%s: %d rows read, %d kept (%.1fs)",
            name,
            t.rows_read,
            t.rows_kept,
            time.perf_counter() - started,
        )
        if t.rejected:
            log.warning(
                "%s: %d of %d rows rejected %s", name, t.rows_rejected, t.rows_read, t.rejected
            )

    _count_information_lines(raw, report)
    for name in TABLES:
        raw.execute(f"DROP TABLE IF EXISTS {q('_rej_' + name)}")
    report.views = build_views(raw)
    return Claims(backend, year, period, input_files, report)


def _load_table(
    raw: duckdb.DuckDBPyConnection,
    schema: TableSchema,
    files: list[Path],
    period: tuple[date, date],
    loaded: set[str],
    rejects_dir: str | Path | None,
) -> TableReport:
    """Check one table: kept rows -> table ``<NAME>``, rejects -> temp table ``_rej_<NAME>``."""
    name, rej = schema.name, q("_rej_" + schema.name)
    parts = []
    for i, path in enumerate(files):
        source = _source_sql(raw, path, i)
        types = check_columns(raw, source, schema, path.name)
        check_types(raw, source, schema, types, path.name)
        parts.append(typed_select(schema, source))
    typed = " UNION ALL ".join(parts) if parts else _empty_sql(schema)
    checked = check_rows_sql(schema, typed, period, loaded, has_duplicate_keys(raw, schema, typed))
    raw.execute(f"CREATE OR REPLACE TABLE {q(name)} AS {checked}")
    # Split in place (no second copy of a large fact table): rejects are few.
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {rej} AS SELECT * FROM {q(name)} WHERE _reason IS NOT NULL"
    )
    raw.execute(f"DELETE FROM {q(name)} WHERE _reason IS NOT NULL")
    raw.execute(f"ALTER TABLE {q(name)} DROP COLUMN _reason")
    for i in range(len(files)):
        raw.execute(f"DROP TABLE IF EXISTS _rosp_csv_{i}")
    rejected = dict(
        raw.execute(f"SELECT _reason, count(*) FROM {rej} GROUP BY 1 ORDER BY 1").fetchall()
    )
    (kept,) = raw.execute(f"SELECT count(*) FROM {q(name)}").fetchall()[0]
    if rejects_dir is not None:
        target = Path(rejects_dir) / f"{name}.parquet"
        target.unlink(missing_ok=True)  # no stale rejects from an earlier run
        if rejected:
            target.parent.mkdir(parents=True, exist_ok=True)
            raw.execute(
                f"COPY (SELECT * FROM {rej} ORDER BY _file, _row) "
                f"TO {_lit(str(target))} (FORMAT parquet)"
            )
    return TableReport(name, [p.name for p in files], kept + sum(rejected.values()), kept, rejected)


def _count_information_lines(raw: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    info = "SELECT * FROM ER_PRS_F WHERE DPN_QLF = 71"
    report.tables["ER_PRS_F"].information_lines = raw.execute(
        f"SELECT count(*) FROM ({info})"
    ).fetchall()[0][0]
    for detail in ("ER_PHA_F", "ER_BIO_F", "ER_CAM_F"):
        report.tables[detail].information_lines = raw.execute(
            f"SELECT count(*) FROM {detail} SEMI JOIN ({info}) p USING ({DCIR_KEY_SQL})"
        ).fetchall()[0][0]
