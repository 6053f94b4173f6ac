"""Code pools used by the synthetic generator, looked up by name in one place.

Each pool has a name. When the indicator code lists exist
(``rosp/indicators/codelists/<name>.csv``), the pool is read from there so the
generator and the indicator definitions agree; otherwise the built-in fallback
below is used (codes taken from the shared domain notes, indicators.md).

Drug pools are lists of ATC prefixes, resolved to real CIP13 codes through the
packaged IR_PHA_R subset (``data/ir_pha_r_subset.csv``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
CODELIST_DIR = Path(__file__).resolve().parents[1] / "indicators" / "codelists"

#: pools: name -> (kind, shared code-list name or None, narrowing codes).
#: kind is atc | nabm | ccam | icd10. The shared list (rosp/indicators/codelists)
#: decides what is valid; the narrowing codes pick the sub-class the scenario
#: needs (e.g. plain beta-blockers C07A, not the C07B diuretic combinations) and
#: serve as the fallback when the shared list is absent. Codes from indicators.md.
POOLS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    # --- drugs (ATC prefixes)
    "asthma_reliever": ("atc", "asthma_drugs", ("R03AC02", "R03AC03")),
    "asthma_controller": ("atc", "asthma_controllers", ("R03BA", "R03AK", "R03DC")),
    "vaccine_mmr": ("atc", "ror_vaccine", ("J07BD52",)),
    "vaccine_menc": ("atc", "menc_vaccine", ("J07AH07",)),
    "antibiotic_other": ("atc", "antibiotics_j01", ("J01CA04", "J01CR02", "J01FA09", "J01FA10")),
    "antibiotic_c3g_c4g": ("atc", "c3g_c4g", ("J01DD", "J01DE")),
    "diuretics": ("atc", "diuretics", ("C03",)),
    "beta_blockers": ("atc", "beta_blockers", ("C07A",)),
    "calcium_blockers": ("atc", "antihypertensives", ("C08C",)),
    "ace_inhibitors": ("atc", "acei_arb", ("C09AA",)),
    "sartans": ("atc", "acei_arb", ("C09CA",)),
    "statins": ("atc", "statins", ("C10AA",)),
    "aspirin_antiplatelet": ("atc", "antiplatelets", ("B01AC06",)),
    "p2y12": ("atc", "p2y12_inhibitors", ("B01AC04", "B01AC22", "B01AC24", "B01AC30")),
    "five_asa": ("atc", "five_asa", ("A07EC",)),
    "azathioprine": ("atc", "azathioprine", ("L04AX01",)),
    "hp_bismuth_quadritherapy": ("atc", "hp_bismuth_quadritherapy", ("A02BD08",)),
    "ppi": ("atc", "hp_eradication_atc", ("A02BC",)),
    "amoxicillin": ("atc", "hp_eradication_atc", ("J01CA04",)),
    "clarithromycin": ("atc", "hp_eradication_atc", ("J01FA09",)),
    "insulin_rapid": ("atc", "insulins_rapid", ("A10AB",)),
    "insulin_basal": ("atc", "insulins_basal", ("A10AE",)),
    "insulin_premix": ("atc", "insulins_all", ("A10AD",)),
    "metformin": ("atc", "non_insulin_antidiabetics", ("A10BA02",)),
    "levothyroxine": ("atc", None, ("H03AA01",)),
    # --- biology (NABM, integer codes without leading zero)
    "nabm_creatinine": ("nabm", "creatinine_nabm", ("593", "592")),
    "nabm_potassium": ("nabm", "potassium_nabm", ("1610", "1609", "1608")),
    "nabm_ldl": ("nabm", "ldl_nabm", ("996", "2001")),
    "nabm_hba1c": ("nabm", None, ("1577",)),
    "nabm_cea": ("nabm", "ace_nabm", ("7327",)),
    "nabm_proteinuria": ("nabm", "proteinuria_nabm", ("2004", "1133")),
    "nabm_cbc_platelets": ("nabm", "nfs_nabm", ("1104",)),
    "nabm_urea_breath_test": ("nabm", "urea_breath_test", ("5233", "5234")),
    "nabm_thyroglobulin": ("nabm", "thyroglobulin_nabm", ("821",)),
    "nabm_anti_thyroglobulin": ("nabm", "anti_tg_nabm", ("1483", "1484")),
    "nabm_tsh": ("nabm", None, ("1208",)),
    # --- CCAM
    "ccam_lung_function": ("ccam", "efr_ccam", ("GLQP012", "GLQP003", "GLQP002", "GLQP008")),
    "ccam_abpm": ("ccam", "abpm_ccam", ("EQQP008",)),
    "ccam_ecg": ("ccam", None, ("DEQP003",)),
    "ccam_colectomy": ("ccam", "crc_surgery_ccam", ("HHFA026", "HHFA006", "HHFA028", "HJFA007", "HHFA009",
                                                    "HHFA002", "HJFC031", "HJFA019", "HHFA008", "HHFA021")),
    "ccam_ccr_imaging": ("ccam", "imaging_ccam", ("ZCQK004", "ZCQH001", "ZBQK001", "ZZQK024", "ZCQM006",
                                                  "ZCQM008")),
    "ccam_colonoscopy_total": ("ccam", "colonoscopy_total_ccam", ("HHQE002", "HHQE005")),
    "ccam_colonoscopy_partial": ("ccam", "colonoscopy_any_ccam", ("HHQE004", "HJQE001")),
    "ccam_polypectomy_total": ("ccam", "polypectomy_ccam", ("HHFE002", "HHFE004", "HHFE006")),
    "ccam_thyroidectomy_total": ("ccam", "thyroidectomy_ccam", ("KCFA005", "KCFA007", "KCFA002", "KCFA003",
                                                                "KCFA006")),
    "ccam_thyroid_lobectomy": ("ccam", "thyroid_nodule_surgery_ccam", ("KCFA001", "KCFA008", "KCFA004")),
    "ccam_thyroid_cytopunction": ("ccam", "thyroid_cytopunction_ccam", ("KCHJ001", "KCHJ004")),
    # --- ICD-10 (without dot); the shared lists hold prefixes
    "icd_mi": ("icd10", "mi_icd10", ("I210", "I211", "I212", "I213", "I214", "I219")),
    "icd_heart_failure": ("icd10", "hf_icd10", ("I500", "I501", "I509")),
    "icd_colorectal_cancer": ("icd10", "crc_icd10", ("C180", "C182", "C184", "C186", "C187", "C19", "C20")),
    "icd_ibd": ("icd10", "ibd_icd10", ("K500", "K501", "K508", "K510", "K512", "K513", "K518")),
    "icd_thyroid_cancer": ("icd10", "thyroid_cancer_icd10", ("C73",)),
    "icd_thyroid_nodule": ("icd10", "thyroid_nodule_icd10", ("D34", "E041", "E042")),
    "icd_diabetes_t1": ("icd10", None, ("E109",)),
    "icd_diabetes_t2": ("icd10", None, ("E119",)),
    "icd_coronary": ("icd10", None, ("I251",)),
    "icd_das_cardio": ("icd10", None, ("I10", "E785", "I480", "E119", "N183")),
    "icd_das_metabolic": ("icd10", None, ("I10", "E660", "E785")),
}
_SYSTEM = {"atc": "ATC", "nabm": "NABM", "ccam": "CCAM", "icd10": "CIM10"}


@cache
def _read_codelist(name: str, system: str) -> tuple[tuple[str, str], ...] | None:
    """(code, match) rows of a shared code list for one coding system, or None."""
    path = CODELIST_DIR / f"{name}.csv"
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = tuple(
        (r["code"].strip().upper().replace(".", ""), (r.get("match") or "prefix").strip())
        for r in rows
        if r.get("code") and (r.get("system") or system).strip().upper() == system
    )
    return out or None


def _matches(code: str, shared: tuple[tuple[str, str], ...]) -> bool:
    return any(code == c if m == "exact" else code.startswith(c) for c, m in shared)


def shared_list(name: str) -> str | None:
    """Name of the shared code list a pool was checked against, if it is present."""
    kind, listname, _ = POOLS[name]
    if listname and _read_codelist(listname, _SYSTEM[kind]) is not None:
        return listname
    return None


@cache
def codes(name: str) -> tuple[str, ...]:
    """Codes of a non-drug pool: narrowing codes accepted by the shared list.

    For drugs, the ATC prefixes (see `drug_pool`).
    """
    kind, listname, narrow = POOLS[name]
    shared = _read_codelist(listname, _SYSTEM[kind]) if listname else None
    if shared is None or kind == "atc":
        return narrow
    kept = tuple(c for c in narrow if _matches(c, shared))
    return kept or tuple(c for c, _ in shared)


@dataclass(frozen=True)
class DrugPool:
    """CIP13 codes of one pool with their pack type and répertoire membership."""

    name: str
    cip: np.ndarray  # int64
    large_pack: np.ndarray  # bool
    in_repertoire: np.ndarray  # bool

    def pick(self, rng: np.random.Generator, n: int, in_rep: np.ndarray | None = None) -> np.ndarray:
        """Indices into the pool; if `in_rep` is given, honour it where possible."""
        if in_rep is None:
            return rng.integers(0, len(self.cip), n)
        idx_in = np.flatnonzero(self.in_repertoire)
        idx_out = np.flatnonzero(~self.in_repertoire)
        if len(idx_in) == 0:
            idx_in = np.arange(len(self.cip))
        if len(idx_out) == 0:
            idx_out = idx_in
        a = idx_in[rng.integers(0, len(idx_in), n)]
        b = idx_out[rng.integers(0, len(idx_out), n)]
        return np.where(in_rep, a, b)


@lru_cache(maxsize=1)
def pha_referential() -> dict[str, np.ndarray]:
    """The packaged IR_PHA_R subset as columns of numpy arrays (sorted by CIP13)."""
    with (DATA_DIR / "ir_pha_r_subset.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {
        "PHA_CIP_C13": np.array([int(r["PHA_CIP_C13"]) for r in rows], dtype=np.int64),
        "PHA_ATC_C07": np.array([r["PHA_ATC_C07"] for r in rows], dtype=object),
        "PHA_GRS_NUM": np.array([int(r["PHA_GRS_NUM"]) if r["PHA_GRS_NUM"] else -1 for r in rows],
                                dtype=np.int64),
        "PHA_CND_TOP": np.array([r["PHA_CND_TOP"] or None for r in rows], dtype=object),
        "PHA_MED_NOM": np.array([r["PHA_MED_NOM"] or None for r in rows], dtype=object),
    }


@cache
def drug_pool(name: str) -> DrugPool:
    """CIP13 codes whose ATC starts with one of the pool's ATC codes."""
    kind, listname, narrow = POOLS[name]
    assert kind == "atc", name
    prefixes = tuple(c.upper() for c in narrow)
    shared = _read_codelist(listname, "ATC") if listname else None
    ref = pha_referential()
    atc = ref["PHA_ATC_C07"]
    mask = np.array(
        [a.startswith(prefixes) and (shared is None or _matches(a, shared)) for a in atc], dtype=bool
    )
    if not mask.any():
        raise ValueError(f"drug pool {name!r}: no CIP13 for ATC {prefixes}")
    return DrugPool(
        name=name,
        cip=ref["PHA_CIP_C13"][mask],
        large_pack=np.array([t == "GC" for t in ref["PHA_CND_TOP"][mask]], dtype=bool),
        in_repertoire=ref["PHA_GRS_NUM"][mask] >= 0,
    )


def int_codes(name: str) -> np.ndarray:
    """NABM pool as int32 array."""
    return np.array([int(c) for c in codes(name)], dtype=np.int32)


def str_codes(name: str) -> np.ndarray:
    """CCAM / ICD-10 pool as an object array of strings."""
    return np.array([c.replace(".", "").upper() for c in codes(name)], dtype=object)
