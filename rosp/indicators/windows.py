"""Observation windows, expressed relative to the payment year N.

Grammar: ``"N"`` (calendar year N), ``"N-2"`` (calendar year N-2), ``"N-9:N"``
(from 1 January N-9 to 31 December N). A bound may carry a day of the year after
a slash: ``"N-1/07-01:N/06-30"`` (1 July N-1 to 30 June N); ``"N+1/01-31"`` is
31 January N+1 (used only for observation ends). Windows are closed intervals of
dates; the reference date ``ref_end`` is 31 December N [I] (indicators.md §b.0.2).
"""

from __future__ import annotations

import datetime as dt
import re

from rosp.errors import RospError

_BOUND = re.compile(r"^N(?:([-+])(\d+))?(?:/(\d\d)-(\d\d))?$")


class WindowError(RospError):
    pass


def resolve_bound(token: str, year: int, *, end: bool) -> dt.date:
    """One window bound: ``N-k`` is 1 January (start) or 31 December (end) of N-k."""
    m = _BOUND.match(token.strip())
    if not m:
        raise WindowError(f"bad window bound {token!r} (expected N, N-k or N-k/MM-DD)")
    sign, k, mm, dd = m.groups()
    y = year + (int(k) if sign == "+" else -int(k or 0))
    if mm is None:
        return dt.date(y, 12, 31) if end else dt.date(y, 1, 1)
    try:
        return dt.date(y, int(mm), int(dd))
    except ValueError as exc:
        raise WindowError(f"bad window bound {token!r}: {exc}") from None


def resolve_window(spec: str, year: int) -> tuple[dt.date, dt.date]:
    """``(start, end)`` inclusive dates of a window spec for payment year ``year``."""
    parts = spec.split(":")
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    elif len(parts) != 2:
        raise WindowError(f"bad window {spec!r}")
    for p in parts:
        if "+" in p:
            raise WindowError(f"window {spec!r} reaches after year N (only observation ends may)")
    start, end = resolve_bound(parts[0], year, end=False), resolve_bound(parts[1], year, end=True)
    if start > end:
        raise WindowError(f"empty window {spec!r}")
    return start, end


def ref_date(at: str, year: int) -> dt.date:
    """Age reference date: ``ref_end`` (31/12/N) or ``window_start`` (1/1/N)."""
    if at == "ref_end":
        return dt.date(year, 12, 31)
    if at == "window_start":
        return dt.date(year, 1, 1)
    raise WindowError(f"unknown reference date {at!r}")
