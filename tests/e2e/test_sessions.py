"""Logging in, refreshing, logging out and the viewer, over HTTP."""

from __future__ import annotations

import logging
import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.tokens import issue_access_token
from db.types import utcnow
from tests.e2e.server import LiveServer, data_of, graphql
from tests.factories import TEST_PASSWORD, World, make_world

LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) {
    tokens { accessToken refreshToken accessTokenExpiresAt refreshTokenExpiresAt }
    errors { field code message retryAfterSeconds }
  }
}
"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(input: {refreshToken: $token}) {
    tokens { accessToken refreshToken }
    errors { code message }
  }
}
"""
LOG_OUT = "mutation { logOut { ok errors { code } } }"
VIEWER = """
query {
  viewer {
    viaApiKey
    person { email fullName status grants { tier status maySubmit
      member { legalName } group { name } billingAccounts { number } } }
    perimeter { members billingAccounts sites sitesByEnergy { energy sites } }
  }
}
"""


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Sessions")


async def log_in(server: LiveServer, email: str, password: str = TEST_PASSWORD) -> dict:
    return data_of(await graphql(server, LOG_IN, {"email": email, "password": password}))["logIn"]


async def viewer(server: LiveServer, token: str) -> dict | None:
    return data_of(await graphql(server, VIEWER, token=token))["viewer"]


async def test_log_in_then_the_viewer_sees_their_grants_and_perimeter(
    live_server: LiveServer, world: World
) -> None:
    # given a member user
    answer = await log_in(live_server, world.email("USER").upper())  # emails ignore case
    assert answer["errors"] == []
    # when they ask who they are
    me = await viewer(live_server, answer["tokens"]["accessToken"])
    # then they see their grant and the member's two billing accounts and sites
    assert me is not None and me["viaApiKey"] is False
    assert me["person"]["email"] == world.email("USER")
    assert [g["tier"] for g in me["person"]["grants"]] == ["USER"]
    assert me["person"]["grants"][0]["member"]["legalName"] == world.member.legal_name
    assert me["perimeter"]["members"] == 1
    assert me["perimeter"]["billingAccounts"] == 2
    assert me["perimeter"]["sites"] == 2
    assert {"energy": "ELECTRICITY", "sites": 2} in me["perimeter"]["sitesByEnergy"]


@pytest.mark.parametrize(
    ("tier", "members", "accounts", "sites"),
    [("ADMIN", 2, 3, 3), ("INFRA_USER", 1, 1, 1), ("THIRD_PARTY", 2, 2, 2)],
)
async def test_each_tier_reaches_its_perimeter(
    live_server: LiveServer, world: World, tier: str, members: int, accounts: int, sites: int
) -> None:
    token = (await log_in(live_server, world.email(tier)))["tokens"]["accessToken"]
    me = await viewer(live_server, token)
    assert me is not None
    assert me["perimeter"]["members"] == members
    assert me["perimeter"]["billingAccounts"] == accounts
    assert me["perimeter"]["sites"] == sites


async def test_unknown_email_and_wrong_password_look_the_same(
    live_server: LiveServer, world: World
) -> None:
    wrong = await log_in(live_server, world.email("ADMIN"), "Pas-le-bon-mot-de-passe")
    unknown = await log_in(live_server, "personne@nulle-part.test", "Pas-le-bon-mot-de-passe")
    assert wrong == unknown
    assert wrong["tokens"] is None
    assert wrong["errors"] == [
        {
            "field": None,
            "code": "INVALID_CREDENTIALS",
            "message": "Adresse email ou mot de passe incorrect.",
            "retryAfterSeconds": None,
        }
    ]


async def test_unknown_email_and_wrong_password_take_similar_time(
    live_server: LiveServer, world: World
) -> None:
    async def timed(email: str) -> float:
        start = time.perf_counter()
        await log_in(live_server, email, "Encore-un-mauvais-essai")
        return time.perf_counter() - start

    known = statistics.median([await timed(world.email("INFRA_USER")) for _ in range(3)])
    unknown = statistics.median([await timed(f"absent{i}@nulle-part.test") for i in range(3)])
    # both pay one argon2 verification (~100 ms); no early return for unknown emails
    assert 0.5 < unknown / known < 2.0, (known, unknown)


async def test_refresh_rotates_and_reuse_closes_the_session(
    live_server: LiveServer, world: World
) -> None:
    first = (await log_in(live_server, world.email("ADMIN")))["tokens"]
    # when the refresh token is used, it gives new tokens
    second = data_of(await graphql(live_server, REFRESH, {"token": first["refreshToken"]}))
    second = second["refreshToken"]
    assert second["errors"] == []
    new_tokens = second["tokens"]
    assert new_tokens["refreshToken"] != first["refreshToken"]
    assert await viewer(live_server, new_tokens["accessToken"]) is not None
    # when the spent token is presented again, the whole session is closed
    reused = data_of(await graphql(live_server, REFRESH, {"token": first["refreshToken"]}))
    assert reused["refreshToken"]["errors"][0]["code"] == "TOKEN_REUSED"
    after = data_of(await graphql(live_server, REFRESH, {"token": new_tokens["refreshToken"]}))
    assert after["refreshToken"]["errors"][0]["code"] == "TOKEN_INVALID"
    assert await viewer(live_server, new_tokens["accessToken"]) is None


async def test_log_out_revokes_the_session(live_server: LiveServer, world: World) -> None:
    tokens = (await log_in(live_server, world.email("THIRD_PARTY")))["tokens"]
    assert await viewer(live_server, tokens["accessToken"]) is not None
    out = data_of(await graphql(live_server, LOG_OUT, token=tokens["accessToken"]))
    assert out["logOut"] == {"ok": True, "errors": []}
    assert await viewer(live_server, tokens["accessToken"]) is None
    refresh = data_of(await graphql(live_server, REFRESH, {"token": tokens["refreshToken"]}))
    assert refresh["refreshToken"]["errors"][0]["code"] == "TOKEN_INVALID"


async def test_log_out_needs_a_session(live_server: LiveServer) -> None:
    body = await graphql(live_server, LOG_OUT)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_and_tampered_tokens_are_refused(
    live_server: LiveServer, world: World
) -> None:
    tokens = (await log_in(live_server, world.email("USER")))["tokens"]
    secret = live_server.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    expired, _ = issue_access_token(
        secret,
        user_id=world.people["USER"].id,
        family_id="x",
        ttl_seconds=60,
        now=utcnow() - timedelta(hours=1),
    )
    forged, _ = issue_access_token(
        "another-secret-another-secret-1234",
        user_id=1,
        family_id="x",
        ttl_seconds=600,
        now=utcnow(),
    )
    access = tokens["accessToken"]
    tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    for token in (expired, forged, tampered, "garbage"):
        assert await viewer(live_server, token) is None
        body = await graphql(live_server, LOG_OUT, token=token)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_repeated_failures_block_the_account_for_a_while(
    live_server: LiveServer, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    world = await make_world(session_factory, "Throttle")
    email = world.email("USER")
    for _ in range(5):
        answer = await log_in(live_server, email, "Mauvais-mot-de-passe-1")
        assert answer["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # the sixth failure blocks; from then on even the right password waits
    await log_in(live_server, email, "Mauvais-mot-de-passe-1")
    blocked = await log_in(live_server, email)
    assert blocked["tokens"] is None
    error = blocked["errors"][0]
    assert error["code"] == "THROTTLED"
    assert 1 <= error["retryAfterSeconds"] <= 30
    assert "réessayez dans" in error["message"]
    # another account from the same address is not blocked by it
    other = await log_in(live_server, world.email("ADMIN"))
    assert other["errors"] == []


async def test_no_secret_reaches_the_logs(
    live_server: LiveServer, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = (await log_in(live_server, world.email("ADMIN")))["tokens"]
    await graphql(live_server, REFRESH, {"token": tokens["refreshToken"]})
    await log_in(live_server, world.email("ADMIN"), "Un-mot-de-passe-faux-99")
    logged = caplog.text
    for secret in (
        TEST_PASSWORD,
        "Un-mot-de-passe-faux-99",
        tokens["refreshToken"],
        tokens["accessToken"],
    ):
        assert secret not in logged


async def test_an_old_hash_is_upgraded_at_login(
    live_server: LiveServer, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from passlib.context import CryptContext

    from db.models import User
    from domain.enums import Tier
    from tests.factories import make_person

    user, _ = await make_person(session_factory, "ancien.hash@mairie.test", tier=Tier.OPERATOR)
    weaker = CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__time_cost=1,
        argon2__memory_cost=8192,
        argon2__parallelism=1,
    )
    async with session_factory() as session, session.begin():
        stored = await session.get(User, user.id)
        assert stored is not None
        stored.password_hash = weaker.hash(TEST_PASSWORD)
        session.add(stored)
    assert (await log_in(live_server, "ancien.hash@mairie.test"))["errors"] == []
    async with session_factory() as session:
        upgraded = await session.get(User, user.id)
    assert upgraded is not None and upgraded.password_hash is not None
    assert upgraded.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
