"""Dialect detection of text CSV files (rosp.io.textcsv, issue 8 §3 and issue 12 §3).

Each case: the bytes of a file, and either the dialect read or the refusal (reason
fragment, row, column). These fail on the code before: `;` and Latin-1 were refused
whole, and a mixed-encoding file was reported as plain Latin-1 without a location.
"""

from __future__ import annotations

import pytest

from rosp.io.textcsv import CsvDialectError, Dialect, detect_dialect, read_text_csv

HEADER = "BEN_NIR_PSA,PRS_ACT_QTE,PHA_MED_NOM\n"

READ = [
    ("utf8_comma", (HEADER + "A1,1.5,DRUG\n").encode(), Dialect(),
     "the standard: UTF-8, ','"),
    ("utf8_bom", ("\ufeff" + HEADER + "A1,1.5,DRUG\n").encode(), Dialect(bom=True),
     "Excel's 'CSV UTF-8' adds a BOM"),
    ("sas_semicolon_decimal_comma", b"A;Q;D\nA1;0,5;02MAY2018:00:00:00\n",
     Dialect(delimiter=";", decimal_comma=True), "a SAS export from a French session"),
    ("semicolon_integers_only", b"A;Q\nA1;2\n", Dialect(delimiter=";"),
     "';' without any decimal number"),
    ("latin1_semicolon", "A;NOM\nA1;ÉPINÉPHRINE\n".encode("latin-1"),
     Dialect(encoding="latin-1", delimiter=";"), "Excel on a French PC: Latin-1 and ';'"),
    ("comma_and_semicolon_comma_wins", b"A,B,C\nx;1,y,z\n", Dialect(),
     "a ';' inside a value of a ',' file: only ',' splits the lines consistently"),
]

REFUSED = [
    ("mixed_utf8_and_latin1", "A;NOM\nA1;é\n".encode() + "A2;é\n".encode("latin-1"),
     "mixed encodings", 2, "NOM", "UTF-8 and Latin-1 bytes in one file: which one is meant cannot be known"),
    ("windows_1252_byte", b"A;NOM\nA1;l\x92ami\n", "control character in Latin-1", 1, "NOM",
     "0x92 is a curly apostrophe in Windows-1252 but a control character in Latin-1"),
    ("ambiguous_delimiter", b"A;B,C\n1;2,3\n", "ambiguous delimiter", None, None,
     "',' and ';' both split every line into a constant number of fields"),
]


@pytest.mark.parametrize("raw,want", [c[1:3] for c in READ], ids=[c[0] for c in READ])
def test_dialect_is_detected(tmp_path, raw, want):
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    assert detect_dialect(path) == want


@pytest.mark.parametrize("raw,fragment,row,column", [c[1:5] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_ambiguous_file_is_refused_with_its_location(tmp_path, raw, fragment, row, column):
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    with pytest.raises(CsvDialectError) as err:
        detect_dialect(path)
    assert fragment in err.value.reason
    assert (err.value.file, err.value.row, err.value.column) == ("t.csv", row, column)


def test_analysts_files_still_refuse_semicolons_and_latin1_saying_so(tmp_path):
    """`read_text_csv` without `dialects` (counts, patientèle...) keeps issue 8's exact messages."""
    path = tmp_path / "counts.csv"
    path.write_bytes(b"a;b\n0,3;1\n")
    with pytest.raises(ValueError, match="';' with decimal commas"):
        read_text_csv(path, ValueError)
    path.write_bytes("a,b\nDé,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8.*Latin-1"):
        read_text_csv(path, ValueError)


def test_read_with_dialects_converts_decimal_commas_and_records_the_dialect(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("A;Q;NOM\nA1;0,5;É\nA2;12;x\n".encode("latin-1"))
    frame = read_text_csv(path, ValueError, dialects=True)
    assert frame.to_dict("list") == {"A": ["A1", "A2"], "Q": ["0.5", "12"], "NOM": ["É", "x"]}
    assert frame.attrs["dialect"] == Dialect(encoding="latin-1", delimiter=";", decimal_comma=True)
