"""`rosp run --data` takes a path or a URI: file:// on both engines; hdfs://, s3a://
(any Hadoop file system) on Spark, passed to Spark's reader; refused on DuckDB."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from spark_fixture import spark_missing
from typer.testing import CliRunner

from rosp.cli import app
from rosp.engine.run import check_data_location, run
from rosp.errors import RospError
from rosp.synth import generate


@pytest.mark.parametrize(
    "uri, engine, expected, reason",
    [
        ("/data/x", "duckdb", Path("/data/x"), "a path stays a path"),
        ("file:///data/x", "duckdb", Path("/data/x"), "file:// is a local path for DuckDB"),
        ("file:///data/x", "spark", Path("/data/x"), "file:// is read locally by Spark too"),
        ("file:///data/with%20space", "duckdb", Path("/data/with space"), "percent-escapes decoded"),
        ("hdfs://nn:8020/snds/2018", "spark", "hdfs://nn:8020/snds/2018", "hdfs:// passed to Spark as is"),
        ("s3a://bucket/snds/2018", "spark", "s3a://bucket/snds/2018", "s3a:// passed to Spark as is"),
    ],
)
def test_data_location(uri, engine, expected, reason):
    assert check_data_location(uri, engine) == expected, reason


@pytest.mark.parametrize("uri", ["hdfs://nn:8020/snds/2018", "s3a://bucket/snds/2018"])
def test_cluster_uri_refused_on_duckdb(uri):
    with pytest.raises(RospError, match="--engine spark"):
        check_data_location(uri, "duckdb")


def test_cli_refuses_a_cluster_uri_on_duckdb_with_exit_2(tmp_path):
    r = CliRunner().invoke(app, ["run", "--data", "hdfs://nn:8020/snds/2018", "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "--engine spark" in r.output and "Traceback" not in r.output


def test_file_uri_runs_like_a_path_on_duckdb(tmp_path):
    generate(300, 3, 2018, tmp_path / "data")
    a = run(tmp_path / "data", 2018, tmp_path / "a", work_dir=tmp_path / "w")
    b = run((tmp_path / "data").as_uri(), 2018, tmp_path / "b", work_dir=tmp_path / "w")
    assert (tmp_path / "a" / "counts.csv").read_bytes() == (tmp_path / "b" / "counts.csv").read_bytes()
    assert a.manifest["inputs"] == b.manifest["inputs"]


# ------------------------------------------------------------------ Spark side


@pytest.fixture
def spark_backend_(spark):
    from rosp.engine.backends import SparkBackend
    from rosp.engine.spark import spark_backend

    return SparkBackend(spark_backend(spark))


def test_spark_lists_and_hashes_through_hadoop(tmp_path, spark_backend_):
    if spark_missing():
        pytest.skip(spark_missing())
    (tmp_path / "IR_BEN_R.parquet").write_bytes(b"not really parquet")
    (tmp_path / "notes.txt").write_text("x")
    remote = spark_backend_.remote_dir(tmp_path.as_uri())
    files = {f.name: f for f in remote.iterdir()}
    assert set(files) == {"IR_BEN_R.parquet", "notes.txt"}
    f = files["IR_BEN_R.parquet"]
    assert (f.stem, f.suffix) == ("IR_BEN_R", ".parquet") and str(f).startswith("file:")
    assert f.sha256() == hashlib.sha256(b"not really parquet").hexdigest()


def test_spark_hands_an_s3a_uri_to_hadoop(spark_backend_):
    from rosp.claims.errors import ClaimsError
    from rosp.claims.load import load_claims

    # no S3 connector here: the error comes from Hadoop's file system lookup, so the
    # URI was passed through to Spark rather than read as a local path
    with pytest.raises(ClaimsError) as e:
        load_claims("s3a://bucket/snds/2018", 2018, con=spark_backend_)
    assert "s3a" in str(e.value)
