"""Per-statement timing of the DuckDB loader (``ROSP_PROFILE_SQL=path``).

With the environment variable ``ROSP_PROFILE_SQL`` set to a file path, :func:`profiled`
wraps the DuckDB connection of a load in a proxy that times every statement (and the
fetch of its result) and appends one JSON line per statement to that file:
``{"seconds": ..., "rows": ..., "sql": "..."}``. ``rows`` is the row count of a fetched
result (for ``CREATE TABLE ... AS`` DuckDB returns the number of rows written). Only SQL
text is logged (table and column names, literals of the definitions): never data.
``benchmarks/profile_load.py`` sums the log into the table of docs/scaling.md.

On Spark (lazy: a query runs when its result is stored or fetched) the backend's
operations that run jobs are timed instead (``store``, ``materialise``, ``to_arrow``,
``write_parquet``), one line each with ``"sql"`` = ``"<operation> <table>: <SQL head>"``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ENV = "ROSP_PROFILE_SQL"


class _Result:
    """A fetched result standing in for the connection ``execute`` returned."""

    def __init__(self, rows: list[Any], con: Any) -> None:
        self._rows, self._con = rows, con

    def fetchall(self) -> list[Any]:
        return self._rows

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _Relation:
    def __init__(self, rel: Any, sql: str, log: Any) -> None:
        self._rel, self._sql, self._log = rel, sql, log

    def _timed(self, method: str, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        out = getattr(self._rel, method)(*args, **kwargs)
        rows = getattr(out, "num_rows", None)
        if rows is None and isinstance(out, list):
            rows = len(out)
        self._log(self._sql, time.perf_counter() - t, rows)
        return out

    def to_arrow_table(self, *a: Any, **k: Any) -> Any:
        return self._timed("to_arrow_table", *a, **k)

    def arrow(self, *a: Any, **k: Any) -> Any:
        return self._timed("arrow", *a, **k)

    def fetchall(self, *a: Any, **k: Any) -> Any:
        return self._timed("fetchall", *a, **k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rel, name)


class TimingConnection:
    """Forwards everything to a DuckDB connection; times ``execute`` and ``sql``."""

    def __init__(self, con: Any, path: str) -> None:
        self._con = con
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close_log

    def _log(self, sql: str, seconds: float, rows: int | None) -> None:
        self._fh.write(json.dumps({"seconds": round(seconds, 6), "rows": rows, "sql": " ".join(sql.split())}) + "\n")
        self._fh.flush()

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        self._con.execute(sql, *args, **kwargs)
        try:
            rows = self._con.fetchall()
        except Exception:  # noqa: BLE001 - statements without a result
            rows = []
        n = rows[0][0] if len(rows) == 1 and len(rows[0]) == 1 and sql.lstrip().upper().startswith("CREATE") else len(rows)
        self._log(sql, time.perf_counter() - t, n if isinstance(n, int) else None)
        return _Result(rows, self)

    def sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return _Relation(self._con.sql(sql, *args, **kwargs), sql, self._log)

    def close_log(self) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@contextmanager
def profiled(backend: Any) -> Iterator[None]:
    """While active, time every statement of ``backend`` (a DuckDB QueryBackend) when
    ``ROSP_PROFILE_SQL`` is set; otherwise do nothing."""
    path = os.environ.get(ENV)
    if path and getattr(backend, "name", "") == "spark":
        with _spark_profiled(backend, path):
            yield
        return
    if not path or getattr(backend, "name", "") != "duckdb":
        yield
        return
    ib = backend.ibis
    real = ib.con
    proxy = TimingConnection(real, path)
    ib.con = proxy
    try:
        yield
    finally:
        ib.con = real
        proxy.close_log()


#: the Spark backend's operations that run jobs
_SPARK_OPS = ("store", "materialise", "to_arrow", "write_parquet")


@contextmanager
def _spark_profiled(backend: Any, path: str) -> Iterator[None]:
    with open(path, "a", encoding="utf-8") as fh:

        def wrap(op: str, real: Any) -> Any:
            def timed(expr: Any, *args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                out = real(expr, *args, **kwargs)
                name = args[0] if args and isinstance(args[0], str) else ""
                try:
                    head = " ".join(backend.ibis.compile(expr).split())[:300]
                except Exception:  # noqa: BLE001 - the profile never fails a run
                    head = ""
                rows = getattr(out, "num_rows", None)
                fh.write(json.dumps({"seconds": round(time.perf_counter() - t, 6), "rows": rows,
                                     "sql": f"{op} {name}: {head}"}) + "\n")
                fh.flush()
                return out
            return timed

        for op in _SPARK_OPS:
            setattr(backend, op, wrap(op, getattr(backend, op)))
        try:
            yield
        finally:
            for op in _SPARK_OPS:
                delattr(backend, op)
