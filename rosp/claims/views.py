"""Clean views (docs/architecture.md, "Claims clean views"), built as Ibis expressions.

The views are written once, in Ibis, over the validated raw tables, and built by a
:class:`~rosp.engine.backends.QueryBackend`: the same code runs on DuckDB and on
Spark (Ibis compiles it to either SQL). The SNDS data rules of indicators.md §a.4
and of the Cnam fiches are applied here, once, each named and counted in the load
report (``TableReport.filtered``):

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
* liquidation numbers are normalised once (:func:`ps_key`, ``claims.ps_number_match``)
  and mapped to ``doctor_id`` = ``DA_PRA_R.STA_PFS_NUM`` of the latest month in force;
  an unknown number (e.g. a salaried hospital prescriber) gives a NULL id, the row stays;
* ``patient_id`` = ``IR_BEN_R.BEN_IDT_ANO``.

Each view is stored under its name on the backend (a DuckDB table, a cached Spark
temp view); the raw tables they read hold only the rows kept by validation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from rosp.claims.schema import DCIR_JOIN_KEY

DCIR_KEY = list(DCIR_JOIN_KEY)
DCIR_KEY_SQL = ", ".join(DCIR_JOIN_KEY)
STAY_KEY = ["PMSI_ANN", "ETA_NUM", "RSA_NUM"]
_STAY_KEY = ", ".join(STAY_KEY)
_BEN_KEY = ["BEN_NIR_PSA", "BEN_RNG_GEM"]
_RETURN_CODES = ("NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET")

#: Public view names, in build order.
VIEWS: tuple[str, ...] = (
    "patients",
    "doctors",
    "mt_declarations",
    "ald",
    "services",
    "drug_deliveries",
    "bio_acts",
    "ccam_acts",
    "hospital_stays",
    "hospital_diagnoses",
    "hospital_acts",
    "declarations",
)

#: Views holding a ``_filter`` column -> the raw table whose report counts the rule,
#: and the raw tables whose lines hang on the filtered rows (key columns).
_FILTERED: dict[str, tuple[str, tuple[tuple[str, list[str]], ...]]] = {
    "_rosp_ben": ("IR_BEN_R", ()),
    "_rosp_prs_lines": (
        "ER_PRS_F",
        tuple((t, DCIR_KEY) for t in ("ER_PHA_F", "ER_BIO_F", "ER_CAM_F", "ER_ETE_F")),
    ),
    "mt_declarations": ("IR_MTT_R", ()),
    "ald": ("IR_IMB_R", ()),
    "_rosp_stays": ("T_MCOaaC", (("T_MCOaaB", STAY_KEY), ("T_MCOaaD", STAY_KEY), ("T_MCOaaA", STAY_KEY))),
}

#: Fact views built from DCIR lines with régularisation summing: view -> (detail table, quantity).
CORRECTED_VIEWS: dict[str, tuple[str, str]] = {
    "services": ("ER_PRS_F", "PRS_ACT_QTE"),
    "drug_deliveries": ("ER_PHA_F", "PHA_ACT_QSN"),
    "bio_acts": ("ER_BIO_F", "BIO_ACT_QSN"),
    "ccam_acts": ("ER_CAM_F", "PRS_ACT_QTE"),
}

_INTERNAL = ("_rosp_ben", "_rosp_pra", "_rosp_doctor_map", "_rosp_prs_lines", "_rosp_nir_map", "_rosp_stays")


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


def _codes(csv_text: str) -> list[str]:
    return [v.strip() for v in str(csv_text).split(",") if v.strip()]


def _isin(value: ir.StringValue, codes: list[str]) -> ir.BooleanValue:
    return value.isin(codes) if codes else ibis.literal(False)


def ps_key(x: ir.StringValue, mode: str) -> ir.StringValue:
    """One normalisation of PS numbers for every table: blanks trimmed; left zero padding
    beyond 9 characters removed (MTT_PFS_NUM is string(17)); 'prefix8' keeps the 8
    characters of DA_PRA_R (the 9th of PFS_EXE_NUM is a key) [I]."""
    t = x.strip()
    norm = ibis.cases(((t.length() > 9) & t.re_search("^0+.{9}$"), t.right(9)), else_=t.nullif(""))
    return norm.left(8) if mode == "prefix8" else norm


def ps_number_mode(backend: Any, setting: str) -> str:
    """'prefix8' when DA_PRA_R holds only 8-character numbers (setting 'auto'), else 'exact'."""
    if setting in ("exact", "prefix8"):
        return setting
    pra = backend.ibis.table("DA_PRA_R")
    agg = pra.aggregate(n=pra.count(), eight=pra.count(where=pra.PFS_PFS_NUM.strip().length() == 8))
    row = backend.to_arrow(agg).to_pylist()[0]
    return "prefix8" if row["n"] and row["n"] == row["eight"] else "exact"


def _first(t: ir.Table, group_by: list, order_by: list) -> ir.Table:
    """The first row of each ``group_by`` group in ``order_by`` order (QUALIFY row_number = 1)."""
    rn = ibis.row_number().over(group_by=group_by, order_by=order_by)
    return t.mutate(_rn=rn).filter(ibis._._rn == 0).drop("_rn")


_REF = dt.Struct({"d": dt.int64, "p": dt.int32})


@ibis.udf.agg.builtin(name="min")
def _min_ref(arg: _REF) -> _REF:  # type: ignore[empty-body]
    """``min`` of a (d, p) struct: lexicographic on DuckDB and Spark."""


def _claim_ref(table: str, d: ir.IntegerValue, p: ir.IntegerValue, where: ir.BooleanValue) -> dict:
    """Aggregates giving the smallest (DCT_ORD_NUM, PRS_ORD_NUM) of a group among ``where``
    lines; :func:`_ref_text` turns them into a short, patient-free text (strings are built
    once per group, not once per line).

    The pair is the ``min`` of a struct (d, p), ordered lexicographically by both engines,
    NULL outside ``where`` (``min`` skips NULLs): a streaming hash aggregate. It replaced
    ``d.argmin(d * 10^10 + p + 2^31)``, which Ibis compiles for DuckDB to
    ``FIRST(d ORDER BY key)``, an ordered aggregate that buffers and sorts every group
    (profiled: the ``services`` view alone was 40 % of the load at 1 M patients,
    docs/scaling.md). Same pair, same text."""
    pair = ibis.cases((where, ibis.struct({"d": d.cast("int64"), "p": p.cast("int32")})), else_=ibis.null(_REF))
    return {"_ref": _min_ref(pair), "_ref_t": ibis.literal(table)}


def _ref_text(g: ir.Table) -> ir.StringValue:
    return g._ref_t + ":" + g._ref["d"].cast("string") + "-" + g._ref["p"].cast("string")


class _Builder:
    """Builds the views one by one on ``backend``; ``filtered`` counts the named rules."""

    def __init__(self, backend: Any, year: int, settings: dict[str, str], mode: str) -> None:
        self.b = backend
        self.year = year
        self.settings = settings
        self.mode = mode
        self.filtered: dict[str, dict[str, int]] = {}
        self._tables: dict[str, ir.Table] = {}

    def t(self, name: str) -> ir.Table:
        """A raw table or a stored view (looked up once: each lookup asks the engine)."""
        if name not in self._tables:
            self._tables[name] = self.b.ibis.table(name)
        return self._tables[name]

    def key(self, x: ir.StringValue) -> ir.StringValue:
        return ps_key(x, self.mode)

    def store(self, name: str, expr: ir.Table) -> ir.Table:
        stored = self._tables[name] = self.b.store(expr, name)
        if name not in _FILTERED:
            return stored
        table, children = _FILTERED[name]
        counts = self.filtered.setdefault(table, {})
        flagged = stored.filter(stored._filter.notnull())
        own = self._counts(flagged.group_by("_filter").aggregate(n=flagged.count()))
        for rule, n in own:
            counts[rule] = counts.get(rule, 0) + n
        if children and own:
            keys = children[0][1]
            dropped = self.b.materialise(flagged.select(*keys, "_filter").distinct(), "dropped")
            # the detail lines of every child table in one query (one Spark job)
            parts = []
            for child, ckeys in children:
                c = self.t(child)
                j = c.join(dropped, ckeys).select(_child=ibis.literal(child), _filter=dropped._filter)
                parts.append(j.group_by("_child", "_filter").aggregate(n=j.count()))
            for r in self.b.to_arrow(ibis.union(*parts, distinct=False)).to_pylist():
                per = self.filtered.setdefault(r["_child"], {})
                per[r["_filter"]] = per.get(r["_filter"], 0) + int(r["n"])
            self.b.release(dropped)
        if name == "_rosp_ben":  # claims of fictitious NIRs are counted on their own tables
            return stored
        self._tables[name] = self.b.drop_flagged(name, "_filter", any_flagged=bool(own))
        return self._tables[name]

    def _counts(self, expr: ir.Table) -> list[tuple[str, int]]:
        return [(r["_filter"], int(r["n"])) for r in self.b.to_arrow(expr).to_pylist()]

    # ------------------------------------------------------------ the views

    def ben(self) -> ir.Table:
        # beneficiaries with a real NIR (BEN_CDI_NIR '00' or not given)
        b = self.t("IR_BEN_R")
        cdi = b.BEN_CDI_NIR
        fictitious = cdi.notnull() & cdi.strip().notin(["00", ""])
        return b.mutate(_filter=ibis.cases((fictitious, "fictitious_nir"), else_=ibis.null("string")))

    def pra(self) -> ir.Table:
        # DA_PRA_R: one row per PS and month; the latest month up to December N (else the
        # earliest later one) gives the cabinet's statistical number and specialty
        last_month = self.year * 100 + 12
        p = self.t("DA_PRA_R")
        p = p.mutate(_ym=p.DTE_ANN_TRT.fill_null(0).cast("int32") * 100 + p.DTE_MOI_FIN.fill_null(0))
        upto = p._ym <= last_month
        return _first(p, [p.PFS_PFS_NUM], [upto.desc(), ibis.cases((upto, -p._ym), else_=p._ym)])

    def doctor_map(self, pra: ir.Table) -> ir.Table:
        # Liquidation number -> doctor_id. A number that already is a statistical number
        # maps to itself (PRS_MTT_NUM / MTT_PFS_NUM may carry either, indicators.md §a.3).
        own = pra.select(num=self.key(pra.PFS_PFS_NUM), doctor_id=pra.STA_PFS_NUM)
        keys = pra.select(k=self.key(pra.PFS_PFS_NUM)).k
        sta = pra.select(num=self.key(pra.STA_PFS_NUM), doctor_id=pra.STA_PFS_NUM).distinct()
        sta = sta.filter(sta.num.notin(keys))
        u = own.union(sta, distinct=False)
        return u.group_by("num").aggregate(doctor_id=u.doctor_id.min())

    def prs_lines(self, ben: ir.Table) -> ir.Table:
        # Non-information DCIR lines with their patient, computed once and shared by the
        # four fact views (the patient join over the largest table is the costly part).
        lag = int(self.settings["flow_lag_months"])
        months = 1 + lag
        flow_end = date(self.year + 1 + (months - 1) // 12, (months - 1) % 12 + 1, 1)
        p = self.t("ER_PRS_F")
        e = self.t("ER_ETE_F")
        e = e.filter(e.ETE_IND_TAA == 1).select(*DCIR_KEY).distinct().mutate(_hit=ibis.literal(True))
        j = p.join(ben, [p[k] == ben[k] for k in _BEN_KEY]).left_join(e, [p[k] == e[k] for k in DCIR_KEY])
        rule = ibis.cases(
            (ben._filter.notnull(), ben._filter),
            ((p.DPN_QLF == 71) | (p.PRS_DPN_QLP == 71), "information_line"),
            (p.CPL_MAJ_TOP >= 2, "majoration_line"),
            (e._hit, "hospital_activity"),
            (p.CPL_AFF_COD == 16, "forfait_line"),
            (p.BSE_PRS_NAT == 0, "no_base_nature"),
            (p.FLX_DIS_DTD >= ibis.date(flow_end), "flow_after_lag"),
            else_=ibis.null("string"),
        )
        return j.select(
            patient_id=ben.BEN_IDT_ANO, **{k: p[k] for k in DCIR_KEY},
            EXE_SOI_DTD=p.EXE_SOI_DTD, PRS_NAT_REF=p.PRS_NAT_REF, PRS_ACT_QTE=p.PRS_ACT_QTE,
            PFS_EXE_NUM=self.key(p.PFS_EXE_NUM), PFS_PRE_NUM=self.key(p.PFS_PRE_NUM),
            CPL_MAJ_TOP=p.CPL_MAJ_TOP, PSE_SPE_COD=p.PSE_SPE_COD, PSP_SPE_COD=p.PSP_SPE_COD,
            _filter=rule,
        )

    def nir_map(self, ben: ir.Table) -> ir.Table:
        # NIR_ANO_17 (PMSI) = BEN_NIR_PSA; several BEN_RNG_GEM may map to one person, but
        # twins share one NIR: a NIR of several persons is never resolved to either.
        b = ben.filter(ben._filter.isnull())
        return b.group_by("BEN_NIR_PSA").aggregate(
            patient_id=b.BEN_IDT_ANO.min(), persons=b.BEN_IDT_ANO.nunique().cast("int64")
        )

    def patients(self, ben: ir.Table) -> ir.Table:
        b = ben.filter(ben._filter.isnull())
        b = b.mutate(_death=b.BEN_DCD_DTE.min().over(group_by=b.BEN_IDT_ANO))
        b = _first(b, [b.BEN_IDT_ANO], [b.BEN_NIR_PSA, b.BEN_RNG_GEM])
        ok = b.BEN_NAI_MOI.between(1, 12)
        return b.select(
            patient_id=b.BEN_IDT_ANO,
            birth_year=b.BEN_NAI_ANN,
            birth_month=ibis.cases((ok, b.BEN_NAI_MOI), else_=ibis.null("int16")),
            birth_date=ibis.cases(
                (ok, ibis.date(b.BEN_NAI_ANN.cast("int64"), b.BEN_NAI_MOI.cast("int64"), 15)),
                else_=ibis.null("date"),
            ),
            sex=b.BEN_SEX_COD,
            death_date=b._death,
        )

    def doctors(self, pra: ir.Table) -> ir.Table:
        raw = self.t("DA_PRA_R")
        i = raw.group_by("STA_PFS_NUM").aggregate(installed_on=raw.PFS_INS_DSD.min())
        # not SNDS: the caisse's optional administrative file (absent = no opt-out, no CAPI)
        a = self.t("ROSP_ADM")
        conventioned = _isin(pra.CNV_CNV_COD.strip(), _codes(self.settings["conventioned_codes"]))
        j = pra.join(i, pra.STA_PFS_NUM == i.STA_PFS_NUM).left_join(a, pra.STA_PFS_NUM == a.STA_PFS_NUM)
        j = j.select(
            doctor_id=pra.STA_PFS_NUM,
            specialty=pra.PFS_PRA_SPE,
            conventioned=conventioned.fill_null(False),
            installed_on=i.installed_on,
            opted_out_on=a.ROSP_OPT_OUT_DTE,
            capi_signed_on=a.CAPI_SIG_DTE,
            _main=pra.PFS_PFS_NUM != pra.STA_PFS_NUM,
            _pfs=pra.PFS_PFS_NUM,
        )
        # specialty and convention status of the main cabinet (PFS = STA) when present
        return _first(j, [j.doctor_id], [j._main, j._pfs]).drop("_main", "_pfs")

    def mt_declarations(self, ben: ir.Table, dmap: ir.Table) -> ir.Table:
        m = self.t("IR_MTT_R")
        j = m.join(ben, [m[k] == ben[k] for k in _BEN_KEY]).left_join(dmap, dmap.num == self.key(m.MTT_PFS_NUM))
        return j.select(
            patient_id=ben.BEN_IDT_ANO, doctor_id=dmap.doctor_id,
            start_date=m.MTT_DEP_DTE, end_date=m.MTT_FIN_DTE, _filter=ben._filter,
        )

    def ald(self, ben: ir.Table) -> ir.Table:
        # IR_IMB_R has no key: a renewal is a new row. Current version per exoneration
        # (claims.ald_current_version = latest_update).
        i = self.t("IR_IMB_R")
        j = i.join(ben, [i[k] == ben[k] for k in _BEN_KEY]).select(
            i.BEN_NIR_PSA, i.BEN_RNG_GEM, i.IMB_ALD_NUM, i.MED_MTF_COD, i.IMB_ALD_DTD, i.IMB_ALD_DTF,
            i.IMB_ETM_NAT, i.UPD_DTE, i.INS_DTE, i._file, i._row, patient_id=ben.BEN_IDT_ANO, _bf=ben._filter,
        )
        rn = ibis.row_number().over(
            group_by=[j.BEN_NIR_PSA, j.BEN_RNG_GEM, j.IMB_ALD_NUM, j.MED_MTF_COD, j.IMB_ALD_DTD],
            order_by=[
                j.UPD_DTE.coalesce(j.INS_DTE).desc(nulls_first=False),
                j.INS_DTE.desc(nulls_first=False),
                j.IMB_ALD_DTF.isnull().desc(),
                j.IMB_ALD_DTF.desc(nulls_first=False),
                j._file.asc(nulls_first=False),
                j._row.asc(nulls_first=False),
            ],
        )
        superseded = ibis.cases((rn > 0, "ald_superseded_version"), else_=ibis.null("string"))
        return j.select(
            patient_id=j.patient_id, ald_num=j.IMB_ALD_NUM, icd10=j.MED_MTF_COD, start_date=j.IMB_ALD_DTD,
            end_date=j.IMB_ALD_DTF, nature=j.IMB_ETM_NAT, _filter=j._bf.coalesce(superseded),
        )

    def _doctor(self, t: ir.Table, dmap: ir.Table, num: str) -> tuple[ir.Table, ir.Table]:
        d = dmap.view()
        return t.left_join(d, t[num] == d.num), d

    def services(self, lines: ir.Table, dmap: ir.Table) -> ir.Table:
        lq = lines.PRS_ACT_QTE
        g = lines.group_by(
            "patient_id", "PFS_EXE_NUM", "PFS_PRE_NUM",
            date=lines.EXE_SOI_DTD, nature=lines.PRS_NAT_REF, cpl_maj_top=lines.CPL_MAJ_TOP,
        ).aggregate(
            executant_specialty=lines.PSE_SPE_COD.min(),
            quantity=lq.sum(),
            **_claim_ref("ER_PRS_F", lines.DCT_ORD_NUM, lines.PRS_ORD_NUM, lq > 0),
        )
        g = g.filter(g.quantity > 0)
        e, p = dmap.view(), dmap.view()
        j = g.left_join(e, g.PFS_EXE_NUM == e.num).left_join(p, g.PFS_PRE_NUM == p.num)
        return j.select(
            patient_id=g.patient_id, date=g.date, nature=g.nature, executant_id=e.doctor_id,
            prescriber_id=p.doctor_id, executant_specialty=g.executant_specialty, cpl_maj_top=g.cpl_maj_top,
            quantity=ibis.greatest(g.quantity.round(), 1).cast("int64"), claim_ref=_ref_text(g),
        )

    def _detail(self, table: str, lines: ir.Table, code: str, qty: str, **from_lines: str) -> ir.Table:
        """Detail lines of ``table`` with their prestation line: code, quantity, ref pair."""
        d = self.t(table)
        j = d.join(lines, [d[k] == lines[k] for k in DCIR_KEY])
        return j.select(
            patient_id=lines.patient_id, date=lines.EXE_SOI_DTD, _code=d[code], _q=d[qty],
            _d=d.DCT_ORD_NUM, _p=d.PRS_ORD_NUM, **{n: lines[c] for n, c in from_lines.items()},
        )

    def drug_deliveries(self, lines: ir.Table, dmap: ir.Table) -> ir.Table:
        f = self._detail("ER_PHA_F", lines, "PHA_PRS_C13", "PHA_ACT_QSN", PFS_PRE_NUM="PFS_PRE_NUM",
                         _spe="PSP_SPE_COD")
        f = f.rename(cip13="_code")
        g = f.group_by("patient_id", "date", "cip13", "PFS_PRE_NUM").aggregate(
            prescriber_specialty=f._spe.min(), _sum=f._q.cast("decimal(38, 0)").sum(), **_claim_ref("ER_PHA_F", f._d, f._p, f._q > 0),
        )
        g = g.filter(g._sum > 0)
        r = self.t("IR_PHA_R")
        p = dmap.view()
        j = g.left_join(r, r.PHA_CIP_C13 == g.cip13).left_join(p, g.PFS_PRE_NUM == p.num)
        return j.select(
            patient_id=g.patient_id, date=g.date, cip13=g.cip13, atc=r.PHA_ATC_C07, generic_group=r.PHA_GRS_NUM,
            large_pack=(r.PHA_CND_TOP == "GC").fill_null(False), boxes=g._sum.cast("int64"),
            prescriber_id=p.doctor_id, prescriber_specialty=g.prescriber_specialty, claim_ref=_ref_text(g),
        )

    def bio_acts(self, lines: ir.Table, dmap: ir.Table) -> ir.Table:
        f = self._detail("ER_BIO_F", lines, "BIO_PRS_IDE", "BIO_ACT_QSN", PFS_PRE_NUM="PFS_PRE_NUM",
                         _exe="PFS_EXE_NUM")
        f = f.rename(nabm="_code")
        g = f.group_by("patient_id", "date", "nabm", "PFS_PRE_NUM").aggregate(
            PFS_EXE_NUM=f._exe.min(), _sum=f._q.cast("decimal(38, 0)").sum(), **_claim_ref("ER_BIO_F", f._d, f._p, f._q > 0),
        )
        g = g.filter(g._sum > 0)
        p, e = dmap.view(), dmap.view()
        j = g.left_join(p, g.PFS_PRE_NUM == p.num).left_join(e, g.PFS_EXE_NUM == e.num)
        return j.select(
            patient_id=g.patient_id, date=g.date, nabm=g.nabm, quantity=g._sum.cast("int64"),
            prescriber_id=p.doctor_id, executant_id=e.doctor_id, claim_ref=_ref_text(g),
        )

    def ccam_acts(self, lines: ir.Table, dmap: ir.Table) -> ir.Table:
        # ER_CAM_F has no quantity: the parent's PRS_ACT_QTE carries the sign (§a.1). Several
        # CCAM lines under one prestation line (activities, phases) count the line once per code.
        c = self.t("ER_CAM_F")
        d = c.select(*DCIR_KEY, "CAM_PRS_IDE").distinct()
        j = d.join(lines, [d[k] == lines[k] for k in DCIR_KEY])
        f = j.select(
            patient_id=lines.patient_id, date=lines.EXE_SOI_DTD, ccam=d.CAM_PRS_IDE, PFS_EXE_NUM=lines.PFS_EXE_NUM,
            _spe=lines.PSE_SPE_COD, _q=lines.PRS_ACT_QTE, _d=d.DCT_ORD_NUM, _p=d.PRS_ORD_NUM,
        )
        g = f.group_by("patient_id", "date", "ccam", "PFS_EXE_NUM").aggregate(
            executant_specialty=f._spe.min(), quantity=f._q.sum(), **_claim_ref("ER_CAM_F", f._d, f._p, f._q > 0),
        )
        g = g.filter(g.quantity > 0)
        e = dmap.view()
        j = g.left_join(e, g.PFS_EXE_NUM == e.num)
        return j.select(
            patient_id=g.patient_id, date=g.date, ccam=g.ccam, executant_id=e.doctor_id,
            executant_specialty=g.executant_specialty,
            quantity=ibis.greatest(g.quantity.round(), 1).cast("int64"), claim_ref=_ref_text(g),
        )

    def stays(self, nir: ir.Table) -> ir.Table:
        # Yearly PMSI tables: B, C, D, A joined within one year (PMSI_ANN).
        s = self.settings
        c, b = self.t("T_MCOaaC"), self.t("T_MCOaaB")
        n = nir.filter(nir.patient_id.notnull())
        ret_bad = ibis.or_(*(c[r].strip().fill_null("0").notin(["0", ""]) for r in _RETURN_CODES))
        pmsi_year = ibis.cases((c.PMSI_ANN > 0, c.PMSI_ANN.cast("int64")), else_=c.EXE_SOI_DTD.year().cast("int64"))
        geo = _isin(c.ETA_NUM, _codes(s["pmsi_geographic_finess"])) & (
            pmsi_year <= int(s["pmsi_geographic_finess_until"])
        )
        rule = ibis.cases(
            (n.BEN_NIR_PSA.isnull(), "fictitious_nir"),
            (n.persons > 1, "pmsi_nir_shared_by_twins"),
            (ret_bad, "pmsi_return_code"),
            (b.GRG_GHM.startswith("90"), "pmsi_error_ghm"),
            (geo, "pmsi_geographic_finess"),
            else_=ibis.null("string"),
        )
        stay_id = ibis.cases(
            (c.PMSI_ANN == 0, c.ETA_NUM + ":" + c.RSA_NUM),
            else_=c.PMSI_ANN.cast("string") + ":" + c.ETA_NUM + ":" + c.RSA_NUM,
        )
        j = c.join(b, [c[k] == b[k] for k in STAY_KEY]).left_join(n, n.BEN_NIR_PSA == c.NIR_ANO_17)
        return j.select(
            patient_id=n.patient_id, PMSI_ANN=c.PMSI_ANN, ETA_NUM=c.ETA_NUM, RSA_NUM=c.RSA_NUM, stay_id=stay_id,
            entry_date=c.EXE_SOI_DTD, exit_date=c.EXE_SOI_DTF, dp=b.DGN_PAL, dr=b.DGN_REL.nullif(""),
            _filter=rule,
        )

    def hospital_diagnoses(self, stays: ir.Table) -> ir.Table:
        s = stays
        dp = s.select("patient_id", "stay_id", "entry_date", icd10=s.dp, kind=ibis.literal("DP"))
        r = s.filter(s.dr.notnull())
        dr = r.select("patient_id", "stay_id", "entry_date", icd10=r.dr, kind=ibis.literal("DR"))
        d = self.t("T_MCOaaD")
        j = d.join(s, [d[k] == s[k] for k in STAY_KEY])
        das = j.select(patient_id=s.patient_id, stay_id=s.stay_id, entry_date=s.entry_date, icd10=d.ASS_DGN,
                       kind=ibis.literal("DAS"))
        return dp.union(dr, distinct=False).union(das, distinct=False)

    def hospital_acts(self, stays: ir.Table) -> ir.Table:
        a = self.t("T_MCOaaA")
        s = stays
        j = a.join(s, [a[k] == s[k] for k in STAY_KEY])
        delay = a.ENT_DAT_DEL.fill_null(0).cast("int32").as_interval("D")
        return j.select(
            patient_id=s.patient_id, stay_id=s.stay_id,
            act_date=(s.entry_date.cast("timestamp") + delay).date(), ccam=a.CDC_ACT,
        )

    def declarations(self) -> ir.Table:
        d = self.t("ROSP_DECL")
        return d.select(doctor_id=d.STA_PFS_NUM, indicator_id=d.INDICATOR_ID, numerator=d.DECL_NUM,
                        denominator=d.DECL_DEN, declared_rate=d.DECL_RATE,
                        year=d.DECL_ANN.cast("int64").fill_null(self.year))


def build_views(backend: Any, year: int = 2018) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]], str]:
    """Store every clean view on ``backend`` (a :class:`~rosp.engine.backends.QueryBackend`,
    an Ibis backend or a DuckDB connection) for study ``year``.

    Returns ``(stats, filtered, ps_mode)``: per view, its row count and, for DCIR fact
    views, the number of input lines and of correction lines (negative quantity); per
    raw table, the kept rows left out by each named rule; the PS-number matching mode.
    """
    from rosp.engine.backends import backend_for

    qb = backend_for(backend)
    settings = _params(year)
    mode = ps_number_mode(qb, settings["ps_number_match"])
    v = _Builder(qb, year, settings, mode)
    ben = v.store("_rosp_ben", v.ben())
    pra = v.store("_rosp_pra", v.pra())
    dmap = v.store("_rosp_doctor_map", v.doctor_map(pra))
    lines = v.store("_rosp_prs_lines", v.prs_lines(ben))
    nir = v.store("_rosp_nir_map", v.nir_map(ben))
    v.store("patients", v.patients(ben))
    v.store("doctors", v.doctors(pra))
    v.store("mt_declarations", v.mt_declarations(ben, dmap))
    v.store("ald", v.ald(ben))
    for name in ("services", "drug_deliveries", "bio_acts", "ccam_acts"):
        v.store(name, getattr(v, name)(lines, dmap))
    stays = v.store("_rosp_stays", v.stays(nir))
    v.store("hospital_stays", stays.select("patient_id", "stay_id", "entry_date", "exit_date", "dp", "dr"))
    v.store("hospital_diagnoses", v.hospital_diagnoses(stays))
    v.store("hospital_acts", v.hospital_acts(stays))
    v.store("declarations", v.declarations())

    # Every count of the report in one query (a union of one-row aggregates): one
    # statement on DuckDB, one job on Spark, instead of one per view.
    parts = []
    for name in VIEWS:
        t = v.t(name)
        parts.append(t.aggregate(view=ibis.literal(name), n=t.count(), c=ibis.literal(0, "int64")))
    for name, (table, qty) in CORRECTED_VIEWS.items():
        # lines used, with a known patient (the lines the view reads), and correction lines
        if table == "ER_PRS_F":
            j = lines.select(q=lines.PRS_ACT_QTE)
        else:
            d = v.t(table)
            src = lines if qty == "PRS_ACT_QTE" else d
            j = d.join(lines, [d[k] == lines[k] for k in DCIR_KEY]).select(q=src[qty])
        parts.append(j.aggregate(view=ibis.literal("lines:" + name), n=j.count(), c=j.count(where=j.q < 0)))
    counted = {r["view"]: (int(r["n"]), int(r["c"])) for r in qb.to_arrow(ibis.union(*parts, distinct=False)).to_pylist()}
    stats: dict[str, dict[str, int]] = {name: {"rows": counted[name][0]} for name in VIEWS}
    for name in CORRECTED_VIEWS:
        n, c = counted["lines:" + name]
        stats[name] |= {"lines": n, "correction_lines": c}
    for name in ("_rosp_prs_lines", "_rosp_stays", "_rosp_ben", "_rosp_pra", "_rosp_nir_map"):
        qb.drop(name)
    return stats, v.filtered, mode


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
