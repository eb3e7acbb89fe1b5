"""Interval data read back: a few sites' load curves or daily gas over a period, at a step.

Every aggregate is computed in SQL (sum of energy, time-weighted mean and max of power, the
worst quality of each point), grouped per site and per point of the step, with the Paris
calendar: hours and half-hours are the same in UTC (Paris is a whole number of hours off),
days, weeks and months are Paris ones. Four statements whatever the number of sites (the
sites, the points, the quality shares, the maximum), each through the primary key
(site, instant): on PostgreSQL the period prunes the monthly partitions.

SQLite has no time zones: its Paris date is the UTC instant plus one hour, or two between
the last Sundays of March and October at 01:00 UTC (the EU rule since 1996).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import SITES, core_rows, table_of
from db.models import GasDailyConsumption, LoadCurvePoint
from db.scoped import Perimeter, scoped_sites
from documents.tables import Column, ColumnKind, Table
from domain.calendar import PARIS
from domain.curves import (
    CURVE_STEP_LABELS,
    GAS_STEPS,
    MAX_CURVE_SITES,
    MAX_PERIOD_DAYS,
    MAX_POINTS,
    QUALITY_BY_RANK,
    CurveStep,
    bucket_count,
    finest_allowed_step,
    month_start,
    next_month,
    paris_midnight,
    week_start,
)
from domain.enums import CurveQuality, Energy
from domain.errors import ErrorCode, Refusal, not_found

POINTS = table_of(LoadCurvePoint)
GAS = table_of(GasDailyConsumption)
_SECONDS = {CurveStep.HALF_HOUR: 1800, CurveStep.HOUR: 3600}
_RANK = sa.case(
    (POINTS.c.quality == CurveQuality.MISSING.value, 3),
    (POINTS.c.quality == CurveQuality.ESTIMATED.value, 2),
    (POINTS.c.quality == CurveQuality.CORRECTED.value, 1),
    else_=0,
)
_GAS_RANK = sa.case(
    (GAS.c.quality == CurveQuality.MISSING.value, 3),
    (GAS.c.quality == CurveQuality.ESTIMATED.value, 2),
    (GAS.c.quality == CurveQuality.CORRECTED.value, 1),
    else_=0,
)


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date
    step: CurveStep

    @property
    def start(self) -> datetime:
        return paris_midnight(self.first)

    @property
    def end(self) -> datetime:
        return paris_midnight(self.last + timedelta(days=1))


@dataclass(frozen=True, slots=True)
class QualityShares:
    """Shares of the period's time (load curve) or days (gas), adding up to 1."""

    actual: float
    corrected: float
    estimated: float
    missing: float


@dataclass(slots=True)
class CurvePoint:
    """Floats rounded to the watt-hour and the watt: measurements, not money, and a year of
    half-hours is 17,520 of them (Decimal arithmetic cost more than the SQL)."""

    start: datetime  # Paris time
    energy_kwh: float | None
    mean_power_kw: float | None  # the names of the GraphQL type's fields, which reads these
    max_power_kw: float | None
    quality: CurveQuality


@dataclass(slots=True)
class SiteCurve:
    site: Any
    step: CurveStep
    points: list[CurvePoint] = field(default_factory=list)
    total_kwh: float = 0.0
    max_kw: float | None = None
    max_at: datetime | None = None
    shares: QualityShares = QualityShares(0, 0, 0, 1)


@dataclass(frozen=True, slots=True)
class GasPoint:
    start: date
    volume_m3: Decimal | None
    energy_kwh: Decimal | None
    quality: CurveQuality


@dataclass(slots=True)
class SiteGas:
    site: Any
    step: CurveStep
    points: list[GasPoint] = field(default_factory=list)
    total_m3: Decimal = Decimal(0)
    total_kwh: Decimal = Decimal(0)
    max_kwh: Decimal | None = None
    max_day: date | None = None
    shares: QualityShares = QualityShares(0, 0, 0, 1)


# -- checks ----------------------------------------------------------------------------------


def check_period(first: date, last: date, step: CurveStep, *, gas: bool) -> Period:
    if last < first:
        raise Refusal(ErrorCode.INVALID, "La date de fin précède la date de début.", field="to")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise Refusal(
            ErrorCode.PERIOD_TOO_LONG,
            f"La période est limitée à {MAX_PERIOD_DAYS} jours.",
            field="to",
        )
    steps = GAS_STEPS if gas else tuple(CurveStep)
    if step not in steps:
        raise Refusal(
            ErrorCode.INVALID,
            "Le gaz est relevé par jour : pas DAY, WEEK ou MONTH.",
            field="step",
        )
    if bucket_count(step, first, last) > MAX_POINTS:
        finest = finest_allowed_step(first, last, steps)
        raise Refusal(
            ErrorCode.STEP_TOO_FINE,
            f"Pas trop fin pour la période ({MAX_POINTS:,} points au plus par site) : le pas "
            f"le plus fin permis est {finest.value} ({CURVE_STEP_LABELS[finest]}).".replace(
                ",", "\u202f"
            ),
            field="step",
        )
    return Period(first, last, step)


async def _sites(
    session: AsyncSession, perimeter: Perimeter, site_ids: Sequence[int], energy: Energy
) -> list[Any]:
    wanted = list(dict.fromkeys(site_ids))
    if not wanted:
        raise Refusal(ErrorCode.REQUIRED, "Choisissez au moins un site.", field="siteIds")
    if len(wanted) > MAX_CURVE_SITES:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"La comparaison porte sur {MAX_CURVE_SITES} sites au plus.",
            field="siteIds",
        )
    # Core rows, not ORM objects: the site is only read (STYLE.md: a third of the cost).
    rows = await core_rows(session, scoped_sites(perimeter, *SITES.c).where(SITES.c.id.in_(wanted)))
    found = {row.id: row for row in rows}
    if len(found) != len(wanted):
        raise not_found("siteIds")
    if any(site.energy != energy for site in found.values()):
        other = (
            "de gaz (consommation journalière)"
            if energy is Energy.ELECTRICITY
            else ("d'électricité (courbe de charge)")
        )
        raise Refusal(ErrorCode.INVALID, f"Site {other} : pas de cette série.", field="siteIds")
    return [found[i] for i in wanted]


# -- the Paris calendar in SQL -----------------------------------------------------------------


def _summer_spans(first: date, last: date) -> list[tuple[str, str]]:
    """The UTC spans of Paris summer time over the years of a period, as SQLite stores
    instants (from zoneinfo: 01:00 UTC on the last Sundays of March and October)."""
    spans = []
    for year in range(first.year, last.year + 1):
        changes = [
            day
            for day in (date(year, m, d) for m in (3, 10) for d in range(25, 32))
            if day.weekday() == 6
        ]
        start, end = (
            datetime(d.year, d.month, d.day, 1, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")
            for d in changes
        )
        spans.append((start, end))
    return spans


def _sqlite_paris_date(column: str, period: Period) -> Any:
    """The Paris date of a UTC instant column in SQLite (no time zones there): +2 hours in
    the summer spans of the period's years, written in as literals, +1 hour otherwise."""
    summer = " OR ".join(
        f"({column} >= '{start}' AND {column} < '{end}')"
        for start, end in _summer_spans(period.first, period.last)
    )
    return sa.literal_column(
        f"(CASE WHEN {summer} THEN date({column}, '+2 hours') ELSE date({column}, '+1 hour') END)"
    )


def _day_bucket(day: Any, step: CurveStep, postgresql: bool) -> Any:
    """A Paris date expression → the date its DAY, WEEK or MONTH point starts on."""
    if step is CurveStep.DAY:
        return day
    if postgresql:
        unit = "week" if step is CurveStep.WEEK else "month"
        return sa.cast(sa.func.date_trunc(unit, day), sa.Date)
    if step is CurveStep.WEEK:
        return sa.func.date(day, "-6 days", "weekday 1")
    return sa.func.date(day, "start of month")


def _postgresql_paris_date(column: str, period: Period) -> Any:
    """The Paris date of a timestamptz column, from the same summer spans as SQLite's: the
    epoch plus one or two hours, in days, added to 1970-01-01. A year by day of four sites
    read 15 % faster than through `timezone('Europe/Paris', …)` (a zone lookup per point)."""
    summer = " OR ".join(
        f"({column} >= '{start}+00' AND {column} < '{end}+00')"
        for start, end in _summer_spans(period.first, period.last)
    )
    return sa.literal_column(
        f"(DATE '1970-01-01' + floor((date_part('epoch', {column})"
        f" + CASE WHEN {summer} THEN 7200 ELSE 3600 END) / 86400)::int)"
    )


def _curve_bucket(period: Period, postgresql: bool) -> Any:
    step = period.step
    instant = POINTS.c.starts_at
    if step in _SECONDS:
        seconds = _SECONDS[step]
        if postgresql:
            return sa.cast(sa.func.floor(sa.extract("epoch", instant) / seconds), sa.BigInteger)
        return sa.cast(sa.func.strftime("%s", instant), sa.Integer) // seconds
    if postgresql:
        day: Any = _postgresql_paris_date("load_curve_points.starts_at", period)
    else:
        day = _sqlite_paris_date("load_curve_points.starts_at", period)
    return _day_bucket(day, step, postgresql)


def _bucket_starts(period: Period) -> list[Any]:
    """Every point's key of the period, in order (the SQL groups' keys)."""
    step = period.step
    if step in _SECONDS:
        seconds = _SECONDS[step]
        first = int(period.start.timestamp()) // seconds
        last = int(period.end.timestamp()) // seconds
        return list(range(first, last))
    days = [period.first + timedelta(days=d) for d in range((period.last - period.first).days + 1)]
    if step is CurveStep.DAY:
        return days
    if step is CurveStep.WEEK:
        return list(dict.fromkeys(week_start(d) for d in days))
    return list(dict.fromkeys(month_start(d) for d in days))


def _as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _key_start(key: Any, step: CurveStep) -> datetime:
    if step in _SECONDS:
        return datetime.fromtimestamp(int(key) * _SECONDS[step], UTC).astimezone(PARIS)
    return paris_midnight(_as_date(key)).astimezone(PARIS)


@lru_cache(maxsize=64)
def _keys_and_starts(
    first: date, last: date, step: CurveStep
) -> tuple[tuple[Any, ...], tuple[datetime, ...]]:
    """The period's point keys and their Paris start instants, the same for every site and
    every request on that period: computed once (a month of half-hours is 1,488 zoneinfo
    conversions, a few milliseconds a request)."""
    period = Period(first, last, step)
    keys = tuple(_bucket_starts(period))
    return keys, tuple(_key_start(key, step) for key in keys)


def _shares(seconds: dict[str, float], whole: float) -> QualityShares:
    if whole <= 0:
        return QualityShares(0, 0, 0, 1)
    actual = seconds.get(CurveQuality.ACTUAL.value, 0) / whole
    corrected = seconds.get(CurveQuality.CORRECTED.value, 0) / whole
    estimated = seconds.get(CurveQuality.ESTIMATED.value, 0) / whole
    return QualityShares(
        round(actual, 4),
        round(corrected, 4),
        round(estimated, 4),
        round(max(0.0, 1 - actual - corrected - estimated), 4),
    )


# -- load curves -------------------------------------------------------------------------------


def _minutes_of(quality: CurveQuality, column: Any, amount: Any) -> Any:
    return sa.func.sum(sa.case((column == quality.value, amount), else_=0))


def curve_points_query(site_ids: Sequence[int], period: Period, postgresql: bool) -> sa.Select[Any]:
    """Per site and point of the step: energy (W·min), measured minutes, max power, worst
    quality and the minutes of each quality (the period's shares add these up)."""
    bucket = _curve_bucket(period, postgresql).label("bucket")
    p = POINTS.c
    return (
        sa.select(
            p.site_id,
            bucket,
            sa.func.sum(p.power_w * p.minutes).label("watt_minutes"),
            sa.func.sum(sa.case((p.power_w.is_not(None), p.minutes), else_=0)).label("minutes"),
            sa.func.max(p.power_w).label("max_w"),
            sa.func.max(_RANK).label("rank"),
            _minutes_of(CurveQuality.ACTUAL, p.quality, p.minutes).label("actual"),
            _minutes_of(CurveQuality.CORRECTED, p.quality, p.minutes).label("corrected"),
            _minutes_of(CurveQuality.ESTIMATED, p.quality, p.minutes).label("estimated"),
        )
        .where(p.site_id.in_(site_ids), p.starts_at >= period.start, p.starts_at < period.end)
        .group_by(p.site_id, bucket)
    )


def _bucket_bounds(key: Any, period: Period) -> tuple[Any, Any]:
    """[start, end) of one point of the step, within the period: instants for the load curve
    (UTC), days for gas (end exclusive)."""
    step = period.step
    if step in _SECONDS:
        seconds = _SECONDS[step]
        start = datetime.fromtimestamp(int(key) * seconds, UTC)
        return start, start + timedelta(seconds=seconds)
    first = _as_date(key)
    if step is CurveStep.DAY:
        last = first + timedelta(days=1)
    elif step is CurveStep.WEEK:
        last = first + timedelta(days=7)
    else:
        last = next_month(first)
    return max(first, period.first), min(last, period.last + timedelta(days=1))


def _peaks(groups: dict[int, dict[Any, Any]], column: str) -> dict[int, tuple[Any, Any]]:
    """Per site, the point holding the highest value of `column` (the earliest on a tie)."""
    found: dict[int, tuple[Any, Any]] = {}
    for site_id, of_site in groups.items():
        best = None
        for key, group in sorted(of_site.items()):
            value = getattr(group, column)
            if value is not None and (best is None or value > best[1]):
                best = (key, value)
        if best is not None:
            found[site_id] = best
    return found


async def consumption_curves(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_ids: Sequence[int],
    first: date,
    last: date,
    step: CurveStep,
) -> list[SiteCurve]:
    """The load curves of 1 to 4 sites of the perimeter, in the order asked: three
    statements (the sites, the points, the instant of each site's maximum)."""
    period = check_period(first, last, step, gas=False)
    async with sessions() as session:
        sites = await _sites(session, perimeter, site_ids, Energy.ELECTRICITY)
        ids = [s.id for s in sites]
        postgresql = session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
        by_site: dict[int, dict[Any, Any]] = defaultdict(dict)
        for row in await core_rows(session, curve_points_query(ids, period, postgresql)):
            key = int(row.bucket) if step in _SECONDS else _as_date(row.bucket)
            by_site[row.site_id][key] = row
        peaks = _peaks(by_site, "max_w")
        peak_at: dict[int, datetime] = {}
        if peaks:
            # The maximum's instant, looked for in the one point of the step that holds it.
            p = POINTS.c
            clauses = []
            for site_id, (key, watts) in peaks.items():
                start, end = _bucket_bounds(key, period)
                if not isinstance(start, datetime):
                    start, end = paris_midnight(start), paris_midnight(end)
                clauses.append(
                    sa.and_(
                        p.site_id == site_id,
                        p.starts_at >= start,
                        p.starts_at < end,
                        p.power_w == watts,
                    )
                )
            for row in await core_rows(
                session,
                sa.select(p.site_id, sa.func.min(p.starts_at).label("at"))
                .where(sa.or_(*clauses))
                .group_by(p.site_id),
            ):
                peak_at[row.site_id] = row.at  # typed by min(): an aware UTC instant
    whole = (period.end - period.start).total_seconds()
    keys, starts = _keys_and_starts(first, last, step)
    curves = []
    missing = CurveQuality.MISSING
    by_rank = QUALITY_BY_RANK
    for site in sites:
        groups_of = by_site[site.id]
        # Positions of curve_points_query's columns: index reads cost a fraction of names'.
        actual = corrected = estimated = 0.0
        for g in groups_of.values():
            actual += float(g[6] or 0)
            corrected += float(g[7] or 0)
            estimated += float(g[8] or 0)
        seconds = {
            CurveQuality.ACTUAL.value: actual * 60,
            CurveQuality.CORRECTED.value: corrected * 60,
            CurveQuality.ESTIMATED.value: estimated * 60,
        }
        curve = SiteCurve(site, step, shares=_shares(seconds, whole))
        total = 0
        points = curve.points
        append = points.append
        get = groups_of.get
        for key, start in zip(keys, starts, strict=True):
            group = get(key)
            if group is None or group[2] is None:
                append(CurvePoint(start, None, None, None, missing))
                continue
            watt_minutes, minutes_measured, max_w = int(group[2]), int(group[3]), group[4]
            total += watt_minutes
            append(
                CurvePoint(
                    start,
                    round(watt_minutes / 60_000, 3),
                    round(watt_minutes / minutes_measured / 1000, 3),
                    round(max_w / 1000, 3),
                    by_rank[group[5]],
                )
            )
        curve.total_kwh = round(total / 60_000, 3)
        if site.id in peaks:
            curve.max_kw = round(peaks[site.id][1] / 1000, 3)
            at = peak_at.get(site.id)
            curve.max_at = at.astimezone(PARIS) if at else None
        curves.append(curve)
    return curves


# -- daily gas ---------------------------------------------------------------------------------


async def gas_consumption(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_ids: Sequence[int],
    first: date,
    last: date,
    step: CurveStep,
) -> list[SiteGas]:
    """The daily gas of 1 to 4 sites of the perimeter, by day, week or month: three
    statements (the sites, the points, the day of each site's maximum)."""
    period = check_period(first, last, step, gas=True)
    async with sessions() as session:
        sites = await _sites(session, perimeter, site_ids, Energy.GAS)
        ids = [s.id for s in sites]
        postgresql = session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
        g = GAS.c
        bucket = _day_bucket(g.day, step, postgresql).label("bucket")
        by_site: dict[int, dict[date, Any]] = defaultdict(dict)
        for row in await core_rows(
            session,
            sa.select(
                g.site_id,
                bucket,
                sa.func.sum(g.volume_m3).label("m3"),
                sa.func.sum(g.energy_kwh).label("kwh"),
                sa.func.max(g.energy_kwh).label("max_kwh"),
                sa.func.max(_GAS_RANK).label("rank"),
                _minutes_of(CurveQuality.ACTUAL, g.quality, 1).label("actual"),
                _minutes_of(CurveQuality.CORRECTED, g.quality, 1).label("corrected"),
                _minutes_of(CurveQuality.ESTIMATED, g.quality, 1).label("estimated"),
            )
            .where(g.site_id.in_(ids), g.day >= period.first, g.day <= period.last)
            .group_by(g.site_id, bucket),
        ):
            by_site[row.site_id][_as_date(row.bucket)] = row
        peaks = _peaks(by_site, "max_kwh")
        peak_day: dict[int, date] = {}
        if peaks:
            clauses = []
            for site_id, (key, kwh) in peaks.items():
                start, end = _bucket_bounds(key, period)
                clauses.append(
                    sa.and_(g.site_id == site_id, g.day >= start, g.day < end, g.energy_kwh == kwh)
                )
            for row in await core_rows(
                session,
                sa.select(g.site_id, sa.func.min(g.day).label("day"))
                .where(sa.or_(*clauses))
                .group_by(g.site_id),
            ):
                peak_day[row.site_id] = _as_date(row.day)
    whole = float((period.last - period.first).days + 1)
    keys = _bucket_starts(period)
    out = []
    for site in sites:
        groups_of = by_site[site.id]
        days = {
            quality.value: sum(
                float(getattr(g, quality.value.lower()) or 0) for g in groups_of.values()
            )
            for quality in (CurveQuality.ACTUAL, CurveQuality.CORRECTED, CurveQuality.ESTIMATED)
        }
        series = SiteGas(site, step, shares=_shares(days, whole))
        for key in keys:
            group = groups_of.get(key)
            if group is None or group.m3 is None:
                series.points.append(GasPoint(key, None, None, CurveQuality.MISSING))
                continue
            m3, kwh = _fixed(group.m3), _fixed(group.kwh)
            series.total_m3 += m3
            series.total_kwh += kwh
            series.points.append(GasPoint(key, m3, kwh, QUALITY_BY_RANK[int(group.rank)]))
        if site.id in peaks:
            series.max_kwh = _fixed(peaks[site.id][1])
            series.max_day = peak_day.get(site.id)
        out.append(series)
    return out


def _fixed(value: Any) -> Decimal:
    """A sum of a FixedDecimal column: SQLAlchemy gives the Decimal back (scaled on SQLite)."""
    return Decimal(value).quantize(Decimal("0.01"))


# -- exports -----------------------------------------------------------------------------------

QUALITY_LABELS = {
    CurveQuality.ACTUAL: "réelle",
    CurveQuality.CORRECTED: "corrigée",
    CurveQuality.ESTIMATED: "estimée",
    CurveQuality.MISSING: "manquante",
}


def _exact(value: float | None) -> Decimal | None:
    """A rounded float as the decimal it reads as (the writer formats Decimals)."""
    return None if value is None else Decimal(repr(value))


async def curve_table(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_ids: Sequence[int],
    first: date,
    last: date,
    step: CurveStep,
) -> Table:
    """The same points as `consumptionCurve`, one row per site and point."""
    curves = await consumption_curves(
        sessions, perimeter, site_ids=site_ids, first=first, last=last, step=step
    )
    k = ColumnKind

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        for curve in curves:
            yield [
                [
                    curve.site.point_number,
                    p.start.date(),
                    p.start.strftime("%H:%M"),
                    p.start.strftime("%z")[:3] + ":" + p.start.strftime("%z")[3:],
                    _exact(p.energy_kwh),
                    _exact(p.mean_power_kw),
                    _exact(p.max_power_kw),
                    p.quality,
                ]
                for p in curve.points
            ]

    columns = (
        Column("PRM", k.IDENTIFIER),
        Column("Date", k.DATE),
        Column("Heure de début", k.TEXT, 8),
        Column("Décalage UTC", k.TEXT, 8),
        Column("Énergie (kWh)", k.DECIMAL),
        Column("Puissance moyenne (kW)", k.DECIMAL),
        Column("Puissance maximale (kW)", k.DECIMAL),
        Column("Qualité", k.LABEL, 10, QUALITY_LABELS),
    )
    return Table("courbe-de-charge", "Courbe de charge", columns, chunks())


async def gas_table(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_ids: Sequence[int],
    first: date,
    last: date,
    step: CurveStep,
) -> Table:
    """The same points as `gasDailyConsumption`, one row per site and point."""
    series = await gas_consumption(
        sessions, perimeter, site_ids=site_ids, first=first, last=last, step=step
    )
    k = ColumnKind

    async def chunks() -> AsyncIterator[list[list[Any]]]:
        for one in series:
            yield [
                [one.site.point_number, p.start, p.volume_m3, p.energy_kwh, p.quality]
                for p in one.points
            ]

    columns = (
        Column("PCE", k.IDENTIFIER),
        Column("Début", k.DATE),
        Column("Volume (m³)", k.DECIMAL),
        Column("Énergie (kWh)", k.DECIMAL),
        Column("Qualité", k.LABEL, 10, QUALITY_LABELS),
    )
    return Table("gaz-journalier", "Gaz journalier", columns, chunks())
