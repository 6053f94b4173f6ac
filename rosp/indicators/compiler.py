"""Compile declarative indicator definitions to Ibis expressions.

Every condition compiles to a *witness* table, one row per patient who satisfies
it, carrying the deciding claim: ``patient_id, w_table, w_date, w_code``.
Conditions are patient-level (the fiches count care "quel que soit le
prescripteur"); the doctor enters through the patientèle basis only (and through
the prescriber for box-count indicators).

An indicator then compiles to one row per (doctor_id, patient_id) *candidate* --
a patient of the doctor's patientèle who satisfies the first denominator
condition (the population trigger) -- with ``in_denominator``, ``in_numerator``,
``den_units``, ``num_units``, ``reason`` and the deciding claim
(``claim_table``, ``claim_date``, ``claim_code``).

Reason codes: ``numerator``; ``not_numerator:<condition>`` (in the denominator,
first failing numerator condition); ``excluded:<condition>`` (first failing
denominator condition) or ``excluded:deceased``; ``boxes`` for box counts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from rosp.errors import RospError
from rosp.indicators.codelists import load_codelist
from rosp.indicators.definitions import Condition, IndicatorDef, ProgrammeDef
from rosp.indicators.windows import ref_date, resolve_window

WITNESS_COLUMNS = ("patient_id", "w_table", "w_date", "w_code")
RESULT_COLUMNS = (
    "doctor_id",
    "patient_id",
    "in_denominator",
    "in_numerator",
    "den_units",
    "num_units",
    "reason",
    "claim_table",
    "claim_date",
    "claim_code",
)

_EVENT_SCHEMA = ibis.schema(
    {
        "patient_id": "string",
        "date": "date",
        "code": "string",
        "tbl": "string",
        "units": "int64",
        "prescriber_id": "string",
    }
)
_WITNESS_SCHEMA = ibis.schema({"patient_id": "string", "w_table": "string", "w_date": "date", "w_code": "string"})


class CompileError(RospError):
    pass


def _code_filter(col: ir.StringValue, exact: list[str], prefix: list[str]) -> ir.BooleanValue:
    preds = []
    if exact:
        preds.append(col.isin(exact))
    preds.extend(col.startswith(p) for p in prefix)
    if not preds:
        return ibis.literal(False)
    out = preds[0]
    for p in preds[1:]:
        out = out | p
    return out


def _first_per_patient(t: ir.Table, order: tuple[str, ...] = ("w_date", "w_table", "w_code")) -> ir.Table:
    w = ibis.window(group_by="patient_id", order_by=[t[c] for c in order])
    return t.mutate(_rn=ibis.row_number().over(w)).filter(ibis._._rn == 0).select(*WITNESS_COLUMNS)


#: Where each code system's events live in the clean views:
#: (view, code column, date column, units column or None = 1, prescriber column or None).
_EVENT_SOURCES: dict[str, tuple[tuple[str, str, str, str | None, str | None], ...]] = {
    "ATC": (("drug_deliveries", "atc", "date", "boxes", "prescriber_id"),),
    "CIP13": (("drug_deliveries", "cip13", "date", "boxes", "prescriber_id"),),
    "NABM": (("bio_acts", "nabm", "date", "quantity", "prescriber_id"),),
    "NATURE": (("services", "nature", "date", "quantity", "prescriber_id"),),
    "CCAM": (("ccam_acts", "ccam", "date", None, None), ("hospital_acts", "ccam", "act_date", None, None)),
    "CIM10": (("hospital_diagnoses", "icd10", "entry_date", None, None),),
}


class Compiler:
    """Turns definitions into Ibis expressions over the claims clean views.

    ``views`` maps view names of the clean-view contract (docs/architecture.md) to
    Ibis tables. When ``con`` is given, shared intermediate results (code-list
    events, witnesses, patientèles) are materialised once: as temporary tables on a
    DuckDB backend, as Parquet read back on Spark (:class:`rosp.engine.backends.SparkBackend`).
    """

    def __init__(self, views: Mapping[str, ir.Table], year: int, con: Any = None) -> None:
        from rosp.engine.backends import backend_for

        self.views = dict(views)
        self.year = year
        #: the engine (rosp.engine.backends.QueryBackend); ``con`` may be one or an Ibis backend
        self.backend = backend_for(con)
        self.con = None if self.backend is None else self.backend.ibis
        self.ref_end = dt.date(year, 12, 31)
        #: last date of care read by the indicator being compiled (its observation end)
        self.obs_end = self.ref_end
        self._cache: dict[str, ir.Table] = {}
        self._temp: list[ir.Table] = []  # materialised results, for release()
        #: keys to materialise (None: every shared result); see plan()
        self._reuse: set[str] | None = None
        self._uses: dict[str, int] | None = None

    # ------------------------------------------------------------------ utils
    def _mat(self, key: str, build) -> ir.Table:
        if key in self._cache:
            if self._uses is not None:
                self._uses[key] = self._uses.get(key, 0) + 1
            return self._cache[key]
        if self._uses is not None:
            self._uses[key] = self._uses.get(key, 0) + 1
        expr = build()
        if self.backend is not None and self._uses is None and (self._reuse is None or key in self._reuse):
            expr = self.backend.materialise(expr, hint=key.split("|", 1)[0])
            self._temp.append(expr)
        self._cache[key] = expr
        return expr

    def plan(self, programmes: Mapping[str, ProgrammeDef], patienteles: bool = True) -> set[str]:
        """Materialise only the shared results used more than once by ``programmes``.

        Builds (without running) every patientèle and computed indicator once, counting
        how often each shared result (events of a code list, witness of a condition,
        patientèle basis) is read by a distinct consumer; results read once are
        inlined into their consumer. ``patienteles=False`` plans the indicators alone
        (the starting-rate measurement reads no patientèle). Returns the keys that will
        be materialised."""
        self.release()
        self._uses = {}
        try:
            for prog in programmes.values():
                if patienteles:
                    self.patientele(prog)
                for ind in prog.indicators:
                    if not ind.declared:
                        self.compile(ind, prog)
            uses = self._uses
        finally:
            self._uses = None
            self._cache.clear()
        self._reuse = {k for k, n in uses.items() if n > 1}
        return set(self._reuse)

    def release(self) -> None:
        """Drop the materialised intermediate results (temp tables / cached tables)."""
        for item in self._temp:
            self.backend.release(item)
        self._temp.clear()
        self._cache.clear()

    def _view(self, name: str) -> ir.Table | None:
        return self.views.get(name)

    def _window(self, spec: str) -> tuple[dt.date, dt.date]:
        start, end = resolve_window(spec, self.year)
        return start, min(end, self.obs_end)

    # ----------------------------------------------------------------- events
    def events(self, list_name: str, group: str | None = None) -> ir.Table:
        """All events (any date) matching a code list: patient_id, date, code, tbl, units, prescriber_id."""

        def build() -> ir.Table:
            cl = load_codelist(list_name)
            parts: list[ir.Table] = []
            for system in cl.systems:
                exact, prefix = cl.for_system(system, group)
                if not exact and not prefix:
                    continue
                parts.extend(self._system_events(system, exact, prefix))
            if not parts:
                return self._empty(_EVENT_SCHEMA)
            out = parts[0]
            for p in parts[1:]:
                out = out.union(p)
            return out.filter(out.date <= self.obs_end)

        return self._mat(f"events|{list_name}|{group}|{self.obs_end}", build)

    def _system_events(self, system: str, exact: list[str], prefix: list[str]) -> list[ir.Table]:
        out = []
        for view, code_col, date_col, units_col, prescriber_col in _EVENT_SOURCES.get(system, ()):
            t = self._view(view)
            if t is None:
                continue
            code = t[code_col].cast("string")
            out.append(
                t.filter(_code_filter(code, exact, prefix)).select(
                    patient_id=t.patient_id.cast("string"),
                    date=t[date_col].cast("date"),
                    code=code,
                    tbl=ibis.literal(view),
                    units=t[units_col].cast("int64") if units_col else ibis.literal(1, "int64"),
                    prescriber_id=t[prescriber_col].cast("string") if prescriber_col else ibis.null().cast("string"),
                )
            )
        return out

    @staticmethod
    def _daily(ev: ir.Table) -> ir.Table:
        """One row per (patient, date): summed units, smallest (table, code)."""
        return ev.group_by(["patient_id", "date"]).aggregate(
            units=ev.units.sum(), tbl=ev.tbl.min(), code=ev.code.min()
        )

    def _kth(self, daily: ir.Table, min_count: int, count: str = "dates", keys: tuple[str, ...] = ("patient_id",)) -> ir.Table:
        """Witness at the event where the running count reaches ``min_count``."""
        w = ibis.window(group_by=list(keys), order_by=[daily.date], rows=(None, 0))
        if count == "dates":
            measure = ibis.row_number().over(ibis.window(group_by=list(keys), order_by=[daily.date])) + 1
        elif count == "units":
            measure = daily.units.sum().over(w)
        else:
            raise CompileError(f"count must be 'dates' or 'units', not {count!r}")
        t = daily.mutate(_m=measure).filter(ibis._._m >= int(min_count))
        t = t.select(patient_id=t.patient_id, w_table=t.tbl, w_date=t.date, w_code=t.code)
        return _first_per_patient(t)

    # ------------------------------------------------------------ conditions
    def witness(self, cond: Condition, scope: Mapping[str, Condition]) -> ir.Table:
        """Witness table of one condition; ``scope`` resolves ``anchor`` names."""
        key = self._key(cond, scope)
        return self._mat(f"witness|{key}", lambda: self._build(cond, scope))

    def _key(self, cond: Condition, scope: Mapping[str, Condition]) -> str:
        def enc(v: Any) -> Any:
            if isinstance(v, Condition):
                return {"block": v.block, "args": enc(v.args), "negate": v.negate}
            if isinstance(v, dict):
                return {k: enc(x) for k, x in sorted(v.items())}
            if isinstance(v, (list, tuple)):
                return [enc(x) for x in v]
            return v

        d = {"block": cond.block, "args": enc(cond.args), "obs_end": str(self.obs_end)}
        if "anchor" in cond.args:
            d["anchor_key"] = self._key(scope[cond.args["anchor"]], scope)
        return json.dumps(d, sort_keys=True, default=str)

    def _build(self, cond: Condition, scope: Mapping[str, Condition]) -> ir.Table:
        a = cond.args
        b = cond.block
        if b in ("has_events", "has_deliveries", "has_bio", "has_ccam", "has_service"):
            start, end = self._window(a["window"])
            ev = self.events(a["list"])
            ev = ev.filter(ev.date.between(start, end))
            if "min_age_months" in a or "max_age_months" in a:
                ev = self._age_filter(ev, "date", a.get("min_age_months"), a.get("max_age_months"))
            return self._kth(self._daily(ev), a.get("min_count", 1), a.get("count", "dates"))
        if b == "has_hospital_dx":
            start, end = self._window(a["window"])
            t = self._view("hospital_diagnoses")
            if t is None:
                return self._empty()
            cl = load_codelist(a["list"])
            exact, prefix = cl.for_system("CIM10")
            kinds = list(a.get("kinds", ["DP", "DR", "DAS"]))
            t = t.filter(_code_filter(t.icd10, exact, prefix), t.kind.isin(kinds), t.entry_date.between(start, end))
            t = t.select(patient_id=t.patient_id.cast("string"), w_table=ibis.literal("hospital_diagnoses"),
                         w_date=t.entry_date.cast("date"), w_code=t.icd10.cast("string"))
            return _first_per_patient(t)
        if b == "has_ald":
            start, end = self._window(a["window"])
            t = self._view("ald")
            if t is None:
                return self._empty()
            exact, prefix = load_codelist(a["list"]).for_system("CIM10")
            dated = a.get("dated", "overlap")
            if dated == "start":
                t = t.filter(_code_filter(t.icd10, exact, prefix), t.start_date.between(start, end))
            elif dated == "overlap":
                t = t.filter(_code_filter(t.icd10, exact, prefix), t.start_date <= end,
                             t.end_date.isnull() | (t.end_date >= start))
            else:
                raise CompileError(f"{cond.name}: dated must be 'overlap' or 'start'")
            t = t.select(patient_id=t.patient_id.cast("string"), w_table=ibis.literal("ald"),
                         w_date=t.start_date.cast("date"), w_code=t.icd10.cast("string"))
            return _first_per_patient(t)
        if b == "hospital_stay_with":
            start, end = self._window(a["window"])
            dx, acts = self._view("hospital_diagnoses"), self._view("hospital_acts")
            if dx is None or acts is None:
                return self._empty()
            ex, pre = load_codelist(a["dx_list"]).for_system("CIM10")
            stays = dx.filter(_code_filter(dx.icd10, ex, pre)).select("patient_id", "stay_id").distinct()
            ex, pre = load_codelist(a["act_list"]).for_system("CCAM")
            acts = acts.filter(_code_filter(acts.ccam, ex, pre), acts.act_date.between(start, end))
            j = acts.join(stays, [acts.patient_id == stays.patient_id, acts.stay_id == stays.stay_id])
            t = j.select(patient_id=acts.patient_id.cast("string"), w_table=ibis.literal("hospital_acts"),
                         w_date=acts.act_date.cast("date"), w_code=acts.ccam.cast("string"))
            return _first_per_patient(t)
        if b == "distinct_groups":
            return self._distinct_groups(a)
        if b == "first_event":
            start, end = self._window(a["window"])
            d = self._daily(self.events(a["list"]))
            prev = d.date.lag().over(ibis.window(group_by="patient_id", order_by=[d.date]))
            d = d.mutate(_prev=prev)
            d = d.filter(d.date.between(start, end),
                         d._prev.isnull() | (d.date.delta(d._prev, unit="day") > int(a["lookback_days"])))
            t = d.select(patient_id=d.patient_id, w_table=d.tbl, w_date=d.date, w_code=d.code)
            return _first_per_patient(t)
        if b == "has_events_relative":
            anchor = self._anchor_dates(cond, scope)
            ev = self.events(a["list"])
            if a.get("prescriber") == "none":
                ev = ev.filter(ev.prescriber_id.isnull())
            elif a.get("prescriber") not in (None, "any"):
                raise CompileError(f"{cond.name}: prescriber must be 'none' or 'any'")
            j = ev.join(anchor, "patient_id")
            delta = j.date.delta(j.a_date, unit="day")
            j = j.filter(delta.between(int(a["from_days"]), int(a["to_days"])))
            j = j.select("patient_id", "date", "code", "tbl", "units")
            return self._kth(self._daily(j), a.get("min_count", 1))
        if b == "has_stay_relative":
            anchor = self.witness(scope[a["anchor"]], scope).select("patient_id", a_date="w_date")
            st = self._view("hospital_stays")
            if st is None:
                return self._empty()
            j = st.join(anchor, "patient_id")
            lo = j.a_date + ibis.interval(days=int(a["from_days"])) if a["from_days"] >= 0 else j.a_date - ibis.interval(days=-int(a["from_days"]))
            hi = j.a_date + ibis.interval(days=int(a["to_days"])) if a["to_days"] >= 0 else j.a_date - ibis.interval(days=-int(a["to_days"]))
            exit_ = j.exit_date.fill_null(j.entry_date)
            j = j.filter(j.entry_date <= hi, exit_ >= lo, j.entry_date <= self.obs_end)
            if "dx_list" in a:
                dx = self._view("hospital_diagnoses")
                ex, pre = load_codelist(a["dx_list"]).for_system("CIM10")
                kinds = list(a.get("kinds", ["DP", "DR"]))
                dx = dx.filter(_code_filter(dx.icd10, ex, pre), dx.kind.isin(kinds)).select(
                    _sid=dx.stay_id.cast("string")).distinct()
                j = j.filter(j.stay_id.cast("string").isin(dx._sid))
            t = j.select(patient_id=j.patient_id.cast("string"), w_table=ibis.literal("hospital_stays"),
                         w_date=j.entry_date.cast("date"), w_code=j.dp.cast("string"))
            return _first_per_patient(t)
        if b == "events_in_each_period":
            anchor = self.witness(scope[a["anchor"]], scope).select("patient_id", a_date="w_date")
            period, n = int(a["period_days"]), int(a["n_periods"])
            ev = self.events(a["list"])
            j = ev.join(anchor, "patient_id")
            delta = j.date.delta(j.a_date, unit="day")
            j = j.mutate(_idx=((delta - 1) // period).cast("int64")).filter(delta.between(1, period * n))
            firsts = j.group_by(["patient_id", "_idx"]).aggregate(date=j.date.min())
            per = firsts.group_by("patient_id").aggregate(_np=firsts._idx.nunique(), _last=firsts.date.max())
            per = per.filter(per._np == n)
            d = self._daily(j.select("patient_id", "date", "code", "tbl", "units"))
            k = d.join(per, [d.patient_id == per.patient_id, d.date == per._last])
            t = k.select(patient_id=d.patient_id, w_table=d.tbl, w_date=d.date, w_code=d.code)
            return _first_per_patient(t)
        if b == "age_between" and "anchor" in a:
            anchor = self.witness(scope[a["anchor"]], scope)
            t = self._age_filter(anchor, "w_date", a["min_months"], a["max_months"])
            return _first_per_patient(t.select(*WITNESS_COLUMNS))
        if b == "birthday_in":
            return self._birthday_in(a)
        if b in ("age_between", "age_years_in"):
            at = ref_date(a.get("at", "ref_end"), self.year)
            p = self._view("patients")
            months = (at.year - p.birth_year.cast("int64")) * 12 + (at.month - p.birth_month.cast("int64"))
            if at.day < 15:
                months = months - 1
            if b == "age_between":
                ok = (months >= int(a["min_months"])) & (months < int(a["max_months"]))
            else:
                ok = (months // 12).isin([int(y) for y in a["years"]])
            t = p.filter(ok)
            t = t.select(patient_id=t.patient_id.cast("string"), w_table=ibis.literal("patients"),
                         w_date=t.birth_date.cast("date"),
                         w_code=ibis.literal("age_months=") + months.cast("string"))
            return _first_per_patient(t)
        if b == "any_of":
            subs = [self.witness(c, scope) for c in a["of"]]
            out = subs[0]
            for s in subs[1:]:
                out = out.union(s)
            return _first_per_patient(out)
        raise CompileError(f"unsupported block {b!r}")

    def _anchor_dates(self, cond: Condition, scope: Mapping[str, Condition]) -> ir.Table:
        """(patient_id, a_date): the anchor's witness date, or every event date of the
        anchor condition in its window when ``anchor_events = "all"``."""
        a = cond.args
        anchor = scope[a["anchor"]]
        mode = a.get("anchor_events", "first")
        if mode == "first":
            return self.witness(anchor, scope).select("patient_id", a_date="w_date")
        if mode != "all":
            raise CompileError(f"{cond.name}: anchor_events must be 'first' or 'all'")
        if anchor.block not in ("has_events", "has_deliveries", "has_bio", "has_ccam", "has_service"):
            raise CompileError(f"{cond.name}: anchor_events = 'all' needs an event anchor, not {anchor.block}")
        start, end = self._window(anchor.args["window"])
        ev = self.events(anchor.args["list"])
        ev = ev.filter(ev.date.between(start, end))
        return ev.select("patient_id", a_date="date").distinct()

    def _age_filter(self, t: ir.Table, date_col: str, min_months: Any, max_months: Any) -> ir.Table:
        """Rows of ``t`` whose patient's age in months at ``t[date_col]`` is in [min, max)
        (birth on the 15th of the birth month, as everywhere)."""
        pat = self._view("patients")
        pat = pat.select(_pid=pat.patient_id.cast("string"), _by=pat.birth_year.cast("int64"), _bm=pat.birth_month.cast("int64"))
        j = t.join(pat, t.patient_id == pat._pid)
        d = j[date_col]
        months = (d.year().cast("int64") - j._by) * 12 + (d.month().cast("int64") - j._bm)
        months = (d.day() < 15).ifelse(months - 1, months)
        ok = ibis.literal(True)
        if min_months is not None:
            ok = ok & (months >= int(min_months))
        if max_months is not None:
            ok = ok & (months < int(max_months))
        return j.filter(ok).select(*t.columns)

    def _birthday_in(self, a: Mapping[str, Any]) -> ir.Table:
        """Children whose birthday (15th of the birth month) at one of the ages in force
        on that birthday falls in the window; witness date = that birthday."""
        start, end = self._window(a["window"])
        years = a["years"]
        if years and isinstance(years[0], Mapping):
            entries = sorted((dt.date.fromisoformat(str(e["from"])), [int(x) for x in e["ages"]]) for e in years)
        else:
            entries = [(dt.date.min, [int(x) for x in years])]
        pat = self._view("patients")
        pat = pat.filter(pat.birth_month.notnull())
        parts = []
        for age in sorted({x for _, ages in entries for x in ages}):
            bd = ibis.date(pat.birth_year.cast("int64") + age, pat.birth_month.cast("int64"), ibis.literal(15))
            t = pat.mutate(_bd=bd)
            in_force = ibis.literal(False)
            for i, (since, ages) in enumerate(entries):
                if age not in ages:
                    continue
                cond = t._bd >= since
                if i + 1 < len(entries):
                    cond = cond & (t._bd < entries[i + 1][0])
                in_force = in_force | cond
            t = t.filter(t._bd.between(start, end), in_force)
            parts.append(t.select(patient_id=t.patient_id.cast("string"), w_table=ibis.literal("patients"),
                                  w_date=t._bd.cast("date"), w_code=ibis.literal(f"birthday_age={age}")))
        if not parts:
            return self._empty()
        out = parts[0]
        for p in parts[1:]:
            out = out.union(p)
        return _first_per_patient(out)

    def _empty(self, schema: ibis.Schema = _WITNESS_SCHEMA) -> ir.Table:
        if self.backend is not None:
            t = self.backend.empty_table(schema)
            self._temp.append(t)
            return t
        return ibis.memtable(schema.to_pyarrow().empty_table())

    def _distinct_groups(self, a: Mapping[str, Any]) -> ir.Table:
        start, end = self._window(a["window"])
        cl = load_codelist(a["list"])
        min_groups = int(a["min_groups"])
        parts = []
        for g in cl.groups:
            ev = self.events(a["list"], group=g)
            ev = ev.filter(ev.date.between(start, end))
            parts.append(self._daily(ev).mutate(grp=ibis.literal(g)))
        if not parts:
            raise CompileError(f"code list {a['list']} has no groups")
        allg = parts[0]
        for p in parts[1:]:
            allg = allg.union(p)
        if a.get("same_day", False):
            day = allg.group_by(["patient_id", "date"]).aggregate(
                _ng=allg.grp.nunique(), tbl=allg.tbl.min(), code=allg.code.min()
            )
            day = day.filter(day._ng >= min_groups)
            t = day.select(patient_id=day.patient_id, w_table=day.tbl, w_date=day.date, w_code=day.code)
            return _first_per_patient(t)
        k = int(a.get("min_count_per_group", 1))
        if a.get("concurrent_days") is not None:
            return self._concurrent_groups(allg, k, min_groups, int(a["concurrent_days"]))
        w = ibis.window(group_by=["patient_id", "grp"], order_by=[allg.date, allg.code])
        reach = allg.mutate(_rn=ibis.row_number().over(w)).filter(ibis._._rn == k - 1)
        w2 = ibis.window(group_by="patient_id", order_by=[reach.date, reach.grp])
        reach = reach.mutate(_g=ibis.row_number().over(w2)).filter(ibis._._g == min_groups - 1)
        return reach.select(patient_id=reach.patient_id, w_table=reach.tbl, w_date=reach.date, w_code=reach.code)

    @staticmethod
    def _concurrent_groups(allg: ir.Table, k: int, min_groups: int, days: int) -> ir.Table:
        """Groups reaching ``k`` dispensing dates in the window, of which ``min_groups``
        were all dispensed within ``days`` days ending on one dispensing date (the
        classes are taken together, a switch from one class to another does not count)."""
        cnt = allg.group_by(["patient_id", "grp"]).aggregate(_n=allg.date.nunique())
        ok = cnt.filter(cnt._n >= k).select("patient_id", "grp")
        ev = allg.semi_join(ok, ["patient_id", "grp"]).select("patient_id", "grp", "date", "tbl", "code")
        other = ev.select(_p=ev.patient_id, _g=ev.grp, _d=ev.date)
        j = ev.join(other, [ev.patient_id == other._p, other._d <= ev.date,
                            other._d >= ev.date - ibis.interval(days=days)])
        per = j.group_by([j.patient_id, j.date, j.tbl, j.code]).aggregate(_ng=j._g.nunique())
        per = per.filter(per._ng >= min_groups)
        t = per.select(patient_id=per.patient_id, w_table=per.tbl, w_date=per.date, w_code=per.code)
        return _first_per_patient(t)

    # ------------------------------------------------------------- patientèle
    def basis(self, programme: ProgrammeDef) -> ir.Table:
        """(doctor_id, patient_id) pairs of the patientèle the programme is computed on."""
        saved, self.obs_end = self.obs_end, self.ref_end
        try:
            return self._mat(f"basis|{programme.slug}", lambda: self._build_basis(programme))
        finally:
            self.obs_end = saved

    def _build_basis(self, prog: ProgrammeDef) -> ir.Table:
        p = prog.params
        if prog.basis == "mt":
            m = self._view("mt_declarations")
            at = ref_date(p["mt_active_at"].value, self.year)
            m = m.filter(m.start_date <= at, m.end_date.isnull() | (m.end_date >= at))
            pairs = m.select(doctor_id=m.doctor_id.cast("string"), patient_id=m.patient_id.cast("string"))
            if p["mt_requires_care_in_window"].value:
                s = self._view("services")
                start, end = self._window(p["mt_care_window"].value)
                care = s.filter(s.date.between(start, end)).select(patient_id=s.patient_id.cast("string")).distinct()
                pairs = pairs.join(care, "patient_id")
            if "max_age_months" in p:
                pat = self._view("patients")
                months = (self.ref_end.year - pat.birth_year.cast("int64")) * 12 + (12 - pat.birth_month.cast("int64"))
                young = pat.filter(months < int(p["max_age_months"].value)).select(patient_id=pat.patient_id.cast("string"))
                pairs = pairs.join(young, "patient_id")
            return pairs.distinct()
        # specialist: >= k contacts (distinct dates) executed by the doctor in the window
        s = self._view("services")
        start, end = self._window(p["specialist_contact_window"].value)
        docs = self.programme_doctors(prog)
        s = s.filter(s.date.between(start, end), s.executant_id.notnull())
        s = s.semi_join(docs, s.executant_id.cast("string") == docs.doctor_id)
        natures = p.get("specialist_contact_natures")
        if natures is not None and natures.value != "any":
            exact, prefix = load_codelist(natures.value).for_system("NATURE")
            s = s.filter(_code_filter(s.nature.cast("string"), exact, prefix))
        c = s.group_by([s.executant_id.cast("string").name("doctor_id"), s.patient_id.cast("string").name("patient_id")]).aggregate(
            _n=s.date.nunique()
        )
        return c.filter(c._n >= int(p["specialist_min_contacts"].value)).select("doctor_id", "patient_id")

    def programme_doctors(self, prog: ProgrammeDef) -> ir.Table:
        d = self._view("doctors")
        if prog.specialties:
            d = d.filter(d.specialty.cast("int64").isin([int(x) for x in prog.specialties]))
        return d.select(doctor_id=d.doctor_id.cast("string")).distinct()

    def patientele(self, prog: ProgrammeDef) -> ir.Table:
        """Weighting patientèle per doctor: basis patients alive at the reference date."""
        b = self.basis(prog)
        pat = self._view("patients")
        alive = pat.filter(pat.death_date.isnull() | (pat.death_date > self.ref_end)).select(
            patient_id=pat.patient_id.cast("string")
        )
        j = b.join(alive, "patient_id")
        return j.group_by("doctor_id").aggregate(patientele=j.patient_id.nunique())

    # ------------------------------------------------------------- indicators
    def compile(self, ind: IndicatorDef, programme: ProgrammeDef) -> ir.Table:
        """Per (doctor_id, patient_id) evidence rows of one computed indicator."""
        if ind.kind not in ("patients", "boxes"):
            raise CompileError(f"{ind.id}: declarative indicators are not compiled")
        saved, self.obs_end = self.obs_end, ind.observation_end_date(self.year)
        try:
            if ind.kind == "patients":
                return self._compile_patients(ind, programme)
            return self._compile_boxes(ind, programme)
        finally:
            self.obs_end = saved

    def _compile_patients(self, ind: IndicatorDef, prog: ProgrammeDef) -> ir.Table:
        scope = {c.name: c for c in (*ind.denominator, *ind.numerator)}
        conds = list(ind.denominator) + list(ind.numerator)
        trig = self.witness(ind.denominator[0], scope)
        t = trig.rename(t0="w_table", d0="w_date", c0="w_code")
        for i, c in enumerate(conds[1:], start=1):
            w = self.witness(c, scope).rename(**{f"t{i}": "w_table", f"d{i}": "w_date", f"c{i}": "w_code"})
            t = t.left_join(w, "patient_id").drop("patient_id_right")
        pat = self._view("patients")
        dead = pat.group_by(pat.patient_id.cast("string").name("patient_id")).aggregate(
            _death=pat.death_date.cast("date").min()
        )
        t = t.left_join(dead, "patient_id").drop("patient_id_right")

        def ok(i: int, c: Condition) -> ir.BooleanValue:
            present = t[f"d{i}"].notnull()
            return ~present if c.negate else present

        nden = len(ind.denominator)
        deceased = t._death.notnull() & (t._death <= self.ref_end) if ind.exclude_deceased else ibis.literal(False)
        den_ok = ~deceased
        for i, c in enumerate(ind.denominator):
            den_ok = den_ok & ok(i, c)
        num_ok = den_ok
        for i, c in enumerate(ind.numerator, start=nden):
            num_ok = num_ok & ok(i, c)

        # reason: first failing condition
        branches = []
        for i, c in enumerate(ind.denominator):
            if i:
                branches.append((~ok(i, c), f"excluded:{c.name}"))
        branches.append((deceased, "excluded:deceased"))
        for i, c in enumerate(ind.numerator, start=nden):
            branches.append((~ok(i, c), f"not_numerator:{c.name}"))
        reason = ibis.cases(*branches, else_="numerator")

        # deciding claim: latest non-negated numerator witness if in numerator, else the trigger
        ct, cd, cc = t.t0, t.d0, t.c0
        first = True
        for i, c in enumerate(ind.numerator, start=nden):
            if c.negate:
                continue
            if first:
                nt, nd, nc = t[f"t{i}"], t[f"d{i}"], t[f"c{i}"]
                first = False
            else:
                later = t[f"d{i}"] > nd
                nt, nd, nc = later.ifelse(t[f"t{i}"], nt), later.ifelse(t[f"d{i}"], nd), later.ifelse(t[f"c{i}"], nc)
        if not first:
            ct, cd, cc = num_ok.ifelse(nt, ct), num_ok.ifelse(nd, cd), num_ok.ifelse(nc, cc)

        per_patient = t.select(
            patient_id=t.patient_id,
            in_denominator=den_ok,
            in_numerator=num_ok,
            den_units=den_ok.cast("int64"),
            num_units=num_ok.cast("int64"),
            reason=reason,
            claim_table=ct,
            claim_date=cd,
            claim_code=cc,
        )
        b = self.basis(prog)
        j = b.join(per_patient, "patient_id")
        return j.select(*RESULT_COLUMNS)

    def _compile_boxes(self, ind: IndicatorDef, prog: ProgrammeDef) -> ir.Table:
        start, end = self._window(ind.boxes["window"])
        dd = self._view("drug_deliveries")
        exact, prefix = load_codelist(ind.boxes["list"]).for_system("ATC")
        dd = dd.filter(_code_filter(dd.atc, exact, prefix), dd.date.between(start, end), dd.prescriber_id.notnull())
        docs = self.programme_doctors(prog)
        dd = dd.mutate(doctor_id=dd.prescriber_id.cast("string"), patient_id=dd.patient_id.cast("string"))
        dd = dd.join(docs, "doctor_id")
        boxes = dd.boxes.cast("int64")
        key = dd.date.cast("string") + ";" + dd.cip13.cast("string")
        in_rep = dd.generic_group.notnull()
        if "generic_since" in dd.columns:
            # dated répertoire membership (PHA_GRS_DSD) when the clean view carries it
            in_rep = in_rep & (dd.generic_since.isnull() | (dd.date >= dd.generic_since))
        g = dd.group_by(["doctor_id", "patient_id"]).aggregate(
            den_units=boxes.sum(),
            num_units=in_rep.ifelse(boxes, 0).sum(),
            _key=key.max(),
        )
        g = g.filter(g.den_units > 0)
        return g.select(
            doctor_id=g.doctor_id,
            patient_id=g.patient_id,
            in_denominator=g.den_units > 0,
            in_numerator=g.num_units > 0,
            den_units=g.den_units.cast("int64"),
            num_units=g.num_units.cast("int64"),
            reason=ibis.literal("boxes"),
            claim_table=ibis.literal("drug_deliveries"),
            claim_date=g._key.split(";")[0].cast("date"),
            claim_code=g._key.split(";")[1],
        )
