"""Doctors, other health professionals and patient demography (vectorised)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rosp.synth import calibration

DATA_DIR = Path(__file__).resolve().parent / "data"
EPOCH = np.datetime64("1970-01-01", "D")
NEVER = np.int32(2**31 - 1)

#: France, 1 January 2018 (INSEE, Bilan démographique 2017: 66.9 million inhabitants)
FRANCE_POPULATION_2018 = 66_900_000
#: ROSP beneficiaries per specialty in 2018 (Cnam, ROSP 2018 results, method.md §5.1:
#: GPs 50,785; paediatricians 1,388; cardiologists 4,326; gastro-enterologists 2,012);
#: endocrinologists: 1.2 M€ / 1,529 € in 2022 (Cnam press release 28/04/2023) ≈ 785 [INF];
#: radiologists: imaging executants only, order of magnitude (not a ROSP figure).
DOCTORS_FRANCE_2018: dict[str, int] = {
    "gp": 50_785,
    "paediatrician": 1_388,
    "cardiologist": 4_326,
    "gastroenterologist": 2_012,
    "endocrinologist": 785,
}
#: inhabitants per doctor: the published counts scaled to the population generated
#: (docs/synth.md cites each figure)
INHABITANTS_PER_DOCTOR: dict[str, float] = {
    **{g: FRANCE_POPULATION_2018 / n for g, n in DOCTORS_FRANCE_2018.items()},
    "radiologist": 9000.0,  # 6 (imaging executants)
}
#: mean specialist patientèle (>= 2 contacts in 24 months) the synthetic specialists
#: are topped up to: gastro 1,228 in 2014 for a reference of 1,100 (SYNMAD, method.md
#: §1.8); cardiology "calibrée sur un volume moyen de 800 patients" (ameli); endocrinology
#: reference of 1,000 "patients actifs" (mean assumed equal to it [INF]).
PATIENTELE_MEAN: dict[str, float] = {"cardiologist": 800.0, "gastroenterologist": 1228.0, "endocrinologist": 1000.0}
SPECIALTY = {"gp": 1, "paediatrician": 12, "cardiologist": 3, "gastroenterologist": 8,
             "endocrinologist": 42, "radiologist": 6}
#: inhabitants per non-physician executant: pharmacy (category 2), lab (3), dentist (4),
#: nurse (6), podologist (8)
OTHER_PS = {"pharmacy": (2, 3000.0), "lab": (3, 20000.0), "dentist": (4, 1800.0),
            "nurse": (6, 1000.0), "podologist": (8, 5000.0)}
PROGRAMME_GROUPS = {
    "mt-enfant": ("gp", "paediatrician"),
    "cardiologie": ("cardiologist",),
    "gastro-enterologie": ("gastroenterologist",),
    "endocrinologie": ("endocrinologist",),
}


def day(y: int, m: int = 1, d: int = 1) -> int:
    return int((np.datetime64(f"{y:04d}-{m:02d}-{d:02d}", "D") - EPOCH).astype(np.int64))


def month_start_after(days: np.ndarray, plus: np.ndarray | int = 1) -> np.ndarray:
    """First day of the month `plus` months after the month of `days`."""
    m = days.astype("datetime64[D]").astype("datetime64[M]") + np.asarray(plus).astype("timedelta64[M]")
    return m.astype("datetime64[D]").astype(np.int64).astype(np.int32)


def _key_digit(digits: str) -> str:
    return str(sum(int(c) * (1 + (i % 2)) for i, c in enumerate(digits)) % 10)


def hash64(x: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of x + salt (vectorised, wraps)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(salt % 2**64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def hex_strings(prefix: bytes, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Fixed-width byte matrix: prefix + 16 upper-case hex digits of each uint64."""
    n = len(values)
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nib = ((values[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.intp)
    out = np.empty((n, len(prefix) + 16), dtype=np.uint8)
    out[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    out[:, len(prefix):] = _HEX[nib]
    return out, out.shape[1]


@dataclass
class Registry:
    """All executants. Index space: cabinets/PS rows of `pfs`."""

    pfs: list[str]  # liquidation numbers (one per cabinet / PS)
    exe_spe: np.ndarray  # int16 specialty per row, -1 = null
    exe_doctor: np.ndarray  # int32 doctor index per row, -1 for non-physicians
    exe_dept: list[str]
    # doctors
    doc_group: np.ndarray  # object: group name
    doc_spe: np.ndarray  # int16
    doc_sta: list[str]
    doc_cab_main: np.ndarray  # int32 row index
    doc_cab2: np.ndarray  # int32 row index or -1
    doc_z: np.ndarray
    doc_rates: np.ndarray  # (n_indicators, n_doctors)
    doc_weight: np.ndarray
    da_pra_rows: list[dict]
    groups: dict[str, np.ndarray]  # group -> doctor indices
    others: dict[str, np.ndarray]  # kind -> row indices
    depts: list[str]
    #: patients of the whole run (the population the doctor counts are scaled to)
    patients: int = 0

    @property
    def n_doctors(self) -> int:
        return len(self.doc_spe)

    def sample(self, rng: np.random.Generator, group: str, n: int) -> np.ndarray:
        """Doctors of a group drawn with their patientèle-size weights."""
        idx = self.groups[group]
        w = np.cumsum(self.doc_weight[idx])
        pos = np.searchsorted(w, rng.random(n) * w[-1], side="right")
        return idx[np.minimum(pos, len(idx) - 1)]

    def other(self, rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
        rows = self.others[kind]
        return rows[rng.integers(0, len(rows), n)]

    def cabinet(self, rng: np.random.Generator, doctors: np.ndarray) -> np.ndarray:
        """Executant row of each doctor (-1 stays -1); 30 % of a 2-cabinet doctor's
        activity is billed from the secondary cabinet."""
        doctors = np.asarray(doctors)
        ok = doctors >= 0
        d = np.where(ok, doctors, 0)
        main = self.doc_cab_main[d]
        sec = self.doc_cab2[d]
        use2 = (sec >= 0) & (rng.random(len(d)) < 0.3)
        return np.where(ok, np.where(use2, sec, main), -1).astype(np.int32)


def build_registry(patients: int, seed: int, year: int) -> Registry:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7_000_001]))
    all_depts = [f"{d:02d}" for d in range(1, 96) if d != 20]
    n_depts = int(min(len(all_depts), max(1, round(patients / 650_000))))
    depts = sorted(rng.choice(all_depts, size=n_depts, replace=False).tolist())

    pfs: list[str] = []
    exe_spe: list[int] = []
    exe_doctor: list[int] = []
    exe_dept: list[str] = []
    used: dict[int, set[int]] = {}

    def new_number(category: int, dept: str) -> str:
        pool = used.setdefault(category, set())
        while True:
            k = int(rng.integers(0, 100_000))
            if k not in pool:
                pool.add(k)
                break
        digits = f"{dept}{category}{k:05d}"
        return digits + _key_digit(digits)

    doc_group: list[str] = []
    doc_spe: list[int] = []
    doc_sta: list[str] = []
    cab_main: list[int] = []
    cab2: list[int] = []
    da_rows: list[dict] = []
    groups: dict[str, list[int]] = {}
    ins_lo, ins_hi = day(1978), day(year, 10, 1)
    optout_window = (day(2016, 10, 26), day(2017, 1, 23))
    for group, per in INHABITANTS_PER_DOCTOR.items():
        n = max(2 if group == "gp" else 1, int(round(patients / per)))
        for _ in range(n):
            d_idx = len(doc_spe)
            spe = SPECIALTY[group]
            if group == "gp":
                u = rng.random()
                spe = 22 if u < 0.02 else (23 if u < 0.03 else 1)
            dept = depts[int(rng.integers(0, len(depts)))]
            main = new_number(1, dept)
            rows = [main]
            if rng.random() < 0.04:
                rows.append(new_number(1, dept))
            installed = int(rng.integers(ins_lo, ins_hi))
            opt_out = None
            u = rng.random()
            if u < 0.008:
                opt_out = int(rng.integers(*optout_window))
            elif u < 0.012:
                opt_out = int(rng.integers(day(2017, 2, 1), day(year, 12, 1)))
            capi = None
            if group == "gp" and installed < day(2009, 7, 1) and rng.random() < 0.25:
                capi = int(rng.integers(day(2009, 7, 1), day(2011, 12, 31)))
            cnv = 1 if rng.random() < 0.97 else 0
            for j, num in enumerate(rows):
                pfs.append(num)
                exe_spe.append(spe)
                exe_doctor.append(d_idx)
                exe_dept.append(dept)
                da_rows.append({"PFS_PFS_NUM": num, "STA_PFS_NUM": main, "PFS_PRA_SPE": spe, "CNV_TOP": cnv,
                                "INS_DTE": installed, "ROSP_OPT_OUT_DTE": opt_out, "CAPI_SIG_DTE": capi})
                if j == 0:
                    cab_main.append(len(pfs) - 1)
            cab2.append(len(pfs) - 1 if len(rows) > 1 else -1)
            doc_group.append(group)
            doc_spe.append(spe)
            doc_sta.append(main)
            groups.setdefault(group, []).append(d_idx)
    others: dict[str, list[int]] = {}
    for kind, (category, per) in OTHER_PS.items():
        n = max(2, int(round(patients / per)))
        for _ in range(n):
            dept = depts[int(rng.integers(0, len(depts)))]
            pfs.append(new_number(category, dept))
            exe_spe.append(-1)
            exe_doctor.append(-1)
            exe_dept.append(dept)
            others.setdefault(kind, []).append(len(pfs) - 1)
    n_doc = len(doc_spe)
    z = rng.standard_normal(n_doc)
    grp = {g: np.array(v, dtype=np.int64) for g, v in groups.items()}
    rates = calibration.doctor_rates(z, rng, grp)
    weight = rng.gamma(4.0, 1.0, n_doc)
    return Registry(
        pfs=pfs,
        exe_spe=np.array(exe_spe, dtype=np.int16),
        exe_doctor=np.array(exe_doctor, dtype=np.int32),
        exe_dept=exe_dept,
        doc_group=np.array(doc_group, dtype=object),
        doc_spe=np.array(doc_spe, dtype=np.int16),
        doc_sta=doc_sta,
        doc_cab_main=np.array(cab_main, dtype=np.int32),
        doc_cab2=np.array(cab2, dtype=np.int32),
        doc_z=z,
        doc_rates=rates,
        doc_weight=weight,
        da_pra_rows=da_rows,
        groups={k: np.array(v, dtype=np.int64) for k, v in groups.items()},
        others={k: np.array(v, dtype=np.int64) for k, v in others.items()},
        depts=depts,
        patients=patients,
    )


def load_pyramid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(age_min, age_max, probs[band, sex]) from the packaged INSEE-like table."""
    with (DATA_DIR / "pyramid_fr_2018.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    lo = np.array([int(r["age_min"]) for r in rows])
    hi = np.array([int(r["age_max"]) for r in rows])
    w = np.array([[float(r["males_k"]), float(r["females_k"])] for r in rows])
    return lo, hi, w / w.sum()
