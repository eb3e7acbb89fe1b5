"""Hardening: what an attacker or a careless client sends gets a typed answer and changes
nothing it should not.

- every mutation but the session ones carries the `WritesData` guard, and a read-only API key
  gets FORBIDDEN in the payload from each of them with no row written anywhere;
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from api.authentication import Authentication
from api.context import Context
from api.graphql.permissions import WritesData
from api.schema.schema import build_schema
from auth.caller import load_caller
from comptoir.settings import Settings
from db.models import ApiKey
from domain.enums import Tier
from tests.clock import NOW
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner

# The session's own mutations: an API key has no session to open, close or recover.
SESSION_MUTATIONS = {
    "logIn",
    "refreshToken",
    "logOut",
    "activateAccount",
    "requestPasswordReset",
    "resetPassword",
}


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    world = await make_world(session_factory, "Durcie")
    world.people["OPERATOR"], _ = await make_person(
        session_factory, "operateur@durcie.test", tier=Tier.OPERATOR
    )
    return world


async def key_context(
    world: World, tier: str, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Context:
    """The context of a request made with a key of `tier`'s person holding only `read`."""
    async with sessions() as session:
        caller = await load_caller(
            session,
            user_id=world.people[tier].id,  # type: ignore[arg-type]
            now=NOW,
            api_key_id=1,
            api_key_scopes=["read"],
        )
    assert caller is not None and caller.read_only_key
    return Context(
        request=None,
        settings=settings,
        sessions=sessions,
        authentication=Authentication(caller),
        now=NOW,
    )


async def row_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Rows of every table: a refused write leaves each count as it was."""
    async with sessions() as session:
        connection = await session.connection()
        return {
            name: (await connection.execute(sa.select(sa.func.count()).select_from(table))).one()[0]
            for name, table in SQLModel.metadata.tables.items()
        }


def mutation_fields() -> dict[str, Any]:
    """The Mutation type's fields as clients name them, each with its strawberry field."""
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    return {
        name: field.extensions["strawberry-definition"] for name, field in mutation.fields.items()
    }


def guarded_mutations() -> list[str]:
    return [
        name
        for name, field in mutation_fields().items()
        if any(isinstance(extension, WritesData) for extension in field.extensions)
    ]


def test_every_mutation_but_the_session_ones_carries_the_writes_data_guard() -> None:
    names = set(mutation_fields())
    unguarded = names - set(guarded_mutations()) - SESSION_MUTATIONS
    assert unguarded == set(), f"mutations without WritesData: {sorted(unguarded)}"
    assert names >= SESSION_MUTATIONS  # the exceptions are real mutations, not stale names


def _value(kind: GraphQLInputType, name: str, world: World) -> Any:
    """A value of the input's type that a write key could use (IDs of the world's objects)."""
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type, name, world)
    if isinstance(kind, GraphQLList):
        return [_value(kind.of_type, name, world)]
    if isinstance(kind, GraphQLInputObjectType):
        return {
            field_name: _value(field.type, field_name, world)
            for field_name, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    assert isinstance(kind, GraphQLScalarType)
    samples: dict[str, Any] = {
        "String": "Valeur",
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "Date": NOW.date().isoformat(),
        "DateTime": NOW.isoformat(),
        "Month": NOW.strftime("%Y-%m"),
        "Decimal": "1",
        "JSONObject": {},
    }
    if kind.name == "ID":
        ids = {
            "siteId": gid("Site", world.sites[0].id),
            "grantId": gid("Grant", world.grants["INFRA_USER"].id),
            "memberId": gid("Member", world.member.id),
            "personId": gid("Person", world.people["INFRA_USER"].id),
        }
        return ids.get(name, gid("BillingAccount", world.accounts[0].id))
    return samples[kind.name]


async def test_a_read_only_key_gets_forbidden_from_every_guarded_mutation_and_writes_nothing(
    world: World, test_settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    answered: set[str] = set()
    for tier in ("ADMIN", "USER", "INFRA_USER", "OPERATOR"):
        answered |= await _every_mutation_with_a_read_key(
            world, tier, test_settings, session_factory
        )
    # each guarded mutation answered the guard's refusal to at least one tier's key
    assert answered == set(guarded_mutations())


async def _every_mutation_with_a_read_key(
    world: World,
    tier: str,
    test_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> set[str]:
    answered: set[str] = set()
    schema = build_schema()
    context = await key_context(world, tier, test_settings, session_factory)
    before = await row_counts(session_factory)
    mutations = guarded_mutations()
    assert len(mutations) >= 20
    for name in mutations:
        field = schema._schema.mutation_type.fields[name]  # type: ignore[union-attr]
        input_type = field.args["input"].type
        document = (
            f"mutation($input: {input_type}) {{ {name}(input: $input) "
            "{ __typename errors { field code message } } }"
        )
        variables = {"input": _value(input_type, "input", world)}
        result = await schema.execute(document, variables, context_value=context)
        if result.errors:  # a tier permission (operators only…) refuses before the guard
            [refused] = result.errors
            assert refused.extensions == {"code": "FORBIDDEN"}, (name, refused)
            continue
        assert result.data is not None
        [error] = result.data[name]["errors"]
        assert error["code"] == "FORBIDDEN", name
        assert "lecture seule" in error["message"]
        answered.add(name)
    assert await row_counts(session_factory) == before
    return answered


INVITE = """
mutation($input: InviteUserInput!) {
  inviteUser(input: $input) { person { id } errors { code message } }
}
"""


async def test_a_user_read_key_cannot_invite_an_infra_user(
    world: World, test_settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The reproduced attack: a USER's read key invited a new infra-user."""
    context = await key_context(world, "USER", test_settings, session_factory)
    result = await build_schema().execute(
        INVITE,
        {
            "input": {
                "email": "intrus@durcie.example",
                "fullName": "Intrus",
                "tier": "INFRA_USER",
                "memberId": gid("Member", world.member.id),
                "billingAccountIds": [gid("BillingAccount", world.accounts[0].id)],
            }
        },
        context_value=context,
    )
    assert result.errors is None
    assert result.data == {
        "inviteUser": {
            "person": None,
            "errors": [
                {
                    "code": "FORBIDDEN",
                    "message": "Cette clé d'API est en lecture seule : elle ne modifie rien.",
                }
            ],
        }
    }


CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret errors { field code } }
}
"""


async def test_a_read_only_person_cannot_mint_a_key_that_writes(
    world: World, runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    third_party = world.people["THIRD_PARTY"]  # read-only: may_submit is off
    before = await runner.count(ApiKey)
    refused = await runner.run(
        CREATE_KEY,
        {"input": {"name": "Écriture", "scopes": ["read", "write"]}},
        as_user=third_party,
    )
    assert refused["createApiKey"] == {
        "secret": None,
        "errors": [{"field": "scopes", "code": "EXCEEDS_OWN_SCOPE"}],
    }
    assert await runner.count(ApiKey) == before
    # a read key is still theirs to make
    made = await runner.run(CREATE_KEY, {"input": {"name": "Lecture"}}, as_user=third_party)
    assert made["createApiKey"]["errors"] == [] and made["createApiKey"]["secret"]
