"""Run the indicator definitions on Apache Spark (PySpark), from the same Ibis code.

The query logic is written once: :class:`rosp.indicators.compiler.Compiler` builds
Ibis expressions over the claims clean views, and Ibis compiles them to DuckDB SQL
or to Spark SQL. This module provides the Spark side:

* :func:`spark_session` -- a small local Spark session (tests, laptops);
* :func:`views_to_spark` -- the clean views, exported from DuckDB to Parquet
  (``COPY ... TO``), registered on an Ibis PySpark backend with identical column
  types (dates stay dates);
* :func:`compute_counts` -- numerator / denominator per doctor × computed indicator,
  on any Ibis backend (DuckDB or PySpark), aggregated exactly as ``rosp run`` does
  (``sum(num_units)``, ``sum(den_units)`` over the evidence rows).

The claims loader and its validation are DuckDB SQL; Spark runs on the exported
clean views. ``rosp run --engine spark`` (:func:`rosp.engine.run.run`) uses these
functions and :class:`rosp.engine.backends.SparkBackend` to produce the whole run
directory. ``pyspark`` is an optional dependency (``pip install rosp[spark]``)
and needs a Java runtime (17+).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from rosp.claims.views import VIEWS
from rosp.indicators.compiler import Compiler
from rosp.indicators.definitions import ProgrammeDef, load_programmes

COUNT_COLUMNS = ["doctor_id", "indicator_id", "numerator", "denominator"]


def spark_session(
    master: str = "local[2]",
    shuffle_partitions: int = 4,
    app_name: str = "rosp",
    conf: dict[str, str] | None = None,
) -> Any:
    """A quiet Spark session: ``master``, few shuffle partitions, UTC, no UI.

    For a cluster, pass its ``master`` and ``conf`` (or build the session yourself:
    every function below takes any :class:`pyspark.sql.SparkSession`).
    """
    from pyspark.sql import SparkSession

    # quiet start: no hostname warning, log4j errors only (the JVM starts with these)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    java_opts = f"-Duser.timezone=UTC -Dlog4j2.configurationFile={_log4j_file().as_uri()}"
    b = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.executor.extraJavaOptions", java_opts)
        # the compiled plans are deep (one sub-plan per condition); keep the
        # adaptive planner, it coalesces the small shuffles of small extracts
        .config("spark.sql.adaptive.enabled", "true")
    )
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


def _log4j_file() -> Path:
    path = Path(tempfile.gettempdir()) / "rosp-spark-log4j2.properties"
    if not path.exists() or path.read_text() != _LOG4J2:
        path.write_text(_LOG4J2)
    return path


def spark_backend(spark: Any) -> Any:
    """The Ibis PySpark backend on ``spark``."""
    import ibis

    return ibis.pyspark.connect(spark)


def export_views(claims: Any, out_dir: str | Path, views: tuple[str, ...] = VIEWS) -> Path:
    """Write the clean views of ``claims`` (a :class:`~rosp.claims.load.Claims`) as
    ``<out_dir>/<view>.parquet`` with DuckDB ``COPY ... TO``; column types are kept."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    raw = claims.con.con
    for name in views:
        path = str(out / f"{name}.parquet").replace("'", "''")
        raw.execute(f'COPY (SELECT * FROM "{name}") TO \'{path}\' (FORMAT parquet)')
    return out


def views_to_spark(
    claims_or_parquet_dir: Any,
    spark: Any,
    export_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Clean views as Ibis tables on a PySpark backend.

    ``claims_or_parquet_dir`` is either a loaded :class:`~rosp.claims.load.Claims`
    (its views are exported to Parquet in ``export_dir``, a temporary directory if
    omitted -- it must outlive the Spark queries) or a directory already holding
    ``<view>.parquet`` files. ``spark`` is a SparkSession or an Ibis PySpark backend.
    """
    backend = spark if hasattr(spark, "read_parquet") else spark_backend(spark)
    if isinstance(claims_or_parquet_dir, str) and "://" in claims_or_parquet_dir:
        # a URI the cluster can read (file://, hdfs://, s3a://, abfss://...): Spark checks it
        base = claims_or_parquet_dir.rstrip("/")
        return {name: backend.read_parquet(f"{base}/{name}.parquet", table_name=f"rosp_{name}") for name in VIEWS}
    if isinstance(claims_or_parquet_dir, (str, Path)):
        src = Path(claims_or_parquet_dir)
    else:
        src = Path(export_dir) if export_dir is not None else Path(tempfile.mkdtemp(prefix="rosp_spark_"))
        export_views(claims_or_parquet_dir, src)
    missing = [n for n in VIEWS if not (src / f"{n}.parquet").exists()]
    if missing:
        raise FileNotFoundError(f"clean views missing in {src}: {', '.join(missing)}")
    return {name: backend.read_parquet(str(src / f"{name}.parquet"), table_name=f"rosp_{name}") for name in VIEWS}


def _spark_type(t: Any) -> Any:
    from ibis.backends.pyspark.datatypes import PySparkType

    return PySparkType.from_ibis(ibis_dtype(t))


def ibis_dtype(t: Any) -> Any:
    import ibis.expr.datatypes as dt

    return dt.dtype(t)


def spark_typed_source(backend: Any, schema: Any, files: list[Path]) -> tuple[Any, dict[str, dict[str, int | str]]]:
    """The files of one table read by Spark: ``_file`` (name) and ``_row`` (1-based row of
    the file, from Parquet's row index), every declared column as its type, placeholder
    dates (01/01/1600) and years read as NULL. Returns (Ibis table, coercions).

    Structural checks, as DuckDB's (:func:`rosp.claims.validate.check_columns`): a missing
    required column raises :class:`~rosp.claims.errors.MissingColumnError`. The Spark loader
    reads Parquet whose columns already have the declared types (what ``rosp synth`` and a
    typed SNDS export write); text and other coercions are DuckDB's
    (:func:`rosp.claims.validate.convert_expr`): such a file raises
    :class:`~rosp.claims.errors.ColumnTypeError` naming the column and ``--engine duckdb``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructField, StructType

    from rosp.claims.errors import ClaimsError, ColumnTypeError, MissingColumnError
    from rosp.claims.load import pmsi_year
    from rosp.claims.validate import replace_sentinels

    session = backend.session
    frames = []
    for path in files:
        if _suffix(path) != ".parquet":
            raise ClaimsError("the Spark loader reads Parquet only: convert the CSV file, or use --engine duckdb",
                              file=_file_name(path))
        name, found = _file_name(path), _file_fields(session, path)
        cols, read = [], []
        for c in schema.columns:
            want = _spark_type(c.type)
            if c.derived:  # PMSI_ANN: the year of the file name
                cols.append(F.lit(pmsi_year(Path(name))).cast(want).alias(c.name))
                continue
            f = found.get(c.name.upper())
            if f is None:
                if not c.optional:
                    raise MissingColumnError("column is missing", file=name, column=c.name)
                cols.append(F.lit(None).cast(want).alias(c.name))
                continue
            fname, ftype = f
            if not _same_type(ftype, c.type, want):
                shown = ftype.simpleString() if hasattr(ftype, "simpleString") else str(ftype)
                raise ColumnTypeError(
                    f"file type {shown} is not the declared {c.type}: the Spark loader reads "
                    "typed Parquet; use --engine duckdb, which converts unambiguous types",
                    file=name, column=c.name,
                )
            read.append(StructField(fname, want, True))
            cols.append(F.col(f"`{fname}`").alias(c.name))
        # the schema is given: Spark reads only these columns and runs no inference job
        df = session.read.schema(StructType(read)).parquet(_uri(path))
        cols += [F.lit(name).alias("_file"), (F.col("_metadata.row_index") + 1).cast("long").alias("_row")]
        frames.append(df.select(*cols))
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    name = f"_rosp_src_{schema.name}"
    out.createOrReplaceTempView(name)
    src = backend.ibis.table(name)
    table, sentinels = replace_sentinels(schema, src)
    coercions: dict[str, dict[str, int | str]] = {}
    if sentinels:
        row = backend.to_arrow(src.aggregate(**sentinels)).to_pylist()[0]
        coercions = {c: {"sentinel": int(n)} for c, n in row.items() if n}
    return table, coercions


class RemoteFile:
    """A file of a :class:`RemoteDir`: what the loader needs of a path (name, stem,
    suffix), its URI (``str``) and its SHA-256, read through Hadoop's file system."""

    def __init__(self, session: Any, uri: str) -> None:
        self.session, self.uri = session, uri
        self.name = uri.rstrip("/").rsplit("/", 1)[-1]
        self.stem, dot, ext = self.name.rpartition(".")
        if not dot:
            self.stem, ext = self.name, ""
        self.suffix = f".{ext}" if ext else ""

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"RemoteFile({self.uri!r})"

    def is_file(self) -> bool:
        return True

    def sha256(self) -> str:
        jvm = self.session.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(self.uri)
        stream = path.getFileSystem(self.session.sparkContext._jsc.hadoopConfiguration()).open(path)
        try:
            return str(jvm.org.apache.commons.codec.digest.DigestUtils.sha256Hex(stream))
        finally:
            stream.close()


class RemoteDir:
    """A data directory given as a URI (``hdfs://``, ``s3a://``...), listed by Spark's
    Hadoop file systems; its files are :class:`RemoteFile`."""

    def __init__(self, session: Any, uri: str) -> None:
        self.session, self.uri = session, uri.rstrip("/")

    def __str__(self) -> str:
        return self.uri

    def iterdir(self):
        from rosp.claims.errors import ClaimsError

        jvm = self.session.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(self.uri)
        try:
            fs = path.getFileSystem(self.session.sparkContext._jsc.hadoopConfiguration())
            statuses = fs.listStatus(path)
        except Exception as exc:  # noqa: BLE001 - a Java error: no such directory, no file system for the scheme
            raise ClaimsError(f"cannot list the data directory: {str(exc).splitlines()[0][:200]}",
                              file=self.uri) from None
        for st in statuses:
            if st.isFile():
                yield RemoteFile(self.session, f"{self.uri}/{st.getPath().getName()}")


def _is_uri(path: Any) -> bool:
    return isinstance(path, (str, RemoteFile)) and "://" in str(path)


def _uri(path: Any) -> str:
    """What Spark's reader is given: a URI as is (file://, hdfs://, s3a://...), a path as file://."""
    return str(path) if _is_uri(path) else Path(path).resolve().as_uri()


def _file_name(path: Any) -> str:
    return str(path).rstrip("/").rsplit("/", 1)[-1] if _is_uri(path) else Path(path).name


def _suffix(path: Any) -> str:
    name = _file_name(path)
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _file_fields(session: Any, path: Any) -> dict[str, tuple[str, Any]]:
    """Upper-cased column name -> (name in the file, type) of one Parquet file: from its
    footer with pyarrow for a local file (no Spark job), from Spark's reader for a URI."""
    if not _is_uri(path) or str(path).startswith("file:"):
        import pyarrow.parquet as pq

        local = Path(path) if not _is_uri(path) else _local_path(str(path))
        return {f.name.upper(): (f.name, f.type) for f in pq.read_schema(local)}
    return {f.name.upper(): (f.name, f.dataType) for f in session.read.parquet(str(path)).schema.fields}


def _local_path(uri: str) -> Path:
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))


def _same_type(found: Any, declared: Any, spark_type: Any) -> bool:
    """Whether a file column (an Arrow type, or a Spark type for a remote file) has the
    declared type."""
    import pyarrow as pa

    if isinstance(found, pa.DataType):
        if declared == pa.string():
            return found in (pa.string(), pa.large_string())
        return found == declared
    return found == spark_type


def _backend_of(views: dict[str, Any]) -> Any:
    return next(iter(views.values()))._find_backend()


def compute_counts(
    views: dict[str, Any],
    year: int,
    backend: Any = None,
    programmes: dict[str, ProgrammeDef] | None = None,
    materialise: bool = True,
) -> pd.DataFrame:
    """doctor_id, indicator_id, numerator, denominator of every computed indicator.

    One row per doctor × indicator with at least one evidence row (what ``rosp run``
    aggregates before filling the doctor × indicator grid with zeros). ``backend`` is
    the Ibis backend holding ``views`` (found from them if omitted); shared
    intermediate results are materialised on it (DuckDB temp tables, Spark cache)
    unless ``materialise`` is false (one self-contained query per programme).
    """
    from rosp.engine.evidence import programme_evidence

    backend = backend if backend is not None else _backend_of(views)
    programmes = programmes or load_programmes()
    comp = Compiler(views, year, con=backend if materialise else None)
    if materialise:
        comp.plan(programmes)
    frames = []
    for _slug, prog in programmes.items():
        ev = programme_evidence(comp, prog)
        if ev is None:
            continue
        agg = ev.group_by(["doctor_id", "indicator_id"]).aggregate(
            numerator=ev.num_units.sum().cast("int64"), denominator=ev.den_units.sum().cast("int64")
        )
        frames.append(backend.execute(agg))
    comp.release()
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COUNT_COLUMNS)
    out = out[COUNT_COLUMNS].astype({"doctor_id": "str", "indicator_id": "str"})
    out["numerator"] = out["numerator"].astype("int64")
    out["denominator"] = out["denominator"].astype("int64")
    return out.sort_values(["indicator_id", "doctor_id"], kind="mergesort").reset_index(drop=True)


__all__ = ["COUNT_COLUMNS", "compute_counts", "export_views", "spark_backend", "spark_session", "views_to_spark"]
