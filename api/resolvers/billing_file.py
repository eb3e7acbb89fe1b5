"""The billing file ("Direct View"): one row per invoice and site with every billed
component, CSV or XLSX, written a chunk of invoices at a time (xlsxwriter in constant-memory
mode), so memory stays flat at 160,000 rows.
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import invoices
from api.resolvers.export_files import new_export_path
from api.resolvers.invoice_pdfs import ExportedFile
from api.resolvers.invoices import InvoiceQuery
from comptoir.settings import Settings
from db.core import ACCOUNTS, INVOICES, LINES, MEMBERS, SHARES, SITES, core
from db.scoped import Perimeter, scoped_invoice_sites
from domain import billing
from domain.enums import InvoiceComponent
from domain.errors import ErrorCode, Refusal

FILE_CHUNK = 500


class BillingFileFormat(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


COMPONENT_COLUMNS = [
    (InvoiceComponent.SUBSCRIPTION, "Abonnement HT"),
    (InvoiceComponent.ENERGY, "Fourniture HT"),
    (InvoiceComponent.CAPACITY, "Capacité HT"),
    (InvoiceComponent.ENERGY_SAVING_CERTIFICATES, "CEE HT"),
    (InvoiceComponent.REGULARISATION, "Régularisation HT"),
    (InvoiceComponent.TRANSPORT, "Acheminement HT (TURPE/ATRD/ATRT)"),
    (InvoiceComponent.CTA, "CTA"),
    (InvoiceComponent.EXCISE, "Accise"),
    (InvoiceComponent.LOCAL_TAX, "Taxes locales"),
]
HEADERS = [
    "N° facture",
    "Type",
    "Date comptable",
    "Début de période",
    "Fin de période",
    "Échéance",
    "Index",
    "Mode d'envoi",
    "Statut d'édition",
    "Statut de paiement",
    "Facture annulée",
    "Compte de contrat",
    "Libellé de facture",
    "Raison sociale",
    "N° client",
    "Énergie",
    "PRM/PCE",
    "Code interne",
    "Désignation",
    "Segment",
    "Commune",
    "Compteur",
    "Date index précédent",
    "Date index actuel",
    "Consommation (kWh)",
    *(label for _, label in COMPONENT_COLUMNS),
    "Total HT",
    "TVA",
    "Total TTC",
]
_MONEY_FROM = HEADERS.index("Abonnement HT")
KIND_LABELS = {"INVOICE": "Facture", "CANCELLATION": "Annulation", "CREDIT_NOTE": "Avoir"}


async def _file_chunk(
    session: AsyncSession, perimeter: Perimeter, ids: Sequence[int]
) -> list[list[Any]]:
    """The rows of a chunk of invoices: one per invoice and site, every component."""
    cancelled = sa.alias(INVOICES, "cancelled")
    rows = (
        await core(
            session,
            scoped_invoice_sites(
                perimeter,
                INVOICES.c.id,
                INVOICES.c.number,
                INVOICES.c.kind,
                INVOICES.c.accounting_date,
                INVOICES.c.period_start,
                INVOICES.c.period_end,
                INVOICES.c.due_date,
                INVOICES.c.index_basis.label("invoice_basis"),
                INVOICES.c.delivery_mode,
                INVOICES.c.edition_status,
                INVOICES.c.payment_status,
                cancelled.c.number.label("cancels_number"),
                ACCOUNTS.c.number.label("account_number"),
                ACCOUNTS.c.invoice_label,
                MEMBERS.c.legal_name,
                MEMBERS.c.customer_number,
                INVOICES.c.energy,
                SITES.c.point_number,
                SITES.c.internal_code,
                SITES.c.designation,
                SITES.c.segment,
                SITES.c.city,
                SHARES.c.meter_serial,
                SHARES.c.previous_index_on,
                SHARES.c.current_index_on,
                SHARES.c.consumption_kwh,
                SHARES.c.subscription_amount,
                SHARES.c.energy_amount,
                SHARES.c.transport_amount,
                SHARES.c.taxes_amount,
                SHARES.c.total_excl_tax,
                SHARES.c.vat_amount,
                SHARES.c.total_incl_tax,
            )
            .join(MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id)
            .join(SITES, SITES.c.id == SHARES.c.site_id)
            .outerjoin(cancelled, cancelled.c.id == INVOICES.c.cancels_invoice_id)
            .where(INVOICES.c.id.in_(list(ids)))
            .order_by(INVOICES.c.accounting_date, INVOICES.c.id, SITES.c.point_number),
        )
    ).all()
    components: dict[int, dict[InvoiceComponent, Decimal]] = defaultdict(dict)
    sums = await core(
        session,
        sa.select(LINES.c.invoice_id, LINES.c.component, sa.func.sum(LINES.c.amount))
        .where(LINES.c.invoice_id.in_(list(ids)), LINES.c.component != InvoiceComponent.VAT)
        .group_by(LINES.c.invoice_id, LINES.c.component),
    )
    for invoice_id, component, amount in sums:
        components[invoice_id][InvoiceComponent(component)] = amount
    out = []
    for r in rows:
        split = billing.split_site_components(
            {
                "subscription": r.subscription_amount,
                "energy": r.energy_amount,
                "transport": r.transport_amount,
                "taxes": r.taxes_amount,
            },
            components.get(r.id, {}),
        )
        out.append(
            [
                r.number,
                KIND_LABELS.get(str(r.kind), str(r.kind)),
                r.accounting_date,
                r.period_start,
                r.period_end,
                r.due_date,
                "Réel" if str(r.invoice_basis) == "ACTUAL" else "Estimé",
                str(r.delivery_mode),
                str(r.edition_status),
                str(r.payment_status),
                r.cancels_number or "",
                r.account_number,
                r.invoice_label,
                r.legal_name,
                r.customer_number,
                str(r.energy),
                r.point_number,
                r.internal_code or "",
                r.designation or "",
                str(r.segment),
                r.city,
                r.meter_serial or "",
                r.previous_index_on,
                r.current_index_on,
                r.consumption_kwh,
                *(split[c] for c, _ in COMPONENT_COLUMNS),
                r.total_excl_tax,
                r.vat_amount,
                r.total_incl_tax,
            ]
        )
    return out


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


class _CsvSink:
    def __init__(self, path: Path) -> None:
        # UTF-8 with a BOM and ";": what French Excel opens without an import wizard.
        self.handle = path.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle, delimiter=";")
        self.writer.writerow(HEADERS)

    def write(self, rows: list[list[Any]]) -> None:
        self.writer.writerows([[_csv_value(v) for v in row] for row in rows])

    def close(self) -> None:
        self.handle.close()


class _XlsxSink:
    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self.sheet = self.book.add_worksheet("Factures")
        bold = self.book.add_format({"bold": True})
        self.money = self.book.add_format({"num_format": "#,##0.00"})
        self.day = self.book.add_format({"num_format": "dd/mm/yyyy"})
        self.sheet.write_row(0, 0, HEADERS, bold)
        self.sheet.freeze_panes(1, 1)
        self.row = 1

    def write(self, rows: list[list[Any]]) -> None:
        sheet = self.sheet
        for values in rows:
            for col, value in enumerate(values):
                if value is None or value == "":
                    continue
                if isinstance(value, Decimal):
                    # xlsxwriter prints it with Decimal's own formatting: exact digits.
                    sheet.write_number(self.row, col, value, self.money)  # type: ignore[arg-type]
                elif isinstance(value, int):
                    sheet.write_number(self.row, col, value)
                elif hasattr(value, "strftime"):
                    sheet.write_datetime(self.row, col, value, self.day)
                else:
                    sheet.write_string(self.row, col, value)
            self.row += 1

    def close(self) -> None:
        self.book.close()


async def export_billing_file(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    perimeter: Perimeter,
    query: InvoiceQuery,
    *,
    file_format: BillingFileFormat,
    today: Any,
    check_period: bool = True,
) -> ExportedFile:
    """The billing file of the filter's invoices, written a chunk of invoices at a time."""
    if check_period:
        query = invoices.bounded(query, today=today, max_months=billing.MAX_SEARCH_MONTHS)
    async with sessions() as session:
        ids = (
            await invoices.ordered_ids(session, perimeter, query) if not perimeter.is_empty else []
        )
    if not ids:
        raise Refusal(
            ErrorCode.NOT_FOUND, "Aucune facture ne correspond au filtre.", field="filter"
        )
    suffix = "csv" if file_format is BillingFileFormat.CSV else "xlsx"
    key, path = new_export_path(settings, f"fichier-de-facturation.{suffix}")
    temporary = path.with_name(f".{path.name}.tmp")
    sink: _CsvSink | _XlsxSink = (
        _CsvSink(temporary) if file_format is BillingFileFormat.CSV else _XlsxSink(temporary)
    )
    count = 0
    try:
        for start in range(0, len(ids), FILE_CHUNK):
            async with sessions() as session:
                rows = await _file_chunk(session, perimeter, ids[start : start + FILE_CHUNK])
            # Writing is CPU work: off the event loop, so other requests keep being served.
            await asyncio.to_thread(sink.write, rows)
            count += len(rows)
    finally:
        await asyncio.to_thread(sink.close)
    os.replace(temporary, path)
    return ExportedFile(key, len(ids), count)
