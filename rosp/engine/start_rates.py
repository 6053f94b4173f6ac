"""Starting rates in `rosp run`: measure them on the year before, or read a stored file.

- Reset year (`start_rates.reset_year`, 2018): the year's definitions are evaluated
  by the compiler on the reference period one year earlier (`start_rates.rule` =
  previous_year_same_definitions), when the extract covers that year.
- Any year: `--start-rates FILE` (a `start_rates.csv` of an earlier run) is used as is.
- Otherwise no starting rate: `scoring.missing_start_rate` decides.

Declarative indicators have no declaration history in the extract (ROSP_DECL holds
year N only), so their starting rates are "not_measured".
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
    # Without a plan every shared intermediate of N-1 would be materialised; planned, only
    # those read by more than one N-1 indicator are (the others are inlined), as for year N.
    comp.plan(programmes, patienteles=False)
    frames = []
    try:
        for prog in programmes.values():
            for ind in prog.indicators:
                if ind.declared:
                    continue
                e = comp.compile(ind, prog)
                agg = e.group_by("doctor_id").aggregate(
                    numerator=e.num_units.sum().cast("int64"), denominator=e.den_units.sum().cast("int64")
                )
                df = con.to_pandas(agg) if hasattr(con, "to_pandas") else agg.execute()
                df["indicator_id"] = ind.id
                frames.append(df)
    finally:
        comp.release()
    measured = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["doctor_id", "numerator", "denominator", "indicator_id"])
    measured["doctor_id"] = measured["doctor_id"].astype(str)
    g = grid[["doctor_id", "indicator_id"]].drop_duplicates().merge(
        measured, on=["doctor_id", "indicator_id"], how="left")
    g["numerator"] = pd.to_numeric(g["numerator"]).fillna(0).astype("int64")
    g["denominator"] = pd.to_numeric(g["denominator"]).fillna(0).astype("int64")
    return measure(g, thresholds, str(ref))


def resolve(
    con: Any, views: dict[str, Any], programmes: dict, year: int, catalogue: Any,
    start_rates_file: str | Path | None, grid: pd.DataFrame,
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
    start_rates_file: str | Path | None, counts: pd.DataFrame,
) -> tuple[pd.DataFrame, StartRates]:
    """Counts with `start_rate` filled, and where the starting rates came from."""
    from rosp.scoring.start_rates import attach

    if catalogue is None:
        if start_rates_file is not None:
            raise StartRatesError(NO_TABLE.format(year=year) + " ; --start-rates ne s'applique pas")
        return counts.assign(start_rate=""), StartRates(None, "none", {"reason": NO_TABLE.format(year=year)})
    info = resolve(con, views, programmes, year, catalogue, start_rates_file, counts)
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
