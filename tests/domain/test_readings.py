"""Consumption between two indexes of a register, and the kind of a reading."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.enums import ReadingSource
from domain.readings import (
    ReadingKind,
    Step,
    consumption_between,
    is_estimated,
    is_plausible_wrap,
    kind_of,
    sources_of,
    to_kwh,
)


def test_first_reading_has_no_consumption() -> None:
    assert consumption_between(None, 1234, digits=5) is None


def test_consumption_is_the_difference_of_indexes() -> None:
    assert consumption_between(1000, 1450, digits=5) == Step(450, wrapped=False)


def test_a_flagged_rollover_counts_one_turn_of_the_meter() -> None:
    # given a 5-digit meter at 99,800 that shows 300 next time, flagged as a rollover
    # then 200 to reach 100,000 and 300 after it
    assert consumption_between(99_800, 300, digits=5, rollover=True) == Step(500, wrapped=True)


def test_an_unflagged_wrap_near_the_maximum_is_recognised() -> None:
    assert consumption_between(99_950, 40, digits=5) == Step(90, wrapped=True)


def test_a_small_drop_far_from_the_maximum_is_a_negative_consumption() -> None:
    # an estimate corrected by a lower actual index
    assert consumption_between(5_000, 4_800, digits=5) == Step(-200, wrapped=False)


def test_plausible_wrap_needs_a_lower_index() -> None:
    assert not is_plausible_wrap(10, 20, 5)
    assert is_plausible_wrap(90_000, 10, 5)
    assert not is_plausible_wrap(40_000, 10, 5)


def test_estimated_flag_follows_the_source() -> None:
    assert is_estimated(ReadingSource.DISTRIBUTOR_ESTIMATED)
    assert is_estimated("SUPPLIER_ESTIMATED")
    assert not is_estimated(ReadingSource.DISTRIBUTOR_ACTUAL)
    assert not is_estimated(ReadingSource.SELF_READING)
    assert not is_estimated(ReadingSource.SPECIAL)


def test_every_source_has_one_kind() -> None:
    assert {kind_of(s) for s in ReadingSource} == set(ReadingKind)
    assert sources_of([ReadingKind.ESTIMATED]) == {
        ReadingSource.DISTRIBUTOR_ESTIMATED,
        ReadingSource.SUPPLIER_ESTIMATED,
    }
    assert sources_of(list(ReadingKind)) == set(ReadingSource)


def test_gas_units_convert_to_kwh_with_the_coefficient() -> None:
    assert to_kwh(100, Decimal("11.2")) == 1120
    assert to_kwh(3, Decimal("11.25")) == 34  # 33.75 rounded half up
    assert to_kwh(-10, Decimal(1)) == -10


@pytest.mark.parametrize("digits", [4, 5, 9])
def test_a_meter_needs_digits(digits: int) -> None:
    with pytest.raises(ValueError):
        consumption_between(5, 1, digits=0)
    assert consumption_between(0, 10**digits - 1, digits=digits) == Step(10**digits - 1, False)


@given(
    digits=st.integers(min_value=4, max_value=9),
    start=st.integers(min_value=0),
    used=st.integers(min_value=0),
)
def test_a_true_consumption_below_half_the_range_is_always_found_back(
    digits: int, start: int, used: int
) -> None:
    # given a meter showing its running total modulo 10**digits
    modulus = 10**digits
    previous = start % modulus
    true = used % (modulus // 2)
    current = (previous + true) % modulus
    # when nothing is flagged, then the wrap (if any) is recognised and the consumption exact
    step = consumption_between(previous, current, digits=digits)
    assert step is not None
    assert step.consumption == true
    assert step.wrapped == (previous + true >= modulus)
