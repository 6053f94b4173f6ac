"""rosp's SNDS schemas against the reference schema (schema-snds, rosp/claims/reference/).

Every column rosp requires must exist in the reference with a compatible type; every
primary key rosp declares must be the reference's key, or be documented (``key_note``)
as a deliberate choice with its reason. Type departures are listed here, each with the
coercion that makes it compatible (docs/data-model.md, "Differences with the reference").
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from rosp.claims.schema import NON_SNDS, QTY, TABLES

REFERENCE = Path(__file__).resolve().parents[2] / "rosp" / "claims" / "reference"

#: rosp Arrow type -> reference field types it reads without loss
COMPATIBLE: dict[pa.DataType, set[str]] = {
    pa.string(): {"string"},
    pa.int16(): {"integer", "year"},
    pa.int32(): {"integer"},
    pa.int64(): {"integer"},
    pa.float64(): {"number"},
    QTY: {"number"},
    pa.date32(): {"date", "datetime"},
}

#: (table, column) -> why a different reference type is still compatible (loader coercion)
COERCED: dict[tuple[str, str], str] = {
    ("IR_BEN_R", "BEN_NAI_MOI"): "month text '%m' read as an integer 1-12",
    ("IR_PHA_R", "PHA_GRS_NUM"): "generic group text read as an integer, blank = NULL",
    ("IR_PHA_R", "PHA_CIP_C13"): "nomenclature file without types: integer",
    ("DA_PRA_R", "PFS_PRA_SPE"): "specialty text string(2) read as an integer code (IR_SPE_V)",
    ("DA_PRA_R", "PFS_INS_DSD"): "installation date text yyyymmdd read as a date",
    ("DA_PRA_R", "DTE_MOI_FIN"): "month text '%m' read as an integer",
    ("DA_PRA_R", "DTE_ANN_TRT"): "year text read as an integer",
    ("T_MCOaaB", "ETA_NUM"): "integer in the reference, text in Oracle: numeric files left-padded to 9",
    ("T_MCOaaB", "RSA_NUM"): "integer in the reference, text in Oracle: numeric files left-padded to 10",
    ("T_MCOaaC", "ETA_NUM"): "as T_MCOaaB",
    ("T_MCOaaC", "RSA_NUM"): "as T_MCOaaB",
    ("T_MCOaaB", "SOR_ANN"): "year text read as an integer",
    ("T_MCOaaB", "SOR_MOI"): "month text '%m' read as an integer",
    ("T_MCOaaC", "NIR_RET"): "boolean return code read as text '0'/'1'",
    ("T_MCOaaC", "SEX_RET"): "boolean return code read as text '0'/'1'",
    ("T_MCOaaC", "SEJ_RET"): "boolean return code read as text '0'/'1'",
    ("T_MCOaaC", "FHO_RET"): "boolean return code read as text '0'/'1'",
    ("T_MCOaaC", "PMS_RET"): "boolean return code read as text '0'/'1'",
}

#: reference files whose JSON has no typed fields for these columns (nomenclature)
_NOMENCLATURE = {"IR_PHA_R"}


def _reference(table: str) -> dict:
    return json.loads((REFERENCE / f"{table}.json").read_text(encoding="utf-8"))


SNDS_TABLES = [t for t in TABLES if t not in NON_SNDS]


def test_reference_files_and_licence_are_in_the_repository():
    assert "Mozilla Public License Version 2.0" in (REFERENCE / "LICENSE").read_text(encoding="utf-8")
    readme = (REFERENCE / "README.md").read_text(encoding="utf-8")
    assert "fe17ef8348aeb74f38c29016f49e65f82a6168b6" in readme
    for table in SNDS_TABLES:
        assert (REFERENCE / f"{table}.json").is_file(), table


@pytest.mark.parametrize("table", SNDS_TABLES)
def test_every_column_exists_in_the_reference_with_a_compatible_type(table):
    fields = {f["name"]: f for f in _reference(table)["fields"]}
    problems = []
    for col in TABLES[table].file_columns:
        ref = fields.get(col.name)
        if ref is None:
            problems.append(f"{col.name}: not in the reference")
            continue
        if (table, col.name) in COERCED or table in _NOMENCLATURE:
            continue
        if ref["type"] not in COMPATIBLE[col.type]:
            problems.append(f"{col.name}: rosp {col.type} vs reference {ref['type']}")
    assert not problems, problems


@pytest.mark.parametrize("table", SNDS_TABLES)
def test_primary_key_is_the_reference_key_or_documented(table):
    schema = TABLES[table]
    ref_key = _reference(table).get("primaryKey") or []
    ref_key = [ref_key] if isinstance(ref_key, str) else list(ref_key)
    ours = list(schema.primary_key)
    if set(ours) == set(ref_key):
        return
    assert schema.key_note, f"{table}: key {ours} differs from the reference {ref_key} without a reason"


def test_detail_tables_have_no_primary_key_like_the_reference():
    for table in ("ER_PHA_F", "ER_BIO_F", "ER_CAM_F", "ER_ETE_F", "IR_IMB_R", "T_MCOaaD", "T_MCOaaA"):
        assert not _reference(table).get("primaryKey"), table
        assert TABLES[table].primary_key == (), table


def test_coercion_list_names_real_columns():
    for table, column in COERCED:
        assert column in TABLES[table].names, (table, column)
