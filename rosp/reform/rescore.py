"""Fast re-scoring of a completed run under a reformed catalogue.

`rosp.scoring.batch.score_batch` prepares its doctor × indicator grid with string
merges and sorts every time it is called. A reform re-scores the same counts many
times (the CLI once, the negotiator page at every edit), so the grid is prepared
once per run (`Grid`, integer codes and numpy arrays) and each reform only maps
the reformed catalogue's ~40 indicator cells onto it.

The arithmetic is the one of `score_batch`, operation for operation and row
order for row order (doctor, programme, indicator id), so the payable amounts
and the points are identical; groups whose total lies within float noise of a
half-cent (or, with the (T − D) normalisation, with a rate on an objective) are
recomputed exactly with Fractions by the batch layer's own exact scorer. A test
checks the two paths agree on every example reform.

Only the doctor × programme rows paid in the run (``payments.csv``) are scored:
the reform compares those and no others.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rosp.catalogue import Catalogue


def layout(catalogue: Catalogue) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Programmes (sorted by slug) and their indicator ids (sorted), the grid's order."""
    return tuple(
        (p.slug, tuple(sorted(i.id for i in p.indicators))) for p in sorted(catalogue.programmes, key=lambda p: p.slug)
    )


def float_of_text(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Decimal text ('' when absent) -> float64 with NaN (correctly rounded, vectorised)."""
    col = col.cast(pa.string())
    col = pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), pa.scalar(None, pa.string()), col)
    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(float)


@dataclass
class Grid:
    """The run's paid doctor × programme rows and their indicator rows, as arrays.

    Keys (doctor × programme) are sorted by doctor id then programme; the rows of
    a key are contiguous, in indicator id order (the order of `score_batch`)."""

    layout: tuple[tuple[str, tuple[str, ...]], ...]
    key_doctor: np.ndarray  # doctor index (into `doctors`) per key
    key_prog: np.ndarray  # programme index (into layout) per key
    key_patientele: np.ndarray  # int64
    doctors: np.ndarray  # sorted unique doctor ids (object)
    pay_key: np.ndarray  # key index of each payments.csv row
    boundaries: np.ndarray  # first row of each key
    row_ind: np.ndarray  # flat indicator index (into the layout) per row
    numerator: np.ndarray
    denominator: np.ndarray
    start_f: np.ndarray
    declared_f: np.ndarray
    start_txt: np.ndarray  # object: the exact text, '' when absent
    declared_txt: np.ndarray
    has_counts: np.ndarray  # bool: a counts row exists (for "not declared")

    @property
    def n_rows(self) -> int:
        return len(self.row_ind)


def _codes(values: pa.Array | pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    """Index of each value in `value_set` (-1 when absent), by Arrow's hash lookup."""
    idx = pc.index_in(values.cast(pa.string()), value_set=value_set)
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def build_grid(payments: pa.Table, counts: pa.Table, lay) -> Grid | None:
    """The grid of the paid rows, or None when the fast path does not apply (a paid
    programme unknown to the catalogue, or a doctor × indicator with two counts rows)."""
    slugs = pa.array([s for s, _ in lay], type=pa.string())
    flat = [(k, ind) for k, (_, inds) in enumerate(lay) for ind in inds]
    flat_ids = pa.array([ind for _, ind in flat], type=pa.string())
    if len(set(flat_ids.to_pylist())) != len(flat):
        return None  # an indicator id in two programmes: leave it to score_batch
    ind_prog = np.array([k for k, _ in flat], dtype=np.int64)
    first_of_prog = np.zeros(len(lay) + 1, dtype=np.int64)
    first_of_prog[1:] = np.cumsum([len(inds) for _, inds in lay])
    ind_local = np.arange(len(flat), dtype=np.int64) - first_of_prog[ind_prog]
    n_ind = np.diff(first_of_prog)

    pay_doc = payments.column("doctor_id").cast(pa.string())
    pprog = _codes(payments.column("programme"), slugs)
    if (pprog < 0).any():
        return None
    uniq_doc = pc.unique(pay_doc)
    doctors_pa = uniq_doc.take(pc.sort_indices(uniq_doc))  # byte order = code point order = str order
    pdoc = _codes(pay_doc, doctors_pa)
    P = len(lay)
    pair = pdoc * P + pprog
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    if len(pair) and (sorted_pair[1:] == sorted_pair[:-1]).any():
        return None  # duplicate payment rows
    uniq = sorted_pair
    key_doctor = uniq // P
    key_prog = uniq % P
    pat = payments.column("patientele").to_numpy(zero_copy_only=False).astype(np.int64)
    key_patientele = pat[order]
    pay_key = np.empty(len(pair), dtype=np.int64)
    pay_key[order] = np.arange(len(pair))
    sizes = n_ind[key_prog]
    boundaries = np.zeros(len(uniq), dtype=np.int64)
    if len(uniq):
        boundaries[1:] = np.cumsum(sizes)[:-1]
    n_rows = int(sizes.sum())
    key_of_row = np.repeat(np.arange(len(uniq)), sizes)
    row_ind = first_of_prog[key_prog][key_of_row] + (np.arange(n_rows) - boundaries[key_of_row])

    # counts rows -> grid rows: key of (doctor, programme of the indicator), dense lookup
    doc_code = _codes(counts.column("doctor_id"), doctors_pa)
    ind_code = _codes(counts.column("indicator_id"), flat_ids)
    keypos = np.full(len(doctors_pa) * P, -1, dtype=np.int64)
    keypos[uniq] = np.arange(len(uniq))
    ok = (doc_code >= 0) & (ind_code >= 0)
    kpos = np.full(len(doc_code), -1, dtype=np.int64)
    kpos[ok] = keypos[doc_code[ok] * P + ind_prog[ind_code[ok]]]
    ok &= kpos >= 0
    rows = boundaries[kpos[ok]] + ind_local[ind_code[ok]]
    seen = np.zeros(n_rows, dtype=np.int64)
    np.add.at(seen, rows, 1)
    if (seen > 1).any():
        return None  # a doctor × indicator counted twice: score_batch's merge semantics

    def column(name: str, fill):
        if name in counts.column_names:
            return counts.column(name)
        return pa.array([fill] * counts.num_rows)

    numerator = np.zeros(n_rows, dtype=np.int64)
    denominator = np.zeros(n_rows, dtype=np.int64)
    numerator[rows] = np.asarray(pc.fill_null(column("numerator", 0), 0).to_numpy(zero_copy_only=False))[ok]
    denominator[rows] = np.asarray(pc.fill_null(column("denominator", 0), 0).to_numpy(zero_copy_only=False))[ok]
    start_f = np.full(n_rows, np.nan)
    declared_f = np.full(n_rows, np.nan)
    start_txt = np.full(n_rows, "", dtype=object)
    declared_txt = np.full(n_rows, "", dtype=object)
    for name, f_arr, t_arr in (("start_rate", start_f, start_txt), ("declared_rate", declared_f, declared_txt)):
        col = pc.fill_null(column(name, "").cast(pa.string()), "")
        f_arr[rows] = float_of_text(col)[ok]
        t_arr[rows] = col.to_numpy(zero_copy_only=False)[ok]
    has_counts = seen > 0
    doctors = doctors_pa.to_numpy(zero_copy_only=False).astype(object)
    return Grid(lay, key_doctor, key_prog, key_patientele, doctors, pay_key, boundaries, row_ind,
                numerator, denominator, start_f, declared_f, start_txt, declared_txt, has_counts)


@dataclass
class Rescore:
    """Per key (doctor × programme, grid order): points (float) and payable cents."""

    points: np.ndarray
    cents: np.ndarray
    exact_groups: int


def rescore(grid: Grid, catalogue: Catalogue, year: int) -> Rescore | None:
    """Score the grid under `catalogue` exactly as `score_batch` would; None when the
    catalogue's programmes or indicators are not the grid's."""
    from rosp.scoring.batch import _exact_rows
    from rosp.scoring.rules import RuleParams, round_euros
    from rosp.scoring.vector import cents_and_risky, realisation_vec

    if layout(catalogue) != grid.layout:
        return None
    rules = RuleParams.from_parameters(catalogue.params, year)
    progs = {p.slug: p for p in catalogue.programmes}
    cells = [catalogue.indicators[ind] for _, inds in grid.layout for ind in inds]
    ri = grid.row_ind
    i = np.array([float(c.intermediate) for c in cells])[ri]
    t = np.array([float(c.target) for c in cells])[ri]
    lower = np.array([c.direction == "lower" for c in cells])[ri]
    threshold = np.array([c.threshold for c in cells], dtype=np.int64)[ri]
    points_max = np.array([c.points for c in cells], dtype=np.int64)[ri]
    ref = np.array([progs[s].reference_patientele for s, _ in grid.layout], dtype=np.int64)

    sizes = np.diff(np.r_[grid.boundaries, grid.n_rows])
    patientele = np.repeat(grid.key_patientele, sizes)
    reference = np.repeat(ref[grid.key_prog], sizes)

    n = grid.numerator.astype(float)
    d = grid.denominator.astype(float)
    declared, start = grid.declared_f, grid.start_f
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(~np.isnan(declared), declared, np.where(d > 0, n / d, np.nan))
    neutralised = (d < threshold) | np.isnan(rate)
    s = float(rules.intermediate_share)
    real = realisation_vec(
        np.nan_to_num(rate), start, i, t, s, lower, rules.normalisation, rules.missing_start, rules.lower_rule
    )
    real = np.where(neutralised, 0.0, real)
    # A provisional definition earns nothing (`scoring.provisional_definitions`), as in score_batch.
    unpaid = np.array([c.id in rules.non_payable for c in cells], dtype=bool)[ri]
    real = np.where(unpaid, 0.0, real)
    w = patientele.astype(float) / reference.astype(float)
    if rules.patientele_cap is not None:
        w = np.minimum(w, float(rules.patientele_cap))
    points = real * points_max.astype(float) * w
    euros = points * float(rules.point_value)

    b = grid.boundaries
    if grid.n_rows == 0:
        return Rescore(np.zeros(0), np.zeros(0, dtype=np.int64), 0)
    tot_points = np.add.reduceat(points, b)
    tot_euros = np.add.reduceat(euros, b)
    cents, risky = cents_and_risky(tot_euros, rate, i, neutralised, b, rules.normalisation)
    if len(risky):
        ends = np.r_[b[1:], grid.n_rows]
        txt_i = np.array([str(c.intermediate) for c in cells], dtype=object)[ri]
        txt_t = np.array([str(c.target) for c in cells], dtype=object)[ri]
        ids = np.array([c.id for c in cells], dtype=object)[ri]
        cols = {
            "indicator_id": ids, "numerator": grid.numerator, "denominator": grid.denominator,
            "start_rate": grid.start_txt, "declared_rate": grid.declared_txt,
            "intermediate": txt_i, "target": txt_t, "lower": lower, "threshold": threshold,
            "points_max": points_max, "patientele": patientele, "reference_patientele": reference,
        }
        live = ~neutralised & ~unpaid  # a neutralised or provisional row scores 0 exactly
        for k in risky:
            pts, total = Fraction(0), Fraction(0)
            for j in np.flatnonzero(live[b[k]:ends[k]]) + b[k]:
                scores, euros = _exact_rows(cols, j, j + 1, rules)
                pts += scores[0].points
                total += euros
            tot_points[k] = float(pts)
            cents[k] = int(round_euros(total) * 100)
    return Rescore(tot_points, cents.astype(np.int64), len(risky))
