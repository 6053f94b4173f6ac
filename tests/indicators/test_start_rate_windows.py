"""Issue 7 §2 in the reset year: the starting rates are the same definitions evaluated
on N-1, so the load reaches the windows counted from N-1 (END-03's ten years for 2017
need PMSI from 2007 in a run of 2018), and a load that does not is an error."""

from __future__ import annotations

from datetime import date

import pytest

from rosp.claims.windows import LoadWindowError, check_windows, load_periods, reference_years

#: (case, year, family, first day loaded)
CASES = [
    ("reset year 2018: END-03's ten years counted from 2017 -> PMSI from 2007", 2018, "PMSI", date(2007, 1, 1)),
    ("reset year 2018: the DCIR windows counted from 2017 -> one year earlier", 2018, "DCIR", date(2012, 1, 1)),
    ("2019 is not a reset year: windows of 2019 only", 2019, "PMSI", date(2009, 1, 1)),
]


@pytest.mark.parametrize("case,year,family,start", CASES, ids=[c[0] for c in CASES])
def test_load_start_covers_the_starting_rate_year(case, year, family, start):
    assert load_periods(year)[family][0] == start, case


def test_reference_years():
    assert reference_years(2018) == (2018, 2017)
    assert reference_years(2019) == (2019,)


def test_a_load_cut_before_the_starting_rate_window_is_an_error():
    """A PMSI load from 2008 covers END-03 for 2018 but cuts its 2017 starting rate."""
    periods = load_periods(2018)
    periods["PMSI"] = (date(2008, 1, 1), periods["PMSI"][1])
    with pytest.raises(LoadWindowError, match=r"END-03 .*starting rate, 2017.*2007-01-01"):
        check_windows(periods, 2018)
