"""The perimeter is applied in SQL: each kind of scope reaches its tenant and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import INVOICES, LINES, SHARES, core
from db.models import (
    Alert,
    BillingAccount,
    Group,
    Member,
    Meter,
    Reading,
    SelfCareRequest,
    Site,
    TechnicalRequest,
)
from db.scoped import (
    Perimeter,
    scoped_alerts,
    scoped_billing_accounts,
    scoped_groups,
    scoped_invoice_lines,
    scoped_invoice_sites,
    scoped_invoices,
    scoped_members,
    scoped_meters,
    scoped_readings,
    scoped_self_care_requests,
    scoped_sites,
    scoped_technical_requests,
)
from domain.enums import (
    AlertKind,
    AlertStatus,
    Energy,
    ReadingSource,
    Register,
    SelfCareRequestKind,
    SelfCareRequestStatus,
    TechnicalRequestStatus,
    TechnicalRequestType,
)
from tests.factories import Tenant, World, make_invoice, make_metered_site, make_tenant, make_world


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
        # Compared table by table: ids of different tables may coincide.
        assert beta.billing_account.id not in accounts, label


async def test_nobody_reaches_nothing(
    session_factory: async_sessionmaker[AsyncSession], two_tenants: tuple[Tenant, Tenant]
) -> None:
    async with session_factory() as session:
        assert (await session.exec(scoped_sites(Perimeter.nobody()))).all() == []


# -- every helper, every tier, against SQL written apart from db/scoped.py -------------------

ACCOUNTS_OF = {
    # the billing accounts a tier reaches, in plain SQL: whole members (ADMIN: the group's,
    # USER: the member) or exactly the granted accounts (INFRA_USER, THIRD_PARTY)
    "ADMIN": "SELECT b.id FROM billing_accounts b JOIN members m ON m.id = b.member_id "
    "WHERE m.group_id = :group",
    "USER": "SELECT id FROM billing_accounts WHERE member_id = :member",
    "INFRA_USER": "SELECT id FROM billing_accounts WHERE id IN (:a0)",
    "THIRD_PARTY": "SELECT id FROM billing_accounts WHERE id IN (:a0, :a2)",
}
WHOLE_MEMBERS_OF = {
    "ADMIN": "SELECT id FROM members WHERE group_id = :group",
    "USER": "SELECT id FROM members WHERE id = :member",
    "INFRA_USER": "SELECT id FROM members WHERE 1 = 0",
    "THIRD_PARTY": "SELECT id FROM members WHERE 1 = 0",
}
EXPECTED = {
    "sites": "SELECT id FROM sites WHERE billing_account_id IN ({acc})",
    "billing_accounts": "SELECT id FROM billing_accounts WHERE id IN ({acc})",
    "members": "SELECT DISTINCT member_id FROM billing_accounts WHERE id IN ({acc})",
    "groups": "SELECT DISTINCT m.group_id FROM members m JOIN billing_accounts b "
    "ON b.member_id = m.id WHERE b.id IN ({acc})",
    "meters": "SELECT x.id FROM meters x JOIN sites s ON s.id = x.site_id "
    "WHERE s.billing_account_id IN ({acc})",
    "readings": "SELECT x.id FROM readings x JOIN sites s ON s.id = x.site_id "
    "WHERE s.billing_account_id IN ({acc})",
    "alerts": "SELECT x.id FROM alerts x JOIN sites s ON s.id = x.site_id "
    "WHERE s.billing_account_id IN ({acc})",
    "invoices": "SELECT id FROM invoices WHERE billing_account_id IN ({acc})",
    "invoice_sites": "SELECT x.id FROM invoice_sites x JOIN invoices i ON i.id = x.invoice_id "
    "WHERE i.billing_account_id IN ({acc})",
    "invoice_lines": "SELECT x.id FROM invoice_lines x JOIN invoices i ON i.id = x.invoice_id "
    "WHERE i.billing_account_id IN ({acc})",
    "technical_requests": "SELECT id FROM technical_requests WHERE billing_account_id IN ({acc}) "
    "OR (billing_account_id IS NULL AND member_id IN ({whole}))",
    "self_care_requests": "SELECT id FROM self_care_requests WHERE billing_account_id IN ({acc}) "
    "OR (billing_account_id IS NULL AND member_id IN ({whole}))",
}


def scoped_ids(table: str, perimeter: Perimeter) -> Any:
    """The helper under test for `table`, selecting ids."""
    return {
        "sites": lambda: scoped_sites(perimeter, Site.id),
        "billing_accounts": lambda: scoped_billing_accounts(perimeter, BillingAccount.id),
        "members": lambda: scoped_members(perimeter, Member.id),
        "groups": lambda: scoped_groups(perimeter, Group.id),
        "meters": lambda: scoped_meters(perimeter, Meter.id),
        "readings": lambda: scoped_readings(perimeter, Reading.id),
        "alerts": lambda: scoped_alerts(perimeter, Alert.id),
        "invoices": lambda: scoped_invoices(perimeter, INVOICES.c.id),
        "invoice_sites": lambda: scoped_invoice_sites(perimeter, SHARES.c.id),
        "invoice_lines": lambda: scoped_invoice_lines(perimeter, LINES.c.id),
        "technical_requests": lambda: scoped_technical_requests(perimeter, TechnicalRequest.id),
        "self_care_requests": lambda: scoped_self_care_requests(perimeter, SelfCareRequest.id),
    }[table]()


def tier_perimeter(world: World, tier: str) -> Perimeter:
    a0, _, a2 = (a.id for a in world.accounts)
    return {
        "ADMIN": Perimeter(group_ids=frozenset({world.group.id})),
        "USER": Perimeter(member_ids=frozenset({world.member.id})),
        "INFRA_USER": Perimeter(billing_account_ids=frozenset({a0})),
        "THIRD_PARTY": Perimeter(billing_account_ids=frozenset({a0, a2})),  # across members
    }[tier]  # type: ignore[return-value]


async def _furnish(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    """Readings, a multi-site invoice, alerts and requests (one with no billing account)."""
    a0, a1, a2 = world.accounts
    s0, s1, s2 = world.sites
    extra, _ = await make_metered_site(
        sessions,
        a2,
        readings=[(date(2026, 1, 31), Register.BASE, 100, ReadingSource.SELF_READING, False)],
    )
    await make_metered_site(
        sessions,
        a0,
        readings=[(date(2026, 2, 28), Register.BASE, 900, ReadingSource.DISTRIBUTOR_ACTUAL, False)],
    )
    await make_invoice(sessions, a2, [s2, extra], accounting_date=date(2026, 3, 31))
    await make_invoice(sessions, a0, [s0], accounting_date=date(2026, 3, 31))
    await make_invoice(sessions, a1, [s1], accounting_date=date(2026, 4, 30))
    at = datetime(2026, 4, 1, 8, tzinfo=UTC)
    async with sessions() as session, session.begin():
        for site in (s0, s1, extra):
            session.add(
                Alert(
                    site_id=site.id,
                    kind=AlertKind.ZERO_CONSUMPTION,
                    status=AlertStatus.OPEN,
                    detected_on=date(2026, 4, 1),
                    message="Consommation nulle",
                )
            )
        for k, (member, account, site) in enumerate(
            ((world.member, a0, s0), (world.other_member, a2, s2), (world.member, None, None))
        ):
            ref = f"{world.name[:4]}{world.group.id}{k}"
            session.add(
                TechnicalRequest(
                    reference=f"DT{ref}",
                    member_id=member.id,
                    billing_account_id=account.id if account else None,
                    site_id=site.id if site else None,
                    request_type=TechnicalRequestType.TEMPORARY_CONNECTION,
                    status=TechnicalRequestStatus.SUBMITTED,
                    energy=Energy.ELECTRICITY,
                    contact_name="Jeanne Martin",
                    contact_phone="0102030405",
                    contact_email="jeanne@example.org",
                    submitted_at=at,
                )
            )
            session.add(
                SelfCareRequest(
                    reference=f"SC{ref}",
                    member_id=member.id,
                    billing_account_id=account.id if account else None,
                    kind=SelfCareRequestKind.CHANGE_LEGAL_NAME,
                    status=SelfCareRequestStatus.SUBMITTED,
                    submitted_at=at,
                )
            )


@pytest.fixture(scope="module")
async def furnished(session_factory: async_sessionmaker[AsyncSession]) -> tuple[World, World]:
    alpha, beta = (
        await make_world(session_factory, "Scope"),
        await make_world(session_factory, "Autre"),
    )
    for world in (alpha, beta):
        await _furnish(session_factory, world)
    return alpha, beta


async def _expected(session: AsyncSession, world: World, tier: str, table: str) -> set[int]:
    a0, _, a2 = (a.id for a in world.accounts)
    sql = EXPECTED[table].format(acc=ACCOUNTS_OF[tier], whole=WHOLE_MEMBERS_OF[tier])
    params = {"group": world.group.id, "member": world.member.id, "a0": a0, "a2": a2}
    used = {k: v for k, v in params.items() if f":{k}" in sql}
    connection = await session.connection()
    return set((await connection.execute(sa.text(sql), used)).scalars())


@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
@pytest.mark.parametrize("table", sorted(EXPECTED))
async def test_each_helper_returns_exactly_what_independent_sql_says(
    session_factory: async_sessionmaker[AsyncSession],
    furnished: tuple[World, World],
    tier: str,
    table: str,
) -> None:
    alpha, beta = furnished
    async with session_factory() as session:
        # given: what plain SQL says this tier reaches, here and in the other tenant
        expected = await _expected(session, alpha, tier, table)
        theirs = await _expected(session, beta, "ADMIN", table)
        # when
        found = set((await core(session, scoped_ids(table, tier_perimeter(alpha, tier)))).scalars())
    # then
    assert expected, f"{table}: the fixture gives {tier} something to see"
    assert found == expected
    assert not found & theirs
