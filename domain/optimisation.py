"""Tariff optimisation: the distribution tariff grids as data, and the yearly study of a site.

Every year, after the distributor refreshes the CAR (1 April), the supplier studies each site:
its yearly consumption, what it would cost under each distribution option it may choose, and
whether another option pays off once the distributor's fee for the change and the special
reading it needs are paid. Everything here is pure: the grids are values handed in, the
readings are plain points, the result a plain value.

What a grid prices is what differs between options: the distribution part (gas: the ATRD
option's fixed yearly subscription and proportional price; electricity C5: the TURPE fixed
part of a subscribed power and option, and the per-register prices of the option) and the CTA
that follows the fixed part. The supply's own subscription and the taxes per kWh are the same
whichever option is chosen, so they cancel out of the comparison and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.consumption import Interval, MeterBasis, ReadingPoint, intervals_of
from domain.enums import Energy, ReadingSource

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The register a single-register option prices (gas, electricity BASE).
BASE = "BASE"
# Readings that count as "actual" for the study: the distributor's own, and a special reading.
ACTUAL_SOURCES = frozenset({ReadingSource.DISTRIBUTOR_ACTUAL, ReadingSource.SPECIAL})
# A year of readings: the intervals must cover at least this many of the last 365 days for the
# readings to be used instead of the CAR (a meter read every six months gives 365).
MIN_COVERED_DAYS = 330
YEAR_DAYS = 365
# Days a member has to answer a proposal.
ANSWER_DAYS = 30
# The usual threshold agreed with a coordinator (net gain, € excl. VAT a year): the command's
# default; the ADMIN's mutation names its own.
DEFAULT_THRESHOLD = Decimal("500")


def money(value: Decimal) -> Decimal:
    """Euros rounded half up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class ProposalStatus(StrEnum):
    """What was done with a proposal (stored)."""

    PROPOSED = "PROPOSED"  # sent, awaiting the member's answer
    ACCEPTED = "ACCEPTED"  # the "Optimisation" technical request was filed
    DECLINED = "DECLINED"
    SUPERSEDED = "SUPERSEDED"  # a later campaign studied the site again before an answer


class ProposalState(StrEnum):
    """A proposal as people follow it: the stored status, the deadline and the technical
    request's progress together."""

    PROPOSED = "PROPOSED"
    EXPIRED = "EXPIRED"  # no answer within the 30 days
    ACCEPTED = "ACCEPTED"  # request filed, the change not done yet
    CARRIED_OUT = "CARRIED_OUT"  # the distributor made the change (request DONE)
    CANCELLED = "CANCELLED"  # request abandoned or rejected
    DECLINED = "DECLINED"
    SUPERSEDED = "SUPERSEDED"


class ConsumptionBasis(StrEnum):
    """Where the yearly consumption of a study comes from."""

    CAR = "CAR"
    READINGS = "READINGS"


@dataclass(frozen=True, slots=True)
class OptionPrice:
    """One option of a grid: gas T1…T4 (no power), or electricity C5 power × option."""

    option: str
    fixed_yearly: Decimal  # € excl. VAT per year: the fixed part the CTA applies to
    prices: Mapping[str, Decimal]  # € excl. VAT per kWh, by register (BASE, HP, HC)
    cta_rate: Decimal  # share of the fixed part
    subscribed_power_kva: Decimal | None = None

    @property
    def key(self) -> tuple[str, Decimal | None]:
        return self.option, self.subscribed_power_kva

    @property
    def label(self) -> str:
        if self.subscribed_power_kva is None:
            return self.option
        return f"{self.option} {self.subscribed_power_kva.normalize():f} kVA"


@dataclass(frozen=True, slots=True)
class TariffGrid:
    """A distributor's grid in force from `valid_from`, with the one-off costs of a change."""

    energy: Energy
    version: str
    valid_from: date
    options: tuple[OptionPrice, ...]
    change_fee: Decimal  # the distributor's fee for a tariff change, € excl. VAT
    special_reading_fee: Decimal  # the special reading the change needs, € excl. VAT
    # Share of off-peak hours when a site's consumption is known only as a total (the CAR, or
    # a single-register meter studied for an HP/HC option).
    off_peak_share: Decimal = Decimal("0.38")
    source: str = ""

    @property
    def one_off_fees(self) -> Decimal:
        return self.change_fee + self.special_reading_fee


def grid_in_force(grids: Iterable[TariffGrid], energy: Energy, on: date) -> TariffGrid | None:
    """The grid of this energy in force on that day (the latest `valid_from` not after it)."""
    candidates = [g for g in grids if g.energy is energy and g.valid_from <= on]
    return max(candidates, key=lambda g: g.valid_from, default=None)


# -- the yearly consumption ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YearlyConsumption:
    """kWh per year by register (one BASE entry when only the total is known)."""

    by_register: Mapping[str, int]
    basis: ConsumptionBasis
    period_from: date | None = None  # the readings' window, for READINGS
    period_to: date | None = None

    @property
    def total_kwh(self) -> int:
        return sum(self.by_register.values())


def yearly_consumption(
    car_kwh: int,
    readings: Iterable[ReadingPoint],
    meters: Sequence[MeterBasis],
    *,
    as_of: date,
) -> YearlyConsumption:
    """The last 12 months of actual readings when they cover a year, else the CAR.

    The window ends at the last actual reading on or before `as_of`; each register's intervals
    between consecutive actual readings inside the window are added up and brought to 365
    days. The readings are used only when every register covers at least MIN_COVERED_DAYS.
    """
    # A StrEnum member hashes as its value: stored strings are looked up without an enum call.
    actual = [r for r in readings if r.source in ACTUAL_SOURCES and r.read_on <= as_of]
    by_meter = {m.id: m for m in meters}
    if not actual:
        return YearlyConsumption({BASE: car_kwh}, ConsumptionBasis.CAR)
    end = max(r.read_on for r in actual)
    start = end - timedelta(days=YEAR_DAYS)
    registers = sorted({str(r.register) for r in actual})
    by_register: dict[str, int] = {}
    first_day = end
    for register in registers:
        points = [r for r in actual if str(r.register) == register and start <= r.read_on <= end]
        intervals: list[Interval] = intervals_of(points, by_meter)
        covered = sum((i.until - i.after).days for i in intervals)
        if covered < MIN_COVERED_DAYS:
            return YearlyConsumption({BASE: car_kwh}, ConsumptionBasis.CAR)
        kwh = sum(i.kwh for i in intervals)
        by_register[register] = max(0, round(kwh * YEAR_DAYS / covered))
        first_day = min(first_day, *(i.after for i in intervals))
    return YearlyConsumption(by_register, ConsumptionBasis.READINGS, first_day, end)


# -- the cost of an option ----------------------------------------------------------------------


def _kwh_by_priced_register(
    option: OptionPrice, consumption: YearlyConsumption, off_peak_share: Decimal
) -> dict[str, Decimal]:
    """The consumption laid on the option's registers: a single-price option takes the total;
    an HP/HC option takes the measured split, or the total split by the grid's off-peak share."""
    total = Decimal(consumption.total_kwh)
    if set(option.prices) == {BASE}:
        return {BASE: total}
    if set(option.prices) <= set(consumption.by_register):
        return {r: Decimal(consumption.by_register[r]) for r in option.prices}
    if set(option.prices) == {"HP", "HC"}:
        off_peak = total * off_peak_share
        return {"HP": total - off_peak, "HC": off_peak}
    raise ValueError(f"option {option.option} prices registers {sorted(option.prices)}")


def yearly_cost(option: OptionPrice, consumption: YearlyConsumption, grid: TariffGrid) -> Decimal:
    """€ excl. VAT per year under this option: fixed part + its CTA + kWh × prices."""
    kwh = _kwh_by_priced_register(option, consumption, grid.off_peak_share)
    variable = sum((kwh[r] * price for r, price in option.prices.items()), Decimal(0))
    return money(option.fixed_yearly * (1 + option.cta_rate) + variable)


# -- the study ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteToStudy:
    energy: Energy
    tariff_option: str
    subscribed_power_kva: Decimal | None
    car_kwh: int


@dataclass(frozen=True, slots=True)
class OptionCost:
    option: str
    subscribed_power_kva: Decimal | None
    yearly_cost: Decimal

    @property
    def label(self) -> str:
        return OptionPrice(self.option, ZERO, {}, ZERO, self.subscribed_power_kva).label


@dataclass(frozen=True, slots=True)
class Study:
    """A site's study: the cost under each allowed option and what switching would gain."""

    consumption: YearlyConsumption
    current: OptionCost
    options: tuple[OptionCost, ...]  # every allowed option, the current one included
    best: OptionCost
    fees: Decimal
    grid_version: str

    @property
    def gross_gain(self) -> Decimal:
        return self.current.yearly_cost - self.best.yearly_cost

    @property
    def net_gain(self) -> Decimal:
        """The first year's gain, net of the one-off fees; 0 when nothing is proposed."""
        return self.gross_gain - self.fees if self.proposes_change else ZERO

    @property
    def proposes_change(self) -> bool:
        return self.best.option != self.current.option or (
            self.best.subscribed_power_kva != self.current.subscribed_power_kva
        )


def allowed_options(grid: TariffGrid, site: SiteToStudy) -> list[OptionPrice]:
    """What the site may switch to. Gas: every option of the grid. Electricity C5: the other
    options at the site's subscribed power (lowering the power needs the load curve, which the
    study does not have; raising it only costs more)."""
    if grid.energy is Energy.GAS:
        return list(grid.options)
    # Decimal equality ignores the exponent: 9 kVA is 9.0 kVA.
    return [o for o in grid.options if o.subscribed_power_kva == site.subscribed_power_kva]


def current_option(options: Iterable[OptionPrice], site: SiteToStudy) -> OptionPrice | None:
    """The site's option among the allowed ones (None when the grid does not have it)."""
    for option in options:
        if option.option == site.tariff_option:
            return option
    return None


def study_site(site: SiteToStudy, consumption: YearlyConsumption, grid: TariffGrid) -> Study | None:
    """The study, or None when the site's current option is not in the grid (nothing to
    compare with). The best option is the cheapest; on a tie the current one stays."""
    allowed = allowed_options(grid, site)
    current = current_option(allowed, site)
    if current is None:
        return None
    costs = [
        OptionCost(o.option, o.subscribed_power_kva, yearly_cost(o, consumption, grid))
        for o in allowed
    ]
    current_cost = next(c for c in costs if c.option == current.option)
    best = current_cost
    for cost in costs:
        if cost.yearly_cost < best.yearly_cost:
            best = cost
    return Study(
        consumption=consumption,
        current=current_cost,
        options=tuple(costs),
        best=best,
        fees=money(grid.one_off_fees),
        grid_version=grid.version,
    )


def worth_proposing(study: Study, threshold: Decimal) -> bool:
    """A proposal goes out when another option is cheaper and its first-year gain net of the
    fees reaches the threshold agreed with the coordinator (never a loss: the gross gain is
    positive whatever the threshold)."""
    return study.proposes_change and study.gross_gain > 0 and study.net_gain >= threshold


def answer_deadline(proposed_on: date) -> date:
    return proposed_on + timedelta(days=ANSWER_DAYS)


def in_second_year_of_supply(supply_start: date, as_of: date) -> bool:
    """The study runs from the second year of supply: a full year of the site is known."""
    return supply_start <= as_of - timedelta(days=YEAR_DAYS)
