"""Invoice files: each invoice's PDF (stored, or rendered once and kept), the zip of the PDFs
of a filter, and the billing file ("Direct View", CSV or XLSX).

Everything is written under `settings.files_dir` and handed back as a file key; the schema
signs it (api/files.py). Files are written to a temporary name and renamed, so a reader (or
a second API worker rendering the same invoice) never sees half a file. Large outputs are
streamed: the zip takes one PDF at a time, the billing file a chunk of invoices at a time
(xlsxwriter in constant-memory mode).
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import secrets
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import invoices
from api.resolvers.errors import ErrorCode, Refusal
from api.resolvers.export_files import new_export_path
from api.resolvers.invoices import (
    INVOICES,
    LINES,
    SHARES,
    SITES,
    InvoiceDetail,
    InvoiceQuery,
    core,
)
from comptoir.settings import Settings
from db.models import Member
from db.scoped import Perimeter, billing_account_in
from documents.invoice_pdf import InvoicePdfData, PdfLine, PdfSite, indexes_text
from documents.invoice_pdf import render_invoice_pdf as render_pdf
from domain import billing
from domain.enums import InvoiceComponent

PDF_BATCH = 50
FILE_CHUNK = 500


class BillingFileFormat(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


@dataclass(frozen=True, slots=True)
class ExportedFile:
    file_key: str
    invoice_count: int
    row_count: int


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def rendered_key(number: str) -> str:
    return f"invoices/rendered/{re.sub(r'[^A-Za-z0-9_-]', '_', number)}.pdf"


def _stored(settings: Settings, key: str | None) -> Path | None:
    if not key:
        return None
    root = settings.files_dir.resolve()
    path = (root / key).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


# -- one invoice's PDF -----------------------------------------------------------------------


async def _pdf_data(
    session: AsyncSession, settings: Settings, perimeter: Perimeter, ids: Sequence[int]
) -> list[InvoicePdfData]:
    """What the PDFs of these invoices print: 3 statements for any number of invoices."""
    headers = await invoices.document_rows(session, perimeter, ids)
    details = await invoices.with_levels(
        session, [InvoiceDetail(h) for h in headers], lines=True, sites=True
    )
    cancelled = await invoices.cancelled_numbers(
        session, [h.cancels_invoice_id for h in headers if h.cancels_invoice_id]
    )
    service = (
        f"{settings.customer_service_name} : {settings.customer_service_phone}, "
        f"{settings.customer_service_email} ({settings.customer_service_hours})"
    )
    out = []
    for detail in details:
        h = detail.row
        out.append(
            InvoicePdfData(
                supplier_name=settings.supplier_name,
                customer_service=service,
                number=h.number,
                kind=str(h.kind),
                energy=str(h.energy),
                accounting_date=h.accounting_date,
                period_start=h.period_start,
                period_end=h.period_end,
                due_date=h.due_date,
                index_basis=str(h.index_basis),
                consumption_kwh=h.consumption_kwh,
                total_excl_tax=h.total_excl_tax,
                vat_reduced=h.vat_reduced,
                vat_standard=h.vat_standard,
                total_incl_tax=h.total_incl_tax,
                group_name=h.group_name,
                legal_name=h.legal_name,
                customer_number=h.customer_number,
                siren=h.siren,
                recipient_siret=h.recipient_siret,
                billing_account_number=h.billing_account_number,
                invoice_label=h.invoice_label,
                billing_address=(h.billing_street, h.billing_postcode, h.billing_city),
                payment_method=str(h.payment_method),
                chorus_service_code=h.chorus_service_code,
                chorus_commitment_number=h.chorus_commitment_number,
                cancels_number=cancelled.get(h.cancels_invoice_id),
                lines=[
                    PdfLine(
                        label=line.label,
                        quantity=line.quantity,
                        unit=line.unit,
                        unit_price=line.unit_price,
                        vat_rate=line.vat_rate,
                        amount=line.amount,
                        is_vat=str(line.component) == InvoiceComponent.VAT,
                        vat_base=line.vat_base,
                    )
                    for line in detail.lines or []
                ],
                sites=[
                    PdfSite(
                        point_number=s.point_number,
                        internal_code=s.internal_code,
                        designation=s.designation,
                        address=f"{s.street}, {s.postcode} {s.city}",
                        segment=str(s.segment),
                        meter_serial=s.meter_serial,
                        indexes=indexes_text(s.register_indexes or []),
                        consumption_kwh=s.consumption_kwh,
                        total_excl_tax=s.total_excl_tax,
                        vat_amount=s.vat_amount,
                        total_incl_tax=s.total_incl_tax,
                    )
                    for s in detail.sites or []
                ],
            )
        )
    return out


def _render_to_disk(settings: Settings, data: InvoicePdfData) -> str:
    key = rendered_key(data.number)
    _write_atomic(settings.files_dir / key, render_pdf(data))
    return key


async def ensure_pdfs(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    perimeter: Perimeter,
    ids: Sequence[int],
) -> dict[int, str]:
    """The file key of each invoice's PDF (id → key), for invoices inside the perimeter:
    the billing system's file when there is one, else a rendering made once and kept."""
    wanted = sorted(set(ids))
    if not wanted or perimeter.is_empty:
        return {}
    async with sessions() as session:
        rows = (
            await core(
                session,
                invoices.scoped_invoices(
                    perimeter, INVOICES.c.id, INVOICES.c.number, INVOICES.c.pdf_key
                ).where(INVOICES.c.id.in_(wanted)),
            )
        ).all()
        keys: dict[int, str] = {}
        missing: list[int] = []
        for row in rows:
            if _stored(settings, row.pdf_key):
                keys[row.id] = row.pdf_key
            elif _stored(settings, rendered_key(row.number)):
                keys[row.id] = rendered_key(row.number)
            else:
                missing.append(row.id)
        data = await _pdf_data(session, settings, perimeter, missing) if missing else []
    by_number = {row.number: row.id for row in rows}
    for item in data:
        keys[by_number[item.number]] = await asyncio.to_thread(_render_to_disk, settings, item)
    return keys


# -- the zip of PDFs -------------------------------------------------------------------------


async def export_pdf_zip(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    perimeter: Perimeter,
    query: InvoiceQuery,
    *,
    today: Any,
    limit: int = billing.MAX_PDF_EXPORT,
) -> ExportedFile:
    """A zip of the PDFs of the filter's invoices (at most `limit`), one PDF in memory at a
    time: stored or cached files are copied from disk, missing ones rendered and kept."""
    query = invoices.bounded(query, today=today, max_months=billing.MAX_SEARCH_MONTHS)
    async with sessions() as session:
        ids = await invoices.ordered_ids(session, perimeter, query, limit=limit + 1)
    if len(ids) > limit:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"Plus de {limit} factures correspondent : affinez le filtre (période, compte, "
            f"site) pour en exporter au plus {limit} à la fois.",
            field="filter",
        )
    if not ids:
        raise Refusal(
            ErrorCode.NOT_FOUND, "Aucune facture ne correspond au filtre.", field="filter"
        )
    key, path = new_export_path(settings, "factures.zip")
    temporary = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for start in range(0, len(ids), PDF_BATCH):
            batch = ids[start : start + PDF_BATCH]
            keys = await ensure_pdfs(sessions, settings, perimeter, batch)
            async with sessions() as session:
                numbers = dict(
                    (
                        await core(
                            session,
                            sa.select(INVOICES.c.id, INVOICES.c.number).where(
                                INVOICES.c.id.in_(batch)
                            ),
                        )
                    ).all()
                )
            await asyncio.to_thread(_add_to_zip, archive, settings, batch, keys, numbers)
    os.replace(temporary, path)
    return ExportedFile(key, len(ids), len(ids))


def _add_to_zip(
    archive: zipfile.ZipFile,
    settings: Settings,
    ids: Sequence[int],
    keys: dict[int, str],
    numbers: dict[int, str],
) -> None:
    for invoice_id in ids:
        stored = _stored(settings, keys.get(invoice_id))
        if stored is not None:
            archive.write(stored, arcname=f"{numbers[invoice_id]}.pdf")


# -- the billing file ------------------------------------------------------------------------

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
    members = Member.__table__  # type: ignore[attr-defined]
    accounts = invoices.ACCOUNTS
    cancelled = sa.alias(INVOICES, "cancelled")
    rows = (
        await core(
            session,
            sa.select(
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
                accounts.c.number.label("account_number"),
                accounts.c.invoice_label,
                members.c.legal_name,
                members.c.customer_number,
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
            .select_from(
                INVOICES.join(accounts, accounts.c.id == INVOICES.c.billing_account_id)
                .join(members, members.c.id == accounts.c.member_id)
                .join(SHARES, SHARES.c.invoice_id == INVOICES.c.id)
                .join(SITES, SITES.c.id == SHARES.c.site_id)
                .outerjoin(cancelled, cancelled.c.id == INVOICES.c.cancels_invoice_id)
            )
            .where(
                billing_account_in(perimeter, accounts.c.id, accounts.c.member_id),
                INVOICES.c.id.in_(list(ids)),
            )
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
