"""The billing file ("Direct View"): one row per invoice and site with every billed
component, CSV or XLSX, written by the one table writer (documents/tables.py).

Rows are read by one statement streamed in partitions (memory stays flat at 160,000 rows)
with each site's share of every component as stored when the invoice was written (rows
written before that are split here from the invoice's lines, one more statement); coded
values go to the writer as codes and come out with their French labels. A filter naming a
site lists that site's rows only: its share of each invoice, not the other sites of a grouped
invoice.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import invoices
from api.resolvers.export_files import write_export
from api.resolvers.invoice_pdfs import ExportedFile
from api.resolvers.invoices import InvoiceQuery
from comptoir.settings import Settings
from db.core import ACCOUNTS, INVOICES, LINES, MEMBERS, SHARES, SITES, core
from db.scoped import Perimeter, scoped_invoice_sites, scoped_invoices
from documents.tables import Column, FileFormat, Table
from documents.tables import ColumnKind as K
from domain import billing
from domain.enums import InvoiceComponent
from domain.errors import ErrorCode, Refusal
from domain.labels import (
    EDITION_STATUS_LABELS,
    ENERGY_LABELS,
    INDEX_BASIS_LABELS,
    INVOICE_COMPONENT_LABELS,
    INVOICE_DELIVERY_LABELS,
    INVOICE_KIND_LABELS,
    PAYMENT_STATUS_LABELS,
)

PARTITION_ROWS = 10_000  # rows fetched at a time; one component query per partition


COMPONENTS = [  # the order of the supplier's file
    InvoiceComponent.SUBSCRIPTION,
    InvoiceComponent.ENERGY,
    InvoiceComponent.CAPACITY,
    InvoiceComponent.ENERGY_SAVING_CERTIFICATES,
    InvoiceComponent.REGULARISATION,
    InvoiceComponent.TRANSPORT,
    InvoiceComponent.CTA,
    InvoiceComponent.EXCISE,
    InvoiceComponent.LOCAL_TAX,
]
_TAXES = {InvoiceComponent.CTA, InvoiceComponent.EXCISE, InvoiceComponent.LOCAL_TAX}

COLUMNS: tuple[Column, ...] = (
    Column("N° facture", K.IDENTIFIER, 17),
    Column("Type", K.LABEL, 20, INVOICE_KIND_LABELS),
    Column("Date comptable", K.DATE),
    Column("Début de période", K.DATE),
    Column("Fin de période", K.DATE),
    Column("Échéance", K.DATE),
    Column("Index", K.LABEL, 8, INDEX_BASIS_LABELS),
    Column("Mode d'envoi", K.LABEL, 16, INVOICE_DELIVERY_LABELS),
    Column("Statut d'édition", K.LABEL, 20, EDITION_STATUS_LABELS),
    Column("Statut de paiement", K.LABEL, 20, PAYMENT_STATUS_LABELS),
    Column("Facture annulée", K.IDENTIFIER, 17),
    Column("Compte de contrat", K.IDENTIFIER, 16),
    Column("Libellé de facture", K.TEXT, 30),
    Column("Raison sociale", K.TEXT, 36),
    Column("N° client", K.IDENTIFIER, 12),
    Column("Énergie", K.LABEL, 12, ENERGY_LABELS),
    Column("PRM/PCE", K.IDENTIFIER, 17),
    Column("Code interne", K.TEXT, 16),
    Column("Désignation", K.TEXT, 30),
    Column("Segment", K.TEXT, 9),
    Column("Commune", K.TEXT, 24),
    Column("Compteur", K.IDENTIFIER, 16),
    Column("Date index précédent", K.DATE),
    Column("Date index actuel", K.DATE),
    Column("Consommation (kWh)", K.INTEGER),
    *(
        Column(
            INVOICE_COMPONENT_LABELS[c] + ("" if c in _TAXES else " HT"),
            K.MONEY_CENTS,
        )
        for c in COMPONENTS
    ),
    Column("Total HT", K.MONEY_CENTS),
    Column("TVA", K.MONEY_CENTS),
    Column("Total TTC", K.MONEY_CENTS),
)


def _as_text(column: Any) -> Any:
    # A coded column read as its plain string: the writer labels it, and 900,000 enum
    # conversions per file are not spent for nothing.
    return sa.type_coerce(column, sa.String).label(column.name)


def _as_date(column: Any, dialect: str) -> Any:
    """A date column; on SQLite its stored ISO text as is (the writer reads both), which
    spares a million date conversions a file."""
    if dialect == "sqlite":
        return sa.type_coerce(column, sa.String).label(column.name)
    return column


def _in_cents(amount: Any, dialect: str, name: str) -> Any:
    """A money column (or sum) read as whole cents, an int: SQLite stores money as scaled
    integers already; PostgreSQL's NUMERIC(14, 2) times 100 is exact. 1.3 million Decimals a
    file are not made (and the split and the writer work in integers)."""
    if dialect == "sqlite":
        return sa.type_coerce(amount, sa.BigInteger).label(name)
    return sa.cast(sa.type_coerce(amount, sa.Numeric()) * 100, sa.BigInteger).label(name)


def _rows_statement(perimeter: Perimeter, query: InvoiceQuery, dialect: str) -> Any:
    """The file's columns in the file's order (a row goes to the writer as read), then what
    a row without stored parts needs to be split: its invoice and its family amounts."""
    cancelled = sa.alias(INVOICES, "cancelled")
    statement = (
        scoped_invoice_sites(
            perimeter,
            INVOICES.c.number,
            _as_text(INVOICES.c.kind),
            _as_date(INVOICES.c.accounting_date, dialect),
            _as_date(INVOICES.c.period_start, dialect),
            _as_date(INVOICES.c.period_end, dialect),
            _as_date(INVOICES.c.due_date, dialect),
            _as_text(INVOICES.c.index_basis),
            _as_text(INVOICES.c.delivery_mode),
            _as_text(INVOICES.c.edition_status),
            _as_text(INVOICES.c.payment_status),
            cancelled.c.number.label("cancels_number"),
            ACCOUNTS.c.number.label("account_number"),
            ACCOUNTS.c.invoice_label,
            MEMBERS.c.legal_name,
            MEMBERS.c.customer_number,
            _as_text(INVOICES.c.energy),
            SITES.c.point_number,
            SITES.c.internal_code,
            SITES.c.designation,
            _as_text(SITES.c.segment),
            SITES.c.city,
            SHARES.c.meter_serial,
            _as_date(SHARES.c.previous_index_on, dialect),
            _as_date(SHARES.c.current_index_on, dialect),
            SHARES.c.consumption_kwh,
            *(
                _in_cents(SHARES.c[billing.PART_COLUMNS[c]], dialect, billing.PART_COLUMNS[c])
                for c in COMPONENTS
            ),
            _in_cents(SHARES.c.total_excl_tax, dialect, "total_excl_tax"),
            _in_cents(SHARES.c.vat_amount, dialect, "vat_amount"),
            _in_cents(SHARES.c.total_incl_tax, dialect, "total_incl_tax"),
            INVOICES.c.id,
            _in_cents(SHARES.c.subscription_amount, dialect, "subscription_amount"),
            _in_cents(SHARES.c.energy_amount, dialect, "energy_amount"),
            _in_cents(SHARES.c.transport_amount, dialect, "transport_amount"),
            _in_cents(SHARES.c.taxes_amount, dialect, "taxes_amount"),
        )
        .join(MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
        .join(SITES, SITES.c.id == SHARES.c.site_id)
        .outerjoin(cancelled, cancelled.c.id == INVOICES.c.cancels_invoice_id)
        .order_by(INVOICES.c.accounting_date, INVOICES.c.id, SITES.c.point_number)
    )
    if query.site_id is not None:
        # The site's own rows: the other sites of its grouped invoices are not its figures.
        statement = statement.where(SHARES.c.site_id == query.site_id)
    return invoices.filtered(statement, perimeter, query)


async def _components(
    session: AsyncSession, ids: list[int], dialect: str
) -> dict[int, dict[InvoiceComponent, int]]:
    """Each invoice's amount per component (VAT aside) in cents, summed over its lines."""
    found: dict[int, dict[InvoiceComponent, int]] = {}
    statement = (
        sa.select(
            LINES.c.invoice_id,
            _as_text(LINES.c.component),
            _in_cents(sa.func.sum(LINES.c.amount), dialect, "amount"),
        )
        .where(LINES.c.invoice_id.in_(ids), LINES.c.component != InvoiceComponent.VAT)
        .group_by(LINES.c.invoice_id, LINES.c.component)
    )
    for invoice_id, component, amount in await core(session, statement):
        found.setdefault(invoice_id, {})[InvoiceComponent(component)] = amount
    return found


# Where a row's values sit: the file's columns first, then the invoice and family amounts.
_SHOWN = len(COLUMNS)
_FIRST_PART = next(i for i, c in enumerate(COLUMNS) if c.kind is K.MONEY_CENTS)
_INVOICE_ID = _SHOWN
_FAMILY_AMOUNTS = slice(_SHOWN + 1, _SHOWN + 5)
_AS_SHOWN = operator.itemgetter(slice(0, _SHOWN))
# The splitter's components (CHARGE_COMPONENTS order) in the file's order.
_IN_FILE_ORDER = operator.itemgetter(*(billing.CHARGE_COMPONENTS.index(c) for c in COMPONENTS))


def _file_rows(
    rows: list[Any], components: dict[int, dict[InvoiceComponent, int]] | None
) -> list[tuple[Any, ...]]:
    """The rows as the file shows them; a row without stored parts gets its split
    (`components`: the lines' amounts of those rows' invoices; None when there are none)."""
    if components is None:  # every row has its parts: the file's columns as read (in C)
        return list(map(_AS_SHOWN, rows))
    out = []
    split = None
    current = None
    for r in rows:
        if r[_FIRST_PART] is not None:
            out.append(_AS_SHOWN(r))
            continue
        if r[_INVOICE_ID] != current:  # rows come invoice by invoice: one splitter each
            current = r[_INVOICE_ID]
            split = billing.site_cents_splitter(components.get(current, {}))
        assert split is not None
        parts = _IN_FILE_ORDER(split(r[_FAMILY_AMOUNTS]))
        out.append((*r[:_FIRST_PART], *parts, *r[_FIRST_PART + len(COMPONENTS) : _SHOWN]))
    return out


async def export_billing_file(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    perimeter: Perimeter,
    query: InvoiceQuery,
    *,
    file_format: FileFormat,
    today: Any,
    check_period: bool = True,
) -> ExportedFile:
    """The billing file of the filter's invoices (on one site: that site's rows only)."""
    if check_period:
        query = invoices.bounded(query, today=today, max_months=billing.MAX_SEARCH_MONTHS)
    invoice_count = 0
    if not perimeter.is_empty:
        async with sessions() as session:
            ids = invoices.filtered(scoped_invoices(perimeter, INVOICES.c.id), perimeter, query)
            invoice_count = (
                await core(session, sa.select(sa.func.count()).select_from(ids.subquery()))
            ).scalar_one()
    if not invoice_count:
        raise Refusal(
            ErrorCode.NOT_FOUND, "Aucune facture ne correspond au filtre.", field="filter"
        )

    async def chunks() -> AsyncIterator[list[Any]]:
        # Two sessions: one streams the rows, the other reads each partition's components.
        async with sessions() as reading, sessions() as lines:
            connection = await reading.connection()
            dialect = connection.dialect.name
            result = await connection.stream(
                _rows_statement(perimeter, query, dialect).execution_options(
                    yield_per=PARTITION_ROWS
                )
            )
            async for partition in result.partitions(PARTITION_ROWS):
                rows = list(partition)
                # Only rows written before the parts were stored need the invoice's lines.
                unsplit = sorted({r[_INVOICE_ID] for r in rows if r[_FIRST_PART] is None})
                components = await _components(lines, unsplit, dialect) if unsplit else None
                yield _file_rows(rows, components)

    table = Table("fichier-de-facturation", "Factures", COLUMNS, chunks())
    exported = await write_export(settings, table, file_format, today=today)
    return ExportedFile(exported.file_key, invoice_count, exported.row_count)
