"""The account statement ("relevé de compte") of a billing account or of a member over a
period: every invoice, credit note and cancellation with its payment status and the running
balance (`domain.account_statement`), as a PDF (documents/statement_pdf.py) or as CSV/XLSX
through the one table writer (documents/tables.py).

Two ways in:
- `export_account_statement`: an ADMIN or USER downloads it directly; the account or member
  must be one the caller holds whole (`db.scoped.scoped_held_billing_accounts` /
  `scoped_held_members`), anything else is NOT_FOUND, and the documents are read through
  `scoped_invoices`. The file goes to a folder of its own under exports/ (purged after an
  hour; the signed URL lives minutes).
- `produce_request_statement`: the back office approves a "request an account statement"
  self-care request; the statement of the request's object and period is written in the
  approval's transaction, in the three formats, under `statements/<reference>.<ext>`, where
  the request's `statement` field signs it for whoever sees the request.

Three statements whatever the size: the header (member, group, account), the contacts, and
the documents.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.export_files import WrittenExport, new_export_path
from api.resolvers.invoice_pdfs import _supplier
from auth.caller import Caller
from auth.permissions import user_members
from comptoir.settings import Settings
from db.core import ACCOUNTS, GROUPS, INVOICES, MEMBERS, core, core_rows
from db.models import BillingAccount, Member
from db.scoped import (
    Perimeter,
    scoped_held_billing_accounts,
    scoped_held_members,
    scoped_invoices,
)
from documents.statement_pdf import StatementPdfData, render_statement_pdf
from documents.tables import Column, FileFormat, Table, write_table
from documents.tables import ColumnKind as K
from domain.account_statement import StatementDocument, entries, totals
from domain.errors import ErrorCode, Refusal, not_found
from domain.labels import INVOICE_KIND_LABELS, PAYMENT_STATUS_LABELS
from domain.self_care_requests import STATEMENT_MAX_DAYS
from mailers import contacts


class StatementFormat(StrEnum):
    PDF = "PDF"
    CSV = "CSV"
    XLSX = "XLSX"


STATEMENTS_DIR = "statements"

COLUMNS: tuple[Column, ...] = (
    Column("Date comptable", K.DATE),
    Column("N° document", K.IDENTIFIER, 17),
    Column("Type", K.LABEL, 20, INVOICE_KIND_LABELS),
    Column("Annule la facture", K.IDENTIFIER, 17),
    Column("Compte de contrat", K.IDENTIFIER, 16),
    Column("Libellé de facture", K.TEXT, 30),
    Column("Début de période", K.DATE),
    Column("Fin de période", K.DATE),
    Column("Échéance", K.DATE),
    Column("Statut de paiement", K.LABEL, 20, PAYMENT_STATUS_LABELS),
    Column("Total HT", K.MONEY),
    Column("TVA", K.MONEY),
    Column("Total TTC", K.MONEY),
    Column("Débit", K.MONEY),
    Column("Crédit", K.MONEY),
    Column("Solde cumulé", K.MONEY),
)


@dataclass(frozen=True, slots=True)
class StatementTarget:
    """A billing account (`billing_account_id`) or a member (all its accounts), a period."""

    member_id: int | None
    billing_account_id: int | None
    start: date
    end: date


def own_member(caller: Caller) -> int:
    """The member a statement names implicitly: the caller's, when it holds exactly one (as
    for a self-care request); REQUIRED otherwise."""
    members = user_members(caller)
    if len(members) != 1:
        raise Refusal(
            ErrorCode.REQUIRED, "Précisez l'adhérent concerné (memberId).", field="memberId"
        )
    return next(iter(members))


def check_target(target: StatementTarget) -> None:
    if (target.member_id is None) == (target.billing_account_id is None):
        raise Refusal(
            ErrorCode.REQUIRED,
            "Précisez un compte de facturation ou un adhérent (l'un ou l'autre).",
            field="billingAccountId",
        )
    if target.end < target.start:
        raise Refusal(ErrorCode.INVALID, "La fin de la période précède son début.", field="to")
    if (target.end - target.start).days > STATEMENT_MAX_DAYS:
        raise Refusal(ErrorCode.INVALID, "Trois ans au plus par relevé.", field="to")


def statement_keys(reference: str) -> dict[StatementFormat, str]:
    """Where a self-care request's statement is kept, per format."""
    return {f: f"{STATEMENTS_DIR}/{reference}.{f.value.lower()}" for f in StatementFormat}


def stored_statement_keys(settings: Settings, reference: str) -> dict[StatementFormat, str]:
    """The request's statement files that exist on disk."""
    root = settings.files_dir
    return {f: k for f, k in statement_keys(reference).items() if (root / k).is_file()}


# -- reading ---------------------------------------------------------------------------------


async def _documents(
    session: AsyncSession, perimeter: Perimeter | None, target: StatementTarget
) -> list[StatementDocument]:
    """The documents of the target dated in the period, in accounting order. The perimeter's
    filter is in the SQL when there is one (the back office, approving a request, reads the
    request's own object)."""
    cancelled = sa.alias(INVOICES, "cancelled")
    columns = (
        INVOICES.c.number,
        INVOICES.c.kind,
        INVOICES.c.accounting_date,
        INVOICES.c.period_start,
        INVOICES.c.period_end,
        INVOICES.c.due_date,
        INVOICES.c.payment_status,
        ACCOUNTS.c.number.label("account_number"),
        ACCOUNTS.c.invoice_label,
        cancelled.c.number.label("cancels_number"),
        INVOICES.c.total_excl_tax,
        (INVOICES.c.vat_reduced + INVOICES.c.vat_standard).label("vat"),
        INVOICES.c.total_incl_tax,
    )
    statement = (
        scoped_invoices(perimeter, *columns)
        if perimeter is not None
        else sa.select(*columns).select_from(
            INVOICES.join(ACCOUNTS, ACCOUNTS.c.id == INVOICES.c.billing_account_id)
        )
    )
    owner = (
        ACCOUNTS.c.id == target.billing_account_id
        if target.billing_account_id is not None
        else ACCOUNTS.c.member_id == target.member_id
    )
    statement = (
        statement.outerjoin(cancelled, cancelled.c.id == INVOICES.c.cancels_invoice_id)
        .where(
            owner,
            INVOICES.c.accounting_date >= target.start,
            INVOICES.c.accounting_date <= target.end,
        )
        .order_by(INVOICES.c.accounting_date, INVOICES.c.id)
    )
    return [
        StatementDocument(
            number=r.number,
            kind=str(r.kind),
            accounting_date=r.accounting_date,
            period_start=r.period_start,
            period_end=r.period_end,
            due_date=r.due_date,
            payment_status=str(r.payment_status),
            billing_account_number=r.account_number,
            invoice_label=r.invoice_label,
            cancels_number=r.cancels_number,
            total_excl_tax=r.total_excl_tax,
            vat=r.vat,
            total_incl_tax=r.total_incl_tax,
        )
        for r in await core_rows(session, statement)
    ]


async def statement_data(
    session: AsyncSession,
    settings: Settings,
    perimeter: Perimeter | None,
    target: StatementTarget,
    *,
    reference: str,
    issued_on: date,
) -> StatementPdfData:
    """What the statement shows (the target was checked by the caller)."""
    columns: list[Any] = [
        MEMBERS.c.legal_name,
        MEMBERS.c.customer_number,
        MEMBERS.c.siren,
        MEMBERS.c.street,
        MEMBERS.c.postcode,
        MEMBERS.c.city,
        MEMBERS.c.group_id,
        GROUPS.c.name.label("group_name"),
    ]
    joined: Any = MEMBERS.join(GROUPS, GROUPS.c.id == MEMBERS.c.group_id)
    if target.billing_account_id is not None:
        columns += [
            ACCOUNTS.c.number,
            ACCOUNTS.c.invoice_label,
            ACCOUNTS.c.billing_street,
            ACCOUNTS.c.billing_postcode,
            ACCOUNTS.c.billing_city,
        ]
        joined = joined.join(ACCOUNTS, ACCOUNTS.c.member_id == MEMBERS.c.id)
        where = ACCOUNTS.c.id == target.billing_account_id
    else:
        where = MEMBERS.c.id == target.member_id
    head = (await core(session, sa.select(*columns).select_from(joined).where(where))).one()
    service = (await contacts.for_groups(session, settings, [head.group_id]))[head.group_id]
    listed = entries(await _documents(session, perimeter, target))
    account = target.billing_account_id is not None
    return StatementPdfData(
        supplier=_supplier(settings),
        contact_lines=contacts.contact_lines(service),
        reference=reference,
        group_name=head.group_name,
        legal_name=head.legal_name,
        customer_number=head.customer_number,
        siren=head.siren,
        address=(
            (head.billing_street, head.billing_postcode, head.billing_city)
            if account
            else (head.street, head.postcode, head.city)
        ),
        billing_account_number=head.number if account else None,
        invoice_label=head.invoice_label if account else None,
        period_start=target.start,
        period_end=target.end,
        issued_on=issued_on,
        totals=totals(listed),
        entries=listed,
    )


# -- writing ---------------------------------------------------------------------------------


def _rows(data: StatementPdfData) -> list[tuple[Any, ...]]:
    return [
        (
            (d := e.document).accounting_date,
            d.number,
            d.kind,
            d.cancels_number,
            d.billing_account_number,
            d.invoice_label,
            d.period_start,
            d.period_end,
            d.due_date,
            d.payment_status,
            d.total_excl_tax,
            d.vat,
            d.total_incl_tax,
            e.debit,
            e.credit,
            e.balance,
        )
        for e in data.entries
    ]


async def _write(path: Path, data: StatementPdfData, file_format: StatementFormat) -> int:
    """Writes one format at `path` (complete or not at all); answers the document count."""
    if file_format is StatementFormat.PDF:
        content = await asyncio.to_thread(render_statement_pdf, data)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        await asyncio.to_thread(temporary.write_bytes, content)
        os.replace(temporary, path)
        return len(data.entries)

    async def chunks() -> AsyncIterator[Sequence[Sequence[Any]]]:
        yield _rows(data)

    table = Table("releve-de-compte", "Relevé de compte", COLUMNS, chunks())
    return await write_table(path, table, FileFormat(file_format.value))


def _stem(data: StatementPdfData) -> str:
    return f"releve-{data.billing_account_number or data.customer_number}"


async def export_account_statement(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    perimeter: Perimeter,
    target: StatementTarget,
    *,
    file_format: StatementFormat,
    today: date,
) -> WrittenExport:
    """The statement of an account or member the caller holds whole, in one format."""
    check_target(target)
    async with sessions() as session:
        if target.billing_account_id is not None:
            found = (
                await core(
                    session,
                    scoped_held_billing_accounts(perimeter, BillingAccount.id).where(
                        ACCOUNTS.c.id == target.billing_account_id
                    ),
                )
            ).first()
            field = "billingAccountId"
        else:
            found = (
                await core(
                    session,
                    scoped_held_members(perimeter, Member.id).where(
                        MEMBERS.c.id == target.member_id
                    ),
                )
            ).first()
            field = "memberId"
        if found is None:
            raise not_found(field)
        data = await statement_data(
            session, settings, perimeter, target, reference="", issued_on=today
        )
    name = f"{_stem(data)}-{today:%Y%m%d}"
    data.reference = name
    file_key, path = new_export_path(settings, f"{name}.{file_format.value.lower()}")
    try:
        count = await _write(path, data, file_format)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return WrittenExport(file_key, count)


async def produce_request_statement(
    session: AsyncSession,
    settings: Settings,
    *,
    reference: str,
    member_id: int,
    billing_account_id: int | None,
    start: date,
    end: date,
    issued_on: date,
) -> dict[str, Any]:
    """The statement a self-care request asked for, written in every format under
    `statements/<reference>.*` inside the approval's transaction; answers what the audit
    keeps (document count, balance, file keys)."""
    target = StatementTarget(
        member_id=None if billing_account_id is not None else member_id,
        billing_account_id=billing_account_id,
        start=start,
        end=end,
    )
    data = await statement_data(
        session, settings, None, target, reference=reference, issued_on=issued_on
    )
    keys = statement_keys(reference)
    for file_format, key in keys.items():
        path = settings.files_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        await _write(path, data, file_format)
    return {
        "documents": data.totals.documents,
        "balance": str(data.totals.balance),
        "files": sorted(keys.values()),
    }
