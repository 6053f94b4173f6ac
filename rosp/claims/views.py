"""Clean views (docs/architecture.md, "Claims clean views"), built in DuckDB SQL.

The SNDS data rules of indicators.md §a.4 are applied here, once:

* information lines (``ER_PRS_F.DPN_QLF = 71``, and their detail lines) are left out;
* régularisations: quantities are summed over identical lines and groups with a
  sum <= 0 are dropped (a delivery cancelled by its correction line disappears);
* liquidation numbers are mapped to ``doctor_id`` = ``DA_PRA_R.STA_PFS_NUM``; an
  unknown number (e.g. a salaried hospital prescriber) gives a NULL id, the row stays;
* ``patient_id`` = ``IR_BEN_R.BEN_IDT_ANO``.

Each view is materialised as a DuckDB table of the same name; the raw tables they
read hold only the rows kept by validation.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from rosp.claims.schema import DCIR_JOIN_KEY

INFO_LINE = "DPN_QLF IS DISTINCT FROM 71"
DCIR_KEY_SQL = ", ".join(DCIR_JOIN_KEY)


def _ref(table: str, alias: str) -> str:
    # Smallest (DCT_ORD_NUM, PRS_ORD_NUM) of the group, tagged with its table; turned
    # into a short, patient-free text by _ref_text after aggregation (strings are
    # built once per group, not once per line).
    return f"{{'t': '{table}', 'd': {alias}.DCT_ORD_NUM, 'p': {alias}.PRS_ORD_NUM}}"


def _ref_text(col: str) -> str:
    return f"{col}.t || ':' || {col}.d || '-' || {col}.p"


# Liquidation number -> doctor_id. A number that already is a statistical number
# maps to itself (PRS_MTT_NUM / MTT_PFS_NUM may carry either, indicators.md §a.3).
_DOCTOR_MAP = """
SELECT PFS_PFS_NUM AS num, STA_PFS_NUM AS doctor_id FROM DA_PRA_R
UNION ALL
SELECT DISTINCT STA_PFS_NUM, STA_PFS_NUM FROM DA_PRA_R
WHERE STA_PFS_NUM NOT IN (SELECT PFS_PFS_NUM FROM DA_PRA_R)
"""

# NIR_ANO_17 (PMSI) = BEN_NIR_PSA; several BEN_RNG_GEM map to one person.
_NIR_MAP = "SELECT BEN_NIR_PSA, min(BEN_IDT_ANO) AS patient_id FROM IR_BEN_R GROUP BY BEN_NIR_PSA"

# Non-information DCIR lines with their patient, computed once and shared by the
# four fact views (the patient join over the largest table is the costly part).
_PRS_LINES_SQL = f"""
SELECT b.BEN_IDT_ANO AS patient_id, {DCIR_KEY_SQL}, p.EXE_SOI_DTD, p.PRS_NAT_REF, p.PRS_ACT_QTE,
       p.PFS_EXE_NUM, p.PFS_PRE_NUM, p.CPL_MAJ_TOP, p.PSE_SPE_COD, p.PSP_SPE_COD
FROM ER_PRS_F p JOIN IR_BEN_R b USING (BEN_NIR_PSA, BEN_RNG_GEM)
WHERE p.{INFO_LINE}
"""
_PRS_LINES = "SELECT * FROM _rosp_prs_lines"

VIEW_SQL: dict[str, str] = {
    "_rosp_doctor_map": _DOCTOR_MAP,
    "_rosp_prs_lines": _PRS_LINES_SQL,
    "_rosp_nir_map": _NIR_MAP,
    "patients": """
SELECT BEN_IDT_ANO AS patient_id,
       BEN_NAI_ANN AS birth_year,
       CASE WHEN BEN_NAI_MOI BETWEEN 1 AND 12 THEN BEN_NAI_MOI END AS birth_month,
       CASE WHEN BEN_NAI_MOI BETWEEN 1 AND 12
            THEN make_date(BEN_NAI_ANN::BIGINT, BEN_NAI_MOI::BIGINT, 15) END AS birth_date,
       BEN_SEX_COD AS sex,
       min(BEN_DCD_DTE) OVER (PARTITION BY BEN_IDT_ANO) AS death_date
FROM IR_BEN_R
QUALIFY row_number() OVER (PARTITION BY BEN_IDT_ANO ORDER BY BEN_NIR_PSA, BEN_RNG_GEM) = 1
""",
    "doctors": """
SELECT STA_PFS_NUM AS doctor_id,
       PFS_PRA_SPE AS specialty,
       CNV_TOP = 1 AS conventioned,
       min(INS_DTE) OVER w AS installed_on,
       min(ROSP_OPT_OUT_DTE) OVER w AS opted_out_on,
       min(CAPI_SIG_DTE) OVER w AS capi_signed_on
FROM DA_PRA_R
WINDOW w AS (PARTITION BY STA_PFS_NUM)
-- specialty and convention status of the main cabinet (PFS = STA) when present
QUALIFY row_number() OVER (PARTITION BY STA_PFS_NUM
                           ORDER BY PFS_PFS_NUM <> STA_PFS_NUM, PFS_PFS_NUM) = 1
""",
    "mt_declarations": """
SELECT b.BEN_IDT_ANO AS patient_id, d.doctor_id,
       m.MTT_DEP_DTE AS start_date, m.MTT_FIN_DTE AS end_date
FROM IR_MTT_R m
JOIN IR_BEN_R b USING (BEN_NIR_PSA, BEN_RNG_GEM)
LEFT JOIN _rosp_doctor_map d ON d.num = m.MTT_PFS_NUM
""",
    "ald": """
SELECT b.BEN_IDT_ANO AS patient_id, i.IMB_ALD_NUM AS ald_num, i.MED_MTF_COD AS icd10,
       i.IMB_ALD_DTD AS start_date, i.IMB_ALD_DTF AS end_date, i.IMB_ETM_NAT AS nature
FROM IR_IMB_R i JOIN IR_BEN_R b USING (BEN_NIR_PSA, BEN_RNG_GEM)
""",
    "services": f"""
WITH g AS (
    SELECT patient_id, EXE_SOI_DTD AS date, PRS_NAT_REF AS nature, PFS_EXE_NUM, PFS_PRE_NUM,
           CPL_MAJ_TOP AS cpl_maj_top,
           min(PSE_SPE_COD) AS executant_specialty,
           sum(PRS_ACT_QTE)::BIGINT AS quantity,
           min({_ref("ER_PRS_F", "l")}) FILTER (WHERE PRS_ACT_QTE > 0) AS claim_ref
    FROM ({_PRS_LINES}) l
    GROUP BY patient_id, EXE_SOI_DTD, PRS_NAT_REF, PFS_EXE_NUM, PFS_PRE_NUM, CPL_MAJ_TOP
    HAVING sum(PRS_ACT_QTE) > 0
)
SELECT g.patient_id, g.date, g.nature, e.doctor_id AS executant_id, p.doctor_id AS prescriber_id,
       g.executant_specialty, g.cpl_maj_top, g.quantity, {_ref_text("g.claim_ref")} AS claim_ref
FROM g
LEFT JOIN _rosp_doctor_map e ON e.num = g.PFS_EXE_NUM
LEFT JOIN _rosp_doctor_map p ON p.num = g.PFS_PRE_NUM
""",
    "drug_deliveries": f"""
WITH g AS (
    SELECT l.patient_id, l.EXE_SOI_DTD AS date, d.PHA_PRS_C13 AS cip13, l.PFS_PRE_NUM,
           min(l.PSP_SPE_COD) AS prescriber_specialty,
           sum(d.PHA_ACT_QSN)::BIGINT AS boxes,
           min({_ref("ER_PHA_F", "d")}) FILTER (WHERE d.PHA_ACT_QSN > 0) AS claim_ref
    FROM ER_PHA_F d JOIN ({_PRS_LINES}) l USING ({DCIR_KEY_SQL})
    GROUP BY l.patient_id, l.EXE_SOI_DTD, d.PHA_PRS_C13, l.PFS_PRE_NUM
    HAVING sum(d.PHA_ACT_QSN) > 0
)
SELECT g.patient_id, g.date, g.cip13, r.PHA_ATC_C07 AS atc, r.PHA_GRS_NUM AS generic_group,
       coalesce(r.PHA_CND_TOP = 'GC', false) AS large_pack, g.boxes,
       p.doctor_id AS prescriber_id, g.prescriber_specialty, {_ref_text("g.claim_ref")} AS claim_ref
FROM g
LEFT JOIN IR_PHA_R r ON r.PHA_CIP_C13 = g.cip13
LEFT JOIN _rosp_doctor_map p ON p.num = g.PFS_PRE_NUM
""",
    "bio_acts": f"""
WITH g AS (
    SELECT l.patient_id, l.EXE_SOI_DTD AS date, d.BIO_PRS_IDE AS nabm, l.PFS_PRE_NUM,
           min(l.PFS_EXE_NUM) AS PFS_EXE_NUM,
           sum(d.BIO_ACT_QSN)::BIGINT AS quantity,
           min({_ref("ER_BIO_F", "d")}) FILTER (WHERE d.BIO_ACT_QSN > 0) AS claim_ref
    FROM ER_BIO_F d JOIN ({_PRS_LINES}) l USING ({DCIR_KEY_SQL})
    GROUP BY l.patient_id, l.EXE_SOI_DTD, d.BIO_PRS_IDE, l.PFS_PRE_NUM
    HAVING sum(d.BIO_ACT_QSN) > 0
)
SELECT g.patient_id, g.date, g.nabm, g.quantity, p.doctor_id AS prescriber_id,
       e.doctor_id AS executant_id, {_ref_text("g.claim_ref")} AS claim_ref
FROM g
LEFT JOIN _rosp_doctor_map p ON p.num = g.PFS_PRE_NUM
LEFT JOIN _rosp_doctor_map e ON e.num = g.PFS_EXE_NUM
""",
    # ER_CAM_F has no quantity: the parent's PRS_ACT_QTE carries the sign (§a.1).
    "ccam_acts": f"""
WITH g AS (
    SELECT l.patient_id, l.EXE_SOI_DTD AS date, d.CAM_PRS_IDE AS ccam, l.PFS_EXE_NUM,
           min(l.PSE_SPE_COD) AS executant_specialty,
           sum(l.PRS_ACT_QTE)::BIGINT AS quantity,
           min({_ref("ER_CAM_F", "d")}) FILTER (WHERE l.PRS_ACT_QTE > 0) AS claim_ref
    FROM ER_CAM_F d JOIN ({_PRS_LINES}) l USING ({DCIR_KEY_SQL})
    GROUP BY l.patient_id, l.EXE_SOI_DTD, d.CAM_PRS_IDE, l.PFS_EXE_NUM
    HAVING sum(l.PRS_ACT_QTE) > 0
)
SELECT g.patient_id, g.date, g.ccam, e.doctor_id AS executant_id, g.executant_specialty,
       g.quantity, {_ref_text("g.claim_ref")} AS claim_ref
FROM g LEFT JOIN _rosp_doctor_map e ON e.num = g.PFS_EXE_NUM
""",
    "hospital_stays": """
SELECT n.patient_id, c.ETA_NUM || ':' || c.RSA_NUM AS stay_id,
       c.EXE_SOI_DTD AS entry_date, c.EXE_SOI_DTF AS exit_date,
       b.DGN_PAL AS dp, nullif(b.DGN_REL, '') AS dr
FROM T_MCOaaC c
JOIN T_MCOaaB b USING (ETA_NUM, RSA_NUM)
JOIN _rosp_nir_map n ON n.BEN_NIR_PSA = c.NIR_ANO_17
""",
    "hospital_diagnoses": """
SELECT patient_id, stay_id, entry_date, dp AS icd10, 'DP' AS kind FROM hospital_stays
UNION ALL
SELECT patient_id, stay_id, entry_date, dr, 'DR' FROM hospital_stays WHERE dr IS NOT NULL
UNION ALL
SELECT s.patient_id, s.stay_id, s.entry_date, d.ASS_DGN, 'DAS'
FROM T_MCOaaD d JOIN hospital_stays s ON s.stay_id = d.ETA_NUM || ':' || d.RSA_NUM
""",
    "hospital_acts": """
SELECT s.patient_id, s.stay_id,
       s.entry_date + coalesce(a.ENT_DAT_DEL, 0)::INTEGER AS act_date,
       a.CDC_ACT AS ccam
FROM T_MCOaaA a JOIN hospital_stays s ON s.stay_id = a.ETA_NUM || ':' || a.RSA_NUM
""",
    "declarations": """
SELECT STA_PFS_NUM AS doctor_id, INDICATOR_ID AS indicator_id, DECL_NUM AS numerator,
       DECL_DEN AS denominator, DECL_RATE AS declared_rate
FROM ROSP_DECL
""",
}

#: Public view names, in build order.
VIEWS: tuple[str, ...] = tuple(n for n in VIEW_SQL if not n.startswith("_"))

#: Fact views built from DCIR lines with régularisation summing: view -> (detail table, quantity).
CORRECTED_VIEWS: dict[str, tuple[str, str]] = {
    "services": ("ER_PRS_F", "PRS_ACT_QTE"),
    "drug_deliveries": ("ER_PHA_F", "PHA_ACT_QSN"),
    "bio_acts": ("ER_BIO_F", "BIO_ACT_QSN"),
    "ccam_acts": ("ER_CAM_F", "PRS_ACT_QTE"),
}


def build_views(con) -> dict[str, dict[str, int]]:
    """Materialise every clean view on the DuckDB connection ``con``.

    Returns, per view, its row count and, for DCIR fact views, the number of
    non-information input lines and of correction lines (negative quantity).
    """
    for name, sql in VIEW_SQL.items():
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
    stats: dict[str, dict[str, int]] = {}
    for name in VIEWS:
        stats[name] = {"rows": con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]}
    for name, (table, qty) in CORRECTED_VIEWS.items():
        # p = non-information lines with a known patient (the lines the view reads)
        src = (
            "_rosp_prs_lines p"
            if table == "ER_PRS_F"
            else f"{table} d JOIN _rosp_prs_lines p USING ({DCIR_KEY_SQL})"
        )
        col = f"p.{qty}" if qty == "PRS_ACT_QTE" else f"d.{qty}"
        lines, corrections = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {col} < 0) FROM {src}"
        ).fetchall()[0]
        stats[name] |= {"lines": lines, "correction_lines": corrections}
    con.execute("DROP TABLE IF EXISTS _rosp_prs_lines")
    return stats


# ---------------------------------------------------------------- age helpers [I]


def age_in_years(patients: ir.Table, on: date) -> ir.IntegerValue:
    """Age in completed years on ``on``, birth day taken as the 15th (indicators.md §a.4 [I])."""
    ref = ibis.date(on)
    before_birthday = (patients.birth_month > ref.month()) | (
        (patients.birth_month == ref.month()) & (ref.day() < 15)
    )
    return ref.year() - patients.birth_year - before_birthday.cast("int64")


def age_in_months(patients: ir.Table, on: date) -> ir.IntegerValue:
    """Age in completed months on ``on`` (birth day = 15th); for "moins de 2 ans" rules."""
    ref = ibis.date(on)
    months = (ref.year() - patients.birth_year) * 12 + ref.month() - patients.birth_month
    return months - (ref.day() < 15).cast("int64")
