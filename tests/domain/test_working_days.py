"""The working-day calendar: weekends and French public holidays (metropolitan France)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    add_working_days,
    is_working_day,
    latest_start_overdue_on,
    working_days_between,
)

DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
COUNTS = st.integers(min_value=-60, max_value=60).filter(bool)  # 0 may move to a working day


def test_public_holidays_are_not_working_days() -> None:
    assert not is_working_day(date(2026, 7, 14))  # Fête nationale, a Tuesday
    assert not is_working_day(date(2026, 5, 14))  # Ascension, a Thursday
    assert not is_working_day(date(2026, 5, 25))  # Whit Monday
    assert not is_working_day(date(2026, 5, 1))
    assert not is_working_day(date(2026, 12, 25))
    assert is_working_day(date(2026, 5, 15))  # the bridge Friday is worked


def test_ascension_bridge_weekend() -> None:
    # Wednesday 13 May 2026 + 1 working day skips Ascension Thursday: Friday 15.
    assert add_working_days(date(2026, 5, 13), 1) == date(2026, 5, 15)
    # + 2 crosses the weekend: Monday 18.
    assert add_working_days(date(2026, 5, 13), 2) == date(2026, 5, 18)


def test_fourteenth_of_july() -> None:
    # Monday 13 July 2026 + 1: Tuesday 14 is a holiday, so Wednesday 15.
    assert add_working_days(date(2026, 7, 13), 1) == date(2026, 7, 15)
    # Friday 10 July + 2: Monday 13, then Wednesday 15.
    assert add_working_days(date(2026, 7, 10), 2) == date(2026, 7, 15)


def test_zero_moves_to_a_working_day() -> None:
    assert add_working_days(date(2026, 7, 14), 0) == date(2026, 7, 15)
    assert add_working_days(date(2026, 7, 15), 0) == date(2026, 7, 15)


@given(DAYS, st.integers(min_value=1, max_value=60))
def test_lands_on_a_working_day_after_start(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert is_working_day(end)
    assert end > start
    # Exactly n working days after start up to end, counted one day at a time.
    counted = sum(
        1 for k in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=k))
    )
    assert counted == n


@given(DAYS, COUNTS)
def test_counting_back_is_the_inverse(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if is_working_day(start):
        assert add_working_days(end, -n) == start


@given(DAYS, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_additive(start: date, a: int, b: int) -> None:
    if is_working_day(start):
        assert add_working_days(add_working_days(start, a), b) == add_working_days(start, a + b)


@given(DAYS)
def test_weekends_never_work(day: date) -> None:
    if day.weekday() >= 5:
        assert not is_working_day(day)


@given(DAYS, st.integers(min_value=1, max_value=10), st.integers(min_value=0, max_value=40))
def test_overdue_bound_splits_the_days(today: date, n: int, back: int) -> None:
    """A step started on `start` is overdue by `today` exactly when `start` is on or before the
    bound: the one SQL comparison the `overdue` filter makes."""
    start = today - timedelta(days=back)
    overdue = today > add_working_days(start, n)
    assert overdue == (start <= latest_start_overdue_on(today, n))


def test_overdue_bound_across_ascension() -> None:
    # Monday 18 May 2026: a request submitted on Wednesday 13 was due Monday 18 (Ascension
    # Thursday and the weekend skipped), so not yet overdue; one of Tuesday 12 was due Friday 15.
    assert latest_start_overdue_on(date(2026, 5, 18), 2) == date(2026, 5, 12)
