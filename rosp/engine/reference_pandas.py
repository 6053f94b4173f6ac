"""An independent, straightforward pandas implementation of three indicators.

This is what an analyst would otherwise write by hand: read the raw SNDS Parquet
files, apply the data rules (information lines out, regularisations netted), map
patients and doctors, and count per doctor. It shares no code with the Ibis
compiler on purpose. It serves twice:

- as the **baseline** of `benchmarks/bench_pipeline.py`;
- as a **second engine** in `tests/engine/test_reference_pandas.py`, which checks
  that it finds the same numerators and denominators as `rosp run`.

Indicators: ENF-04 (two ROR doses, MT patientèle), ENF-06 (C3G/C4G among
children treated by antibiotics before their 4th birthday, age at the dispensing, lower is better) and CAR-09 (statin boxes in
the generic répertoire, the cardiologist's own prescriptions). The parameter values
mirror `rosp/indicators/definitions/*.toml` (read from there, not re-typed).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from rosp.claims.schema import DCIR_JOIN_KEY
from rosp.indicators.codelists import load_codelist
from rosp.indicators.definitions import load_programme


def _read(data: Path, table: str, columns: list[str]) -> pd.DataFrame:
    frames = [pd.read_parquet(data / f"{table}.parquet", columns=columns)]
    archive = data / f"{table}_ARC.parquet"  # IR_BEN_R_ARC: archived beneficiaries
    if archive.is_file():
        frames.append(pd.read_parquet(archive, columns=columns))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _date(values: pd.Series) -> pd.Series:
    """Dates, with the SNDS placeholder 01/01/1600 (alive, open-ended) read as missing."""
    d = pd.to_datetime(values, errors="coerce").dt.date
    return d.where(d != dt.date(1600, 1, 1), None)


def _codes(name: str, system: str) -> tuple[set[str], tuple[str, ...]]:
    exact, prefix = load_codelist(name).for_system(system)
    return set(exact), tuple(prefix)


def _match(values: pd.Series, exact: set[str], prefix: tuple[str, ...]) -> pd.Series:
    v = values.astype(str)
    hit = v.isin(exact)
    if prefix:
        hit |= v.str.startswith(prefix)
    return hit


def compute(data: Path, year: int) -> pd.DataFrame:
    """Counts per doctor for ENF-04, ENF-06 and CAR-09: doctor_id, indicator_id, numerator, denominator."""
    ref_end = dt.date(year, 12, 31)
    ben = _read(data, "IR_BEN_R", ["BEN_NIR_PSA", "BEN_RNG_GEM", "BEN_IDT_ANO", "BEN_NAI_ANN", "BEN_NAI_MOI", "BEN_DCD_DTE"])
    pra = _read(data, "DA_PRA_R", ["PFS_PFS_NUM", "STA_PFS_NUM", "PFS_PRA_SPE"])
    to_doctor = dict(zip(pra["PFS_PFS_NUM"], pra["STA_PFS_NUM"], strict=True))
    to_doctor.update({s: s for s in pra["STA_PFS_NUM"]})

    # DCIR lines: information lines out (DPN_QLF = 71), patient mapped to BEN_IDT_ANO.
    prs = _read(data, "ER_PRS_F", [*DCIR_JOIN_KEY, "BEN_NIR_PSA", "BEN_RNG_GEM", "EXE_SOI_DTD", "PRS_NAT_REF",
                                    "PRS_ACT_QTE", "PFS_PRE_NUM", "PFS_EXE_NUM", "DPN_QLF"])
    prs = prs[prs["DPN_QLF"].fillna(0) != 71]
    ete = data / "ER_ETE_F.parquet"  # hospital activity billed in DCIR is not city care
    if ete.is_file():
        taa = pd.read_parquet(ete, columns=[*DCIR_JOIN_KEY, "ETE_IND_TAA"])
        taa = taa[taa["ETE_IND_TAA"] == 1].drop(columns="ETE_IND_TAA").drop_duplicates()
        prs = prs.merge(taa, on=list(DCIR_JOIN_KEY), how="left", indicator=True)
        prs = prs[prs.pop("_merge") == "left_only"]
    prs = prs.merge(ben[["BEN_NIR_PSA", "BEN_RNG_GEM", "BEN_IDT_ANO"]], on=["BEN_NIR_PSA", "BEN_RNG_GEM"])
    prs["date"] = pd.to_datetime(prs["EXE_SOI_DTD"]).dt.date

    # Services netted over identical lines.
    svc = (
        prs.groupby(["BEN_IDT_ANO", "date", "PRS_NAT_REF", "PFS_EXE_NUM", "PFS_PRE_NUM"], dropna=False)["PRS_ACT_QTE"]
        .sum()
        .reset_index()
    )
    svc = svc[svc["PRS_ACT_QTE"] > 0]

    # Pharmacy deliveries netted over identical lines, with ATC and generic group.
    pha = _read(data, "ER_PHA_F", [*DCIR_JOIN_KEY, "PHA_PRS_C13", "PHA_ACT_QSN"])
    pha = pha.merge(prs[[*DCIR_JOIN_KEY, "BEN_IDT_ANO", "date", "PFS_PRE_NUM"]], on=list(DCIR_JOIN_KEY))
    ref = _read(data, "IR_PHA_R", ["PHA_CIP_C13", "PHA_ATC_C07", "PHA_GRS_NUM"])
    pha = pha.merge(ref, left_on="PHA_PRS_C13", right_on="PHA_CIP_C13")
    drugs = (
        pha.groupby(["BEN_IDT_ANO", "date", "PHA_PRS_C13", "PFS_PRE_NUM", "PHA_ATC_C07", "PHA_GRS_NUM"], dropna=False)[
            "PHA_ACT_QSN"
        ]
        .sum()
        .reset_index()
    )
    drugs = drugs[drugs["PHA_ACT_QSN"] > 0]

    # Patients: age in months at the reference date (birth on the 15th), death.
    people = ben.drop_duplicates("BEN_IDT_ANO").set_index("BEN_IDT_ANO")
    months = (ref_end.year - people["BEN_NAI_ANN"].astype(int)) * 12 + (ref_end.month - people["BEN_NAI_MOI"].astype(int))
    if ref_end.day < 15:
        months -= 1
    death = _date(people["BEN_DCD_DTE"])
    alive = death.isna() | (death > ref_end)

    # MT patientèle « consommante et fidèle »: declaration active on 31/12/N and a care in N.
    enfant = load_programme("mt-enfant")
    mtt = _read(data, "IR_MTT_R", ["BEN_NIR_PSA", "BEN_RNG_GEM", "MTT_PFS_NUM", "MTT_DEP_DTE", "MTT_FIN_DTE"])
    mtt = mtt.merge(ben[["BEN_NIR_PSA", "BEN_RNG_GEM", "BEN_IDT_ANO"]], on=["BEN_NIR_PSA", "BEN_RNG_GEM"])
    start = pd.to_datetime(mtt["MTT_DEP_DTE"]).dt.date
    end = _date(mtt["MTT_FIN_DTE"])
    mtt = mtt[(start <= ref_end) & (end.isna() | (end >= ref_end))]
    in_n = svc[(svc["date"] >= dt.date(year, 1, 1)) & (svc["date"] <= ref_end)]
    mt = mtt[mtt["BEN_IDT_ANO"].isin(set(in_n["BEN_IDT_ANO"]))].copy()
    mt["doctor_id"] = mt["MTT_PFS_NUM"].map(to_doctor)
    max_months = int(enfant.param("max_age_months"))
    mt = mt[mt["BEN_IDT_ANO"].map(months) < max_months][["doctor_id", "BEN_IDT_ANO"]].drop_duplicates()

    def patients_with(events: pd.DataFrame, lo: dt.date, hi: dt.date, min_dates: int) -> set[str]:
        e = events[(events["date"] >= lo) & (events["date"] <= hi)]
        n = e.groupby("BEN_IDT_ANO")["date"].nunique()
        return set(n[n >= min_dates].index)

    out = []

    def per_doctor(iid: str, den: pd.Series, num: pd.Series) -> None:
        frame = mt.assign(den=mt["BEN_IDT_ANO"].map(den).fillna(False), num=mt["BEN_IDT_ANO"].map(num).fillna(False))
        frame = frame[frame["den"]]
        g = frame.groupby("doctor_id").agg(denominator=("den", "sum"), numerator=("num", "sum")).reset_index()
        out.append(g.assign(indicator_id=iid))

    ind04 = enfant.indicator("ENF-04")
    lo_m = int(ind04.denominator[0].args["min_months"])
    hi_m = int(ind04.denominator[0].args["max_months"])
    ror_atc = _codes("ror_vaccine", "ATC")
    ror_nat = _codes("ror_vaccine", "NATURE")
    ror = pd.concat(
        [
            drugs.loc[_match(drugs["PHA_ATC_C07"], *ror_atc), ["BEN_IDT_ANO", "date"]],
            svc.loc[_match(svc["PRS_NAT_REF"], *ror_nat), ["BEN_IDT_ANO", "date"]],
        ]
    )
    two_doses = patients_with(ror, dt.date(year - 2, 1, 1), ref_end, 2)
    den04 = (months >= lo_m) & (months < hi_m) & alive
    per_doctor("ENF-04", den04, den04 & pd.Series(people.index.isin(two_doses), index=people.index))

    # ENF-06: age at each dispensing (months, birth on the 15th), under 48 months
    by = people["BEN_NAI_ANN"].astype(int)
    bmo = people["BEN_NAI_MOI"].astype(int)
    dated = drugs.assign(_d=pd.to_datetime(drugs["date"]))
    age_at = ((dated["_d"].dt.year - dated["BEN_IDT_ANO"].map(by)) * 12
              + (dated["_d"].dt.month - dated["BEN_IDT_ANO"].map(bmo)) - (dated["_d"].dt.day < 15).astype(int))
    under4 = dated[(age_at >= 0) & (age_at < 48)]
    abx = patients_with(under4[_match(under4["PHA_ATC_C07"], *_codes("antibiotics_j01", "ATC"))],
                        dt.date(year, 1, 1), ref_end, 1)
    c3g = patients_with(under4[_match(under4["PHA_ATC_C07"], *_codes("c3g_c4g", "ATC"))], dt.date(year, 1, 1), ref_end, 1)
    den06 = pd.Series(people.index.isin(abx), index=people.index) & alive
    per_doctor("ENF-06", den06, den06 & pd.Series(people.index.isin(c3g), index=people.index))

    # CAR-09: boxes of statins prescribed by a cardiologist and delivered in N.
    cardio = load_programme("cardiologie")
    cardiologists = set(pra.loc[pra["PFS_PRA_SPE"].isin([int(s) for s in cardio.specialties]), "STA_PFS_NUM"])
    st = drugs[_match(drugs["PHA_ATC_C07"], *_codes("statins", "ATC"))]
    st = st[(st["date"] >= dt.date(year, 1, 1)) & (st["date"] <= ref_end) & st["PFS_PRE_NUM"].notna()]
    st = st.assign(doctor_id=st["PFS_PRE_NUM"].map(to_doctor))
    st = st[st["doctor_id"].isin(cardiologists)]
    st = st.assign(generic=st["PHA_ACT_QSN"].where(st["PHA_GRS_NUM"].notna(), 0))
    g = st.groupby("doctor_id").agg(denominator=("PHA_ACT_QSN", "sum"), numerator=("generic", "sum")).reset_index()
    out.append(g.assign(indicator_id="CAR-09"))

    res = pd.concat(out, ignore_index=True)
    res["numerator"] = res["numerator"].astype("int64")
    res["denominator"] = res["denominator"].astype("int64")
    res["doctor_id"] = res["doctor_id"].astype(str)
    res = res[res["denominator"] > 0]
    return res[["doctor_id", "indicator_id", "numerator", "denominator"]].sort_values(
        ["indicator_id", "doctor_id"]
    ).reset_index(drop=True)
