"""The demo's interval data against its readings, in SQL written here: every month of a load
curve adds up to the month's index difference, every month of Gazpar days to its m³; the
daylight-saving days have 46 and 50 half-hours; gaps and estimated points are planted."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from demo import DemoReport

PARIS = ZoneInfo("Europe/Paris")
# The demo is dated 2026-11-01: curves cover November 2025 to October 2026.
CURVE_MONTHS = [date(2025, 11, 1), date(2025, 12, 1)] + [date(2026, m, 1) for m in range(1, 11)]


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


async def _index_deltas(engine: AsyncEngine, month: date, site_ids: list[int]) -> dict[int, int]:
    """Σ over registers of (index at the month's last day − index at the previous month's
    last day), rollovers unwrapped with the meter's digits."""
    last = _next_month(month) - timedelta(days=1)
    before = month - timedelta(days=1)
    query = sa.text(
        "SELECT r1.site_id, r1.index_value, r0.index_value, m.digits FROM readings r1"
        " JOIN readings r0 ON r0.meter_id = r1.meter_id"
        " AND r0.register_code = r1.register_code AND r0.read_on = :before"
        " AND r0.source != 'SELF_READING'"
        " JOIN meters m ON m.id = r1.meter_id"
        " WHERE r1.read_on = :last AND r1.source != 'SELF_READING'"
        " AND r1.site_id IN (" + ",".join(str(i) for i in site_ids) + ")"
    ).bindparams(sa.bindparam("before", before, sa.Date()), sa.bindparam("last", last, sa.Date()))
    out: dict[int, int] = defaultdict(int)
    async with engine.connect() as connection:
        for site_id, current, previous, digits in await connection.execute(query):
            out[site_id] += (current - previous) % 10**digits
    return out


async def test_each_month_of_a_curve_is_the_months_index_difference(
    demo_engine: AsyncEngine, demo_report: DemoReport
) -> None:
    async with demo_engine.connect() as connection:
        site_ids = list(
            (
                await connection.execute(sa.text("SELECT DISTINCT site_id FROM load_curve_points"))
            ).scalars()
        )
    assert 5 <= len(site_ids) <= 20
    compared = 0
    for month in CURVE_MONTHS:
        start, end = _utc(month), _utc(_next_month(month))
        if demo_engine.dialect.name == "sqlite":
            bounds: tuple[object, object] = (
                start.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
                end.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
            )
        else:
            bounds = (start, end)
        query = sa.text(
            "SELECT site_id, SUM(COALESCE(power_w, 0) * minutes) FROM load_curve_points"
            " WHERE starts_at >= :a AND starts_at < :b GROUP BY site_id"
        ).bindparams(a=bounds[0], b=bounds[1])
        async with demo_engine.connect() as connection:
            watt_minutes = {r[0]: r[1] for r in await connection.execute(query)}
        deltas = await _index_deltas(demo_engine, month, site_ids)
        assert set(watt_minutes) == set(site_ids), month
        for site_id in site_ids:
            # W × minutes / 60 = Wh; the month's kWh × 60,000 exactly
            assert watt_minutes[site_id] == deltas[site_id] * 60_000, (month, site_id)
            compared += 1
    assert compared == len(site_ids) * 12


async def test_daylight_saving_days_and_planted_quality(
    demo_engine: AsyncEngine, demo_report: DemoReport
) -> None:
    def day_bounds(day: date) -> tuple[object, object]:
        start, end = _utc(day), _utc(day + timedelta(days=1))
        if demo_engine.dialect.name == "sqlite":
            return tuple(  # type: ignore[return-value]
                t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") for t in (start, end)
            )
        return start, end

    async with demo_engine.connect() as connection:
        for day, expected in (
            (date(2026, 3, 29), 46),
            (date(2026, 3, 30), 48),
            (date(2026, 10, 25), 50),
        ):
            a, b = day_bounds(day)
            counts = set(
                (
                    await connection.execute(
                        sa.text(
                            "SELECT COUNT(*) FROM load_curve_points WHERE starts_at >= :a"
                            " AND starts_at < :b GROUP BY site_id"
                        ).bindparams(a=a, b=b)
                    )
                ).scalars()
            )
            assert counts == {expected}, day
        qualities = {
            r[0]: r[1]
            for r in await connection.execute(
                sa.text("SELECT quality, COUNT(*) FROM load_curve_points GROUP BY quality")
            )
        }
        gas_qualities = {
            r[0]: r[1]
            for r in await connection.execute(
                sa.text("SELECT quality, COUNT(*) FROM gas_daily_consumptions GROUP BY quality")
            )
        }
    assert qualities["ACTUAL"] > 0 and qualities["ESTIMATED"] >= 48 and qualities["MISSING"] >= 2
    assert gas_qualities["ACTUAL"] > 0 and gas_qualities.get("ESTIMATED", 0) >= 2


async def test_each_month_of_gazpar_days_is_the_months_m3(
    demo_engine: AsyncEngine, demo_report: DemoReport
) -> None:
    async with demo_engine.connect() as connection:
        sqlite = demo_engine.dialect.name == "sqlite"
        rows = (
            await connection.execute(
                sa.text("SELECT g.meter_id, g.day, g.volume_m3 FROM gas_daily_consumptions g")
            )
        ).all()
        gazpar = set(
            (
                await connection.execute(sa.text("SELECT id FROM meters WHERE kind = 'GAZPAR'"))
            ).scalars()
        )
    by_month: dict[tuple[int, date], int] = defaultdict(int)
    for meter_id, day, volume in rows:
        day = date.fromisoformat(day) if isinstance(day, str) else day
        if volume is None:  # a missing day: its volume came with the next day
            continue
        centi = int(volume) if sqlite else int(volume * 100)  # SQLite keeps hundredths
        by_month[(meter_id, day.replace(day=1))] += centi
    assert {m for m, _ in by_month} <= gazpar and len({m for m, _ in by_month}) >= 20
    # the readings of each (meter, month), from the readings table alone
    async with demo_engine.connect() as connection:
        readings = (
            await connection.execute(
                sa.text(
                    "SELECT r.meter_id, r.read_on, r.index_value, m.digits FROM readings r"
                    " JOIN meters m ON m.id = r.meter_id WHERE m.kind = 'GAZPAR'"
                    " AND r.source != 'SELF_READING'"
                )
            )
        ).all()
    index: dict[tuple[int, date], tuple[int, int]] = {}
    for meter_id, read_on, value, digits in readings:
        read_on = date.fromisoformat(read_on) if isinstance(read_on, str) else read_on
        index[(meter_id, read_on)] = (value, digits)
    checked = 0
    for (meter_id, month), centi in by_month.items():
        last = _next_month(month) - timedelta(days=1)
        before = month - timedelta(days=1)
        (current, digits), (previous, _) = index[(meter_id, last)], index[(meter_id, before)]
        assert centi == ((current - previous) % 10**digits) * 100, (meter_id, month)
        checked += 1
    assert checked >= 20 * 12
