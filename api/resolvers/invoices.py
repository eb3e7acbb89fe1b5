"""Invoices: the filtered list, the detail with its lines and per-site rows, the billing
summary, the per-meter history and the home summary.

Every statement reaches invoices through their billing account and `billing_account_in`
(db/scoped.py), so an invoice outside the perimeter is exactly a missing one. Lists are Core
rows: one statement for the page, one for the count, and one per requested level (lines,
per-site rows), whatever the page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import ACCOUNTS, GROUPS, INVOICES, LINES, MEMBERS, SHARES, SITES, core
from db.models import Site
from db.scoped import Perimeter, scoped_invoice_sites, scoped_invoices, scoped_sites
from domain import billing
from domain.enums import (
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceDelivery,
    InvoiceKind,
    PaymentStatus,
)
from domain.errors import ErrorCode, Refusal
from domain.invoicing import ZERO


class InvoiceOrder(StrEnum):
    ACCOUNTING_DATE_DESC = "ACCOUNTING_DATE_DESC"
    ACCOUNTING_DATE_ASC = "ACCOUNTING_DATE_ASC"
    TOTAL_INCL_TAX_DESC = "TOTAL_INCL_TAX_DESC"
    TOTAL_INCL_TAX_ASC = "TOTAL_INCL_TAX_ASC"
    NUMBER_ASC = "NUMBER_ASC"
    NUMBER_DESC = "NUMBER_DESC"


_ORDER_COLUMNS: dict[InvoiceOrder, tuple[Any, bool]] = {
    InvoiceOrder.ACCOUNTING_DATE_DESC: (INVOICES.c.accounting_date, True),
    InvoiceOrder.ACCOUNTING_DATE_ASC: (INVOICES.c.accounting_date, False),
    InvoiceOrder.TOTAL_INCL_TAX_DESC: (INVOICES.c.total_incl_tax, True),
    InvoiceOrder.TOTAL_INCL_TAX_ASC: (INVOICES.c.total_incl_tax, False),
    InvoiceOrder.NUMBER_ASC: (INVOICES.c.number, False),
    InvoiceOrder.NUMBER_DESC: (INVOICES.c.number, True),
}


@dataclass(frozen=True, slots=True)
class InvoiceQuery:
    """An invoice filter, as the list, the summaries and the exports take it."""

    accounting_from: date | None = None
    accounting_to: date | None = None
    billing_account_ids: tuple[int, ...] | None = None
    invoice_ids: tuple[int, ...] | None = None
    site_id: int | None = None
    kinds: tuple[InvoiceKind, ...] = ()
    index_basis: IndexBasis | None = None
    delivery_mode: InvoiceDelivery | None = None
    edition_status: EditionStatus | None = None
    payment_status: PaymentStatus | None = None
    energy: Energy | None = None
    number: str | None = None
    min_total_incl_tax: Decimal | None = None
    max_total_incl_tax: Decimal | None = None


def bounded(query: InvoiceQuery, *, today: date, max_months: int) -> InvoiceQuery:
    """The query with its accounting period made explicit and checked against the limit.

    No period → the `max_months` months ending today; only one bound → the other follows.
    A search about one site, or for one invoice number, may span any period.
    """
    start, end = query.accounting_from, query.accounting_to
    if start is not None and end is not None and end < start:
        raise Refusal(
            ErrorCode.INVALID,
            "La fin de la période précède son début.",
            field="accountingDateTo",
        )
    if query.site_id is not None or query.number or query.invoice_ids is not None:
        return query
    if end is None:
        end = today if start is None else max(today, start)
    if start is None:
        start = billing.default_window(end, max_months)[0]
    if billing.spans_more_than(start, end, max_months):
        raise Refusal(
            ErrorCode.PERIOD_TOO_LONG,
            f"La période ne peut dépasser {max_months} mois (sauf pour un seul site) : "
            "réduisez-la ou filtrez sur un site.",
            field="accountingDateFrom",
        )
    return replace(query, accounting_from=start, accounting_to=end)


def _amount(value: Decimal | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if not value.is_finite() or value.quantize(Decimal("0.01")) != value:
            raise InvalidOperation
    except InvalidOperation:
        raise Refusal(
            ErrorCode.INVALID, "Montant invalide : deux décimales au plus.", field=field
        ) from None
    return value


def filtered(statement: sa.Select[Any], perimeter: Perimeter, query: InvoiceQuery) -> Any:
    c = INVOICES.c
    where: list[Any] = []
    if query.accounting_from is not None:
        where.append(c.accounting_date >= query.accounting_from)
    if query.accounting_to is not None:
        where.append(c.accounting_date <= query.accounting_to)
    if query.billing_account_ids is not None:
        where.append(c.billing_account_id.in_(sorted(set(query.billing_account_ids))))
    if query.invoice_ids is not None:
        where.append(c.id.in_(sorted(set(query.invoice_ids))))
    if query.site_id is not None:
        sites = scoped_sites(perimeter, Site.id).where(Site.id == query.site_id)
        where.append(c.id.in_(sa.select(SHARES.c.invoice_id).where(SHARES.c.site_id.in_(sites))))
    if query.kinds:
        where.append(c.kind.in_([k.value for k in query.kinds]))
    for column, value in (
        (c.index_basis, query.index_basis),
        (c.delivery_mode, query.delivery_mode),
        (c.edition_status, query.edition_status),
        (c.payment_status, query.payment_status),
        (c.energy, query.energy),
    ):
        if value is not None:
            where.append(column == value)
    if query.number:
        where.append(c.number == query.number.strip().upper())
    low = _amount(query.min_total_incl_tax, "minTotalInclTax")
    high = _amount(query.max_total_incl_tax, "maxTotalInclTax")
    if low is not None:
        where.append(c.total_incl_tax >= low)
    if high is not None:
        where.append(c.total_incl_tax <= high)
    return statement.where(*where)


HEADER_COLUMNS = (
    *INVOICES.c,
    ACCOUNTS.c.number.label("billing_account_number"),
    ACCOUNTS.c.invoice_label,
    ACCOUNTS.c.member_id,
)


@dataclass(slots=True)
class InvoiceDetail:
    """An invoice row (Core) with the levels that were asked for."""

    row: Any
    lines: list[Any] | None = None
    sites: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class InvoicePage:
    invoices: list[InvoiceDetail]
    cursors: list[list[Any]]
    total_count: int | None
    has_next_page: bool


def _cursor_value(order: InvoiceOrder, raw: Any) -> Any:
    try:
        if order in (InvoiceOrder.ACCOUNTING_DATE_ASC, InvoiceOrder.ACCOUNTING_DATE_DESC):
            return date.fromisoformat(raw)
        if order in (InvoiceOrder.TOTAL_INCL_TAX_ASC, InvoiceOrder.TOTAL_INCL_TAX_DESC):
            return Decimal(str(raw))
        return str(raw)
    except (ValueError, TypeError, InvalidOperation):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after") from None


async def list_invoices(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: InvoiceQuery,
    *,
    order: InvoiceOrder,
    first: int,
    after: list[Any] | None,
    with_lines: bool,
    with_sites: bool,
    with_count: bool = True,
) -> InvoicePage:
    column, descending = _ORDER_COLUMNS[order]
    base = filtered(scoped_invoices(perimeter, *HEADER_COLUMNS), perimeter, query)
    page_query = base
    if after is not None:
        if len(after) != 2 or not isinstance(after[1], int):
            raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
        value, last_id = _cursor_value(order, after[0]), after[1]
        if descending:
            page_query = page_query.where(
                sa.or_(column < value, sa.and_(column == value, INVOICES.c.id < last_id))
            )
        else:
            page_query = page_query.where(
                sa.or_(column > value, sa.and_(column == value, INVOICES.c.id > last_id))
            )
    ordering = (column.desc(), INVOICES.c.id.desc()) if descending else (column, INVOICES.c.id)
    page_query = page_query.order_by(*ordering).limit(first + 1)
    if perimeter.is_empty:
        return InvoicePage([], [], 0, False)
    async with sessions() as session:
        rows = list((await core(session, page_query)).all())
        total = None
        if with_count:
            count_query = filtered(scoped_invoices(perimeter, sa.func.count()), perimeter, query)
            total = (await core(session, count_query)).scalar_one()
        page = rows[:first]
        details = await with_levels(
            session, [InvoiceDetail(r) for r in page], lines=with_lines, sites=with_sites
        )
    key = column.key
    cursors = [[_jsonable(getattr(d.row, key)), d.row.id] for d in details]
    return InvoicePage(details, cursors, total, len(rows) > first)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)


async def with_levels(
    session: AsyncSession, details: list[InvoiceDetail], *, lines: bool, sites: bool
) -> list[InvoiceDetail]:
    """Loads the lines and per-site rows of these invoices: one statement per level."""
    ids = [d.row.id for d in details]
    if not ids:
        return details
    if lines:
        by_invoice: dict[int, list[Any]] = defaultdict(list)
        result = await core(
            session,
            sa.select(*LINES.c)
            .where(LINES.c.invoice_id.in_(ids))
            .order_by(LINES.c.invoice_id, LINES.c.position),
        )
        for row in result:
            by_invoice[row.invoice_id].append(row)
        for d in details:
            d.lines = by_invoice.get(d.row.id, [])
    if sites:
        shares: dict[int, list[Any]] = defaultdict(list)
        result = await core(
            session,
            sa.select(
                *SHARES.c,
                SITES.c.point_number,
                SITES.c.internal_code,
                SITES.c.designation,
                SITES.c.other_reference,
                SITES.c.street,
                SITES.c.postcode,
                SITES.c.city,
                SITES.c.segment,
                SITES.c.energy,
            )
            .select_from(SHARES.join(SITES, SITES.c.id == SHARES.c.site_id))
            .where(SHARES.c.invoice_id.in_(ids))
            .order_by(SHARES.c.invoice_id, SITES.c.point_number),
        )
        for row in result:
            shares[row.invoice_id].append(row)
        for d in details:
            d.sites = shares.get(d.row.id, [])
    return details


async def load_invoices(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    ids: Sequence[int | None],
    *,
    by: str = "id",
    lines: bool = True,
    sites: bool = True,
) -> list[InvoiceDetail | None]:
    """Invoices in the order of `ids` (None outside the perimeter). `by="cancels"` finds the
    cancellation of each invoice id instead."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted or perimeter.is_empty:
        return [None] * len(ids)
    key = INVOICES.c.id if by == "id" else INVOICES.c.cancels_invoice_id
    statement = scoped_invoices(perimeter, *HEADER_COLUMNS).where(key.in_(wanted))
    async with sessions() as session:
        rows = (await core(session, statement)).all()
        details = await with_levels(
            session, [InvoiceDetail(r) for r in rows], lines=lines, sites=sites
        )
    found = {getattr(d.row, key.key): d for d in details}
    return [found.get(i) if i is not None else None for i in ids]


async def invoice_by_number(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, number: str
) -> InvoiceDetail | None:
    if perimeter.is_empty:
        return None
    async with sessions() as session:
        row = (
            await core(
                session,
                scoped_invoices(perimeter, *HEADER_COLUMNS).where(
                    INVOICES.c.number == number.strip().upper()
                ),
            )
        ).first()
        if row is None:
            return None
        return (await with_levels(session, [InvoiceDetail(row)], lines=True, sites=True))[0]


# -- summaries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    invoice_count: int
    consumption_kwh: int
    total_excl_tax: Decimal
    total_incl_tax: Decimal


@dataclass(frozen=True, slots=True)
class MonthTotals:
    month: date
    totals: Totals


@dataclass(frozen=True, slots=True)
class AccountTotals:
    billing_account_id: int
    number: str
    invoice_label: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class BillingSummary:
    accounting_from: date
    accounting_to: date
    totals: Totals
    by_month: list[MonthTotals]
    by_billing_account: list[AccountTotals]


_SUMS = (
    sa.func.count(INVOICES.c.id).label("invoice_count"),
    sa.func.coalesce(sa.func.sum(INVOICES.c.consumption_kwh), 0).label("consumption_kwh"),
    sa.func.sum(INVOICES.c.total_excl_tax).label("total_excl_tax"),
    sa.func.sum(INVOICES.c.total_incl_tax).label("total_incl_tax"),
)


def _totals(row: Any) -> Totals:
    return Totals(
        invoice_count=int(row.invoice_count or 0),
        consumption_kwh=int(row.consumption_kwh or 0),
        total_excl_tax=row.total_excl_tax if row.total_excl_tax is not None else ZERO,
        total_incl_tax=row.total_incl_tax if row.total_incl_tax is not None else ZERO,
    )


async def billing_summary(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: InvoiceQuery,
    *,
    today: date,
) -> BillingSummary:
    """Totals excl./incl. VAT and kWh over at most 6 months, by month and by billing account.

    Cancellation invoices carry negative amounts, so summing every kind nets them out.
    """
    query = _summary_bounds(query, today)
    year = sa.extract("year", INVOICES.c.accounting_date)
    month = sa.extract("month", INVOICES.c.accounting_date)
    async with sessions() as session:
        overall = (
            await core(session, filtered(scoped_invoices(perimeter, *_SUMS), perimeter, query))
        ).one()
        months = (
            await core(
                session,
                filtered(
                    scoped_invoices(perimeter, year.label("y"), month.label("m"), *_SUMS),
                    perimeter,
                    query,
                )
                .group_by(year, month)
                .order_by(year, month),
            )
        ).all()
        accounts = (
            await core(
                session,
                filtered(
                    scoped_invoices(
                        perimeter,
                        ACCOUNTS.c.id.label("account_id"),
                        ACCOUNTS.c.number.label("account_number"),
                        ACCOUNTS.c.invoice_label.label("account_label"),
                        *_SUMS,
                    ),
                    perimeter,
                    query,
                )
                .group_by(ACCOUNTS.c.id, ACCOUNTS.c.number, ACCOUNTS.c.invoice_label)
                .order_by(ACCOUNTS.c.number),
            )
        ).all()
    assert query.accounting_from is not None and query.accounting_to is not None
    return BillingSummary(
        accounting_from=query.accounting_from,
        accounting_to=query.accounting_to,
        totals=_totals(overall),
        by_month=[MonthTotals(date(int(r.y), int(r.m), 1), _totals(r)) for r in months],
        by_billing_account=[
            AccountTotals(r.account_id, r.account_number, r.account_label, _totals(r))
            for r in accounts
        ],
    )


def _summary_bounds(query: InvoiceQuery, today: date) -> InvoiceQuery:
    """The summary's window: at most 6 months, even about one site."""
    limit = billing.MAX_SUMMARY_MONTHS
    bounded_query = bounded(
        replace(query, site_id=None, number=None), today=today, max_months=limit
    )
    return replace(bounded_query, site_id=query.site_id, number=query.number)


async def home_summary(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, *, today: date
) -> list[MonthTotals]:
    """Invoiced kWh and € of the perimeter for the last three calendar months (this one
    included), every month listed even when nothing was invoiced."""
    months = billing.last_months(today, billing.HOME_SUMMARY_MONTHS)
    query = InvoiceQuery(accounting_from=months[0], accounting_to=today)
    found: dict[date, Totals] = {}
    if not perimeter.is_empty:
        year = sa.extract("year", INVOICES.c.accounting_date)
        month = sa.extract("month", INVOICES.c.accounting_date)
        async with sessions() as session:
            rows = (
                await core(
                    session,
                    filtered(
                        scoped_invoices(perimeter, year.label("y"), month.label("m"), *_SUMS),
                        perimeter,
                        query,
                    ).group_by(year, month),
                )
            ).all()
        found = {date(int(r.y), int(r.m), 1): _totals(r) for r in rows}
    empty = Totals(0, 0, ZERO, ZERO)
    return [MonthTotals(m, found.get(m, empty)) for m in months]


# -- per-meter history ------------------------------------------------------------------------


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


# -- what an invoice document needs -----------------------------------------------------------


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
