"""Every computed patient indicator, through the real compiled Ibis, on both engines.

The ``engine`` fixture (in the manner of ehrQL's) runs each deck on DuckDB and on
Spark. Spark has a large fixed cost per query, so the decks are batched: all patients
of all decks in one extract (patient ids ``<indicator>|<case>``), one query per
programme and engine, computed once per test session; each deck test then reads its
own patients' rows."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from clean_builders import CleanViews
from decks import DECKS, DOCTORS
from spark_fixture import ENGINES, spark_session_for_tests

from rosp.indicators import load_programmes
from rosp.indicators.compiler import Compiler

PROGRAMMES = load_programmes()
IND = {i.id: (p, i) for p in PROGRAMMES.values() for i in p.indicators}
COLUMNS = ["patient_id", "in_denominator", "in_numerator", "reason", "claim_table", "claim_date"]


def _all_decks() -> CleanViews:
    cv = CleanViews()
    for did, spe in (("GP1", 1), ("GP2", 1), ("CAR1", 3), ("GAS1", 8), ("END1", 42)):
        cv.doctor(did, spe)
    for iid, cases in sorted(DECKS.items()):
        for name, history, *_ in cases:
            history(cv, f"{iid}|{name}")
    return cv


def _views(engine: str, tmp: str):
    con, views = _all_decks().build()
    if engine == "duckdb":
        return con, views
    from pathlib import Path

    from rosp.engine.spark import spark_backend, views_to_spark

    out = Path(tmp)
    for name in views:
        path = str(out / f"{name}.parquet").replace("'", "''")
        con.con.execute(f"COPY \"{name}\" TO '{path}' (FORMAT parquet)")
    backend = spark_backend(spark_session_for_tests())
    return backend, views_to_spark(out, backend)


@functools.cache
def _evidence(engine: str, tmp: str) -> pd.DataFrame:
    """The evidence rows of every deck patient on ``engine``: one query per programme."""
    from rosp.engine.backends import backend_for

    con, views = _views(engine, tmp)
    backend = backend_for(con)
    comp = Compiler(views, 2018, con=backend)
    comp.plan(PROGRAMMES)  # keep only the shared results read more than once (as rosp run does)
    frames = []
    for slug, prog in PROGRAMMES.items():
        parts = []
        for iid in sorted(DECKS):
            p, ind = IND[iid]
            if p.slug != slug:
                continue
            e = comp.compile(ind, prog)
            e = e.filter(e.doctor_id == DOCTORS[slug], e.patient_id.startswith(f"{iid}|"))
            parts.append(e.select(*COLUMNS))
        if parts:
            ev = parts[0]
            for q in parts[1:]:
                ev = ev.union(q, distinct=False)
            frames.append(backend.to_pandas(ev))
    comp.release()
    return pd.concat(frames, ignore_index=True).set_index("patient_id")


@pytest.fixture(scope="session", params=ENGINES)
def engine(request):
    if request.param == "spark":
        spark_session_for_tests()  # skips without pyspark or Java
    return request.param


@pytest.fixture(scope="session")
def deck_evidence(engine, tmp_path_factory):
    return _evidence(engine, str(tmp_path_factory.mktemp(f"decks_{engine}")))


@pytest.mark.parametrize("indicator_id", sorted(DECKS))
def test_deck(deck_evidence, engine, indicator_id):
    cases = DECKS[indicator_id]
    df = deck_evidence
    failures = []
    for name, _, in_den, in_num, reason in cases:
        pid = f"{indicator_id}|{name}"
        if reason is None:
            if pid in df.index:
                failures.append(f"{name}: expected no evidence row, got {df.loc[pid, 'reason']}")
            continue
        if pid not in df.index:
            failures.append(f"{name}: no evidence row")
            continue
        row = df.loc[pid]
        got = (bool(row.in_denominator), bool(row.in_numerator), row.reason)
        if got != (in_den, in_num, reason):
            failures.append(f"{name}: expected {(in_den, in_num, reason)}, got {got}")
        elif in_den or in_num:
            assert row.claim_table and row.claim_date is not None and not pd.isna(row.claim_date)
    assert not failures, f"{engine}:\n" + "\n".join(failures)


def test_every_computed_indicator_has_a_deck():
    computed = {i for i, (_, d) in IND.items() if d.kind == "patients"}
    assert computed == set(DECKS)
    for cases in DECKS.values():
        names = [c[0] for c in cases]
        assert len(names) == len(set(names))
        assert any(c[2] and c[3] for c in cases), "each deck has an in_denominator_and_numerator case"
        assert any(c[2] and not c[3] for c in cases), "each deck has a denominator_only case"
