"""The bad-input corpus (issue 8): one spec row per case.

Each case: an id, its category, the command (placeholders filled by the test),
a mutation of a clean input, the expected exit code and message fragments, and
for accepted cases (exit 0) the expected money: `REF` = equal to the clean
reference; `ANNOUNCED` = may differ, but only as the documented effect of a
counted rejection or warning printed in the output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from helpers import COUNTS, PATIENTELE

REF, ANNOUNCED = "ref", "announced"

DOCTORS = """doctor_id,specialty,conventioned,installed_on,opted_out_on,capi_signed_on
M1,3,1,2010-01-01,,
M2,12,1,2010-01-01,,
"""
PATIENT_LIKE = "P0A1B2C3D4E5F6A7B"  # shaped like a synthetic BEN_NIR_PSA


@dataclass
class Case:
    id: str
    category: str
    args: list[str]
    setup: Callable[[Path], None] | None = None
    exit: int = 2
    fragments: tuple[str, ...] = ()
    money: str | None = None  # REF / ANNOUNCED for exit-0 cases
    kind: str = "error"  # error | rejection | warning  (for the figures)
    why: str = ""
    extra_check: Callable[[Path, str], None] | None = None


# ------------------------------------------------------------------ mutations


def _tbl(d: Path, name: str) -> pa.Table:
    return pq.read_table(d / f"{name}.parquet")


def _put(d: Path, name: str, t: pa.Table) -> None:
    pq.write_table(t, d / f"{name}.parquet")


def _set_first(d: Path, name: str, col: str, value, n: int = 1) -> None:
    t = _tbl(d, name)
    arr = t[col].to_pylist()
    for i in range(min(n, len(arr))):
        arr[i] = value
    _put(d, name, t.set_column(t.schema.get_field_index(col), col, pa.array(arr, type=t.schema.field(col).type)))


def _empty(d: Path, name: str) -> None:
    t = _tbl(d, name)
    _put(d, name, t.slice(0, 0))


def _to_csv(d: Path, name: str, header_case=None, encoding="utf-8", sep=",", decimal_comma=False,
            edit: Callable[[pa.Table], pa.Table] | None = None) -> Path:
    """Replace ``name``.parquet by a CSV: ``sep``, ``encoding``, decimal commas in the
    floating-point and decimal columns, ``edit`` applied to the table first."""
    import pyarrow.compute as pc

    t = _tbl(d, name)
    if edit:
        t = edit(t)
    (d / f"{name}.parquet").unlink()
    if decimal_comma:
        for i, f in enumerate(t.schema):
            if pa.types.is_floating(f.type) or pa.types.is_decimal(f.type):
                t = t.set_column(i, f.name, pc.replace_substring(t[f.name].cast(pa.string()), ".", ","))
    if header_case:
        t = t.rename_columns([header_case(c) for c in t.column_names])
    path = d / f"{name}.csv"
    pacsv.write_csv(t, path, pacsv.WriteOptions(delimiter=sep))
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    return path


def _accented_names(t: pa.Table) -> pa.Table:
    """Drug names ending with an accent (a Latin-1 export keeps them)."""
    import pyarrow.compute as pc

    i = t.schema.get_field_index("PHA_MED_NOM")
    return t.set_column(i, "PHA_MED_NOM", pc.binary_join_element_wise(t["PHA_MED_NOM"], pa.scalar("É"), " "))


def _mixed_encoding(d: Path) -> None:
    path = _to_csv(d, "IR_PHA_R", edit=_accented_names)
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].decode("utf-8").encode("latin-1")  # one row re-saved in Latin-1
    path.write_bytes(b"\n".join(lines))


def _windows_1252(d: Path) -> None:
    path = _to_csv(d, "IR_PHA_R", sep=";", encoding="latin-1", edit=_accented_names)
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"\xc9", b"\x92", 1)  # a curly apostrophe of Windows-1252
    path.write_bytes(b"\n".join(lines))


def _ambiguous_delimiter(d: Path) -> None:
    path = _to_csv(d, "ROSP_ADM")
    text = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line.replace(",", ";", 1) for line in text) + "\n", encoding="utf-8")


def _thousands_separator(d: Path) -> None:
    """A French export with '1.000,00' (thousands point, decimal comma) in a decimal column."""
    path = _to_csv(d, "ER_PRS_F", sep=";", decimal_comma=True)
    lines = path.read_text(encoding="utf-8").splitlines()
    col = lines[0].replace('"', "").split(";").index("PRS_ACT_QTE")
    cells = lines[1].split(";")
    cells[col] = "1.000,00"
    lines[1] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _sas_export(d: Path) -> None:
    """Every table as `rosp synth --format csv-sas` writes it (the SAS export of the portal)."""
    from rosp.synth.sas import convert_to_sas_csv

    convert_to_sas_csv(d)


def _dialect_noted(file: str, **want) -> Callable[[Path, str], None]:
    def check(d: Path, output: str) -> None:
        import json

        m = json.loads((d / "out" / "manifest.json").read_text())
        found = {f: v for t in m["claims"]["tables"].values() for f, v in t.get("dialects", {}).items()}
        assert all(found[file][k] == v for k, v in want.items()), found.get(file)
    return check


def _decl(d: Path, rows: list[dict]) -> None:
    doctors = _tbl(d, "DA_PRA_R")["STA_PFS_NUM"].to_pylist()
    base = {"STA_PFS_NUM": doctors[0], "INDICATOR_ID": "CAR-08", "DECL_NUM": 9, "DECL_DEN": 10, "DECL_RATE": None}
    full = [{**base, **r} for r in rows]
    t = pa.table({
        "STA_PFS_NUM": pa.array([r["STA_PFS_NUM"] for r in full], pa.string()),
        "INDICATOR_ID": pa.array([r["INDICATOR_ID"] for r in full], pa.string()),
        "DECL_NUM": pa.array([r["DECL_NUM"] for r in full], pa.int32()),
        "DECL_DEN": pa.array([r["DECL_DEN"] for r in full], pa.int32()),
        "DECL_RATE": pa.array([r["DECL_RATE"] for r in full], pa.float64()),
    })
    _put(d, "ROSP_DECL", t)


def _truncate(d: Path, name: str) -> None:
    p = d / f"{name}.parquet"
    b = p.read_bytes()
    p.write_bytes(b[: len(b) // 2])


def _csv_in_parquet(d: Path, name: str) -> None:
    t = _tbl(d, name)
    p = d / f"{name}.parquet"
    pacsv.write_csv(t, p)


def _reject_many(d: Path) -> None:
    # 30 % of care lines dated outside the study period -> counted rejections
    t = _tbl(d, "ER_PRS_F")
    n = len(t)
    col = t["EXE_SOI_DTD"].to_pylist()
    import datetime as dt

    for i in range(0, n, 3):
        col[i] = dt.date(1990, 1, 1)
    _put(d, "ER_PRS_F", t.set_column(t.schema.get_field_index("EXE_SOI_DTD"), "EXE_SOI_DTD",
                                     pa.array(col, type=t.schema.field("EXE_SOI_DTD").type)))


def _mt_pseudonym(d: Path) -> None:
    nir = _tbl(d, "IR_BEN_R")["BEN_NIR_PSA"][0].as_py()
    _set_first(d, "IR_MTT_R", "MTT_PFS_NUM", nir)


def _mt_unknown_doctor(d: Path) -> None:
    _set_first(d, "IR_MTT_R", "MTT_PFS_NUM", "99999999", n=3)


def _death_before_birth(d: Path) -> None:
    import datetime as dt

    t = _tbl(d, "IR_BEN_R")
    _set_first(d, "IR_BEN_R", "BEN_NAI_ANN", 1980)
    _set_first(d, "IR_BEN_R", "BEN_DCD_DTE", dt.date(1970, 1, 1))
    del t


def _rejected_as(d: Path, reason: str) -> None:
    """The first beneficiary row is in the rejects file with ``reason``, nothing else of IR_BEN_R."""
    rej = pq.read_table(d / "out" / "rejected" / "IR_BEN_R.parquet")
    assert rej["_reason"].to_pylist() == [reason] and rej["_row"].to_pylist() == [1], rej.to_pydict()


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


START_HEADER = "doctor_id,indicator_id,rate,numerator,denominator,reference_period,flag\n"


def _start_rates_x100(d: Path) -> None:
    _write(d / "start_rates.csv", START_HEADER + "X,CAR-01,84.5,845,1000,2017,\n")


def _start_rates_valid(d: Path) -> None:
    _write(d / "start_rates.csv", START_HEADER + "X,CAR-01,0.845,845,1000,2017,\n")


# ------------------------------------------------------------------ the spec table

S = ["score", "--counts", "{counts}", "--patientele", "{pat}", "--out", "{out}"]
R = ["run", "--year", "2018", "--data", "{data}", "--out", "{out}"]
SG = ["safeguard", "--year", "2018", "--payments", "{payments}", "--previous-total", "2000",
      "--baseline-total", "2622.98", "--out", "{out}"]
EL = ["eligibility", "--doctors", "{doctors}", "--year", "2018", "--out", "{out}/elig.csv"]


def counts(text: str) -> Callable[[Path], None]:
    return lambda d: _write(d / "counts.csv", text)


def pat(text: str) -> Callable[[Path], None]:
    return lambda d: _write(d / "patientele.csv", text)


def data(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda d: fn(d / "data")


def _out_file(d: Path) -> None:
    _write(d / "out", "not a folder\n")


def _out_nonempty(d: Path) -> None:
    (d / "out").mkdir()
    _write(d / "out" / "patientele.csv", "stale\n")


def _ragged_ben_csv(d: Path) -> None:
    path = _to_csv(d, "IR_BEN_R")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"{PATIENT_LIKE},1,{PATIENT_LIKE},1980,5,1,,75,surplus,surplus\n")


def _manifest_complete(d: Path, output: str) -> None:
    import json

    m = json.loads((d / "out" / "manifest.json").read_text())
    assert all(not k.startswith("/") and "/tmp" not in k for k in m["inputs"]), m["inputs"]
    assert "IR_BEN_R.parquet" in m["inputs"]
    assert m["start_rates_file"]["path"] == "start_rates.csv" and len(m["start_rates_file"]["sha256"]) == 64
    assert any("IR_IMB_R" in w for w in m["warnings"])
    assert m["ignored_files"] == []


def _stale_gone(d: Path, output: str) -> None:
    assert not (d / "out" / "patientele.csv").exists() or (d / "out" / "patientele.csv").read_text() != "stale\n"


SCORE_CASES = [
    Case("score_inf_count", "counts", S, counts(COUNTS + "D1,CAR-02,inf,5,,\n"),
         fragments=("counts.csv", "ligne 6", "colonne numerator", "not an integer")),
    Case("score_count_beyond_int64", "counts", S, counts(COUNTS + "D1,CAR-02,1,9223372036854775808,,\n"),
         fragments=("counts.csv", "ligne 6", "colonne denominator", "implausible")),
    Case("score_count_huge_numerator", "counts", S, counts(COUNTS + "D1,CAR-02,99999999999,99999999999,,\n"),
         fragments=("colonne numerator", "implausible")),
    Case("score_patientele_zero_with_patients", "counts", S, pat(PATIENTELE.replace("1000", "0")),
         fragments=("patientèle of 0", "check the patientèle file")),
    Case("score_patientele_absurd", "counts", S, pat(PATIENTELE.replace("1000", "2700000000")),
         fragments=("patientele.csv", "colonne patientele", "implausible")),
    Case("score_counts_header_only", "counts", S, counts(COUNTS.splitlines()[0] + "\n"),
         fragments=("counts.csv", "header only")),
    Case("score_counts_zero_bytes", "counts", S, counts(""), fragments=("counts.csv", "empty file")),
    Case("score_patientele_header_only", "counts", S, pat("doctor_id,programme,patientele\n"),
         fragments=("patientele.csv", "header only")),
    Case("score_counts_latin1", "messages", S,
         lambda d: _write(d / "counts.csv", COUNTS + "Dé,CAR-02,1,5,,\n", "latin-1"),
         fragments=("counts.csv", "not UTF-8", "Latin-1")),
    Case("score_counts_semicolon_decimal_comma", "messages", S,
         counts(COUNTS.replace(",", ";").replace("0.3", "0,3").replace("0.4", "0,4")),
         fragments=("counts.csv", "';'", "decimal commas")),
    Case("score_header_case", "messages", S, counts(COUNTS.replace("doctor_id", "Doctor_ID")),
         fragments=("colonne doctor_id", "found header 'Doctor_ID'")),
    Case("score_counts_missing", "messages", S, lambda d: (d / "counts.csv").unlink(),
         fragments=("counts.csv", "file not found")),
    Case("score_patientele_unknown_programme", "messages", S, pat(PATIENTELE + "D3,dermatologie,100\n"),
         fragments=("patientele.csv", "unknown programme")),
    Case("score_patientele_not_a_number", "messages", S, pat(PATIENTELE + "D3,mt-enfant,beaucoup\n"),
         fragments=("patientele.csv", "colonne patientele", "not an integer")),
    Case("score_declared_rate_percent", "declarations", S, counts(COUNTS + "D1,CAR-02,1,5,,84.5\n"),
         fragments=("colonne declared_rate", "rate outside [0, 1]")),
    Case("score_start_rate_x100", "start_rates", S, counts(COUNTS + "D1,CAR-02,1,5,30,\n"),
         fragments=("colonne start_rate", "rate outside [0, 1]")),
    Case("score_out_is_file", "outputs", S, _out_file, fragments=("c'est un fichier",)),
    Case("score_out_not_empty", "outputs", S, _out_nonempty, fragments=("n'est pas vide", "--overwrite")),
    Case("score_out_overwrite", "outputs", [*S, "--overwrite"], _out_nonempty, exit=0, money=REF,
         kind="accepted", extra_check=_stale_gone),
    Case("score_lenient_counted_rejection", "counts", [*S, "--lenient"], counts(COUNTS + "D1,CAR-99,1,2,,\n"),
         exit=0, money=REF, kind="rejection", fragments=("1 lignes rejetées",)),
    Case("score_year_2016", "messages", ["score", "--year", "2016", *S[1:]],
         fragments=("2016", "no table in force")),
    Case("score_patient_id_as_doctor", "leaks", S, counts(COUNTS + f"{PATIENT_LIKE},CAR-99,1,2,,\n"),
         fragments=("unknown indicator",)),
    Case("score_unknown_indicator", "declarations", S, counts(COUNTS + "D1,CAR-99,1,2,,\n"),
         fragments=("colonne indicator_id", "unknown indicator")),
    Case("score_numerator_above_denominator", "declarations", S, counts(COUNTS + "D1,CAR-02,6,5,,\n"),
         fragments=("colonne numerator", "numerator above denominator")),
    Case("score_counts_is_directory", "messages", S, lambda d: ((d / "counts.csv").unlink(), (d / "counts.csv").mkdir()),
         fragments=("counts.csv", "directory")),
    Case("score_ragged_row", "messages", S, counts(COUNTS + "D1,CAR-02,1,5,,,,,\n"),
         fragments=("counts.csv", "unreadable CSV")),
]

EXPLAIN_CASES = [
    Case("explain_indicator_on_score_output", "messages",
         ["explain", "--run", "{scored}", "--doctor", "D1", "--indicator", "CAR-01"],
         fragments=("no evidence", "rosp run")),
    Case("explain_missing_run", "messages", ["explain", "--run", "{tmp}/nope", "--doctor", "D1"],
         fragments=("dossier du run introuvable",)),
    Case("explain_incomplete_run", "outputs", ["explain", "--run", "{tmp}/inc", "--doctor", "D1"],
         lambda d: ((d / "inc").mkdir(), _write(d / "inc" / "INCOMPLETE", "x")),
         fragments=("INCOMPLETE",)),
    Case("explain_patient_like_doctor", "leaks", ["explain", "--run", "{scored}", "--doctor", PATIENT_LIKE],
         fragments=("n'est pas dans le run",)),
]

ELIG_CASES = [
    Case("eligibility_year_2016", "messages", [*EL[:3], "--year", "2016", "--out", "{out}/e.csv"],
         fragments=("2016", "no table in force")),
    Case("eligibility_header_only", "empty", EL, lambda d: _write(d / "doctors.csv", DOCTORS.splitlines()[0] + "\n"),
         fragments=("doctors.csv", "header only")),
    Case("eligibility_zero_bytes", "empty", EL, lambda d: _write(d / "doctors.csv", ""),
         fragments=("doctors.csv", "empty file")),
    Case("eligibility_latin1", "messages", EL,
         lambda d: _write(d / "doctors.csv", DOCTORS + "Mé,3,1,2010-01-01,,\n", "latin-1"),
         fragments=("doctors.csv", "Latin-1")),
    Case("eligibility_out_is_directory", "outputs", ["eligibility", "--doctors", "{doctors}", "--out", "{tmp}"],
         fragments=("est un dossier",)),
    Case("eligibility_ok_writes_manifest", "outputs", EL, exit=0, kind="accepted",
         extra_check=lambda d, o: (d / "out" / "elig.manifest.json").exists() or (_ for _ in ()).throw(AssertionError("no manifest"))),
]

SAFEGUARD_CASES = [
    Case("safeguard_negative_payment", "counts", SG,
         lambda d: _write(d / "payments.csv", "doctor_id,programme,patientele,points,euros\nD1,cardiologie,1,1,-5.00\n"),
         fragments=("payments.csv", "ligne 1", "colonne euros", "paiement négatif")),
    Case("safeguard_duplicate_payment", "counts", SG,
         lambda d: _write(d / "payments.csv", "doctor_id,programme,patientele,points,euros\n"
                          "D1,cardiologie,1,1,5.00\nD1,cardiologie,1,1,5.00\n"),
         fragments=("payments.csv", "ligne 2", "paiement en double")),
    Case("safeguard_payments_missing", "messages", SG, lambda d: None,
         fragments=("payments.csv", "file not found")),
    Case("safeguard_bad_total", "messages", [*SG[:6], "beaucoup", *SG[7:]],
         lambda d: _write(d / "payments.csv", "doctor_id,programme,patientele,points,euros\nD1,cardiologie,1,1,5.00\n"),
         fragments=("previous_total",)),
    Case("safeguard_payments_header_only", "empty", SG,
         lambda d: _write(d / "payments.csv", "doctor_id,programme,patientele,points,euros\n"),
         fragments=("payments.csv", "header only")),
    Case("safeguard_ok_writes_manifest", "outputs", [*SG, "--current-total", "1311.49"],
         lambda d: _write(d / "payments.csv", "doctor_id,programme,patientele,points,euros\n"
                          "D1,cardiologie,1000,100,1038.63\nD2,mt-enfant,600,50,272.86\n"),
         exit=0, kind="accepted",
         extra_check=lambda d, o: (d / "out" / "manifest.json").exists() or (_ for _ in ()).throw(AssertionError())),
]

SYNTH_CASES = [
    Case("synth_seed_negative", "messages", ["synth", "--seed", "-1", "--patients", "5", "--out", "{out}"],
         fragments=("option --seed",)),
    Case("synth_year_1900", "messages", ["synth", "--year", "1900", "--patients", "5", "--out", "{out}"],
         fragments=("option --year", "1900")),
    Case("synth_too_many_patients", "messages", ["synth", "--patients", "1000000000000", "--out", "{out}"],
         fragments=("option --patients", "maximum is 20000000")),
    Case("synth_out_is_file", "outputs", ["synth", "--patients", "5", "--out", "{out}"], _out_file,
         fragments=("c'est un fichier",)),
]

CATALOGUE_CASES = [
    Case("catalogue_unknown_programme", "messages", ["catalogue", "show", "dermatologie"], exit=2,
         fragments=("dermatologie",)),
    Case("catalogue_validate_missing_dir", "messages", ["catalogue", "validate", "{tmp}/nope"], exit=2),
]

RUN_CASES = [
    Case("run_missing_data_dir", "messages", [*R[:3], "--data", "{tmp}/nope", "--out", "{out}"],
         fragments=("dossier --data n'existe pas",)),
    Case("run_data_is_file", "messages", [*R[:3], "--data", "{counts}", "--out", "{out}"],
         fragments=("--data est un fichier",)),
    Case("run_year_2016", "messages", ["run", "--year", "2016", "--data", "{data}", "--out", "{out}"],
         fragments=("2016", "no table in force")),
    Case("run_year_2019_no_claim", "empty", ["run", "--year", "2019", "--data", "{data}", "--out", "{out}"],
         fragments=("no claim dated in the payment year 2019",)),
    Case("run_truncated_parquet", "messages", R, data(lambda d: _truncate(d, "ER_PRS_F")),
         fragments=("ER_PRS_F.parquet", "tronqué")),
    Case("run_zero_byte_parquet", "messages", R, data(lambda d: (d / "ER_PHA_F.parquet").write_bytes(b"")),
         fragments=("ER_PHA_F.parquet", "fichier vide")),
    Case("run_csv_in_parquet", "messages", R, data(lambda d: _csv_in_parquet(d, "DA_PRA_R")),
         fragments=("DA_PRA_R.parquet", "pas un fichier Parquet")),
    Case("run_ambiguous_table", "tables", R,
         data(lambda d: pacsv.write_csv(_tbl(d, "IR_PHA_R"), d / "IR_PHA_R.csv")),
         fragments=("IR_PHA_R", "présente deux fois")),
    Case("run_header_case_csv", "messages", R, data(lambda d: _to_csv(d, "DA_PRA_R", str.lower)),
         fragments=("DA_PRA_R.csv", "en-tête 'pfs_pfs_num'")),
    # a Latin-1 or ';' CSV is read, its dialect noted in the manifest (accepted cases below);
    # what stays ambiguous is refused with file, row, column and reason
    Case("run_mixed_encoding_csv", "messages", R, data(_mixed_encoding),
         fragments=("IR_PHA_R.csv", "ligne 2", "colonne PHA_MED_NOM", "mixed encodings", "Latin-1")),
    Case("run_windows_1252_csv", "messages", R, data(_windows_1252),
         fragments=("IR_PHA_R.csv", "ligne 3", "colonne PHA_MED_NOM", "0x92", "Latin-1")),
    Case("run_ambiguous_delimiter_csv", "messages", R, data(_ambiguous_delimiter),
         fragments=("ROSP_ADM.csv", "ambiguous delimiter", "','", "';'")),
    Case("run_french_thousands_separator", "messages", R, data(_thousands_separator),
         fragments=("ER_PRS_F.csv", "ligne 1", "colonne PRS_ACT_QTE", "'1.000,00'", "decimal number")),
    Case("run_zero_byte_csv", "messages", R,
         data(lambda d: ((d / "DA_PRA_R.parquet").unlink(), (d / "DA_PRA_R.csv").write_bytes(b""))),
         fragments=("DA_PRA_R.csv", "empty file")),
    Case("run_ragged_csv_with_pseudonym", "leaks", R, data(_ragged_ben_csv),
         fragments=("IR_BEN_R.csv", "unreadable CSV")),
    # implausible beneficiaries are counted row rejects inside the loader (one bad row must not stop a
    # national run); their claims go with them (parent_rejected:IR_BEN_R), all announced in the output
    Case("run_birth_month_13", "beneficiaries", R, data(lambda d: _set_first(d, "IR_BEN_R", "BEN_NAI_MOI", 13)),
         exit=0, money=ANNOUNCED, kind="rejection", fragments=("rejetées", "IR_BEN_R 1"),
         extra_check=lambda d, o: _rejected_as(d, "implausible_birth_month")),
    Case("run_birth_in_future", "beneficiaries", R, data(lambda d: _set_first(d, "IR_BEN_R", "BEN_NAI_ANN", 2031)),
         exit=0, money=ANNOUNCED, kind="rejection", fragments=("rejetées", "IR_BEN_R 1"),
         extra_check=lambda d, o: _rejected_as(d, "birth_in_future")),
    Case("run_death_before_birth", "beneficiaries", R, data(_death_before_birth),
         exit=0, money=ANNOUNCED, kind="rejection", fragments=("rejetées", "IR_BEN_R 1"),
         extra_check=lambda d, o: _rejected_as(d, "death_before_birth")),
    Case("run_all_facts_empty", "empty", R,
         data(lambda d: [_empty(d, t) for t in ("ER_PRS_F", "ER_PHA_F", "ER_BIO_F", "ER_CAM_F")]),
         fragments=("every DCIR fact table",)),
    Case("run_empty_doctor_register", "empty", R, data(lambda d: _empty(d, "DA_PRA_R")),
         fragments=("doctor register is empty",)),
    Case("run_mt_patient_pseudonym", "mt", R, data(_mt_pseudonym),
         fragments=("IR_MTT_R", "colonne MTT_PFS_NUM", "patient pseudonym")),
    Case("run_decl_rate_percent", "declarations", R, data(lambda d: _decl(d, [{"DECL_RATE": 84.5,
                                                                               "DECL_NUM": None, "DECL_DEN": None}])),
         fragments=("ROSP_DECL", "colonne DECL_RATE", "percentage")),
    Case("run_decl_num_above_den", "declarations", R, data(lambda d: _decl(d, [{"DECL_NUM": 12, "DECL_DEN": 10}])),
         fragments=("ROSP_DECL", "numerator above denominator")),
    Case("run_decl_unknown_indicator", "declarations", R, data(lambda d: _decl(d, [{"INDICATOR_ID": "CAR-99"}])),
         fragments=("ROSP_DECL", "unknown indicator")),
    Case("run_decl_unknown_doctor", "declarations", R, data(lambda d: _decl(d, [{"STA_PFS_NUM": "00000000"}])),
         fragments=("ROSP_DECL", "unknown doctor")),
    Case("run_start_rates_x100", "start_rates", [*R, "--start-rates", "{tmp}/start_rates.csv"], _start_rates_x100,
         fragments=("start_rates.csv", "colonne rate", "percentage")),
    Case("run_start_rates_missing", "start_rates", [*R, "--start-rates", "{tmp}/nostart.csv"],
         fragments=("nostart.csv",)),
    Case("run_baseline_retired", "start_rates", [*R, "--baseline", "{tmp}"],
         fragments=("--baseline", "--start-rates")),
    Case("run_out_is_file", "outputs", R, _out_file, fragments=("c'est un fichier",)),
    Case("run_out_not_empty", "outputs", R, _out_nonempty, fragments=("n'est pas vide", "--overwrite")),
    Case("run_missing_required_table", "tables", R, data(lambda d: (d / "IR_BEN_R.parquet").unlink()),
         fragments=("IR_BEN_R", "required table")),
    Case("run_reject_share_above_limit", "rejects", R, data(_reject_many),
         fragments=("ER_PRS_F", "rows rejected", "--accept-rejects"),
         extra_check=lambda d, o: (d / "out" / "INCOMPLETE").exists() or (_ for _ in ()).throw(AssertionError())),
    # accepted cases (full runs: kept few, they cost seconds each)
    Case("run_unread_file_listed", "tables", [*R, "--overwrite"],
         lambda d: (_out_nonempty(d), _write(d / "data" / "notes.txt", "x\n")), exit=0, money=REF, kind="warning",
         fragments=("not read", "notes.txt"), extra_check=_stale_gone),
    Case("run_missing_imb_warned", "tables", [*R, "--start-rates", "{tmp}/start_rates.csv"],
         lambda d: ((d / "data" / "IR_IMB_R.parquet").unlink(), _start_rates_valid(d)),
         exit=0, money=ANNOUNCED, kind="warning", fragments=("IR_IMB_R", "CAR-"), extra_check=_manifest_complete),
    Case("run_latin1_csv", "messages", R, data(lambda d: _to_csv(d, "IR_PHA_R", encoding="latin-1",
                                                                   edit=_accented_names)),
         exit=0, money=REF, kind="warning", extra_check=_dialect_noted("IR_PHA_R.csv", encoding="latin-1"),
         why="a Latin-1 export is read as Latin-1 and noted in the manifest"),
    Case("run_semicolon_csv", "messages", R, data(lambda d: _to_csv(d, "DA_PRA_R", sep=";")),
         exit=0, money=REF, kind="warning", extra_check=_dialect_noted("DA_PRA_R.csv", delimiter=";"),
         why="a ';' export is read and noted in the manifest"),
    Case("run_french_export_decimal_commas", "messages", R,
         data(lambda d: _to_csv(d, "ER_PRS_F", sep=";", decimal_comma=True)),
         exit=0, money=REF, kind="warning",
         extra_check=_dialect_noted("ER_PRS_F.csv", delimiter=";", decimal_comma=True),
         why="a French Excel export (';', decimal commas) gives the money of the clean reference"),
    Case("run_sas_export", "messages", R, data(_sas_export), exit=0, money=REF, kind="warning",
         extra_check=_dialect_noted("IR_BEN_R.csv", delimiter=";"),
         why="the SAS export of the portal (';', SAS datetimes, decimal commas) gives the same money"),
    Case("run_reject_share_accepted", "rejects", [*R, "--accept-rejects"],
         data(lambda d: (_reject_many(d), _mt_unknown_doctor(d))),
         exit=0, money=ANNOUNCED, kind="rejection",
         fragments=("ER_PRS_F", "accepted with --accept-rejects", "point to no doctor")),
]

CASES = SCORE_CASES + EXPLAIN_CASES + ELIG_CASES + SAFEGUARD_CASES + SYNTH_CASES + CATALOGUE_CASES + RUN_CASES
