"""The monthly partitions of `load_curve_points` on PostgreSQL (nothing to do on SQLite).

A partition holds one Paris calendar month, so a month's points, a re-import of a day and the
partition pruning of a period all follow the business calendar. Partitions live in their own
schema (`curve_partitions`): the application and alembic only ever see the parent table.
The migration creates a range of months; an import or a demo load adds what it needs first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.calendar import PARIS

PARTITION_SCHEMA = "curve_partitions"
PARENT = "load_curve_points"


def months_between(first: date, last: date) -> Iterator[date]:
    """The first day of every month from `first`'s month to `last`'s, inclusive."""
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _paris_midnight_utc(day: date) -> str:
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S+00")


def partition_ddl(month: date) -> str:
    """`CREATE TABLE … PARTITION OF` for the Paris month starting at `month`."""
    following = (
        date(month.year + 1, 1, 1) if month.month == 12 else month.replace(month=month.month + 1)
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {PARTITION_SCHEMA}.{PARENT}_{month:%Y%m} "
        f"PARTITION OF {PARENT} FOR VALUES FROM ('{_paris_midnight_utc(month)}') "
        f"TO ('{_paris_midnight_utc(following)}')"
    )


async def ensure_month_partitions(connection: AsyncConnection, first: date, last: date) -> int:
    """Creates the missing monthly partitions covering `first`..`last` (PostgreSQL only);
    returns how many were created. Existing ones are looked up first, so the common case
    takes no lock on the parent table."""
    if connection.dialect.name != "postgresql":
        return 0
    existing = set(
        (
            await connection.execute(
                sa.text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :parent"
                ),
                {"parent": PARENT},
            )
        ).scalars()
    )
    created = 0
    for month in months_between(first, last):
        if f"{PARENT}_{month:%Y%m}" in existing:
            continue
        await connection.exec_driver_sql(partition_ddl(month))
        created += 1
    return created
