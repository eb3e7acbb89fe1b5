"""The customer-service contacts: one source for every mail and every invoice PDF.

Whom a customer calls is the contact of their purchasing group when the group has one (the
group's customer-service email and phone, as in the welcome pack), else the supplier's own
(COMPTOIR_CUSTOMER_SERVICE_*). Every mail's footer, the welcome pack and the invoice PDF take
their contacts from `customer_service_of` (or one of the lookups below) and print them with
`contact_lines`, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.core import GROUPS, MEMBERS, SITES, core, table_of
from db.models import AccessGrant


@dataclass(frozen=True, slots=True)
class CustomerService:
    """Who the mail comes from (the supplier, in the header) and whom to call (the footer)."""

    name: str
    email: str
    phone: str
    hours: str
    supplier_name: str = "Comptoir Énergie"


@dataclass(frozen=True, slots=True)
class GroupContacts:
    """What a purchasing group holds of its customer service."""

    name: str
    email: str | None
    phone: str | None


def customer_service_of(settings: Settings, group: GroupContacts | None = None) -> CustomerService:
    """The contacts of a group's customers: the group's when it has them, else the
    supplier's. The hours are the supplier's (groups hold none)."""
    if group is not None and group.email and group.phone:
        return CustomerService(
            name=f"Service clients — {group.name}",
            email=group.email,
            phone=group.phone,
            hours=settings.customer_service_hours,
            supplier_name=settings.supplier_name,
        )
    return CustomerService(
        name=settings.customer_service_name,
        email=settings.customer_service_email,
        phone=settings.customer_service_phone,
        hours=settings.customer_service_hours,
        supplier_name=settings.supplier_name,
    )


def contact_lines(service: CustomerService | Mapping[str, Any]) -> list[str]:
    """The contact block, line by line, as every mail and PDF prints it. Takes the dataclass
    or its JSON form (what a queued mail's context holds)."""
    get = service.get if isinstance(service, Mapping) else lambda k: getattr(service, k)
    return [
        str(get("name")),
        f"Courriel : {get('email')}",
        f"Téléphone : {get('phone')} ({get('hours')})",
    ]


_GROUP_COLUMNS = (
    GROUPS.c.id,
    GROUPS.c.name,
    GROUPS.c.customer_service_email,
    GROUPS.c.customer_service_phone,
)


def _of_row(settings: Settings, row: Any) -> CustomerService:
    return customer_service_of(
        settings,
        GroupContacts(row.name, row.customer_service_email, row.customer_service_phone),
    )


async def for_groups(
    session: AsyncSession, settings: Settings, group_ids: Sequence[int]
) -> dict[int, CustomerService]:
    """The contacts of each group (one statement)."""
    wanted = sorted(set(group_ids))
    if not wanted:
        return {}
    rows = await core(session, sa.select(*_GROUP_COLUMNS).where(GROUPS.c.id.in_(wanted)))
    return {row.id: _of_row(settings, row) for row in rows}


async def for_site(session: AsyncSession, settings: Settings, site_id: int) -> CustomerService:
    """The contacts of the group a site belongs to."""
    row = (
        await core(
            session,
            sa.select(*_GROUP_COLUMNS)
            .select_from(
                SITES.join(MEMBERS, MEMBERS.c.id == SITES.c.member_id).join(
                    GROUPS, GROUPS.c.id == MEMBERS.c.group_id
                )
            )
            .where(SITES.c.id == site_id),
        )
    ).first()
    return _of_row(settings, row) if row is not None else customer_service_of(settings)


async def for_user(session: AsyncSession, settings: Settings, user_id: int) -> CustomerService:
    """The contacts of a person: those of the group of their grants (the first group, when a
    person holds grants in several), the supplier's for the back office or a person with no
    customer grant."""
    grants = table_of(AccessGrant)
    group_of_grant = sa.func.coalesce(grants.c.group_id, MEMBERS.c.group_id)
    row = (
        await core(
            session,
            sa.select(*_GROUP_COLUMNS)
            .select_from(
                grants.outerjoin(MEMBERS, MEMBERS.c.id == grants.c.member_id).join(
                    GROUPS, GROUPS.c.id == group_of_grant
                )
            )
            .where(grants.c.user_id == user_id, grants.c.revoked_at.is_(None))
            .order_by(GROUPS.c.id)
            .limit(1),
        )
    ).first()
    return _of_row(settings, row) if row is not None else customer_service_of(settings)
