"""Money stays exact and instants stay timezone-aware on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from db.types import FixedDecimal, UTCDateTime

METADATA = sa.MetaData()
LEDGER = sa.Table(
    "test_ledger",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", FixedDecimal(14, 2)),
    sa.Column("at", UTCDateTime()),
)


@pytest.fixture
async def ledger(engine: sa.ext.asyncio.AsyncEngine):  # type: ignore[no-untyped-def]
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.drop_all)


async def test_sums_are_exact_to_the_cent(ledger: sa.ext.asyncio.AsyncEngine) -> None:
    # given 1,000 amounts of 0.10 € and one negative regularisation
    rows = [{"amount": Decimal("0.10")} for _ in range(1000)] + [{"amount": Decimal("-33.33")}]
    async with ledger.begin() as connection:
        await connection.execute(LEDGER.insert(), rows)
        # when summed in SQL
        total = (await connection.execute(sa.select(sa.func.sum(LEDGER.c.amount)))).scalar_one()
        big = (
            await connection.execute(
                sa.select(LEDGER.c.amount).where(LEDGER.c.amount < Decimal("0"))
            )
        ).scalar_one()
    # then the total is a Decimal to the cent, not a float approximation
    assert total == Decimal("66.67")
    assert isinstance(total, Decimal)
    assert big == Decimal("-33.33")


async def test_floats_and_sub_cent_amounts_are_refused(ledger: sa.ext.asyncio.AsyncEngine) -> None:
    for bad in (0.1, Decimal("1.005")):
        async with ledger.begin() as connection:
            with pytest.raises(StatementError):
                await connection.execute(LEDGER.insert(), [{"amount": bad}])


async def test_instants_come_back_aware_in_utc(ledger: sa.ext.asyncio.AsyncEngine) -> None:
    paris_summer = timezone(timedelta(hours=2))
    moment = datetime(2026, 7, 1, 9, 30, tzinfo=paris_summer)
    async with ledger.begin() as connection:
        await connection.execute(LEDGER.insert(), [{"at": moment}])
        stored = (await connection.execute(sa.select(LEDGER.c.at))).scalar_one()
    assert stored == moment
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)


async def test_naive_datetimes_are_refused(ledger: sa.ext.asyncio.AsyncEngine) -> None:
    async with ledger.begin() as connection:
        with pytest.raises(StatementError):
            await connection.execute(LEDGER.insert(), [{"at": datetime(2026, 1, 1)}])
