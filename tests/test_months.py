"""One month arithmetic for retention periods and request deadlines (issue 21),
property-tested against dateutil's relativedelta."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from finprivacy.clock import add_months
from finprivacy.errors import RetentionError
from finprivacy.retention import add_duration
from finprivacy.rights import add_months as rights_add_months

relativedelta = pytest.importorskip("dateutil.relativedelta").relativedelta

DAYS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))


@given(DAYS, st.integers(min_value=-1200, max_value=1200))
def test_add_months_is_relativedelta(day: dt.date, months: int) -> None:
    assert add_months(day, months) == day + relativedelta(months=months)


@given(DAYS, st.integers(0, 60), st.integers(0, 24), st.integers(0, 400))
def test_add_duration_is_relativedelta_then_days(day: dt.date, years: int, months: int,
                                                 days: int) -> None:
    expected = day + relativedelta(years=years, months=months) + dt.timedelta(days=days)
    assert add_duration(day, years, months, days) == expected


def test_one_helper_serves_both() -> None:
    assert rights_add_months is add_months
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2023, 1, 31), 1) == dt.date(2023, 2, 28)
    assert add_duration(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


def test_past_the_calendar_is_a_typed_error() -> None:
    with pytest.raises(RetentionError, match="9999"):
        add_duration(dt.date(9990, 1, 1), 30)
    with pytest.raises(OverflowError):
        add_months(dt.date(9999, 12, 1), 1)
