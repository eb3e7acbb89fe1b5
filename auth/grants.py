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

import sqlalchemy as sa
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
    query = sa.select(AccessGrant).where(AccessGrant.user_id.in_(ids))  # type: ignore[attr-defined]
    if not include_revoked:
        query = query.where(AccessGrant.revoked_at.is_(None))  # type: ignore[union-attr]
    if not include_suspended:
        query = query.where(AccessGrant.suspended_at.is_(None))  # type: ignore[union-attr]
    if only_grant_id is not None:
        query = query.where(AccessGrant.id == only_grant_id)
    grants = list((await session.exec(query.order_by(AccessGrant.id))).scalars())  # type: ignore[call-overload]
    accounts: dict[int, list[int]] = defaultdict(list)
    if grants:
        pairs = await session.exec(
            sa.select(  # type: ignore[call-overload]
                GrantBillingAccount.grant_id, GrantBillingAccount.billing_account_id
            )
            .where(GrantBillingAccount.grant_id.in_([g.id for g in grants]))  # type: ignore[attr-defined]
            .order_by(GrantBillingAccount.billing_account_id)
        )
        for grant_id, account_id in pairs:
            accounts[grant_id].append(account_id)
    by_user: dict[int, list[GrantRow]] = defaultdict(list)
    for g in grants:
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
