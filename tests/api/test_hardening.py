"""Hardening: what an attacker or a careless client sends gets a typed answer and changes
nothing it should not.

- every mutation but the session ones carries the `WritesData` guard, and a read-only API key
  gets FORBIDDEN in the payload from each of them with no row written anywhere;
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
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

from api.app import create_app
from api.authentication import Authentication
from api.context import Context
from api.graphql.permissions import WritesData
from api.schema.schema import build_schema
from auth.caller import load_caller
from comptoir.settings import Settings
from db.models import ApiKey, Site
from domain.enums import Tier
from tests.clock import NOW
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner

# Exports only read: they write a temporary file of what the caller may read anyway, so a
# read-only key (a third-party adviser's) may take its files.
FILE_EXPORTS = {
    "exportSites",
    "exportReadings",
    "exportConsumption",
    "exportInvoicePdfs",
    "exportBillingFile",
    "exportAlerts",
    "exportTechnicalRequests",
    "exportTechnicalRequestReview",
    "exportOptimisationProposals",
    "exportInvoiceDisputes",
    "exportAccountStatement",
    "exportManagementSheet",
    "exportCollectionProgress",
    "exportCollectionSwitchReport",
    "exportConsumptionCurve",
    "exportGasDailyConsumption",
}

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
    unguarded = names - set(guarded_mutations()) - SESSION_MUTATIONS - FILE_EXPORTS
    assert unguarded == set(), f"mutations without WritesData: {sorted(unguarded)}"
    assert names >= SESSION_MUTATIONS | FILE_EXPORTS  # real mutations, not stale names
    assert not FILE_EXPORTS & set(guarded_mutations())  # a read-only key takes its files


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
        "Upload": b"%PDF-",  # the guard answers before the file is read
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
    assert len(mutations) >= 15
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


NODE = "query($id: ID!) { node(id: $id) { id } }"
UPDATE_REFERENCES = """
mutation($input: UpdateSiteReferencesInput!) {
  updateSiteReferences(input: $input) { site { id } errors { field code } }
}
"""
SITES = "query($filter: SiteFilter) { sites(filter: $filter) { totalCount } }"
NINES = "9" * 30


def codes(result: Any) -> list[str]:
    return [error.extensions["code"] for error in result.errors or []]


@pytest.mark.parametrize(
    "global_id",
    [
        gid("Site", 2**31),  # beyond PostgreSQL's integer
        "U2l0ZTo" + "5" * 40,  # base64 of "Site:" and nines, as a client forms it
        "Site:" + NINES,  # not even base64
        gid("Nope", 1),  # unknown type name
        gid("Site", 0) + "=",
        gid("Site", 2**31 - 1),  # in range, missing
        base64.b64encode("Site:²".encode()).decode(),  # a digit to str.isdigit, not to int()
    ],
)
async def test_node_answers_null_or_invalid_for_any_id(
    runner: Runner, world: World, global_id: str
) -> None:
    result = await runner.raw(NODE, {"id": global_id}, as_user=world.people["ADMIN"])
    assert codes(result) in ([], ["INVALID"]), result.errors
    if not result.errors:
        assert result.data == {"node": None}


async def test_a_key_beyond_the_column_range_is_not_found(runner: Runner, world: World) -> None:
    admin = world.people["ADMIN"]
    huge = base64.b64encode(f"Site:{NINES}".encode()).decode()
    changed = await runner.run(
        UPDATE_REFERENCES, {"input": {"siteId": huge, "designation": "X"}}, as_user=admin
    )
    assert changed["updateSiteReferences"]["errors"] == [{"field": "siteId", "code": "NOT_FOUND"}]
    member = base64.b64encode(f"Member:{NINES}".encode()).decode()
    listed = await runner.raw(SITES, {"filter": {"memberIds": [member]}}, as_user=admin)
    assert "INTERNAL_ERROR" not in codes(listed)
    assert codes(listed) in ([], ["NOT_FOUND"])


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
async def test_control_characters_are_refused_in_every_text(
    runner: Runner, world: World, character: str
) -> None:
    admin = world.people["ADMIN"]
    site_id = gid("Site", world.sites[0].id)
    before = await runner.count(Site, Site.id == world.sites[0].id, Site.designation == "Mairie")
    result = await runner.raw(
        UPDATE_REFERENCES,
        {"input": {"siteId": site_id, "designation": f"Mai{character}rie"}},
        as_user=admin,
    )
    assert codes(result) == ["INVALID"]
    assert result.errors[0].extensions["field"] == "designation"
    assert result.data is None
    assert (
        await runner.count(Site, Site.id == world.sites[0].id, Site.designation == "Mairie")
        == before
    )
    # a literal in the document is checked as well as a variable
    literal = await runner.raw(
        'query { sites(filter: {text: "a' + character.replace("\x00", "\\u0000") + 'b"}) '
        "{ totalCount } }",
        as_user=admin,
    )
    assert codes(literal) in (["INVALID"], ["SYNTAX_ERROR"])


async def test_line_breaks_and_tabs_are_text(runner: Runner, world: World) -> None:
    result = await runner.raw(
        SITES, {"filter": {"text": "a\tb\nc\r"}}, as_user=world.people["ADMIN"]
    )
    assert result.errors is None


@pytest.mark.parametrize("length", [4000, 4001, 10_000, 60_000])
async def test_a_long_search_text_is_too_long_not_a_crash(
    runner: Runner, world: World, length: int
) -> None:
    result = await runner.raw(
        SITES, {"filter": {"text": ("%_" * length)[:length]}}, as_user=world.people["ADMIN"]
    )
    if length <= 4000:  # the default `max_input_text_length`
        assert result.errors is None
    else:
        assert codes(result) == ["TOO_LONG"] and result.data is None


@pytest.mark.parametrize("count", [100, 101])
async def test_lists_are_capped_at_100_items(runner: Runner, world: World, count: int) -> None:
    ids = [gid("Member", world.member.id)] * count
    by_variable = await runner.raw(
        SITES, {"filter": {"memberIds": ids}}, as_user=world.people["ADMIN"]
    )
    listed = ", ".join(f'"{i}"' for i in ids)
    by_literal = await runner.raw(
        "query { sites(filter: {memberIds: [" + listed + "]}) { totalCount } }",
        as_user=world.people["ADMIN"],
    )
    for result in (by_variable, by_literal):
        if count <= 100:
            assert result.errors is None
        else:
            assert codes(result) == ["TOO_MANY_ITEMS"] and result.data is None


@pytest.mark.parametrize("suggestions", [True, False])
async def test_field_suggestions_follow_the_setting_whatever_introspection_says(
    runner: Runner, world: World, suggestions: bool
) -> None:
    context = await runner.context(world.people["ADMIN"])
    for document in (
        "query { sitez { totalCount } }",
        "query { sites(orderBy: POINT_NUMBR) { totalCount } }",
    ):
        result = await build_schema(introspection=True, suggestions=suggestions).execute(
            document, context_value=context
        )
        [error] = result.errors or []
        assert error.extensions is not None
        assert ("Did you mean" in str(error.extensions["detail"])) is suggestions


def test_production_never_suggests() -> None:
    production = Settings(env="production", secret_key="s" * 40, field_suggestions=True)
    assert production.suggests_fields is False
    assert Settings(env="development").suggests_fields is True


@pytest.mark.parametrize("body", [b"null", b'"query"', b"42", b"[1]", b"{not json"])
async def test_a_json_body_that_is_not_an_object_is_a_400(
    test_settings: Settings, body: bytes
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(test_settings)), base_url="http://t"
    ) as client:
        answer = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "INVALID"


async def test_request_bodies_are_capped(test_settings: Settings) -> None:
    settings = test_settings.model_copy(update={"max_request_bytes": 2000})
    query = {"query": "{ __typename }", "variables": {"x": "a" * 1900}}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://t"
    ) as client:
        big = await client.post("/graphql", json=query | {"variables": {"x": "a" * 3000}})
        # under the cap, the body goes on (here to the JSON check, which needs no database)
        small = await client.post("/graphql", json=["a" * 1900])
    assert big.status_code == 413 and big.json()["errors"][0]["extensions"]["code"] == "TOO_LONG"
    assert small.status_code == 400
