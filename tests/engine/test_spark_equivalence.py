"""One definition, two engines: the same compiled Ibis indicator definitions run on
DuckDB and on Apache Spark (PySpark, local mode) must find the same numerator and
denominator for every doctor × computed indicator of a synthetic extract.

Skipped only when pyspark or a Java runtime is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("pyspark", reason="pyspark not installed (pip install -e '.[spark]')")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


if _java() is None:
    pytest.skip("no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start", allow_module_level=True)

from rosp.claims.load import load_claims  # noqa: E402
from rosp.claims.views import VIEWS  # noqa: E402
from rosp.engine.run import run  # noqa: E402
from rosp.engine.spark import compute_counts, spark_session, views_to_spark  # noqa: E402
from rosp.indicators.definitions import load_programmes  # noqa: E402
from rosp.synth import generate  # noqa: E402

YEAR = 2018
PATIENTS = 6_000  # smallest size at which seed 7 gives every computed indicator a denominator
SEED = 7
COMPUTED = {i.id: i.kind for p in load_programmes().values() for i in p.indicators if not i.declared}


@pytest.fixture(scope="module")
def spark():
    session = spark_session(master="local[2]", shuffle_partitions=4)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark_equivalence")
    generate(PATIENTS, SEED, YEAR, root / "data")
    claims = load_claims(root / "data", YEAR)
    return root, claims


@pytest.fixture(scope="module")
def duck_counts(extract):
    _, claims = extract
    return compute_counts({n: claims.view(n) for n in VIEWS}, YEAR, claims.con)


@pytest.fixture(scope="module")
def spark_views(extract, spark):
    root, claims = extract
    return views_to_spark(claims, spark, export_dir=root / "views")


def test_clean_views_keep_their_types_on_spark(extract, spark_views):
    _, claims = extract
    assert set(spark_views) == set(VIEWS)
    for name in VIEWS:
        duck, sp = claims.view(name), spark_views[name]
        assert dict(sp.schema().items()) == dict(duck.schema().items()), name
        assert sp.count().execute() == duck.count().execute(), name


def test_spark_and_duckdb_find_the_same_counts(duck_counts, spark_views):
    sp = compute_counts(spark_views, YEAR)
    # non-trivial extract: every computed indicator (patients and boxes) has denominators
    nz = duck_counts[duck_counts["denominator"] > 0]
    assert set(nz["indicator_id"]) == set(COMPUTED)
    assert {COMPUTED[i] for i in nz["indicator_id"]} == {"patients", "boxes"}
    assert len(nz) >= 50 and (duck_counts["numerator"] > 0).sum() >= 40
    assert duck_counts["doctor_id"].nunique() >= 5
    pd.testing.assert_frame_equal(sp, duck_counts)


def test_duckdb_counts_are_the_run_counts(extract, duck_counts, tmp_path):
    """compute_counts aggregates exactly as `rosp run` (same rows once the run's zero grid is dropped)."""
    root, _ = extract
    res = run(root / "data", YEAR, tmp_path / "run")
    c = res.counts[res.counts["indicator_id"].isin(list(COMPUTED))]
    c = c[(c["numerator"] != 0) | (c["denominator"] != 0)]
    mine = duck_counts[(duck_counts["numerator"] != 0) | (duck_counts["denominator"] != 0)]
    key = ["indicator_id", "doctor_id"]
    a = c[[*key, "numerator", "denominator"]].sort_values(key).reset_index(drop=True)
    b = mine[[*key, "numerator", "denominator"]].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
