"""Invoice disputes as members file and follow them, and as the back office settles them.

- `contest_invoice`: on an invoice of the caller's write perimeter (an INVOICE, not a
  cancellation or one already cancelled); a reason of `domain.invoice_disputes.REASONS`, a
  comment, the sites concerned on a grouped invoice, the figures the reason needs (the index
  the customer reads, with an optional photo; the expected Chorus references; the expected
  SIRET), optional documents. A second open dispute on the invoice is ALREADY_EXISTS naming the
  first (and the database's partial unique index says the same to two contests at once).
  Stored with its first event, its files, an audit entry and the author's mail, in one
  transaction; a failure removes the files written.
- `advance_invoice_dispute` (OPERATOR): RECEIVED → IN_ANALYSIS (a distributor claim number
  lengthens the promised delay) → RESOLVED by the reason's correction | REJECTED. A REPRINT
  corrects the billing account's Chorus references and prints the invoice again under the same
  number, keeping the earlier PDF beside the new one; a CANCELLATION_AND_REISSUE links the
  cancellation invoice and the new invoice (issued by the billing system) to the dispute,
  refusing a new invoice that charges more for a period beyond the customer's limit.
- Lists (keyset pages), single disputes, the counts by reason and the export: every statement
  starts from `db.scoped.scoped_invoice_disputes`.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import invoice_pdfs
from api.resolvers.export_files import streamed_rows
from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.keyset_pages import EMPTY_PAGE, RowPage, fetch_page, keyset_page, rows_by_id
from api.resolvers.portfolio import SiteCriteria
from api.resolvers.stored_files import StoredFile, discard_all, store_attachment
from api.resolvers.technical_requests import (
    attachments_of_requests,
    decode_keyset,
    paris_midnight,
    step_events,
)
from api.resolvers.writable import object_to_change, require_writing_credential
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import ACCOUNTS, INVOICES, MEMBERS, SHARES, SITES, core, core_rows, table_of
from db.engine import transaction
from db.models import (
    BillingAccount,
    Invoice,
    InvoiceDispute,
    InvoiceDisputeAttachment,
    InvoiceDisputeEvent,
    InvoicePdfVersion,
    User,
)
from db.models.base import persisted_id
from db.scoped import Perimeter, scoped_invoice_disputes, scoped_invoices
from documents.tables import Column, ColumnKind, Table
from domain.calendar import paris_date
from domain.enums import (
    CustomerCategory,
    DisputeCorrection,
    DisputeReason,
    DisputeStatus,
    EditionStatus,
    InvoiceKind,
    PaymentStatus,
    Register,
)
from domain.errors import ErrorCode, Refusal, Refusals, not_found
from domain.identifiers import is_valid_siret
from domain.invoice_disputes import (
    CHORUS_STATUS_LABELS,
    CORRECTION_LABELS,
    MAX_ATTACHMENTS,
    MAX_INDEX,
    MAX_SITES,
    OPEN_STATUSES,
    REASON_LABELS,
    REASONS,
    STATUS_LABELS,
    check_claim_number,
    check_resolution,
    check_transition,
    due_on,
    is_overdue,
    reference_number,
    reissue_reaches_too_far,
    too_far_message,
)
from domain.labels import REGISTER_LABELS
from domain.request_workflow import clean_note
from domain.self_care_requests import COMMITMENT_LIMIT, SERVICE_CODE_LIMIT, Checker
from mailers import contacts
from mailers.mails import InvoiceDisputeMail, queue_invoice_dispute_mail

DISPUTES = table_of(InvoiceDispute)
EVENTS = table_of(InvoiceDisputeEvent)
ATTACHMENTS = table_of(InvoiceDisputeAttachment)
VERSIONS = table_of(InvoicePdfVersion)
_AUTHOR = table_of(User).alias("author")
_DISPUTED = INVOICES.alias("disputed")
_CANCELLATION = INVOICES.alias("cancellation")
_REISSUED = INVOICES.alias("reissued")

ROW_COLUMNS = (
    *DISPUTES.c,
    _DISPUTED.c.number.label("invoice_number"),
    _DISPUTED.c.total_incl_tax.label("invoice_total_incl_tax"),
    MEMBERS.c.legal_name.label("member_legal_name"),
    ACCOUNTS.c.number.label("billing_account_number"),
    _AUTHOR.c.full_name.label("author_name"),
    _CANCELLATION.c.number.label("cancellation_invoice_number"),
    _REISSUED.c.number.label("reissued_invoice_number"),
)
READ_ONLY_INVOICE = "Votre habilitation permet de consulter cette facture, pas de la contester."


# -- what the form carries ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisputedIndex:
    """The index the customer reads on the meter, for a disputed index."""

    value: int
    site_id: int | None = None  # required on a grouped invoice
    register: Register | None = None
    read_on: date | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str | None
    content: bytes  # at most max_attachment_bytes + 1


@dataclass(frozen=True, slots=True)
class Contest:
    invoice_id: int
    reason: DisputeReason
    comment: str | None
    site_ids: tuple[int, ...] = ()
    index: DisputedIndex | None = None
    service_code: str | None = None
    commitment_number: str | None = None
    expected_siret: str | None = None
    photo: Upload | None = None
    attachments: tuple[Upload, ...] = field(default_factory=tuple)


def _invoice_rows(perimeter: Perimeter, *columns: Any) -> Any:
    """The scoped invoices, with their member, for `object_to_change`."""
    return scoped_invoices(perimeter, *(columns or (*INVOICES.c, ACCOUNTS.c.member_id)))


def _figures(
    contest: Contest, shares: list[Any], today: date, refusals: list[Refusal]
) -> tuple[list[int], dict[str, Any]]:
    """The sites concerned and the figures the reason needs, checked against the invoice's
    own sites; one refusal per field at fault."""
    spec = REASONS[contest.reason]
    by_site = {s.site_id: s for s in shares}
    if len(contest.site_ids) > MAX_SITES:
        refusals.append(
            Refusal(ErrorCode.TOO_MANY_ITEMS, f"{MAX_SITES} sites au plus.", field="siteIds")
        )
    elif any(s not in by_site for s in contest.site_ids):
        refusals.append(
            Refusal(
                ErrorCode.INVALID,
                "Ces sites ne sont pas tous facturés sur cette facture.",
                field="siteIds",
            )
        )
    site_ids = sorted(set(contest.site_ids)) if len(contest.site_ids) <= MAX_SITES else []
    figures: dict[str, Any] = {}
    if spec.needs_index:
        index = contest.index
        if index is None:
            refusals.append(
                Refusal(
                    ErrorCode.REQUIRED,
                    "Indiquez l'index que vous relevez sur le compteur.",
                    field="index",
                )
            )
        else:
            site_id = index.site_id
            if site_id is None and len(by_site) == 1:
                site_id = next(iter(by_site))
            if site_id is None:
                refusals.append(
                    Refusal(
                        ErrorCode.REQUIRED,
                        "Facture groupée : précisez le site de l'index contesté.",
                        field="index.siteId",
                    )
                )
            elif site_id not in by_site:
                refusals.append(
                    Refusal(
                        ErrorCode.INVALID,
                        "Ce site n'est pas facturé sur cette facture.",
                        field="index.siteId",
                    )
                )
            if not 0 <= index.value <= MAX_INDEX:
                refusals.append(
                    Refusal(
                        ErrorCode.INVALID,
                        "Un index est un nombre entier positif de 10 chiffres au plus.",
                        field="index.value",
                    )
                )
            if index.read_on is not None and index.read_on > today:
                refusals.append(
                    Refusal(
                        ErrorCode.DATE_IN_FUTURE,
                        "La date de relève est postérieure à aujourd'hui.",
                        field="index.readOn",
                    )
                )
            if site_id is not None and site_id in by_site:
                share = by_site[site_id]
                figures["index"] = {
                    "site_id": site_id,
                    "point_number": share.point_number,
                    "distributor": share.distributor,
                    "register": index.register.value if index.register else None,
                    "value": index.value,
                    "read_on": index.read_on.isoformat() if index.read_on else None,
                    "printed": share.register_indexes or [],
                }
                if site_id not in site_ids:
                    site_ids.append(site_id)
    elif contest.index is not None or contest.photo is not None:
        refusals.append(
            Refusal(
                ErrorCode.INVALID,
                "Un index (et sa photo) ne se donne que pour un index contesté.",
                field="index",
            )
        )
    check = Checker("chorusReferences")
    if spec.needs_chorus_references:
        service = check.text(
            contest.service_code, SERVICE_CODE_LIMIT, "serviceCode", required=False
        )
        commitment = check.text(
            contest.commitment_number, COMMITMENT_LIMIT, "commitmentNumber", required=False
        )
        if not service and not commitment and not check.refusals:
            check.refuse(
                ErrorCode.REQUIRED,
                "Indiquez le code service ou le numéro d'engagement attendu.",
                "serviceCode",
            )
        figures["chorus"] = {
            "service_code": service or None,
            "commitment_number": commitment or None,
        }
    elif contest.service_code is not None or contest.commitment_number is not None:
        check.refuse(
            ErrorCode.INVALID, "Réservé au motif « références Chorus erronées ».", "serviceCode"
        )
    refusals.extend(check.refusals)
    if spec.needs_siret:
        siret = "".join((contest.expected_siret or "").split())
        if not siret:
            refusals.append(
                Refusal(
                    ErrorCode.REQUIRED,
                    "Indiquez le SIRET de l'acheteur à qui la facture revient.",
                    field="expectedSiret",
                )
            )
        elif not is_valid_siret(siret):
            refusals.append(
                Refusal(
                    ErrorCode.INVALID,
                    "SIRET invalide : 14 chiffres dont la clé de contrôle.",
                    field="expectedSiret",
                )
            )
        figures["expected_siret"] = siret
    elif contest.expected_siret is not None:
        refusals.append(
            Refusal(ErrorCode.INVALID, "Réservé au motif « SIRET erroné ».", field="expectedSiret")
        )
    figures["point_numbers"] = [by_site[s].point_number for s in site_ids if s in by_site]
    return site_ids, figures


async def _open_dispute_of(session: AsyncSession, invoice_id: int) -> str | None:
    statement = sa.select(DISPUTES.c.reference).where(
        DISPUTES.c.invoice_id == invoice_id,
        DISPUTES.c.status.in_([s.value for s in OPEN_STATUSES]),
    )
    return (await core(session, statement.limit(1))).scalar_one_or_none()


def _already_open(reference: str) -> Refusal:
    return Refusal(
        ErrorCode.ALREADY_EXISTS,
        f"Cette facture est déjà contestée (contestation {reference} en cours) : suivez-la "
        "ou complétez-la auprès du service client.",
        field="invoiceId",
    )


async def contest_invoice(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    contest: Contest,
    now: datetime,
    client_address: str | None,
) -> Any:
    """Files the dispute: its row, its first event, its files, an audit entry and the
    author's confirmation mail (one transaction). Answers the dispute's row."""
    require_writing_credential(caller)
    today = paris_date(now)
    refusals: list[Refusal] = []
    comment = None
    try:
        comment = clean_note(contest.comment, required=True, field="comment")
    except Refusal as refusal:
        refusals.append(refusal)
    if len(contest.attachments) > MAX_ATTACHMENTS:
        refusals.append(
            Refusal(
                ErrorCode.TOO_MANY_ITEMS,
                f"{MAX_ATTACHMENTS} pièces jointes au plus.",
                field="attachments",
            )
        )
    stored: list[StoredFile] = []
    try:
        async with transaction(sessions) as session:
            invoice = await object_to_change(
                session,
                _invoice_rows,
                INVOICES.c.id,
                contest.invoice_id,
                perimeter=caller.perimeter,
                write_perimeter=caller.write_perimeter,
                field="invoiceId",
                forbidden=READ_ONLY_INVOICE,
            )
            if invoice.kind != InvoiceKind.INVOICE or (
                invoice.payment_status == PaymentStatus.CANCELLED
            ):
                raise Refusal(
                    ErrorCode.INVALID_STATE,
                    "Seule une facture en vigueur se conteste (pas une facture d'annulation, "
                    "un avoir ou une facture déjà annulée).",
                    field="invoiceId",
                )
            if (first := await _open_dispute_of(session, invoice.id)) is not None:
                raise _already_open(first)
            shares = await core_rows(
                session,
                sa.select(
                    SHARES.c.site_id,
                    SHARES.c.register_indexes,
                    SITES.c.point_number,
                    SITES.c.distributor,
                )
                .select_from(SHARES.join(SITES, SITES.c.id == SHARES.c.site_id))
                .where(SHARES.c.invoice_id == invoice.id),
            )
            site_ids, figures = _figures(contest, list(shares), today, refusals)
            if refusals:
                raise Refusals(refusals)
            reason = contest.reason
            dispute = InvoiceDispute(
                # A placeholder until the id is known: the reference is built from it.
                reference=f"tmp-{secrets.token_hex(8)}",
                invoice_id=invoice.id,
                billing_account_id=invoice.billing_account_id,
                member_id=invoice.member_id,
                reason=reason,
                status=DisputeStatus.RECEIVED,
                comment=comment,
                site_ids=site_ids,
                figures=figures,
                received_on=today,
                due_on=due_on(reason, today),
                submitted_by_user_id=caller.user_id,
                submitted_at=now,
                updated_at=now,
            )
            session.add(dispute)
            try:
                await session.flush()
            except IntegrityError:
                # Another contest of the same invoice committed first.
                raise _already_open("déposée à l'instant") from None
            dispute_id = persisted_id(dispute)
            dispute.reference = reference_number(today.year, dispute_id)
            files = [(contest.photo, True, "index.photo")] if contest.photo else []
            files += [(a, False, f"attachments.{i}") for i, a in enumerate(contest.attachments)]
            for upload, is_photo, field_name in files:
                assert upload is not None
                kept = store_attachment(settings, upload.filename, upload.content, field=field_name)
                stored.append(kept)
                session.add(
                    InvoiceDisputeAttachment(
                        request_id=dispute_id,
                        is_index_photo=is_photo,
                        filename=kept.filename,
                        content_type=kept.content_type,
                        size_bytes=kept.size_bytes,
                        sha256=kept.sha256,
                        storage_key=kept.key,
                        uploaded_by_user_id=caller.user_id,
                        created_at=now,
                    )
                )
            event = InvoiceDisputeEvent(
                request_id=dispute_id,
                status=DisputeStatus.RECEIVED,
                occurred_at=now,
                actor_user_id=caller.user_id,
                comment="Contestation enregistrée, récapitulatif envoyé par courriel",
            )
            session.add_all([dispute, event])
            await session.flush()
            audit.record(
                session,
                actor_user_id=caller.user_id,
                action="invoice_dispute.contest",
                object_type="InvoiceDispute",
                object_id=dispute_id,
                now=now,
                client_address=client_address,
                details={
                    "invoice_id": invoice.id,
                    "reason": reason.value,
                    "site_ids": site_ids,
                    "files": [s.sha256 for s in stored],
                },
            )
            await _mail_author(
                session,
                settings,
                dispute,
                event,
                author_email=caller.email,
                author_name=caller.full_name,
                now=now,
            )
            return await _row_of(session, dispute_id)
    except BaseException:
        discard_all(stored)
        raise


def _summary(dispute: InvoiceDispute, invoice_number: str) -> list[tuple[str, str]]:
    reason = DisputeReason(dispute.reason)
    spec = REASONS[reason]
    figures = dispute.figures or {}
    lines = [
        ("Référence", dispute.reference),
        ("Facture", invoice_number),
        ("Motif", spec.label),
        ("Statut Chorus Pro", CHORUS_STATUS_LABELS[spec.chorus_status]),
        ("Correction prévue", spec.correction_label),
        ("Délai annoncé", spec.delay_label),
        ("Échéance", f"{dispute.due_on:%d/%m/%Y}"),
    ]
    if figures.get("point_numbers"):
        lines.append(("Sites concernés", ", ".join(figures["point_numbers"])))
    if index := figures.get("index"):
        register = index.get("register")
        label = REGISTER_LABELS[Register(register)] if register else "index"
        read = index.get("read_on")
        when = f" le {date.fromisoformat(read):%d/%m/%Y}" if read else ""
        lines.append(("Index relevé", f"{index['value']} ({label}){when}"))
    if chorus := figures.get("chorus"):
        if chorus.get("service_code"):
            lines.append(("Code service attendu", chorus["service_code"]))
        if chorus.get("commitment_number"):
            lines.append(("Numéro d'engagement attendu", chorus["commitment_number"]))
    if figures.get("expected_siret"):
        lines.append(("SIRET attendu", figures["expected_siret"]))
    if dispute.distributor_claim_number:
        lines.append(("Réclamation au distributeur", dispute.distributor_claim_number))
    if dispute.comment:
        lines.append(("Votre commentaire", dispute.comment))
    return lines


async def _mail_author(
    session: AsyncSession,
    settings: Settings,
    dispute: InvoiceDispute,
    event: InvoiceDisputeEvent,
    *,
    author_email: str,
    author_name: str,
    now: datetime,
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    member = (
        await core(
            session,
            sa.select(MEMBERS.c.group_id, INVOICES.c.number)
            .select_from(INVOICES.join(MEMBERS, MEMBERS.c.id == dispute.member_id))
            .where(INVOICES.c.id == dispute.invoice_id),
        )
    ).one()
    service = (await contacts.for_groups(session, settings, [member.group_id]))[member.group_id]
    status = DisputeStatus(event.status)
    await queue_invoice_dispute_mail(
        session,
        mail=InvoiceDisputeMail(
            dispute_id=persisted_id(dispute),
            event_id=persisted_id(event),
            reference=dispute.reference,
            full_name=author_name,
            email=author_email,
            invoice_number=member.number,
            status_label=STATUS_LABELS[status],
            type_label=REASON_LABELS[DisputeReason(dispute.reason)],
            submitted=status is DisputeStatus.RECEIVED,
            note=event.comment if status is not DisputeStatus.RECEIVED else None,
            summary=[*_summary(dispute, member.number), *extra],
            customer_service=service,
        ),
        now=now,
    )


# -- the back office ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisputeStep:
    """One move asked by the back office, with what that move carries."""

    to: DisputeStatus
    note: str | None = None
    claim_number: str | None = None
    correction: DisputeCorrection | None = None
    service_code: str | None = None
    commitment_number: str | None = None
    cancellation_number: str | None = None
    reissued_number: str | None = None


async def _invoice_by_number(session: AsyncSession, number: str | None, field: str) -> Any:
    wanted = (number or "").strip().upper()
    if not wanted:
        raise Refusal(ErrorCode.REQUIRED, "Numéro de facture obligatoire.", field=field)
    if len(wanted) > 20:
        raise not_found(field)
    row = (
        await core(
            session,
            sa.select(*INVOICES.c, MEMBERS.c.customer_category)
            .select_from(
                INVOICES.join(ACCOUNTS, ACCOUNTS.c.id == INVOICES.c.billing_account_id).join(
                    MEMBERS, MEMBERS.c.id == ACCOUNTS.c.member_id
                )
            )
            .where(INVOICES.c.number == wanted),
        )
    ).first()
    if row is None:
        raise not_found(field)
    return row


async def _link_reissue(
    session: AsyncSession, dispute: InvoiceDispute, step: DisputeStep
) -> list[tuple[str, str]]:
    """Checks and links the cancellation invoice and the new invoice the billing system
    issued: the cancellation cancels the disputed invoice; the new invoice is an INVOICE of the
    same energy, on the same account (on another one for a wrong SIRET), not already the
    reissue of another dispute, and within the customer's limit when it charges more."""
    disputed = (
        await core(session, sa.select(*INVOICES.c).where(INVOICES.c.id == dispute.invoice_id))
    ).one()
    cancellation = await _invoice_by_number(
        session, step.cancellation_number, "cancellationInvoiceNumber"
    )
    if (
        cancellation.kind != InvoiceKind.CANCELLATION
        or cancellation.cancels_invoice_id != disputed.id
    ):
        raise Refusal(
            ErrorCode.INVALID,
            f"La facture {cancellation.number} n'est pas l'annulation de la facture "
            f"{disputed.number}.",
            field="cancellationInvoiceNumber",
        )
    reissued = await _invoice_by_number(session, step.reissued_number, "reissuedInvoiceNumber")
    moved = DisputeReason(dispute.reason) is DisputeReason.WRONG_SIRET
    if (
        reissued.kind != InvoiceKind.INVOICE
        or reissued.id == disputed.id
        or reissued.energy != disputed.energy
        or (reissued.billing_account_id == disputed.billing_account_id) is moved
    ):
        where = "un autre compte de facturation" if moved else "le même compte de facturation"
        raise Refusal(
            ErrorCode.INVALID,
            f"La nouvelle facture doit être une facture de la même énergie, sur {where}, "
            "autre que la facture contestée.",
            field="reissuedInvoiceNumber",
        )
    taken = (
        await core(
            session,
            sa.select(DISPUTES.c.reference)
            .where(
                sa.or_(
                    DISPUTES.c.reissued_invoice_id == reissued.id,
                    DISPUTES.c.cancellation_invoice_id == cancellation.id,
                ),
                DISPUTES.c.id != dispute.id,
            )
            .limit(1),
        )
    ).scalar_one_or_none()
    if taken is not None:
        raise Refusal(
            ErrorCode.ALREADY_EXISTS,
            f"Ces factures règlent déjà la contestation {taken}.",
            field="reissuedInvoiceNumber",
        )
    category = CustomerCategory(reissued.customer_category)
    if reissue_reaches_too_far(
        category,
        disputed_total=disputed.total_incl_tax,
        reissued_total=reissued.total_incl_tax,
        reissued_period_start=reissued.period_start,
        billed_on=reissued.accounting_date,
    ):
        raise Refusal(
            ErrorCode.CORRECTION_TOO_OLD,
            too_far_message(category, reissued.accounting_date),
            field="reissuedInvoiceNumber",
        )
    dispute.cancellation_invoice_id = cancellation.id
    dispute.reissued_invoice_id = reissued.id
    return [
        ("Facture d'annulation", cancellation.number),
        ("Nouvelle facture", f"{reissued.number} ({reissued.total_incl_tax} € TTC)"),
    ]


async def _reprint(
    session: AsyncSession,
    settings: Settings,
    dispute: InvoiceDispute,
    step: DisputeStep,
    written: list[Path],
) -> list[tuple[str, str]]:
    """Corrects the account's Chorus references (the step's, else those the customer gave) and
    prints the invoice again under the same number: the PDF customers had becomes version 1
    (kept), the new one the next version and the invoice's PDF."""
    check = Checker("correction")
    wanted = (dispute.figures or {}).get("chorus") or {}
    service = check.text(
        step.service_code or wanted.get("service_code"),
        SERVICE_CODE_LIMIT,
        "serviceCode",
        required=False,
    )
    commitment = check.text(
        step.commitment_number or wanted.get("commitment_number"),
        COMMITMENT_LIMIT,
        "commitmentNumber",
        required=False,
    )
    if check.refusals:
        raise Refusals(check.refusals)
    invoice = (
        await session.exec(
            select(Invoice).where(col(Invoice.id) == dispute.invoice_id).with_for_update()
        )
    ).one()
    invoice_id = persisted_id(invoice)
    versions = list(
        (
            await core(
                session,
                sa.select(VERSIONS.c.version)
                .where(VERSIONS.c.invoice_id == invoice_id)
                .order_by(VERSIONS.c.version),
            )
        ).scalars()
    )

    async def write(version: int, copy_of: Path | None = None) -> str:
        key = await invoice_pdfs.write_version(
            session,
            settings,
            invoice_id=invoice_id,
            billing_account_id=invoice.billing_account_id,
            number=invoice.number,
            version=version,
            copy_of=copy_of,
        )
        written.append(settings.files_dir / key)
        return key

    if not versions:
        # The PDF customers have had so far, kept as version 1 before anything changes.
        key = await write(1, invoice_pdfs.current_pdf(settings, invoice.pdf_key, invoice.number))
        session.add(InvoicePdfVersion(invoice_id=invoice_id, version=1, storage_key=key))
        versions = [1]
    account = (
        await session.exec(
            select(BillingAccount)
            .where(col(BillingAccount.id) == invoice.billing_account_id)
            .with_for_update()
        )
    ).one()
    changed: list[tuple[str, str]] = []
    if service:
        account.chorus_service_code = service
        changed.append(("Code service corrigé", service))
    if commitment:
        account.chorus_commitment_number = commitment
        changed.append(("Numéro d'engagement corrigé", commitment))
    session.add(account)
    await session.flush()
    version = versions[-1] + 1
    key = await write(version)
    session.add(
        InvoicePdfVersion(
            invoice_id=invoice_id,
            version=version,
            storage_key=key,
            dispute_id=persisted_id(dispute),
        )
    )
    invoice.pdf_key = key
    invoice.edition_status = EditionStatus.REPRINTED
    session.add(invoice)
    return [*changed, ("Facture rééditée", f"{invoice.number}, version {version}")]


async def advance_invoice_dispute(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    dispute_id: int,
    step: DisputeStep,
    now: datetime,
    client_address: str | None,
) -> Any:
    """The back office moves a dispute one step (any dispute: OPERATOR holds no perimeter, the
    field admits OPERATOR only). Its event, the correction and the author's mail in one
    transaction; a file printed for a refused or failed step is removed."""
    written: list[Path] = []
    try:
        async with transaction(sessions) as session:
            dispute = (
                await session.exec(
                    select(InvoiceDispute)
                    .where(col(InvoiceDispute.id) == dispute_id)
                    .with_for_update()
                )
            ).first()
            if dispute is None:
                raise not_found("disputeId")
            before = DisputeStatus(dispute.status)
            reason = DisputeReason(dispute.reason)
            check_transition(before, step.to)
            to = step.to
            note = clean_note(
                step.note,
                required=to is DisputeStatus.REJECTED
                or step.correction is DisputeCorrection.CLARIFICATION,
            )
            extra: list[tuple[str, str]] = []
            if to is DisputeStatus.IN_ANALYSIS:
                claim = check_claim_number(reason, step.claim_number)
                if claim is not None:
                    dispute.distributor_claim_number = claim
                    dispute.due_on = due_on(reason, dispute.received_on, claim_filed=True)
            elif step.claim_number is not None:
                raise Refusal(
                    ErrorCode.INVALID,
                    "Le numéro de réclamation se donne au passage en analyse.",
                    field="distributorClaimNumber",
                )
            if to is DisputeStatus.RESOLVED:
                check_resolution(reason, step.correction)
                assert step.correction is not None
                dispute.correction = step.correction
                if step.correction is DisputeCorrection.REPRINT:
                    extra = await _reprint(session, settings, dispute, step, written)
                elif step.correction is DisputeCorrection.CANCELLATION_AND_REISSUE:
                    extra = await _link_reissue(session, dispute, step)
            elif step.correction is not None:
                raise Refusal(
                    ErrorCode.INVALID,
                    "Une correction se donne à la résolution.",
                    field="correction",
                )
            if to in (DisputeStatus.RESOLVED, DisputeStatus.REJECTED):
                dispute.answer = note or (
                    CORRECTION_LABELS[DisputeCorrection(dispute.correction)]
                    if dispute.correction is not None
                    else None
                )
                dispute.closed_at = now
            dispute.status = to
            dispute.updated_at = now
            event = InvoiceDisputeEvent(
                request_id=dispute_id,
                status=to,
                occurred_at=now,
                actor_user_id=caller.user_id,
                comment=note,
            )
            session.add_all([dispute, event])
            await session.flush()
            audit.record(
                session,
                actor_user_id=caller.user_id,
                action=f"invoice_dispute.{to.value.lower()}",
                object_type="InvoiceDispute",
                object_id=dispute_id,
                now=now,
                client_address=client_address,
                details={
                    "before": before.value,
                    "after": to.value,
                    "note": note,
                    "correction": dispute.correction,
                    "claim": dispute.distributor_claim_number,
                    "cancellation_invoice_id": dispute.cancellation_invoice_id,
                    "reissued_invoice_id": dispute.reissued_invoice_id,
                },
            )
            if dispute.submitted_by_user_id is not None:
                author = await session.get(User, dispute.submitted_by_user_id)
                if author is not None:
                    await _mail_author(
                        session,
                        settings,
                        dispute,
                        event,
                        author_email=author.email,
                        author_name=author.full_name,
                        now=now,
                        extra=extra,
                    )
            return await _row_of(session, dispute_id)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


# -- reading -----------------------------------------------------------------------------------


def _joined() -> Any:
    return (
        DISPUTES.join(_DISPUTED, _DISPUTED.c.id == DISPUTES.c.invoice_id)
        .join(MEMBERS, MEMBERS.c.id == DISPUTES.c.member_id)
        .join(ACCOUNTS, ACCOUNTS.c.id == DISPUTES.c.billing_account_id)
        .outerjoin(_AUTHOR, _AUTHOR.c.id == DISPUTES.c.submitted_by_user_id)
        .outerjoin(_CANCELLATION, _CANCELLATION.c.id == DISPUTES.c.cancellation_invoice_id)
        .outerjoin(_REISSUED, _REISSUED.c.id == DISPUTES.c.reissued_invoice_id)
    )


async def _row_of(session: AsyncSession, dispute_id: int) -> Any:
    """A dispute's row after a change the caller was allowed to make (no second scope)."""
    statement = sa.select(*ROW_COLUMNS).select_from(_joined()).where(DISPUTES.c.id == dispute_id)
    return (await core(session, statement)).one()


@dataclass(frozen=True, slots=True)
class DisputeQuery:
    statuses: tuple[DisputeStatus, ...] = ()
    reasons: tuple[DisputeReason, ...] = ()
    member_ids: tuple[int, ...] | None = None
    overdue: bool | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    reference: str | None = None


def dispute_rows(perimeter: Perimeter, query: DisputeQuery, *columns: Any, today: date) -> Any:
    if query.opened_from and query.opened_to and query.opened_to < query.opened_from:
        raise Refusal(
            ErrorCode.INVALID, "La fin de la période précède son début.", field="openedTo"
        )
    statement = scoped_invoice_disputes(perimeter, *(columns or ROW_COLUMNS)).select_from(_joined())
    where: list[Any] = []
    if query.statuses:
        where.append(DISPUTES.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.reasons:
        where.append(DISPUTES.c.reason.in_(sorted(r.value for r in query.reasons)))
    if query.member_ids is not None:
        where.append(DISPUTES.c.member_id.in_(sorted(set(query.member_ids))))
    if query.overdue is not None:
        late = sa.and_(
            DISPUTES.c.status.in_([s.value for s in OPEN_STATUSES]), DISPUTES.c.due_on < today
        )
        where.append(late if query.overdue else sa.not_(late))
    if query.opened_from is not None:
        where.append(DISPUTES.c.submitted_at >= paris_midnight(query.opened_from))
    if query.opened_to is not None:
        where.append(
            DISPUTES.c.submitted_at
            < paris_midnight(date.fromordinal(query.opened_to.toordinal() + 1))
        )
    if query.reference is not None:
        where.append(DISPUTES.c.reference == query.reference)
    return statement.where(*where)


async def list_invoice_disputes(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: DisputeQuery,
    *,
    today: date,
    first: int,
    after: list[Any] | None,
    with_count: bool,
) -> RowPage:
    """Newest first, keyset on (submitted_at, id)."""
    cursor = decode_keyset(after) if after is not None else None
    if perimeter.is_empty:
        return EMPTY_PAGE
    page = keyset_page(
        dispute_rows(perimeter, query, today=today),
        DISPUTES.c.submitted_at,
        DISPUTES.c.id,
        descending=True,
        first=first,
        after=cursor,
    )
    count = (
        dispute_rows(perimeter, query, sa.func.count(DISPUTES.c.id), today=today)
        if with_count
        else None
    )
    return await fetch_page(
        sessions, page, count, first=first, cursor_of=lambda r: [r.submitted_at.isoformat(), r.id]
    )


async def load_invoice_disputes(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    ids: Sequence[int | None],
    *,
    today: date,
) -> list[Any | None]:
    if perimeter.is_empty:
        return [None] * len(ids)
    return await rows_by_id(
        sessions, dispute_rows(perimeter, DisputeQuery(), today=today), DISPUTES.c.id, ids
    )


async def invoice_dispute_by_reference(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    reference: str,
    *,
    today: date,
) -> Any | None:
    if perimeter.is_empty or len(reference) > 20:
        return None
    async with sessions() as session:
        query = DisputeQuery(reference=reference.strip())
        return (await core(session, dispute_rows(perimeter, query, today=today))).first()


async def disputes_of_invoices(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    invoice_ids: Sequence[int],
    *,
    today: date,
) -> list[Any | None]:
    """The dispute each invoice belongs to (as the disputed invoice, its cancellation or its
    new invoice), the latest when there are several: one statement, in the perimeter."""
    wanted = sorted(set(invoice_ids))
    if not wanted or perimeter.is_empty:
        return [None] * len(invoice_ids)
    statement = dispute_rows(perimeter, DisputeQuery(), today=today).where(
        sa.or_(
            DISPUTES.c.invoice_id.in_(wanted),
            DISPUTES.c.cancellation_invoice_id.in_(wanted),
            DISPUTES.c.reissued_invoice_id.in_(wanted),
        )
    )
    found: dict[int, Any] = {}
    async with sessions() as session:
        for row in await core_rows(session, statement.order_by(DISPUTES.c.submitted_at)):
            for key in (row.invoice_id, row.cancellation_invoice_id, row.reissued_invoice_id):
                if key is not None:
                    found[key] = row  # the latest wins
    return [found.get(i) for i in invoice_ids]


async def events_of_disputes(
    sessions: async_sessionmaker[AsyncSession], dispute_ids: Sequence[int]
) -> list[list[Any]]:
    """Each dispute's events, oldest first, with the actor's name: one statement (the ids come
    from rows already read inside the perimeter)."""
    return await step_events(sessions, EVENTS, dispute_ids)


async def attachments_of_disputes(
    sessions: async_sessionmaker[AsyncSession], dispute_ids: Sequence[int]
) -> list[list[Any]]:
    return await attachments_of_requests(sessions, dispute_ids, ATTACHMENTS)


async def pdf_versions_of_invoices(
    sessions: async_sessionmaker[AsyncSession], invoice_ids: Sequence[int]
) -> list[list[Any]]:
    """Each invoice's kept PDF versions, oldest first: one statement (ids read in the
    perimeter)."""
    wanted = sorted(set(invoice_ids))
    by_invoice: dict[int, list[Any]] = defaultdict(list)
    if wanted:
        statement = (
            sa.select(*VERSIONS.c)
            .where(VERSIONS.c.invoice_id.in_(wanted))
            .order_by(VERSIONS.c.invoice_id, VERSIONS.c.version)
        )
        async with sessions() as session:
            for row in await core_rows(session, statement):
                by_invoice[row.invoice_id].append(row)
    return [by_invoice.get(i, []) for i in invoice_ids]


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: DisputeReason
    total: int
    open: int
    resolved: int
    rejected: int
    overdue: int


async def counts_by_reason(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    year: int,
    member_ids: tuple[int, ...] | None,
    today: date,
) -> list[ReasonCount]:
    """For the coordinator's yearly review: the disputes opened in `year` (Paris days) by
    reason, every reason listed, with how many are open, resolved, rejected and overdue; one
    GROUP BY statement."""
    if not 2000 <= year <= 2100:
        raise Refusal(ErrorCode.INVALID, "Année invalide.", field="year")
    query = DisputeQuery(
        member_ids=member_ids,
        opened_from=date(year, 1, 1),
        opened_to=date(year, 12, 31),
    )
    status = DISPUTES.c.status
    opened = status.in_([s.value for s in OPEN_STATUSES])

    def count_of(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    found: dict[str, Any] = {}
    if member_ids:
        # A member outside the perimeter is refused as a missing one, as every filter of a
        # figure (no zeros reported for another tenant's member).
        async with sessions() as session:
            await check_filter_scope(session, perimeter, SiteCriteria(member_ids=member_ids))
    if not perimeter.is_empty:
        statement = dispute_rows(
            perimeter,
            query,
            DISPUTES.c.reason,
            sa.func.count(DISPUTES.c.id).label("total"),
            count_of(opened).label("open"),
            count_of(status == DisputeStatus.RESOLVED.value).label("resolved"),
            count_of(status == DisputeStatus.REJECTED.value).label("rejected"),
            count_of(sa.and_(opened, DISPUTES.c.due_on < today)).label("overdue"),
            today=today,
        ).group_by(DISPUTES.c.reason)
        async with sessions() as session:
            found = {r.reason: r for r in await core_rows(session, statement)}
    out = []
    for reason in DisputeReason:
        r = found.get(reason.value)
        out.append(
            ReasonCount(
                reason,
                *(int(getattr(r, k) or 0) if r else 0 for k in ("total", "open", "resolved")),
                *(int(getattr(r, k) or 0) if r else 0 for k in ("rejected", "overdue")),
            )
        )
    return out


# -- the export --------------------------------------------------------------------------------


def _export_columns() -> tuple[Column, ...]:
    t, day, label, ident = ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.LABEL, ColumnKind.IDENTIFIER
    chorus = {r: CHORUS_STATUS_LABELS[s.chorus_status] for r, s in REASONS.items()}
    return (
        Column("Référence", ident, 16),
        Column("Facture", ident, 16),
        Column("Montant TTC", ColumnKind.MONEY),
        Column("Motif", label, 40, REASON_LABELS),
        Column("Statut Chorus Pro", label, 14, chorus),
        Column("Reçue le", day),
        Column("Raison sociale", t, 36),
        Column("Compte de facturation", ident, 16),
        Column("État", label, 14, STATUS_LABELS),
        Column("Correction", label, 30, CORRECTION_LABELS),
        Column("Échéance", day),
        Column("En retard", ColumnKind.BOOLEAN),
        Column("N° réclamation distributeur", ident, 18),
        Column("Facture d'annulation", ident, 16),
        Column("Nouvelle facture", ident, 16),
        Column("Réponse", t, 40),
    )


def _export_row(r: Any, today: date) -> tuple[Any, ...]:
    status = DisputeStatus(r.status)
    reason = DisputeReason(r.reason)
    return (
        r.reference,
        r.invoice_number,
        r.invoice_total_incl_tax,
        reason,
        reason,
        r.received_on,
        r.member_legal_name,
        r.billing_account_number,
        status,
        DisputeCorrection(r.correction) if r.correction else None,
        r.due_on,
        is_overdue(status, r.due_on, today),
        r.distributor_claim_number,
        r.cancellation_invoice_number,
        r.reissued_invoice_number,
        r.answer,
    )


async def invoice_disputes_table(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: DisputeQuery,
    *,
    today: date,
) -> Table:
    """The filter's disputes (newest first) for the one export writer, streamed in batches. A
    filter naming a member outside the perimeter is NOT_FOUND, as every export."""
    async with sessions() as session:
        await check_filter_scope(
            session, perimeter, SiteCriteria(member_ids=query.member_ids or ())
        )
    statement = dispute_rows(perimeter, query, today=today).order_by(
        DISPUTES.c.submitted_at.desc(), DISPUTES.c.id.desc()
    )

    async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
        if perimeter.is_empty:
            return
        async for chunk in streamed_rows(sessions, statement, lambda r: _export_row(r, today)):
            yield chunk

    return Table("contestations", "Contestations de factures", _export_columns(), chunks())
