"""Import speed of `comptoir import-curves` on PostgreSQL: POINTS half-hourly points over
SITES electricity sites, from a gzip CSV, into an empty database; then the same file again
(every day replaced). Beside it, the plain reference: the same rows COPYed straight into a
bare table of the same layout by asyncpg, no parsing, no checks, no replacement.

createdb -h 127.0.0.1 -U postgres bench_curves_import
.venv/bin/python bench/curves_import_bench.py \
    postgresql+asyncpg://postgres@127.0.0.1:5432/bench_curves_import [--points 10000000]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resolvers.curve_import import import_curves
from comptoir.settings import Settings
from db import migrate
from db.core import METERS, SITES
from db.engine import create_engine, create_session_factory
from domain.calendar import PARIS
from tests.factories import make_tenant

SITES_COUNT = 1_000
START = datetime(2025, 1, 1, tzinfo=PARIS).astimezone(UTC)
WORK = Path(__file__).resolve().parent.parent / "var" / "bench"


async def _sites(url: str, count: int) -> list[str]:
    """`count` electricity sites with their Linky meter (one tenant, copies of its site)."""
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    tenant = await make_tenant(sessions, "Bench courbes")
    site = tenant.site.model_dump(exclude={"id", "created_at", "updated_at"})
    meter = tenant.meter.model_dump(exclude={"id", "site_id"})
    numbers = [tenant.site.point_number]
    async with engine.begin() as connection:
        for k in range(1, count):
            number = f"{70000000000000 + k:014d}"
            site_id = (
                await connection.execute(
                    sa.insert(SITES).values(**site | {"point_number": number}).returning(SITES.c.id)
                )
            ).scalar_one()
            await connection.execute(
                sa.insert(METERS).values(**meter | {"serial": f"BK{k:010d}", "site_id": site_id})
            )
            numbers.append(number)
    await engine.dispose()
    return numbers


def _file(numbers: list[str], per_site: int) -> Path:
    path = WORK / f"curves-{len(numbers)}x{per_site}.csv.gz"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    stamps = [
        (START + timedelta(minutes=30 * i)).astimezone(PARIS).isoformat() for i in range(per_site)
    ]
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        out.write("prm;horodate;valeur;unite;pas;nature\n")
        for s, number in enumerate(numbers):
            out.writelines(
                f"{number};{stamp};{300 + (s * 7 + i * 13) % 5000};W;30;R\n"
                for i, stamp in enumerate(stamps)
            )
    return path


async def _reference(url: str, numbers: list[str], per_site: int) -> float:
    """The same rows COPYed into a bare table: the floor the import cannot go under."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg", "postgresql")
    connection: Any = await asyncpg.connect(dsn)
    await connection.execute(
        "DROP TABLE IF EXISTS bare_points; CREATE UNLOGGED TABLE bare_points (site_id bigint,"
        " starts_at timestamptz, meter_id bigint, minutes smallint, power_w integer,"
        " quality varchar(9), PRIMARY KEY (site_id, starts_at))"
    )
    started = time.perf_counter()
    for s in range(len(numbers)):
        await connection.copy_records_to_table(
            "bare_points",
            records=[
                (
                    s,
                    START + timedelta(minutes=30 * i),
                    s,
                    30,
                    300 + (s * 7 + i * 13) % 5000,
                    "ACTUAL",
                )
                for i in range(per_site)
            ],
        )
    seconds = time.perf_counter() - started
    await connection.execute("DROP TABLE bare_points")
    await connection.close()
    return seconds


async def run(url: str, points: int, again: bool) -> None:
    per_site = points // SITES_COUNT
    numbers = await _sites(url, SITES_COUNT)
    started = time.perf_counter()
    path = _file(numbers, per_site)
    print(f"file: {path.name} {path.stat().st_size / 1e6:.0f} MB gz, written in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    reference = await _reference(url, numbers, per_site)
    print(f"reference: the same rows COPYed into a bare unlogged table: {reference:.1f} s "
          f"({points / reference:,.0f} rows/s)")  # fmt: skip
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    sessions = create_session_factory(engine)
    first = await import_curves(sessions, path)
    rate = first.points / first.seconds
    ratio = first.seconds / reference
    print(f"import:    {first.points:,} points in {first.seconds:.1f} s ({rate:,.0f} points/s),"
          f" {first.site_days:,} site-days; {ratio:.1f}× the reference")  # fmt: skip
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if again:
        second = await import_curves(sessions, path)
        print(f"re-import: {second.points:,} points in {second.seconds:.1f} s (every day replaced)")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--again", action="store_true", help="then import the file again")
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.points, args.again))


if __name__ == "__main__":
    main()
