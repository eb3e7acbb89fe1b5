"""Monthly consumption: a site's series from its readings, and a perimeter's from its invoices.

**A site's series (metering view).** Readings are end-of-day indexes on one register of one
meter. Between two consecutive readings of a register lies an *interval*: the days after the
first reading up to and including the second, with the consumption of `domain.readings`
(rollover-aware, converted to kWh with the meter's coefficient). Then:

- an interval is ACTUAL when its closing index was read (distributor actual, accepted
  self-reading, special reading), ESTIMATED when the closing index was estimated (distributor
  or supplier). The consumption up to an actual index settles whatever was estimated before
  it: that is the regularisation, and when the estimates ran ahead it is negative and shown
  as such (never clipped);
- when a register has an actual and an estimated index on the same day, the actual one is
  kept (the estimate was superseded);
- an interval's kWh are spread over the months it spans pro rata of the profile's monthly
  shares of the CAR (each day of a month weighs `share(month) / days in month`), and rounded
  by largest remainder so that the months of one interval add up exactly to its kWh;
- the days of the supply period (after the supply start day, up to the supply end and up to
  today) that no interval covers (no reading yet, a gap at a meter change, the tail of the
  current month) are estimated from the CAR: `CAR × share(month) × uncovered days / days in
  month`, rounded half up;
- a month is ACTUAL when everything in it comes from ACTUAL intervals, ESTIMATED as soon as
  an estimated interval or a CAR estimate contributes, and NO_SUPPLY when the site was not
  supplied at all that month and no reading covers it (0 kWh).

Registers are summed; a site's several meters (a replaced meter) simply contribute their own
intervals.

**A perimeter's breakdown (billing view).** What was invoiced, accounting by invoice period:
the per-site consumption of every invoice (invoices, credit notes and cancellations alike, so
a cancelled invoice and its cancellation net to zero and regularisations stay negative) is
spread over the months of its period pro rata of days, again by largest remainder. The SQL
groups by period; `spread_billed_periods` does the month arithmetic on those few rows.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from domain.consumption_profile import monthly_shares
from domain.enums import ESTIMATED_SOURCES, IndexBasis, ReadingSource, Register
from domain.readings import consumption_between, to_kwh
from domain.rounding import largest_remainder

MAX_MONTHS = 24
MAX_COMPARED_SITES = 4

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ConsumptionKind(StrEnum):
    ACTUAL = "ACTUAL"  # derived from read indexes only
    ESTIMATED = "ESTIMATED"  # an estimated index or a CAR estimate contributes
    NO_SUPPLY = "NO_SUPPLY"  # the site was not supplied that month (and nothing was read)


CONSUMPTION_KIND_LABELS: dict[ConsumptionKind, str] = {
    ConsumptionKind.ACTUAL: "Réel",
    ConsumptionKind.ESTIMATED: "Estimé",
    ConsumptionKind.NO_SUPPLY: "Hors fourniture",
}


# -- months --------------------------------------------------------------------------------


def parse_month(text: object) -> date:
    """ "2026-03" → date(2026, 3, 1); ValueError for anything else (a number included)."""
    match = _MONTH.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a YYYY-MM month: {text!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 9999):
        raise ValueError(f"not a YYYY-MM month: {text!r}")
    return date(year, month, 1)


def format_month(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def month_count(start: date, end: date) -> int:
    """Months from `start` to `end` inclusive (0 or less when `end` is before `start`)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def months_of(start: date, end: date) -> list[date]:
    """The first days of the months from `start` to `end` inclusive."""
    months = []
    year, month = start.year, start.month
    for _ in range(max(0, month_count(start, end))):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def days_in(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_end(month: date) -> date:
    return month.replace(day=days_in(month))


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


# -- plain data the functions work on --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteBasis:
    """What a site's estimates rest on."""

    car_kwh: int
    profile: str
    supply_start: date
    supply_end: date | None


@dataclass(frozen=True, slots=True)
class MeterBasis:
    id: int
    digits: int
    coefficient: Decimal


@dataclass(frozen=True, slots=True)
class ReadingPoint:
    """One counted reading (rejected self-readings are not given)."""

    meter_id: int
    register: Register | str
    read_on: date
    index_value: int
    source: ReadingSource | str
    rollover: bool = False


@dataclass(frozen=True, slots=True)
class MonthlyConsumption:
    month: date
    kwh: int
    kind: ConsumptionKind


@dataclass(frozen=True, slots=True)
class Interval:
    """Consumption over the days `after` < day ≤ `until`."""

    after: date
    until: date
    kwh: int
    estimated: bool


# -- spreading -------------------------------------------------------------------------------


def split_exact(total: int, weights: Sequence[Fraction]) -> list[int]:
    """`total` split pro rata of `weights` into integers that add up exactly to `total`
    (largest remainder, `domain/rounding.py`; negative totals too). Zero weights put it all
    on the first part."""
    weight_sum = sum(weights, Fraction(0))
    if not weights:
        return []
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    return largest_remainder([total * w / weight_sum for w in weights], total)


def _month_segments(after: date, until: date) -> list[tuple[date, int]]:
    """(month, days of the month in `after` < day ≤ `until`), in order."""
    segments: list[tuple[date, int]] = []
    first = after + timedelta(days=1)
    if first > until:
        return segments
    month = _month_of(first)
    while month <= until:
        start = max(first, month)
        end = min(until, month_end(month))
        segments.append((month, (end - start).days + 1))
        month = _next_month(month)
    return segments


def spread_by_profile(interval: Interval, profile: str) -> list[tuple[date, int]]:
    """An interval's kWh per month, pro rata of the profile's shares of each day."""
    first = interval.after + timedelta(days=1)
    if first.year == interval.until.year and first.month == interval.until.month:
        return [(_month_of(first), interval.kwh)]  # the usual case: readings at month ends
    shares = monthly_shares(profile)
    segments = _month_segments(interval.after, interval.until)
    weights = [shares[m.month - 1] * days / days_in(m) for m, days in segments]
    return list(zip((m for m, _ in segments), split_exact(interval.kwh, weights), strict=True))


# -- a site's series ---------------------------------------------------------------------------


def _rank(source: ReadingSource | str) -> int:
    """Which reading of a day wins: read indexes before estimates."""
    return 1 if ReadingSource(source) in ESTIMATED_SOURCES else 0


def intervals_of(readings: Iterable[ReadingPoint], meters: dict[int, MeterBasis]) -> list[Interval]:
    """The intervals between consecutive readings of each register of each meter."""
    by_register: dict[tuple[int, str], dict[date, ReadingPoint]] = defaultdict(dict)
    for reading in readings:
        if reading.meter_id not in meters:
            continue
        day_readings = by_register[(reading.meter_id, str(reading.register))]
        kept = day_readings.get(reading.read_on)
        if kept is None or (_rank(reading.source), str(reading.source)) < (
            _rank(kept.source),
            str(kept.source),
        ):
            day_readings[reading.read_on] = reading
    intervals: list[Interval] = []
    for (meter_id, _register), days in by_register.items():
        meter = meters[meter_id]
        ordered = [days[d] for d in sorted(days)]
        for previous, current in itertools.pairwise(ordered):
            step = consumption_between(
                previous.index_value,
                current.index_value,
                digits=meter.digits,
                rollover=current.rollover,
            )
            assert step is not None
            intervals.append(
                Interval(
                    after=previous.read_on,
                    until=current.read_on,
                    kwh=to_kwh(step.consumption, meter.coefficient),
                    estimated=ReadingSource(current.source) in ESTIMATED_SOURCES,
                )
            )
    return intervals


def _covered_ranges(
    intervals: Iterable[Interval], months: list[date]
) -> dict[date, list[tuple[int, int]]]:
    """Per month of the window, the ranges of days (first, last, inclusive) that some interval
    covers, without overlaps."""
    window = set(months)
    merged: list[list[date]] = []
    for interval in sorted(intervals, key=lambda i: (i.after, i.until)):
        if merged and interval.after <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], interval.until)
        else:
            merged.append([interval.after, interval.until])
    covered: dict[date, list[tuple[int, int]]] = defaultdict(list)
    for after, until in merged:
        first_day = after + timedelta(days=1)
        for month, days in _month_segments(after, until):
            if month in window:
                first = max(first_day, month).day
                covered[month].append((first, first + days - 1))
    return covered


def _supplied_range(site: SiteBasis, month: date, today: date) -> tuple[int, int] | None:
    """Days of `month` the site was supplied, up to today (the start day itself is the
    switch index's: consumption counts from the day after)."""
    first = max(month, site.supply_start + timedelta(days=1))
    last = min(month_end(month), today)
    if site.supply_end is not None:
        last = min(last, site.supply_end)
    if first > last:
        return None
    return first.day, last.day


def _uncovered_days(supplied: tuple[int, int] | None, covered: list[tuple[int, int]]) -> int:
    if supplied is None:
        return 0
    low, high = supplied
    inside = sum(max(0, min(high, b) - max(low, a) + 1) for a, b in covered)
    return high - low + 1 - inside


def monthly_series(
    site: SiteBasis,
    meters: Sequence[MeterBasis],
    readings: Iterable[ReadingPoint],
    *,
    start: date,
    end: date,
    today: date,
) -> list[MonthlyConsumption]:
    """The site's consumption for each month from `start` to `end` (first days of months)."""
    months = months_of(start, end)
    if not months:
        return []
    window_start, window_end = months[0], month_end(months[-1])
    intervals = [
        i
        for i in intervals_of(readings, {m.id: m for m in meters})
        if i.until >= window_start and i.after < window_end
    ]
    actual: dict[date, int] = defaultdict(int)
    estimated: dict[date, int] = defaultdict(int)
    touched_by_estimate: set[date] = set()
    for interval in intervals:
        for month, kwh in spread_by_profile(interval, site.profile):
            if not window_start <= month <= window_end:
                continue
            if interval.estimated:
                estimated[month] += kwh
                touched_by_estimate.add(month)
            else:
                actual[month] += kwh
    covered = _covered_ranges(intervals, months)
    shares = monthly_shares(site.profile)
    series: list[MonthlyConsumption] = []
    for month in months:
        uncovered = _uncovered_days(_supplied_range(site, month, today), covered.get(month, []))
        car_estimate = 0
        if uncovered:
            exact = site.car_kwh * shares[month.month - 1] * uncovered / days_in(month)
            car_estimate = int(
                (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP
                )
            )
        kwh = actual[month] + estimated[month] + car_estimate
        if uncovered or month in touched_by_estimate:
            kind = ConsumptionKind.ESTIMATED
        elif covered.get(month):
            kind = ConsumptionKind.ACTUAL
        else:
            kind = ConsumptionKind.NO_SUPPLY
        series.append(MonthlyConsumption(month, kwh, kind))
    return series


# -- a perimeter's billed breakdown ------------------------------------------------------------


class MonthRule(StrEnum):
    """Which month billed kWh count in. The supplier's rule (and every screen's default) is
    the month of the invoice; spreading over the invoice period is an explicit choice."""

    ACCOUNTING_MONTH = "ACCOUNTING_MONTH"  # the month of the invoice's accounting date
    PRO_RATA_DAYS = "PRO_RATA_DAYS"  # spread over the billed period's months by days


MONTH_RULE_DESCRIPTIONS: dict[MonthRule, str] = {
    MonthRule.ACCOUNTING_MONTH: "Chaque facture compte entièrement dans le mois de sa date "
    "comptable (la règle du fournisseur, et celle du résumé de l'accueil et des bilans).",
    MonthRule.PRO_RATA_DAYS: "Chaque facture est répartie sur les mois de sa période de "
    "facturation, au prorata des jours.",
}


@dataclass(frozen=True, slots=True)
class BilledInMonth:
    """The per-site consumption of invoices of one accounting month and index basis, summed."""

    month: date
    basis: IndexBasis | str
    kwh: int


def billed_by_accounting_month(
    rows: Iterable[BilledInMonth], *, start: date, end: date
) -> list[BilledMonth]:
    """Each month of the window with what its invoices billed (zero months included)."""
    months = months_of(start, end)
    total: dict[date, int] = defaultdict(int)
    estimated: dict[date, int] = defaultdict(int)
    for row in rows:
        total[row.month] += row.kwh
        if IndexBasis(row.basis) is IndexBasis.ESTIMATED:
            estimated[row.month] += row.kwh
    return [BilledMonth(m, total[m], estimated[m]) for m in months]


@dataclass(frozen=True, slots=True)
class BilledPeriod:
    """The per-site consumption of invoices sharing one period and index basis, summed."""

    period_start: date
    period_end: date
    basis: IndexBasis | str
    kwh: int


@dataclass(frozen=True, slots=True)
class BilledMonth:
    month: date
    kwh: int  # may be negative (regularisations, credit notes, cancellations)
    estimated_kwh: int  # the part billed on estimated indexes


def spread_billed_periods(
    periods: Iterable[BilledPeriod], *, start: date, end: date
) -> list[BilledMonth]:
    """Each month of the window with what was billed for it, pro rata of days."""
    months = months_of(start, end)
    window = set(months)
    total: dict[date, int] = defaultdict(int)
    estimated: dict[date, int] = defaultdict(int)
    for period in periods:
        segments = _month_segments(period.period_start - timedelta(days=1), period.period_end)
        parts = split_exact(period.kwh, [Fraction(days) for _, days in segments])
        is_estimated = IndexBasis(period.basis) is IndexBasis.ESTIMATED
        for (month, _days), kwh in zip(segments, parts, strict=True):
            if month in window:
                total[month] += kwh
                if is_estimated:
                    estimated[month] += kwh
    return [BilledMonth(m, total[m], estimated[m]) for m in months]
