"""Build the claims *clean views* directly (docs/architecture.md contract), for tests.

Quantities are already net (régularisations summed), like the real views. The
builder writes DuckDB tables named after the views on an Ibis DuckDB backend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pyarrow as pa

D = pa.date32()
S = pa.string()
I64 = pa.int64()

VIEW_SCHEMAS: dict[str, pa.Schema] = {
    "patients": pa.schema([("patient_id", S), ("birth_year", I64), ("birth_month", I64), ("birth_date", D), ("sex", I64), ("death_date", D)]),
    "mt_declarations": pa.schema([("patient_id", S), ("doctor_id", S), ("start_date", D), ("end_date", D)]),
    "ald": pa.schema([("patient_id", S), ("ald_num", I64), ("icd10", S), ("start_date", D), ("end_date", D)]),
    "services": pa.schema([("patient_id", S), ("date", D), ("nature", I64), ("executant_id", S), ("prescriber_id", S), ("executant_specialty", I64), ("quantity", I64), ("claim_ref", S)]),
    "drug_deliveries": pa.schema([("patient_id", S), ("date", D), ("cip13", I64), ("atc", S), ("generic_group", I64), ("large_pack", pa.bool_()), ("boxes", I64), ("prescriber_id", S), ("prescriber_specialty", I64), ("claim_ref", S)]),
    "bio_acts": pa.schema([("patient_id", S), ("date", D), ("nabm", I64), ("quantity", I64), ("prescriber_id", S), ("executant_id", S), ("claim_ref", S)]),
    "ccam_acts": pa.schema([("patient_id", S), ("date", D), ("ccam", S), ("executant_id", S), ("executant_specialty", I64), ("claim_ref", S)]),
    "hospital_stays": pa.schema([("patient_id", S), ("stay_id", S), ("entry_date", D), ("exit_date", D), ("dp", S), ("dr", S)]),
    "hospital_diagnoses": pa.schema([("patient_id", S), ("stay_id", S), ("entry_date", D), ("icd10", S), ("kind", S)]),
    "hospital_acts": pa.schema([("patient_id", S), ("stay_id", S), ("act_date", D), ("ccam", S)]),
    "doctors": pa.schema([("doctor_id", S), ("specialty", I64), ("conventioned", pa.bool_()), ("installed_on", D), ("opted_out_on", D), ("capi_signed_on", D)]),
    "declarations": pa.schema([("doctor_id", S), ("indicator_id", S), ("numerator", I64), ("denominator", I64), ("declared_rate", pa.float64())]),
}


def d(x: str | dt.date | None) -> dt.date | None:
    if x is None or isinstance(x, dt.date):
        return x
    return dt.date.fromisoformat(x)


class CleanViews:
    """Accumulate rows, then :meth:`build` the views on a fresh (or given) connection."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {k: [] for k in VIEW_SCHEMAS}
        self._n = 0

    def _ref(self, table: str) -> str:
        self._n += 1
        return f"{table}:{self._n}"

    def doctor(self, doctor_id: str, specialty: int = 1, installed_on: str = "2000-01-01") -> CleanViews:
        self.rows["doctors"].append(dict(doctor_id=doctor_id, specialty=specialty, conventioned=True, installed_on=d(installed_on), opted_out_on=None, capi_signed_on=None))
        return self

    def patient(self, pid: str, birth: str = "1960-06", sex: int = 1, death: str | None = None) -> CleanViews:
        y, m = (int(x) for x in birth.split("-")[:2])
        self.rows["patients"].append(dict(patient_id=pid, birth_year=y, birth_month=m, birth_date=dt.date(y, m, 15), sex=sex, death_date=d(death)))
        return self

    def mt(self, pid: str, doctor: str, start: str = "2015-01-01", end: str | None = None) -> CleanViews:
        self.rows["mt_declarations"].append(dict(patient_id=pid, doctor_id=doctor, start_date=d(start), end_date=d(end)))
        return self

    def service(self, pid: str, date: str, nature: int = 1111, executant: str | None = None, prescriber: str | None = None, quantity: int = 1, specialty: int | None = None) -> CleanViews:
        self.rows["services"].append(dict(patient_id=pid, date=d(date), nature=nature, executant_id=executant, prescriber_id=prescriber, executant_specialty=specialty, quantity=quantity, claim_ref=self._ref("ER_PRS_F")))
        return self

    def contacts(self, pid: str, doctor: str, dates: tuple[str, ...] = ("2018-02-01", "2018-06-01")) -> CleanViews:
        for x in dates:
            self.service(pid, x, nature=1111, executant=doctor)
        return self

    def drug(self, pid: str, date: str, atc: str, boxes: int = 1, prescriber: str | None = "GP1", generic_group: int | None = None, cip13: int = 3400000000000, large_pack: bool = False) -> CleanViews:
        self.rows["drug_deliveries"].append(dict(patient_id=pid, date=d(date), cip13=cip13, atc=atc, generic_group=generic_group, large_pack=large_pack, boxes=boxes, prescriber_id=prescriber, prescriber_specialty=None, claim_ref=self._ref("ER_PHA_F")))
        return self

    def drugs(self, pid: str, atc: str, dates: tuple[str, ...], **kw: Any) -> CleanViews:
        for x in dates:
            self.drug(pid, x, atc, **kw)
        return self

    def bio(self, pid: str, date: str, nabm: int, quantity: int = 1) -> CleanViews:
        self.rows["bio_acts"].append(dict(patient_id=pid, date=d(date), nabm=nabm, quantity=quantity, prescriber_id=None, executant_id=None, claim_ref=self._ref("ER_BIO_F")))
        return self

    def ccam(self, pid: str, date: str, code: str, executant: str | None = None) -> CleanViews:
        self.rows["ccam_acts"].append(dict(patient_id=pid, date=d(date), ccam=code, executant_id=executant, executant_specialty=None, claim_ref=self._ref("ER_CAM_F")))
        return self

    def stay(self, pid: str, entry: str, dp: str, exit: str | None = None, das: tuple[str, ...] = (), acts: tuple[tuple[str, str], ...] = (), dr: str | None = None) -> CleanViews:
        self._n += 1
        sid = f"FIN:{self._n}"
        self.rows["hospital_stays"].append(dict(patient_id=pid, stay_id=sid, entry_date=d(entry), exit_date=d(exit or entry), dp=dp, dr=dr))
        self.rows["hospital_diagnoses"].append(dict(patient_id=pid, stay_id=sid, entry_date=d(entry), icd10=dp, kind="DP"))
        if dr:
            self.rows["hospital_diagnoses"].append(dict(patient_id=pid, stay_id=sid, entry_date=d(entry), icd10=dr, kind="DR"))
        for x in das:
            self.rows["hospital_diagnoses"].append(dict(patient_id=pid, stay_id=sid, entry_date=d(entry), icd10=x, kind="DAS"))
        for code, date in acts:
            self.rows["hospital_acts"].append(dict(patient_id=pid, stay_id=sid, act_date=d(date), ccam=code))
        return self

    def ald(self, pid: str, icd10: str, start: str, end: str | None = None, num: int | None = None) -> CleanViews:
        self.rows["ald"].append(dict(patient_id=pid, ald_num=num, icd10=icd10, start_date=d(start), end_date=d(end)))
        return self

    def declaration(self, doctor: str, indicator: str, numerator: int | None, denominator: int | None, rate: float | None = None) -> CleanViews:
        self.rows["declarations"].append(dict(doctor_id=doctor, indicator_id=indicator, numerator=numerator, denominator=denominator, declared_rate=rate))
        return self

    def build(self, con: Any = None) -> tuple[Any, dict[str, Any]]:
        """Create the view tables; returns (ibis backend, {view: ibis table})."""
        con = con or ibis.duckdb.connect()
        views = {}
        for name, schema in VIEW_SCHEMAS.items():
            tbl = pa.Table.from_pylist(self.rows[name], schema=schema)
            con.con.register("_rosp_builder_tmp", tbl)
            con.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _rosp_builder_tmp')
            con.con.unregister("_rosp_builder_tmp")
            views[name] = con.table(name)
        return con, views
