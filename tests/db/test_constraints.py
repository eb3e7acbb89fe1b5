"""Business limits hold in the schema itself, whatever code writes the row."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Meter, Site
from domain.enums import MeterKind, Register
from tests.factories import make_tenant


async def _update_site(
    sessions: async_sessionmaker[AsyncSession], site_id: int, **values: object
) -> None:
    async with sessions() as session, session.begin():
        await session.exec(sa.update(Site).where(Site.id == site_id).values(**values))


@pytest.mark.parametrize(
    ("column", "limit"), [("internal_code", 35), ("designation", 35), ("other_reference", 40)]
)
async def test_customer_reference_lengths(
    session_factory: async_sessionmaker[AsyncSession], column: str, limit: int
) -> None:
    tenant = await make_tenant(session_factory)
    await _update_site(session_factory, tenant.site.id, **{column: "é" * limit})
    # a CHECK on SQLite, the VARCHAR length as well on PostgreSQL
    with pytest.raises(DBAPIError):
        await _update_site(session_factory, tenant.site.id, **{column: "é" * (limit + 1)})


async def test_point_number_is_unique_per_energy(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await make_tenant(session_factory)
    second = await make_tenant(session_factory)
    with pytest.raises(IntegrityError):
        await _update_site(session_factory, second.site.id, point_number=first.site.point_number)


async def test_a_site_has_one_current_meter(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await make_tenant(session_factory)
    replacement = Meter(
        site_id=tenant.site.id,
        serial="LKREPLACE01",
        kind=MeterKind.LINKY,
        is_communicating=True,
        digits=6,
        registers=[Register.BASE],
        installed_on=date(2026, 1, 1),
    )
    with pytest.raises(IntegrityError):
        async with session_factory() as session, session.begin():
            session.add(replacement)
    # once the old meter is removed, the new one may be installed
    async with session_factory() as session, session.begin():
        await session.exec(
            sa.update(Meter).where(Meter.id == tenant.meter.id).values(removed_on=date(2026, 1, 1))
        )
        session.add(Meter.model_validate(replacement.model_dump(exclude={"id"})))


async def test_foreign_keys_are_enforced(session_factory: async_sessionmaker[AsyncSession]) -> None:
    tenant = await make_tenant(session_factory)
    with pytest.raises(IntegrityError):
        await _update_site(session_factory, tenant.site.id, billing_account_id=10**9)


async def test_a_site_member_matches_its_billing_account(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await make_tenant(session_factory)
    second = await make_tenant(session_factory)
    with pytest.raises(IntegrityError):
        await _update_site(session_factory, first.site.id, member_id=second.member.id)


async def test_invoice_label_is_thirty_characters_at_most(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from db.models import BillingAccount

    tenant = await make_tenant(session_factory)
    with pytest.raises(DBAPIError):
        async with session_factory() as session, session.begin():
            await session.exec(
                sa.update(BillingAccount)
                .where(BillingAccount.id == tenant.billing_account.id)
                .values(invoice_label="x" * 31)
            )
