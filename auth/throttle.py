"""Throttling of login, activation, reset and API-key use, shared by every API worker.

Each flow counts failures per account and per client address in the database. Past a few
free failures within the window, the key is blocked for a time that doubles with each new
failure (slowing an attacker down), up to a ceiling; a success clears the account's counter.
Addresses get a larger allowance: a whole town hall may sit behind one address.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.secrets import digest
from db.core import THROTTLE_COUNTERS
from db.models import ThrottleCounter


@dataclass(frozen=True, slots=True)
class Policy:
    free_failures: int
    window: timedelta = timedelta(minutes=15)
    first_block: timedelta = timedelta(seconds=30)
    longest_block: timedelta = timedelta(minutes=15)

    def block_for(self, failures: int) -> timedelta | None:
        over = failures - self.free_failures
        if over <= 0:
            return None
        # The exponent is capped before multiplying: a timedelta overflows past ~2**41 × 30 s,
        # which a burst of concurrent failures on one address could reach.
        factor: int = 2 ** min(over - 1, 32)  # int ** int is typed Any
        return min(self.first_block * factor, self.longest_block)


ACCOUNT_POLICY = Policy(free_failures=5)
ADDRESS_POLICY = Policy(free_failures=30)


@dataclass(frozen=True, slots=True)
class ThrottleKey:
    key: str
    policy: Policy


class Throttled(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"retry after {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


def keys_for(flow: str, *, account: str | None, address: str | None) -> list[ThrottleKey]:
    """The counters a flow's attempt counts against (account names are stored hashed)."""
    keys = []
    if account:
        keys.append(ThrottleKey(f"{flow}:account:{digest(account.casefold())}", ACCOUNT_POLICY))
    if address:
        keys.append(ThrottleKey(f"{flow}:address:{address}", ADDRESS_POLICY))
    return keys


async def ensure_not_blocked(
    session: AsyncSession, keys: Sequence[ThrottleKey], *, now: datetime
) -> None:
    if not keys:
        return
    blocked = await session.exec(
        select(sa.func.max(col(ThrottleCounter.blocked_until))).where(
            col(ThrottleCounter.key).in_([k.key for k in keys]),
            col(ThrottleCounter.blocked_until) > now,
        )
    )
    until = blocked.one()
    if until is not None:
        raise Throttled(max(1, math.ceil((until - now).total_seconds())))


async def record_failure(
    session: AsyncSession, keys: Sequence[ThrottleKey], *, now: datetime
) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for throttle_key in keys:
        statement = insert(ThrottleCounter).values(
            key=throttle_key.key, failures=1, window_started_at=now, blocked_until=None
        )
        # Atomic upsert: concurrent failures on two workers both count.
        table = THROTTLE_COUNTERS
        expired = table.c.window_started_at < now - throttle_key.policy.window
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": sa.case((expired, 1), else_=table.c.failures + 1),
                "window_started_at": sa.case((expired, now), else_=table.c.window_started_at),
            },
        )
        await session.exec(statement)
        failures = (
            await session.exec(
                select(ThrottleCounter.failures).where(ThrottleCounter.key == throttle_key.key)
            )
        ).one()
        block = throttle_key.policy.block_for(failures)
        if block is not None:
            await session.exec(
                sa.update(ThrottleCounter)
                .where(col(ThrottleCounter.key) == throttle_key.key)
                .values(blocked_until=now + block)
            )


async def clear(session: AsyncSession, keys: Sequence[ThrottleKey]) -> None:
    if keys:
        await session.exec(
            sa.delete(ThrottleCounter).where(col(ThrottleCounter.key).in_([k.key for k in keys]))
        )
