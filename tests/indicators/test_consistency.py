"""Facts written once (issue 7 §8): catalogue × definitions × parameters × synth."""

from __future__ import annotations

import pytest

from rosp.indicators.consistency import check_consistency
from rosp.indicators.definitions import DefinitionError, load_programme_file


def test_catalogue_definitions_parameters_synth_agree():
    assert check_consistency(2018) == []


def test_labels_and_specialties_come_from_the_catalogue():
    from rosp.catalogue.model import load_catalogue
    from rosp.indicators import load_programmes

    cat = load_catalogue(2018)
    for slug, prog in load_programmes().items():
        table = cat.programme(slug)
        assert prog.specialties == tuple(table.specialties)  # mt-enfant: [] before issue 7
        assert [i.label for i in prog.indicators] == [i.label for i in table.indicators]


def test_synth_objectives_come_from_the_catalogue():
    from rosp.synth.calibration import SPEC_BY_ID, specs_from_catalogue

    assert {s.id: s for s in specs_from_catalogue(2018)} == SPEC_BY_ID


HEAD = '[programme]\nslug = "cardiologie"\ntable = 2018\nbasis = "specialist"\n'
ROW = ('[[indicators]]\nid = "{id}"\n{extra}kind = "declarative"\nprovenance = "inferred"\n'
       'source = "s"\nconfidence = "low"\n')

# (file text, expected message fragment, reason)
BAD = [
    (HEAD.replace('basis', 'label = "x"\nbasis') + ROW.format(id="CAR-01", extra=""), "restates the catalogue", "programme label restated"),
    (HEAD + ROW.format(id="CAR-01", extra='label = "x"\n'), "restates the catalogue", "indicator label restated"),
    (HEAD + ROW.format(id="CAR-99", extra=""), "not in the catalogue", "unknown id"),
    (HEAD + ROW.format(id="CAR-01", extra=""), "without a definition", "catalogue rows missing"),
    (HEAD.replace("table = 2018\n", ""), "table", "no catalogue table named"),
]


@pytest.mark.parametrize(("text", "fragment", "reason"), BAD)
def test_restating_or_missing_facts_rejected(tmp_path, text, fragment, reason):
    f = tmp_path / "x.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError, match=fragment):
        load_programme_file(f)


def test_catalogue_validate_runs_the_consistency_check(monkeypatch):
    """`rosp catalogue validate` refuses a bundled catalogue the definitions disagree with."""
    from typer.testing import CliRunner

    import rosp.indicators.consistency as consistency
    from rosp.cli import app

    monkeypatch.setattr(consistency, "check_consistency", lambda year=2018: ["CAR-01: label restated"])
    r = CliRunner().invoke(app, ["catalogue", "validate"])
    assert r.exit_code == 2 and "CAR-01: label restated" in r.output
