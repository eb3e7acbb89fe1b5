"""People and their grants, as the viewer and access management show them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AccessGrant, GrantBillingAccount, Site, User
from db.scoped import Perimeter, scoped_billing_accounts, scoped_members, scoped_sites
from domain.enums import Energy, Tier, UserStatus


@dataclass(frozen=True, slots=True)
class GrantRow:
    id: int
    user_id: int
    tier: Tier
    group_id: int | None
    member_id: int | None
    billing_account_ids: tuple[int, ...]
    may_submit: bool
    created_at: datetime
    suspended_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    email: str
    full_name: str
    phone: str | None
    status: UserStatus
    last_login_at: datetime | None
    created_at: datetime
    grants: tuple[GrantRow, ...]


@dataclass(frozen=True, slots=True)
class PerimeterSummary:
    members: int
    billing_accounts: int
    sites: int
    sites_by_energy: dict[Energy, int]


async def grants_of(
    session: AsyncSession, user_ids: Sequence[int], *, include_revoked: bool = False
) -> dict[int, list[GrantRow]]:
    """Every grant of these people with its billing accounts, in two statements."""
    if not user_ids:
        return {}
    query = select(AccessGrant).where(AccessGrant.user_id.in_(sorted(set(user_ids))))  # type: ignore[attr-defined]
    if not include_revoked:
        query = query.where(AccessGrant.revoked_at.is_(None))  # type: ignore[union-attr]
    grants = list((await session.exec(query.order_by(AccessGrant.id))).all())  # type: ignore[arg-type]
    accounts: dict[int, list[int]] = defaultdict(list)
    if grants:
        pairs = await session.exec(
            select(GrantBillingAccount.grant_id, GrantBillingAccount.billing_account_id)
            .where(GrantBillingAccount.grant_id.in_([g.id for g in grants]))  # type: ignore[attr-defined]
            .order_by(GrantBillingAccount.billing_account_id)
        )
        for grant_id, account_id in pairs:
            accounts[grant_id].append(account_id)
    result: dict[int, list[GrantRow]] = defaultdict(list)
    for g in grants:
        result[g.user_id].append(
            GrantRow(
                id=g.id,  # type: ignore[arg-type]
                user_id=g.user_id,
                tier=Tier(g.tier),
                group_id=g.group_id,
                member_id=g.member_id,
                billing_account_ids=tuple(accounts[g.id]),  # type: ignore[index]
                may_submit=g.may_submit,
                created_at=g.created_at,
                suspended_at=g.suspended_at,
                revoked_at=g.revoked_at,
            )
        )
    return result


def person_row(user: User, grants: Sequence[GrantRow]) -> PersonRow:
    return PersonRow(
        id=user.id,  # type: ignore[arg-type]
        email=user.email,
        full_name=user.full_name,
        phone=user.phone,
        status=UserStatus(user.status),
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        grants=tuple(grants),
    )


async def viewer_person(sessions: async_sessionmaker[AsyncSession], user_id: int) -> PersonRow:
    async with sessions() as session:
        user = await session.get(User, user_id)
        assert user is not None  # the caller was loaded from it in this request
        grants = await grants_of(session, [user_id])
    return person_row(user, [g for g in grants.get(user_id, []) if g.suspended_at is None])


async def perimeter_summary(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter
) -> PerimeterSummary:
    async with sessions() as session:
        members = (
            await session.exec(
                select(sa.func.count()).select_from(scoped_members(perimeter).subquery())
            )
        ).one()
        accounts = (
            await session.exec(
                select(sa.func.count()).select_from(scoped_billing_accounts(perimeter).subquery())
            )
        ).one()
        by_energy = dict(
            (
                await session.exec(
                    scoped_sites(perimeter, Site.energy, sa.func.count()).group_by(Site.energy)
                )
            ).all()  # type: ignore[arg-type]
        )
    counts = {Energy(energy): count for energy, count in by_energy.items()}
    return PerimeterSummary(
        members=members,
        billing_accounts=accounts,
        sites=sum(counts.values()),
        sites_by_energy={energy: counts.get(energy, 0) for energy in Energy},
    )
