"""Evidence rows and their counts, produced by one function on any engine.

Per programme, the evidence of every computed indicator (the compiler's per-patient
rows tagged with programme and indicator) is one query, streamed sorted by
``doctor_id, indicator_id, patient_id`` to ``evidence/<programme>.parquet``; the
numerator and denominator per doctor × indicator are tallied from the same stream,
so the evidence is neither materialised nor read twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rosp.engine.backends import QueryBackend, write_canonical_parquet
from rosp.indicators.compiler import RESULT_COLUMNS, Compiler
from rosp.indicators.definitions import ProgrammeDef

EVIDENCE_COLUMNS = ("doctor_id", "programme", "indicator_id", *RESULT_COLUMNS[1:])
EVIDENCE_ORDER = ("doctor_id", "indicator_id", "patient_id")
#: the Arrow schema of the evidence files (same on every engine)
EVIDENCE_SCHEMA = pa.schema(
    [
        ("doctor_id", pa.string()),
        ("programme", pa.string()),
        ("indicator_id", pa.string()),
        ("patient_id", pa.string()),
        ("in_denominator", pa.bool_()),
        ("in_numerator", pa.bool_()),
        ("den_units", pa.int64()),
        ("num_units", pa.int64()),
        ("reason", pa.string()),
        ("claim_table", pa.string()),
        ("claim_date", pa.date32()),
        ("claim_code", pa.string()),
    ]
)
AGG_COLUMNS = ["doctor_id", "indicator_id", "numerator", "denominator", "rows"]


def programme_evidence(comp: Compiler, prog: ProgrammeDef) -> Any:
    """The evidence rows of ``prog``'s computed indicators as one Ibis expression (None if none)."""
    parts = []
    for ind in prog.indicators:
        # every definition with a claims form is compiled: for a declaration-measured
        # indicator (CAR-07, GAS-07) it gives the population declarations are checked against
        if ind.kind == "declarative":
            continue
        e = comp.compile(ind, prog)
        e = e.mutate(programme=ibis.literal(prog.slug, "string"), indicator_id=ibis.literal(ind.id, "string"))
        parts.append(e.select(*EVIDENCE_COLUMNS))
    if not parts:
        return None
    ev = parts[0]
    for p in parts[1:]:
        ev = ev.union(p, distinct=False)
    return ev


def indicator_counts(backend: Any, comp: Compiler, programmes: Mapping[str, ProgrammeDef]) -> pd.DataFrame:
    """doctor_id, numerator, denominator, indicator_id of every indicator computed from
    claims (not :attr:`~rosp.indicators.definitions.IndicatorDef.declared`), per doctor with
    evidence: one query per programme (Spark pays a fixed cost per query)."""
    from rosp.engine.backends import backend_for

    qb = backend_for(backend)
    frames = []
    for prog in programmes.values():
        parts = []
        for ind in prog.indicators:
            if ind.declared:
                continue
            e = comp.compile(ind, prog)
            parts.append(e.select("doctor_id", num_units=e.num_units.cast("int64"),
                                  den_units=e.den_units.cast("int64"),
                                  indicator_id=ibis.literal(ind.id, "string")))
        if not parts:
            continue
        ev = parts[0]
        for p in parts[1:]:
            ev = ev.union(p, distinct=False)
        agg = ev.group_by(["doctor_id", "indicator_id"]).aggregate(
            numerator=ev.num_units.sum().cast("int64"), denominator=ev.den_units.sum().cast("int64"))
        frames.append(qb.to_pandas(agg) if qb is not None else agg.execute())
    columns = ["doctor_id", "numerator", "denominator", "indicator_id"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    return out.sort_values(["indicator_id", "doctor_id"], kind="mergesort").reset_index(drop=True)


def _tally(batches: Iterable[pa.RecordBatch], acc: list[pa.Table]) -> Iterator[pa.RecordBatch]:
    for b in batches:
        if b.num_rows:
            t = pa.table({
                "doctor_id": b.column("doctor_id"),
                "indicator_id": b.column("indicator_id"),
                "num_units": pc.cast(b.column("num_units"), pa.int64()),
                "den_units": pc.cast(b.column("den_units"), pa.int64()),
            })
            acc.append(t.group_by(["doctor_id", "indicator_id"]).aggregate(
                [("num_units", "sum"), ("den_units", "sum"), ("doctor_id", "count")]))
        yield b


def _combine(acc: list[pa.Table]) -> pd.DataFrame:
    if not acc:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c not in ("doctor_id", "indicator_id") else "str")
                             for c in AGG_COLUMNS})
    t = pa.concat_tables(acc).group_by(["doctor_id", "indicator_id"]).aggregate(
        [("num_units_sum", "sum"), ("den_units_sum", "sum"), ("doctor_id_count", "sum")])
    df = t.to_pandas()
    df = df.rename(columns={"num_units_sum_sum": "numerator", "den_units_sum_sum": "denominator",
                            "doctor_id_count_sum": "rows"})
    df = df.astype({"doctor_id": "str", "indicator_id": "str", "numerator": "int64", "denominator": "int64",
                    "rows": "int64"})
    return df[AGG_COLUMNS].sort_values(["doctor_id", "indicator_id"], kind="mergesort").reset_index(drop=True)


def write_programme_evidence(backend: QueryBackend, comp: Compiler, prog: ProgrammeDef, path: Path,
                             work_dir: Path) -> pd.DataFrame:
    """Write ``prog``'s evidence to ``path``; returns doctor_id, indicator_id, numerator,
    denominator, rows (evidence rows) per doctor × indicator with evidence."""
    ev = programme_evidence(comp, prog)
    acc: list[pa.Table] = []
    batches = iter(()) if ev is None else backend.sorted_batches(ev, EVIDENCE_ORDER, work_dir)
    write_canonical_parquet(_tally(batches, acc), path, EVIDENCE_SCHEMA)
    return _combine(acc)


def write_evidence(backend: QueryBackend, comp: Compiler, programmes: Mapping[str, ProgrammeDef],
                   out_dir: Path, work_dir: Path, on_programme=None) -> dict[str, pd.DataFrame]:
    """Evidence of every programme in ``out_dir/<slug>.parquet``; per programme its tallies."""
    out = {}
    for slug, prog in programmes.items():
        out[slug] = write_programme_evidence(backend, comp, prog, Path(out_dir) / f"{slug}.parquet", work_dir)
        if on_programme is not None:
            on_programme(slug)
    return out


__all__ = ["EVIDENCE_COLUMNS", "EVIDENCE_SCHEMA", "indicator_counts", "programme_evidence", "write_evidence", "write_programme_evidence"]
