"""The invoice filter as every invoice use case takes it: the criteria, the bounds of its
accounting period (the 12-month search rule) and the WHERE clauses it adds to a scoped select.

The perimeter itself is never written here: statements start from `db.scoped`'s
`scoped_invoices`, and a site criterion is matched through `scoped_sites`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from db.core import INVOICES, SHARES, table_of
from db.models import InvoiceDispute, Site
from db.prepared import Stand
from db.scoped import Perimeter, scoped_sites
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
from domain.invoice_disputes import OPEN_STATUSES

DISPUTES = table_of(InvoiceDispute)


class InvoiceOrder(StrEnum):
    ACCOUNTING_DATE_DESC = "ACCOUNTING_DATE_DESC"
    ACCOUNTING_DATE_ASC = "ACCOUNTING_DATE_ASC"
    TOTAL_INCL_TAX_DESC = "TOTAL_INCL_TAX_DESC"
    TOTAL_INCL_TAX_ASC = "TOTAL_INCL_TAX_ASC"
    NUMBER_ASC = "NUMBER_ASC"
    NUMBER_DESC = "NUMBER_DESC"


ORDER_COLUMNS: dict[InvoiceOrder, tuple[Any, bool]] = {
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
    # Leave out the invoices under an open dispute (their amounts are contested).
    exclude_disputed: bool = False


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
            f"Une recherche couvre {max_months} mois au plus : réduisez la période, ou "
            "filtrez sur un site ou un numéro de facture (la période n'est alors pas limitée).",
            field="accountingDateFrom",
        )
    return replace(query, accounting_from=start, accounting_to=end)


# The amount columns are NUMERIC(14, 2) (scaled 64-bit integers on SQLite): a bound beyond
# them would overflow the driver rather than match nothing.
MAX_AMOUNT = Decimal("999999999999.99")


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
    if abs(value) > MAX_AMOUNT:
        raise Refusal(
            ErrorCode.INVALID,
            "Montant hors limites : 999 999 999 999,99 € au plus.",
            field=field,
        )
    return value


def standing_query(stand: Stand, query: InvoiceQuery) -> InvoiceQuery:
    """The query with stand-ins for its values (db/prepared.py): amounts are checked first,
    on their real values."""
    _amount(query.min_total_incl_tax, "minTotalInclTax")
    _amount(query.max_total_incl_tax, "maxTotalInclTax")

    def ids(values: tuple[int, ...] | None) -> tuple[int, ...] | None:
        return None if stand.fixed(values is None) else tuple(stand.ids(values or ()))

    return InvoiceQuery(
        accounting_from=stand.value(query.accounting_from),
        accounting_to=stand.value(query.accounting_to),
        billing_account_ids=ids(query.billing_account_ids),
        invoice_ids=ids(query.invoice_ids),
        site_id=stand.value(query.site_id),
        kinds=stand.fixed(tuple(query.kinds)),
        index_basis=stand.fixed(query.index_basis),
        delivery_mode=stand.fixed(query.delivery_mode),
        edition_status=stand.fixed(query.edition_status),
        payment_status=stand.fixed(query.payment_status),
        energy=stand.fixed(query.energy),
        # The real value as `filtered` writes it (the stand-in is left as it is by both).
        number=stand.value(query.number.strip().upper() if query.number else None),
        min_total_incl_tax=stand.value(query.min_total_incl_tax),
        max_total_incl_tax=stand.value(query.max_total_incl_tax),
        exclude_disputed=stand.fixed(query.exclude_disputed),
    )


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
    if query.exclude_disputed:
        where.append(c.id.not_in(open_disputed_invoices()))
    return statement.where(*where)


def open_disputed_invoices() -> Any:
    """`SELECT invoice_id` of the open disputes (at most one per invoice)."""
    return sa.select(DISPUTES.c.invoice_id).where(
        DISPUTES.c.status.in_([s.value for s in OPEN_STATUSES])
    )
