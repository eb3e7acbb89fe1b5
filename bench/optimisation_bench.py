"""The yearly tariff optimisation campaign over the full demo data (both groups, ~14,000 sites):
wall and CPU time of `run_campaign` per group, beside a reference that only reads the same
rows (the sites, their meters, their actual readings of the last 400 days) with plain SQL on the
same connection kind, and does nothing with them. The campaign must stay under 30 s.

    .venv/bin/python bench/optimisation_bench.py [--database-url URL] [--threshold 500]

Each run records a campaign (the previous proposals of the sites it studies are superseded),
so the figures hold for a first run and for the yearly re-run alike.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resolvers.optimisation import READINGS_LOOKBACK_DAYS, group_ids, run_campaign
from bench.full_data import AS_OF, full_database_url
from comptoir.settings import Settings
from db.engine import create_engine, create_session_factory

REFERENCE_SQL = (
    "SELECT s.id, s.car_kwh, s.tariff_option, s.subscribed_power_kva FROM sites s "
    "JOIN members m ON m.id = s.member_id WHERE m.group_id = :g AND s.status = 'ACTIVE'",
    "SELECT me.id, me.site_id, me.digits, me.reading_coefficient FROM meters me "
    "JOIN sites s ON s.id = me.site_id JOIN members m ON m.id = s.member_id "
    "WHERE m.group_id = :g",
    "SELECT r.site_id, r.meter_id, r.register_code, r.read_on, r.index_value, r.source, "
    "r.rollover FROM readings r JOIN sites s ON s.id = r.site_id "
    "JOIN members m ON m.id = s.member_id WHERE m.group_id = :g AND r.read_on >= :since "
    "AND r.read_on <= :until AND r.source IN ('DISTRIBUTOR_ACTUAL', 'SPECIAL')",
)


async def main(url: str, threshold: Decimal) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    sessions = create_session_factory(engine)
    try:
        groups = await group_ids(sessions, None)
        # The reference: the same rows read with plain SQL, nothing computed or written.
        started, cpu = time.perf_counter(), time.process_time()
        rows = 0
        async with engine.connect() as connection:
            for group_id in groups:
                for statement in REFERENCE_SQL:
                    result = await connection.execute(
                        sa.text(statement),
                        {
                            "g": group_id,
                            "since": AS_OF - timedelta(days=READINGS_LOOKBACK_DAYS),
                            "until": AS_OF,
                        },
                    )
                    rows += len(result.all())
        print(
            f"reference (read the rows only): {rows} rows in "
            f"{time.perf_counter() - started:.2f} s wall, {time.process_time() - cpu:.2f} s CPU"
        )
        started, cpu = time.perf_counter(), time.process_time()
        studied = proposals = 0
        for group_id in groups:
            report = await run_campaign(
                sessions,
                group_id=group_id,
                threshold=threshold,
                as_of=AS_OF,
                now=datetime.now(UTC),
            )
            studied += report.sites_studied
            proposals += report.proposals
            print(
                f"  group {group_id}: {report.sites_studied} sites studied "
                f"({report.sites_on_readings} on actual readings), {report.proposals} proposals "
                f"≥ {report.threshold} €, {report.superseded} superseded, skipped "
                f"{report.skipped}, {report.seconds:.2f} s"
            )
        wall = time.perf_counter() - started
        print(
            f"campaign: {studied} sites studied, {proposals} proposals in {wall:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU (limit 30 s: "
            f"{'OK' if wall < 30 else 'TOO SLOW'})"
        )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--threshold", type=Decimal, default=Decimal("500"))
    args = parser.parse_args()
    asyncio.run(main(args.database_url or full_database_url(), args.threshold))
