"""Starting rates in `rosp run`: measure them on the year before, or read a stored file.

- Reset year (`start_rates.reset_year`, 2018): the year's definitions are evaluated
  by the compiler on the reference period one year earlier (`start_rates.rule` =
  previous_year_same_definitions), when the extract covers that year.
- Any year: `--start-rates FILE` (a `start_rates.csv` of an earlier run) is used as is.
- Otherwise no starting rate: `scoring.missing_start_rate` decides.

Indicators measured from declarations take their starting rates, in the reset year,
from the accepted ROSP_DECL rows for N-1 (column DECL_ANN; parameter
`declaration.previous_year`, screened in `rosp.engine.declarations`):
:func:`previous_declarations_read` says whether a run reads them, :func:`with_declared`
puts them in the store. Without such a row the starting rate is "not_measured".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rosp.errors import RospError
from rosp.scoring.start_rates import FLAGS, START_RATE_COLUMNS, measure


class StartRatesError(RospError):
    """A starting-rate file is unreadable or malformed."""


@dataclass
class StartRates:
    """The store in use and where it came from (for the manifest)."""

    store: pd.DataFrame | None
    source: str  # "measured" | "file" | "none"
    detail: dict[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        flags = {} if self.store is None else self.store["flag"].value_counts().sort_index().to_dict()
        return {"source": self.source, **self.detail, "rows": 0 if self.store is None else len(self.store),
                "flags": {(k or "measured"): int(v) for k, v in flags.items()}}


def read_start_rates(path: Path) -> pd.DataFrame:
    """A stored start_rates.csv, checked (file, row, column, reason)."""
    from rosp.textcsv import read_text_csv

    df = read_text_csv(path, lambda message: StartRatesError(message.split(": ", 1)[-1], file=str(path)))
    for col in START_RATE_COLUMNS:
        if col not in df.columns:
            raise StartRatesError("missing column", file=str(path), column=col)
    df = df[START_RATE_COLUMNS].copy()
    for col in START_RATE_COLUMNS:
        df[col] = df[col].fillna("").astype(str).str.strip()
    for k, (rate, flag) in enumerate(zip(df["rate"], df["flag"], strict=True), start=1):
        if flag not in FLAGS:
            raise StartRatesError(f"unknown flag {flag!r}", file=str(path), row=k, column="flag")
        if rate:
            try:
                ok = 0 <= float(rate) <= 1
            except ValueError:
                ok = False
            if not ok:
                raise StartRatesError("rate is not a number in [0, 1] (given as a percentage? rates are fractions, e.g. 0.845)",
                                      file=str(path), row=k, column="rate")
    dup = df.duplicated(["doctor_id", "indicator_id"])
    if dup.any():
        k = int(dup.to_numpy().argmax()) + 1
        raise StartRatesError("duplicate doctor_id and indicator_id", file=str(path), row=k, column="indicator_id")
    for col in ("numerator", "denominator"):
        df[col] = pd.to_numeric(df[col].where(df[col] != "", "0"), errors="coerce")
        if df[col].isna().any():
            k = int(df[col].isna().to_numpy().argmax()) + 1
            raise StartRatesError("not an integer", file=str(path), row=k, column=col)
        df[col] = df[col].astype("int64")
    return df


def covers_year(views: dict[str, Any], year: int) -> bool:
    """Whether the extract holds care of `year` (services dated in that calendar year)."""
    s = views["services"]
    lo, hi = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return int(s.filter((s.date >= lo) & (s.date <= hi)).count().execute()) > 0


def measure_previous_year(
    con: Any, views: dict[str, Any], programmes: dict, year: int, thresholds: dict[str, int],
    grid: pd.DataFrame,
) -> pd.DataFrame:
    """The year's definitions on the reference period `year` − 1, per doctor × indicator of `grid`."""
    from rosp.indicators.compiler import Compiler

    ref = year - 1
    comp = Compiler(views, ref, con=con)
    # Planned like year N: only the intermediates read by more than one N-1 indicator are
    # materialised (the others are inlined), and released whatever happens.
    comp.plan(programmes, patienteles=False)
    from rosp.engine.evidence import indicator_counts

    try:
        measured = indicator_counts(con, comp, programmes)  # one query per programme
    finally:
        comp.release()
    measured["doctor_id"] = measured["doctor_id"].astype(str)
    g = grid[["doctor_id", "indicator_id"]].drop_duplicates().merge(
        measured, on=["doctor_id", "indicator_id"], how="left")
    g["numerator"] = pd.to_numeric(g["numerator"]).fillna(0).astype("int64")
    g["denominator"] = pd.to_numeric(g["denominator"]).fillna(0).astype("int64")
    return measure(g, thresholds, str(ref))


def previous_declarations_read(
    views: dict[str, Any], year: int, catalogue: Any, start_rates_file: str | Path | None,
) -> tuple[bool, str]:
    """Whether the run of `year` reads the ROSP_DECL rows for `year` − 1 as declared
    starting rates, and otherwise the reason their rows are rejected (French-free, for
    rejected/ROSP_DECL.csv)."""
    why = f"declaration for {year - 1}: "
    if catalogue is None:
        return False, why + f"no table in force for {year}"
    if catalogue.params.get("declaration.previous_year", year).text != "starting_rate":
        return False, why + "not read (parameter declaration.previous_year)"
    if start_rates_file is not None:
        return False, why + "not read: the starting rates come from --start-rates"
    if year != catalogue.params.get("start_rates.reset_year", year).integer:
        return False, why + f"not read: {year} is not the reset year of the starting rates"
    if not covers_year(views, year - 1):
        return False, why + f"not read: the extract holds no care of {year - 1}"
    return True, ""


def with_declared(store: pd.DataFrame, declared: pd.DataFrame | None, catalogue: Any, reference_period: str) -> pd.DataFrame:
    """The store with its rows of declaration-measured indicators replaced by the accepted
    declarations for N-1 (numerator ÷ computed population, or the declared rate);
    doctors of the grid without one stay "not_measured"."""
    from decimal import ROUND_HALF_UP, Decimal

    ids = {i.id for i in catalogue.indicators.values() if i.measurement == "declaration"}
    keep = store[~store["indicator_id"].isin(ids)]
    grid = store.loc[store["indicator_id"].isin(ids), ["doctor_id", "indicator_id"]]
    if grid.empty:
        return store
    d = (declared if declared is not None else pd.DataFrame(
        columns=["doctor_id", "indicator_id", "numerator", "denominator", "declared_rate"]))
    d = d.assign(doctor_id=d["doctor_id"].astype(str))
    g = grid.merge(d, on=["doctor_id", "indicator_id"], how="left")
    g["numerator"] = pd.to_numeric(g["numerator"]).fillna(0).astype("int64")
    g["denominator"] = pd.to_numeric(g["denominator"]).fillna(0).astype("int64")
    thresholds = {i.id: i.threshold for i in catalogue.indicators.values()}
    m = measure(g, thresholds, reference_period)
    rate = g.set_index(["doctor_id", "indicator_id"])["declared_rate"].fillna("").astype(str)
    six = Decimal("0.000001")
    for k, (doc, ind) in enumerate(zip(m["doctor_id"], m["indicator_id"], strict=True)):
        r = rate.get((doc, ind), "")
        if r and int(m["denominator"].iloc[k]) > 0:
            m.iloc[k, m.columns.get_loc("rate")] = str(Decimal(r).quantize(six, ROUND_HALF_UP))
    out = pd.concat([keep, m[keep.columns]], ignore_index=True)
    return out.sort_values(["doctor_id", "indicator_id"], kind="mergesort").reset_index(drop=True)


def resolve(
    con: Any, views: dict[str, Any], programmes: dict, year: int, catalogue: Any,
    start_rates_file: str | Path | None, grid: pd.DataFrame, declared_previous: pd.DataFrame | None = None,
) -> StartRates:
    """The starting rates of a run of `year` (see the module docstring)."""
    if start_rates_file is not None:
        path = Path(start_rates_file)
        if path.is_dir():
            path = path / "start_rates.csv"
        if not path.exists():
            raise StartRatesError("no such file", file=str(path))
        from rosp.outputs import sha256_file
        from rosp.scoring.start_rates import reflag

        thresholds = {i.id: i.threshold for i in catalogue.indicators.values()}
        store = reflag(read_start_rates(path), thresholds)
        return StartRates(store, "file", {"file": str(path), "sha256": sha256_file(path)})
    params = catalogue.params
    reset = params.get("start_rates.reset_year", year)
    rule = params.get("start_rates.rule", year)
    if rule.text != "previous_year_same_definitions":
        raise StartRatesError(f"start_rates.rule: unknown value {rule.text!r}")
    if year != reset.integer:
        return StartRates(None, "none", {"reason": f"{year} is not the reset year {reset.integer}; pass --start-rates"})
    if not covers_year(views, year - 1):
        return StartRates(None, "none", {"reason": f"the extract holds no care of {year - 1}"})
    thresholds = {i.id: i.threshold for i in catalogue.indicators.values()}
    store = measure_previous_year(con, views, programmes, year, thresholds, grid)
    store = with_declared(store, declared_previous, catalogue, str(year - 1))
    return StartRates(store, "measured", {"reference_period": str(year - 1), "rule": rule.text,
                                          "reset_year": reset.integer})


#: Message of a run for a year with no sourced conventional table (French, user-facing).
NO_TABLE = ("aucun tableau conventionnel sourcé n'est en vigueur pour {year} : "
            "comptages et taux écrits (counts.csv, rates.csv), sans points ni euros")


def known_indicator_ids() -> set[str]:
    """Ids of every indicator the definitions compute (for a counts-only run)."""
    from rosp.indicators.definitions import load_programmes

    return {i.id for p in load_programmes().values() for i in p.indicators}


def counts_only_year(year: int) -> bool:
    """The year before the reset of the starting rates (2017): no table is sourced for
    it, yet its rates are the starting rates of the reset year, so a run of it writes
    counts and rates without scoring (parameter `start_rates.reset_year`)."""
    from rosp.catalogue.parameters import ParameterError, load_parameters

    try:
        reset = int(load_parameters().get("start_rates.reset_year", year + 1).text)
    except ParameterError:
        return False
    return year + 1 == reset


def catalogue_for_run(year: int) -> Any | None:
    """The catalogue in force for `year`; None for the counts-only year before the reset;
    otherwise `NoTableInForce` ("no table in force for YEAR")."""
    from rosp.catalogue import load_catalogue

    if counts_only_year(year):
        return scoring_catalogue(year)
    return load_catalogue(year)


def scoring_catalogue(year: int) -> Any | None:
    """The catalogue in force for `year`, or None when no table is sourced (counts-only run)."""
    from rosp.catalogue import CatalogueError, load_catalogue

    try:
        catalogue = load_catalogue(year)
    except CatalogueError as exc:
        if "no table in force" in str(exc) or "aucun tableau" in str(exc).lower():
            return None
        raise
    return catalogue if catalogue.programmes else None


def with_start_rates(
    con: Any, views: dict[str, Any], programmes: dict, year: int, catalogue: Any,
    start_rates_file: str | Path | None, counts: pd.DataFrame, declared_previous: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, StartRates]:
    """Counts with `start_rate` filled, and where the starting rates came from."""
    from rosp.scoring.start_rates import attach

    if catalogue is None:
        if start_rates_file is not None:
            raise StartRatesError(NO_TABLE.format(year=year) + " ; --start-rates ne s'applique pas")
        return counts.assign(start_rate=""), StartRates(None, "none", {"reason": NO_TABLE.format(year=year)})
    info = resolve(con, views, programmes, year, catalogue, start_rates_file, counts, declared_previous)
    policy = catalogue.params.get("start_rates.below_threshold", year).text
    return attach(counts, info.store, policy), info


def write_outputs(
    out: Path, year: int, catalogue: Any, info: StartRates, counts: pd.DataFrame, indicators: pd.DataFrame | None
) -> dict[str, Any]:
    """start_rates.csv (the store in force, carried forward), or rates.csv for a counts-only run."""
    from rosp.outputs import write_csv
    from rosp.scoring.start_rates import carry_forward

    if catalogue is None:
        # No seuil is known without a table: flags are set again by the run that reads it.
        r = measure(counts, {}, str(year))
        write_csv(r, out / "rates.csv")
        return {"rates": len(r), "scoring": NO_TABLE.format(year=year)}
    params = catalogue.params
    store = carry_forward(
        info.store, indicators, year,
        params.get("scoring.missing_start_rate", year).text,
        params.get("start_rates.below_threshold", year).text,
    )
    write_csv(store, out / "start_rates.csv")
    return {"start_rates": len(store)}
