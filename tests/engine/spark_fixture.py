"""The one Spark session of a test process (in the manner of ehrQL's engine fixture:
every engine-parametrised test gets the same session; it is started on first use and
stops with the process). Skips when pyspark or a Java runtime is missing."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ENGINES = ("duckdb", "spark")


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark not installed (pip install 'rosp[spark]')"
    if java() is None:
        return "no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start"
    return None


@functools.cache
def _session():
    from rosp.engine.spark import spark_session

    # tiny data: one core for tasks, one shuffle partition, no whole-stage codegen and no
    # adaptive execution (each adaptive stage is a job of its own)
    # cut Spark's fixed cost per query (measured: docs/scaling.md, "Spark in the tests")
    return spark_session(master="local[1]", shuffle_partitions=1,
                         conf={"spark.sql.codegen.wholeStage": "false", "spark.sql.adaptive.enabled": "false"})


def spark_session_for_tests():
    reason = spark_missing()
    if reason is not None:
        pytest.skip(reason)
    return _session()


@pytest.fixture(scope="session")
def spark():
    return spark_session_for_tests()
