"""`rosp run`: claims -> patientèles -> indicators -> scoring -> run directory.

All heavy work stays in DuckDB through Ibis; only per-doctor aggregates come back
to pandas. Evidence is written straight from DuckDB (``COPY ... TO parquet``).
Outputs are byte-identical across runs on the same data (sorted rows, fixed
float formatting, no clock time outside ``timings.json``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rosp.claims.schema import TABLES
from rosp.claims.views import VIEWS
from rosp.engine.backends import QueryBackend, backend_for, duckdb_settings, open_duckdb
from rosp.engine.evidence import EVIDENCE_COLUMNS, write_programme_evidence
from rosp.engine.start_rates import catalogue_for_run
from rosp.indicators.compiler import RESULT_COLUMNS, Compiler
from rosp.indicators.definitions import ProgrammeDef, load_programmes
from rosp.io.manifest import write_manifest

ENGINES = ("duckdb", "spark")
#: where ``--engine spark`` runs the loader: on Spark (default) or on DuckDB (hand-over)
SPARK_LOADERS = ("spark", "duckdb")
#: URI schemes only Spark's reader (Hadoop file systems) can read
CLUSTER_SCHEMES = ("hdfs", "s3a", "s3", "abfs", "abfss", "gs", "wasb", "wasbs")
COUNTS_COLUMNS = ["doctor_id", "programme", "indicator_id", "numerator", "denominator", "start_rate", "declared_rate"]
PATIENTELE_COLUMNS = ["doctor_id", "programme", "patientele"]
#: the clean views a run reads: all of them, in build order (rosp/claims/views.py)
CLEAN_VIEWS = VIEWS

#: progress(stage, done, total) -- called at the start/end of each stage
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    out_dir: Path
    counts: pd.DataFrame
    patientele: pd.DataFrame
    indicators: pd.DataFrame | None
    payments: pd.DataFrame | None
    manifest: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    #: the loader's plausibility warnings (rosp.claims.plausibility.check_loaded)
    warnings: list[str] = field(default_factory=list)


def _known_indicators(year: int) -> set[str]:
    from rosp.engine.start_rates import known_indicator_ids

    catalogue = catalogue_for_run(year)
    return set(catalogue.indicators) if catalogue is not None else known_indicator_ids()


def stages(programmes: dict[str, ProgrammeDef] | None = None) -> list[str]:
    """Stage names reported to ``progress``, in order."""
    programmes = programmes or load_programmes()
    return ["load", "patientèles", *[f"indicateurs {s}" for s in programmes], "taux de départ", "scoring", "écriture"]


def _fmt_rate(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)) or x == "":
        return ""
    return f"{float(x):.6f}"


@contextmanager
def workspace(work_dir: str | Path | None = None) -> Iterator[Path]:
    """A fresh scratch directory under ``work_dir`` (default: the system temp directory),
    removed at the end: the DuckDB database file, its spill directory, exported views."""
    base = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="rosp-run-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(
    data_dir: str | Path,
    year: int,
    out_dir: str | Path,
    start_rates: str | Path | None = None,
    progress: Progress | None = None,
    *,
    engine: str = "duckdb",
    work_dir: str | Path | None = None,
    memory_limit: int | str | None = None,
    threads: int | None = None,
    spark_master: str | None = None,
    spark_conf: dict[str, str] | None = None,
    spark: Any = None,
    spark_loader: str = "spark",
) -> RunResult:
    """Load the extract in ``data_dir`` and run every programme for payment ``year``.

    ``start_rates``: a ``start_rates.csv`` of an earlier run (or its directory) to
    reuse; without it the reset year measures them on the year before.

    The loader (row checks, rejects, clean views) is Ibis code shared by both engines.
    DuckDB runs out of core: a file-backed database in a scratch directory under
    ``work_dir`` with an explicit ``memory_limit`` (:func:`rosp.engine.backends.open_duckdb`).
    With ``engine="spark"`` (``spark``, a SparkSession, or one started on ``spark_master``
    with ``spark_conf``) the whole run is on Spark: the loader reads the raw Parquet
    (``data_dir`` may be a path or a URI: ``file://``, ``hdfs://``, ``s3a://``), checks the
    rows and stores the clean views, then Spark computes patientèles, counts and evidence.
    The run directory is the same as DuckDB's apart from ``timings.json``.
    ``spark_loader="duckdb"`` keeps the older hand-over: the loader runs on DuckDB and the
    clean views go to Spark as Parquet (for CSV extracts, which the Spark loader refuses).
    """
    from rosp.claims.load import load_claims

    catalogue_for_run(year)  # fail fast, before loading: "no table in force for YEAR"

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if spark_loader not in SPARK_LOADERS:
        raise ValueError(f"spark_loader must be one of {', '.join(SPARK_LOADERS)}, not {spark_loader!r}")
    data_dir = check_data_location(data_dir, engine if engine == "duckdb" or spark_loader == "duckdb" else "spark")
    if engine == "spark" and spark is None:
        import importlib.util

        if importlib.util.find_spec("pyspark") is None:
            from rosp.errors import RospError

            raise RospError("--engine spark demande pyspark et Java 17 : pip install 'rosp[spark]'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with workspace(work_dir) as work:
        if engine == "spark" and spark_loader == "spark":
            return _run_spark_loader(data_dir, year, out, work, start_rates, progress, spark, spark_master,
                                     spark_conf)
        t0 = time.perf_counter()
        _tick(progress, "load", 0)
        con = open_duckdb(work / "duckdb", memory_limit=memory_limit, threads=threads)
        try:
            claims = load_claims(data_dir, year, rejects_dir=out / "rejected", con=con, work_dir=work,
                                 known_indicators=_known_indicators(year))
            settings = duckdb_settings(con)
            _tick(progress, "load", 1)
            timings = {"load": time.perf_counter() - t0}
            if engine == "spark":
                result = _run_spark(claims, year, out, work, timings, settings, spark, spark_master, spark_conf,
                                    _common(claims, start_rates, progress, work))
                result.warnings = list(claims.report.warnings)
                return result
            views = {n: claims.view(n) for n in CLEAN_VIEWS}
            result = run_on_views(claims.con, views, year, out, extra_timings=timings,
                                  run_info={"engine": "duckdb", "duckdb": settings},
                                  **_common(claims, start_rates, progress, work))
            result.warnings = list(claims.report.warnings)
            return result
        finally:
            con.disconnect()


def check_data_location(data: str | Path, engine: str) -> str | Path:
    """``data`` as the loader reads it: a local path (a ``file://`` URI becomes its path on
    DuckDB), or, on Spark, any URI its reader takes (``hdfs://``, ``s3a://``...: passed
    through). A cluster URI on DuckDB is refused (:class:`rosp.errors.RospError`)."""
    from urllib.parse import unquote, urlparse

    from rosp.errors import RospError

    text = str(data)
    if "://" not in text:
        return Path(data)
    scheme = urlparse(text).scheme.lower()
    if scheme == "file":
        return Path(unquote(urlparse(text).path))
    if engine == "duckdb":
        raise RospError(
            f"l'adresse {scheme}:// n'est lisible que par Spark : relancer avec --engine spark "
            "(DuckDB lit un répertoire local ou file://)", file=text)
    return text


def _common(claims, start_rates, progress, work) -> dict[str, Any]:
    report = claims.report.to_dict() if hasattr(claims.report, "to_dict") else {}
    return dict(input_files=claims.input_files, start_rates=start_rates, progress=progress,
                load_report=report, work_dir=work)


def _run_spark(claims, year, out, work, timings, settings, spark, master, conf, common) -> RunResult:
    """The clean views go to Parquet (DuckDB ``COPY``); Spark computes from there."""
    from rosp.engine.spark import export_views, views_to_spark

    t = time.perf_counter()
    views_dir = export_views(claims, work / "views")
    timings["export_views"] = time.perf_counter() - t
    with _spark_backend(spark, master, conf, work, timings) as (spark, backend):
        views = views_to_spark(views_dir, backend.ibis)
        info = {"engine": "spark", "spark_loader": "duckdb", "duckdb": settings,
                "spark_master": spark.sparkContext.master}
        return run_on_views(backend, views, year, out, extra_timings=timings, run_info=info, **common)


@contextmanager
def _spark_backend(spark, master, conf, work: Path, timings: dict[str, float]) -> Iterator[tuple[Any, Any]]:
    """The Spark session (``spark``, or one started on ``master`` with ``conf`` and stopped
    afterwards) and its backend, whose stored tables go to ``spark.rosp.scratchDir`` (default:
    the work dir)."""
    from rosp.engine.backends import SparkBackend
    from rosp.engine.spark import spark_backend, spark_session

    own = spark is None
    if own:
        t = time.perf_counter()
        conf = {"spark.local.dir": str(work / "spark-local"), **(conf or {})}
        spark = spark_session(master=master or "local[*]", conf=conf)
        timings["spark_start"] = time.perf_counter() - t
    scratch = spark.conf.get(SparkBackend.SCRATCH_CONF, None) or str(work / "spark-tables")
    backend = SparkBackend(spark_backend(spark), scratch=scratch)
    try:
        yield spark, backend
    finally:
        backend.close()
        if own:
            spark.stop()


def _run_spark_loader(data_dir, year, out, work, start_rates, progress, spark, master, conf) -> RunResult:
    """The whole run on Spark: the loader (row checks, rejects, clean views: the same Ibis
    code as DuckDB's) reads the raw Parquet, then the indicators run on the stored views."""

    timings: dict[str, float] = {}
    with _spark_backend(spark, master, conf, work, timings) as (spark, backend):
        try:
            return _spark_loader_run(backend, spark, data_dir, year, out, work, start_rates, progress, timings)
        finally:
            for name in (*CLEAN_VIEWS, *TABLES, "_rosp_doctor_map"):
                backend.drop(name)


def _spark_loader_run(backend, spark, data_dir, year, out, work, start_rates, progress, timings) -> RunResult:
    from rosp.claims.load import load_claims

    t0 = time.perf_counter()
    _tick(progress, "load", 0)
    claims = load_claims(data_dir, year, rejects_dir=out / "rejected", con=backend, work_dir=work,
                         known_indicators=_known_indicators(year))
    _tick(progress, "load", 1)
    timings["load"] = time.perf_counter() - t0
    views = {n: claims.view(n) for n in CLEAN_VIEWS}
    info = {"engine": "spark", "spark_loader": "spark", "spark_master": spark.sparkContext.master}
    result = run_on_views(backend, views, year, out, extra_timings=timings, run_info=info,
                          **_common(claims, start_rates, progress, work))
    result.warnings = list(claims.report.warnings)
    return result


def _tick(progress: Progress | None, stage: str, done: int, total: int = 1) -> None:
    if progress is not None:
        progress(stage, done, total)


def run_on_views(
    con: Any,
    views: dict[str, Any],
    year: int,
    out_dir: str | Path,
    *,
    input_files: dict[str, str] | None = None,
    start_rates: str | Path | None = None,
    progress: Progress | None = None,
    extra_timings: dict[str, float] | None = None,
    load_report: dict[str, Any] | None = None,
    work_dir: str | Path | None = None,
    run_info: dict[str, Any] | None = None,
) -> RunResult:
    """Run on clean views held by ``con``: an Ibis backend (DuckDB, PySpark) or a
    :class:`~rosp.engine.backends.QueryBackend`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence").mkdir(exist_ok=True)
    timings: dict[str, float] = dict(extra_timings or {})
    catalogue_for_run(year)  # NoTableInForce: "no table in force for YEAR"
    programmes = load_programmes()
    backend: QueryBackend = backend_for(con)
    comp = Compiler(views, year, con=backend)
    comp.plan(programmes)  # materialise only the shared results read more than once
    if work_dir is None:
        with workspace(None) as scratch:
            return _run_on_views(backend, comp, programmes, views, year, out, input_files, start_rates, progress,
                                 timings, load_report, scratch, run_info)
    return _run_on_views(backend, comp, programmes, views, year, out, input_files, start_rates, progress,
                         timings, load_report, Path(work_dir), run_info)


def _run_on_views(backend, comp, programmes, views, year, out, input_files, start_rates, progress, timings,
                  load_report, work_dir, run_info) -> RunResult:
    catalogue_in_force = catalogue_for_run(year)

    # --- patientèles
    t = time.perf_counter()
    _tick(progress, "patientèles", 0)
    pat_frames = []
    for slug, prog in programmes.items():
        p = comp.patientele(prog).execute()
        p["programme"] = slug
        pat_frames.append(p)
    patientele = pd.concat(pat_frames, ignore_index=True)[PATIENTELE_COLUMNS]
    patientele["doctor_id"] = patientele["doctor_id"].astype(str)
    patientele["patientele"] = patientele["patientele"].astype("int64")
    patientele = patientele.sort_values(["doctor_id", "programme"], kind="mergesort").reset_index(drop=True)
    _tick(progress, "patientèles", 1)
    timings["patienteles"] = time.perf_counter() - t

    # --- indicators, per programme
    decl = views["declarations"].execute()
    decl["doctor_id"] = decl["doctor_id"].astype(str)
    aggregates: dict[str, pd.DataFrame] = {}
    evidence_rows: dict[str, int] = {}
    for slug, prog in programmes.items():
        stage = f"indicateurs {slug}"
        t = time.perf_counter()
        _tick(progress, stage, 0)
        agg = write_programme_evidence(backend, comp, prog, out / "evidence" / f"{slug}.parquet", work_dir)
        evidence_rows[slug] = int(agg["rows"].sum())
        aggregates[slug] = agg.drop(columns=["rows"]).assign(doctor_id=agg["doctor_id"].astype(str))
        _tick(progress, stage, 1)
        timings[f"indicators:{slug}"] = time.perf_counter() - t

    # --- declarations: accepted only where the catalogue measures from declarations
    from rosp.engine.declarations import populations, screen_run_declarations

    decl_previous = None
    if catalogue_in_force is None:  # counts-only year: no table, so no declaration to screen
        decl, declarations_rejected, measured = decl.iloc[0:0], 0, set()
    else:
        from rosp.engine.declarations import declaration_years, previous_year_populations
        from rosp.engine.start_rates import previous_declarations_read

        pops = populations(catalogue_in_force, comp, programmes, views, patientele, aggregates)
        # declarations for N-1: the declared starting rates of the reset year
        read_prev, why = previous_declarations_read(views, year, catalogue_in_force, start_rates)
        pops_prev = None
        if read_prev and (declaration_years(decl, year) == year - 1).any():
            pops_prev = previous_year_populations(catalogue_in_force, views, programmes, year, backend)
        decl, declarations_rejected, decl_previous = screen_run_declarations(
            decl, catalogue_in_force, pops, out, year=year, previous_pops=pops_prev, previous_reason=why)
        measured = {i.id for i in catalogue_in_force.indicators.values() if i.measurement == "declaration"}
    comp.release()
    counts_frames = [_programme_counts(prog, patientele, aggregates[slug], decl, measured) for slug, prog in programmes.items()]
    counts = pd.concat(counts_frames, ignore_index=True)

    # --- starting rates (rosp/engine/start_rates.py)
    t = time.perf_counter()
    _tick(progress, "taux de départ", 0)
    from rosp.engine.start_rates import scoring_catalogue, with_start_rates

    catalogue = scoring_catalogue(year)
    counts, start_info = with_start_rates(backend, views, programmes, year, catalogue, start_rates, counts,
                                          decl_previous)
    counts = counts[COUNTS_COLUMNS].sort_values(["doctor_id", "programme", "indicator_id"], kind="mergesort")
    counts = counts.reset_index(drop=True)
    _tick(progress, "taux de départ", 1)
    timings["start_rates"] = time.perf_counter() - t

    # --- scoring and eligibility
    t = time.perf_counter()
    _tick(progress, "scoring", 0)
    indicators, payments, eligibility = _score(counts, patientele, year, views, catalogue)
    _tick(progress, "scoring", 1)
    timings["scoring"] = time.perf_counter() - t

    # --- writing
    t = time.perf_counter()
    _tick(progress, "écriture", 0)
    outputs = _write(out, counts, patientele, indicators, payments, eligibility)
    from rosp.engine.start_rates import write_outputs

    outputs |= write_outputs(out, year, catalogue, start_info, counts, indicators)
    outputs["evidence_rows"] = dict(sorted(evidence_rows.items()))
    outputs["declarations_rejected"] = declarations_rejected
    manifest = _manifest(year, catalogue, input_files or {}, outputs, programmes, load_report)
    manifest["start_rates"] = start_info.manifest()
    write_manifest(manifest, out / "manifest.json")
    _tick(progress, "écriture", 1)
    timings["writing"] = time.perf_counter() - t
    timings = {k: round(v, 3) for k, v in timings.items()}
    # the one file that differs between runs and engines: clock times and the run's setup
    record = {**timings, "run": run_info or {"engine": backend.name}}
    (out / "timings.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return RunResult(out, counts, patientele, indicators, payments, manifest, timings)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _programme_counts(
    prog: ProgrammeDef, patientele: pd.DataFrame, agg: pd.DataFrame, decl: pd.DataFrame, measured: set[str]
) -> pd.DataFrame:
    """doctor × indicator grid of one programme: doctors with a patientèle or any evidence.

    For an indicator of `measured` (the catalogue measures it from declarations) the row
    comes from the accepted declaration only; with none the row is left out (not declared)."""
    docs = set(patientele.loc[patientele["programme"] == prog.slug, "doctor_id"]) | set(agg["doctor_id"].astype(str))
    docs_df = pd.DataFrame({"doctor_id": pd.Series(sorted(docs), dtype="str")})
    inds = pd.DataFrame({"indicator_id": [i.id for i in prog.indicators], "_kind": ["declarative" if i.id in measured else i.kind for i in prog.indicators]})
    grid = docs_df.merge(inds, how="cross")
    agg = agg.assign(doctor_id=agg["doctor_id"].astype("str"), indicator_id=agg["indicator_id"].astype("str"))
    g = grid.merge(agg, on=["doctor_id", "indicator_id"], how="left")
    d = decl.rename(columns={"numerator": "d_num", "denominator": "d_den"})
    d = d.assign(doctor_id=d["doctor_id"].astype("str"), indicator_id=d["indicator_id"].astype("str"))
    g = g.merge(d[["doctor_id", "indicator_id", "d_num", "d_den", "declared_rate"]], on=["doctor_id", "indicator_id"], how="left", indicator="_d")
    g = g[(g["_kind"] != "declarative") | (g["_d"] == "both")].reset_index(drop=True)
    is_decl = g["_kind"] == "declarative"
    g["numerator"] = np.where(is_decl, g["d_num"], g["numerator"])
    g["denominator"] = np.where(is_decl, g["d_den"], g["denominator"])
    g["numerator"] = pd.to_numeric(g["numerator"]).fillna(0).astype("int64")
    g["denominator"] = pd.to_numeric(g["denominator"]).fillna(0).astype("int64")
    g["declared_rate"] = np.where(is_decl, g["declared_rate"].map(_fmt_rate), "")
    g["programme"] = prog.slug
    g["start_rate"] = ""
    return g[COUNTS_COLUMNS]


def _score(counts: pd.DataFrame, patientele: pd.DataFrame, year: int, views: dict[str, Any], catalogue):
    """Scoring and eligibility; a counts-only run (None) when no table is in force for `year`."""
    if catalogue is None:
        return None, None, None
    from rosp.scoring.batch import score_batch

    res = score_batch(counts.drop(columns=["programme"]), patientele, year, catalogue)
    indicators, payments = res.indicators.copy(), res.payments.copy()
    eligibility = None
    try:
        from rosp.eligibility import evaluate
    except ImportError:
        evaluate = None
    if evaluate is not None:
        doctors = views["doctors"].execute()
        doctors["doctor_id"] = doctors["doctor_id"].astype(str)
        eligibility = evaluate(doctors, year)
        eligibility = eligibility[["doctor_id", "programme", "eligible", "reason"]].copy()
        eligibility["doctor_id"] = eligibility["doctor_id"].astype(str)
        ok = eligibility.loc[eligibility["eligible"].astype(str).str.lower().isin(["true", "1"]), ["doctor_id", "programme"]]
        indicators = indicators.merge(ok, on=["doctor_id", "programme"], how="inner")
        payments = payments.merge(ok, on=["doctor_id", "programme"], how="inner")
    indicators = indicators.sort_values(["doctor_id", "programme", "indicator_id"], kind="mergesort").reset_index(drop=True)
    payments = payments.sort_values(["doctor_id", "programme"], kind="mergesort").reset_index(drop=True)
    return indicators, payments, eligibility


def _write(out: Path, counts, patientele, indicators, payments, eligibility) -> dict[str, Any]:
    from rosp.outputs import write_csv

    write_csv(counts[[c for c in COUNTS_COLUMNS if c != "programme"]], out / "counts.csv")
    write_csv(patientele, out / "patientele.csv")
    outputs: dict[str, Any] = {"counts": len(counts), "patientele": len(patientele)}
    if indicators is not None:
        from rosp.outputs import format_indicators, format_payments
        from rosp.scoring.batch import INDICATOR_COLUMNS, PAYMENT_COLUMNS

        write_csv(format_indicators(indicators)[INDICATOR_COLUMNS], out / "indicators.csv")
        write_csv(format_payments(payments)[PAYMENT_COLUMNS], out / "payments.csv")
        outputs |= {"indicators": len(indicators), "payments": len(payments)}
    if eligibility is not None:
        e = eligibility.sort_values(["doctor_id", "programme"], kind="mergesort").copy()
        e["eligible"] = np.where(e["eligible"].astype(str).str.lower().isin(["true", "1"]), "true", "false")
        write_csv(e, out / "eligibility.csv")
        outputs["eligibility"] = len(e)
    return outputs


def _manifest(year, catalogue, input_files, outputs, programmes, load_report) -> dict[str, Any]:
    """The run's manifest, through the one builder (rosp.io.manifest), plus what only a
    run has: the definitions' hashes, the indicator parameters and the load report."""
    from rosp.indicators.definitions import DEFINITIONS_DIR, PROGRAMMES
    from rosp.io.manifest import build_manifest, sha256_file

    extra: dict[str, Any] = {
        "definitions_sha256": {slug: sha256_file(DEFINITIONS_DIR / f"{stem}.toml") for slug, stem in PROGRAMMES.items()},
        "indicator_parameters": {
            slug: {
                "programme": {k: p.value for k, p in sorted(prog.params.items())},
                "indicators": {i.id: {k: p.value for k, p in sorted(i.params.items())} for i in prog.indicators if i.params},
            }
            for slug, prog in programmes.items()
        },
    }
    if load_report:
        extra["claims"] = load_report
    return build_manifest(command="run", year=year, catalogue=catalogue, inputs=input_files, outputs=outputs, extra=extra)


def explain_patients(run_dir: str | Path, doctor_id: str, indicator_id: str) -> pd.DataFrame:
    """Evidence rows of one doctor × indicator (pseudonymous patient ids), sorted by patient."""
    import duckdb

    files = sorted((Path(run_dir) / "evidence").glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no evidence in {run_dir}")
    lst = ", ".join(f"'{_sql_path(f)}'" for f in files)
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT * FROM read_parquet([{lst}]) WHERE doctor_id = ? AND indicator_id = ? ORDER BY patient_id",
            [str(doctor_id), str(indicator_id)],
        ).df()
    finally:
        con.close()


__all__ = ["ENGINES", "EVIDENCE_COLUMNS", "RESULT_COLUMNS", "RunResult", "explain_patients", "run", "run_on_views", "stages", "workspace"]
