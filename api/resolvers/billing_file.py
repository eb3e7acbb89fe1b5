"""The billing file ("Direct View"): one row per invoice and site with every billed
component, CSV or XLSX, written by the one table writer (documents/tables.py).

Rows are read by one statement streamed in partitions (memory stays flat at 160,000 rows)
with each site's share of every component as stored when the invoice was written (rows
written before that are split here from the invoice's lines, one more statement). What
repeats from row to row — an invoice's header on each of its sites' rows, a site's
references on each of its invoices — is read once per partition by id rather than on every
row: the stream carries a third of the values a row-by-row join would (on SQLite, reading
161,562 rows went from 2.4 to 0.9 s of CPU). Coded values go to the writer as codes and come
out with their French labels. A filter naming a
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
    """The file's rows in the file's order, each with its invoice and site ids and its own
    values (`_ROW_VALUES`), then what a row without stored parts needs to be split."""
    statement = (
        scoped_invoice_sites(
            perimeter,
            INVOICES.c.id,
            SHARES.c.site_id,
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
            _in_cents(SHARES.c.subscription_amount, dialect, "subscription_amount"),
            _in_cents(SHARES.c.energy_amount, dialect, "energy_amount"),
            _in_cents(SHARES.c.transport_amount, dialect, "transport_amount"),
            _in_cents(SHARES.c.taxes_amount, dialect, "taxes_amount"),
        )
        .join(SITES, SITES.c.id == SHARES.c.site_id)
        .order_by(INVOICES.c.accounting_date, INVOICES.c.id, SITES.c.point_number)
    )
    if query.site_id is not None:
        # The site's own rows: the other sites of its grouped invoices are not its figures.
        statement = statement.where(SHARES.c.site_id == query.site_id)
    return invoices.filtered(statement, perimeter, query)


def _headers_statement(ids: list[int], dialect: str) -> Any:
    """The invoices' columns of the file (ids read from the scoped rows: no second scope)."""
    cancelled = sa.alias(INVOICES, "cancelled")
    return (
        sa.select(
            INVOICES.c.id,
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
        )
        .join(ACCOUNTS, ACCOUNTS.c.id == INVOICES.c.billing_account_id)
        .join(MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
        .outerjoin(cancelled, cancelled.c.id == INVOICES.c.cancels_invoice_id)
        .where(INVOICES.c.id.in_(ids))
    )


def _sites_statement(ids: list[int]) -> Any:
    """The sites' columns of the file (ids read from the scoped rows: no second scope)."""
    return sa.select(
        SITES.c.id,
        SITES.c.point_number,
        SITES.c.internal_code,
        SITES.c.designation,
        _as_text(SITES.c.segment),
        SITES.c.city,
    ).where(SITES.c.id.in_(ids))


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


# Where a streamed row's values sit: ids, the row's own values as shown (meter, index
# dates, consumption, parts, totals), then the family amounts a row without parts is split
# from.
_INVOICE_ID, _SITE_ID = 0, 1
_ROW_VALUES = slice(2, 18)
_FIRST_PART = 6
_PARTS_IN_ROW = slice(_FIRST_PART - 2, _FIRST_PART - 2 + len(COMPONENTS))  # in _ROW_VALUES
_FAMILY_AMOUNTS = slice(18, 22)
# The splitter's components (CHARGE_COMPONENTS order) in the file's order.
_IN_FILE_ORDER = operator.itemgetter(*(billing.CHARGE_COMPONENTS.index(c) for c in COMPONENTS))
SITES_KEPT = 20_000  # sites' columns kept from one partition to the next


def _file_rows(
    rows: list[Any],
    headers: dict[int, tuple[Any, ...]],
    sites: dict[int, tuple[Any, ...]],
    components: dict[int, dict[InvoiceComponent, int]] | None,
) -> list[tuple[Any, ...]]:
    """The rows as the file shows them: the invoice's header, the site's columns, the row's
    own values; a row without stored parts gets its split (`components`: the lines' amounts
    of those rows' invoices; None when every row has its parts)."""
    if components is None:
        return [headers[r[_INVOICE_ID]] + sites[r[_SITE_ID]] + tuple(r[_ROW_VALUES]) for r in rows]
    out = []
    split = None
    current = None
    for r in rows:
        values = tuple(r[_ROW_VALUES])
        if r[_FIRST_PART] is None:
            if r[_INVOICE_ID] != current:  # rows come invoice by invoice: one splitter each
                current = r[_INVOICE_ID]
                split = billing.site_cents_splitter(components.get(current, {}))
            assert split is not None
            parts = _IN_FILE_ORDER(split(r[_FAMILY_AMOUNTS]))
            values = (*values[: _PARTS_IN_ROW.start], *parts, *values[_PARTS_IN_ROW.stop :])
        out.append(headers[r[_INVOICE_ID]] + sites[r[_SITE_ID]] + values)
    return out


async def _headers(
    session: AsyncSession, rows: list[Any], dialect: str
) -> dict[int, tuple[Any, ...]]:
    ids = sorted({r[_INVOICE_ID] for r in rows})
    found = await core(session, _headers_statement(ids, dialect))
    return {r[0]: tuple(r[1:]) for r in found}


async def _sites(session: AsyncSession, rows: list[Any], kept: dict[int, tuple[Any, ...]]) -> None:
    """Adds the partition's sites not yet kept (memory bounded: `SITES_KEPT` at most)."""
    missing = sorted({r[_SITE_ID] for r in rows} - kept.keys())
    if not missing:
        return
    if len(kept) + len(missing) > SITES_KEPT:
        kept.clear()
        missing = sorted({r[_SITE_ID] for r in rows})
    for r in await core(session, _sites_statement(missing)):
        kept[r[0]] = tuple(r[1:])


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
        # Two sessions: one streams the rows, the other reads each partition's headers,
        # sites and (for rows without stored parts) components.
        async with sessions() as reading, sessions() as lines:
            connection = await reading.connection()
            dialect = connection.dialect.name
            result = await connection.stream(
                _rows_statement(perimeter, query, dialect).execution_options(
                    yield_per=PARTITION_ROWS
                )
            )
            sites: dict[int, tuple[Any, ...]] = {}
            async for partition in result.partitions(PARTITION_ROWS):
                rows = list(partition)
                headers = await _headers(lines, rows, dialect)
                await _sites(lines, rows, sites)
                # Only rows written before the parts were stored need the invoice's lines.
                unsplit = sorted({r[_INVOICE_ID] for r in rows if r[_FIRST_PART] is None})
                components = await _components(lines, unsplit, dialect) if unsplit else None
                yield _file_rows(rows, headers, sites, components)

    table = Table("fichier-de-facturation", "Factures", COLUMNS, chunks())
    exported = await write_export(settings, table, file_format, today=today)
    return ExportedFile(exported.file_key, invoice_count, exported.row_count)
