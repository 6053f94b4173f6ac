"""Starting rates (taux de départ, D): the store and how a run uses it. Pure (no I/O).

Avenant 6 reset the starting levels for 2018 (`start_rates.reset_year`); they are
then fixed for the convention period, not rolled every year (method.md §1.2).
A run of the reset year measures them on the year before (`start_rates.rule`);
later runs reuse the stored file (`rosp run --start-rates FILE`).

The store has one row per doctor × indicator (`START_RATE_COLUMNS`):
- `rate`: the measured rate (6 decimals, as printed in `indicators.csv`), empty if
  not measured;
- `numerator`, `denominator`: the counts it was measured on;
- `reference_period`: the year measured ("2017"), or the year of first measurement;
- `flag` (`FLAGS`): "" (measured), "below_threshold", "not_measured",
  "first_measured_level".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START_RATE_COLUMNS = ["doctor_id", "indicator_id", "rate", "numerator", "denominator", "reference_period", "flag"]

#: flag -> meaning (French, for the statement and the docs)
FLAGS: dict[str, str] = {
    "": "mesuré sur la période de référence",
    "below_threshold": "mesuré sur un dénominateur sous le seuil minimal",
    "not_measured": "non mesuré (aucun patient, ou indicateur déclaratif sans historique)",
    "first_measured_level": "premier niveau mesuré (règle scoring.missing_start_rate)",
}
BELOW_THRESHOLD_RULES = ("missing", "keep")


def fmt_rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """n ÷ d as 6-decimal text ('' where d = 0), rounded half-up exactly on integers."""
    n = np.asarray(numerator, dtype=np.int64)
    d = np.asarray(denominator, dtype=np.int64)
    safe = np.where(d > 0, d, 1)
    micro = (n * 2_000_000 + safe) // (2 * safe)  # round half-up of n/d × 10^6
    text = np.char.add(np.char.add((micro // 1_000_000).astype(str), "."),
                       np.char.zfill((micro % 1_000_000).astype(str), 6))
    return np.where(d > 0, text, "").astype(object)


def measure(
    counts: pd.DataFrame, thresholds: dict[str, int], reference_period: str
) -> pd.DataFrame:
    """The store from the counts of the reference period (doctor_id, indicator_id, numerator, denominator).

    `thresholds` maps each indicator to its seuil minimal in the year being scored.
    """
    c = counts[["doctor_id", "indicator_id", "numerator", "denominator"]].copy()
    c["doctor_id"] = c["doctor_id"].astype(str)
    c["numerator"] = c["numerator"].astype("int64")
    c["denominator"] = c["denominator"].astype("int64")
    c["rate"] = fmt_rate(c["numerator"].to_numpy(), c["denominator"].to_numpy())
    seuil = c["indicator_id"].map(thresholds).fillna(0).astype("int64")
    c["flag"] = np.where(c["denominator"] == 0, "not_measured",
                         np.where(c["denominator"] < seuil, "below_threshold", ""))
    c["reference_period"] = reference_period
    return _sorted(c)


def reflag(store: pd.DataFrame, thresholds: dict[str, int]) -> pd.DataFrame:
    """A stored file read by a later run: rates measured on a denominator below the
    seuil in force are flagged "below_threshold" (a counts-only run knows no seuil)."""
    s = store.copy()
    seuil = s["indicator_id"].map(thresholds).fillna(0).astype("int64")
    den = s["denominator"].astype("int64")
    s.loc[(s["flag"] == "") & (den < seuil), "flag"] = "below_threshold"
    return s


def usable(store: pd.DataFrame, below_threshold: str) -> pd.DataFrame:
    """doctor_id, indicator_id, start_rate: the starting rates the scorer uses.

    A rate flagged below the seuil is kept or treated as missing according to
    `start_rates.below_threshold`; a row without a rate is missing.
    """
    if below_threshold not in BELOW_THRESHOLD_RULES:
        raise ValueError(f"start_rates.below_threshold: unknown value {below_threshold!r}")
    s = store.copy()
    ok = (s["rate"].astype(str) != "") & (s["flag"] != "not_measured")
    if below_threshold == "missing":
        ok &= s["flag"] != "below_threshold"
    out = s.loc[ok, ["doctor_id", "indicator_id", "rate"]].rename(columns={"rate": "start_rate"})
    out["doctor_id"] = out["doctor_id"].astype(str)
    return out.drop_duplicates(["doctor_id", "indicator_id"], keep="first").reset_index(drop=True)


def attach(counts: pd.DataFrame, store: pd.DataFrame | None, below_threshold: str) -> pd.DataFrame:
    """Counts with their `start_rate` column filled from the store ('' where missing)."""
    out = counts.drop(columns=["start_rate"], errors="ignore")
    if store is None or store.empty:
        return out.assign(start_rate="")
    d = usable(store, below_threshold)
    out = out.merge(d, on=["doctor_id", "indicator_id"], how="left")
    out["start_rate"] = out["start_rate"].fillna("").astype(object)
    return out


def carry_forward(
    store: pd.DataFrame | None,
    indicators: pd.DataFrame,
    year: int,
    missing_rule: str,
    below_threshold: str,
) -> pd.DataFrame:
    """The store a run writes: the one it used, completed under "first_measured_level"
    by this year's observed rate where no usable starting rate existed (and the
    indicator was not neutralised)."""
    base = store.copy() if store is not None else pd.DataFrame(columns=START_RATE_COLUMNS)
    if missing_rule != "first_measured_level" or indicators is None or indicators.empty:
        return _sorted(base)
    have = usable(base, below_threshold)[["doctor_id", "indicator_id"]] if not base.empty else base[["doctor_id", "indicator_id"]]
    obs = indicators.loc[~indicators["neutralised"].astype(bool),
                         ["doctor_id", "indicator_id", "numerator", "denominator", "rate"]].copy()
    obs["doctor_id"] = obs["doctor_id"].astype(str)
    obs = obs.merge(have.assign(_have=True), on=["doctor_id", "indicator_id"], how="left")
    obs = obs[obs["_have"].isna()].drop(columns="_have")
    obs["rate"] = obs["rate"].map(lambda x: "" if pd.isna(x) else f"{float(x):.6f}")
    obs["reference_period"] = str(year)
    obs["flag"] = "first_measured_level"
    keys = set(zip(obs["doctor_id"], obs["indicator_id"], strict=True))
    if not base.empty:
        base = base[[(d, i) not in keys for d, i in zip(base["doctor_id"].astype(str), base["indicator_id"], strict=True)]]
    return _sorted(pd.concat([base, obs], ignore_index=True))


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reindex(columns=START_RATE_COLUMNS)
    out["doctor_id"] = out["doctor_id"].astype(str)
    out["flag"] = out["flag"].fillna("").astype(str)
    return out.sort_values(["doctor_id", "indicator_id"], kind="mergesort").reset_index(drop=True)
