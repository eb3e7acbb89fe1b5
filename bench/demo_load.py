"""Time a `full` demo load into a fresh database.

.venv/bin/python bench/demo_load.py                    # a fresh SQLite file under var/bench
.venv/bin/python bench/demo_load.py --database-url postgresql+asyncpg://…/empty_db

Dated `--as-of` (default 2026-12-01, the README's figures): the same date and seed give the
same rows, so the counts and the total printed here are comparable from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from comptoir.settings import Settings, normalise_database_url
from db import migrate
from db.engine import create_engine
from db.models import SQLModel
from demo import load_demo_data


async def run(url: str, scale: str, as_of: date) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    report = await load_demo_data(engine, scale=scale, as_of=as_of)  # type: ignore[arg-type]
    invoices = SQLModel.metadata.tables["invoices"]
    async with engine.connect() as connection:
        total = await connection.scalar(sa.select(sa.func.sum(invoices.c.total_incl_tax)))
    await engine.dispose()
    backend = make_url(url).get_backend_name()
    print(f"scale={scale} as_of={as_of} backend={backend} seconds={report.seconds:.1f}")
    print(f"  of which daily gas and load curves: {report.interval_seconds:.1f} s")
    for table, count in report.counts.items():
        print(f"  {table:32} {count:>9,}")
    print(f"  sites by segment: {report.sites_by_segment}")
    print(f"  invoices, total incl. VAT: {total:,.2f} EUR")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="an empty database (default: fresh SQLite file)")
    parser.add_argument("--scale", default="full", choices=("small", "full"))
    parser.add_argument("--as-of", default="2026-12-01", type=date.fromisoformat)
    args = parser.parse_args()
    if args.database_url:
        url = normalise_database_url(args.database_url)
    else:
        path = Path("var/bench/demo_full.sqlite")
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(run(url, args.scale, args.as_of))
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and database:
        print(f"  file size: {os.path.getsize(database) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
