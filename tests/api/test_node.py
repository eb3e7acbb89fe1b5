"""The Relay `node` field through the schema: inside the perimeter it answers, outside it is
exactly the answer for an id that does not exist."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.authentication import Authentication
from api.context import Context
from api.schema.schema import build_schema
from auth.caller import Caller
from comptoir.settings import Settings
from db.scoped import Perimeter
from tests.factories import Tenant, make_tenant
from tests.ids import gid

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    ... on Group { name }
    ... on Member { legalName siren }
    ... on BillingAccount { invoiceLabel }
    ... on Site { pointNumber segment status }
    ... on Meter { serial registers }
  }
}
"""


def context_with(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter
) -> Context:
    """A request context whose caller reaches exactly `perimeter`."""
    caller = Caller(
        user_id=0,
        email="test@example.org",
        full_name="Test",
        grants=(),
        perimeter=perimeter,
        write_perimeter=perimeter,
    )
    return Context(
        request=None, settings=settings, sessions=sessions, authentication=Authentication(caller)
    )


def ids_of(tenant: Tenant) -> dict[str, str]:
    return {
        "Group": gid("Group", tenant.group.id),
        "Member": gid("Member", tenant.member.id),
        "BillingAccount": gid("BillingAccount", tenant.billing_account.id),
        "Site": gid("Site", tenant.site.id),
        "Meter": gid("Meter", tenant.meter.id),
    }


async def node(context: Context, node_id: str) -> object:
    result = await build_schema().execute(NODE, {"id": node_id}, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data["node"]


@pytest.fixture
async def tenants(session_factory: async_sessionmaker[AsyncSession]) -> tuple[Tenant, Tenant]:
    return await make_tenant(session_factory, "Ouest"), await make_tenant(session_factory, "Est")


@pytest.mark.parametrize("scope", ["group", "member", "billing_account"])
async def test_node_answers_inside_and_is_not_found_outside(
    test_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tenants: tuple[Tenant, Tenant],
    scope: str,
) -> None:
    mine, other = tenants
    perimeter = {
        "group": Perimeter(group_ids=frozenset({mine.group.id})),
        "member": Perimeter(member_ids=frozenset({mine.member.id})),
        "billing_account": Perimeter(billing_account_ids=frozenset({mine.billing_account.id})),
    }[scope]
    context = context_with(test_settings, session_factory, perimeter)
    for type_name, node_id in ids_of(mine).items():
        found = await node(context, node_id)
        assert found is not None and found["id"] == node_id, type_name
    missing_answers = {
        type_name: await node(context, gid(type_name, 10**9)) for type_name in ids_of(other)
    }
    for type_name, node_id in ids_of(other).items():
        assert await node(context, node_id) is None == missing_answers[type_name], type_name


async def test_the_site_fields(
    test_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tenants: tuple[Tenant, Tenant],
) -> None:
    mine, _ = tenants
    context = context_with(
        test_settings, session_factory, Perimeter(member_ids=frozenset({mine.member.id}))
    )
    site = await node(context, gid("Site", mine.site.id))
    assert site == {
        "id": gid("Site", mine.site.id),
        "pointNumber": mine.site.point_number,
        "segment": "C5",
        "status": "ACTIVE",
    }
    meter = await node(context, gid("Meter", mine.meter.id))
    assert meter == {
        "id": gid("Meter", mine.meter.id),
        "serial": mine.meter.serial,
        "registers": ["BASE"],
    }
