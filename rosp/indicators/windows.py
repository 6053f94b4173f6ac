"""Observation windows, expressed relative to the payment year N.

Grammar: ``"N"`` (calendar year N), ``"N-2"`` (calendar year N-2), ``"N-9:N"``
(from 1 January N-9 to 31 December N). Windows are closed intervals of dates;
the reference date ``ref_end`` is 31 December N [I] (indicators.md §b.0.2).
"""

from __future__ import annotations

import datetime as dt
import re

from rosp.errors import RospError

_YEAR = re.compile(r"^N(?:-(\d+))?$")


class WindowError(RospError):
    pass


def _year(token: str, year: int) -> int:
    m = _YEAR.match(token.strip())
    if not m:
        raise WindowError(f"bad window bound {token!r} (expected N or N-k)")
    return year - int(m.group(1) or 0)


def resolve_window(spec: str, year: int) -> tuple[dt.date, dt.date]:
    """``(start, end)`` inclusive dates of a window spec for payment year ``year``."""
    parts = spec.split(":")
    if len(parts) == 1:
        y0 = y1 = _year(parts[0], year)
    elif len(parts) == 2:
        y0, y1 = _year(parts[0], year), _year(parts[1], year)
    else:
        raise WindowError(f"bad window {spec!r}")
    if y0 > y1:
        raise WindowError(f"empty window {spec!r}")
    return dt.date(y0, 1, 1), dt.date(y1, 12, 31)


def ref_date(at: str, year: int) -> dt.date:
    """Age reference date: ``ref_end`` (31/12/N) or ``window_start`` (1/1/N)."""
    if at == "ref_end":
        return dt.date(year, 12, 31)
    if at == "window_start":
        return dt.date(year, 1, 1)
    raise WindowError(f"unknown reference date {at!r}")
