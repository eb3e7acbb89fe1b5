"""Throttling: a few free failures, then blocks that double up to a ceiling; a success clears.

The counters live in the database (real SQLite or PostgreSQL through the session fixtures), so
that every API worker sees the same ones.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.secrets import digest
from auth.throttle import (
    ACCOUNT_POLICY,
    ADDRESS_POLICY,
    Policy,
    Throttled,
    ThrottleKey,
    clear,
    ensure_not_blocked,
    keys_for,
    record_failure,
)
from tests.clock import NOW


def test_blocks_double_from_the_first_one_up_to_the_ceiling() -> None:
    policy = Policy(free_failures=5)
    assert [policy.block_for(n) for n in range(6)] == [None] * 6
    assert [policy.block_for(n).total_seconds() for n in range(6, 12)] == [  # type: ignore[union-attr]
        30,
        60,
        120,
        240,
        480,
        900,
    ]
    assert policy.block_for(100) == timedelta(minutes=15)
    assert ADDRESS_POLICY.free_failures > ACCOUNT_POLICY.free_failures


def test_an_account_is_counted_hashed_and_whatever_its_case() -> None:
    account, address = keys_for("login", account="Claire@Mairie.test", address="192.0.2.7")
    assert account.key == f"login:account:{digest('claire@mairie.test')}"
    assert "claire" not in account.key.casefold()
    assert account.policy is ACCOUNT_POLICY
    assert (address.key, address.policy) == ("login:address:192.0.2.7", ADDRESS_POLICY)
    assert keys_for("login", account=None, address=None) == []


def fresh_key(policy: Policy = ACCOUNT_POLICY) -> list[ThrottleKey]:
    return [ThrottleKey(f"test:{secrets.token_hex(8)}", policy)]


async def fail(
    sessions: async_sessionmaker[AsyncSession], keys: list[ThrottleKey], at: int
) -> None:
    async with sessions() as session, session.begin():
        await record_failure(session, keys, now=NOW + timedelta(seconds=at))


async def retry_after(
    sessions: async_sessionmaker[AsyncSession], keys: list[ThrottleKey], at: int
) -> int | None:
    async with sessions() as session:
        try:
            await ensure_not_blocked(session, keys, now=NOW + timedelta(seconds=at))
        except Throttled as throttled:
            return throttled.retry_after_seconds
    return None


async def test_free_failures_then_a_block_that_doubles(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    keys = fresh_key()
    # given five failures: still free
    for _ in range(5):
        await fail(session_factory, keys, at=0)
    assert await retry_after(session_factory, keys, at=0) is None
    # when a sixth comes: blocked 30 s, then free again once they are over
    await fail(session_factory, keys, at=0)
    assert await retry_after(session_factory, keys, at=0) == 30
    assert await retry_after(session_factory, keys, at=29) == 1
    assert await retry_after(session_factory, keys, at=30) is None
    # then each new failure doubles the block
    await fail(session_factory, keys, at=31)
    assert await retry_after(session_factory, keys, at=31) == 60


async def test_failures_older_than_the_window_start_again_from_one(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    keys = fresh_key()
    for _ in range(6):
        await fail(session_factory, keys, at=0)
    later = int(ACCOUNT_POLICY.window.total_seconds()) + 1
    await fail(session_factory, keys, at=later)
    assert await retry_after(session_factory, keys, at=later) is None


async def test_a_success_clears_the_counter(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    keys = fresh_key()
    for _ in range(6):
        await fail(session_factory, keys, at=0)
    async with session_factory() as session, session.begin():
        await clear(session, keys)
    assert await retry_after(session_factory, keys, at=0) is None
    for _ in range(5):
        await fail(session_factory, keys, at=1)
    assert await retry_after(session_factory, keys, at=1) is None


async def test_the_longest_block_of_all_the_keys_wins(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    short, long = fresh_key(), fresh_key()
    for _ in range(6):
        await fail(session_factory, short, at=0)
    for _ in range(8):
        await fail(session_factory, long, at=0)
    assert await retry_after(session_factory, short + long, at=0) == 120


@pytest.mark.parametrize("keys", [[]])
async def test_no_key_is_never_blocked(
    session_factory: async_sessionmaker[AsyncSession], keys: list[ThrottleKey]
) -> None:
    assert await retry_after(session_factory, keys, at=0) is None
