"""Who is calling: the person, their live grants, and the perimeter computed from them once.

`perimeter_for` is the one place the tiers of DESIGN §2 turn into scopes:
ADMIN → the group; USER → the member; INFRA_USER → chosen billing accounts of its member;
THIRD_PARTY → chosen billing accounts across members (read-only unless `may_submit`);
OPERATOR → no customer data at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.grants import GrantRow
from db.core import GRANT_ACCOUNTS, table_of
from db.models import AccessGrant, RefreshToken, User
from db.request_reads import connection_of
from db.scoped import Perimeter
from domain.calendar import paris_date
from domain.enums import Tier, UserStatus
from domain.retention import served_since

USERS = table_of(User)
GRANTS = table_of(AccessGrant)

READ_SCOPE = "read"
WRITE_SCOPE = "write"  # self-readings, requests, reference edits


@dataclass(frozen=True, slots=True)
class GrantScope:
    id: int
    tier: Tier
    group_id: int | None
    member_id: int | None
    billing_account_ids: frozenset[int]
    may_submit: bool

    @property
    def allows_writes(self) -> bool:
        return self.tier is not Tier.THIRD_PARTY or self.may_submit


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    email: str
    full_name: str
    grants: tuple[GrantScope, ...]
    perimeter: Perimeter
    write_perimeter: Perimeter
    family_id: str | None = None
    api_key_id: int | None = None
    # A key without the write scope changes nothing, whatever its owner's grants allow.
    read_only_key: bool = False

    def holds(self, *tiers: Tier) -> bool:
        return any(grant.tier in tiers for grant in self.grants)

    def grants_of(self, tier: Tier) -> list[GrantScope]:
        return [grant for grant in self.grants if grant.tier is tier]


def perimeter_for(grants: Iterable[GrantScope], *, today: date | None = None) -> Perimeter:
    """The scopes the grants reach; with `today`, limited to the data still retained then."""
    groups: set[int] = set()
    members: set[int] = set()
    accounts: set[int] = set()
    for grant in grants:
        if grant.tier is Tier.ADMIN and grant.group_id is not None:
            groups.add(grant.group_id)
        elif grant.tier is Tier.USER and grant.member_id is not None:
            members.add(grant.member_id)
        elif grant.tier in (Tier.INFRA_USER, Tier.THIRD_PARTY):
            accounts.update(grant.billing_account_ids)
    return Perimeter(
        frozenset(groups),
        frozenset(members),
        frozenset(accounts),
        served_since=served_since(today) if today is not None else None,
    )


def scope_of(row: GrantRow) -> GrantScope:
    return GrantScope(
        id=row.id,
        tier=row.tier,
        group_id=row.group_id,
        member_id=row.member_id,
        billing_account_ids=frozenset(row.billing_account_ids),
        may_submit=row.may_submit,
    )


def _live_session(family_id: str, *, now: datetime) -> Any:
    """A login session lives while one of its refresh tokens is unrevoked and unexpired."""
    return select(RefreshToken.id).where(
        RefreshToken.family_id == family_id,
        col(RefreshToken.revoked_at).is_(None),
        col(RefreshToken.expires_at) > now,
    )


async def session_is_live(session: AsyncSession, family_id: str, *, now: datetime) -> bool:
    """A login session lives while one of its refresh tokens is unrevoked and unexpired."""
    found = await session.exec(_live_session(family_id, now=now).limit(1))
    return found.first() is not None


def _caller_statement(*, with_session: bool, with_grant: bool) -> sa.Select[Any]:
    users, grants, accounts = USERS.c, GRANTS.c, GRANT_ACCOUNTS.c
    live_grant = sa.and_(
        grants.user_id == users.id,
        grants.revoked_at.is_(None),
        grants.suspended_at.is_(None),
        *([grants.id == sa.bindparam("grant_id")] if with_grant else []),
    )
    statement = (
        sa.select(
            users.email,
            users.full_name,
            grants.id,
            grants.tier,
            grants.group_id,
            grants.member_id,
            grants.may_submit,
            accounts.billing_account_id,
        )
        .select_from(
            USERS.outerjoin(GRANTS, live_grant).outerjoin(
                GRANT_ACCOUNTS, accounts.grant_id == grants.id
            )
        )
        .where(users.id == sa.bindparam("user_id"), users.status == sa.bindparam("status"))
        .order_by(grants.id, accounts.billing_account_id)
    )
    if with_session:
        tokens = RefreshToken.__table__.c  # type: ignore[attr-defined]
        statement = statement.where(
            sa.exists(
                sa.select(tokens.id).where(
                    tokens.family_id == sa.bindparam("family_id"),
                    tokens.revoked_at.is_(None),
                    tokens.expires_at > sa.bindparam("now"),
                )
            )
        )
    return statement


# The caller's statement compiled once per dialect and shape: it runs on every authenticated
# request, and building, keying and compiling it cost several times its execution (measured
# 2.8 ms of CPU per request through the ORM session on PostgreSQL). Sent as the driver's SQL.
_CALLER_SQL: dict[tuple[str, bool, bool], tuple[str, tuple[str, ...]]] = {}


async def _caller_rows(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    family_id: str | None,
    grant_id: int | None,
) -> list[Any]:
    connection = await connection_of(session)
    dialect = connection.dialect
    shape = (dialect.name, family_id is not None, grant_id is not None)
    compiled = _CALLER_SQL.get(shape)
    if compiled is None:
        statement = _caller_statement(with_session=shape[1], with_grant=shape[2])
        sql = statement.compile(dialect=dialect)
        compiled = _CALLER_SQL[shape] = (str(sql), tuple(sql.positiontup or ()))
    instant = now.astimezone(UTC)
    values: dict[str, Any] = {
        "user_id": user_id,
        "status": UserStatus.ACTIVE.value,
        "family_id": family_id,
        "grant_id": grant_id,
        # As the column type stores it: SQLite holds naive UTC text to the microsecond.
        "now": instant.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect.name == "sqlite" else instant,
    }
    result = await connection.exec_driver_sql(
        compiled[0], tuple(values[name] for name in compiled[1])
    )
    return list(result.all())


async def load_caller(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    family_id: str | None = None,
    api_key_id: int | None = None,
    api_key_grant_id: int | None = None,
    api_key_scopes: Iterable[str] = (),
) -> Caller | None:
    """The caller behind a verified credential, or None when it no longer holds.

    One statement, on every authenticated request: the person (active), the login session
    (live), and their live grants (neither revoked nor suspended; the key's grant alone for
    an API key) with each grant's billing accounts, one row per grant and account."""
    rows = await _caller_rows(
        session, user_id=user_id, now=now, family_id=family_id, grant_id=api_key_grant_id
    )
    if not rows:
        return None  # unknown or inactive person, or a closed login session
    scopes: dict[int, GrantScope] = {}
    for row in rows:
        grant_id = row[2]
        if grant_id is None:
            continue
        known = scopes.get(grant_id)
        account_ids = known.billing_account_ids if known else frozenset()
        if row[7] is not None:
            account_ids = account_ids | {row[7]}
        scopes[grant_id] = GrantScope(
            id=grant_id,
            tier=Tier(row[3]),
            group_id=row[4],
            member_id=row[5],
            billing_account_ids=account_ids,
            may_submit=bool(row[6]),
        )
    grants_held = tuple(scopes.values())
    if api_key_grant_id is not None and not grants_held:
        return None  # the key's grant was revoked or suspended
    read_only_key = api_key_id is not None and WRITE_SCOPE not in set(api_key_scopes)
    writable = [] if read_only_key else [g for g in grants_held if g.allows_writes]
    return Caller(
        user_id=user_id,
        email=rows[0][0],
        full_name=rows[0][1],
        grants=grants_held,
        perimeter=perimeter_for(grants_held, today=paris_date(now)),
        write_perimeter=perimeter_for(writable, today=paris_date(now)),
        family_id=family_id,
        api_key_id=api_key_id,
        read_only_key=read_only_key,
    )
