"""Observation ends, load periods and definition flags (issue 7 §2, §6)."""

from __future__ import annotations

import datetime as dt

import pytest

from rosp.indicators import load_programmes
from rosp.indicators.definitions import FAMILIES, earliest_read_dates, observation_end
from rosp.indicators.windows import WindowError, resolve_window

IND = {i.id: i for p in load_programmes().values() for i in p.indicators}

# (window, year, expected (start, end), reason)
WINDOWS = [
    ("N", 2018, (dt.date(2018, 1, 1), dt.date(2018, 12, 31)), "calendar year N"),
    ("N-10:N-1", 2018, (dt.date(2008, 1, 1), dt.date(2017, 12, 31)), "END-03 ten previous years"),
    ("N-1/07-01:N/06-30", 2018, (dt.date(2017, 7, 1), dt.date(2018, 6, 30)), "day bounds (M'T dents cohort)"),
]


@pytest.mark.parametrize(("spec", "year", "expected", "reason"), WINDOWS)
def test_windows(spec, year, expected, reason):
    assert resolve_window(spec, year) == expected, reason


@pytest.mark.parametrize("spec", ["N+1", "N:N+1", "N/13-01", "M-1"])
def test_bad_windows_rejected(spec):
    with pytest.raises(WindowError):
        resolve_window(spec, 2018)


def test_earliest_read_dates_follow_the_longest_windows():
    got = earliest_read_dates(2018)
    assert set(got) == set(FAMILIES)
    assert got["PMSI"] <= dt.date(2008, 1, 1)  # END-03: stays of the ten previous years
    assert got["DCIR"] <= dt.date(2015, 1, 31)  # GAS-05: polypectomy up to 3 years before a colonoscopy of N
    assert got["ALD"] <= dt.date(2016, 1, 1)  # CAR-01: an ALD starting in N-2
    assert earliest_read_dates(2019)["PMSI"] == dt.date(2009, 1, 1)


def test_observation_end_is_fixed_per_indicator():
    """L-24: every indicator stops at its own dated observation end, never at the extraction date."""
    assert observation_end(2018) == dt.date(2018, 12, 31)
    for ind in IND.values():
        assert ind.observation_end_date(2018) <= dt.date(2018, 12, 31), ind.id


def test_end07_is_provisional_and_not_payable():
    """L-13: no NGAP nature tells an insulin injection from other nurse care."""
    end07 = IND["END-07"]
    assert end07.payable is False and end07.status == "provisional"
    assert end07.params["payable"].source
    assert all(i.payable for i in IND.values() if i.id != "END-07")
