"""Billing summaries: the billing summary (totals by month and by billing account over whole
calendar months) and the home summary (the last three months).

Both assign an invoice to the month of its accounting date, as the supplier's own screens do
(`perimeterConsumption` does the same by default). About one site, every amount and kWh is
the site's share, read from the per-site rows (`invoice_sites`), never the whole multi-site
invoice. Cancellation invoices carry negative amounts, so summing every kind nets them out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.invoices.query import InvoiceQuery, filtered
from db.core import ACCOUNTS, INVOICES, SHARES, core
from db.scoped import Perimeter, scoped_invoice_sites, scoped_invoices
from domain import billing
from domain.consumption import months_of
from domain.errors import ErrorCode, Refusal
from domain.invoicing import ZERO


@dataclass(frozen=True, slots=True)
class Totals:
    invoice_count: int
    consumption_kwh: int
    total_excl_tax: Decimal
    total_incl_tax: Decimal


NO_TOTALS = Totals(0, 0, ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class MonthTotals:
    month: date  # first day of the month
    totals: Totals


@dataclass(frozen=True, slots=True)
class AccountTotals:
    billing_account_id: int
    number: str
    invoice_label: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class BillingSummary:
    accounting_from: date  # first day of the first month
    accounting_to: date  # last day of the last month
    totals: Totals
    by_month: list[MonthTotals]  # every month of the window, oldest first
    by_billing_account: list[AccountTotals]


def _sums(query: InvoiceQuery) -> tuple[Any, ...]:
    """Count, kWh, excl. and incl. VAT: the invoice's own figures, or the site's share when
    the query names a site."""
    figures = SHARES.c if query.site_id is not None else INVOICES.c
    return (
        sa.func.count(sa.distinct(INVOICES.c.id)).label("invoice_count"),
        sa.func.coalesce(sa.func.sum(figures.consumption_kwh), 0).label("consumption_kwh"),
        sa.func.sum(figures.total_excl_tax).label("total_excl_tax"),
        sa.func.sum(figures.total_incl_tax).label("total_incl_tax"),
    )


def summed(perimeter: Perimeter, query: InvoiceQuery, *columns: Any) -> Any:
    """`SELECT columns, sums` over the query's invoices, or over the named site's rows."""
    if query.site_id is None:
        statement = scoped_invoices(perimeter, *columns, *_sums(query))
    else:
        statement = scoped_invoice_sites(perimeter, *columns, *_sums(query)).where(
            SHARES.c.site_id == query.site_id
        )
    return filtered(statement, perimeter, query)


def _totals(row: Any) -> Totals:
    return Totals(
        invoice_count=int(row.invoice_count or 0),
        consumption_kwh=int(row.consumption_kwh or 0),
        total_excl_tax=row.total_excl_tax if row.total_excl_tax is not None else ZERO,
        total_incl_tax=row.total_incl_tax if row.total_incl_tax is not None else ZERO,
    )


async def _by_month(
    session: AsyncSession, perimeter: Perimeter, query: InvoiceQuery
) -> list[MonthTotals]:
    """Every month of the query's window (months without invoices at zero), oldest first."""
    assert query.accounting_from is not None and query.accounting_to is not None
    year = sa.extract("year", INVOICES.c.accounting_date)
    month = sa.extract("month", INVOICES.c.accounting_date)
    statement = summed(perimeter, query, year.label("y"), month.label("m")).group_by(year, month)
    rows = (await core(session, statement)).all()
    found = {date(int(r.y), int(r.m), 1): _totals(r) for r in rows}
    return [
        MonthTotals(m, found.get(m, NO_TOTALS))
        for m in months_of(query.accounting_from, query.accounting_to)
    ]


def summary_window(query: InvoiceQuery, today: date) -> InvoiceQuery:
    """The query over whole calendar months, at most 6 (about one site too): each date of the
    filter stands for its month; by default the current month and the 5 before."""
    start, end = query.accounting_from, query.accounting_to
    if start is not None and end is not None and end < start:
        raise Refusal(
            ErrorCode.INVALID, "La fin de la période précède son début.", field="accountingDateTo"
        )
    limit = billing.MAX_SUMMARY_MONTHS
    first, last = billing.whole_months(start, end, today=today, months=limit)
    if billing.month_span(first, last) > limit:
        raise Refusal(
            ErrorCode.PERIOD_TOO_LONG,
            f"Un bilan couvre {limit} mois calendaires au plus : réduisez la période.",
            field="accountingDateFrom",
        )
    return replace(query, accounting_from=first, accounting_to=last)


async def billing_summary(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: InvoiceQuery,
    *,
    today: date,
) -> BillingSummary:
    """Totals excl./incl. VAT and kWh over at most 6 whole months, by month of accounting
    date and by billing account; about one site, that site's share only."""
    query = summary_window(query, today)
    assert query.accounting_from is not None and query.accounting_to is not None
    account = (
        ACCOUNTS.c.id.label("account_id"),
        ACCOUNTS.c.number.label("account_number"),
        ACCOUNTS.c.invoice_label.label("account_label"),
    )
    overall: Any = NO_TOTALS
    months = [
        MonthTotals(m, NO_TOTALS) for m in months_of(query.accounting_from, query.accounting_to)
    ]
    accounts: list[Any] = []
    if not perimeter.is_empty:
        async with sessions() as session:
            overall = _totals((await core(session, summed(perimeter, query))).one())
            months = await _by_month(session, perimeter, query)
            accounts = list(
                (
                    await core(
                        session,
                        summed(perimeter, query, *account)
                        .group_by(ACCOUNTS.c.id, ACCOUNTS.c.number, ACCOUNTS.c.invoice_label)
                        .order_by(ACCOUNTS.c.number),
                    )
                ).all()
            )
    return BillingSummary(
        accounting_from=query.accounting_from,
        accounting_to=query.accounting_to,
        totals=overall,
        by_month=months,
        by_billing_account=[
            AccountTotals(r.account_id, r.account_number, r.account_label, _totals(r))
            for r in accounts
        ],
    )


async def home_summary(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, *, today: date
) -> list[MonthTotals]:
    """Invoiced kWh and € of the perimeter for the last three calendar months (this one
    included), by month of accounting date, every month listed even when nothing was
    invoiced."""
    first, last = billing.whole_months(None, None, today=today, months=billing.HOME_SUMMARY_MONTHS)
    query = InvoiceQuery(accounting_from=first, accounting_to=last)
    if perimeter.is_empty:
        return [MonthTotals(m, NO_TOTALS) for m in months_of(first, last)]
    async with sessions() as session:
        return await _by_month(session, perimeter, query)
