"""Properties of the arithmetic rules, over inputs Hypothesis draws: shares that add up to the
cent (or kWh), each within one unit of its exact value, and month windows of exactly N months.

Expected values are restated here from first principles (calendar, Fraction, Decimal), never
from the code under test.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain import billing, consumption, invoicing

CENT = Decimal("0.01")

amounts = st.decimals(
    min_value=-1_000_000, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False
)
exact_parts = st.decimals(
    min_value=-100_000, max_value=100_000, places=6, allow_nan=False, allow_infinity=False
)
weights = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
month_counts = st.sampled_from([1, 3, billing.MAX_SUMMARY_MONTHS, billing.MAX_SEARCH_MONTHS, 24])


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


# -- invoicing.split_exact and allocate (money, to the cent) ----------------------------------


@given(st.lists(exact_parts, max_size=30))
def test_split_exact_adds_up_to_the_rounded_total_each_part_within_a_cent(
    parts: list[Decimal],
) -> None:
    shares = invoicing.split_exact(parts)
    assert len(shares) == len(parts)
    assert sum(shares, Decimal(0)) == to_cent(sum(parts, Decimal(0)))
    for share, part in zip(shares, parts, strict=True):
        assert share == share.quantize(CENT)
        assert abs(share - part) < CENT


@given(st.lists(exact_parts, min_size=2, max_size=30))
def test_split_exact_rounds_up_the_largest_remainders_first(parts: list[Decimal]) -> None:
    shares = invoicing.split_exact(parts)
    remainder = [part - part.quantize(CENT, rounding="ROUND_FLOOR") for part in parts]
    raised = [i for i, (s, p) in enumerate(zip(shares, parts, strict=True)) if s > p]
    kept = [i for i in range(len(parts)) if i not in raised]
    if raised and kept:
        assert min(remainder[i] for i in raised) >= max(remainder[i] for i in kept)


@given(amounts, st.lists(weights, min_size=1, max_size=20))
@example(Decimal("-107.08"), [566, 123, 4000, 1])
@example(Decimal("0.01"), [0, 0, 0])
def test_allocate_adds_up_exactly_each_share_within_a_cent_of_its_exact_share(
    amount: Decimal, weights: list[Decimal | int]
) -> None:
    shares = invoicing.allocate(amount, weights)
    assert len(shares) == len(weights)
    assert sum(shares, Decimal(0)) == amount
    exact = [Fraction(w) for w in weights]
    total = sum(exact, Fraction(0)) or None
    for share, weight in zip(shares, exact, strict=True):
        assert share == share.quantize(CENT)
        expected = Fraction(amount) * weight / total if total else Fraction(amount) / len(weights)
        assert abs(Fraction(share) - expected) < Fraction(1, 100)


@given(amounts, st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=20))
def test_allocate_gives_a_bigger_weight_no_smaller_share(
    amount: Decimal, weights: list[int]
) -> None:
    shares = invoicing.allocate(abs(amount), weights)
    for i, j in zip(range(len(weights)), range(1, len(weights)), strict=False):
        if weights[i] > weights[j]:
            assert shares[i] >= shares[j]
        elif weights[i] < weights[j]:
            assert shares[i] <= shares[j]


# -- consumption.split_exact (kWh, whole units) -------------------------------------------------

fractions = st.fractions(min_value=0, max_value=1000, max_denominator=10_000)


@given(
    st.integers(min_value=-(10**9), max_value=10**9),
    st.lists(fractions, min_size=1, max_size=31).filter(lambda ws: sum(ws) > 0),
)
def test_kwh_split_adds_up_each_part_within_one_kwh(total: int, shares: list[Fraction]) -> None:
    parts = consumption.split_exact(total, shares)
    assert len(parts) == len(shares)
    assert sum(parts) == total
    weight_sum = sum(shares, Fraction(0))
    for part, share in zip(parts, shares, strict=True):
        assert abs(part - Fraction(total) * share / weight_sum) < 1


@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=1, max_value=12))
def test_kwh_split_with_no_weight_keeps_the_total_on_the_first(total: int, count: int) -> None:
    assert consumption.split_exact(total, [Fraction(0)] * count) == [total] + [0] * (count - 1)


# -- billing: add_months and the 12- and 6-month windows ---------------------------------------


@given(days, st.integers(min_value=-240, max_value=240))
def test_add_months_moves_by_calendar_months_and_clamps_to_the_last_day(
    day: date, months: int
) -> None:
    moved = billing.add_months_clamped(day, months)
    assert month_index(moved) == month_index(day) + months
    assert moved.day == min(day.day, last_day(moved.year, moved.month))


@given(days.filter(lambda d: d.day <= 28), st.integers(min_value=-240, max_value=240))
def test_add_months_comes_back_when_no_clamping_happened(day: date, months: int) -> None:
    assert billing.add_months_clamped(billing.add_months_clamped(day, months), -months) == day


@given(days.filter(lambda d: d.day <= 28), month_counts)
def test_a_window_of_n_months_is_not_more_than_n_one_more_day_is(start: date, months: int) -> None:
    # [start, the same date N months later[ spans exactly N calendar months (away from month
    # ends, where "the same date" is clamped and the window is measured back from its end)
    following = billing.add_months_clamped(start, months)
    assert not billing.spans_more_than(start, following - timedelta(days=1), months)
    assert billing.spans_more_than(start, following, months)


@given(days, month_counts)
def test_the_default_window_ends_today_and_cannot_start_a_day_earlier(
    today: date, months: int
) -> None:
    start, end = billing.default_window(today, months)
    assert end == today
    assert start <= today
    assert billing.spans_more_than(start - timedelta(days=1), end, months)


@given(days.filter(lambda d: d.day < last_day(d.year, d.month)), month_counts)
def test_the_default_window_is_accepted_by_its_own_limit(today: date, months: int) -> None:
    # (the last day of a month is the exception pinned below)
    start, end = billing.default_window(today, months)
    assert not billing.spans_more_than(start, end, months)


@pytest.mark.parametrize(
    ("today", "months"),
    [
        (date(2026, 9, 30), billing.MAX_SUMMARY_MONTHS),
        (date(2027, 2, 28), billing.MAX_SUMMARY_MONTHS),
        (date(2029, 2, 28), billing.MAX_SEARCH_MONTHS),
    ],
)
def test_the_default_window_on_a_months_last_day(today: date, months: int) -> None:
    start, end = billing.default_window(today, months)
    assert not billing.spans_more_than(start, end, months)


@given(days, st.integers(min_value=1, max_value=36))
def test_whole_months_by_default_are_the_n_calendar_months_ending_with_todays(
    today: date, months: int
) -> None:
    first, last = billing.whole_months(None, None, today=today, months=months)
    assert first.day == 1
    assert last.month == today.month and last.year == today.year
    assert last.day == last_day(today.year, today.month)
    assert month_index(today) - month_index(first) == months - 1
    assert billing.month_span(first, last) == months
