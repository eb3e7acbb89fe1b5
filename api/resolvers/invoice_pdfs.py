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
from collections import defaultdict
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
from db.core import ACCOUNTS, INVOICES, MEMBERS, METERS, SHARES, SITES, core, core_rows
from db.scoped import Perimeter, scoped_invoices
from documents.invoice_pdf import (
    HISTORY_LENGTH,
    InvoicePdfData,
    PdfConsumption,
    PdfLine,
    PdfRegister,
    PdfSite,
    PdfSupplier,
)
from documents.invoice_pdf import render_invoice_pdf as render_pdf
from domain import billing
from domain.enums import InvoiceKind, Register
from domain.errors import ErrorCode, Refusal
from domain.labels import REGISTER_LABELS
from domain.readings import consumption_between, index_unit
from mailers import contacts

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


def _supplier(settings: Settings) -> PdfSupplier:
    return PdfSupplier(
        name=settings.supplier_name,
        legal_name=settings.supplier_legal_name,
        share_capital=settings.supplier_share_capital,
        address=settings.supplier_address,
        siren=settings.supplier_siren,
        siret=settings.supplier_siret,
        rcs=settings.supplier_rcs,
        vat_number=settings.supplier_vat_number,
    )


async def _contacts_of_invoices(
    session: AsyncSession, settings: Settings, ids: Sequence[int]
) -> dict[int, list[str]]:
    """The customer-service block of each invoice: its group's, as every mail shows it."""
    rows = await core_rows(
        session,
        sa.select(INVOICES.c.id, MEMBERS.c.group_id)
        .select_from(
            INVOICES.join(ACCOUNTS, ACCOUNTS.c.id == INVOICES.c.billing_account_id).join(
                MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id
            )
        )
        .where(INVOICES.c.id.in_(ids)),
    )
    services = await contacts.for_groups(session, settings, [r.group_id for r in rows])
    return {r.id: contacts.contact_lines(services[r.group_id]) for r in rows}


async def _site_rows(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each invoice's per-site rows with what the site section prints: the site's references,
    segment, connection and power, CAR, and the meter the invoice names (its coefficient)."""
    statement = (
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
            SITES.c.tariff_option,
            SITES.c.transport_tariff,
            SITES.c.connection,
            SITES.c.subscribed_power_kva,
            SITES.c.car_kwh,
            METERS.c.kind.label("meter_kind"),
            METERS.c.digits.label("meter_digits"),
            METERS.c.reading_coefficient,
        )
        .select_from(
            SHARES.join(SITES, SITES.c.id == SHARES.c.site_id).outerjoin(
                METERS,
                sa.and_(
                    METERS.c.site_id == SHARES.c.site_id, METERS.c.serial == SHARES.c.meter_serial
                ),
            )
        )
        .where(SHARES.c.invoice_id.in_(ids))
        .order_by(SHARES.c.invoice_id, SITES.c.point_number)
    )
    out: dict[int, list[Any]] = defaultdict(list)
    for row in await core_rows(session, statement):
        out[row.invoice_id].append(row)
    return out


async def _histories(
    session: AsyncSession, ids: Sequence[int]
) -> dict[tuple[int, int], list[PdfConsumption]]:
    """(invoice, site) → the site's last invoiced consumptions up to that invoice, oldest
    first: the invoices (not cancellations or credit notes) of the same billing account."""
    current_share, current = SHARES.alias("current_share"), INVOICES.alias("current")
    past_share, past = SHARES.alias("past_share"), INVOICES.alias("past")
    ranked = (
        sa.select(
            current_share.c.invoice_id,
            current_share.c.site_id,
            past.c.period_start,
            past.c.period_end,
            past_share.c.consumption_kwh,
            past_share.c.index_basis,
            sa.func.row_number()
            .over(
                partition_by=(current_share.c.invoice_id, current_share.c.site_id),
                order_by=(past.c.accounting_date.desc(), past.c.id.desc()),
            )
            .label("rank"),
        )
        .select_from(
            current_share.join(current, current.c.id == current_share.c.invoice_id)
            .join(past_share, past_share.c.site_id == current_share.c.site_id)
            .join(past, past.c.id == past_share.c.invoice_id)
        )
        .where(
            current_share.c.invoice_id.in_(ids),
            past.c.billing_account_id == current.c.billing_account_id,
            past.c.kind == InvoiceKind.INVOICE,
            past.c.accounting_date <= current.c.accounting_date,
        )
        .subquery()
    )
    rows = await core_rows(
        session,
        sa.select(ranked)
        .where(ranked.c.rank <= HISTORY_LENGTH)
        .order_by(ranked.c.invoice_id, ranked.c.site_id, ranked.c.rank.desc()),
    )
    out: dict[tuple[int, int], list[PdfConsumption]] = defaultdict(list)
    for r in rows:
        out[(r.invoice_id, r.site_id)].append(
            PdfConsumption(r.period_start, r.period_end, r.consumption_kwh, str(r.index_basis))
        )
    return out


def _registers(share: Any) -> list[PdfRegister]:
    """Every register the invoice printed, with its consumption in the meter's units (one
    turn of the meter counted when the index went round)."""
    out = []
    for printed in share.register_indexes or []:
        previous, current = printed.get("previous"), printed.get("current")
        consumption = None
        if previous is not None and current is not None:
            step = (
                consumption_between(previous, current, digits=share.meter_digits)
                if share.meter_digits
                else None
            )
            consumption = step.consumption if step else current - previous
        code = str(printed.get("register", ""))
        label = REGISTER_LABELS[Register(code)] if code in Register.__members__ else code
        out.append(PdfRegister(label, previous, current, consumption))
    return out


def _pdf_site(share: Any, history: list[PdfConsumption]) -> PdfSite:
    return PdfSite(
        point_number=share.point_number,
        internal_code=share.internal_code,
        designation=share.designation,
        other_reference=share.other_reference,
        address=f"{share.street}, {share.postcode} {share.city}",
        segment=str(share.segment),
        tariff_option=share.tariff_option,
        transport_tariff=share.transport_tariff,
        connection=share.connection,
        subscribed_power_kva=share.subscribed_power_kva,
        car_kwh=share.car_kwh,
        meter_serial=share.meter_serial,
        reading_coefficient=share.reading_coefficient,
        index_unit=index_unit(share.meter_kind) if share.meter_kind else "",
        index_basis=str(share.index_basis),
        previous_index_on=share.previous_index_on,
        current_index_on=share.current_index_on,
        registers=_registers(share),
        consumption_kwh=share.consumption_kwh,
        subscription_amount=share.subscription_amount,
        energy_amount=share.energy_amount,
        transport_amount=share.transport_amount,
        taxes_amount=share.taxes_amount,
        total_excl_tax=share.total_excl_tax,
        vat_amount=share.vat_amount,
        total_incl_tax=share.total_incl_tax,
        history=history,
    )


async def _pdf_data(
    session: AsyncSession, settings: Settings, perimeter: Perimeter, ids: Sequence[int]
) -> list[InvoicePdfData]:
    """What the PDFs of these invoices print: 7 statements for any number of invoices."""
    headers = await invoices.document_rows(session, perimeter, ids)
    visible = [h.id for h in headers]  # only what the perimeter lets through
    if not visible:
        return []
    details = await invoices.with_levels(
        session, [InvoiceDetail(h) for h in headers], lines=True, sites=False
    )
    cancelled = await invoices.cancelled_numbers(
        session, [h.cancels_invoice_id for h in headers if h.cancels_invoice_id]
    )
    block = await _contacts_of_invoices(session, settings, visible)
    shares = await _site_rows(session, visible)
    histories = await _histories(session, visible)
    supplier = _supplier(settings)
    out = []
    for detail in details:
        h = detail.row
        out.append(
            InvoicePdfData(
                supplier=supplier,
                contact_lines=block[h.id],
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
                        component=str(line.component),
                        vat_base=line.vat_base,
                    )
                    for line in detail.lines or []
                ],
                sites=[
                    _pdf_site(share, histories.get((h.id, share.site_id), []))
                    for share in shares.get(h.id, [])
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


# -- versions kept by a reprint ----------------------------------------------------------------


def version_key(number: str, version: int) -> str:
    """Where a printed version of an invoice is kept (a reprint adds one, never overwrites)."""
    return f"invoices/versions/{re.sub(r'[^A-Za-z0-9_-]', '_', number)}-v{version}.pdf"


def current_pdf(settings: Settings, pdf_key: str | None, number: str) -> Path | None:
    """The invoice's PDF as customers get it today: the billing system's, else the rendering
    kept; None when neither was ever made."""
    return _stored(settings, pdf_key) or _stored(settings, rendered_key(number))


async def write_version(
    session: AsyncSession,
    settings: Settings,
    *,
    invoice_id: int,
    billing_account_id: int,
    number: str,
    version: int,
    copy_of: Path | None = None,
) -> str:
    """Writes version `version` of an invoice's PDF and answers its key: a copy of `copy_of`,
    or a rendering of the invoice's data as this session sees it (changes flushed inside the
    caller's transaction included). The perimeter is the invoice's own account: the back
    office renders for the customer who will read it."""
    key = version_key(number, version)
    path = settings.files_dir / key
    if copy_of is not None:
        content = await asyncio.to_thread(copy_of.read_bytes)
    else:
        perimeter = Perimeter(billing_account_ids=frozenset({billing_account_id}))
        [data] = await _pdf_data(session, settings, perimeter, [invoice_id])
        content = await asyncio.to_thread(render_pdf, data)
    await asyncio.to_thread(_write_atomic, path, content)
    return key


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
                numbers: dict[int, str] = dict(
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
