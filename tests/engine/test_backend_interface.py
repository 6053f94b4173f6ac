"""The five operations of the backend interface behave the same on both engines
(in the manner of ehrQL's query-engine tests): materialise, release, empty table,
to Arrow, write Parquet (byte-identical files from identical rows)."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from spark_fixture import ENGINES

from rosp.engine.backends import backend_for

SCHEMA = pa.schema([("k", pa.string()), ("n", pa.int64()), ("d", pa.date32())])
ROWS = {"k": ["b", "a", "c", "a"], "n": [2, 1, 3, 4], "d": [dt.date(2018, 1, i) for i in (2, 1, 3, 4)]}


@pytest.fixture(params=ENGINES)
def backend(request, tmp_path):
    if request.param == "duckdb":
        b = backend_for(ibis.duckdb.connect())
    else:
        from rosp.engine.backends import SparkBackend
        from rosp.engine.spark import spark_backend

        b = SparkBackend(spark_backend(request.getfixturevalue("spark")), scratch=tmp_path / "scratch")
    yield b
    b.close()


def _source(backend):
    t = pa.table(ROWS, schema=SCHEMA)
    if backend.name == "duckdb":
        backend.raw.register("src", t)
        return backend.ibis.table("src")
    backend.session.createDataFrame(t.to_pandas()).createOrReplaceTempView("src")
    return backend.ibis.table("src")


def test_the_five_operations(backend, tmp_path):
    src = _source(backend)
    kept = backend.materialise(src.filter(src.n > 1), "t")
    assert sorted(backend.to_arrow(kept).column("n").to_pylist()) == [2, 3, 4]
    empty = backend.empty_table(ibis.Schema.from_pyarrow(SCHEMA))
    assert backend.to_arrow(empty).num_rows == 0
    both = kept.union(empty, distinct=False)
    assert backend.count(both) == 3
    n = backend.write_parquet(both.select("k", "n", "d"), tmp_path / "out.parquet", ["k", "n"], SCHEMA, tmp_path)
    assert n == 3
    backend.release(kept)
    backend.release(empty)


def test_both_engines_write_the_same_bytes(tmp_path_factory, spark):
    from rosp.engine.backends import SparkBackend
    from rosp.engine.spark import spark_backend

    files = []
    for b in (backend_for(ibis.duckdb.connect()), SparkBackend(spark_backend(spark))):
        out = tmp_path_factory.mktemp(b.name)
        src = _source(b)
        b.write_parquet(src, out / "x.parquet", ["k", "n"], SCHEMA, out)
        files.append((out / "x.parquet").read_bytes())
        b.close()
    assert files[0] == files[1]


def test_the_key_hash_is_64_bits_on_both_engines(backend):
    """The duplicate-key probe trusts "no repeated hash" (rosp.claims.validate.has_duplicate_keys):
    with Spark's 32-bit ``hash`` the 10 M lines of a 1 M-patient ER_PRS_F always collided and
    every large table paid the exact ranking and two more copies. 64 bits show as hashes
    outside the 32-bit range."""
    src = _source(backend)
    h = src.select(h=backend.hash64(ibis.struct({"k": src.k, "n": src.n, "d": src.d})))
    values = backend.to_arrow(h).column("h").to_pylist()
    assert len(set(values)) == 4, "distinct keys, distinct hashes"
    assert any(abs(v) >= 2**31 for v in values), "a 32-bit hash"
