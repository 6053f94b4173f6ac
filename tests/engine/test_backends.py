"""The query-backend interface on DuckDB (Spark: tests/engine/test_spark_equivalence.py),
the empty-table path on DuckDB 2, canonical Parquet, and the out-of-core setup of a run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clean_builders import CleanViews
from decks import DECKS

from rosp.engine.backends import (
    DuckDBBackend,
    default_memory_limit,
    open_duckdb,
    parse_size,
    write_canonical_parquet,
)
from rosp.engine.evidence import EVIDENCE_SCHEMA
from rosp.engine.run import run, run_on_views
from rosp.indicators import load_programmes
from rosp.indicators.compiler import _EVENT_SCHEMA, _WITNESS_SCHEMA, Compiler

PMSI = ("hospital_stays", "hospital_diagnoses", "hospital_acts")


def deck_population() -> CleanViews:
    cv = CleanViews()
    for did, spe in (("GP1", 1), ("GP2", 1), ("CAR1", 3), ("GAS1", 8), ("END1", 42)):
        cv.doctor(did, spe)
    for iid, cases in sorted(DECKS.items()):
        for name, history, *_ in cases:
            history(cv, f"{iid}_{name}")
    return cv


def test_empty_table_on_duckdb_2_is_a_real_table():
    """Ibis 12's Backend.sql() calls fetch_arrow_table on the connection, which DuckDB 2
    removed: the empty table must not go through it."""
    con = ibis.duckdb.connect()
    comp = Compiler({}, 2018, con=con)
    for schema in (_WITNESS_SCHEMA, _EVENT_SCHEMA):
        t = comp._empty(schema)
        assert t.schema() == schema
        assert t.count().execute() == 0
    comp.release()


def test_an_extract_without_pmsi_reaches_the_empty_tables(tmp_path):
    """Without the hospital views, hospital conditions compile to empty witness tables
    (has_hospital_dx, hospital_stay_with, has_stay_relative) and the run completes."""
    con, views = deck_population().build()
    for name in PMSI:
        del views[name]
    res = run_on_views(con, views, 2018, tmp_path / "run")
    comp = Compiler(views, 2018, con=con)
    prog = load_programmes()["endocrinologie"]
    ind = next(i for i in prog.indicators if any(c.block == "hospital_stay_with" for c in i.denominator + i.numerator))
    assert comp.compile(ind, prog).execute().shape[1] == 10
    assert comp._temp, "the empty-table path was reached"
    comp.release()
    assert len(res.counts) > 0 and res.counts["denominator"].sum() > 0
    # and the same run with the PMSI views differs (the hospital conditions matter)
    con2, views2 = deck_population().build()
    res2 = run_on_views(con2, views2, 2018, tmp_path / "run2")
    assert not res.counts.equals(res2.counts)


def test_duckdb_backend_operations(tmp_path):
    con = ibis.duckdb.connect()
    b = DuckDBBackend(con)
    t = ibis.memtable(pa.table({"a": ["y", "x", "z"], "n": [2, 1, 3]}))
    kept = b.materialise(t.filter(t.n > 1), "test")
    assert sorted(b.to_arrow(kept)["a"].to_pylist()) == ["y", "z"]
    assert b.to_pandas(kept.count().as_table()).iloc[0, 0] == 2
    name = kept.get_name()
    b.release(kept)
    tables = {r[0] for r in con.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert name not in tables  # (Ibis's list_tables() fails on DuckDB 2)
    e = b.empty_table(ibis.schema({"a": "string", "d": "date", "n": "int64"}))
    assert b.to_arrow(e).num_rows == 0
    schema = pa.schema([("a", pa.string()), ("n", pa.int64())])
    assert b.write_parquet(t, tmp_path / "t.parquet", ["a"], schema, tmp_path) == 3
    assert pq.read_table(tmp_path / "t.parquet")["a"].to_pylist() == ["x", "y", "z"]


def test_canonical_parquet_does_not_depend_on_batching(tmp_path):
    n = 1000
    data = pa.table({"doctor_id": [f"D{i % 7}" for i in range(n)], "n": list(range(n))})
    schema = pa.schema([("doctor_id", pa.string()), ("n", pa.int64())])
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_canonical_parquet(data.to_batches(max_chunksize=1000), a, schema, row_group_rows=128)
    # other batch sizes, other column order, int32 instead of int64: same bytes
    other = data.select(["n", "doctor_id"]).cast(pa.schema([("n", pa.int32()), ("doctor_id", pa.string())]))
    write_canonical_parquet(other.to_batches(max_chunksize=37), b, schema, row_group_rows=128)
    assert a.read_bytes() == b.read_bytes()
    meta = pq.ParquetFile(a).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [128] * 7 + [104]
    write_canonical_parquet(iter(()), tmp_path / "e.parquet", EVIDENCE_SCHEMA)
    assert pq.read_table(tmp_path / "e.parquet").schema == EVIDENCE_SCHEMA


@pytest.mark.parametrize(
    "text, size",
    [("4GiB", 4 * 2**30), ("512MB", 512 * 10**6), ("2g", 2 * 2**30), ("1.5GiB", 3 * 2**29), ("1000", 1000),
     (None, None)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_open_duckdb_sets_every_spill_setting(tmp_path):
    con = open_duckdb(tmp_path / "w", memory_limit="1GiB", threads=1, max_temp_size="2GiB")
    raw = con.con

    def setting(name):
        return raw.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]

    assert (tmp_path / "w" / "rosp.duckdb").exists()
    assert setting("temp_directory") == str(tmp_path / "w" / "tmp")
    assert setting("memory_limit").replace(" ", "") in ("1.0GiB", "1024.0MiB")
    assert setting("max_temp_directory_size").replace(" ", "") in ("2.0GiB", "2048.0MiB")
    assert setting("threads") == 1
    con.disconnect()
    assert 2**30 <= default_memory_limit() <= 4 * 2**30


def test_run_is_out_of_core_in_its_work_dir(tmp_path, monkeypatch):
    """The run's database and spill files live in a scratch directory under --work-dir,
    removed at the end; nothing lands in the current directory (DuckDB 2's ./.tmp)."""
    from rosp.synth import generate

    generate(300, 3, 2018, tmp_path / "data")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    work = tmp_path / "work"
    seen = {}
    real_open = open_duckdb

    def spy(path, **kw):
        con = real_open(path, **kw)
        seen["path"] = Path(path)
        seen["memory"] = con.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        return con

    monkeypatch.setattr(sys.modules["rosp.engine.run"], "open_duckdb", spy)
    res = run(tmp_path / "data", 2018, tmp_path / "out", work_dir=work, memory_limit="512MiB", threads=1)
    assert seen["path"].parent.parent == work
    assert seen["memory"].replace(" ", "") in ("512.0MiB", "0.5GiB")
    assert list(work.iterdir()) == []  # scratch removed
    assert os.listdir(cwd) == []
    assert res.timings["load"] >= 0
    # evidence counts are the counts of the run
    ev = duckdb.sql(f"SELECT doctor_id, indicator_id, sum(num_units) n, sum(den_units) d "
                    f"FROM read_parquet('{tmp_path}/out/evidence/*.parquet') GROUP BY ALL").df()
    m = res.counts.merge(ev, on=["doctor_id", "indicator_id"])
    assert len(m) > 0 and (m.numerator == m.n).all() and (m.denominator == m.d).all()
    assert pd.read_json(tmp_path / "out" / "timings.json", typ="series")["run"]["engine"] == "duckdb"
