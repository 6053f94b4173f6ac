"""Doctor practice-quality propensity -> patient-level probabilities, and the
calibration report.

Each doctor d has a latent propensity z_d ~ N(0, 1); for indicator i the doctor's
own propensity is z_{d,i} = rho * z_d + sqrt(1 - rho^2) * e_{d,i} (still N(0,1)).
The doctor's expected rate is logistic in z:  r = expit(a_i + b_i * z), with a_i, b_i
solved so that r(z_30) = objectif intermédiaire and r(z_80) = objectif cible, where
z_30 = Phi^-1(0.30) and z_80 = Phi^-1(0.80). The same formula holds for the
lower-is-better indicators (then b_i < 0: the 30 % worst doctors are above the
intermediate objective, the 20 % best below the target). A shrink factor on b_i
absorbs part of the binomial noise of small denominators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z30 = -0.5244005127080407
Z80 = 0.8416212335729143
RHO = 0.6


@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    programme: str
    intermediate: float
    target: float
    lower_is_better: bool = False
    declarative: bool = False
    minimum: int = 5  # seuil minimal (patients, or boxes for CAR-08/09)
    label: str = ""


def _short(label: str, n: int = 60) -> str:
    return label if len(label) <= n else label[: n - 1].rstrip() + "…"


def specs_from_catalogue(year: int = 2018) -> tuple[IndicatorSpec, ...]:
    """The objectives the synthetic doctors are calibrated on, read from the catalogue
    table in force for ``year`` (one source per fact): intermediate and target
    objectives, direction, seuil minimal; declarative = the definition is taken from
    the declarations file. Rows in table order, programmes in the definitions' order."""
    from rosp.catalogue.model import load_catalogue
    from rosp.indicators.definitions import load_programmes

    cat = load_catalogue(year)
    out = []
    for slug, prog in load_programmes().items():
        for ind in cat.programme(slug).indicators:
            out.append(IndicatorSpec(
                ind.id, slug, float(ind.intermediate), float(ind.target),
                lower_is_better=ind.direction == "lower",
                declarative=prog.indicator(ind.id).kind == "declarative",
                minimum=int(ind.threshold), label=_short(ind.label),
            ))
    return tuple(out)


#: 2018 tables (avenant 6), rows in table order, from the catalogue.
SPECS: tuple[IndicatorSpec, ...] = specs_from_catalogue(2018)
SPEC_BY_ID = {s.id: s for s in SPECS}
INDICATOR_IDS = tuple(s.id for s in SPECS)
INDEX = {s.id: i for i, s in enumerate(SPECS)}

#: (slope shrink, intercept shift) per computed indicator, absorbing the binomial
#: noise of the per-doctor denominators: fitted by simulation (grid search on the
#: expected 30th/80th percentiles of num/den, denominators of a 1,000,000-patient
#: run, seed 42). Patients per doctor do not depend on the size of the run
#: (doctors are drawn per inhabitant), so the fit holds for any --patients.
ADJUST: dict[str, tuple[float, float]] = {
    "ENF-01": (0.45, 0.0), "ENF-02": (0.55, 0.05), "ENF-04": (0.3, -0.2), "ENF-05": (0.65, 0.0),
    "ENF-06": (0.9, 0.05), "ENF-07": (0.85, 0.05), "ENF-10": (0.6, -0.05), "CAR-01": (0.85, 0.0),
    "CAR-02": (0.85, 0.0), "CAR-03": (0.8, 0.0), "CAR-04": (0.55, -0.05), "CAR-05": (0.95, 0.0),
    "CAR-06": (0.8, 0.0), "CAR-07": (0.8, 0.0), "GAS-01": (0.65, 0.0), "GAS-02": (0.4, 0.05),
    "GAS-03": (0.95, 0.0), "GAS-04": (0.85, -0.05), "GAS-05": (0.8, 0.05), "GAS-06": (0.95, 0.0),
    "GAS-07": (0.4, 0.0), "END-01": (0.95, 0.0), "END-03": (0.85, 0.0), "END-04": (0.85, 0.0),
    "END-06": (0.7, 0.0), "END-07": (0.85, -0.05), "END-08": (0.8, 0.05),
}


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def logistic_params(spec: IndicatorSpec, adjusted: bool = True) -> tuple[float, float]:
    """(a, b) of r = expit(a + b z): exact at z_30 / z_80 when not adjusted."""
    a30, a80 = _logit(spec.intermediate), _logit(spec.target)
    b = (a80 - a30) / (Z80 - Z30)
    a = a30 - b * Z30
    if adjusted:
        shrink, shift = ADJUST.get(spec.id, (1.0, 0.0))
        a, b = a + shift, b * shrink
    return a, b


def fit_adjustment(spec: IndicatorSpec, den: np.ndarray, reps: int = 400, seed: int = 0) -> tuple[float, float]:
    """Grid search of (shrink, shift) so that the expected percentiles of num/den over
    doctors with these denominators hit the objectives (used to fill ADJUST)."""
    rng = np.random.default_rng(seed)
    den = np.asarray(den)
    den = den[den >= spec.minimum]
    dd = np.tile(den, reps)
    z = rng.standard_normal(len(dd))
    a0, b0 = logistic_params(spec, adjusted=False)
    best: tuple[float, float, float] | None = None
    for shrink in np.linspace(0.3, 1.1, 17):
        for shift in np.linspace(-0.6, 0.6, 25):
            rate = rng.binomial(dd, 1 / (1 + np.exp(-(a0 + shift + b0 * shrink * z)))) / dd
            q = (70, 20) if spec.lower_is_better else (30, 80)
            p1, p2 = np.percentile(rate, q[0]), np.percentile(rate, q[1])
            err = (p1 - spec.intermediate) ** 2 + (p2 - spec.target) ** 2
            if best is None or err < best[0]:
                best = (err, float(shrink), float(shift))
    assert best is not None
    return round(best[1], 2), round(best[2], 2)


def _normal_quantiles(n: int) -> np.ndarray:
    """Phi^-1((k + 0.5) / n), k = 0..n-1 (Acklam-free: via erfinv-like bisection)."""
    p = (np.arange(n) + 0.5) / n
    lo, hi = np.full(n, -8.0), np.full(n, 8.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        cdf = 0.5 * (1 + np.vectorize(math.erf)(mid / math.sqrt(2)))
        lo = np.where(cdf < p, mid, lo)
        hi = np.where(cdf < p, hi, mid)
    return (lo + hi) / 2


def doctor_rates(z_common: np.ndarray, rng: np.random.Generator,
                 groups: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """(n_indicators, n_doctors) expected rates from the common propensity.

    Within each group of doctors (specialty), the indicator propensities are
    replaced by the normal quantiles of their ranks, so that even a group of 15
    endocrinologists spans the distribution evenly (stratified draw)."""
    n = len(z_common)
    eps = rng.standard_normal((len(SPECS), n))
    z = RHO * z_common[None, :] + math.sqrt(1 - RHO * RHO) * eps
    for idx in (groups or {}).values():
        if len(idx) == 0:
            continue
        q = _normal_quantiles(len(idx))
        for i in range(len(SPECS)):
            ranks = np.argsort(np.argsort(z[i, idx], kind="stable"), kind="stable")
            z[i, idx] = q[ranks]
    out = np.empty_like(z)
    for i, spec in enumerate(SPECS):
        a, b = logistic_params(spec)
        out[i] = 1.0 / (1.0 + np.exp(-(a + b * z[i])))
    return out


class GroundTruth:
    """Per doctor, per indicator numerator / denominator as simulated."""

    def __init__(self, n_doctors: int) -> None:
        self.num = np.zeros((len(SPECS), n_doctors), dtype=np.int64)
        self.den = np.zeros((len(SPECS), n_doctors), dtype=np.int64)
        #: simulated specialist patientèle per doctor (>= 2 contacts in N-1..N, alive)
        self.patientele = np.zeros(n_doctors, dtype=np.int64)

    def add(self, ind: str, doctors: np.ndarray, in_num: np.ndarray, weight: np.ndarray | None = None) -> None:
        doctors = np.asarray(doctors, dtype=np.int64)
        ok = doctors >= 0
        if not ok.any():
            return
        i = INDEX[ind]
        n = self.den.shape[1]
        w = np.ones(len(doctors), dtype=np.int64) if weight is None else np.asarray(weight, dtype=np.int64)
        self.den[i] += np.bincount(doctors[ok], weights=w[ok], minlength=n).astype(np.int64)
        self.num[i] += np.bincount(doctors[ok], weights=(w * np.asarray(in_num, dtype=np.int64))[ok],
                                   minlength=n).astype(np.int64)

    def add_patientele(self, doctors: np.ndarray) -> None:
        """One (alive) patient of each listed doctor's specialist patientèle."""
        n = self.den.shape[1]
        self.patientele += np.bincount(np.asarray(doctors, dtype=np.int64), minlength=n).astype(np.int64)


def percentile_table(gt: GroundTruth, doctor_programmes: dict[str, np.ndarray]) -> list[dict]:
    """Per indicator: doctors at/above threshold, percentiles of the doctor rate."""
    rows = []
    for i, spec in enumerate(SPECS):
        eligible = doctor_programmes[spec.programme]
        den = gt.den[i][eligible]
        num = gt.num[i][eligible]
        ok = den >= spec.minimum
        rates = num[ok] / den[ok] if ok.any() else np.array([])
        row = {
            "id": spec.id,
            "label": spec.label,
            "direction": "lower" if spec.lower_is_better else "higher",
            "declarative": spec.declarative,
            "intermediate": spec.intermediate,
            "target": spec.target,
            "doctors": int(len(eligible)),
            "doctors_at_threshold": int(ok.sum()),
            "median_den": float(np.median(den[ok])) if ok.any() else float("nan"),
        }
        if len(rates):
            if spec.lower_is_better:
                row["p_int"] = float(np.percentile(rates, 70))
                row["p_target"] = float(np.percentile(rates, 20))
            else:
                row["p_int"] = float(np.percentile(rates, 30))
                row["p_target"] = float(np.percentile(rates, 80))
        else:
            row["p_int"] = row["p_target"] = float("nan")
        rows.append(row)
    rows.extend(patientele_rows(gt, doctor_programmes))
    return rows


def patientele_rows(gt: GroundTruth, doctor_programmes: dict[str, np.ndarray]) -> list[dict]:
    """Per specialist programme: simulated mean patientèle against the published mean
    and the catalogue's reference patientèle (rows with ``kind = "patientele"``)."""
    from rosp.catalogue.model import load_catalogue
    from rosp.synth.population import PATIENTELE_MEAN, PROGRAMME_GROUPS

    cat = load_catalogue(2018)
    out = []
    for slug, docs in doctor_programmes.items():
        groups = [g for g in PROGRAMME_GROUPS.get(slug, ()) if g in PATIENTELE_MEAN]
        if not groups or len(docs) == 0:
            continue
        sizes = gt.patientele[docs]
        out.append({
            "kind": "patientele", "programme": slug, "doctors": int(len(docs)),
            "published_mean": PATIENTELE_MEAN[groups[0]],
            "reference": int(cat.programme(slug).reference_patientele),
            "mean": float(sizes.mean()), "p10": float(np.percentile(sizes, 10)),
            "median": float(np.median(sizes)), "p90": float(np.percentile(sizes, 90)),
        })
    return out


def start_rate_rows(prev: GroundTruth, doctor_programmes: dict[str, np.ndarray], ref_year: int) -> list[dict]:
    """Starting rates the extract implies (ground truth of the pass of N-1): per claims-
    measured indicator, the share of the programme's doctors with a D (denominator at
    the seuil in N-1) and the quartiles of D, against the objectives I and T."""
    rows = []
    for i, spec in enumerate(SPECS):
        if spec.declarative:
            continue
        docs = doctor_programmes[spec.programme]
        den, num = prev.den[i][docs], prev.num[i][docs]
        ok = den >= spec.minimum
        d = num[ok] / den[ok] if ok.any() else np.array([])
        q = np.percentile(d, [25, 50, 75]) if len(d) else np.full(3, np.nan)
        below_i = (d > spec.intermediate) if spec.lower_is_better else (d < spec.intermediate)
        rows.append({
            "programme": spec.programme, "id": spec.id, "direction": "lower" if spec.lower_is_better else "higher",
            "doctors": int(len(docs)), "filled": int(ok.sum()), "q1": float(q[0]), "median": float(q[1]),
            "q3": float(q[2]), "intermediate": spec.intermediate, "target": spec.target,
            "short_of_i": int(below_i.sum()), "ref_year": ref_year,
        })
    return rows


def _start_rate_markdown(rows: list[dict]) -> list[str]:
    def pct(x: float) -> str:
        return "n/a" if x != x else f"{100 * x:.1f} %"

    ref = rows[0]["ref_year"] if rows else ""
    lines = [
        "",
        f"## Starting rates (taux de départ, reference period {ref})",
        "",
        "The extract also holds the care of the year before, played by the same scenarios on",
        "the same patients, with each doctor's expected rate one step (synthetic drift, docs/synth.md)",
        "worse than in N; `rosp run --year N` measures the starting rates D on it. Per programme,",
        "the share of doctor × indicator pairs (claims-measured indicators) that get a D (denominator",
        "at the seuil in N-1), then per indicator the quartiles of D and the doctors whose D is short",
        "of the intermediate objective (they can earn the progression branch).",
        "",
        "| programme | doctor × indicator | with a D | share |",
        "|---|---|---|---|",
    ]
    for prog in sorted({r["programme"] for r in rows}):
        sub = [r for r in rows if r["programme"] == prog]
        tot, fil = sum(r["doctors"] for r in sub), sum(r["filled"] for r in sub)
        lines.append(f"| {prog} | {tot} | {fil} | {pct(fil / tot if tot else float('nan'))} |")
    lines += [
        "",
        "| programme | indicator | dir. | doctors with D / all | D Q1 | D median | D Q3 | obj. int. | target | D short of I |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['programme']} | {r['id']} | {r['direction']} | {r['filled']} / {r['doctors']} | {pct(r['q1'])} | "
            f"{pct(r['median'])} | {pct(r['q3'])} | {pct(r['intermediate'])} | {pct(r['target'])} | {r['short_of_i']} |"
        )
    return lines


def render_markdown(rows: list[dict], patients: int, seed: int, year: int,
                    start_rows: list[dict] | None = None) -> str:
    def pct(x: float) -> str:
        return "n/a" if x != x else f"{100 * x:.1f} %"

    lines = [
        f"# Calibration of the synthetic extract (patients={patients}, seed={seed}, year={year})",
        "",
        "Per-doctor rates are computed from the simulated ground truth (the numerator and",
        "denominator membership the generator decided), for doctors of the programme whose",
        "denominator reaches the seuil minimal (5 patients; 10 boxes for CAR-08/09).",
        "For higher-is-better indicators the 30th percentile is compared with the",
        "intermediate objective and the 80th with the target; for lower-is-better ones",
        "(mirror) the 70th percentile with the intermediate objective and the 20th with",
        "the target. Declarative indicators: rates of the ROSP_DECL rows.",
        "",
        "| indicator | label | dir. | doctors (≥ seuil / all) | median den. | obj. int. | sim. | target | sim. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("kind") == "patientele":
            continue
        lines.append(
            f"| {r['id']}{' (décl.)' if r['declarative'] else ''} | {r['label']} | {r['direction']} | "
            f"{r['doctors_at_threshold']} / {r['doctors']} | {r['median_den']:.0f} | "
            f"{pct(r['intermediate'])} | {pct(r['p_int'])} | {pct(r['target'])} | {pct(r['p_target'])} |"
        )
    pat = [r for r in rows if r.get("kind") == "patientele"]
    if pat:
        lines += [
            "",
            "## Specialist patientèles (>= 2 contacts in N-1..N, alive at 31/12/N)",
            "",
            "Doctor counts follow the published 2018 numbers of ROSP beneficiaries scaled to the",
            "population generated; specialists are topped up with patients outside the indicator",
            "populations up to the published mean patientèle (docs/synth.md cites each figure).",
            "",
            "| programme | doctors | published mean | reference (catalogue) | sim. mean | P10 | median | P90 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in pat:
            lines.append(
                f"| {r['programme']} | {r['doctors']} | {r['published_mean']:.0f} | {r['reference']} | "
                f"{r['mean']:.0f} | {r['p10']:.0f} | {r['median']:.0f} | {r['p90']:.0f} |"
            )
    if start_rows is not None:
        lines += _start_rate_markdown(start_rows)
    else:
        lines += ["", "## Starting rates", "", "No history of the year before in this extract (`year_before` off):",
                  "a run of N finds no starting rate to measure."]
    lines.append("")
    return "\n".join(lines)
