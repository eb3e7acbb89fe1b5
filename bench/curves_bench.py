"""consumptionCurve on the full demo, beside hand-written SQL giving the same aggregates.

.venv/bin/python bench/curves_bench.py                       # SQLite (bench/full_data.py)
.venv/bin/python bench/curves_bench.py --database-url postgresql+asyncpg://…/full_demo

Three reads, as the demo ADMIN (the whole group), medians of --runs runs each:
- one site's year of half-hours by day (365 points),
- four sites compared over the year by day (4 × 365 points),
- one site's month of half-hours returned raw (1,488 points).
Each is timed through the whole GraphQL query executed in process (authentication, SQL, the
answer) asking `points` (one object per point) or `series` (the same in columns), through the
resolver alone, and as the hand-written SQL of the same result on the raw driver (the floor).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resolvers.curves import consumption_curves
from comptoir.settings import Settings
from db.engine import create_engine, create_session_factory
from db.scoped import Perimeter
from domain.curves import CurveStep
from tests.ids import gid
from tests.runner import Runner

YEAR = (date(2025, 12, 1), date(2026, 11, 30))
MONTH = (date(2026, 3, 1), date(2026, 3, 31))
SERIES = """query($ids: [ID!]!, $from: Date!, $to: Date!, $step: CurveStep!) {
  consumptionCurve(siteIds: $ids, from: $from, to: $to, step: $step) {
    totalKwh maxPowerKw maxPowerAt shares { actual estimated missing }
    series { starts energyKwh meanPowerKw maxPowerKw qualities } } }"""
QUERY = """query($ids: [ID!]!, $from: Date!, $to: Date!, $step: CurveStep!) {
  consumptionCurve(siteIds: $ids, from: $from, to: $to, step: $step) {
    totalKwh maxPowerKw maxPowerAt shares { actual estimated missing }
    points { start energyKwh meanPowerKw maxPowerKw quality } } }"""

PG_BY_DAY = """
SELECT site_id, (starts_at AT TIME ZONE 'Europe/Paris')::date AS day,
       sum(power_w * minutes) AS wm, max(power_w) AS max_w,
       max(CASE quality WHEN 'MISSING' THEN 3 WHEN 'ESTIMATED' THEN 2
                        WHEN 'CORRECTED' THEN 1 ELSE 0 END) AS rank
FROM load_curve_points
WHERE site_id = ANY(:ids) AND starts_at >= :start AND starts_at < :end
GROUP BY 1, 2 ORDER BY 1, 2"""
SQLITE_BY_DAY = """
SELECT site_id, CASE WHEN starts_at >= '2026-03-29 01:00:00' AND starts_at < '2026-10-25 01:00:00'
       THEN date(starts_at, '+2 hours') ELSE date(starts_at, '+1 hour') END AS day,
       sum(power_w * minutes), max(power_w),
       max(CASE quality WHEN 'MISSING' THEN 3 WHEN 'ESTIMATED' THEN 2
                        WHEN 'CORRECTED' THEN 1 ELSE 0 END)
FROM load_curve_points
WHERE site_id IN ({ids}) AND starts_at >= :start AND starts_at < :end
GROUP BY 1, 2 ORDER BY 1, 2"""
RAW = """
SELECT site_id, starts_at, power_w, quality FROM load_curve_points
WHERE site_id IN ({ids}) AND starts_at >= :start AND starts_at < :end ORDER BY 1, 2"""


def _instant(day: date, sqlite: bool) -> Any:
    from domain.curves import paris_midnight

    value = paris_midnight(day)
    return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value


async def _medians(
    runs: int, works: list[Callable[[], Awaitable[Any]]]
) -> list[tuple[float, float]]:
    """Median wall and CPU milliseconds of each work, the works interleaved round by round
    (on a shared machine a load change then weighs on all of them alike). CPU is this
    process's: the database server's is not in it, SQLite's thread is."""
    for work in works:
        await work()  # warm: caches, plans
    walls: list[list[float]] = [[] for _ in works]
    cpus: list[list[float]] = [[] for _ in works]
    for _ in range(runs):
        for k, work in enumerate(works):
            started, cpu = time.perf_counter(), time.process_time()
            await work()
            walls[k].append((time.perf_counter() - started) * 1000)
            cpus[k].append((time.process_time() - cpu) * 1000)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(walls, cpus, strict=True)]


async def run(url: str, runs: int) -> None:
    settings = Settings(database_url=url)
    engine = create_engine(settings, poolclass=NullPool if "sqlite" in url else None)
    sessions = create_session_factory(engine)
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        site_ids = list(
            (
                await connection.execute(
                    sa.text(
                        "SELECT DISTINCT p.site_id FROM load_curve_points p JOIN sites s"
                        " ON s.id = p.site_id JOIN members m ON m.id = s.member_id"
                        " WHERE m.group_id = 1 ORDER BY 1 LIMIT 4"
                    )
                )
            ).scalars()
        )
    runner = Runner(settings, sessions)
    admin: Any = SimpleNamespace(id=1)
    perimeter = Perimeter(group_ids=frozenset({1}))
    cases = (
        ("one site, a year by day", site_ids[:1], YEAR, CurveStep.DAY),
        ("four sites, a year by day", site_ids, YEAR, CurveStep.DAY),
        ("one site, a month of half-hours", site_ids[:1], MONTH, CurveStep.HALF_HOUR),
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"backend={engine.dialect.name} runs={runs} sites={site_ids} load average {load}")
    for name, ids, (first, last), step in cases:
        variables = {
            "ids": [gid("Site", i) for i in ids],
            "from": first.isoformat(),
            "to": last.isoformat(),
            "step": step.value,
        }

        async def graphql(variables: dict[str, Any] = variables) -> None:
            data = await runner.run(QUERY, variables, as_user=admin)
            assert data["consumptionCurve"], data

        async def resolver(ids: list[int] = ids, first: date = first, last: date = last,
                           step: CurveStep = step) -> None:  # fmt: skip
            await consumption_curves(
                sessions, perimeter, site_ids=ids, first=first, last=last, step=step
            )

        start = _instant(first, sqlite)
        end = _instant(last + timedelta(days=1), sqlite)
        if step is CurveStep.DAY:
            sql = SQLITE_BY_DAY.format(ids=",".join(map(str, ids))) if sqlite else PG_BY_DAY
        else:
            sql = RAW.format(ids=",".join(map(str, ids)))
        params: dict[str, Any] = {"start": start, "end": end}
        if not sqlite and step is CurveStep.DAY:
            params["ids"] = ids

        async def hand_written(sql: str = sql, params: dict[str, Any] = params) -> None:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                if sqlite:
                    cursor = await driver.execute(sql, params)
                    await cursor.fetchall()
                else:
                    text = sql.replace(":ids", "$1").replace(":start", "$2").replace(":end", "$3")
                    if "$1" in text:
                        await driver.fetch(text, params["ids"], params["start"], params["end"])
                    else:
                        text = sql.replace(":start", "$1").replace(":end", "$2")
                        await driver.fetch(text, params["start"], params["end"])

        async def columns(variables: dict[str, Any] = variables) -> None:
            data = await runner.run(SERIES, variables, as_user=admin)
            assert data["consumptionCurve"], data

        g, c, r, h = await _medians(runs, [graphql, columns, resolver, hand_written])
        print(
            f"  {name:32} GraphQL points {g[0]:6.1f} ms (CPU {g[1]:5.1f}), series {c[0]:6.1f} ms"
            f" (CPU {c[1]:5.1f}); resolver {r[0]:6.1f} ms (CPU {r[1]:5.1f});"
            f" hand-written SQL {h[0]:6.1f} ms"
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a database holding the full demo")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if args.database_url:
        url = args.database_url
    else:
        from bench.full_data import full_database_url

        url = full_database_url()
    asyncio.run(run(url, args.runs))


if __name__ == "__main__":
    main()
