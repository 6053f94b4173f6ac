"""Code lists: well-formed, used by the definitions, and every code real."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rosp.indicators import list_codelists, load_codelist, load_programmes
from rosp.indicators.codelists import CODELIST_DIR

# the shared/ folder sits beside the repository (as in CI)
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
REQUIRED = [
    "asthma_controllers", "efr_ccam", "ror_vaccine", "menc_vaccine", "antibiotics_j01", "c3g_c4g",
    "mt_dents_natures", "beta_blockers", "statins", "antiplatelets", "acei_arb", "diuretics",
    "antihypertensives", "creatinine_nabm", "potassium_nabm", "abpm_ccam", "p2y12_inhibitors",
    "ldl_nabm", "mi_icd10", "hf_icd10", "crc_icd10", "crc_surgery_ccam", "imaging_ccam", "ace_nabm",
    "ibd_icd10", "five_asa", "azathioprine", "proteinuria_nabm", "nfs_nabm", "colonoscopy_total_ccam",
    "colonoscopy_any_ccam", "polypectomy_ccam", "hp_eradication_atc", "urea_breath_test",
    "insulins_rapid", "insulins_basal", "insulins_all", "podology_natures", "thyroid_cancer_icd10",
    "thyroidectomy_ccam", "thyroglobulin_nabm", "anti_tg_nabm", "thyroid_cytopunction_ccam",
    "thyroid_nodule_icd10", "consultation_natures",
]


def test_all_lists_load_and_required_present():
    names = list_codelists()
    assert set(REQUIRED) <= set(names)
    for n in names:
        assert load_codelist(n).entries


def test_every_list_is_used_or_documented():
    used = {c for p in load_programmes().values() for i in p.indicators for c in i.codelists()}
    readme = (CODELIST_DIR / "README.md").read_text(encoding="utf-8")
    for n in list_codelists():
        assert f"`{n}`" in readme, f"{n} missing from codelists/README.md"
    assert used <= set(list_codelists())


def _ref(file: str, col: str) -> set[str]:
    with open(SHARED / file, newline="", encoding="utf-8") as fh:
        return {r[col].strip() for r in csv.DictReader(fh)}


@pytest.mark.skipif(not SHARED.exists(), reason="shared/data referentials not available beside the repository")
def test_codes_exist_in_referentials():
    atc = set().union(*(_ref(f"openmedic_ATC{n}.csv", f"ATC{n}") for n in range(1, 6)))
    atc |= _ref("IR_PHA_R_2016_extract.csv", "PHA_ATC_C07")
    ref = {
        "ATC": atc,
        "CIP13": _ref("IR_PHA_R_2016_extract.csv", "PHA_CIP_C13"),
        "NABM": _ref("IR_BIO_R.csv", "BIO_PRS_IDE") | _ref("openbio_ACTE.csv", "ACTE"),
        "CCAM": _ref("IR_CCAM_V63.csv", "CAM_PRS_IDE_COD"),
        "NATURE": _ref("IR_NAT_V.csv", "PRS_NAT"),
        "CIM10": _ref("IR_CIM_V.csv", "CIM_COD"),
    }
    missing = [
        (n, e.system, e.code)
        for n in list_codelists()
        for e in load_codelist(n).entries
        if e.code not in ref[e.system]
    ]
    assert not missing


def test_prefix_matching():
    cl = load_codelist("statins")
    assert cl.matches("ATC", "C10AA05") and cl.matches("ATC", "C10BA02")
    assert not cl.matches("ATC", "C10AX09")  # ezetimibe alone is not a statin (fiche S2)


def test_review_fixes_in_code_lists():
    """L-15, L-16, L-19, L-20, L-23: each fails on the code lists before issue 7."""
    p2y12 = load_codelist("p2y12_inhibitors")
    assert p2y12.matches("CIP13", "3400935902269")  # Duoplavin
    assert not p2y12.matches("ATC", "B01AC30")  # Asasantine (dipyridamole + aspirin) shares the ATC
    assert load_codelist("diuretics").matches("ATC", "C09XA52")  # Rasilez HCT
    thyro = load_codelist("thyroidectomy_ccam")
    assert thyro.matches("CCAM", "KCFA005") and not thyro.matches("CCAM", "KCFA001")  # lobectomy out
    assert not load_codelist("insulins_basal").matches("ATC", "A10AE56")  # Xultophy: insulin + GLP-1
    colo = load_codelist("colonoscopy_any_ccam")
    assert not colo.matches("CCAM", "HJQE001") and colo.matches("CCAM", "HHSE002") and colo.matches("CCAM", "HHQE003")
