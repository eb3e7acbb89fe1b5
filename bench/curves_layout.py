"""Which layout for load curves: one narrow row per point, or one row per site and day
holding the day's 48 points in arrays? Both built side by side on PostgreSQL with the same
points (SITES sites × one year of half-hours), then compared on size and on the reads the
API makes (one site's year by day; one month of raw half-hours).

.venv/bin/python bench/curves_layout.py postgresql://postgres@127.0.0.1:5432/scratch_db
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg

SITES = 100
START = datetime(2025, 1, 1, tzinfo=UTC)
HALF_HOURS = 365 * 48


def _watts(site: int, index: int) -> int:
    return 500 + (site * 37 + index * 13) % 4000


async def _timed(connection: asyncpg.Connection, sql: str, *args: object) -> float:
    samples = []
    for _ in range(15):
        started = time.perf_counter()
        await connection.fetch(sql, *args)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def main(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    await connection.execute(
        "DROP TABLE IF EXISTS layout_narrow, layout_daily;"
        "CREATE TABLE layout_narrow (site_id bigint, starts_at timestamptz, meter_id bigint,"
        " minutes smallint, power_w integer, quality varchar(9),"
        " PRIMARY KEY (site_id, starts_at));"
        "CREATE TABLE layout_daily (site_id bigint, day date, meter_id bigint,"
        " minutes smallint, power_w integer[], quality char(1)[], PRIMARY KEY (site_id, day));"
    )
    started = time.perf_counter()
    for site in range(1, SITES + 1):
        rows = [
            (site, START + timedelta(minutes=30 * i), site, 30, _watts(site, i), "ACTUAL")
            for i in range(HALF_HOURS)
        ]
        await connection.copy_records_to_table("layout_narrow", records=rows)
        days = [
            (
                site,
                (START + timedelta(days=d)).date(),
                site,
                30,
                [_watts(site, d * 48 + i) for i in range(48)],
                ["A"] * 48,
            )
            for d in range(365)
        ]
        await connection.copy_records_to_table("layout_daily", records=days)
    print(f"built {SITES * HALF_HOURS:,} points in {time.perf_counter() - started:.1f} s")
    await connection.execute("VACUUM ANALYZE layout_narrow")
    await connection.execute("VACUUM ANALYZE layout_daily")
    for table in ("layout_narrow", "layout_daily"):
        size = await connection.fetchval("SELECT pg_total_relation_size($1)", table)
        print(f"{table:14} {size / 1e6:8.1f} MB  {size / (SITES * HALF_HOURS):5.1f} bytes/point")
    by_day_narrow = await _timed(
        connection,
        "SELECT (starts_at AT TIME ZONE 'UTC')::date d, sum(power_w) / 2000.0, max(power_w)"
        " FROM layout_narrow WHERE site_id = $1 GROUP BY 1 ORDER BY 1",
        SITES // 2,
    )
    by_day_daily = await _timed(
        connection,
        "SELECT day, (SELECT sum(p) FROM unnest(power_w) p) / 2000.0,"
        " (SELECT max(p) FROM unnest(power_w) p) FROM layout_daily WHERE site_id = $1"
        " ORDER BY day",
        SITES // 2,
    )
    month_narrow = await _timed(
        connection,
        "SELECT starts_at, power_w, quality FROM layout_narrow WHERE site_id = $1"
        " AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at",
        SITES // 2,
        START + timedelta(days=120),
        START + timedelta(days=150),
    )
    month_daily = await _timed(
        connection,
        "SELECT day, p.i, p.w FROM layout_daily, unnest(power_w) WITH ORDINALITY p(w, i)"
        " WHERE site_id = $1 AND day >= $2 AND day < $3 ORDER BY day, p.i",
        SITES // 2,
        (START + timedelta(days=120)).date(),
        (START + timedelta(days=150)).date(),
    )
    print(f"one site-year by day:   narrow {by_day_narrow:6.2f} ms   daily {by_day_daily:6.2f} ms")
    print(f"one month raw:          narrow {month_narrow:6.2f} ms   daily {month_daily:6.2f} ms")
    await connection.execute("DROP TABLE layout_narrow, layout_daily")
    await connection.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
