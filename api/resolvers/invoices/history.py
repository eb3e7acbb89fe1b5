"""The per-site billing history ("suivi par compteur"): the site's share of each invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import INVOICES, SHARES, core
from db.models import Site
from db.scoped import Perimeter, scoped_invoice_sites, scoped_sites
from domain import billing
from domain.enums import InvoiceKind


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    invoice_id: int
    number: str
    kind: InvoiceKind
    accounting_date: date
    period_start: date
    period_end: date
    subscription_amount: Decimal
    consumption_kwh: int
    consumption_amount: Decimal
    transport_amount: Decimal
    taxes_amount: Decimal
    total_excl_tax: Decimal
    total_incl_tax: Decimal
    cumulated_total_excl_tax: Decimal
    cumulated_total_incl_tax: Decimal


@dataclass(frozen=True, slots=True)
class SiteHistory:
    site_id: int
    point_number: str
    entries: list[HistoryEntry]


async def site_history(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_id: int,
    accounting_from: date | None = None,
    accounting_to: date | None = None,
) -> SiteHistory | None:
    """ "Suivi par compteur": the site's share of each invoice, oldest first, with the
    cumulated totals. None when the site is unknown or outside the perimeter."""
    if perimeter.is_empty:
        return None
    async with sessions() as session:
        site = (
            await core(
                session,
                scoped_sites(perimeter, Site.id, Site.point_number).where(Site.id == site_id),
            )
        ).first()
        if site is None:
            return None
        statement = scoped_invoice_sites(
            perimeter,
            INVOICES.c.id,
            INVOICES.c.number,
            INVOICES.c.kind,
            INVOICES.c.accounting_date,
            INVOICES.c.period_start,
            INVOICES.c.period_end,
            SHARES.c.subscription_amount,
            SHARES.c.consumption_kwh,
            SHARES.c.energy_amount,
            SHARES.c.transport_amount,
            SHARES.c.taxes_amount,
            SHARES.c.total_excl_tax,
            SHARES.c.total_incl_tax,
        ).where(SHARES.c.site_id == site_id)
        if accounting_from is not None:
            statement = statement.where(INVOICES.c.accounting_date >= accounting_from)
        if accounting_to is not None:
            statement = statement.where(INVOICES.c.accounting_date <= accounting_to)
        rows = (
            await core(session, statement.order_by(INVOICES.c.accounting_date, INVOICES.c.id))
        ).all()
    excl = billing.cumulate(r.total_excl_tax for r in rows)
    incl = billing.cumulate(r.total_incl_tax for r in rows)
    return SiteHistory(
        site_id=site.id,
        point_number=site.point_number,
        entries=[
            HistoryEntry(
                invoice_id=r.id,
                number=r.number,
                kind=InvoiceKind(r.kind),
                accounting_date=r.accounting_date,
                period_start=r.period_start,
                period_end=r.period_end,
                subscription_amount=r.subscription_amount,
                consumption_kwh=r.consumption_kwh,
                consumption_amount=r.energy_amount,
                transport_amount=r.transport_amount,
                taxes_amount=r.taxes_amount,
                total_excl_tax=r.total_excl_tax,
                total_incl_tax=r.total_incl_tax,
                cumulated_total_excl_tax=excl[k],
                cumulated_total_incl_tax=incl[k],
            )
            for k, r in enumerate(rows)
        ],
    )
