"""The customer-service contacts: one source for every mail and every PDF.

The source is the `contacts` table ("vos interlocuteurs" of the Help tab, maintained by the
back office). The block a customer reads at the foot of a mail, in the welcome pack and on an
invoice PDF is the CUSTOMER_SERVICE contact of their purchasing group when the group has one,
else the supplier's own (the CUSTOMER_SERVICE contact with no group). Every mail and PDF takes
it from one of the lookups below and prints it with `contact_lines`, so they never disagree,
and a contact changed through `updateContact` shows in the next mail and the next PDF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.core import MEMBERS, SITES, core, core_rows, table_of
from db.models import AccessGrant, Contact
from domain.enums import ContactRole

CONTACTS = table_of(Contact)


@dataclass(frozen=True, slots=True)
class CustomerService:
    """Who the mail comes from (the supplier, in the header) and whom to call (the footer)."""

    name: str
    email: str
    phone: str
    hours: str
    supplier_name: str = "Comptoir Énergie"


def contact_lines(service: CustomerService | Mapping[str, Any]) -> list[str]:
    """The contact block, line by line, as every mail and PDF prints it. Takes the dataclass
    or its JSON form (what a queued mail's context holds)."""
    get = service.get if isinstance(service, Mapping) else lambda k: getattr(service, k)
    return [
        str(get("name")),
        f"Courriel : {get('email')}",
        f"Téléphone : {get('phone')} ({get('hours')})",
    ]


def _service(settings: Settings, row: Any) -> CustomerService:
    return CustomerService(
        name=row.name,
        email=row.email,
        phone=row.phone,
        hours=row.opening_hours,
        supplier_name=settings.supplier_name,
    )


async def for_groups(
    session: AsyncSession, settings: Settings, group_ids: Sequence[int]
) -> dict[int, CustomerService]:
    """The customer service of each group: its own contact, else the supplier's (one
    statement). Every group asked for is in the answer."""
    wanted = sorted(set(group_ids))
    rows = await core_rows(
        session,
        sa.select(
            CONTACTS.c.group_id,
            CONTACTS.c.name,
            CONTACTS.c.email,
            CONTACTS.c.phone,
            CONTACTS.c.opening_hours,
        )
        .where(
            CONTACTS.c.role == ContactRole.CUSTOMER_SERVICE.value,
            CONTACTS.c.member_id.is_(None),
            sa.or_(CONTACTS.c.group_id.is_(None), CONTACTS.c.group_id.in_(wanted)),
        )
        # The first row of each group wins (the oldest contact of that role).
        .order_by(CONTACTS.c.id.desc()),
    )
    found = {row.group_id: _service(settings, row) for row in rows}
    supplier = found.get(None) or customer_service_of(settings)
    return {group_id: found.get(group_id, supplier) for group_id in wanted}


def customer_service_of(settings: Settings) -> CustomerService:
    """The block of last resort, from settings alone: the supplier's name and nothing to call.
    Only what a mail built without a database shows (mailers.mails' default), or a database
    with no supplier-wide contact (the back office may not delete the last one)."""
    return CustomerService(
        name=f"Service clients {settings.supplier_name}",
        email="",
        phone="",
        hours="",
        supplier_name=settings.supplier_name,
    )


async def for_site(session: AsyncSession, settings: Settings, site_id: int) -> CustomerService:
    """The contacts of the group a site belongs to."""
    group_id = (
        await core(
            session,
            sa.select(MEMBERS.c.group_id)
            .select_from(SITES.join(MEMBERS, MEMBERS.c.id == SITES.c.member_id))
            .where(SITES.c.id == site_id),
        )
    ).scalar()
    return (await for_groups(session, settings, [group_id or 0]))[group_id or 0]


async def for_user(session: AsyncSession, settings: Settings, user_id: int) -> CustomerService:
    """The contacts of a person: those of the group of their grants (the first group, when a
    person holds grants in several), the supplier's for the back office or a person with no
    customer grant."""
    grants = table_of(AccessGrant)
    group_of_grant = sa.func.coalesce(grants.c.group_id, MEMBERS.c.group_id)
    group_id = (
        await core(
            session,
            sa.select(group_of_grant)
            .select_from(grants.outerjoin(MEMBERS, MEMBERS.c.id == grants.c.member_id))
            .where(
                grants.c.user_id == user_id,
                grants.c.revoked_at.is_(None),
                group_of_grant.is_not(None),
            )
            .order_by(group_of_grant)
            .limit(1),
        )
    ).scalar()
    return (await for_groups(session, settings, [group_id or 0]))[group_id or 0]
