"""Consumption: the comparison of up to four sites month by month, and a perimeter's total.

- `compare_sites_consumption`: the metering view, from readings (see `domain.consumption`):
  three statements whatever the number of sites (sites, meters, readings).
- `perimeter_consumption`: the billing view, from the per-site invoice rows of every matching
  site (a site's share, never whole multi-site invoices). By default each invoice counts in
  the month of its accounting date, as on the home summary and the billing summaries; on
  request (`MonthRule.PRO_RATA_DAYS`) SQL sums per invoice period and index basis and the
  domain spreads those over the months pro rata of days. Invoices rather than readings
  because they are what the customer was billed, they carry regularisations (negative when
  the estimates ran ahead) as such, and the sum stays one indexed aggregate at full scale.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.portfolio import SiteCriteria, sites_matching
from db.core import INVOICES, METERS, READINGS, SHARES, SITES, core_rows
from db.models import Site
from db.scoped import (
    Perimeter,
    scoped_invoice_sites,
    scoped_sites,
)
from domain.consumption import (
    MAX_COMPARED_SITES,
    MAX_MONTHS,
    BilledInMonth,
    BilledMonth,
    BilledPeriod,
    MeterBasis,
    MonthlyConsumption,
    MonthRule,
    ReadingPoint,
    SiteBasis,
    billed_by_accounting_month,
    month_count,
    month_end,
    monthly_series,
    parse_month,
    spread_billed_periods,
)
from domain.enums import SelfReadingStatus
from domain.errors import ErrorCode, Refusal, not_found


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # first day of the first month
    end: date  # first day of the last month

    @property
    def last_day(self) -> date:
        return month_end(self.end)


def check_period(from_month: date | str, to_month: date | str, *, today: date) -> Period:
    """The months asked for, or a refusal: malformed, reversed, longer than 24 months, or
    ending after the current month (Paris time: `today`). A month is a date (the API's
    `Month` scalar has parsed it; any day stands for its month) or `YYYY-MM` text."""
    months: list[date] = []
    for value, field in ((from_month, "fromMonth"), (to_month, "toMonth")):
        if isinstance(value, date):
            months.append(value.replace(day=1))
            continue
        try:
            months.append(parse_month(value))
        except ValueError:
            raise Refusal(
                ErrorCode.INVALID, "Mois invalide : attendu AAAA-MM (ex. 2026-03).", field=field
            ) from None
    start, end = months
    if end < start:
        raise Refusal(
            ErrorCode.INVALID, "Le mois de fin précède le mois de début.", field="toMonth"
        )
    if month_count(start, end) > MAX_MONTHS:
        raise Refusal(
            ErrorCode.PERIOD_TOO_LONG,
            f"La période est limitée à {MAX_MONTHS} mois.",
            field="toMonth",
        )
    if end > today.replace(day=1):
        raise Refusal(
            ErrorCode.INVALID, "Le mois de fin ne peut pas être dans le futur.", field="toMonth"
        )
    return Period(start, end)


# -- the metering view: a few sites' monthly series ------------------------------------------

SITE_BASIS_COLUMNS = (
    SITES.c.id,
    SITES.c.car_kwh,
    SITES.c.profile,
    SITES.c.supply_start,
    SITES.c.supply_end,
)


@dataclass(frozen=True, slots=True)
class SiteSeries:
    site_id: int
    months: list[MonthlyConsumption]
    site: Any = None  # the site's row, when the caller wants to show it

    @property
    def total_kwh(self) -> int:
        return sum(m.kwh for m in self.months)


# How far before a period readings are read to find each register's previous index. A
# non-communicating meter is read at least twice a year and estimated in between, so the
# previous reading is always nearer; were it older, the days before the first reading in
# this window would simply be estimated from the CAR.
LOOKBACK_DAYS = 400


def counted_readings(site_ids: Sequence[int], since: date, until: date) -> Any:
    """Core select of the readings that count for consumption (rejected self-readings do
    not), for already-scoped sites, between two dates."""
    r = READINGS.c
    return (
        sa.select(
            r.site_id, r.meter_id, r.register_code, r.read_on, r.index_value, r.source, r.rollover
        )
        .where(
            r.site_id.in_(site_ids),
            r.read_on >= since,
            r.read_on <= until,
            sa.or_(
                r.self_reading_status.is_(None),
                r.self_reading_status != SelfReadingStatus.REJECTED,
            ),
        )
        .order_by(r.site_id)
    )


async def series_of_sites(
    session: AsyncSession, sites: Sequence[Any], period: Period, *, today: date
) -> list[SiteSeries]:
    """The series of sites already known to be in the perimeter (rows with the
    SITE_BASIS_COLUMNS): two statements, whatever the number of sites."""
    ids = [s.id for s in sites]
    if not ids:
        return []
    meters: dict[int, list[MeterBasis]] = defaultdict(list)
    meter_rows = await core_rows(
        session,
        sa.select(
            METERS.c.id, METERS.c.site_id, METERS.c.digits, METERS.c.reading_coefficient
        ).where(METERS.c.site_id.in_(ids)),
    )
    for m in meter_rows:
        meters[m.site_id].append(MeterBasis(m.id, m.digits, m.reading_coefficient))
    readings: dict[int, list[ReadingPoint]] = defaultdict(list)
    since = period.start - timedelta(days=LOOKBACK_DAYS)
    for r in await core_rows(session, counted_readings(ids, since, period.last_day)):
        readings[r.site_id].append(
            ReadingPoint(
                r.meter_id, r.register_code, r.read_on, r.index_value, r.source, r.rollover
            )
        )
    return [
        SiteSeries(
            site.id,
            site=site,
            months=monthly_series(
                SiteBasis(site.car_kwh, site.profile, site.supply_start, site.supply_end),
                meters[site.id],
                readings[site.id],
                start=period.start,
                end=period.end,
                today=today,
            ),
        )
        for site in sites
    ]


async def compare_sites_consumption(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_ids: Sequence[int],
    from_month: date | str,
    to_month: date | str,
    today: date,
) -> list[SiteSeries]:
    """The monthly series of 1 to 4 sites of the perimeter, in the order asked."""
    wanted = list(dict.fromkeys(site_ids))
    if not wanted:
        raise Refusal(ErrorCode.REQUIRED, "Choisissez au moins un site.", field="siteIds")
    if len(wanted) > MAX_COMPARED_SITES:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"La comparaison porte sur {MAX_COMPARED_SITES} sites au plus.",
            field="siteIds",
        )
    period = check_period(from_month, to_month, today=today)
    async with sessions() as session:
        rows = (await session.exec(scoped_sites(perimeter).where(col(Site.id).in_(wanted)))).all()
        found = {row.id: row for row in rows}
        if len(found) != len(wanted):
            raise not_found("siteIds")
        return await series_of_sites(session, [found[i] for i in wanted], period, today=today)


# -- the billing view: a perimeter's total and monthly breakdown -----------------------------


@dataclass(frozen=True, slots=True)
class PerimeterConsumption:
    site_count: int
    months: list[BilledMonth]

    @property
    def total_kwh(self) -> int:
        return sum(m.kwh for m in self.months)

    @property
    def estimated_kwh(self) -> int:
        return sum(m.estimated_kwh for m in self.months)


def billed_query(
    perimeter: Perimeter, criteria: SiteCriteria, period: Period, rule: MonthRule
) -> Any:
    """The kWh of the matching sites' per-site invoice rows, summed by index basis and by
    accounting month (ACCOUNTING_MONTH: invoices dated in the window) or by invoice period
    (PRO_RATA_DAYS: invoices whose period overlaps the window)."""
    sites = sites_matching(perimeter, criteria, Site.id)
    kwh = sa.func.sum(SHARES.c.consumption_kwh).label("kwh")
    if rule is MonthRule.ACCOUNTING_MONTH:
        year = sa.extract("year", INVOICES.c.accounting_date)
        month = sa.extract("month", INVOICES.c.accounting_date)
        return (
            scoped_invoice_sites(
                perimeter, year.label("y"), month.label("m"), SHARES.c.index_basis, kwh
            )
            .where(
                SHARES.c.site_id.in_(sites),
                INVOICES.c.accounting_date >= period.start,
                INVOICES.c.accounting_date <= period.last_day,
            )
            .group_by(year, month, SHARES.c.index_basis)
        )
    return (
        scoped_invoice_sites(
            perimeter, INVOICES.c.period_start, INVOICES.c.period_end, SHARES.c.index_basis, kwh
        )
        .where(
            SHARES.c.site_id.in_(sites),
            INVOICES.c.period_end >= period.start,
            INVOICES.c.period_start <= period.last_day,
        )
        .group_by(INVOICES.c.period_start, INVOICES.c.period_end, SHARES.c.index_basis)
    )


def billed_months(rows: Iterable[Any], period: Period, rule: MonthRule) -> list[BilledMonth]:
    if rule is MonthRule.ACCOUNTING_MONTH:
        return billed_by_accounting_month(
            (BilledInMonth(date(int(r.y), int(r.m), 1), r.index_basis, int(r.kwh)) for r in rows),
            start=period.start,
            end=period.end,
        )
    return spread_billed_periods(
        (BilledPeriod(r.period_start, r.period_end, r.index_basis, int(r.kwh)) for r in rows),
        start=period.start,
        end=period.end,
    )


async def perimeter_consumption(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    criteria: SiteCriteria,
    from_month: date | str,
    to_month: date | str,
    today: date,
    rule: MonthRule = MonthRule.ACCOUNTING_MONTH,
) -> PerimeterConsumption:
    """Total kWh billed and its monthly breakdown for every site matching the filter, each
    invoice in the month of its accounting date unless `rule` says otherwise."""
    period = check_period(from_month, to_month, today=today)
    count = select(sa.func.count()).select_from(
        sites_matching(perimeter, criteria, Site.id).subquery()
    )
    async with sessions() as session:
        await check_filter_scope(session, perimeter, criteria)
        site_count = (await session.exec(count)).one()
        rows = await core_rows(session, billed_query(perimeter, criteria, period, rule))
    return PerimeterConsumption(site_count=site_count, months=billed_months(rows, period, rule))
