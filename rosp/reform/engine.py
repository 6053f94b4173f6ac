"""Re-scoring a completed run under a reform: who gains, who loses, what it costs.

The run's counts (`counts.csv`, `patientele.csv`) are scored again with the
vectorised scorer (`rosp.scoring.batch.score_batch`) on the reformed catalogue;
the baseline is the run's own `payments.csv` (what the law pays). Only the
doctor × programme rows paid in the run (eligible ones) are compared.

Money is handled in integer cents (exact): payable amounts are already rounded
to the cent by the scorer.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rosp.catalogue import Catalogue, load_catalogue
from rosp.errors import RospError
from rosp.reform.model import Reform, apply_reform

DOCTOR_COLUMNS = [
    "doctor_id", "programme", "patientele", "points_before", "points_after",
    "euros_before", "euros_after", "delta_euros", "delta_pct", "specialty",
]
LOSS_SHARE = Decimal("0.10")  # « perdent plus de 10 % »
LOSS_EUROS = 100  # « perdent plus de 100 € » (in euros)


class RunReadError(RospError):
    """The run directory is missing a file the reform needs."""


_STRING_COLUMNS = ("doctor_id", "indicator_id", "programme", "start_rate", "declared_rate", "euros")


def _read_csv(path: Path) -> pa.Table:
    """A run CSV as an Arrow table: ids, rates and euros as text ('' stays '')."""
    import pyarrow.csv as pv

    try:
        with path.open(encoding="utf-8") as fh:
            names = fh.readline().strip().split(",")
        types = {c: pa.string() for c in names if c in _STRING_COLUMNS}
        return pv.read_csv(path, convert_options=pv.ConvertOptions(column_types=types, strings_can_be_null=False))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise RunReadError(f"fichier illisible : {str(exc).splitlines()[0]}", file=str(path)) from None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


@dataclass
class Run:
    """The parts of a completed run the reform engine and the web app need.

    The CSV files are read once with Arrow; the pandas frames (`counts`,
    `patientele`, `payments`) and the scoring grid (`grid`) are built on first use."""

    path: Path
    year: int
    counts_table: pa.Table
    patientele_table: pa.Table
    payments_table: pa.Table
    manifest: dict[str, Any]
    _rates: pd.DataFrame | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = _to_pandas(getattr(self, f"{name}_table"))
        return self._cache[name]

    @property
    def counts(self) -> pd.DataFrame:
        return self._frame("counts")

    @property
    def patientele(self) -> pd.DataFrame:
        return self._frame("patientele")

    @property
    def payments(self) -> pd.DataFrame:
        return self._frame("payments")

    def grid(self, catalogue: Catalogue):
        """The paid rows as a scoring grid for `catalogue`'s layout (None: no fast path)."""
        from rosp.reform.rescore import build_grid, layout

        lay = layout(catalogue)
        if self._cache.get("grid_layout") != lay:
            p = self.payments_table
            self._cache["grid"] = build_grid(p, self.counts_table, lay)
            self._cache["grid_layout"] = lay
        return self._cache["grid"]

    def baseline(self) -> dict[str, np.ndarray]:
        """payments.csv as arrays: doctor, programme, patientele, points, cents."""
        if "baseline" not in self._cache:
            p = self.payments_table
            self._cache["baseline"] = {
                "doctor_id": _np(p, "doctor_id").astype(object),
                "programme": _np(p, "programme").astype(object),
                "patientele": _np(p, "patientele"),
                "points": _np(p, "points").astype(float),
                "euros": _np(p, "euros").astype(object),
                "cents": cents_of_text(_np(p, "euros").astype(object)),
            }
        return self._cache["baseline"]

    def specialties(self, catalogue: Catalogue) -> tuple[dict[str, str], str]:
        """Doctor id -> SNDS specialty code ('03'), and where it comes from.

        From the practitioners' referential DA_PRA_R (PFS_PRA_SPE by STA_PFS_NUM) named in the
        run's manifest, when it is still there (as the statements do); otherwise inferred from
        the programme (parameter ``eligibility.specialty_programmes``) where the programme has
        one specialty, and '' (unknown) where it has several."""
        if "specialties" not in self._cache:
            self._cache["specialties"] = _read_specialties(self.manifest, catalogue, self.year)
        return self._cache["specialties"]

    def rates(self, catalogue: Catalogue) -> pd.DataFrame:
        """Observed rates of non-neutralised doctor × indicator rows (for percentile objectives)."""
        if self._rates is None:
            c = self.counts
            thr = pd.Series({i.id: i.threshold for i in catalogue.indicators.values()})
            den = c["denominator"].to_numpy(dtype=float)
            declared = pd.to_numeric(c["declared_rate"], errors="coerce").to_numpy(dtype=float) \
                if "declared_rate" in c else np.full(len(c), np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = np.where(~np.isnan(declared), declared, np.where(den > 0, c["numerator"] / den, np.nan))
            keep = (den >= c["indicator_id"].map(thr).fillna(0).to_numpy()) & ~np.isnan(rate)
            self._rates = pd.DataFrame({"indicator_id": c["indicator_id"][keep], "rate": rate[keep]})
        return self._rates


SOURCE_REFERENTIAL = "référentiel des praticiens DA_PRA_R du run (PFS_PRA_SPE)"
SOURCE_PROGRAMME = ("programme du médecin (DA_PRA_R absent ; eligibility.specialty_programmes : "
                    "spécialité inconnue pour un programme à plusieurs spécialités)")


def _read_specialties(manifest: dict[str, Any], catalogue: Catalogue, year: int) -> tuple[dict[str, str], str]:
    for name in (manifest.get("inputs") or {}):
        path = Path(name)
        if path.name == "DA_PRA_R.parquet" and path.is_file():
            try:
                import pyarrow.parquet as pq

                t = pq.read_table(path, columns=["STA_PFS_NUM", "PFS_PRA_SPE"])
            except (OSError, pa.ArrowException, KeyError):
                break
            out: dict[str, str] = {}
            for d, c in zip(t.column("STA_PFS_NUM").to_pylist(), t.column("PFS_PRA_SPE").to_pylist(), strict=True):
                if d is None or c is None or str(d) in out:
                    continue
                try:
                    out[str(d)] = f"{int(c):02d}"
                except (TypeError, ValueError):
                    continue
            return out, SOURCE_REFERENTIAL
    return {}, SOURCE_PROGRAMME


def _programme_specialty(params, year: int) -> dict[str, str]:
    """Programme -> its one specialty code ('03'), for programmes with exactly one."""
    from rosp.catalogue.parameters import ParameterError

    try:
        mapping = params.get("eligibility.specialty_programmes", year).as_mapping()
    except ParameterError:
        return {}
    by_prog: dict[str, set[str]] = {}
    for spec, prog in mapping.items():
        for slug in str(prog).split("+"):
            by_prog.setdefault(slug.strip(), set()).add(f"{int(spec):02d}")
    return {p: next(iter(s)) for p, s in by_prog.items() if len(s) == 1}


def _np(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def load_run(run_dir: Path | str) -> Run:
    path = Path(run_dir)
    need = ("manifest.json", "counts.csv", "patientele.csv", "payments.csv")
    for name in need:
        if not (path / name).is_file():
            raise RunReadError(f"le run ne contient pas {name} (attendu : {', '.join(need)})", file=str(path))
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    tables = {n: _read_csv(path / f"{n}.csv") for n in ("counts", "patientele", "payments")}
    for n, cols in (("counts", ("doctor_id", "indicator_id", "numerator", "denominator")),
                    ("patientele", ("doctor_id", "programme", "patientele")),
                    ("payments", ("doctor_id", "programme", "patientele", "points", "euros"))):
        missing = [c for c in cols if c not in tables[n].column_names]
        if missing:
            raise RunReadError(f"colonnes manquantes : {', '.join(missing)}", file=str(path / f"{n}.csv"))
    return Run(path, int(manifest["year"]), tables["counts"], tables["patientele"], tables["payments"], manifest)


def cents_of_text(euros: np.ndarray) -> np.ndarray:
    """'975.93' -> 97593, vectorised (exact: amounts have at most 2 decimals, far below 2**53 cents)."""
    f = pc.cast(pa.array(euros, type=pa.string()), pa.float64()).to_numpy(zero_copy_only=False)
    return np.rint(f * 100).astype(np.int64)


def cents(euros: pd.Series) -> np.ndarray:
    """'975.93' -> 97593 (exact: amounts are at most 2 decimals)."""
    return np.rint(pd.to_numeric(euros).to_numpy(dtype=float) * 100).astype(np.int64)


def money(c: int | np.integer) -> str:
    return str((Decimal(int(c)) / 100).quantize(Decimal("0.01")))


def money_text(c: np.ndarray) -> np.ndarray:
    """Vectorised `money`: integer cents -> '-1.50' text (object array)."""
    c = np.asarray(c, dtype=np.int64)
    a = np.abs(c)
    whole = pc.cast(pa.array(a // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(a % 100), pa.string()), 2, "0")
    sign = pa.array(np.where(c < 0, "-", ""), type=pa.string())
    text = pc.binary_join_element_wise(sign, pc.binary_join_element_wise(whole, frac, "."), "")
    return text.to_numpy(zero_copy_only=False).astype(object)


@dataclass
class ReformResult:
    reform: Reform
    year: int
    doctors: pd.DataFrame  # DOCTOR_COLUMNS (euros as text)
    summary: dict[str, Any]
    catalogue: Catalogue


def compute(run: Run, reform: Reform, *, catalogue: Catalogue | None = None) -> ReformResult:
    """Re-score the run under `reform` and summarise the differences."""
    from rosp.safeguard import apply_safeguard, compared_programmes

    year = reform.year or run.year
    if year != run.year:
        from rosp.reform.model import ReformError

        raise ReformError(
            f"la réforme vise l'année {year} mais le run est de {run.year} : les comptages ne valent que pour leur année",
            file=reform.source, line=reform.lines.get("reform.year") or None, column="year",
        )
    rates = None
    if reform.objectives is not None:
        rates = run.rates(catalogue or load_catalogue(year))
    reformed = apply_reform(reform, year, rates)
    base = run.baseline()
    before_c = base["cents"]
    points_after, after_c, doc_code, doc_ids = _after(run, reformed, year)
    delta_c = after_c - before_c
    progs = base["programme"]

    # per doctor (a doctor in several programmes is summed for the distribution), in doctor id order
    n_doc = int(doc_code.max()) + 1 if len(doc_code) else 0
    db = np.zeros(n_doc, dtype=np.int64)
    da = np.zeros(n_doc, dtype=np.int64)
    np.add.at(db, doc_code, before_c)
    np.add.at(da, doc_code, after_c)
    dd = da - db
    losers10 = int(((db > 0) & (dd * 10 < -db)).sum())
    losers100 = int((dd < -LOSS_EUROS * 100).sum())

    summary: dict[str, Any] = {
        "reform": {"title": reform.title, "description": reform.description, "sha256": reform.sha256,
                   "source": reform.source},
        "year": year,
        "doctors": n_doc,
        "rows": int(len(before_c)),
        "budget": _budget(progs, before_c, after_c, reformed),
        "deciles": _deciles(db, da),
        "losers": {
            "more_than_10_percent": losers10,
            "more_than_100_euros": losers100,
            "winners": int((dd > 0).sum()),
            "losers": int((dd < 0).sum()),
            "unchanged": int((dd == 0).sum()),
        },
    }
    spec_doc, spec_source = _doctor_specialties(run, reformed, year, doc_ids, doc_code, progs)
    summary["specialties"] = _specialties(spec_doc, db, da, doc_code, progs)
    summary["specialty_source"] = spec_source
    total_before, total_after = int(before_c.sum()), int(after_c.sum())
    # Whether the clause triggers, its coefficient and target depend only on the
    # national totals: the clause is applied to one row per programme, on the
    # programmes it compares (the run holds no other amount of the perimeter). The
    # exact per-doctor complements are `rosp safeguard --payments` on the doctors file.
    compared = set(compared_programmes(reformed.params, year)) if year in _safeguard_years(reformed.params, year) else set()
    in_scope = np.isin(progs, sorted(compared)) if compared else np.zeros(len(progs), dtype=bool)
    before_cmp, after_cmp = int(before_c[in_scope].sum()), int(after_c[in_scope].sum())
    prev = reform.safeguard.get("previous_total", Decimal(money(before_cmp)))
    ref2016 = reform.safeguard.get("baseline_total", Decimal(money(before_cmp)))
    names = sorted(set(progs[in_scope])) if compared else sorted(set(progs))
    one = pd.DataFrame({
        "doctor_id": ["*"] * len(names), "programme": names, "patientele": [0] * len(names),
        "points": [0.0] * len(names),
        "euros": [money(int(after_c[progs == p].sum())) for p in names],
    })
    sg = apply_safeguard(one, year, prev, ref2016, reformed.params, source="reform",
                         current_total=Decimal(money(after_cmp)) if compared else None).summary
    summary["safeguard"] = {
        k: sg.get(k) for k in ("applies", "triggered", "outcome_label", "total_before", "previous_total", "baseline_total",
                               "drop", "threshold", "coefficient", "complement_total", "total_after", "note")
    }
    summary["safeguard"]["reference"] = (
        "montants de référence du fichier de réforme" if reform.safeguard
        else "montant de référence = total du run (droit en vigueur)"
    )
    summary["total"] = {
        "before": money(total_before), "after": money(total_after), "delta": money(total_after - total_before),
        "delta_pct": _pct(total_after - total_before, total_before),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(before_c > 0, delta_c / np.where(before_c > 0, before_c, 1), np.nan)
    doctors = pd.DataFrame({
        "doctor_id": base["doctor_id"],
        "programme": progs,
        "patientele": base["patientele"],
        "points_before": base["points"],
        "points_after": points_after,
        "euros_before": base["euros"],
        "euros_after": money_text(after_c),
        "delta_euros": money_text(delta_c),
        "delta_pct": pct,
        "specialty": spec_doc[doc_code] if len(doc_code) else np.array([], dtype=object),
    })
    return ReformResult(reform, year, doctors, summary, reformed)


def _after(run: Run, reformed: Catalogue, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points and payable cents under `reformed` for each payments.csv row, and each row's
    doctor index (doctor id order). The run's grid when it applies, else `score_batch`."""
    from rosp.reform.rescore import rescore

    grid = run.grid(reformed)
    res = rescore(grid, reformed, year) if grid is not None else None
    if res is not None:
        k = grid.pay_key
        return res.points[k], res.cents[k], grid.key_doctor[k], grid.doctors
    from rosp.scoring.batch import score_batch

    sb = score_batch(run.counts, run.patientele, year, reformed).payments
    base = run.baseline()
    keys = pd.DataFrame({"doctor_id": base["doctor_id"], "programme": base["programme"]})
    m = keys.merge(sb[["doctor_id", "programme", "points", "euros"]], on=["doctor_id", "programme"], how="left")
    points = m["points"].fillna(0.0).to_numpy(dtype=float)
    after = cents_of_text(m["euros"].fillna("0.00").to_numpy(dtype=object))
    ids, doc = np.unique(base["doctor_id"].astype(str), return_inverse=True)
    return points, after, doc.astype(np.int64), ids.astype(object)


def _pct(delta: int, base: int) -> str | None:
    if base == 0:
        return None
    return str((Decimal(delta) / Decimal(base) * 100).quantize(Decimal("0.01")))


def _budget(prog: np.ndarray, before: np.ndarray, after: np.ndarray, cat: Catalogue) -> list[dict[str, Any]]:
    names = {p.slug: p.name for p in cat.programmes}
    rows = []
    for slug in sorted(set(prog)):
        k = prog == slug
        b, a = int(before[k].sum()), int(after[k].sum())
        rows.append({"programme": slug, "name": names.get(slug, slug), "doctors": int(k.sum()),
                     "before": money(b), "after": money(a), "delta": money(a - b), "delta_pct": _pct(a - b, b)})
    return rows


def _deciles(before: np.ndarray, after: np.ndarray) -> list[dict[str, Any]]:
    """Deciles of baseline payment (rank order, ties broken by doctor id order)."""
    n = len(before)
    if n == 0:
        return []
    order = np.argsort(before, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    dec = rank * 10 // n
    rows = []
    for k in range(10):
        sel = dec == k
        if not sel.any():
            continue
        b, a = before[sel], after[sel]
        d = a - b
        rows.append({
            "decile": k + 1, "doctors": int(sel.sum()),
            "baseline_min": money(b.min()), "baseline_max": money(b.max()),
            "before": money(b.sum()), "after": money(a.sum()), "delta": money(d.sum()),
            "mean_delta": money(int(round(d.sum() / sel.sum()))),
            "delta_pct": _pct(int(d.sum()), int(b.sum())),
            "winners": int((d > 0).sum()), "losers": int((d < 0).sum()),
        })
    return rows


def _doctor_specialties(run: Run, cat: Catalogue, year: int, doc_ids: np.ndarray, doc_code: np.ndarray,
                        progs: np.ndarray) -> tuple[np.ndarray, str]:
    """Each doctor's specialty code (doctor index order; '' when unknown) and its source."""
    known, source = run.specialties(cat)
    spec = np.array([known.get(str(d), "") for d in doc_ids], dtype=object)
    missing = spec == ""
    if missing.any():
        by_prog = _programme_specialty(cat.params, year)
        first = np.full(len(doc_ids), -1, dtype=np.int64)
        rows = np.arange(len(doc_code))[::-1]
        first[doc_code[rows]] = rows  # the doctor's first payments row
        for k in np.flatnonzero(missing):
            if first[k] >= 0:
                spec[k] = by_prog.get(str(progs[first[k]]), "")
        if known:
            source += " ; à défaut, " + SOURCE_PROGRAMME
    return spec, source


def _specialties(spec: np.ndarray, before: np.ndarray, after: np.ndarray, doc_code: np.ndarray,
                 progs: np.ndarray) -> list[dict[str, Any]]:
    """Winners and losers by doctor specialty: each doctor once, with their total across programmes."""
    from rosp.report.model import SPECIALTIES

    if len(spec) == 0:
        return []
    codes, inv = np.unique(spec.astype(str), return_inverse=True)
    row_spec = inv[doc_code]
    rows = []
    for k, code in enumerate(codes):
        sel = inv == k
        b, a = before[sel], after[sel]
        d = a - b
        n = int(sel.sum())
        label = SPECIALTIES.get(int(code), "autre spécialité") if code else "spécialité inconnue"
        rows.append({
            "specialty": code, "label": label, "doctors": n,
            "programmes": sorted(set(progs[row_spec == k].tolist())),
            "before": money(int(b.sum())), "after": money(int(a.sum())), "delta": money(int(d.sum())),
            "mean_delta": money(int(round(d.sum() / n))), "delta_pct": _pct(int(d.sum()), int(b.sum())),
            "winners": int((d > 0).sum()), "losers": int((d < 0).sum()), "unchanged": int((d == 0).sum()),
            "losing_more_than_10_percent": int(((b > 0) & (d * 10 < -b)).sum()),
        })
    return rows


def doctors_csv(doctors: pd.DataFrame) -> str:
    """The per-doctor before/after table as CSV text (points to 6 decimals, delta_pct in %)."""
    import io

    import pyarrow.csv as pv

    from rosp.outputs import _fmt

    cols = {c: doctors[c].to_numpy() for c in DOCTOR_COLUMNS}
    cols["points_before"] = _fmt(doctors["points_before"])
    cols["points_after"] = _fmt(doctors["points_after"])
    cols["delta_pct"] = _fmt(doctors["delta_pct"].astype(float) * 100, 2)
    table = pa.table({c: pa.array(np.asarray(v).astype(str) if c != "patientele" else np.asarray(v, dtype=np.int64))
                      for c, v in cols.items()})
    buf = io.BytesIO()
    # ids, slugs, numbers: nothing needs quoting (Arrow refuses to write a value that would)
    pv.write_csv(table, buf, pv.WriteOptions(include_header=False, quoting_style="none"))
    return ",".join(DOCTOR_COLUMNS) + "\n" + buf.getvalue().decode("utf-8")


def write_outputs(result: ReformResult, run: Run, out_dir: Path | str, reform_path: Path | None = None) -> Path:
    """summary.json, budget/deciles/specialties CSV, doctors.csv, the reform file, manifest.json."""
    from rosp.outputs import build_manifest, sha256_file, write_manifest

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.summary
    (out / "summary.json").write_text(json.dumps(s, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                      encoding="utf-8")
    for name in ("budget", "deciles", "specialties"):
        rows = [{k: "; ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in s[name]]
        pd.DataFrame(rows).to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
    (out / "doctors.csv").write_text(doctors_csv(result.doctors), encoding="utf-8")
    if reform_path is not None:
        shutil.copyfile(reform_path, out / "reform.toml")
    else:
        (out / "reform.toml").write_text(result.reform.text, encoding="utf-8")
    inputs = {str(run.path / n): sha256_file(run.path / n) for n in ("counts.csv", "patientele.csv", "payments.csv")}
    manifest = build_manifest(
        command="reform",
        year=result.year,
        catalogue=result.catalogue,
        inputs=inputs,
        outputs={"doctors": len(result.doctors), "total_before": s["total"]["before"],
                 "total_after": s["total"]["after"]},
        extra={"reform": {"file": str(reform_path or result.reform.source), "sha256": result.reform.sha256,
                          "title": result.reform.title},
               "run": str(run.path)},
    )
    write_manifest(manifest, out / "manifest.json")
    return out


def _safeguard_years(params, year: int) -> list[int]:
    """The years the safeguard clause applies to (parameter ``safeguard.years``)."""
    from rosp.catalogue.parameters import ParameterError

    try:
        return [int(y) for y in params.get("safeguard.years", year).as_list()]
    except ParameterError:
        return []
