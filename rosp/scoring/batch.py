"""Scoring a whole population: counts + patientèles -> indicator scores and payments.

Two paths compute the same thing:
- `score_batch` (vectorised, numpy) for national runs;
- `score_batch_reference` (scalar, exact fractions) as the reference.
Property-based tests prove they agree to the cent.

Every doctor × programme in the patientèle input is scored on every indicator of
the programme; an indicator with no counts row has denominator 0 and is
therefore neutralised (reported, not hidden).

Rounding (parameter `rounding.euros`): indicator points and euros keep full
precision; the payable amount is each doctor's programme total in euros,
rounded half-up to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from rosp.catalogue import Catalogue, load_catalogue
from rosp.scoring.rules import RuleParams, round_euros, score_indicator, to_fraction
from rosp.scoring.vector import branch_vec, cents_and_risky, realisation_vec

INDICATOR_COLUMNS = [
    "doctor_id",
    "programme",
    "indicator_id",
    "numerator",
    "denominator",
    "rate",
    "start_rate",
    "neutralised",
    "realisation",
    "branch",
    "points_max",
    "points",
    "euros",
    "rate_source",
]
PAYMENT_COLUMNS = ["doctor_id", "programme", "patientele", "points", "euros"]


@dataclass
class ScoreResult:
    """Scored indicators (numeric columns) and payments (euros as exact strings)."""

    indicators: pd.DataFrame
    payments: pd.DataFrame
    rules: RuleParams
    exact_recomputed_groups: int = 0
    unmatched_counts: pd.DataFrame = field(default_factory=pd.DataFrame)


def catalogue_frame(catalogue: Catalogue) -> pd.DataFrame:
    """One row per indicator with the numbers the rule needs (floats + exact text)."""
    rows = []
    for p in catalogue.programmes:
        for ind in p.indicators:
            rows.append(
                {
                    "programme": p.slug,
                    "indicator_id": ind.id,
                    "intermediate": str(ind.intermediate),
                    "target": str(ind.target),
                    "intermediate_f": float(ind.intermediate),
                    "target_f": float(ind.target),
                    "lower": ind.direction == "lower",
                    "threshold": ind.threshold,
                    "points_max": ind.points,
                    "reference_patientele": p.reference_patientele,
                    "measurement": ind.measurement,
                }
            )
    return pd.DataFrame(rows)


def _rate_column(col: pd.Series | None, n: int) -> pd.Series:
    """Rates as given (decimal text or float; '' or NaN when absent), unconverted:
    the float path parses them vectorised, the exact path reads each one exactly."""
    if col is None:
        return pd.Series([""] * n, dtype=object)
    return col.astype(object).where(col.notna(), "")


def _codes(*columns: pd.Series) -> list[np.ndarray]:
    """Integer codes of text columns over one shared, sorted vocabulary (a code's order is
    its text's order). Merging, sorting and grouping on them spares pandas 3 factorizing
    the Arrow-backed strings again in every merge (benchmarks/RESULTS.md, Scoring)."""
    codes, _ = pd.factorize(pd.concat([c.astype(str) for c in columns], ignore_index=True), sort=True)
    out, start = [], 0
    for col in columns:
        out.append(codes[start:start + len(col)].astype("int64"))
        start += len(col)
    return out


def prepare(
    counts: pd.DataFrame, patientele: pd.DataFrame, catalogue: Catalogue
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The full doctor × indicator grid with counts attached, sorted by doctor, programme,
    indicator (``_group`` identifies its doctor × programme), and unmatched count rows."""
    cat = catalogue_frame(catalogue)
    pat = patientele[["doctor_id", "programme", "patientele"]].copy()
    pat["doctor_id"] = pat["doctor_id"].astype(str)
    pat["patientele"] = pat["patientele"].astype("int64")
    c = counts.copy()
    c["doctor_id"] = c["doctor_id"].astype(str)
    c["start_rate"] = _rate_column(c.get("start_rate"), len(c))
    c["declared_rate"] = _rate_column(c.get("declared_rate"), len(c))
    c = c[["doctor_id", "indicator_id", "numerator", "denominator", "start_rate", "declared_rate"]]
    pat["_d"], c_d = _codes(pat["doctor_id"], c["doctor_id"])
    cat["_i"], c_i = _codes(cat["indicator_id"], c["indicator_id"])
    pat["_p"], cat["_p"] = _codes(pat["programme"], cat["programme"])
    width = int(np.concatenate([cat["_i"].to_numpy(), c_i]).max(initial=0)) + 1  # above every indicator code
    grid = pat.merge(cat.drop(columns="programme"), on="_p", how="inner")
    grid["_k"] = grid["_d"] * width + grid["_i"]
    counted = c.drop(columns=["doctor_id", "indicator_id"]).assign(_k=c_d * width + c_i)
    merged = grid.merge(counted, on="_k", how="left", indicator="_m")
    merged["numerator"] = merged["numerator"].fillna(0).astype("int64")
    merged["denominator"] = merged["denominator"].fillna(0).astype("int64")
    merged["start_rate"] = merged["start_rate"].fillna("").astype(object)
    merged["declared_rate"] = merged["declared_rate"].fillna("").astype(object)
    # A declaration-measured indicator with no counts row was not declared.
    merged["undeclared"] = (merged["measurement"] == "declaration") & (merged["_m"] == "left_only")
    unmatched = c[~np.isin(counted["_k"].to_numpy(), grid["_k"].to_numpy())]
    merged = merged.sort_values(["_d", "_p", "_i"], kind="mergesort").reset_index(drop=True)
    # one integer per doctor × programme: the grid's programme codes are the catalogue's
    merged["_group"] = merged["_d"] * (int(cat["_p"].to_numpy().max(initial=0)) + 1) + merged["_p"]
    merged = merged.drop(columns=["_m", "_k", "_d", "_p", "_i"])
    return merged, unmatched.reset_index(drop=True)


def _to_float(values: pd.Series) -> np.ndarray:
    if values.dtype.kind == "f":
        return values.to_numpy(dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _cents_text(cents: np.ndarray) -> pd.Series:
    cents = cents.astype("int64")
    whole = (cents // 100).astype(str)
    frac = pd.Series(cents % 100).astype(str).str.zfill(2)
    return pd.Series(whole).str.cat(frac, sep=".")


_EXACT_FIELDS = (
    "indicator_id", "numerator", "denominator", "start_rate", "declared_rate", "intermediate", "target",
    "lower", "threshold", "points_max", "patientele", "reference_patientele",
)


def _exact_rows(cols: dict[str, np.ndarray], lo: int, hi: int, rules: RuleParams) -> tuple[list, Fraction]:
    """Score rows lo..hi (one doctor × programme) exactly; per-row scores and the euro total."""
    scores = []
    total = Fraction(0)
    for k in range(lo, hi):
        sc = score_indicator(
            numerator=int(cols["numerator"][k]),
            denominator=int(cols["denominator"][k]),
            start_rate=to_fraction(cols["start_rate"][k]),
            declared_rate=to_fraction(cols["declared_rate"][k]),
            intermediate=Fraction(cols["intermediate"][k]),
            target=Fraction(cols["target"][k]),
            direction="lower" if cols["lower"][k] else "higher",
            threshold=int(cols["threshold"][k]),
            points_max=int(cols["points_max"][k]),
            patientele=int(cols["patientele"][k]),
            reference_patientele=int(cols["reference_patientele"][k]),
            rules=rules,
            payable=rules.payable(str(cols["indicator_id"][k])),
        )
        scores.append(sc)
        total += sc.euros
    return scores, total


def _final_branch(branch: str, undeclared: bool) -> str:
    """A declaration-measured indicator with no row is "not_declared", unless it is not payable."""
    return "not_declared" if undeclared and branch != "not_payable" else branch


def _exact_group(rows: pd.DataFrame, rules: RuleParams) -> tuple[list, Fraction]:
    cols = {f: rows[f].to_numpy() for f in _EXACT_FIELDS}
    return _exact_rows(cols, 0, len(rows), rules)


def _setup(
    counts: pd.DataFrame, patientele: pd.DataFrame, year: int, catalogue: Catalogue | None
) -> tuple[RuleParams, pd.DataFrame, pd.DataFrame]:
    """Rules in force for `year` and the prepared doctor × indicator grid."""
    catalogue = catalogue or load_catalogue(year)
    g, unmatched = prepare(counts, patientele, catalogue)
    return RuleParams.from_parameters(catalogue.params, year), g, unmatched


def score_batch(
    counts: pd.DataFrame,
    patientele: pd.DataFrame,
    year: int,
    catalogue: Catalogue | None = None,
) -> ScoreResult:
    """Vectorised scoring of every doctor × programme (exact to the cent)."""
    rules, g, unmatched = _setup(counts, patientele, year, catalogue)
    n = g["numerator"].to_numpy(dtype=float)
    d = g["denominator"].to_numpy(dtype=float)
    declared = _to_float(g["declared_rate"])
    start = _to_float(g["start_rate"])
    i = g["intermediate_f"].to_numpy(dtype=float)
    t = g["target_f"].to_numpy(dtype=float)
    lower = g["lower"].to_numpy(dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(~np.isnan(declared), declared, np.where(d > 0, n / d, np.nan))
    neutralised = (d < g["threshold"].to_numpy()) | np.isnan(rate)
    s = float(rules.intermediate_share)
    real = realisation_vec(
        np.nan_to_num(rate), start, i, t, s, lower, rules.normalisation, rules.missing_start, rules.lower_rule
    )
    real = np.where(neutralised, 0.0, real)
    branch = branch_vec(np.nan_to_num(rate), start, i, t, lower, neutralised, rules.missing_start, rules.lower_rule)
    branch = np.where(g["undeclared"].to_numpy(dtype=bool), "not_declared", branch)
    # A provisional definition earns nothing (`scoring.provisional_definitions`).
    unpaid = g["indicator_id"].isin(rules.non_payable).to_numpy(dtype=bool)
    real = np.where(unpaid, 0.0, real)
    branch = np.where(unpaid, "not_payable", branch)
    w = g["patientele"].to_numpy(dtype=float) / g["reference_patientele"].to_numpy(dtype=float)
    if rules.patientele_cap is not None:
        w = np.minimum(w, float(rules.patientele_cap))
    points = real * g["points_max"].to_numpy(dtype=float) * w
    euros = points * float(rules.point_value)

    group = g["_group"].to_numpy()
    # groups are contiguous because g is sorted by doctor, programme
    boundaries = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    tot_points = np.add.reduceat(points, boundaries) if len(g) else np.array([])
    tot_euros = np.add.reduceat(euros, boundaries) if len(g) else np.array([])

    # Where float noise could change a cent or a branch, recompute exactly.
    cents, risky = cents_and_risky(tot_euros, rate, i, neutralised, boundaries, rules.normalisation)
    ends = np.r_[boundaries[1:], len(g)]
    # only the risky groups' rows are converted to Python values (a few hundred groups)
    rows = np.concatenate([np.arange(boundaries[k], ends[k]) for k in risky]) if len(risky) else np.array([], int)
    sub = g.iloc[rows]
    cols = {f: sub[f].to_numpy() for f in (*_EXACT_FIELDS, "undeclared")}
    offset = 0
    for k in risky:
        lo, hi = boundaries[k], ends[k]
        scores, total = _exact_rows(cols, offset, offset + hi - lo, rules)
        for j, sc in enumerate(scores):
            real[lo + j] = float(sc.realisation)
            branch[lo + j] = _final_branch(sc.branch, bool(cols["undeclared"][offset + j]))
            points[lo + j] = float(sc.points)
            euros[lo + j] = float(sc.euros)
        tot_points[k] = float(sum((sc.points for sc in scores), Fraction(0)))
        cents[k] = int(round_euros(total) * 100)
        offset += hi - lo

    indicators = pd.DataFrame(
        {
            "doctor_id": g["doctor_id"],
            "programme": g["programme"],
            "indicator_id": g["indicator_id"],
            "numerator": g["numerator"],
            "denominator": g["denominator"],
            "rate": rate,
            "start_rate": start,
            "neutralised": neutralised,
            "realisation": real,
            "branch": branch,
            "points_max": g["points_max"],
            "points": points,
            "euros": euros,
            "rate_source": g["measurement"].to_numpy(),
        }
    )
    firsts = g.iloc[boundaries] if len(g) else g
    payments = pd.DataFrame(
        {
            "doctor_id": firsts["doctor_id"].to_numpy(),
            "programme": firsts["programme"].to_numpy(),
            "patientele": firsts["patientele"].to_numpy(),
            "points": tot_points,
            "euros": _cents_text(cents) if len(g) else pd.Series([], dtype=object),
        }
    )
    return ScoreResult(indicators, payments, rules, len(risky), unmatched)


def score_batch_reference(
    counts: pd.DataFrame,
    patientele: pd.DataFrame,
    year: int,
    catalogue: Catalogue | None = None,
) -> ScoreResult:
    """Scalar exact reference: same outputs as `score_batch`, computed with Fractions."""
    rules, g, unmatched = _setup(counts, patientele, year, catalogue)
    ind_rows, pay_rows = [], []
    for (doctor, programme), rows in g.groupby(["doctor_id", "programme"], sort=True):
        scores, total = _exact_group(rows, rules)
        for r, sc in zip(rows.itertuples(index=False), scores, strict=True):
            ind_rows.append(
                {
                    "doctor_id": doctor,
                    "programme": programme,
                    "indicator_id": r.indicator_id,
                    "numerator": int(r.numerator),
                    "denominator": int(r.denominator),
                    "rate": sc.rate,
                    "start_rate": to_fraction(r.start_rate),
                    "neutralised": sc.neutralised,
                    "realisation": sc.realisation,
                    "branch": _final_branch(sc.branch, bool(r.undeclared)),
                    "points_max": int(r.points_max),
                    "points": sc.points,
                    "euros": sc.euros,
                    "rate_source": r.measurement,
                }
            )
        pay_rows.append(
            {
                "doctor_id": doctor,
                "programme": programme,
                "patientele": int(rows["patientele"].iloc[0]),
                "points": sum((s.points for s in scores), Fraction(0)),
                "euros": str(round_euros(total)),
            }
        )
    return ScoreResult(
        pd.DataFrame(ind_rows, columns=INDICATOR_COLUMNS),
        pd.DataFrame(pay_rows, columns=PAYMENT_COLUMNS),
        rules,
        0,
        unmatched,
    )
