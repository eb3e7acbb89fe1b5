"""A person's grants as stored, with their billing accounts: loaded in one place.

The caller's live grants (`auth/caller.py`), the viewer's and access management's lists of
people (`api/resolvers/people.py`, `api/resolvers/access.py`) all read grants through
`load_grants`: two statements for any number of people.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AccessGrant, GrantBillingAccount
from domain.enums import Tier


@dataclass(frozen=True, slots=True)
class GrantRow:
    id: int
    user_id: int
    tier: Tier
    group_id: int | None
    member_id: int | None
    billing_account_ids: tuple[int, ...]  # ascending
    may_submit: bool
    created_at: datetime
    suspended_at: datetime | None
    revoked_at: datetime | None


async def load_grants(
    session: AsyncSession,
    user_ids: Iterable[int],
    *,
    include_revoked: bool = False,
    include_suspended: bool = True,
    only_grant_id: int | None = None,
) -> dict[int, list[GrantRow]]:
    """The grants of these people by person, oldest first, with their billing accounts."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    query = select(AccessGrant).where(col(AccessGrant.user_id).in_(ids))
    if not include_revoked:
        query = query.where(col(AccessGrant.revoked_at).is_(None))
    if not include_suspended:
        query = query.where(col(AccessGrant.suspended_at).is_(None))
    if only_grant_id is not None:
        query = query.where(col(AccessGrant.id) == only_grant_id)
    grants = list((await session.exec(query.order_by(col(AccessGrant.id)))).all())
    accounts: dict[int, list[int]] = defaultdict(list)
    if grants:
        pairs = await session.exec(
            select(GrantBillingAccount.grant_id, GrantBillingAccount.billing_account_id)
            .where(col(GrantBillingAccount.grant_id).in_([g.id for g in grants]))
            .order_by(col(GrantBillingAccount.billing_account_id))
        )
        for grant_id, account_id in pairs:
            accounts[grant_id].append(account_id)
    by_user: dict[int, list[GrantRow]] = defaultdict(list)
    for g in grants:
        assert g.id is not None  # a loaded row has its key
        by_user[g.user_id].append(
            GrantRow(
                id=g.id,
                user_id=g.user_id,
                tier=Tier(g.tier),
                group_id=g.group_id,
                member_id=g.member_id,
                billing_account_ids=tuple(accounts[g.id]),
                may_submit=g.may_submit,
                created_at=g.created_at,
                suspended_at=g.suspended_at,
                revoked_at=g.revoked_at,
            )
        )
    return by_user
