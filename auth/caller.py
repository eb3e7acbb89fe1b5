"""Who is calling: the person, their live grants, and the perimeter computed from them once.

`perimeter_for` is the one place the tiers of DESIGN §2 turn into scopes:
ADMIN → the group; USER → the member; INFRA_USER → chosen billing accounts of its member;
THIRD_PARTY → chosen billing accounts across members (read-only unless `may_submit`);
OPERATOR → no customer data at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.grants import GrantRow, load_grants
from db.models import RefreshToken, User
from db.scoped import Perimeter
from domain.calendar import paris_date
from domain.enums import Tier, UserStatus
from domain.retention import served_since

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


async def session_is_live(session: AsyncSession, family_id: str, *, now: datetime) -> bool:
    """A login session lives while one of its refresh tokens is unrevoked and unexpired."""
    found = await session.exec(
        select(RefreshToken.id)
        .where(
            RefreshToken.family_id == family_id,
            col(RefreshToken.revoked_at).is_(None),
            col(RefreshToken.expires_at) > now,
        )
        .limit(1)
    )
    return found.first() is not None


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
    """The caller behind a verified credential, or None when it no longer holds."""
    user = await session.get(User, user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    if family_id is not None and not await session_is_live(session, family_id, now=now):
        return None
    # Live grants only: neither revoked nor suspended.
    rows = await load_grants(
        session, [user_id], include_suspended=False, only_grant_id=api_key_grant_id
    )
    grants = tuple(scope_of(row) for row in rows.get(user_id, []))
    if api_key_grant_id is not None and not grants:
        return None  # the key's grant was revoked or suspended
    read_only_key = api_key_id is not None and WRITE_SCOPE not in set(api_key_scopes)
    writable = [] if read_only_key else [g for g in grants if g.allows_writes]
    return Caller(
        user_id=user_id,
        email=user.email,
        full_name=user.full_name,
        grants=grants,
        perimeter=perimeter_for(grants, today=paris_date(now)),
        write_perimeter=perimeter_for(writable, today=paris_date(now)),
        family_id=family_id,
        api_key_id=api_key_id,
        read_only_key=read_only_key,
    )
