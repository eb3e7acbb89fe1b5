"""Alert detection over the whole full demo (12,967 sites), twice: the second run opens 0.

.venv/bin/python bench/alerts_bench.py                      # SQLite (a copy of the full demo)
.venv/bin/python bench/alerts_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench_alerts

On SQLite the full demo (bench/full_data.py) is copied first, so every run starts from the
demo's own alerts. On PostgreSQL the database must exist (`createdb -h 127.0.0.1 -U postgres
bench_alerts`); it is migrated and loaded with the full demo when empty, and reloaded with
--fresh (a downgrade to base first). Prints, per run, the time, the sites examined and the
alerts opened and resolved per kind.

Measured on the shared 2-core machine (full demo as of 2026-11-01, 12,967 sites):
SQLite 10.5 s then 11.1 s, PostgreSQL 12.4 s then 11.9 s; the first run opens 10
MISSING_DISTRIBUTOR_READING and 10 ZERO_CONSUMPTION and resolves 12 NEGATIVE_CONSUMPTION
(regularisations the demo had flagged), 1 MISSING_DISTRIBUTOR_READING and 1
EXCESSIVE_CONSUMPTION; the second run opens and resolves nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resolvers.alert_detection import detect_alerts
from bench.full_data import AS_OF, full_database_url
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from demo import database_is_empty, load_demo_data

# The morning after the demo's as-of date, Paris time.
NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 6, 0, tzinfo=UTC)


async def _prepare_postgres(url: str, fresh: bool) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    try:
        if fresh:
            await migrate.downgrade(engine, "base")
        await migrate.upgrade(engine)
        if await database_is_empty(engine):
            print("loading the full demo data into PostgreSQL…", flush=True)
            await load_demo_data(engine, scale="full", as_of=AS_OF)
    finally:
        await engine.dispose()


async def _run(url: str, runs: int) -> None:
    engine = create_engine(Settings(database_url=url))
    sessions = create_session_factory(engine)
    try:
        async with engine.connect() as connection:
            before = (
                await connection.execute(
                    text("SELECT status, count(*) FROM alerts GROUP BY status")
                )
            ).all()
        print(f"alerts before: {dict(before)}")
        for number in range(1, runs + 1):
            report = await detect_alerts(sessions, now=NOW)
            print(f"run {number}: {report.summary()}", flush=True)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL database to use (default: SQLite copy)")
    parser.add_argument("--fresh", action="store_true", help="PostgreSQL: reload the demo")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(_prepare_postgres(args.database_url, args.fresh))
        print(f"database: {make_url(args.database_url).render_as_string(hide_password=True)}")
        asyncio.run(_run(args.database_url, args.runs))
        return
    source = Path(make_url(full_database_url()).database or "")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "alerts.sqlite"
        shutil.copyfile(source, copy)
        print(f"database: SQLite copy of {source}")
        asyncio.run(_run(f"sqlite+aiosqlite:///{copy}", args.runs))


if __name__ == "__main__":
    main()
