"""What invoice documents need: the header rows a PDF prints, the numbers of the invoices
cancelled, and the ids an export covers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.invoices.query import InvoiceQuery, filtered
from db.core import ACCOUNTS, GROUPS, INVOICES, MEMBERS, core
from db.scoped import Perimeter, scoped_invoices


async def document_rows(session: AsyncSession, perimeter: Perimeter, ids: Sequence[int]) -> Any:
    """Header rows with the billing account, member and group columns a PDF prints."""
    statement = (
        scoped_invoices(
            perimeter,
            *INVOICES.c,
            ACCOUNTS.c.number.label("billing_account_number"),
            ACCOUNTS.c.invoice_label,
            ACCOUNTS.c.billing_street,
            ACCOUNTS.c.billing_postcode,
            ACCOUNTS.c.billing_city,
            ACCOUNTS.c.recipient_siret,
            ACCOUNTS.c.chorus_service_code,
            ACCOUNTS.c.chorus_commitment_number,
            ACCOUNTS.c.payment_method,
            MEMBERS.c.legal_name,
            MEMBERS.c.customer_number,
            MEMBERS.c.siren,
            GROUPS.c.name.label("group_name"),
        )
        .join(MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
        .join(GROUPS, GROUPS.c.id == MEMBERS.c.group_id)
        .where(INVOICES.c.id.in_(sorted(set(ids))))
    )
    return (await core(session, statement)).all()


async def cancelled_numbers(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    """Numbers of the invoices these ids cancel (the cancelled one is the same account's)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await core(
        session, sa.select(INVOICES.c.id, INVOICES.c.number).where(INVOICES.c.id.in_(wanted))
    )
    return {r.id: r.number for r in rows}


async def ordered_ids(
    session: AsyncSession, perimeter: Perimeter, query: InvoiceQuery, *, limit: int | None = None
) -> list[int]:
    """The ids an export covers, by accounting date then id."""
    statement = filtered(scoped_invoices(perimeter, INVOICES.c.id), perimeter, query).order_by(
        INVOICES.c.accounting_date, INVOICES.c.id
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list((await core(session, statement)).scalars())
