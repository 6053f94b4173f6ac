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
    check_columns,
    check_rows,
    check_types,
    has_duplicate_keys,
    mark_duplicate_keys,
    q,
    typed_select,
)
from rosp.claims.views import VIEWS, build_views
from rosp.io.textcsv import Dialect, detect_dialect

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
    #: kept rows left out of the clean views by a named SNDS data rule (information
    #: lines, majorations, hospital activity, PMSI quality, fictitious NIR...): expected,
    #: not rejects. ``rows_read == rows_used + rows_filtered + rows_rejected``.
    filtered: dict[str, int] = field(default_factory=dict)
    #: per column: coercions applied (``from``/``to``/``coerced``), blank texts read as
    #: NULL (``blank``), placeholder dates 01/01/1600 read as NULL (``sentinel``)
    coercions: dict[str, dict[str, int | str]] = field(default_factory=dict)
    #: per CSV file: the detected dialect (encoding, delimiter, decimal commas)
    dialects: dict[str, dict[str, str | bool]] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def rows_filtered(self) -> int:
        return sum(self.filtered.values())

    @property
    def rows_used(self) -> int:
        return self.rows_kept - self.rows_filtered

    @property
    def information_lines(self) -> int:
        """Kept DPN_QLF / PRS_DPN_QLP = 71 lines (or detail lines of one)."""
        return self.filtered.get("information_line", 0)

    @property
    def sentinel_dates(self) -> dict[str, int]:
        return {c: int(v["sentinel"]) for c, v in self.coercions.items() if v.get("sentinel")}


@dataclass
class LoadReport:
    """Counts per raw table and per clean view, for the run manifest."""

    year: int
    period: tuple[date, date]
    tables: dict[str, TableReport] = field(default_factory=dict)
    views: dict[str, dict[str, int]] = field(default_factory=dict)
    #: care-date bounds per table family (DCIR, PMSI), from the definitions' windows
    periods: dict[str, tuple[date, date]] = field(default_factory=dict)
    #: how PS numbers were matched across tables (rosp.claims.views.ps_number_mode)
    ps_numbers: str = ""
    #: plausibility warnings (rosp.claims.plausibility.check_loaded); in the run manifest's
    #: ``warnings``, not in its ``claims`` block
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "period": [d.isoformat() for d in self.period],
            "periods": {f: [d.isoformat() for d in p] for f, p in self.periods.items()},
            "ps_numbers": self.ps_numbers,
            "tables": {
                name: {
                    "files": t.files,
                    "rows_read": t.rows_read,
                    "rows_kept": t.rows_kept,
                    "rows_used": t.rows_used,
                    "rows_filtered": t.rows_filtered,
                    "rows_rejected": t.rows_rejected,
                    "rejected_by_reason": dict(t.rejected),
                    "filtered_by_rule": dict(t.filtered),
                    "information_lines": t.information_lines,
                    "coercions": t.coercions,
                    **({"dialects": t.dialects} if t.dialects else {}),
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
    """Files holding ``schema``'s table: ``<NAME>.parquet|csv`` plus its archives.

    Archives are the schema's ``archives`` patterns: ``IR_BEN_R_ARC``, ``ER_PRS_F_2017``,
    yearly PMSI ``T_MCO18B``... (names compared case-insensitively). All are stacked.
    """
    names = [re.escape(schema.name)] + [
        a if a.startswith("T_MCO") else re.escape(schema.name) + a for a in schema.archives
    ]
    pattern = re.compile(rf"({'|'.join(names)})\.(parquet|csv)", re.IGNORECASE)
    found = sorted(
        (p for p in data_dir.iterdir() if p.is_file() and pattern.fullmatch(p.name)),
        key=lambda p: (p.stem.upper() != schema.name, p.name.upper()),
    )
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


_PMSI_YEAR_FILE = re.compile(r"T_MCO(\d\d)[A-Z]+", re.IGNORECASE)


def pmsi_year(path: Path) -> int:
    """Year of a yearly PMSI file (``T_MCO18B`` -> 2018); 0 for a generic ``T_MCOaaB``."""
    m = _PMSI_YEAR_FILE.fullmatch(path.stem)
    return 2000 + int(m.group(1)) if m else 0


def _source_sql(
    con: duckdb.DuckDBPyConnection, path: Path, index: int, schema: TableSchema, dialect: Dialect | None = None
) -> str:
    """SQL for the file's rows with ``_file`` (name) and ``_row`` (1-based data row).

    A CSV is read as text in its detected ``dialect`` (rosp.io.textcsv.detect_dialect:
    UTF-8 or Latin-1, ',' or ';'); decimal commas are read by the type coercions."""
    derived = ""
    if any(c.name == "PMSI_ANN" for c in schema.columns):
        derived = f", CAST({pmsi_year(path)} AS SMALLINT) AS PMSI_ANN"
    if path.suffix.lower() == ".parquet":
        return (
            f"SELECT * EXCLUDE (file_row_number){derived}, {_lit(path.name)} AS _file, "
            f"file_row_number + 1 AS _row "
            f"FROM read_parquet({_lit(str(path))}, file_row_number = true)"
        )
    # CSV: read as text (types are checked explicitly) into a table whose rowid
    # follows file order, to number rows.
    staging = f"_rosp_csv_{index}"
    dialect = dialect or detect_dialect(path)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {staging} AS "
        f"SELECT * FROM read_csv({_lit(str(path))}, header = true, all_varchar = true, "
        f"delim = {_lit(dialect.delimiter)}, quote = '\"', encoding = {_lit(dialect.encoding)})"
    )
    return f"SELECT *{derived}, {_lit(path.name)} AS _file, rowid + 1 AS _row FROM {staging}"


#: Archive files (``IR_BEN_R_ARC``, ``ER_PRS_F_2017``...) may overlap their current table
#: (parameter ``claims.archive_overlap``, docs/data-model.md "Archives"). With
#: ``current_wins``, before any row check:
#: - a beneficiary (``BEN_NIR_PSA``, ``BEN_RNG_GEM``) of the current ``IR_BEN_R`` is read
#:   from it alone: its archived rows are dropped, whatever they hold;
#: - a line of an archived DCIR table identical (every column of the file) to a line of
#:   the current table is dropped: it is kept once.
#: Each dropped row is counted under the named filter ``archive_duplicate``.
ARCHIVE_DUPLICATE = "archive_duplicate"
_ARCHIVE_MATCH_KEY = {"IR_BEN_R": ("BEN_NIR_PSA", "BEN_RNG_GEM")}


def archive_overlap_rule(year: int) -> str:
    """``current_wins`` or ``keep_both`` (parameter ``claims.archive_overlap``)."""
    from rosp.catalogue.parameters import load_parameters

    return str(load_parameters().get("claims.archive_overlap", year).value)


def _is_archive(schema: TableSchema, path: Path) -> bool:
    return not schema.name.startswith("T_MCO") and path.stem.upper() != schema.name


def _drop_archive_duplicates(
    raw: duckdb.DuckDBPyConnection, schema: TableSchema, files: list[Path], parts: list[str]
) -> tuple[list[str], int]:
    """Archive parts without the rows the current table already holds; the dropped count."""
    current = [sql for path, sql in zip(files, parts, strict=True) if not _is_archive(schema, path)]
    if not current or len(current) == len(parts):
        return parts, 0
    key = _ARCHIVE_MATCH_KEY.get(schema.name) or tuple(c.name for c in schema.file_columns)
    on = " AND ".join(f"a.{q(k)} IS NOT DISTINCT FROM c.{q(k)}" for k in key)
    current_sql = " UNION ALL ".join(current)
    out, dropped = [], 0
    for i, (path, sql) in enumerate(zip(files, parts, strict=True)):
        if not _is_archive(schema, path):
            out.append(sql)
            continue
        staging = f"_rosp_arc_{i}"
        raw.execute(
            f"CREATE OR REPLACE TEMP TABLE {staging} AS "
            f"SELECT a.* FROM ({sql}) a ANTI JOIN ({current_sql}) c ON {on}"
        )
        (before,) = raw.execute(f"SELECT count(*) FROM ({sql})").fetchone()
        (after,) = raw.execute(f"SELECT count(*) FROM {staging}").fetchone()
        dropped += int(before) - int(after)
        out.append(f"SELECT * FROM {staging}")
    return out, dropped



def _wrap(con: Any) -> tuple[duckdb.DuckDBPyConnection | None, Any]:
    """(raw DuckDB connection or None, QueryBackend) for ``con``: None (a new in-memory
    DuckDB), a DuckDB connection, an Ibis DuckDB or PySpark backend, or a QueryBackend."""
    from rosp.engine.backends import backend_for

    if con is None:
        con = duckdb.connect()
    qb = backend_for(con)
    raw = qb.raw if qb.name == "duckdb" else None
    return raw, qb


def load_claims(
    data_dir: str | Path,
    year: int,
    rejects_dir: str | Path | None = None,
    con: Any = None,
    period: tuple[date, date] | dict[str, tuple[date, date]] | None = None,
    programmes: Any = None,
    work_dir: str | Path | None = None,
    known_indicators: set[str] | None = None,
) -> Claims:
    """Validate the extract in ``data_dir`` and build the clean views for study ``year``.

    ``data_dir`` holds one file per table of :data:`rosp.claims.schema.TABLES`
    (``<TABLE>.parquet`` or ``.csv``, plus archives). Structural problems raise
    :class:`~rosp.claims.errors.ClaimsError`; row-level problems send the row to
    ``rejects_dir/<TABLE>.parquet`` (original columns + ``_file``, ``_row``, ``_reason``)
    and are counted in ``claims.report``. ``con`` is the engine: a DuckDB connection
    (e.g. file-backed, for extracts larger than memory), an Ibis DuckDB or PySpark
    backend, or a :class:`~rosp.engine.backends.QueryBackend`. The row checks and the
    clean views are Ibis expressions, so both engines run the same code; only reading
    the files (header, types) is engine-specific. ``work_dir`` holds Spark's sorted
    rejects before they are written (default: the system temp directory).

    Implausible rows (birth month 13, birth after the period, death before birth) are
    counted rejects (:func:`rosp.claims.plausibility.row_rules`). With
    ``known_indicators`` (the indicators of the run, as ``rosp run`` passes them) an
    extract that cannot be true is refused after the load, before the views
    (:func:`rosp.claims.plausibility.check_loaded`); its warnings are in
    ``claims.report.warnings``.

    The care-date bounds of each family come from the windows of the definitions
    (``programmes``, default: all of :func:`rosp.indicators.definitions.load_programmes`;
    :func:`rosp.claims.windows.load_periods`). ``period`` overrides them (one pair for
    every family, or ``{family: pair}``); a definition that would then read before the
    loaded period raises :class:`~rosp.claims.windows.LoadWindowError`.
    """
    from rosp.claims.windows import check_windows, load_periods

    raw, backend = _wrap(con)
    if isinstance(data_dir, str) and "://" in data_dir:  # hdfs://, s3a://...: listed by the engine (Spark)
        if not hasattr(backend, "remote_dir"):
            raise MissingTableError("ce moteur ne lit que des dossiers locaux : relancer avec --engine spark", file=data_dir)
        data_dir = backend.remote_dir(data_dir)
    else:
        data_dir = Path(data_dir)
    if period is None:
        periods = load_periods(year, programmes)
    else:
        periods = dict(period) if isinstance(period, dict) else {f: period for f in ("DCIR", "PMSI")}
        check_windows(periods, year, programmes)
    overall = (min(p[0] for p in periods.values()), max(p[1] for p in periods.values()))
    from rosp.claims.sqlprofile import profiled

    with profiled(backend):
        return _load(backend, data_dir, year, rejects_dir, periods, overall, work_dir, known_indicators)


def _load(backend, data_dir, year, rejects_dir, periods, overall, work_dir, known_indicators) -> Claims:
    import tempfile

    from rosp.claims.windows import TABLE_FAMILY

    raw = backend.raw if backend.name == "duckdb" else None
    if raw is not None:
        # Row order inside DuckDB is never relied on (every output is sorted explicitly):
        # letting DuckDB drop it saves memory and time on the large fact tables.
        raw.execute("SET preserve_insertion_order = false")
    work = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
    report = LoadReport(year=year, period=overall, periods=periods)
    archive_rule = archive_overlap_rule(year)
    input_files: dict[str, str] = {}
    loaded: set[str] = set()

    for name, schema in TABLES.items():
        files = find_files(data_dir, schema)
        # an archive alone (IR_BEN_R_ARC, ER_PRS_F_2017) does not stand for the current table;
        # yearly PMSI tables (T_MCO18B, ...) have no undated file
        current = [p for p in files if p.stem.upper() == name or name.startswith("T_MCO")]
        if not current and schema.required:
            raise MissingTableError(
                f"required table {name} not found in the data directory", file=f"{name}.parquet"
            )
        for path in files:
            input_files[str(path)] = path.sha256() if hasattr(path, "sha256") else sha256(path)
        started = time.perf_counter()
        table_period = periods.get(TABLE_FAMILY.get(name, ""), overall)
        report.tables[name] = _load_table(
            backend, schema, files, table_period, loaded, rejects_dir, work, year, archive_rule
        )
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

    if known_indicators is not None:
        from rosp.claims.plausibility import check_loaded

        report.warnings = check_loaded(backend, report, year, known_indicators)
    for name in TABLES:
        backend.drop("_rej_" + name)
    report.views, filtered, report.ps_numbers = build_views(backend, year)
    for name, counts in filtered.items():
        merged = {**counts, **report.tables[name].filtered}  # archive_duplicate is counted at the file level
        report.tables[name].filtered = {k: v for k, v in sorted(merged.items()) if v}
        if report.tables[name].filtered:
            log.info("%s: kept rows left out by SNDS data rules %s", name, report.tables[name].filtered)
    return Claims(backend.ibis, year, overall, input_files, report)


def _duckdb_source(
    backend: Any,
    schema: TableSchema,
    files: list[Path],
    archive_rule: str = "current_wins",
) -> tuple[ir.Table, dict[str, dict[str, int | str]], list[str], dict[str, dict[str, str | bool]], int]:
    """DuckDB reading of the files: structural checks, typed rows (``_file``, ``_row``) as
    a temp view; returns (table, coercions, names to drop after the load, CSV dialects,
    archive rows dropped as duplicates of the current table)."""
    raw = backend.raw
    parts = []
    coercions: dict[str, dict[str, int | str]] = {}
    dialects: dict[str, dict[str, str | bool]] = {}
    for i, path in enumerate(files):
        dialect = None
        if path.suffix.lower() == ".csv":
            dialect = detect_dialect(path)
            dialects[path.name] = dialect.to_dict()
            if not dialect.standard:
                log.info("%s: read as %s", path.name, dialect.describe())
        source = _source_sql(raw, path, i, schema, dialect)
        types = check_columns(raw, source, schema, path.name)
        for column, stats in check_types(raw, source, schema, types, path.name).items():
            entry = coercions.setdefault(column, {})
            for k, v in stats.items():
                entry[k] = entry.get(k, 0) + v if isinstance(v, int) else v
        parts.append(typed_select(schema, source, types))
    duplicates = 0
    if archive_rule == "current_wins":
        parts, duplicates = _drop_archive_duplicates(raw, schema, files, parts)
    view = q("_rosp_src_" + schema.name)
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {' UNION ALL '.join(parts)}")
    drop = [f"_rosp_csv_{i}" for i in range(len(files))] + [f"_rosp_arc_{i}" for i in range(len(files))]
    return backend.ibis.table("_rosp_src_" + schema.name), coercions, drop, dialects, duplicates


def _empty(backend: Any, schema: TableSchema) -> ir.Table:
    from rosp.claims.validate import rejects_schema

    arrow = rejects_schema(schema)
    return backend.empty_table(ibis.Schema.from_pyarrow(arrow.remove(arrow.get_field_index("_reason"))))


def _load_table(
    backend: Any,
    schema: TableSchema,
    files: list[Path],
    period: tuple[date, date],
    loaded: set[str],
    rejects_dir: str | Path | None,
    work_dir: Path,
    year: int,
    archive_rule: str = "current_wins",
) -> TableReport:
    """Check one table: kept rows -> table ``<NAME>``, rejects -> table ``_rej_<NAME>``."""
    from rosp.claims.validate import rejects_schema

    name = schema.name
    drop: list[str] = []
    coercions: dict[str, dict[str, int | str]] = {}
    dialects: dict[str, dict[str, str | bool]] = {}
    duplicates = 0
    if not files:
        typed = _empty(backend, schema)
    elif backend.name == "duckdb":
        typed, coercions, drop, dialects, duplicates = _duckdb_source(backend, schema, files, archive_rule)
    else:
        from rosp.engine.spark import spark_typed_source

        typed, coercions = spark_typed_source(backend, schema, files)
    from rosp.claims.plausibility import row_rules

    checked = check_rows(backend, schema, typed, period, loaded, row_rules(name, typed, year), keys=False)
    stored = backend.store(checked, name)
    # Duplicate keys, checked on the stored rows (the files are read once): a hash
    # aggregate; the ranking window runs only when a key may repeat.
    if has_duplicate_keys(backend, schema, stored):
        staged = backend.store(stored, "_rosp_chk_" + name)
        stored = backend.store(mark_duplicate_keys(schema, staged), name)
        backend.drop("_rosp_chk_" + name)
    # one aggregate gives the kept rows (NULL reason) and the rejects per reason
    by_reason = stored.group_by("_reason").aggregate(n=stored.count())
    counts = {r["_reason"]: int(r["n"]) for r in backend.to_arrow(by_reason).to_pylist()}
    kept = counts.pop(None, 0)
    rejected = dict(sorted(counts.items()))
    # Split in place (no second copy of a large fact table): rejects are few.
    rej_name = "_rej_" + name
    rej = (backend.store(stored.filter(stored._reason.notnull()), rej_name) if rejected
           else backend.store_empty(stored, rej_name))
    backend.drop_flagged(name, "_reason", any_flagged=bool(rejected))
    if not files:
        backend.release(typed)
    elif backend.name == "duckdb":
        backend.raw.execute(f"DROP VIEW IF EXISTS {q('_rosp_src_' + name)}")
    else:
        backend.drop("_rosp_src_" + name)
    for t in drop:
        backend.drop(t)
    if rejects_dir is not None:
        target = Path(rejects_dir) / f"{name}.parquet"
        target.unlink(missing_ok=True)  # no stale rejects from an earlier run
        if rejected:
            target.parent.mkdir(parents=True, exist_ok=True)
            backend.write_parquet(rej, target, ["_file", "_row"], rejects_schema(schema), work_dir)
    return TableReport(
        name, [p.name for p in files], kept + duplicates + sum(rejected.values()), kept + duplicates, rejected,
        filtered={ARCHIVE_DUPLICATE: duplicates} if duplicates else {},
        coercions=coercions, dialects=dialects,
    )
