"""The check every use case taking a site filter makes first: the members and billing
accounts the filter names are all in the caller's perimeter. Exports and the perimeter
consumption refuse an outside ID as NOT_FOUND (exactly the answer for a missing one) rather
than answer an empty result that would look like a durable fact.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.portfolio import SiteCriteria
from db.models import BillingAccount, Member, Site
from db.scoped import Perimeter, scoped_billing_accounts, scoped_members, scoped_sites
from domain.errors import not_found


async def check_filter_scope(
    session: AsyncSession,
    perimeter: Perimeter,
    criteria: SiteCriteria,
    *,
    site_id: int | None = None,
) -> None:
    """Every member, billing account (and site) the filter names is in the perimeter, or
    NOT_FOUND."""
    for ids, scoped, model, field in (
        ((site_id,) if site_id is not None else (), scoped_sites, Site, "filter.siteId"),
        (criteria.member_ids, scoped_members, Member, "filter.memberIds"),
        (
            criteria.billing_account_ids,
            scoped_billing_accounts,
            BillingAccount,
            "filter.billingAccountIds",
        ),
    ):
        wanted = set(ids)
        if not wanted:
            continue
        statement = select(sa.func.count()).select_from(
            scoped(perimeter, model.id).where(col(model.id).in_(sorted(wanted))).subquery()
        )
        if (await session.exec(statement)).one() != len(wanted):
            raise not_found(field)
