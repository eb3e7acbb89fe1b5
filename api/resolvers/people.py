"""People and their grants, as the viewer and access management show them (grants are read
through `auth/grants.py`, the one loader)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.grants import GrantRow, load_grants
from db.core import core
from db.models import Site, User
from db.models.base import persisted_id
from db.scoped import Perimeter, scoped_billing_accounts, scoped_members, scoped_sites
from domain.enums import Energy, UserStatus


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


def person_row(user: User, grants: Sequence[GrantRow]) -> PersonRow:
    return PersonRow(
        id=persisted_id(user),
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
        grants = await load_grants(session, [user_id])
    return person_row(user, [g for g in grants.get(user_id, []) if g.suspended_at is None])


async def perimeter_summary(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter
) -> PerimeterSummary:
    # One statement: the two counts as scalar subqueries beside the sites grouped by energy
    # (one row per energy present; a perimeter without sites still gets its row).
    members = (
        select(sa.func.count()).select_from(scoped_members(perimeter).subquery()).scalar_subquery()
    )
    accounts = (
        select(sa.func.count())
        .select_from(scoped_billing_accounts(perimeter).subquery())
        .scalar_subquery()
    )
    sites = (
        scoped_sites(perimeter, Site.energy, sa.func.count().label("sites"))
        .group_by(Site.energy)
        .subquery()
    )
    statement = sa.select(members, accounts, sites.c.energy, sites.c.sites).select_from(
        sa.select(sa.literal(1).label("one")).subquery().outerjoin(sites, sa.true())
    )
    async with sessions() as session:
        rows = list((await core(session, statement)).all())
    members_count, accounts_count = rows[0][0], rows[0][1]
    by_energy = {row[2]: row[3] for row in rows if row[2] is not None}
    counts = {Energy(energy): count for energy, count in by_energy.items()}
    return PerimeterSummary(
        members=members_count,
        billing_accounts=accounts_count,
        sites=sum(counts.values()),
        sites_by_energy={energy: counts.get(energy, 0) for energy in Energy},
    )
