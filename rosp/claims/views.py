"""Clean views (docs/architecture.md, "Claims clean views"), built in DuckDB SQL.

The SNDS data rules of indicators.md §a.4 and of the Cnam fiches are applied here,
once, each named and counted in the load report (``TableReport.filtered``):

* DCIR lines left out of city care: information lines (``DPN_QLF = 71`` or
  ``PRS_DPN_QLP = 71``), majoration lines (``CPL_MAJ_TOP >= 2``), hospital activity
  billed in DCIR (``ER_ETE_F.ETE_IND_TAA = 1``), participations forfaitaires
  (``CPL_AFF_COD = 16``), lines without a base nature (``BSE_PRS_NAT = 0``), flows
  later than the documented lag (``FLX_DIS_DTD``, parameter ``claims.flow_lag_months``);
  their detail lines go with them;
* beneficiaries with a fictitious NIR (``BEN_CDI_NIR`` other than ``00``) and their
  claims;
* PMSI stays failing the quality rules (return codes other than 0, GHM ``90...``,
  duplicate geographic FINESS of AP-HP/AP-HM/HCL) and stays whose NIR is shared by
  twins (one ``BEN_NIR_PSA``, several persons: never given to either);
* superseded versions of a renewed ALD (``claims.ald_current_version``);
* régularisations: quantities are summed over identical lines and groups with a
  sum <= 0 are dropped (a delivery cancelled by its correction line disappears);
* liquidation numbers are normalised once (``ps_key``, ``claims.ps_number_match``) and
  mapped to ``doctor_id`` = ``DA_PRA_R.STA_PFS_NUM`` of the latest month in force; an
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

DCIR_KEY_SQL = ", ".join(DCIR_JOIN_KEY)
_STAY_KEY = "PMSI_ANN, ETA_NUM, RSA_NUM"
_RETURN_CODES = ("NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET")


def _ref(table: str, alias: str) -> str:
    # Smallest (DCT_ORD_NUM, PRS_ORD_NUM) of the group, tagged with its table; turned
    # into a short, patient-free text by _ref_text after aggregation (strings are
    # built once per group, not once per line).
    return f"{{'t': '{table}', 'd': {alias}.DCT_ORD_NUM, 'p': {alias}.PRS_ORD_NUM}}"


def _ref_text(col: str) -> str:
    return f"{col}.t || ':' || {col}.d || '-' || {col}.p"


def _params(year: int) -> dict[str, str]:
    from rosp.catalogue.parameters import load_parameters

    params = load_parameters()
    names = (
        "claims.flow_lag_months",
        "claims.conventioned_codes",
        "claims.pmsi_geographic_finess",
        "claims.pmsi_geographic_finess_until",
        "claims.ps_number_match",
    )
    return {n.split(".", 1)[1]: params.get(n, year).value for n in names}


def _sql_list(csv_text: str) -> str:
    return ", ".join("'" + v.strip().replace("'", "''") + "'" for v in csv_text.split(",") if v.strip())


def ps_number_mode(con, setting: str) -> str:
    """'prefix8' when DA_PRA_R holds only 8-character numbers (setting 'auto'), else 'exact'."""
    if setting in ("exact", "prefix8"):
        return setting
    n, eight = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE length(trim(PFS_PFS_NUM)) = 8) FROM DA_PRA_R"
    ).fetchall()[0]
    return "prefix8" if n and n == eight else "exact"


def _ps_macro(mode: str) -> str:
    # One normalisation of PS numbers for every table: blanks trimmed; left zero padding
    # beyond 9 characters removed (MTT_PFS_NUM is string(17)); 'prefix8' keeps the 8
    # characters of DA_PRA_R (the 9th of PFS_EXE_NUM is a key) [I].
    norm = (
        "CASE WHEN length(trim(x)) > 9 AND regexp_full_match(trim(x), '0+.{9}') "
        "THEN right(trim(x), 9) ELSE nullif(trim(x), '') END"
    )
    body = f"left({norm}, 8)" if mode == "prefix8" else norm
    return f"CREATE OR REPLACE MACRO ps_key(x) AS {body}"


def view_sql(year: int, settings: dict[str, str]) -> dict[str, str]:
    """The SQL of every view for study ``year``; views whose SQL yields ``_filter`` are
    split: rows with a non-NULL ``_filter`` are counted, then left out."""
    lag = int(settings["flow_lag_months"])
    months = 1 + lag
    flow_end = date(year + 1 + (months - 1) // 12, (months - 1) % 12 + 1, 1)
    conventioned = _sql_list(settings["conventioned_codes"])
    finess = _sql_list(settings["pmsi_geographic_finess"])
    finess_until = int(settings["pmsi_geographic_finess_until"])
    last_month = year * 100 + 12
    ret_bad = " OR ".join(f"coalesce(trim(c.{r}), '0') NOT IN ('0', '')" for r in _RETURN_CODES)
    return {
        # beneficiaries with a real NIR (BEN_CDI_NIR '00' or not given)
        "_rosp_ben": """
SELECT *, CASE WHEN BEN_CDI_NIR IS NOT NULL AND trim(BEN_CDI_NIR) NOT IN ('00', '')
               THEN 'fictitious_nir' END AS _filter
FROM IR_BEN_R
""",
        # DA_PRA_R: one row per PS and month; the latest month up to December N (else the
        # earliest later one) gives the cabinet's statistical number and specialty
        "_rosp_pra": f"""
SELECT *, coalesce(DTE_ANN_TRT, 0)::INTEGER * 100 + coalesce(DTE_MOI_FIN, 0) AS _ym FROM DA_PRA_R
QUALIFY row_number() OVER (
    PARTITION BY PFS_PFS_NUM
    ORDER BY _ym <= {last_month} DESC, CASE WHEN _ym <= {last_month} THEN -_ym ELSE _ym END) = 1
""",
        # Liquidation number -> doctor_id. A number that already is a statistical number
        # maps to itself (PRS_MTT_NUM / MTT_PFS_NUM may carry either, indicators.md §a.3).
        "_rosp_doctor_map": """
SELECT num, min(doctor_id) AS doctor_id FROM (
    SELECT ps_key(PFS_PFS_NUM) AS num, STA_PFS_NUM AS doctor_id, 0 AS pri FROM _rosp_pra
    UNION ALL
    SELECT DISTINCT ps_key(STA_PFS_NUM), STA_PFS_NUM, 1 FROM _rosp_pra
    WHERE ps_key(STA_PFS_NUM) NOT IN (SELECT ps_key(PFS_PFS_NUM) FROM _rosp_pra)
) GROUP BY num
""",
        # Non-information DCIR lines with their patient, computed once and shared by the
        # four fact views (the patient join over the largest table is the costly part).
        "_rosp_prs_lines": f"""
SELECT b.BEN_IDT_ANO AS patient_id, {DCIR_KEY_SQL}, p.EXE_SOI_DTD, p.PRS_NAT_REF, p.PRS_ACT_QTE,
       ps_key(p.PFS_EXE_NUM) AS PFS_EXE_NUM, ps_key(p.PFS_PRE_NUM) AS PFS_PRE_NUM,
       p.CPL_MAJ_TOP, p.PSE_SPE_COD, p.PSP_SPE_COD,
       CASE WHEN b._filter IS NOT NULL THEN b._filter
            WHEN p.DPN_QLF = 71 OR p.PRS_DPN_QLP = 71 THEN 'information_line'
            WHEN p.CPL_MAJ_TOP >= 2 THEN 'majoration_line'
            WHEN e._hit THEN 'hospital_activity'
            WHEN p.CPL_AFF_COD = 16 THEN 'forfait_line'
            WHEN p.BSE_PRS_NAT = 0 THEN 'no_base_nature'
            WHEN p.FLX_DIS_DTD >= DATE '{flow_end.isoformat()}' THEN 'flow_after_lag'
       END AS _filter
FROM ER_PRS_F p JOIN _rosp_ben b USING (BEN_NIR_PSA, BEN_RNG_GEM)
LEFT JOIN (SELECT DISTINCT {DCIR_KEY_SQL}, true AS _hit FROM ER_ETE_F WHERE ETE_IND_TAA = 1) e
    USING ({DCIR_KEY_SQL})
""",
        # NIR_ANO_17 (PMSI) = BEN_NIR_PSA; several BEN_RNG_GEM may map to one person, but
        # twins share one NIR: a NIR of several persons is never resolved to either.
        "_rosp_nir_map": """
SELECT BEN_NIR_PSA, min(BEN_IDT_ANO) AS patient_id, count(DISTINCT BEN_IDT_ANO) AS persons
FROM _rosp_ben WHERE _filter IS NULL GROUP BY BEN_NIR_PSA
""",
        "patients": """
SELECT BEN_IDT_ANO AS patient_id,
       BEN_NAI_ANN AS birth_year,
       CASE WHEN BEN_NAI_MOI BETWEEN 1 AND 12 THEN BEN_NAI_MOI END AS birth_month,
       CASE WHEN BEN_NAI_MOI BETWEEN 1 AND 12
            THEN make_date(BEN_NAI_ANN::BIGINT, BEN_NAI_MOI::BIGINT, 15) END AS birth_date,
       BEN_SEX_COD AS sex,
       min(BEN_DCD_DTE) OVER (PARTITION BY BEN_IDT_ANO) AS death_date
FROM _rosp_ben WHERE _filter IS NULL
QUALIFY row_number() OVER (PARTITION BY BEN_IDT_ANO ORDER BY BEN_NIR_PSA, BEN_RNG_GEM) = 1
""",
        "doctors": f"""
SELECT p.STA_PFS_NUM AS doctor_id,
       p.PFS_PRA_SPE AS specialty,
       coalesce(trim(p.CNV_CNV_COD) IN ({conventioned}), false) AS conventioned,
       i.installed_on,
       a.ROSP_OPT_OUT_DTE AS opted_out_on,
       a.CAPI_SIG_DTE AS capi_signed_on
FROM _rosp_pra p
JOIN (SELECT STA_PFS_NUM, min(PFS_INS_DSD) AS installed_on FROM DA_PRA_R GROUP BY 1) i
    USING (STA_PFS_NUM)
-- not SNDS: the caisse's optional administrative file (absent = no opt-out, no CAPI)
LEFT JOIN ROSP_ADM a USING (STA_PFS_NUM)
-- specialty and convention status of the main cabinet (PFS = STA) when present
QUALIFY row_number() OVER (PARTITION BY p.STA_PFS_NUM
                           ORDER BY p.PFS_PFS_NUM <> p.STA_PFS_NUM, p.PFS_PFS_NUM) = 1
""",
        "mt_declarations": """
SELECT b.BEN_IDT_ANO AS patient_id, d.doctor_id,
       m.MTT_DEP_DTE AS start_date, m.MTT_FIN_DTE AS end_date, b._filter
FROM IR_MTT_R m
JOIN _rosp_ben b USING (BEN_NIR_PSA, BEN_RNG_GEM)
LEFT JOIN _rosp_doctor_map d ON d.num = ps_key(m.MTT_PFS_NUM)
""",
        # IR_IMB_R has no key: a renewal is a new row. Current version per exoneration
        # (claims.ald_current_version = latest_update).
        "ald": """
SELECT b.BEN_IDT_ANO AS patient_id, i.IMB_ALD_NUM AS ald_num, i.MED_MTF_COD AS icd10,
       i.IMB_ALD_DTD AS start_date, i.IMB_ALD_DTF AS end_date, i.IMB_ETM_NAT AS nature,
       coalesce(b._filter, CASE WHEN row_number() OVER (
           PARTITION BY i.BEN_NIR_PSA, i.BEN_RNG_GEM, i.IMB_ALD_NUM, i.MED_MTF_COD, i.IMB_ALD_DTD
           ORDER BY coalesce(i.UPD_DTE, i.INS_DTE) DESC NULLS LAST, i.INS_DTE DESC NULLS LAST,
                    i.IMB_ALD_DTF IS NULL DESC, i.IMB_ALD_DTF DESC, i._file, i._row) > 1
           THEN 'ald_superseded_version' END) AS _filter
FROM IR_IMB_R i JOIN _rosp_ben b USING (BEN_NIR_PSA, BEN_RNG_GEM)
""",
        "services": f"""
WITH g AS (
    SELECT patient_id, EXE_SOI_DTD AS date, PRS_NAT_REF AS nature, PFS_EXE_NUM, PFS_PRE_NUM,
           CPL_MAJ_TOP AS cpl_maj_top,
           min(PSE_SPE_COD) AS executant_specialty,
           sum(PRS_ACT_QTE) AS quantity,
           min({_ref("ER_PRS_F", "l")}) FILTER (WHERE PRS_ACT_QTE > 0) AS claim_ref
    FROM _rosp_prs_lines l
    GROUP BY patient_id, EXE_SOI_DTD, PRS_NAT_REF, PFS_EXE_NUM, PFS_PRE_NUM, CPL_MAJ_TOP
    HAVING sum(PRS_ACT_QTE) > 0
)
SELECT g.patient_id, g.date, g.nature, e.doctor_id AS executant_id, p.doctor_id AS prescriber_id,
       g.executant_specialty, g.cpl_maj_top, greatest(round(g.quantity), 1)::BIGINT AS quantity,
       {_ref_text("g.claim_ref")} AS claim_ref
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
    FROM ER_PHA_F d JOIN _rosp_prs_lines l USING ({DCIR_KEY_SQL})
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
    FROM ER_BIO_F d JOIN _rosp_prs_lines l USING ({DCIR_KEY_SQL})
    GROUP BY l.patient_id, l.EXE_SOI_DTD, d.BIO_PRS_IDE, l.PFS_PRE_NUM
    HAVING sum(d.BIO_ACT_QSN) > 0
)
SELECT g.patient_id, g.date, g.nabm, g.quantity, p.doctor_id AS prescriber_id,
       e.doctor_id AS executant_id, {_ref_text("g.claim_ref")} AS claim_ref
FROM g
LEFT JOIN _rosp_doctor_map p ON p.num = g.PFS_PRE_NUM
LEFT JOIN _rosp_doctor_map e ON e.num = g.PFS_EXE_NUM
""",
        # ER_CAM_F has no quantity: the parent's PRS_ACT_QTE carries the sign (§a.1). Several
        # CCAM lines under one prestation line (activities, phases) count the line once per code.
        "ccam_acts": f"""
WITH d AS (SELECT DISTINCT {DCIR_KEY_SQL}, CAM_PRS_IDE FROM ER_CAM_F),
g AS (
    SELECT l.patient_id, l.EXE_SOI_DTD AS date, d.CAM_PRS_IDE AS ccam, l.PFS_EXE_NUM,
           min(l.PSE_SPE_COD) AS executant_specialty,
           sum(l.PRS_ACT_QTE) AS quantity,
           min({_ref("ER_CAM_F", "d")}) FILTER (WHERE l.PRS_ACT_QTE > 0) AS claim_ref
    FROM d JOIN _rosp_prs_lines l USING ({DCIR_KEY_SQL})
    GROUP BY l.patient_id, l.EXE_SOI_DTD, d.CAM_PRS_IDE, l.PFS_EXE_NUM
    HAVING sum(l.PRS_ACT_QTE) > 0
)
SELECT g.patient_id, g.date, g.ccam, e.doctor_id AS executant_id, g.executant_specialty,
       greatest(round(g.quantity), 1)::BIGINT AS quantity, {_ref_text("g.claim_ref")} AS claim_ref
FROM g LEFT JOIN _rosp_doctor_map e ON e.num = g.PFS_EXE_NUM
""",
        # Yearly PMSI tables: B, C, D, A joined within one year (PMSI_ANN).
        "_rosp_stays": f"""
SELECT n.patient_id, {_STAY_KEY},
       CASE WHEN c.PMSI_ANN = 0 THEN c.ETA_NUM || ':' || c.RSA_NUM
            ELSE c.PMSI_ANN || ':' || c.ETA_NUM || ':' || c.RSA_NUM END AS stay_id,
       c.EXE_SOI_DTD AS entry_date, c.EXE_SOI_DTF AS exit_date,
       b.DGN_PAL AS dp, nullif(b.DGN_REL, '') AS dr,
       CASE WHEN n.BEN_NIR_PSA IS NULL THEN 'fictitious_nir'
            WHEN n.persons > 1 THEN 'pmsi_nir_shared_by_twins'
            WHEN {ret_bad} THEN 'pmsi_return_code'
            WHEN b.GRG_GHM LIKE '90%' THEN 'pmsi_error_ghm'
            WHEN c.ETA_NUM IN ({finess})
                 AND (CASE WHEN c.PMSI_ANN > 0 THEN c.PMSI_ANN ELSE year(c.EXE_SOI_DTD) END)
                     <= {finess_until} THEN 'pmsi_geographic_finess'
       END AS _filter
FROM T_MCOaaC c
JOIN T_MCOaaB b USING ({_STAY_KEY})
LEFT JOIN (SELECT * FROM _rosp_nir_map WHERE patient_id IS NOT NULL) n
    ON n.BEN_NIR_PSA = c.NIR_ANO_17
""",
        "hospital_stays": """
SELECT patient_id, stay_id, entry_date, exit_date, dp, dr FROM _rosp_stays
""",
        "hospital_diagnoses": f"""
SELECT patient_id, stay_id, entry_date, dp AS icd10, 'DP' AS kind FROM _rosp_stays
UNION ALL
SELECT patient_id, stay_id, entry_date, dr, 'DR' FROM _rosp_stays WHERE dr IS NOT NULL
UNION ALL
SELECT s.patient_id, s.stay_id, s.entry_date, d.ASS_DGN, 'DAS'
FROM T_MCOaaD d JOIN _rosp_stays s USING ({_STAY_KEY})
""",
        "hospital_acts": f"""
SELECT s.patient_id, s.stay_id,
       s.entry_date + coalesce(a.ENT_DAT_DEL, 0)::INTEGER AS act_date,
       a.CDC_ACT AS ccam
FROM T_MCOaaA a JOIN _rosp_stays s USING ({_STAY_KEY})
""",
        "declarations": """
SELECT STA_PFS_NUM AS doctor_id, INDICATOR_ID AS indicator_id, DECL_NUM AS numerator,
       DECL_DEN AS denominator, DECL_RATE AS declared_rate
FROM ROSP_DECL
""",
    }


#: Public view names, in build order.
VIEWS: tuple[str, ...] = tuple(n for n in view_sql(2018, {
    "flow_lag_months": "6", "conventioned_codes": "1", "pmsi_geographic_finess": "",
    "pmsi_geographic_finess_until": "0", "ps_number_match": "exact",
}) if not n.startswith("_"))

#: Views holding a ``_filter`` column -> the raw table whose report counts the rule,
#: and the raw tables whose lines hang on the filtered rows (key columns).
_FILTERED: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "_rosp_ben": ("IR_BEN_R", ()),
    "_rosp_prs_lines": (
        "ER_PRS_F",
        tuple((t, DCIR_KEY_SQL) for t in ("ER_PHA_F", "ER_BIO_F", "ER_CAM_F", "ER_ETE_F")),
    ),
    "mt_declarations": ("IR_MTT_R", ()),
    "ald": ("IR_IMB_R", ()),
    "_rosp_stays": ("T_MCOaaC", (("T_MCOaaB", _STAY_KEY), ("T_MCOaaD", _STAY_KEY), ("T_MCOaaA", _STAY_KEY))),
}

#: Fact views built from DCIR lines with régularisation summing: view -> (detail table, quantity).
CORRECTED_VIEWS: dict[str, tuple[str, str]] = {
    "services": ("ER_PRS_F", "PRS_ACT_QTE"),
    "drug_deliveries": ("ER_PHA_F", "PHA_ACT_QSN"),
    "bio_acts": ("ER_BIO_F", "BIO_ACT_QSN"),
    "ccam_acts": ("ER_CAM_F", "PRS_ACT_QTE"),
}


def build_views(con, year: int = 2018) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]], str]:
    """Materialise every clean view on the DuckDB connection ``con`` for study ``year``.

    Returns ``(stats, filtered, ps_mode)``: per view, its row count and, for DCIR fact
    views, the number of input lines and of correction lines (negative quantity); per
    raw table, the kept rows left out by each named rule; the PS-number matching mode.
    """
    settings = _params(year)
    mode = ps_number_mode(con, settings["ps_number_match"])
    con.execute(_ps_macro(mode))
    filtered: dict[str, dict[str, int]] = {}
    for name, sql in view_sql(year, settings).items():
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
        if name not in _FILTERED:
            continue
        table, children = _FILTERED[name]
        counts = filtered.setdefault(table, {})
        for rule, n in con.execute(
            f'SELECT _filter, count(*) FROM "{name}" WHERE _filter IS NOT NULL GROUP BY 1'
        ).fetchall():
            counts[rule] = counts.get(rule, 0) + n
        if children:
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE _rosp_dropped AS SELECT DISTINCT {children[0][1]}, '
                f'_filter FROM "{name}" WHERE _filter IS NOT NULL'
            )
            for child, key in children:
                for rule, n in con.execute(
                    f"SELECT f._filter, count(*) FROM {child} JOIN _rosp_dropped f USING ({key}) "
                    "GROUP BY 1"
                ).fetchall():
                    filtered.setdefault(child, {})[rule] = filtered.get(child, {}).get(rule, 0) + n
            con.execute("DROP TABLE _rosp_dropped")
        if name == "_rosp_ben":  # claims of fictitious NIRs are counted on their own tables
            continue
        con.execute(f'DELETE FROM "{name}" WHERE _filter IS NOT NULL')
        con.execute(f'ALTER TABLE "{name}" DROP COLUMN _filter')
    stats: dict[str, dict[str, int]] = {}
    for name in VIEWS:
        stats[name] = {"rows": con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]}
    for name, (table, qty) in CORRECTED_VIEWS.items():
        # p = lines used, with a known patient (the lines the view reads)
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
    for name in ("_rosp_prs_lines", "_rosp_stays", "_rosp_ben", "_rosp_pra"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return stats, filtered, mode


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
