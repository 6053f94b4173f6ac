"""Tiny SNDS-shaped datasets for tests, written with pyarrow.

Usage::

    b = ClaimsBuilder()
    pat = b.patient()                      # IR_BEN_R row, returns its key
    doc = b.doctor("011000001")            # DA_PRA_R row (liquidation = statistical number)
    b.drug(3400930000001, atc="A10BA02")   # IR_PHA_R row
    b.delivery(pat, date(2019, 3, 1), 3400930000001, prescriber=doc)
    data_dir = b.write(tmp_path / "data")
    claims = load_claims(data_dir, 2019)

Every ``add``-style method returns what later rows need to reference (patient key,
doctor number, 9-column DCIR key) and accepts ``**overrides`` of raw SNDS columns,
so a test can break exactly one value. ``write`` can drop tables or columns and
``write_table`` writes arbitrary pyarrow tables, for structural-error tests.
Patient identifiers are made up (``NIR000001``...).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rosp.claims.schema import DCIR_JOIN_KEY, TABLES

#: Natures de prestation used by the builder (IR_NAT_V).
NAT_CONSULTATION = 1111  # C
NAT_PHARMACY = 3311  # PH1 line carrying an ER_PHA_F detail
NAT_BIO = 3211  # biology line carrying an ER_BIO_F detail
NAT_CCAM = 1351  # technical act line carrying an ER_CAM_F detail


@dataclass(frozen=True)
class Patient:
    """Beneficiary key and stable person id of a built patient."""

    nir: str
    rng: int
    idt: str


@dataclass
class ClaimsBuilder:
    """Accumulates rows per SNDS table; ``write`` puts one Parquet (or CSV) file per table."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in TABLES})
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------ referentials

    def patient(
        self,
        birth: tuple[int, int] = (1960, 6),
        sex: int = 1,
        death: date | None = None,
        nir: str | None = None,
        rng: int = 1,
        idt: str | None = None,
        **overrides: Any,
    ) -> Patient:
        """Add an IR_BEN_R row. Pass the ``idt`` of another patient to give one person two NIRs."""
        n = next(self._ids)
        nir = nir or f"NIR{n:06d}"
        idt = idt or f"IDT{n:06d}"
        self.rows["IR_BEN_R"].append(
            {
                "BEN_NIR_PSA": nir,
                "BEN_RNG_GEM": rng,
                "BEN_IDT_ANO": idt,
                "BEN_NAI_ANN": birth[0],
                "BEN_NAI_MOI": birth[1],
                "BEN_SEX_COD": sex,
                "BEN_DCD_DTE": death,
                "BEN_RES_DPT": "075",
                "BEN_CDI_NIR": "00",
                **overrides,
            }
        )
        return Patient(nir, rng, idt)

    def doctor(
        self,
        pfs: str,
        sta: str | None = None,
        specialty: int = 1,
        installed: date = date(2010, 1, 1),
        opted_out: date | None = None,
        capi: date | None = None,
        months: tuple[tuple[int, int], ...] = (),
        **overrides: Any,
    ) -> str:
        """Add a DA_PRA_R row (a cabinet); ``sta`` defaults to ``pfs`` (main cabinet). Returns ``pfs``.

        ``months`` ((year, month), ...) writes one row per month of processing, as SNDS
        does; by default one row without month. ``opted_out`` / ``capi`` add a row to the
        caisse's administrative file ROSP_ADM (not SNDS).
        """
        for ym in months or ((None, None),):
            self.rows["DA_PRA_R"].append(
                {
                    "PFS_PFS_NUM": pfs,
                    "STA_PFS_NUM": sta or pfs,
                    "PFS_PRA_SPE": specialty,
                    "CNV_CNV_COD": "1",
                    "PFS_INS_DSD": installed,
                    "DTE_ANN_TRT": ym[0],
                    "DTE_MOI_FIN": ym[1],
                    "EXC_EXC_NAT": None,
                    **overrides,
                }
            )
        if opted_out or capi:
            self.rows["ROSP_ADM"].append(
                {"STA_PFS_NUM": sta or pfs, "ROSP_OPT_OUT_DTE": opted_out, "CAPI_SIG_DTE": capi}
            )
        return pfs

    def drug(
        self,
        cip13: int,
        atc: str = "A10BA02",
        generic_group: int | None = None,
        pack: str = "NGC",
        **overrides: Any,
    ) -> int:
        """Add an IR_PHA_R row. Returns ``cip13``."""
        self.rows["IR_PHA_R"].append(
            {
                "PHA_CIP_C13": cip13,
                "PHA_ATC_C07": atc,
                "PHA_GRS_NUM": generic_group,
                "PHA_CND_TOP": pack,
                "PHA_MED_NOM": f"DRUG {cip13}",
                **overrides,
            }
        )
        return cip13

    def mt(
        self, patient: Patient, doctor: str, start: date, end: date | None = None, **overrides: Any
    ) -> None:
        """Add an IR_MTT_R médecin-traitant declaration."""
        self.rows["IR_MTT_R"].append(
            {
                "BEN_NIR_PSA": patient.nir,
                "BEN_RNG_GEM": patient.rng,
                "MTT_PFS_NUM": doctor,
                "MTT_DEP_DTE": start,
                "MTT_FIN_DTE": end,
                **overrides,
            }
        )

    def ald(
        self,
        patient: Patient,
        ald_num: int,
        icd10: str,
        start: date,
        end: date | None = None,
        **overrides: Any,
    ) -> None:
        """Add an IR_IMB_R exoneration (nature 41, ALD liste)."""
        self.rows["IR_IMB_R"].append(
            {
                "BEN_NIR_PSA": patient.nir,
                "BEN_RNG_GEM": patient.rng,
                "IMB_ALD_NUM": ald_num,
                "IMB_ALD_DTD": start,
                "IMB_ALD_DTF": end,
                "IMB_ETM_NAT": 41,
                "MED_MTF_COD": icd10,
                **overrides,
            }
        )

    def declaration(self, doctor: str, indicator_id: str, numerator: int, denominator: int) -> None:
        """Add a ROSP_DECL row."""
        self.rows["ROSP_DECL"].append(
            {
                "STA_PFS_NUM": doctor,
                "INDICATOR_ID": indicator_id,
                "DECL_NUM": numerator,
                "DECL_DEN": denominator,
                "DECL_RATE": numerator / denominator if denominator else None,
            }
        )

    # ------------------------------------------------------------ DCIR

    def service(
        self,
        patient: Patient,
        on: date,
        nature: int = NAT_CONSULTATION,
        quantity: int = 1,
        executant: str | None = None,
        prescriber: str | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Add an ER_PRS_F line. Returns its 9-column key (to attach a detail line)."""
        n = next(self._ids)
        flow = date(on.year + (on.month == 12), on.month % 12 + 1, 1)  # next month's flow
        key = {
            "FLX_DIS_DTD": flow,
            "FLX_TRT_DTD": flow,
            "FLX_EMT_TYP": 1,
            "FLX_EMT_NUM": 1,
            "FLX_EMT_ORD": 0,
            "ORG_CLE_NUM": "01M000000",
            "DCT_ORD_NUM": n,
            "PRS_ORD_NUM": 1,
            "REM_TYP_AFF": 1,
        }
        row = {
            "BEN_NIR_PSA": patient.nir,
            "BEN_RNG_GEM": patient.rng,
            **key,
            "EXE_SOI_DTD": on,
            "EXE_SOI_DTF": on,
            "PRE_PRE_DTD": None,
            "PRS_NAT_REF": nature,
            "PRS_ACT_QTE": Decimal(quantity),
            "PFS_EXE_NUM": executant,
            "PFS_PRE_NUM": prescriber,
            "PRS_MTT_NUM": None,
            "PSE_SPE_COD": 1 if executant else None,
            "PSP_SPE_COD": 1 if prescriber else None,
            "DPN_QLF": None,
            "CPL_MAJ_TOP": 0,
            "EXO_MTF": None,
            "BSE_REM_MNT": 25.0 * quantity,
        }
        row.update(overrides)
        self.rows["ER_PRS_F"].append(row)
        return {k: row[k] for k in DCIR_JOIN_KEY}

    def delivery(
        self,
        patient: Patient,
        on: date,
        cip13: int,
        boxes: int = 1,
        prescriber: str | None = None,
        pharmacy: str = "012000001",
        detail: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Add a pharmacy delivery: ER_PRS_F line + ER_PHA_F detail (negative ``boxes`` = correction)."""
        key = self.service(
            patient, on, NAT_PHARMACY, boxes, executant=pharmacy, prescriber=prescriber, **overrides
        )
        self.rows["ER_PHA_F"].append(
            {
                **key,
                "PHA_PRS_C13": cip13,
                "PHA_ACT_QSN": boxes,
                "PHA_SEQ_RNV": None,
                **(detail or {}),
            }
        )
        return key

    def bio(
        self,
        patient: Patient,
        on: date,
        nabm: int,
        quantity: int = 1,
        prescriber: str | None = None,
        lab: str = "013000001",
        detail: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Add a biology act: ER_PRS_F line + ER_BIO_F detail."""
        key = self.service(
            patient, on, NAT_BIO, quantity, executant=lab, prescriber=prescriber, **overrides
        )
        self.rows["ER_BIO_F"].append(
            {**key, "BIO_PRS_IDE": nabm, "BIO_ACT_QSN": quantity, **(detail or {})}
        )
        return key

    def ccam(
        self,
        patient: Patient,
        on: date,
        code: str,
        executant: str,
        quantity: int = 1,
        detail: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Add a CCAM act: ER_PRS_F line (carrying the quantity) + ER_CAM_F detail."""
        key = self.service(patient, on, NAT_CCAM, quantity, executant=executant, **overrides)
        self.rows["ER_CAM_F"].append(
            {**key, "CAM_PRS_IDE": code, "CAM_ACT_COD": "1", "CAM_TRT_PHA": 0, **(detail or {})}
        )
        return key

    # ------------------------------------------------------------ PMSI

    def stay(
        self,
        patient: Patient,
        entry: date,
        exit: date | None = None,
        dp: str = "I214",
        dr: str | None = None,
        das: tuple[str, ...] = (),
        acts: tuple[tuple[str, int], ...] = (),
        eta: str = "750000001",
        rsa: str | None = None,
        table: str = "T_MCOaa",
        quality: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Add a PMSI MCO stay (B + C, D per DAS, A per ``(ccam, delay_days)``). Returns (ETA_NUM, RSA_NUM).

        ``table`` = ``"T_MCO18"`` puts the stay in the yearly tables ``T_MCO18B/C/D/A``
        (written as such by ``write``); ``quality`` overrides B/C columns (GRG_GHM, NIR_RET...).
        """
        rsa = rsa or f"{next(self._ids):010d}"
        exit = exit or entry
        quality = quality or {}
        b_extra = {k: v for k, v in quality.items() if k in TABLES["T_MCOaaB"].names}
        c_extra = {k: v for k, v in quality.items() if k in TABLES["T_MCOaaC"].names}
        self.rows.setdefault(f"{table}B", []).append(
            {
                "ETA_NUM": eta,
                "RSA_NUM": rsa,
                "DGN_PAL": dp,
                "DGN_REL": dr,
                "GRG_GHM": None,
                "SOR_ANN": exit.year,
                "SOR_MOI": exit.month,
                **b_extra,
            }
        )
        self.rows.setdefault(f"{table}C", []).append(
            {
                "ETA_NUM": eta,
                "RSA_NUM": rsa,
                "NIR_ANO_17": patient.nir,
                "EXE_SOI_DTD": entry,
                "EXE_SOI_DTF": exit,
                **c_extra,
            }
        )
        for code in das:
            self.rows.setdefault(f"{table}D", []).append({"ETA_NUM": eta, "RSA_NUM": rsa, "ASS_DGN": code})
        for code, delay in acts:
            self.rows.setdefault(f"{table}A", []).append(
                {
                    "ETA_NUM": eta,
                    "RSA_NUM": rsa,
                    "CDC_ACT": code,
                    "ENT_DAT_DEL": delay,
                    "NBR_EXE_ACT": 1,
                }
            )
        return eta, rsa

    # ------------------------------------------------------------ output

    def arrow(self, table: str) -> pa.Table:
        """The rows of ``table`` with the declared Arrow schema (yearly PMSI names too)."""
        schema = TABLES[_schema_name(table)].arrow_schema()
        return pa.Table.from_pylist(self.rows[table], schema=schema)

    def write(
        self,
        directory: Path,
        fmt: str = "parquet",
        omit: tuple[str, ...] = (),
        drop_columns: dict[str, str] | None = None,
    ) -> Path:
        """Write every table (even empty) to ``directory``; ``omit`` tables, ``drop_columns`` {table: column}."""
        directory.mkdir(parents=True, exist_ok=True)
        for name in list(TABLES) + [t for t in self.rows if t not in TABLES]:
            if name in omit:
                continue
            table = self.arrow(name)
            if drop_columns and name in drop_columns:
                table = table.drop_columns([drop_columns[name]])
            write_table(directory, name, table, fmt)
        return directory


def _schema_name(table: str) -> str:
    """``T_MCO18B`` -> ``T_MCOaaB``; archives (``ER_PRS_F_2017``, ``IR_BEN_R_ARC``) -> base table."""
    if table.startswith("T_MCO") and table not in TABLES:
        return "T_MCOaa" + table[-1]
    for name in TABLES:
        if table.startswith(name + "_"):
            return name
    return table


def write_table(directory: Path, name: str, table: pa.Table, fmt: str = "parquet") -> Path:
    """Write ``table`` as ``directory/<name>.<fmt>`` (replacing any file of that table).

    ``fmt="csv-sas"`` writes ``<name>.csv`` as a SAS export (rosp.synth.sas: ';',
    SAS datetimes, decimal commas)."""
    for ext in ("parquet", "csv"):
        (directory / f"{name}.{ext}").unlink(missing_ok=True)
    if fmt == "csv-sas":
        import duckdb

        from rosp.synth.sas import parquet_to_sas_csv

        staged = directory / f".{name}.staged.parquet"
        pq.write_table(table, staged)
        path = directory / f"{name}.csv"
        with duckdb.connect() as con:
            parquet_to_sas_csv(staged, path, con)
        staged.unlink()
        return path
    path = directory / f"{name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path


def minimal_dataset() -> tuple[ClaimsBuilder, dict[str, Any]]:
    """A small valid extract for study year 2019: 2 patients, 2 doctors, one of each claim kind.

    Returns the builder (add more before writing) and handles to its objects.
    """
    b = ClaimsBuilder()
    alice = b.patient(birth=(1955, 3), sex=2)
    bob = b.patient(birth=(2017, 11), sex=1)
    gp = b.doctor("011000001")
    cardio = b.doctor("031000002", specialty=3)
    b.doctor("031000009", sta="031000002", specialty=3)  # secondary cabinet of cardio
    metformin = b.drug(3400930000001, atc="A10BA02", generic_group=57, pack="GC")
    b.mt(alice, gp, date(2015, 1, 1))
    b.ald(alice, 8, "E119", date(2016, 1, 1))
    b.service(alice, date(2019, 2, 1), executant=gp)
    b.delivery(alice, date(2019, 2, 3), metformin, boxes=1, prescriber=gp)
    b.bio(alice, date(2019, 2, 10), 1577, prescriber=gp)
    b.ccam(alice, date(2019, 4, 1), "DEQP003", executant=cardio)
    b.stay(
        alice, date(2018, 5, 2), date(2018, 5, 9), dp="I214", das=("E119",), acts=(("DDAF001", 1),)
    )
    b.service(bob, date(2019, 6, 1), executant=gp)
    b.declaration(gp, "ENF-01", 8, 10)
    return b, {"alice": alice, "bob": bob, "gp": gp, "cardio": cardio, "metformin": metformin}
