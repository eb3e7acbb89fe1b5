"""Who is calling: the perimeter computed from live grants (DESIGN §2), and a caller that stops
holding once their account, login session or API key's grant goes."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.caller import load_caller, perimeter_for, session_is_live
from db.models import AccessGrant, RefreshToken, User
from db.scoped import Perimeter
from domain.enums import Tier, UserStatus
from tests.auth.scopes import grant_scope
from tests.clock import NOW
from tests.factories import World, make_person, make_world

# A caller's perimeter stops at the data still retained on the request's day (five years).
SERVED = date(NOW.year - 5, NOW.month, NOW.day)


def test_each_tier_turns_into_its_scope() -> None:
    assert perimeter_for([grant_scope(Tier.ADMIN, group_id=1)]) == Perimeter(frozenset({1}))
    assert perimeter_for([grant_scope(Tier.USER, member_id=2)]) == Perimeter(
        member_ids=frozenset({2})
    )
    infra = grant_scope(Tier.INFRA_USER, member_id=2, billing_account_ids=frozenset({5, 6}))
    third = grant_scope(Tier.THIRD_PARTY, group_id=1, billing_account_ids=frozenset({7}))
    assert perimeter_for([infra, third]) == Perimeter(billing_account_ids=frozenset({5, 6, 7}))
    # OPERATOR sees no customer data; nothing gives nothing
    assert perimeter_for([grant_scope(Tier.OPERATOR)]).is_empty
    assert perimeter_for([]) == Perimeter.nobody()


def test_grants_add_up_and_a_read_only_third_party_cannot_write() -> None:
    grants = [grant_scope(Tier.ADMIN, group_id=1), grant_scope(Tier.ADMIN, group_id=3, id=2)]
    grants.append(grant_scope(Tier.USER, member_id=9, id=3))
    assert perimeter_for(grants) == Perimeter(frozenset({1, 3}), frozenset({9}))
    assert not grant_scope(Tier.THIRD_PARTY, may_submit=False).allows_writes
    assert grant_scope(Tier.THIRD_PARTY, may_submit=True).allows_writes
    # the flag is third parties' only
    assert grant_scope(Tier.INFRA_USER, may_submit=False).allows_writes


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Appelant")


async def caller_of(sessions: async_sessionmaker[AsyncSession], user: User, **kw: object):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await load_caller(session, user_id=user.id, now=NOW, **kw)  # type: ignore[arg-type]


async def test_a_caller_carries_the_perimeters_of_their_live_grants(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    admin = await caller_of(session_factory, world.people["ADMIN"])
    assert admin is not None and admin.holds(Tier.ADMIN) and not admin.holds(Tier.USER)
    assert admin.perimeter == Perimeter(group_ids=frozenset({world.group.id}), served_since=SERVED)
    third = await caller_of(session_factory, world.people["THIRD_PARTY"])
    accounts = frozenset({world.accounts[0].id, world.accounts[2].id})
    assert third is not None and third.perimeter == Perimeter(
        billing_account_ids=accounts, served_since=SERVED
    )
    assert third.write_perimeter.is_empty  # read-only


async def test_suspended_and_revoked_grants_no_longer_count(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    user, granted = await make_person(
        session_factory, f"p{secrets.token_hex(3)}@appelant.test", tier=Tier.USER,
        member_id=world.member.id,
    )  # fmt: skip
    assert granted is not None
    for column in ("suspended_at", "revoked_at"):
        async with session_factory() as session, session.begin():
            await session.exec(
                sa.update(AccessGrant).where(AccessGrant.id == granted.id).values({column: NOW})  # type: ignore[arg-type]
            )
        caller = await caller_of(session_factory, user)
        assert caller is not None and caller.grants == () and caller.perimeter.is_empty


async def test_an_inactive_account_or_unknown_person_is_nobody(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    suspended, _ = await make_person(
        session_factory, f"s{secrets.token_hex(3)}@appelant.test", tier=Tier.ADMIN,
        group_id=world.group.id, status=UserStatus.SUSPENDED,
    )  # fmt: skip
    assert await caller_of(session_factory, suspended) is None
    async with session_factory() as session:
        assert await load_caller(session, user_id=10**9, now=NOW) is None


async def test_an_api_key_is_limited_to_its_grant_and_writes_only_with_the_write_scope(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    user = world.people["INFRA_USER"]
    grant_id = world.grants["INFRA_USER"].id
    read_only = await caller_of(
        session_factory, user, api_key_id=1, api_key_grant_id=grant_id, api_key_scopes=["read"]
    )
    assert read_only is not None and read_only.api_key_id == 1
    assert read_only.perimeter == Perimeter(
        billing_account_ids=frozenset({world.accounts[0].id}), served_since=SERVED
    )
    assert read_only.write_perimeter.is_empty
    writer = await caller_of(
        session_factory, user, api_key_id=1, api_key_grant_id=grant_id, api_key_scopes=["write"]
    )
    assert writer is not None and writer.write_perimeter == writer.perimeter
    # a key whose grant is not the person's live grant holds nothing
    assert await caller_of(session_factory, user, api_key_id=1, api_key_grant_id=10**9) is None


async def test_a_login_session_lives_while_one_refresh_token_is_unrevoked_and_unexpired(
    session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    user = world.people["USER"]
    family = secrets.token_hex(8)
    async with session_factory() as session, session.begin():
        for k, (expires, revoked) in enumerate(
            [(NOW + timedelta(days=1), NOW), (NOW + timedelta(hours=1), None)]
        ):
            session.add(
                RefreshToken(
                    user_id=user.id,  # type: ignore[arg-type]
                    family_id=family,
                    token_hash=f"{family}-{k}",
                    issued_at=NOW,
                    expires_at=expires,
                    revoked_at=revoked,
                )
            )
    async with session_factory() as session:
        assert await session_is_live(session, family, now=NOW)
        assert not await session_is_live(session, family, now=NOW + timedelta(hours=1))
        assert not await session_is_live(session, "no-such-family", now=NOW)
    assert await caller_of(session_factory, user, family_id=family) is not None
    later = NOW + timedelta(hours=2)
    async with session_factory() as session:
        assert await load_caller(session, user_id=user.id, now=later, family_id=family) is None  # type: ignore[arg-type]
