"""The perimeter is applied in SQL: each kind of scope reaches its tenant and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Site
from db.scoped import (
    Perimeter,
    scoped_billing_accounts,
    scoped_members,
    scoped_meters,
    scoped_sites,
)
from tests.factories import Tenant, make_tenant


@pytest.fixture
async def two_tenants(session_factory: async_sessionmaker[AsyncSession]) -> tuple[Tenant, Tenant]:
    return await make_tenant(session_factory, "Alpha"), await make_tenant(session_factory, "Beta")


def perimeters_of(tenant: Tenant) -> dict[str, Perimeter]:
    return {
        "group (ADMIN)": Perimeter(group_ids=frozenset({tenant.group.id})),
        "member (USER)": Perimeter(member_ids=frozenset({tenant.member.id})),
        "billing accounts (INFRA_USER, THIRD_PARTY)": Perimeter(
            billing_account_ids=frozenset({tenant.billing_account.id})
        ),
    }


async def test_each_scope_reaches_its_own_tenant_only(
    session_factory: async_sessionmaker[AsyncSession], two_tenants: tuple[Tenant, Tenant]
) -> None:
    alpha, beta = two_tenants
    theirs = {beta.site.id, beta.meter.id, beta.member.id, beta.billing_account.id}
    for label, perimeter in perimeters_of(alpha).items():
        async with session_factory() as session:
            sites = set((await session.exec(scoped_sites(perimeter, Site.id))).all())
            meters = {m.id for m in (await session.exec(scoped_meters(perimeter))).all()}
            members = {m.id for m in (await session.exec(scoped_members(perimeter))).all()}
            accounts = {
                b.id for b in (await session.exec(scoped_billing_accounts(perimeter))).all()
            }
        assert alpha.site.id in sites, label
        assert alpha.meter.id in meters, label
        assert members == {alpha.member.id}, label
        assert alpha.billing_account.id in accounts, label
        assert beta.site.id not in sites and beta.meter.id not in meters, label
        assert not (accounts & theirs), label


async def test_nobody_reaches_nothing(
    session_factory: async_sessionmaker[AsyncSession], two_tenants: tuple[Tenant, Tenant]
) -> None:
    async with session_factory() as session:
        assert (await session.exec(scoped_sites(Perimeter.nobody()))).all() == []
