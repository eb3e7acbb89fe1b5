"""People and their grants, as the viewer and access management show them (grants are read
through `auth/grants.py`, the one loader)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.grants import GrantRow
from db import prepared
from db.core import GRANT_ACCOUNTS, table_of
from db.models import AccessGrant, Site, User
from db.models.base import persisted_id
from db.prepared import Stand
from db.scoped import Perimeter, scoped_billing_accounts, scoped_members, scoped_sites
from domain.enums import Energy, Tier, UserStatus

USERS = table_of(User)
GRANTS = table_of(AccessGrant)


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
    """The person and their live grants (unrevoked, unsuspended) with their billing accounts:
    one Core statement, a row per grant and account (the `viewer` of every home page)."""
    stand = Stand()
    user = stand.value(user_id)

    def statement() -> Any:
        users, grants, accounts = USERS.c, GRANTS.c, GRANT_ACCOUNTS.c
        live = sa.and_(
            grants.user_id == users.id, grants.revoked_at.is_(None), grants.suspended_at.is_(None)
        )
        return (
            sa.select(
                users.id,
                users.email,
                users.full_name,
                users.phone,
                users.status,
                users.last_login_at,
                users.created_at,
                *(c.label(f"grant__{c.name}") for c in GRANTS.c),
                accounts.billing_account_id,
            )
            .select_from(
                USERS.outerjoin(GRANTS, live).outerjoin(
                    GRANT_ACCOUNTS, accounts.grant_id == grants.id
                )
            )
            .where(users.id == user)
            .order_by(grants.id, accounts.billing_account_id)
        )

    # Built once, run with this request's user (db/prepared.py).
    async with sessions() as session:
        rows = list((await prepared.run(session, "people.viewer", statement, stand)).all())
    assert rows  # the caller was loaded from it in this request
    found: dict[int, tuple[Any, list[int]]] = {}
    for row in rows:
        if row.grant__id is not None:
            held = found.setdefault(row.grant__id, (row, []))
            if row.billing_account_id is not None:
                held[1].append(row.billing_account_id)
    first = rows[0]
    return PersonRow(
        id=first.id,
        email=first.email,
        full_name=first.full_name,
        phone=first.phone,
        status=UserStatus(first.status),
        last_login_at=first.last_login_at,
        created_at=first.created_at,
        grants=tuple(
            GrantRow(
                id=grant_id,
                user_id=first.id,
                tier=Tier(row.grant__tier),
                group_id=row.grant__group_id,
                member_id=row.grant__member_id,
                billing_account_ids=tuple(account_ids),
                may_submit=bool(row.grant__may_submit),
                created_at=row.grant__created_at,
                suspended_at=row.grant__suspended_at,
                revoked_at=row.grant__revoked_at,
            )
            for grant_id, (row, account_ids) in found.items()
        ),
    )


async def perimeter_summary(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter
) -> PerimeterSummary:
    # One statement: the two counts as scalar subqueries beside the sites grouped by energy
    # (one row per energy present; a perimeter without sites still gets its row). Built once
    # per shape of perimeter, run with this request's (db/prepared.py).
    stand = Stand()
    scope = stand.perimeter(perimeter)

    def statement() -> Any:
        members = (
            select(sa.func.count()).select_from(scoped_members(scope).subquery()).scalar_subquery()
        )
        accounts = (
            select(sa.func.count())
            .select_from(scoped_billing_accounts(scope).subquery())
            .scalar_subquery()
        )
        sites = (
            scoped_sites(scope, Site.energy, sa.func.count().label("sites"))
            .group_by(Site.energy)
            .subquery()
        )
        return sa.select(members, accounts, sites.c.energy, sites.c.sites).select_from(
            sa.select(sa.literal(1).label("one")).subquery().outerjoin(sites, sa.true())
        )

    async with sessions() as session:
        rows = list((await prepared.run(session, "people.perimeter", statement, stand)).all())
    members_count, accounts_count = rows[0][0], rows[0][1]
    by_energy = {row[2]: row[3] for row in rows if row[2] is not None}
    counts = {Energy(energy): count for energy, count in by_energy.items()}
    return PerimeterSummary(
        members=members_count,
        billing_accounts=accounts_count,
        sites=sum(counts.values()),
        sites_by_energy={energy: counts.get(energy, 0) for energy in Energy},
    )
