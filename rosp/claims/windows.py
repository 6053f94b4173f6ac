"""Load windows: how far back each table family is loaded, from the definitions.

Issue 7 §2 (L-04): END-03 looks ten years back ("durant les dix années précédentes");
a fixed three-year history silently cut it. The care-date bounds of each table family
(DCIR: ``ER_PRS_F.EXE_SOI_DTD``; PMSI: ``T_MCOaaC.EXE_SOI_DTD``) now start at the
earliest window of the definitions that read the family, read through the public API
of :mod:`rosp.indicators.definitions`. A definition whose window starts before what
was loaded is a load error (:class:`LoadWindowError`), never a silent truncation.

In the reset year of the starting rates (``start_rates.reset_year``, 2018) the run
also evaluates the same definitions on N-1 (``start_rates.rule``), so the load reaches
the windows counted from N-1 too (:func:`reference_years`): END-03's ten years for
2017 need PMSI from 2007 in a run of 2018.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rosp.claims.errors import ClaimsError
from rosp.claims.validate import FLOW_LAG_END, HISTORY_YEARS

#: Table whose care date bounds each family (TableSchema.period_dates).
TABLE_FAMILY: dict[str, str] = {"ER_PRS_F": "DCIR", "T_MCOaaC": "PMSI"}
FAMILIES: tuple[str, ...] = ("DCIR", "PMSI")

#: Condition blocks -> families they read. Blocks that read events of any code system
#: count for both (conservative: a longer load, never a truncated window).
_BLOCK_FAMILIES: dict[str, tuple[str, ...]] = {
    "has_deliveries": ("DCIR",),
    "has_bio": ("DCIR",),
    "has_ccam": ("DCIR",),
    "has_service": ("DCIR",),
    "has_hospital_dx": ("PMSI",),
    "hospital_stay_with": ("PMSI",),
    "has_ald": (),  # IR_IMB_R is a referential, not bounded by care dates
}


class LoadWindowError(ClaimsError):
    """A definition looks further back than the claims that were loaded."""


@dataclass(frozen=True)
class WindowNeed:
    """The earliest care date one condition of one indicator reads, in one family."""

    family: str
    start: dt.date
    indicator: str
    condition: str


def _window_start(spec: str, year: int) -> dt.date:
    from rosp.indicators.windows import resolve_window

    return resolve_window(str(spec), year)[0]


def _walk(conditions: Iterable[Any]) -> Iterable[Any]:
    for c in conditions:
        yield c
        yield from _walk(c.args.get("of", ()) or ())


def window_needs(year: int, programmes: Mapping[str, Any] | None = None) -> list[WindowNeed]:
    """Every (family, earliest date) the definitions of ``programmes`` read for ``year``."""
    if programmes is None:
        from rosp.indicators.definitions import load_programmes

        programmes = load_programmes()
    needs: list[WindowNeed] = []
    for prog in programmes.values():
        for ind in prog.indicators:
            conds = list(_walk((*ind.denominator, *ind.numerator)))
            starts = [_window_start(c.args["window"], year) for c in conds if "window" in c.args]
            earliest = min(starts, default=dt.date(year, 1, 1))
            for c in conds:
                families = _BLOCK_FAMILIES.get(c.block, FAMILIES)
                if "window" in c.args:
                    start = _window_start(c.args["window"], year)
                else:  # relative to an anchor: its earliest window plus the offset
                    start = earliest
                back = int(c.args.get("lookback_days", 0) or 0)
                offset = min(int(c.args.get("from_days", 0) or 0), 0)
                start = start - dt.timedelta(days=back) + dt.timedelta(days=offset)
                needs += [WindowNeed(f, start, ind.id, c.name) for f in families]
            if ind.boxes.get("window"):
                start = _window_start(ind.boxes["window"], year)
                needs.append(WindowNeed("DCIR", start, ind.id, "boxes"))
        for name, param in prog.params.items():
            if name.endswith("_window") and isinstance(param.value, str):
                start = _window_start(param.value, year)
                needs.append(WindowNeed("DCIR", start, prog.slug, name))
    return needs


def reference_years(year: int) -> tuple[int, ...]:
    """The reference years a run of ``year`` evaluates the definitions on: ``year``, and
    ``year`` - 1 when it is the reset year of the starting rates (measured on N-1 with
    the same definitions, parameters ``start_rates.reset_year`` and ``start_rates.rule``)."""
    from rosp.catalogue.parameters import ParameterError, load_parameters

    try:
        params = load_parameters()
        reset = int(params.get("start_rates.reset_year", year).text)
        rule = params.get("start_rates.rule", year).text
    except ParameterError:
        return (year,)
    return (year, year - 1) if year == reset and rule == "previous_year_same_definitions" else (year,)


def run_window_needs(year: int, programmes: Mapping[str, Any] | None = None) -> list[WindowNeed]:
    """The window needs of every reference year of a run of ``year`` (:func:`reference_years`);
    a need of N-1 names its condition "<condition> (starting rate, N-1)"."""
    needs: list[WindowNeed] = []
    for ref in reference_years(year):
        for n in window_needs(ref, programmes):
            needs.append(n if ref == year else WindowNeed(n.family, n.start, n.indicator,
                                                          f"{n.condition} (starting rate, {ref})"))
    return needs


def load_periods(
    year: int, programmes: Mapping[str, Any] | None = None
) -> dict[str, tuple[dt.date, dt.date]]:
    """Care-date bounds per family: the earliest window start of the run's reference
    years (:func:`run_window_needs`; never later than 1 Jan N-``HISTORY_YEARS``, the
    default history) to 30 June N+1 (flow lag)."""
    end = dt.date(year + 1, *FLOW_LAG_END)
    floor = dt.date(year - HISTORY_YEARS, 1, 1)
    needs = run_window_needs(year, programmes)
    return {
        f: (min([floor, *(n.start for n in needs if n.family == f)]), end) for f in FAMILIES
    }


def check_windows(
    periods: Mapping[str, tuple[dt.date, dt.date]],
    year: int,
    programmes: Mapping[str, Any] | None = None,
) -> None:
    """Raise :class:`LoadWindowError` if a definition starts before its family's load."""
    too_early = [
        n for n in run_window_needs(year, programmes) if n.start < periods[n.family][0]
    ]
    if too_early:
        n = min(too_early, key=lambda n: (n.start, n.indicator, n.condition))
        raise LoadWindowError(
            f"{n.indicator} ({n.condition}) reads {n.family} claims from {n.start.isoformat()}, "
            f"but the load starts on {periods[n.family][0].isoformat()}: its window would be "
            f"truncated ({len(too_early)} condition(s) affected)",
            file=n.family,
        )
