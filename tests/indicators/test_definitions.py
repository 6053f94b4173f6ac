"""Definition files: ids, provenance, parameters with source and confidence."""

from __future__ import annotations

import re

import pytest

from rosp.indicators import load_programmes
from rosp.indicators.definitions import DefinitionError, load_programme_file
from rosp.indicators.windows import resolve_window

EXPECTED = {
    "mt-enfant": [f"ENF-{i:02d}" for i in range(1, 11)],
    "cardiologie": [f"CAR-{i:02d}" for i in range(1, 10)],
    "gastro-enterologie": [f"GAS-{i:02d}" for i in range(1, 9)],
    "endocrinologie": [f"END-{i:02d}" for i in range(1, 9)],
}
DECLARATIVE = {"ENF-03", "ENF-08", "ENF-09", "END-02", "END-05", "GAS-08"}


def test_ids_kinds_and_provenance():
    progs = load_programmes()
    for slug, ids in EXPECTED.items():
        inds = progs[slug].indicators
        assert [i.id for i in inds] == ids
        for i in inds:
            assert (i.kind == "declarative") == (i.id in DECLARATIVE)
            assert i.provenance in ("verified", "inferred") and i.source
    assert {i.id for p in progs.values() for i in p.indicators if i.kind == "boxes"} == {"CAR-08", "CAR-09"}
    gas08 = progs["gastro-enterologie"].indicator("GAS-08")
    assert gas08.provenance == "inferred"


def test_params_have_source_and_confidence():
    for p in load_programmes().values():
        for prm in list(p.params.values()) + [x for i in p.indicators for x in i.params.values()]:
            assert prm.source and prm.confidence in ("high", "medium", "low")


def test_windows():
    import datetime as dt

    assert resolve_window("N", 2018) == (dt.date(2018, 1, 1), dt.date(2018, 12, 31))
    assert resolve_window("N-2", 2018) == (dt.date(2016, 1, 1), dt.date(2016, 12, 31))
    assert resolve_window("N-9:N", 2018)[0] == dt.date(2009, 1, 1)


def test_bad_definition_rejected(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text(
        '[programme]\nslug = "cardiologie"\ntable = 2018\nbasis = "specialist"\n'
        '[[indicators]]\nid = "CAR-01"\nkind = "patients"\nprovenance = "inferred"\n'
        'source = "s"\nconfidence = "low"\n'
        'denominator = [{ name = "a", block = "has_deliveries", list = "statins", window = "$nope" }]\n'
        'numerator = [{ name = "b", block = "has_deliveries", list = "statins", window = "N" }]\n',
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError, match=re.escape("$nope")):
        load_programme_file(f)


def test_docs_in_sync():
    from pathlib import Path

    from rosp.indicators.docs import render_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), "run: python -m rosp.indicators.docs > docs/indicators.md"
