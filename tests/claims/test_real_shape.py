"""SNDS as it really is (issue 12 §2): one named test per quirk, on builder-made extracts.

Each test fails on the loader before issue 12 (which required CNV_TOP/INS_DTE, keyed the
detail tables, read 01/01/1600 as a date, stacked the PMSI years under one key...).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from rosp.claims import ColumnTypeError, load_claims
from rosp.claims.windows import LoadWindowError

from .builders import ClaimsBuilder, minimal_dataset, write_table

SENTINEL = date(1600, 1, 1)


def _load(b: ClaimsBuilder, tmp_path, year: int = 2019, **kw):
    return load_claims(b.write(tmp_path / "data", **kw), year)


def _rows(claims, view: str, *cols: str) -> list[tuple]:
    rows = claims.view(view).select(*cols).to_pyarrow().to_pylist()
    return sorted((tuple(r[c] for c in cols) for r in rows),
                  key=lambda t: tuple((v is None, str(v)) for v in t))


def _accounted(claims) -> None:
    for t in claims.report.tables.values():
        assert t.rows_read == t.rows_used + t.rows_filtered + t.rows_rejected, t.table


# ------------------------------------------------------------------ DA_PRA_R


def test_da_pra_r_one_row_per_month_latest_month_gives_specialty(tmp_path):
    b, _ = minimal_dataset()
    b.rows["DA_PRA_R"].clear()
    b.doctor("011000001", specialty=1, months=((2019, 1), (2019, 2)))
    b.doctor("011000001", specialty=22, months=((2019, 3), (2020, 1)))  # 2020 is after N
    b.doctor("031000002", specialty=3, months=tuple((2019, m) for m in range(1, 13)))
    claims = _load(b, tmp_path)
    assert claims.report.tables["DA_PRA_R"].rows_rejected == 0
    assert _rows(claims, "doctors", "doctor_id", "specialty") == [("011000001", 22), ("031000002", 3)]
    _accounted(claims)


@pytest.mark.parametrize(
    ("code", "conventioned", "why"),
    [
        ("1", True, "secteur 1"),
        ("2", True, "conventionné avec dépassement permanent"),
        ("3", True, "honoraires libres (secteur 2) are conventioned too"),
        ("0", False, "non conventionné"),
        ("9", False, "salarié"),
    ],
)
def test_cnv_cnv_cod_recoded_per_ir_cnv_v(tmp_path, code, conventioned, why):
    b, _ = minimal_dataset()
    b.rows["DA_PRA_R"][0]["CNV_CNV_COD"] = code
    claims = _load(b, tmp_path)
    got = dict(_rows(claims, "doctors", "doctor_id", "conventioned"))
    assert got["011000001"] is conventioned, why


def test_pfs_ins_dsd_text_yyyymmdd_is_the_installation_date(tmp_path):
    b, _ = minimal_dataset()
    data = b.write(tmp_path / "data")
    table = b.arrow("DA_PRA_R")
    i = table.schema.get_field_index("PFS_INS_DSD")
    text = pa.array(["20100104"] * table.num_rows, type=pa.string())  # Oracle string(8)
    write_table(data, "DA_PRA_R", table.set_column(i, "PFS_INS_DSD", text))
    claims = load_claims(data, 2019)
    assert set(_rows(claims, "doctors", "installed_on")) == {(date(2010, 1, 4),)}
    assert claims.report.tables["DA_PRA_R"].coercions["PFS_INS_DSD"]["coerced"] == 3


def test_opt_out_and_capi_come_from_the_optional_administrative_file(tmp_path):
    b, h = minimal_dataset()
    b.doctor("011000077", opted_out=date(2016, 10, 30), capi=date(2010, 3, 1))
    claims = _load(b, tmp_path)
    got = {r[0]: r[1:] for r in _rows(claims, "doctors", "doctor_id", "opted_out_on", "capi_signed_on")}
    assert got["011000077"] == (date(2016, 10, 30), date(2010, 3, 1))
    assert got["011000001"] == (None, None)
    # absent file: no opt-out, no CAPI for anyone
    claims = load_claims(b.write(tmp_path / "d2", omit=("ROSP_ADM",)), 2019)
    assert {r[1:] for r in _rows(claims, "doctors", "doctor_id", "opted_out_on", "capi_signed_on")} == {
        (None, None)
    }


# ------------------------------------------------------------------ detail tables


def test_detail_lines_sharing_one_key_are_all_kept(tmp_path):
    b, h = minimal_dataset()
    insulin = b.drug(3400930000002, atc="A10AE04")
    key = b.delivery(h["alice"], date(2019, 5, 3), h["metformin"], boxes=1, prescriber=h["gp"])
    b.rows["ER_PHA_F"].append({**key, "PHA_PRS_C13": insulin, "PHA_ACT_QSN": 2, "PHA_ORD_NUM": 2})
    bkey = b.bio(h["alice"], date(2019, 5, 10), 593, prescriber=h["gp"])
    b.rows["ER_BIO_F"].append({**bkey, "BIO_PRS_IDE": 1577, "BIO_ACT_QSN": 1, "BIO_ORD_NUM": 2})
    claims = _load(b, tmp_path)
    assert claims.report.tables["ER_PHA_F"].rejected == {}
    may = [r for r in _rows(claims, "drug_deliveries", "date", "atc", "boxes") if r[0] == date(2019, 5, 3)]
    assert may == [(date(2019, 5, 3), "A10AE04", 2), (date(2019, 5, 3), "A10BA02", 1)]
    bio = [r for r in _rows(claims, "bio_acts", "date", "nabm") if r[0] == date(2019, 5, 10)]
    assert set(bio) == {(date(2019, 5, 10), 593), (date(2019, 5, 10), 1577)}


# ------------------------------------------------------------------ placeholder dates


def test_sentinel_1600_means_alive_open_or_unknown_and_is_counted(tmp_path):
    b, h = minimal_dataset()
    b.rows["IR_BEN_R"][0]["BEN_DCD_DTE"] = SENTINEL  # alice alive
    b.rows["IR_IMB_R"][0]["IMB_ALD_DTF"] = SENTINEL  # open ALD
    b.rows["IR_MTT_R"][0]["MTT_FIN_DTE"] = SENTINEL  # open MT declaration
    b.patient(birth=(1600, 1))  # unknown birth year
    claims = _load(b, tmp_path)
    deaths = {r[0] for r in _rows(claims, "patients", "death_date")}
    assert deaths == {None}
    assert _rows(claims, "ald", "end_date") == [(None,)]
    assert _rows(claims, "mt_declarations", "end_date") == [(None,)]
    assert (None,) in _rows(claims, "patients", "birth_year")
    t = claims.report.tables
    assert t["IR_BEN_R"].sentinel_dates == {"BEN_DCD_DTE": 1, "BEN_NAI_ANN": 1}
    assert t["IR_IMB_R"].sentinel_dates == {"IMB_ALD_DTF": 1}
    assert t["IR_MTT_R"].sentinel_dates == {"MTT_FIN_DTE": 1}


# ------------------------------------------------------------------ yearly PMSI


def test_yearly_pmsi_tables_keyed_on_the_year_and_joined_within_a_year(tmp_path):
    b, h = minimal_dataset()
    b.rows["T_MCOaaB"].clear(), b.rows["T_MCOaaC"].clear(), b.rows["T_MCOaaD"].clear()
    b.rows["T_MCOaaA"].clear()
    b.stay(h["alice"], date(2018, 3, 1), dp="I214", das=("E119",), rsa="0000000001", table="T_MCO18")
    b.stay(h["bob"], date(2019, 3, 1), dp="J189", das=("I10",), rsa="0000000001", table="T_MCO19")
    claims = _load(b, tmp_path)
    assert claims.report.tables["T_MCOaaC"].rejected == {}
    dx = _rows(claims, "hospital_diagnoses", "patient_id", "icd10", "kind")
    assert dx == [
        (h["alice"].idt, "E119", "DAS"), (h["alice"].idt, "I214", "DP"),
        (h["bob"].idt, "I10", "DAS"), (h["bob"].idt, "J189", "DP"),
    ]
    assert {"T_MCO18B.parquet", "T_MCO19B.parquet"} <= set(claims.report.tables["T_MCOaaB"].files)


# ------------------------------------------------------------------ ALD renewals


def test_ald_renewal_is_a_new_row_and_the_current_version_is_used(tmp_path):
    b, h = minimal_dataset()
    b.rows["IR_IMB_R"][0].update(IMB_ALD_DTF=date(2018, 12, 31), INS_DTE=date(2016, 1, 1))
    b.ald(h["alice"], 8, "E119", date(2016, 1, 1), date(2023, 12, 31), INS_DTE=date(2018, 11, 2),
          UPD_DTE=date(2018, 11, 2))
    claims = _load(b, tmp_path)
    assert claims.report.tables["IR_IMB_R"].rejected == {}
    assert _rows(claims, "ald", "end_date") == [(date(2023, 12, 31),)]
    assert claims.report.tables["IR_IMB_R"].filtered == {"ald_superseded_version": 1}
    _accounted(claims)


# ------------------------------------------------------------------ types


def test_decimal_quantity_numeric_pmsi_ids_blank_text_and_sas_datetime(tmp_path):
    b, h = minimal_dataset()
    b.service(h["alice"], date(2019, 7, 1), executant=h["gp"], PRS_ACT_QTE=Decimal("0.5"))
    data = b.write(tmp_path / "data")
    # PMSI ids typed as integers (the reference's "type": "integer")
    for name in ("T_MCOaaB", "T_MCOaaC", "T_MCOaaD", "T_MCOaaA"):
        t = b.arrow(name)
        for col in ("ETA_NUM", "RSA_NUM"):
            i = t.schema.get_field_index(col)
            t = t.set_column(i, col, pa.array([int(v) for v in t[col].to_pylist()], pa.int64()))
        write_table(data, name, t)
    # T_MCOaaC exported from SAS: CSV, dates as DATETIME text
    c = b.arrow("T_MCOaaC")
    sas = pa.array(["02MAY2018:00:00:00"], pa.string())
    c = c.set_column(c.schema.get_field_index("EXE_SOI_DTD"), "EXE_SOI_DTD", sas)
    write_table(data, "T_MCOaaC", c, "csv")
    # IR_PHA_R with PHA_GRS_NUM as text, blank outside the répertoire
    r = b.arrow("IR_PHA_R")
    r = r.set_column(r.schema.get_field_index("PHA_GRS_NUM"), "PHA_GRS_NUM", pa.array([""], pa.string()))
    write_table(data, "IR_PHA_R", r)
    claims = load_claims(data, 2019)
    (stay,) = _rows(claims, "hospital_stays", "stay_id", "entry_date")
    assert stay[0].startswith("750000001:000000") and stay[1] == date(2018, 5, 2)
    assert _rows(claims, "drug_deliveries", "generic_group") == [(None,)]
    july = [r for r in _rows(claims, "services", "date", "quantity") if r[0] == date(2019, 7, 1)]
    assert july == [(date(2019, 7, 1), 1)]  # half an act is still an act
    co = claims.report.tables
    assert co["T_MCOaaC"].coercions["EXE_SOI_DTD"]["coerced"] == 1
    assert co["T_MCOaaB"].coercions["ETA_NUM"]["from"] == "BIGINT"
    assert co["IR_PHA_R"].coercions["PHA_GRS_NUM"]["blank"] == 1


def test_ambiguous_value_is_refused_with_file_row_column_and_value_class(tmp_path):
    b, h = minimal_dataset()
    data = b.write(tmp_path / "data")
    t = b.arrow("ER_PRS_F")
    nat = pa.array([str(v) for v in t["PRS_NAT_REF"].to_pylist()[:-1]] + ["1111.5"], pa.string())
    write_table(data, "ER_PRS_F", t.set_column(t.schema.get_field_index("PRS_NAT_REF"), "PRS_NAT_REF", nat))
    with pytest.raises(ColumnTypeError) as e:
        load_claims(data, 2019)
    assert e.value.file == "ER_PRS_F.parquet" and e.value.column == "PRS_NAT_REF"
    assert e.value.row == t.num_rows and "decimal number value" in str(e.value)


def test_declared_but_unused_columns_are_optional(tmp_path):
    b, _ = minimal_dataset()
    data = b.write(tmp_path / "data")
    for name, cols in {
        "T_MCOaaB": ["SOR_ANN", "SOR_MOI", "GRG_GHM"],
        "IR_PHA_R": ["PHA_MED_NOM"],
        "IR_BEN_R": ["BEN_RES_DPT", "BEN_CDI_NIR"],
        "ER_PRS_F": ["EXO_MTF", "BSE_REM_MNT", "PRS_MTT_NUM", "EXE_SOI_DTF", "PRE_PRE_DTD"],
        "ER_PHA_F": ["PHA_SEQ_RNV"],
        "ER_CAM_F": ["CAM_ACT_COD", "CAM_TRT_PHA"],
        "T_MCOaaA": ["NBR_EXE_ACT"],
        "DA_PRA_R": ["DTE_ANN_TRT", "DTE_MOI_FIN", "EXC_EXC_NAT"],
    }.items():
        write_table(data, name, b.arrow(name).drop_columns(cols))
    claims = load_claims(data, 2019)
    assert claims.view("hospital_stays").count().execute() == 1


# ------------------------------------------------------------------ filters


def test_dcir_filters_are_named_and_counted(tmp_path):
    b, h = minimal_dataset()
    a, gp = h["alice"], h["gp"]
    b.service(a, date(2019, 8, 1), executant=gp, PRS_DPN_QLP=71)
    b.service(a, date(2019, 8, 2), executant=gp, CPL_MAJ_TOP=2)
    key = b.service(a, date(2019, 8, 3), executant=gp)
    b.rows["ER_ETE_F"].append({**key, "ETE_IND_TAA": 1})
    b.service(a, date(2019, 8, 4), executant=gp, CPL_AFF_COD=16)
    b.service(a, date(2019, 8, 5), executant=gp, BSE_PRS_NAT=0)
    b.service(a, date(2019, 8, 6), executant=gp, FLX_DIS_DTD=date(2020, 8, 1))
    claims = _load(b, tmp_path)
    august = [r for r in _rows(claims, "services", "date") if r[0].month == 8 and r[0].year == 2019]
    assert august == []
    assert claims.report.tables["ER_PRS_F"].filtered == {
        "flow_after_lag": 1, "forfait_line": 1, "hospital_activity": 1, "information_line": 1,
        "majoration_line": 1, "no_base_nature": 1,
    }
    assert claims.report.tables["ER_ETE_F"].filtered == {"hospital_activity": 1}
    _accounted(claims)


def test_pmsi_quality_filters(tmp_path):
    b, h = minimal_dataset()
    b.stay(h["bob"], date(2019, 2, 1), quality={"NIR_RET": "1"})
    b.stay(h["bob"], date(2019, 3, 1), quality={"GRG_GHM": "90Z00Z"})
    b.stay(h["bob"], date(2017, 4, 1), eta="750100018")  # AP-HP geographic FINESS, <= 2017
    claims = _load(b, tmp_path)
    assert claims.view("hospital_stays").count().execute() == 1
    assert claims.report.tables["T_MCOaaC"].filtered == {
        "pmsi_error_ghm": 1, "pmsi_geographic_finess": 1, "pmsi_return_code": 1,
    }
    _accounted(claims)


# ------------------------------------------------------------------ archives, flows


def test_archived_beneficiaries_and_yearly_dcir_archives_are_read(tmp_path):
    b, h = minimal_dataset()
    old = b.patient(birth=(1940, 1))
    b.rows["IR_BEN_R_ARC"] = [b.rows["IR_BEN_R"].pop()]
    b.service(old, date(2017, 3, 1), executant=h["gp"])
    b.rows["ER_PRS_F_2017"] = [b.rows["ER_PRS_F"].pop()]
    claims = _load(b, tmp_path)
    assert claims.report.tables["ER_PRS_F"].rejected == {}
    assert "ER_PRS_F_2017.parquet" in claims.report.tables["ER_PRS_F"].files
    assert "IR_BEN_R_ARC.parquet" in claims.report.tables["IR_BEN_R"].files
    assert (old.idt, date(2017, 3, 1)) in _rows(claims, "services", "patient_id", "date")


# ------------------------------------------------------------------ identifiers


def test_ps_numbers_of_different_lengths_are_normalised_once(tmp_path):
    b, h = minimal_dataset()
    b.rows["DA_PRA_R"].clear()
    gp8 = b.doctor("01100000", sta="01100000")  # DA_PRA_R: 8 characters
    p = b.patient()
    b.service(p, date(2019, 4, 1), executant="011000001")  # PFS_EXE_NUM: 9 (8 + key)
    b.mt(p, "00000000011000001", date(2015, 1, 1))  # MTT_PFS_NUM: 17, zero padded
    claims = _load(b, tmp_path)
    assert claims.report.ps_numbers == "prefix8"
    svc = [r for r in _rows(claims, "services", "patient_id", "executant_id") if r[0] == p.idt]
    assert svc == [(p.idt, gp8)]
    mt = [r for r in _rows(claims, "mt_declarations", "patient_id", "doctor_id") if r[0] == p.idt]
    assert mt == [(p.idt, gp8)]


def test_fictitious_nir_excluded_with_its_claims(tmp_path):
    b, h = minimal_dataset()
    fake = b.patient(BEN_CDI_NIR="01")
    b.service(fake, date(2019, 4, 1), executant=h["gp"])
    claims = _load(b, tmp_path)
    assert fake.idt not in {r[0] for r in _rows(claims, "patients", "patient_id")}
    assert claims.report.tables["IR_BEN_R"].filtered == {"fictitious_nir": 1}
    assert claims.report.tables["ER_PRS_F"].filtered == {"fictitious_nir": 1}


def test_twins_never_get_each_others_hospital_stays(tmp_path):
    b, h = minimal_dataset()
    t1 = b.patient(birth=(2010, 5), nir="NIRTWIN01", rng=1)
    b.patient(birth=(2010, 5), nir="NIRTWIN01", rng=2)
    b.stay(t1, date(2019, 6, 1), dp="J189")
    claims = _load(b, tmp_path)
    stays = {r[0] for r in _rows(claims, "hospital_stays", "patient_id")}
    assert stays == {h["alice"].idt}
    assert claims.report.tables["T_MCOaaC"].filtered == {"pmsi_nir_shared_by_twins": 1}


# ------------------------------------------------------------------ load windows (issue 7 §2)


def test_end03_ten_year_history_is_loaded_not_cut_to_three_years(tmp_path):
    b, h = minimal_dataset()
    b.stay(h["alice"], date(2011, 2, 1), dp="C73", acts=(("KCFA005", 0),))
    claims = _load(b, tmp_path)
    assert claims.report.tables["T_MCOaaC"].rejected == {}
    assert claims.report.periods["PMSI"][0] <= date(2010, 1, 1)
    assert (date(2011, 2, 1),) in _rows(claims, "hospital_stays", "entry_date")


def test_a_load_shorter_than_a_definition_window_is_an_error(tmp_path):
    b, _ = minimal_dataset()
    with pytest.raises(LoadWindowError, match="END-03"):
        load_claims(b.write(tmp_path / "data"), 2019, period=(date(2016, 1, 1), date(2020, 6, 30)))


# ------------------------------------------------------------------ acceptance


def _every_quirk(b: ClaimsBuilder, h: dict) -> None:
    """The same patients as ``minimal_dataset`` with the quirks of a real extract added."""
    b.rows["IR_BEN_R"][0]["BEN_DCD_DTE"] = SENTINEL
    b.rows["IR_BEN_R"][1]["BEN_DCD_DTE"] = SENTINEL
    b.rows["IR_MTT_R"][0]["MTT_FIN_DTE"] = SENTINEL
    b.rows["IR_IMB_R"][0]["IMB_ALD_DTF"] = SENTINEL
    b.rows["IR_IMB_R"].insert(0, {**b.rows["IR_IMB_R"][0], "IMB_ALD_DTF": date(2016, 6, 30),
                                  "INS_DTE": date(2016, 1, 1), "UPD_DTE": date(2016, 1, 1)})
    b.rows["IR_IMB_R"][1].update(INS_DTE=date(2016, 6, 1), UPD_DTE=date(2016, 6, 1))
    for r in b.rows["DA_PRA_R"]:
        r.update(DTE_ANN_TRT=2019, DTE_MOI_FIN=1)
    b.rows["DA_PRA_R"] += [{**r, "DTE_MOI_FIN": 2} for r in b.rows["DA_PRA_R"]]
    b.rows["DA_PRA_R"][0]["CNV_CNV_COD"] = "2"
    for t in ("B", "C", "D", "A"):
        b.rows[f"T_MCO18{t}"] = b.rows.pop(f"T_MCOaa{t}")
        b.rows[f"T_MCOaa{t}"] = []
    a, gp = h["alice"], h["gp"]
    b.service(a, date(2019, 2, 1), executant=gp, DPN_QLF=71)  # information line
    key = b.service(a, date(2019, 2, 1), executant=gp)  # hospital activity in DCIR
    b.rows["ER_ETE_F"].append({**key, "ETE_IND_TAA": 1})
    b.service(a, date(2019, 2, 1), executant=gp, CPL_MAJ_TOP=2)


def test_real_shaped_extract_gives_the_same_views_as_the_clean_one(tmp_path):
    clean_b, h = minimal_dataset()
    clean = _load(clean_b, tmp_path / "clean")
    real_b, h = minimal_dataset()
    _every_quirk(real_b, h)
    real = _load(real_b, tmp_path / "real")
    for view in ("patients", "doctors", "mt_declarations", "ald", "services", "drug_deliveries",
                 "bio_acts", "ccam_acts", "hospital_diagnoses", "hospital_acts"):
        t = clean.view(view)
        cols = [c for c in t.columns if c not in ("claim_ref", "stay_id", "death_date", "end_date")]
        assert _rows(real, view, *cols) == _rows(clean, view, *cols), view
    _accounted(real)
