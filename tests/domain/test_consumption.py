"""The monthly series of a site from its readings, and the billed breakdown of a perimeter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.consumption import (
    BilledPeriod,
    ConsumptionKind,
    MeterBasis,
    ReadingPoint,
    SiteBasis,
    month_count,
    monthly_series,
    months_of,
    parse_month,
    split_exact,
    spread_billed_periods,
)
from domain.consumption_profile import monthly_shares
from domain.enums import IndexBasis, ReadingSource

ACTUAL = ReadingSource.DISTRIBUTOR_ACTUAL
ESTIMATED = ReadingSource.SUPPLIER_ESTIMATED
SELF = ReadingSource.SELF_READING

SITE = SiteBasis(car_kwh=12_000, profile="PRO1", supply_start=date(2020, 1, 1), supply_end=None)
METER = MeterBasis(id=1, digits=6, coefficient=Decimal(1))
TODAY = date(2026, 11, 15)


def reading(day: date, index: int, source: ReadingSource = ACTUAL, **kw: object) -> ReadingPoint:
    return ReadingPoint(
        meter_id=kw.get("meter_id", 1),  # type: ignore[arg-type]
        register=kw.get("register", "BASE"),  # type: ignore[arg-type]
        read_on=day,
        index_value=index,
        source=source,
        rollover=bool(kw.get("rollover", False)),
    )


def series(readings: list[ReadingPoint], start: str, end: str, **kw: object) -> list:
    return monthly_series(
        kw.get("site", SITE),  # type: ignore[arg-type]
        kw.get("meters", [METER]),  # type: ignore[arg-type]
        readings,
        start=parse_month(start),
        end=parse_month(end),
        today=kw.get("today", TODAY),  # type: ignore[arg-type]
    )


def test_months_are_parsed_strictly() -> None:
    # given / when / then
    assert parse_month("2026-03") == date(2026, 3, 1)
    for bad in ("2026-13", "2026-3", "26-03", "2026-03-01", "", "mars"):
        with pytest.raises(ValueError):
            parse_month(bad)
    assert month_count(date(2025, 11, 1), date(2027, 10, 1)) == 24
    assert len(months_of(date(2025, 11, 1), date(2026, 2, 1))) == 4


def test_month_end_readings_give_actual_months() -> None:
    # given: actual readings at each month end
    readings = [
        reading(date(2026, 1, 31), 1000),
        reading(date(2026, 2, 28), 1900),
        reading(date(2026, 3, 31), 2500),
    ]
    # when
    result = series(readings, "2026-02", "2026-03")
    # then
    assert [(m.kwh, m.kind) for m in result] == [
        (900, ConsumptionKind.ACTUAL),
        (600, ConsumptionKind.ACTUAL),
    ]


def test_an_estimated_closing_index_marks_the_month_estimated() -> None:
    # given: February closes on a supplier estimate, March on an actual index
    readings = [
        reading(date(2026, 1, 31), 1000),
        reading(date(2026, 2, 28), 1900, ESTIMATED),
        reading(date(2026, 3, 31), 2500),
    ]
    # when
    result = series(readings, "2026-02", "2026-03")
    # then
    assert [m.kind for m in result] == [ConsumptionKind.ESTIMATED, ConsumptionKind.ACTUAL]


def test_a_regularisation_below_the_estimate_is_negative_and_shown() -> None:
    # given: the estimate ran ahead of what the actual index then showed
    readings = [
        reading(date(2026, 1, 31), 1000),
        reading(date(2026, 2, 28), 1900, ESTIMATED),
        reading(date(2026, 3, 31), 1700),
    ]
    # when
    result = series(readings, "2026-02", "2026-03")
    # then: March settles February's estimate: -200 kWh, actual
    assert [(m.kwh, m.kind) for m in result] == [
        (900, ConsumptionKind.ESTIMATED),
        (-200, ConsumptionKind.ACTUAL),
    ]
    assert sum(m.kwh for m in result) == 700


def test_an_actual_index_beats_an_estimate_of_the_same_day() -> None:
    # given
    readings = [
        reading(date(2026, 1, 31), 1000),
        reading(date(2026, 2, 28), 5000, ESTIMATED),
        reading(date(2026, 2, 28), 1800),
    ]
    # when
    result = series(readings, "2026-02", "2026-02")
    # then
    assert (result[0].kwh, result[0].kind) == (800, ConsumptionKind.ACTUAL)


def test_consumption_across_months_is_spread_by_profile_shares() -> None:
    # given: a heating gas site read on 31 December and 30 April only
    site = SiteBasis(car_kwh=20_000, profile="P012", supply_start=date(2020, 1, 1), supply_end=None)
    readings = [reading(date(2025, 12, 31), 10_000), reading(date(2026, 4, 30), 22_000)]
    # when
    result = series(readings, "2026-01", "2026-04", site=site)
    # then: 12,000 kWh over four months, heavier in January, summing exactly
    assert sum(m.kwh for m in result) == 12_000
    shares = monthly_shares("P012")[:4]
    expected = split_exact(12_000, list(shares))
    assert [m.kwh for m in result] == expected
    assert result[0].kwh > result[3].kwh
    assert all(m.kind is ConsumptionKind.ACTUAL for m in result)


def test_a_rollover_counts_one_turn_of_the_meter() -> None:
    # given: a 5-digit meter that wrapped from 99,800 to 300
    meter = MeterBasis(id=1, digits=5, coefficient=Decimal(1))
    readings = [
        reading(date(2026, 1, 31), 99_800),
        reading(date(2026, 2, 28), 300, rollover=True),
    ]
    # when
    result = series(readings, "2026-02", "2026-02", meters=[meter])
    # then
    assert result[0].kwh == 500


def test_gas_indexes_are_converted_with_the_coefficient_and_registers_summed() -> None:
    # given: gas in m³ (coefficient 11.2) and an electricity meter with HP/HC
    gas = MeterBasis(id=1, digits=6, coefficient=Decimal("11.2"))
    readings = [reading(date(2026, 1, 31), 100), reading(date(2026, 2, 28), 200)]
    assert series(readings, "2026-02", "2026-02", meters=[gas])[0].kwh == 1120
    hp_hc = [
        reading(date(2026, 1, 31), 100, register="HP"),
        reading(date(2026, 2, 28), 400, register="HP"),
        reading(date(2026, 1, 31), 50, register="HC"),
        reading(date(2026, 2, 28), 150, register="HC"),
    ]
    # when / then
    assert series(hp_hc, "2026-02", "2026-02")[0].kwh == 400


def test_months_without_readings_are_estimated_from_the_car() -> None:
    # given: no reading at all
    # when
    result = series([], "2026-01", "2026-12", today=date(2027, 1, 10))
    # then: the CAR shaped by the profile, every month estimated
    assert all(m.kind is ConsumptionKind.ESTIMATED for m in result)
    assert abs(sum(m.kwh for m in result) - 12_000) <= 12
    january = Fraction(12_000) * monthly_shares("PRO1")[0]
    assert result[0].kwh == round(january)


def test_the_uncovered_tail_of_a_month_is_estimated_and_marks_it() -> None:
    # given: readings stop mid-March; today is 31 March
    readings = [reading(date(2026, 2, 28), 1000), reading(date(2026, 3, 15), 1200)]
    # when
    result = series(readings, "2026-03", "2026-03", today=date(2026, 3, 31))
    # then: 200 kWh read plus 16 days estimated from the CAR
    share = Fraction(12_000) * monthly_shares("PRO1")[2] * 16 / 31
    assert result[0].kind is ConsumptionKind.ESTIMATED
    assert result[0].kwh == 200 + round(share)


def test_days_in_the_future_are_not_estimated() -> None:
    # given: today is the 10th, last reading at the previous month end
    readings = [reading(date(2026, 2, 28), 1000)]
    # when
    result = series(readings, "2026-03", "2026-03", today=date(2026, 3, 10))
    # then: only 10 days of estimate
    assert result[0].kwh == round(Fraction(12_000) * monthly_shares("PRO1")[2] * 10 / 31)


def test_months_outside_the_supply_period_are_no_supply() -> None:
    # given: supplied from 15 March 2026 (switch index read that day), ended 31 May
    site = SiteBasis(
        car_kwh=12_000, profile="PRO1", supply_start=date(2026, 3, 15), supply_end=date(2026, 5, 31)
    )
    readings = [
        reading(date(2026, 3, 15), 0, ReadingSource.SPECIAL),
        reading(date(2026, 3, 31), 400),
        reading(date(2026, 4, 30), 1100),
        reading(date(2026, 5, 31), 1800),
    ]
    # when
    result = series(readings, "2026-02", "2026-06", site=site)
    # then
    assert [(m.kwh, m.kind) for m in result] == [
        (0, ConsumptionKind.NO_SUPPLY),
        (400, ConsumptionKind.ACTUAL),
        (700, ConsumptionKind.ACTUAL),
        (700, ConsumptionKind.ACTUAL),
        (0, ConsumptionKind.NO_SUPPLY),
    ]


def test_a_meter_change_keeps_both_meters_intervals() -> None:
    # given: the old meter removed on 15 February, the new one read from that day
    old, new = MeterBasis(1, 5, Decimal(1)), MeterBasis(2, 6, Decimal(1))
    readings = [
        reading(date(2026, 1, 31), 5000, meter_id=1),
        reading(date(2026, 2, 15), 5300, ReadingSource.SPECIAL, meter_id=1),
        reading(date(2026, 2, 15), 0, ReadingSource.SPECIAL, meter_id=2),
        reading(date(2026, 2, 28), 250, meter_id=2),
    ]
    # when
    result = series(readings, "2026-02", "2026-02", meters=[old, new])
    # then
    assert (result[0].kwh, result[0].kind) == (550, ConsumptionKind.ACTUAL)


def test_self_readings_count_as_actual() -> None:
    # given
    readings = [reading(date(2026, 1, 31), 1000), reading(date(2026, 2, 28), 1500, SELF)]
    # when / then
    assert series(readings, "2026-02", "2026-02")[0].kind is ConsumptionKind.ACTUAL


@pytest.mark.parametrize("total", [0, 1, 7, 1000, -1, -999, 123_457])
def test_split_exact_adds_up(total: int) -> None:
    # given / when
    parts = split_exact(total, [Fraction(1, 3), Fraction(1, 3), Fraction(1, 3), Fraction(1, 7)])
    # then
    assert sum(parts) == total
    assert max(parts) - min(parts[:3]) <= 1 or total < 0


def test_billed_periods_are_spread_by_days_with_negatives_kept() -> None:
    # given: a bimonthly invoice, a credit note regularising March, an estimate in April
    periods = [
        BilledPeriod(date(2026, 1, 1), date(2026, 2, 28), IndexBasis.ACTUAL, 5900),
        BilledPeriod(date(2026, 3, 1), date(2026, 3, 31), IndexBasis.ACTUAL, -300),
        BilledPeriod(date(2026, 4, 1), date(2026, 4, 30), IndexBasis.ESTIMATED, 800),
    ]
    # when
    months = spread_billed_periods(periods, start=date(2026, 1, 1), end=date(2026, 5, 1))
    # then
    assert [(m.kwh, m.estimated_kwh) for m in months] == [
        (3100, 0),
        (2800, 0),
        (-300, 0),
        (800, 800),
        (0, 0),
    ]


def test_a_billed_period_straddling_the_window_counts_its_inside_part_only() -> None:
    # given
    periods = [BilledPeriod(date(2025, 12, 1), date(2026, 1, 31), IndexBasis.ACTUAL, 620)]
    # when
    months = spread_billed_periods(periods, start=date(2026, 1, 1), end=date(2026, 1, 1))
    # then
    assert [m.kwh for m in months] == [310]
