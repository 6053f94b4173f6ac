"""Query backends: the few engine-specific operations behind one small interface.

The indicator logic is written once, as Ibis expressions (``rosp.indicators.compiler``).
What differs between engines is how intermediate results are kept and how results
leave the engine, so a backend offers exactly these operations (in the manner of
ehrQL's query engines):

* :meth:`QueryBackend.materialise` -- compute an expression once, keep it for reuse;
* :meth:`QueryBackend.release` -- drop what :meth:`materialise` kept;
* :meth:`QueryBackend.empty_table` -- an empty table of a given schema;
* :meth:`QueryBackend.to_arrow` -- a (small) result as an Arrow table;
* :meth:`QueryBackend.write_parquet` -- a (large) result, sorted, streamed to one
  Parquet file written by :func:`write_canonical_parquet`, so both engines write
  byte-identical files from identical rows.

:class:`DuckDBBackend` runs in process (file-backed database, explicit memory limit
and spill directory: :func:`open_duckdb`); :class:`SparkBackend` runs on a Spark
session (local or a cluster) through Ibis's PySpark backend.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

#: rows per Parquet row group of the files written by :func:`write_canonical_parquet`
ROW_GROUP_ROWS = 262_144


def _sql_str(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


class QueryBackend(ABC):
    """One engine. ``ibis`` is the Ibis backend the clean views live on."""

    name: str = "?"

    def __init__(self, ibis_backend: Any) -> None:
        self.ibis = ibis_backend
        self._n = itertools.count(1)

    def _name(self, hint: str = "t") -> str:
        return f"_rosp_{hint}_{next(self._n)}"

    @abstractmethod
    def materialise(self, expr: ir.Table, hint: str = "t") -> ir.Table:
        """Compute ``expr`` once; the returned table reads the kept result."""

    @abstractmethod
    def release(self, table: ir.Table) -> None:
        """Drop a table returned by :meth:`materialise` or :meth:`empty_table`."""

    @abstractmethod
    def empty_table(self, schema: ibis.Schema) -> ir.Table:
        """A table with ``schema`` and no rows, usable in any expression of this backend."""

    @abstractmethod
    def to_arrow(self, expr: ir.Table) -> pa.Table:
        """The rows of ``expr`` (meant for small results: counts, patientèles)."""

    @abstractmethod
    def sorted_batches(self, expr: ir.Table, order_by: Sequence[str], work_dir: Path) -> Iterator[pa.RecordBatch]:
        """The rows of ``expr`` ordered by ``order_by``, streamed in record batches."""

    def write_parquet(self, expr: ir.Table, path: Path, order_by: Sequence[str], schema: pa.Schema,
                      work_dir: Path) -> int:
        """Stream ``expr`` sorted by ``order_by`` to the single Parquet file ``path``; returns its rows."""
        return write_canonical_parquet(self.sorted_batches(expr, order_by, work_dir), path, schema)

    def to_pandas(self, expr: ir.Table):
        return self.to_arrow(expr).to_pandas()

    # -- named tables of the loader (raw tables, clean views): kept until dropped

    @abstractmethod
    def store(self, expr: ir.Table, name: str) -> ir.Table:
        """Compute ``expr`` once and keep it under ``name`` (replacing any table of that name)."""

    def store_empty(self, expr: ir.Table, name: str) -> ir.Table:
        """Keep under ``name`` an empty table with the columns of ``expr`` (no query run)."""
        return self.store(expr.limit(0), name)

    @abstractmethod
    def drop_flagged(self, name: str, column: str, any_flagged: bool = True) -> ir.Table:
        """Remove from the stored table ``name`` its rows where ``column`` is not NULL, then
        the column itself (in place where the engine can: rejects and filtered rows are few)."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Forget the stored table ``name`` (no error if there is none)."""

    def count(self, expr: ir.Table) -> int:
        return int(self.to_arrow(expr.aggregate(_n=expr.count())).column(0)[0].as_py())

    def hash64(self, value: ir.Value) -> ir.IntegerValue:
        """A 64-bit hash of ``value`` (any type, structs included). Ibis's ``hash()`` is
        64-bit on DuckDB but Spark's ``hash`` is a 32-bit murmur3: on 10 M keys 32 bits give
        thousands of collisions, so a check that trusts "no repeated hash" never could."""
        return value.hash()

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


@ibis.udf.scalar.builtin(name="xxhash64")
def _xxhash64(value) -> dt.int64:  # type: ignore[empty-body]  # noqa: ANN001 - any type
    """Spark's 64-bit xxHash."""


# ------------------------------------------------------------------ DuckDB


class DuckDBBackend(QueryBackend):
    """DuckDB through Ibis; raw SQL on its connection where Ibis 12 and DuckDB 2 disagree
    (Ibis 12 calls ``fetch_arrow_table`` / ``fetch_record_batch`` on DuckDB connections,
    which DuckDB 2 removed: ``Backend.sql()`` and ``to_pyarrow_batches()`` fail)."""

    name = "duckdb"

    @property
    def raw(self):
        return self.ibis.con

    def _sql(self, expr: ir.Expr) -> str:
        self.ibis._run_pre_execute_hooks(expr)  # registers in-memory tables
        return self.ibis.compile(expr)

    def materialise(self, expr: ir.Table, hint: str = "t") -> ir.Table:
        name = self._name(hint)
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {self._sql(expr)}')
        return self.ibis.table(name)

    def release(self, table: ir.Table) -> None:
        name = table.get_name()
        self.raw.execute(f'DROP TABLE IF EXISTS "{name}"')

    def empty_table(self, schema: ibis.Schema) -> ir.Table:
        name = self._name("empty")
        types = self.ibis.compiler.type_mapper
        cols = ", ".join(f'CAST(NULL AS {types.to_string(t)}) AS "{n}"' for n, t in schema.items())
        self.raw.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {cols} LIMIT 0')
        return self.ibis.table(name)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.raw.sql(self._sql(expr)).to_arrow_table()

    def store(self, expr: ir.Table, name: str) -> ir.Table:
        self.raw.execute(f'CREATE OR REPLACE TABLE "{name}" AS {self._sql(expr)}')
        return self.ibis.table(name)

    def drop_flagged(self, name: str, column: str, any_flagged: bool = True) -> ir.Table:
        if any_flagged:
            self.raw.execute(f'DELETE FROM "{name}" WHERE "{column}" IS NOT NULL')
        self.raw.execute(f'ALTER TABLE "{name}" DROP COLUMN "{column}"')
        return self.ibis.table(name)

    def drop(self, name: str) -> None:
        self.raw.execute(f'DROP TABLE IF EXISTS "{name}"')

    def sorted_batches(self, expr: ir.Table, order_by: Sequence[str], work_dir: Path) -> Iterator[pa.RecordBatch]:
        keys = ", ".join(f'"{c}"' for c in order_by)
        reader = self.raw.sql(f"SELECT * FROM ({self._sql(expr)}) ORDER BY {keys}").to_arrow_reader(ROW_GROUP_ROWS)
        yield from reader


def default_memory_limit() -> int:
    """Bytes: a quarter of physical memory, at least 1 GiB and at most 4 GiB.

    4 GiB keeps the peak resident memory of a run near 6 GiB at any size (DuckDB's
    buffer pool is bounded by the limit; Python, Arrow and the scoring add the rest);
    pass ``--memory-limit`` on a dedicated machine."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 * 2**30
    return int(min(max(ram // 4, 2**30), 4 * 2**30))


def parse_size(text: str | int | None) -> int | None:
    """``"4GiB"``, ``"512MB"``, ``"2g"`` or a number of bytes -> bytes (``None`` stays ``None``)."""
    if text is None or isinstance(text, int):
        return text
    s = str(text).strip().lower().replace(" ", "")
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "kb": 10**3, "mb": 10**6, "gb": 10**9,
             "tb": 10**12, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "b": 1}
    for u, f in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if s.endswith(u):
            return int(float(s[: -len(u)]) * f)
    return int(float(s))


def open_duckdb(
    work_dir: str | Path,
    memory_limit: int | str | None = None,
    threads: int | None = None,
    max_temp_size: int | str | None = None,
) -> Any:
    """A file-backed DuckDB database in ``work_dir`` that spills to ``work_dir/tmp``.

    ``memory_limit`` defaults to :func:`default_memory_limit`; the spill directory may
    grow to ``max_temp_size`` (default: 90 % of the free space of ``work_dir``'s disk).
    Returns an Ibis DuckDB backend. Every setting is explicit, so DuckDB never spills
    into ``./.tmp`` of the current directory.
    """
    import duckdb

    work = Path(work_dir)
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    mem = parse_size(memory_limit) or default_memory_limit()
    if max_temp_size is None:
        max_temp_size = int(shutil.disk_usage(work).free * 0.9)
    raw = duckdb.connect(str(work / "rosp.duckdb"))
    raw.execute(f"SET memory_limit = {_sql_str(f'{mem // 2**20}MiB')}")
    raw.execute(f"SET temp_directory = {_sql_str(str(work / 'tmp'))}")
    raw.execute(f"SET max_temp_directory_size = {_sql_str(f'{parse_size(max_temp_size) // 2**20}MiB')}")
    if threads:
        raw.execute(f"SET threads = {int(threads)}")
    raw.execute("SET preserve_insertion_order = false")  # every output is sorted explicitly
    raw.execute("SET enable_progress_bar = false")
    return ibis.duckdb.from_connection(raw)


def duckdb_settings(con: Any) -> dict[str, str]:
    raw = con.con if hasattr(con, "con") else con
    names = ("memory_limit", "temp_directory", "max_temp_directory_size", "threads", "preserve_insertion_order")
    return {n: str(raw.execute(f"SELECT current_setting('{n}')").fetchall()[0][0]) for n in names}


# ------------------------------------------------------------------- Spark


class SparkBackend(QueryBackend):
    """Spark SQL through Ibis's PySpark backend."""

    name = "spark"

    #: Spark setting naming the directory (a path or a URI every executor can reach:
    #: hdfs://, s3a://) where stored tables are written; default: a local temp directory
    SCRATCH_CONF = "spark.rosp.scratchDir"

    def __init__(self, ibis_backend: Any, scratch: str | Path | None = None) -> None:
        super().__init__(ibis_backend)
        self.session = ibis_backend._session
        self._stored: dict[str, str] = {}
        self._own_scratch = False
        if scratch is None:
            scratch = self.session.conf.get(self.SCRATCH_CONF, None)
        if scratch is None:
            scratch = tempfile.mkdtemp(prefix="rosp-spark-")
            self._own_scratch = True
        self.scratch = str(scratch)

    def _uri(self, leaf: str) -> str:
        base = self.scratch.rstrip("/")
        return f"{base}/{leaf}" if "://" in base else (Path(base) / leaf).resolve().as_uri()

    def _remove(self, uri: str) -> None:
        if uri.startswith("file:"):
            from urllib.parse import unquote, urlparse

            shutil.rmtree(unquote(urlparse(uri).path), ignore_errors=True)
            return
        jvm = self.session.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(uri)
        path.getFileSystem(self.session.sparkContext._jsc.hadoopConfiguration()).delete(path, True)

    def _keep(self, df: Any, name: str) -> ir.Table:
        # Written to Parquet in the scratch directory and read back (with its schema: no
        # inference job): the lineage is cut, so later plans stay short. Not Table.cache(),
        # whose cached plan is carried into, and analysed again in, every query reading it
        # (minutes on the deep indicator plans); not localCheckpoint(), whose relation
        # fails in self-joins (Spark 4: "key not found" on its output ordering).
        uri = self._uri(f"{name}-{next(self._n)}")
        df.write.mode("overwrite").parquet(uri)
        self.session.read.schema(df.schema).parquet(uri).createOrReplaceTempView(name)
        old = self._stored.pop(name, None)
        self._stored[name] = uri
        if old is not None:
            self._remove(old)
        return self.ibis.table(name)

    def store(self, expr: ir.Table, name: str) -> ir.Table:
        return self._keep(self._df(expr), name)

    def remote_dir(self, uri: str) -> Any:
        """A directory URI read through Spark's Hadoop file systems (hdfs://, s3a://...)."""
        from rosp.engine.spark import RemoteDir

        return RemoteDir(self.session, uri)

    def store_empty(self, expr: ir.Table, name: str) -> ir.Table:
        self.drop(name)
        self.session.createDataFrame([], self._df(expr).schema).createOrReplaceTempView(name)
        return self.ibis.table(name)

    def drop_flagged(self, name: str, column: str, any_flagged: bool = True) -> ir.Table:
        # a filter over the stored Parquet, not a new copy: no Spark job, a short plan
        df = self.session.table(name)
        (df.filter(df[column].isNull()) if any_flagged else df).drop(column).createOrReplaceTempView(name)
        return self.ibis.table(name)

    def drop(self, name: str) -> None:
        self.session.catalog.dropTempView(name)
        old = self._stored.pop(name, None)
        if old is not None:
            self._remove(old)

    def close(self) -> None:
        for name in list(self._stored):
            self.drop(name)
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _df(self, expr: ir.Table):
        self.ibis._run_pre_execute_hooks(expr)
        return self.session.sql(self.ibis.compile(expr))

    def materialise(self, expr: ir.Table, hint: str = "t") -> ir.Table:
        # computed now and kept as a local checkpoint, not Table.cache(): a cached table
        # still carries its whole plan into every query reading it, and Spark's analyser
        # then spends minutes on the deep plans of the indicators
        return self._keep(self._df(expr), self._name(hint))

    def release(self, table: ir.Table) -> None:
        self.drop(table.get_name())

    def empty_table(self, schema: ibis.Schema) -> ir.Table:
        from ibis.backends.pyspark.datatypes import PySparkSchema

        name = self._name("empty")
        self.session.createDataFrame([], PySparkSchema.from_ibis(schema)).createOrReplaceTempView(name)
        return self.ibis.table(name)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self._df(expr).toArrow()

    def hash64(self, value: ir.Value) -> ir.IntegerValue:
        return _xxhash64(value)

    def sorted_batches(self, expr: ir.Table, order_by: Sequence[str], work_dir: Path) -> Iterator[pa.RecordBatch]:
        # Spark writes the globally sorted result itself (range-partitioned part files,
        # in order), then the part files are read back in order and streamed.
        out = Path(tempfile.mkdtemp(prefix="spark_sorted_", dir=work_dir))
        try:
            self._df(expr).orderBy(*order_by).write.mode("overwrite").parquet(out.as_uri())
            for part in sorted(out.glob("part-*.parquet")):
                yield from pq.ParquetFile(part).iter_batches(batch_size=ROW_GROUP_ROWS)
        finally:
            shutil.rmtree(out, ignore_errors=True)


# ---------------------------------------------------------------- writing


def write_canonical_parquet(batches: Iterable[pa.RecordBatch], path: str | Path, schema: pa.Schema,
                            row_group_rows: int = ROW_GROUP_ROWS) -> int:
    """Write ``batches`` (in order) to ``path`` with ``schema``, zstd, and row groups of
    exactly ``row_group_rows`` rows (the last one shorter), whatever the batch sizes:
    identical rows give a byte-identical file on every engine. Returns the row count."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    names = schema.names
    buf: list[pa.RecordBatch] = []
    buffered = rows = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True) as writer:

        def flush(final: bool) -> None:
            nonlocal buf, buffered
            if not buf:
                return
            t = pa.Table.from_batches(buf, schema=schema)
            start = 0
            while t.num_rows - start >= row_group_rows or (final and start < t.num_rows):
                chunk = t.slice(start, row_group_rows).combine_chunks()
                writer.write_table(chunk, row_group_size=row_group_rows)
                start += chunk.num_rows
            rest = t.slice(start)
            buf = rest.combine_chunks().to_batches() if rest.num_rows else []
            buffered = rest.num_rows

        for b in batches:
            if b.num_rows == 0:
                continue
            b = pa.RecordBatch.from_arrays([b.column(n) for n in names], names=names).cast(schema)
            buf.append(b)
            buffered += b.num_rows
            rows += b.num_rows
            if buffered >= row_group_rows:
                flush(False)
        flush(True)
    os.replace(tmp, path)
    return rows


def backend_for(con: Any) -> QueryBackend | None:
    """The :class:`QueryBackend` of an Ibis backend (``None`` stays ``None``)."""
    if con is None or isinstance(con, QueryBackend):
        return con
    if type(con).__module__.startswith(("duckdb", "_duckdb")):  # a raw DuckDB connection
        con = ibis.duckdb.from_connection(con)
    kind = getattr(con, "name", None)
    if kind == "duckdb":
        return DuckDBBackend(con)
    if kind == "pyspark":
        return SparkBackend(con)
    raise TypeError(f"no query backend for Ibis backend {kind!r}")


__all__ = [
    "DuckDBBackend",
    "QueryBackend",
    "SparkBackend",
    "backend_for",
    "default_memory_limit",
    "duckdb_settings",
    "open_duckdb",
    "parse_size",
    "write_canonical_parquet",
]
