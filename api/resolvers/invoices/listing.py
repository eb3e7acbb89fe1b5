"""The invoice list (keyset pages in every order) and the detail, with the levels asked for.

Lists are Core rows: one statement for the page, one for the count, and one per requested
level (lines, per-site rows), whatever the page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.invoices.query import (
    ORDER_COLUMNS,
    InvoiceOrder,
    InvoiceQuery,
    filtered,
    standing_query,
)
from db import prepared
from db.core import ACCOUNTS, INVOICES, LINES, SHARES, SITES, core
from db.prepared import Stand
from db.scoped import Perimeter, scoped_invoices
from domain.errors import ErrorCode, Refusal

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
    line_columns: tuple[str, ...] | None = None,
) -> InvoicePage:
    """A keyset page of the perimeter's invoices; `line_columns`: the lines' columns to read
    (all by default; the compiled path reads those its selection shows)."""
    column, descending = ORDER_COLUMNS[order]
    if after is not None:
        if len(after) != 2 or not isinstance(after[1], int):
            raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
        keyset: tuple[Any, int] | None = (_cursor_value(order, after[0]), after[1])
    else:
        keyset = None
    # Built once per shape from stand-ins, run with this request's values (db/prepared.py).
    stand = Stand()
    scope, standing = stand.perimeter(perimeter), standing_query(stand, query)
    if perimeter.is_empty:
        return InvoicePage([], [], 0, False)
    keyset_stand = (stand.value(keyset[0]), stand.value(keyset[1])) if keyset else None

    def page_statement() -> Any:
        page_query = filtered(scoped_invoices(scope, *HEADER_COLUMNS), scope, standing)
        if keyset_stand is not None:
            value, last_id = keyset_stand
            if descending:
                page_query = page_query.where(
                    sa.or_(column < value, sa.and_(column == value, INVOICES.c.id < last_id))
                )
            else:
                page_query = page_query.where(
                    sa.or_(column > value, sa.and_(column == value, INVOICES.c.id > last_id))
                )
        ordering = (column.desc(), INVOICES.c.id.desc()) if descending else (column, INVOICES.c.id)
        return page_query.order_by(*ordering).limit(first + 1)

    count_stand = Stand()
    count_scope, count_standing = (
        count_stand.perimeter(perimeter),
        standing_query(count_stand, query),
    )

    def count_statement() -> Any:
        return filtered(scoped_invoices(count_scope, sa.func.count()), count_scope, count_standing)

    async with sessions() as session:
        rows = list(
            (
                await prepared.run(session, ("invoices.page", order, first), page_statement, stand)
            ).all()
        )
        total = None
        if with_count:
            counted = await prepared.run(session, "invoices.count", count_statement, count_stand)
            total = counted.scalar_one()
        page = rows[:first]
        details = await with_levels(
            session,
            [InvoiceDetail(r) for r in page],
            lines=with_lines,
            sites=with_sites,
            line_columns=line_columns,
        )
    key = column.key
    cursors = [[_jsonable(getattr(d.row, key)), d.row.id] for d in details]
    return InvoicePage(details, cursors, total, len(rows) > first)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)


async def with_levels(
    session: AsyncSession,
    details: list[InvoiceDetail],
    *,
    lines: bool,
    sites: bool,
    line_columns: tuple[str, ...] | None = None,
) -> list[InvoiceDetail]:
    """Loads the lines and per-site rows of these invoices: one statement per level (the
    lines' `line_columns` and invoice_id only, when named: a page of lines is hundreds of
    rows, and each money column costs a conversion)."""
    ids = [d.row.id for d in details]
    if not ids:
        return details
    if lines:
        by_invoice: dict[int, list[Any]] = defaultdict(list)
        stand = Stand()
        invoices = stand.ids(ids)

        selected = (
            list(LINES.c)
            if line_columns is None
            else [LINES.c.invoice_id, *(LINES.c[n] for n in line_columns if n != "invoice_id")]
        )

        def lines_statement() -> Any:
            return (
                sa.select(*selected)
                .where(LINES.c.invoice_id.in_(sorted(invoices)))
                .order_by(LINES.c.invoice_id, LINES.c.position)
            )

        shape = ("invoices.lines", line_columns)
        result = await prepared.run(session, shape, lines_statement, stand)
        for row in result.all():
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
        for row in result.all():
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
