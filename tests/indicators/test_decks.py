"""Every computed patient indicator, through the real compiled Ibis on DuckDB."""

from __future__ import annotations

import pytest
from clean_builders import CleanViews
from decks import DECKS, DOCTORS

from rosp.indicators import load_programmes
from rosp.indicators.compiler import Compiler

PROGRAMMES = load_programmes()
IND = {i.id: (p, i) for p in PROGRAMMES.values() for i in p.indicators}


def _views(cases):
    cv = CleanViews()
    for did, spe in (("GP1", 1), ("GP2", 1), ("CAR1", 3), ("GAS1", 8), ("END1", 42)):
        cv.doctor(did, spe)
    for name, history, *_ in cases:
        history(cv, name)
    return cv.build()


@pytest.mark.parametrize("indicator_id", sorted(DECKS))
def test_deck(indicator_id):
    prog, ind = IND[indicator_id]
    cases = DECKS[indicator_id]
    con, views = _views(cases)
    df = Compiler(views, 2018, con=con).compile(ind, prog).execute()
    df = df[df.doctor_id == DOCTORS[prog.slug]].set_index("patient_id")
    failures = []
    for name, _, in_den, in_num, reason in cases:
        if reason is None:
            if name in df.index:
                failures.append(f"{name}: expected no evidence row, got {df.loc[name, 'reason']}")
            continue
        if name not in df.index:
            failures.append(f"{name}: no evidence row")
            continue
        row = df.loc[name]
        got = (bool(row.in_denominator), bool(row.in_numerator), row.reason)
        if got != (in_den, in_num, reason):
            failures.append(f"{name}: expected {(in_den, in_num, reason)}, got {got}")
        elif in_den or in_num:
            assert row.claim_table and row.claim_date is not None
    assert not failures, "\n".join(failures)


def test_every_computed_indicator_has_a_deck():
    computed = {i for i, (_, d) in IND.items() if d.kind == "patients"}
    assert computed == set(DECKS)
    for cases in DECKS.values():
        names = [c[0] for c in cases]
        assert len(names) == len(set(names))
        assert any(c[2] and c[3] for c in cases), "each deck has an in_denominator_and_numerator case"
        assert any(c[2] and not c[3] for c in cases), "each deck has a denominator_only case"
