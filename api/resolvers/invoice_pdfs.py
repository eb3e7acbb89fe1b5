"""Invoice PDFs: each invoice's PDF (the billing system's, or rendered once and kept) and the
zip of the PDFs of a filter.

Everything is written under `settings.files_dir` and handed back as a file key; the schema
signs it (api/graphql/downloads.py). Files are written to a temporary name and renamed, so a
reader (or a second API worker rendering the same invoice) never sees half a file. The zip
takes one PDF at a time.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import invoices
from api.resolvers.export_files import new_export_path
from api.resolvers.invoices import InvoiceDetail, InvoiceQuery
from comptoir.settings import Settings
from db.core import INVOICES, core
from db.scoped import Perimeter, scoped_invoices
from documents.invoice_pdf import InvoicePdfData, PdfLine, PdfSite, indexes_text
from documents.invoice_pdf import render_invoice_pdf as render_pdf
from domain import billing
from domain.enums import InvoiceComponent
from domain.errors import ErrorCode, Refusal

PDF_BATCH = 50


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
                scoped_invoices(
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
