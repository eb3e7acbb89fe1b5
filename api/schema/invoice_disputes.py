"""Invoice disputes in the schema: the `InvoiceDispute` node (its invoice, history, files, PDF
versions, due date), the reasons as data, the tracking list, the counts by reason, the export,
and the mutations (contest by the member; advance by the back office).

Rows come from `api/resolvers/invoice_disputes.py` with the invoice number, member, account
and author joined; events, files, PDF versions and linked invoices come through one loader
call per level of the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay
from strawberry.file_uploads import Upload

from api.graphql.downloads import signed_file_url
from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import capped_pks_of, key_of, pk_of, pks_of
from api.graphql.loaders import request_loader
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData, holds_tier
from api.graphql.scalars import JsonObject
from api.resolvers import invoice_disputes as cases
from api.resolvers import invoices
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.enums import Register
from api.schema.exports import ExportFormat, ExportPayload, export_file
from api.schema.invoices.types import Invoice
from api.schema.technical_requests import ClosesUpload
from documents.tables import FileFormat
from domain import enums
from domain.calendar import paris_date
from domain.errors import ErrorCode, Refusal
from domain.invoice_disputes import (
    CHORUS_STATUS_LABELS,
    CORRECTION_LABELS,
    REASONS,
    STATUS_LABELS,
    is_overdue,
)

described_enum(
    enums.DisputeStatus,
    {
        enums.DisputeStatus.RECEIVED: "Reçue, pas encore analysée.",
        enums.DisputeStatus.IN_ANALYSIS: "En analyse par le service client (réclamation au "
        "distributeur le cas échéant).",
        enums.DisputeStatus.RESOLVED: "Résolue par la correction du motif (explication, "
        "réédition ou annulation et nouvelle facture).",
        enums.DisputeStatus.REJECTED: "Rejetée : la facture est maintenue, avec l'explication.",
    },
    description="État d'une contestation : reçue → en analyse → résolue ou rejetée.",
)
described_enum(
    enums.DisputeReason,
    {code: spec.label for code, spec in REASONS.items()},
    description="Motif d'une contestation de facture (mémo Chorus Pro du fournisseur).",
)
described_enum(
    enums.ChorusStatus,
    {
        enums.ChorusStatus.SUSPENDED: "Suspendue.",
        enums.ChorusStatus.TO_RECYCLE: "À recycler.",
        enums.ChorusStatus.REJECTED: "Rejetée.",
    },
    description="Statut que l'acheteur donne à la facture dans Chorus Pro.",
)
described_enum(
    enums.DisputeCorrection,
    {
        enums.DisputeCorrection.CLARIFICATION: "Explication ou pièce envoyée ; la facture reste "
        "due.",
        enums.DisputeCorrection.REPRINT: "Données corrigées, facture rééditée sous le même "
        "numéro (l'ancien PDF est conservé).",
        enums.DisputeCorrection.CANCELLATION_AND_REISSUE: "Facture d'annulation et nouvelle "
        "facture, liées à la contestation.",
    },
    description="Correction appliquée à une contestation fondée.",
)
DisputeStatus = enums.DisputeStatus
DisputeReason = enums.DisputeReason
ChorusStatus = enums.ChorusStatus
DisputeCorrection = enums.DisputeCorrection


@strawberry.type(description="Un motif de contestation, tel que le mémo du fournisseur le décrit.")
class DisputeReasonInfo:
    code: DisputeReason = strawberry.field(description="Le motif.")
    label: str = strawberry.field(description="Libellé.")
    chorus_status: ChorusStatus = strawberry.field(
        description="Statut que l'acheteur donne à la facture dans Chorus Pro."
    )
    correction: DisputeCorrection = strawberry.field(description="Correction appliquée.")
    correction_label: str = strawberry.field(description="Correction, en clair.")
    min_working_days: int = strawberry.field(
        description="Délai annoncé, borne basse (jours ouvrés)."
    )
    max_working_days: int = strawberry.field(
        description="Délai annoncé, borne haute (jours ouvrés)."
    )
    needs_index: bool = strawberry.field(description="Vrai : l'index relevé est demandé.")
    needs_chorus_references: bool = strawberry.field(
        description="Vrai : le code service ou l'engagement attendu est demandé."
    )
    needs_siret: bool = strawberry.field(description="Vrai : le SIRET attendu est demandé.")


def reason_info(code: enums.DisputeReason) -> DisputeReasonInfo:
    spec = REASONS[code]
    return DisputeReasonInfo(
        code=code,
        label=spec.label,
        chorus_status=spec.chorus_status,
        correction=spec.correction,
        correction_label=spec.correction_label,
        min_working_days=spec.min_working_days,
        max_working_days=spec.max_working_days,
        needs_index=spec.needs_index,
        needs_chorus_references=spec.needs_chorus_references,
        needs_siret=spec.needs_siret,
    )


@strawberry.type(description="Une étape de l'historique d'une contestation.")
class InvoiceDisputeEvent:
    status: DisputeStatus = strawberry.field(description="État atteint.")
    occurred_at: datetime = strawberry.field(description="Quand.")
    actor_name: str | None = strawberry.field(description="Qui (nom de la personne).")
    note: str | None = strawberry.field(description="Commentaire ou explication.")


@strawberry.type(description="Un fichier joint à une contestation.")
class InvoiceDisputeAttachment:
    filename: str = strawberry.field(description="Nom du fichier.")
    content_type: str = strawberry.field(description="Type du contenu (PDF, JPEG, PNG).")
    size_bytes: int = strawberry.field(description="Taille en octets.")
    sha256: str = strawberry.field(description="Empreinte SHA-256 du contenu.")
    is_index_photo: bool = strawberry.field(description="Vrai : la photo de l'index.")
    created_at: datetime = strawberry.field(description="Date de dépôt.")
    download_url: str = strawberry.field(
        description="Lien signé de téléchargement, valable quelques minutes."
    )


@strawberry.type(description="Une version imprimée du PDF d'une facture.")
class InvoicePdfVersion:
    version: int = strawberry.field(description="Numéro de version (1 : la première émise).")
    created_at: datetime = strawberry.field(description="Date d'impression.")
    current: bool = strawberry.field(description="Vrai : la version en vigueur.")
    download_url: str = strawberry.field(
        description="Lien signé de téléchargement, valable quelques minutes."
    )


async def _invoice(info: strawberry.Info, invoice_id: int | None) -> Invoice | None:
    """A linked invoice; its lines and per-site rows are read only when the answer asks for
    them (a list showing the invoice's number and amount reads one statement)."""
    if invoice_id is None:
        return None
    ctx = info.context
    levels = any(selects(info, name) for name in ("lines", "vatBreakdown", "sites"))

    async def load(ids: Sequence[int]) -> list[Any]:
        return await invoices.load_invoices(
            ctx.sessions, ctx.perimeter, ids, lines=levels, sites=levels
        )

    name = "InvoiceByIdLoader" if levels else "InvoiceHeaderByIdLoader"
    found = await request_loader(ctx, name, load).load(invoice_id)
    return Invoice.from_detail(found) if found is not None else None


@strawberry.type(description="Une contestation de facture, du dépôt à la correction.")
class InvoiceDispute(relay.Node):
    id: relay.NodeID[int]
    reference: str = strawberry.field(description="Référence (ex. CF-2026-000123).")
    invoice_number: str = strawberry.field(description="Numéro de la facture contestée.")
    reason: DisputeReason = strawberry.field(description="Motif.")
    reason_label: str = strawberry.field(description="Libellé du motif.")
    chorus_status: ChorusStatus = strawberry.field(
        description="Statut Chorus Pro correspondant au motif."
    )
    chorus_status_label: str = strawberry.field(description="Libellé du statut Chorus Pro.")
    expected_correction: DisputeCorrection = strawberry.field(
        description="Correction que le motif appelle."
    )
    promised_delay: str = strawberry.field(description="Délai annoncé (jours ouvrés).")
    status: DisputeStatus = strawberry.field(description="État.")
    status_label: str = strawberry.field(description="Libellé de l'état.")
    correction: DisputeCorrection | None = strawberry.field(
        description="Correction appliquée, une fois résolue."
    )
    correction_label: str | None = strawberry.field(description="Libellé de la correction.")
    member_legal_name: str = strawberry.field(description="Raison sociale du membre.")
    billing_account_number: str = strawberry.field(description="Compte de facturation.")
    comment: str | None = strawberry.field(description="Commentaire du client.")
    site_ids: list[relay.GlobalID] = strawberry.field(
        description="Les sites concernés (facture groupée) ; vide : toute la facture."
    )
    disputed_figures: JsonObject = strawberry.field(
        description="Les chiffres contestés : `index` (`point_number`, `register`, `value`, "
        "`read_on`, `printed`), `chorus` (`service_code`, `commitment_number`), "
        "`expected_siret`, `point_numbers`, selon le motif."
    )
    distributor_claim_number: str | None = strawberry.field(
        description="Numéro de la réclamation déposée chez le distributeur."
    )
    answer: str | None = strawberry.field(description="Réponse ou explication du fournisseur.")
    received_on: date = strawberry.field(description="Jour de réception (heure de Paris).")
    due_on: date = strawberry.field(
        description="Échéance : le délai du motif en jours ouvrés (jours fériés exclus)."
    )
    overdue: bool = strawberry.field(
        description="Vrai si la contestation est ouverte et son échéance dépassée."
    )
    author_name: str | None = strawberry.field(description="Auteur de la contestation.")
    submitted_at: datetime = strawberry.field(description="Date de dépôt.")
    updated_at: datetime | None = strawberry.field(description="Dernière étape.")
    closed_at: datetime | None = strawberry.field(description="Clôture.")
    cancellation_invoice_number: str | None = strawberry.field(
        description="Numéro de la facture d'annulation."
    )
    reissued_invoice_number: str | None = strawberry.field(
        description="Numéro de la nouvelle facture."
    )
    invoice_id: strawberry.Private[int]
    cancellation_invoice_id: strawberry.Private[int | None]
    reissued_invoice_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: Any, today: date) -> Self:
        reason = enums.DisputeReason(r.reason)
        spec = REASONS[reason]
        status = enums.DisputeStatus(r.status)
        correction = enums.DisputeCorrection(r.correction) if r.correction else None
        return cls(
            id=r.id,
            reference=r.reference,
            invoice_number=r.invoice_number,
            reason=reason,
            reason_label=spec.label,
            chorus_status=spec.chorus_status,
            chorus_status_label=CHORUS_STATUS_LABELS[spec.chorus_status],
            expected_correction=spec.correction,
            promised_delay=spec.delay_label,
            status=status,
            status_label=STATUS_LABELS[status],
            correction=correction,
            correction_label=CORRECTION_LABELS[correction] if correction else None,
            member_legal_name=r.member_legal_name,
            billing_account_number=r.billing_account_number,
            comment=r.comment,
            site_ids=[relay.GlobalID("Site", str(s)) for s in r.site_ids or []],
            disputed_figures=JsonObject(r.figures or {}),
            distributor_claim_number=r.distributor_claim_number,
            answer=r.answer,
            received_on=r.received_on,
            due_on=r.due_on,
            overdue=is_overdue(status, r.due_on, today),
            author_name=r.author_name,
            submitted_at=r.submitted_at,
            updated_at=r.updated_at,
            closed_at=r.closed_at,
            cancellation_invoice_number=r.cancellation_invoice_number,
            reissued_invoice_number=r.reissued_invoice_number,
            invoice_id=r.invoice_id,
            cancellation_invoice_id=r.cancellation_invoice_id,
            reissued_invoice_id=r.reissued_invoice_id,
        )

    @strawberry.field(description="La facture contestée.")
    async def invoice(self, info: strawberry.Info) -> Invoice | None:
        return await _invoice(info, self.invoice_id)

    @strawberry.field(description="La facture d'annulation (annulation et nouvelle facture).")
    async def cancellation_invoice(self, info: strawberry.Info) -> Invoice | None:
        return await _invoice(info, self.cancellation_invoice_id)

    @strawberry.field(description="La nouvelle facture (annulation et nouvelle facture).")
    async def reissued_invoice(self, info: strawberry.Info) -> Invoice | None:
        return await _invoice(info, self.reissued_invoice_id)

    @strawberry.field(description="L'historique, de la plus ancienne étape à la plus récente.")
    async def events(self, info: strawberry.Info) -> list[InvoiceDisputeEvent]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[Any]]:
            return await cases.events_of_disputes(ctx.sessions, ids)

        rows = await request_loader(ctx, "EventsByInvoiceDisputeLoader", load).load(self.id)
        return [
            InvoiceDisputeEvent(
                status=r.status, occurred_at=r.occurred_at, actor_name=r.actor_name, note=r.comment
            )
            for r in rows
        ]

    @strawberry.field(description="Les fichiers joints (photo de l'index, documents).")
    async def attachments(self, info: strawberry.Info) -> list[InvoiceDisputeAttachment]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[Any]]:
            return await cases.attachments_of_disputes(ctx.sessions, ids)

        rows = await request_loader(ctx, "AttachmentsByInvoiceDisputeLoader", load).load(self.id)
        return [
            InvoiceDisputeAttachment(
                filename=r.filename,
                content_type=r.content_type,
                size_bytes=r.size_bytes,
                sha256=r.sha256,
                is_index_photo=r.is_index_photo,
                created_at=r.created_at,
                download_url=signed_file_url(ctx.settings, r.storage_key),
            )
            for r in rows
        ]

    @strawberry.field(
        description="Les versions imprimées du PDF de la facture contestée, la plus ancienne "
        "d'abord : une réédition garde la précédente ; vide tant qu'aucune réédition n'a eu lieu."
    )
    async def pdf_versions(self, info: strawberry.Info) -> list[InvoicePdfVersion]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[Any]]:
            return await cases.pdf_versions_of_invoices(ctx.sessions, ids)

        rows = await request_loader(ctx, "PdfVersionsByInvoiceLoader", load).load(self.invoice_id)
        last = rows[-1].version if rows else None
        return [
            InvoicePdfVersion(
                version=r.version,
                created_at=r.created_at,
                current=r.version == last,
                download_url=signed_file_url(ctx.settings, r.storage_key),
            )
            for r in rows
        ]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # None for an id outside the perimeter
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        ctx = info.context
        today = paris_date(ctx.now)
        rows = await cases.load_invoice_disputes(ctx.sessions, ctx.perimeter, ids, today=today)
        return [cls.from_row(r, today) if r is not None else None for r in rows]


async def dispute_of_invoice(info: strawberry.Info, invoice_id: int) -> InvoiceDispute | None:
    """`Invoice.dispute`: one loader call for every invoice of the answer."""
    ctx = info.context
    today = paris_date(ctx.now)

    async def load(ids: Sequence[int]) -> list[Any]:
        return await cases.disputes_of_invoices(ctx.sessions, ctx.perimeter, ids, today=today)

    row = await request_loader(ctx, "InvoiceDisputeByInvoiceLoader", load).load(invoice_id)
    return InvoiceDispute.from_row(row, today) if row is not None else None


# -- the filter and the lists ------------------------------------------------------------------


@strawberry.input(description="Filtre des contestations ; les critères se cumulent.")
class InvoiceDisputeFilter:
    statuses: list[DisputeStatus] | None = strawberry.field(
        default=None, description="États ; tous si absent ou vide."
    )
    reasons: list[DisputeReason] | None = strawberry.field(
        default=None, description="Motifs ; tous si absent ou vide."
    )
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les membres (100 au plus)."
    )
    overdue: bool | None = strawberry.field(
        default=None,
        description="Vrai : seulement les contestations ouvertes dont l'échéance est passée ; "
        "faux : toutes les autres.",
    )
    opened_from: date | None = strawberry.field(
        default=None, description="Déposées à partir de ce jour (inclus, heure de Paris)."
    )
    opened_to: date | None = strawberry.field(
        default=None, description="Déposées jusqu'à ce jour (inclus, heure de Paris)."
    )


def to_query(f: InvoiceDisputeFilter | None) -> cases.DisputeQuery:
    if f is None:
        return cases.DisputeQuery()
    return cases.DisputeQuery(
        statuses=tuple(enums.DisputeStatus(s) for s in f.statuses or ()),
        reasons=tuple(enums.DisputeReason(r) for r in f.reasons or ()),
        member_ids=tuple(capped_pks_of(f.member_ids, "Member", "memberIds"))
        if f.member_ids
        else None,
        overdue=f.overdue,
        opened_from=f.opened_from,
        opened_to=f.opened_to,
    )


@strawberry.type(description="Les contestations d'une année pour un motif.")
class DisputeReasonCount:
    reason: DisputeReasonInfo = strawberry.field(description="Le motif.")
    total: int = strawberry.field(description="Contestations déposées dans l'année.")
    open: int = strawberry.field(description="Dont ouvertes (reçues ou en analyse).")
    resolved: int = strawberry.field(description="Dont résolues.")
    rejected: int = strawberry.field(description="Dont rejetées.")
    overdue: int = strawberry.field(description="Dont ouvertes et en retard.")


@strawberry.type
class InvoiceDisputeQueries:
    @strawberry.field(
        description="Les motifs de contestation : statut Chorus Pro, correction et délai "
        "annoncé de chacun.",
        permission_classes=[IsAuthenticated],
    )
    def dispute_reasons(self) -> list[DisputeReasonInfo]:
        return [reason_info(code) for code in enums.DisputeReason]

    @strawberry.field(
        description="Les contestations de factures de votre périmètre, les plus récentes "
        "d'abord, par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def invoice_disputes(
        self,
        info: strawberry.Info,
        filter: Annotated[
            InvoiceDisputeFilter | None,
            strawberry.argument(description="Filtre ; toutes les contestations s'il est absent."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[InvoiceDispute] | None:
        ctx = info.context
        cursor = decode_cursor(after)
        today = paris_date(ctx.now)
        page = await cases.list_invoice_disputes(
            ctx.sessions,
            ctx.perimeter,
            to_query(filter),
            today=today,
            first=page_size(first),
            after=cursor,
            with_count=selects(info, "totalCount"),
        )
        return connection(
            [InvoiceDispute.from_row(r, today) for r in page.rows],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Une contestation par sa référence (ex. CF-2026-000123) ; null si elle est "
        "inconnue ou hors périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def invoice_dispute(
        self,
        info: strawberry.Info,
        reference: Annotated[str, strawberry.argument(description="La référence.")],
    ) -> InvoiceDispute | None:
        ctx = info.context
        today = paris_date(ctx.now)
        row = await cases.invoice_dispute_by_reference(
            ctx.sessions, ctx.perimeter, reference, today=today
        )
        return InvoiceDispute.from_row(row, today) if row is not None else None

    @strawberry.field(
        description="Bilan annuel du coordonnateur : les contestations déposées dans l'année, "
        "par motif (tous les motifs listés), ouvertes, résolues, rejetées et en retard.",
        permission_classes=[IsAuthenticated],
    )
    async def invoice_dispute_counts_by_reason(
        self,
        info: strawberry.Info,
        year: Annotated[int, strawberry.argument(description="L'année (heure de Paris).")],
        member_ids: Annotated[
            list[relay.GlobalID] | None,
            strawberry.argument(description="Limité à ces membres (100 au plus)."),
        ] = None,
    ) -> list[DisputeReasonCount] | None:
        ctx = info.context
        counts = await cases.counts_by_reason(
            ctx.sessions,
            ctx.perimeter,
            year=year,
            member_ids=tuple(capped_pks_of(member_ids, "Member", "memberIds"))
            if member_ids
            else None,
            today=paris_date(ctx.now),
        )
        return [
            DisputeReasonCount(
                reason=reason_info(c.reason),
                total=c.total,
                open=c.open,
                resolved=c.resolved,
                rejected=c.rejected,
                overdue=c.overdue,
            )
            for c in counts
        ]


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input(description="L'index que vous relevez sur le compteur (index contesté).")
class DisputedIndexInput:
    value: int = strawberry.field(description="L'index lu (entier, 10 chiffres au plus).")
    site_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le site ; obligatoire sur une facture groupée."
    )
    register: Register | None = strawberry.field(default=None, description="Le poste horaire.")
    read_on: date | None = strawberry.field(default=None, description="Jour de la lecture.")
    photo: Upload | None = strawberry.field(
        default=None,
        description="Photo de l'index (PNG, JPEG ou PDF, reconnu à son contenu), envoyée en "
        "requête multipart comme les pièces des demandes techniques.",
    )


@strawberry.input(description="Les références Chorus Pro attendues.")
class ChorusReferencesInput:
    service_code: str | None = strawberry.field(
        default=None, description="Code service attendu (100 caractères au plus)."
    )
    commitment_number: str | None = strawberry.field(
        default=None, description="Numéro d'engagement juridique attendu (50 au plus)."
    )


@strawberry.input(description="Une contestation de facture.")
class ContestInvoiceInput:
    invoice_id: relay.GlobalID = strawberry.field(description="La facture contestée.")
    reason: DisputeReason = strawberry.field(description="Le motif.")
    comment: str = strawberry.field(description="Votre explication (2 000 caractères au plus).")
    site_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Facture groupée : les sites concernés (100 au plus) ; toute la facture "
        "si absent.",
    )
    index: DisputedIndexInput | None = strawberry.field(
        default=None, description="Index contesté : l'index que vous relevez."
    )
    chorus_references: ChorusReferencesInput | None = strawberry.field(
        default=None, description="Références Chorus erronées : celles attendues."
    )
    expected_siret: str | None = strawberry.field(
        default=None, description="SIRET erroné : le SIRET de l'acheteur à qui elle revient."
    )
    attachments: list[Upload] | None = strawberry.field(
        default=None, description="Pièces jointes (5 au plus, PDF, PNG ou JPEG)."
    )


@strawberry.input(description="Une étape du traitement d'une contestation (back-office).")
class AdvanceInvoiceDisputeInput:
    dispute_id: relay.GlobalID = strawberry.field(description="La contestation.")
    status: DisputeStatus = strawberry.field(description="L'état visé.")
    note: str | None = strawberry.field(
        default=None,
        description="Commentaire ; l'explication est obligatoire pour rejeter ou pour une "
        "résolution par explication.",
    )
    distributor_claim_number: str | None = strawberry.field(
        default=None,
        description="En analyse, index contesté : le numéro de la réclamation déposée chez le "
        "distributeur (le délai annoncé passe à sa borne haute).",
    )
    correction: DisputeCorrection | None = strawberry.field(
        default=None, description="À la résolution : la correction du motif."
    )
    service_code: str | None = strawberry.field(
        default=None, description="Réédition : le code service corrigé."
    )
    commitment_number: str | None = strawberry.field(
        default=None, description="Réédition : le numéro d'engagement corrigé."
    )
    cancellation_invoice_number: str | None = strawberry.field(
        default=None, description="Annulation et nouvelle facture : la facture d'annulation."
    )
    reissued_invoice_number: str | None = strawberry.field(
        default=None, description="Annulation et nouvelle facture : la nouvelle facture."
    )


@strawberry.input(description="Export de la liste des contestations d'un filtre.")
class ExportInvoiceDisputesInput:
    filter: InvoiceDisputeFilter | None = strawberry.field(
        default=None, description="Filtre ; toutes les contestations du périmètre s'il est absent."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.type(description="Résultat d'une action sur une contestation.")
class InvoiceDisputePayload:
    invoice_dispute: InvoiceDispute | None = strawberry.field(
        description="La contestation après l'action."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


async def _read(upload: Any, cap: int, field: str) -> cases.Upload:
    if not hasattr(upload, "read"):
        raise Refusal(
            ErrorCode.INVALID,
            "Envoyez le fichier en requête multipart (GraphQL multipart request).",
            field=field,
        )
    # One byte more than allowed is enough to tell the file is too big.
    return cases.Upload(getattr(upload, "filename", None), await upload.read(cap + 1))


async def _contest(data: ContestInvoiceInput, cap: int) -> cases.Contest:
    invoice_id = pk_of(data.invoice_id, "Invoice", "invoiceId")
    assert invoice_id is not None
    index = data.index
    chorus = data.chorus_references
    attachments = data.attachments or []
    if len(attachments) > 5:
        raise Refusal(ErrorCode.TOO_MANY_ITEMS, "5 pièces jointes au plus.", field="attachments")
    return cases.Contest(
        invoice_id=invoice_id,
        reason=enums.DisputeReason(data.reason),
        comment=data.comment,
        site_ids=tuple(pks_of(data.site_ids, "Site", "siteIds")) if data.site_ids else (),
        index=(
            cases.DisputedIndex(
                value=index.value,
                site_id=pk_of(index.site_id, "Site", "index.siteId"),
                register=enums.Register(index.register) if index.register else None,
                read_on=index.read_on,
            )
            if index is not None
            else None
        ),
        service_code=chorus.service_code if chorus else None,
        commitment_number=chorus.commitment_number if chorus else None,
        expected_siret=data.expected_siret,
        photo=(
            await _read(index.photo, cap, "index.photo")
            if index is not None and index.photo is not None
            else None
        ),
        attachments=tuple(
            [await _read(a, cap, f"attachments.{i}") for i, a in enumerate(attachments)]
        ),
    )


@strawberry.type
class InvoiceDisputeMutations:
    @strawberry.mutation(
        description="Conteste une facture de votre périmètre : motif, commentaire, sites "
        "concernés d'une facture groupée, chiffres contestés selon le motif, pièces jointes "
        "(requête multipart). Une référence est attribuée et un récapitulatif part par email. "
        "ALREADY_EXISTS si la facture est déjà contestée (le message nomme la contestation en "
        "cours) ; FORBIDDEN si votre habilitation ne permet que la consultation ; NOT_FOUND "
        "hors périmètre.",
        permission_classes=[IsAuthenticated],
        # The last extension runs outermost: the files are closed even when the guard refuses.
        extensions=[WritesData(), ClosesUpload()],
    )
    async def contest_invoice(
        self,
        info: strawberry.Info,
        input: Annotated[ContestInvoiceInput, strawberry.argument(description="La contestation.")],
    ) -> InvoiceDisputePayload:
        ctx = info.context

        async def work() -> InvoiceDispute:
            row = await cases.contest_invoice(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                contest=await _contest(input, ctx.settings.max_attachment_bytes),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return InvoiceDispute.from_row(row, paris_date(ctx.now))

        dispute, errors = await attempt(work)
        return InvoiceDisputePayload(invoice_dispute=dispute, errors=errors)

    @strawberry.mutation(
        description="Back-office : fait avancer une contestation (en analyse, avec le numéro de "
        "réclamation au distributeur le cas échéant ; résolue par la correction du motif ; "
        "rejetée avec l'explication). Une réédition corrige les références Chorus du compte et "
        "réimprime la facture sous le même numéro en gardant l'ancien PDF ; une annulation "
        "relie la facture d'annulation et la nouvelle facture (CORRECTION_TOO_OLD si elle "
        "charge davantage le client au-delà de sa limite de 2, 4 ou 5 ans). INVALID_STATE hors "
        "de la table des transitions.",
        permission_classes=[holds_tier(enums.Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def advance_invoice_dispute(
        self,
        info: strawberry.Info,
        input: Annotated[AdvanceInvoiceDisputeInput, strawberry.argument(description="L'étape.")],
    ) -> InvoiceDisputePayload:
        ctx = info.context

        async def work() -> InvoiceDispute:
            dispute_id = pk_of(input.dispute_id, "InvoiceDispute", "disputeId")
            assert dispute_id is not None
            row = await cases.advance_invoice_dispute(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                dispute_id=dispute_id,
                step=cases.DisputeStep(
                    to=enums.DisputeStatus(input.status),
                    note=input.note,
                    claim_number=input.distributor_claim_number,
                    correction=enums.DisputeCorrection(input.correction)
                    if input.correction
                    else None,
                    service_code=input.service_code,
                    commitment_number=input.commitment_number,
                    cancellation_number=input.cancellation_invoice_number,
                    reissued_number=input.reissued_invoice_number,
                ),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return InvoiceDispute.from_row(row, paris_date(ctx.now))

        dispute, errors = await attempt(work)
        return InvoiceDisputePayload(invoice_dispute=dispute, errors=errors)

    @strawberry.mutation(
        description="Exporte les contestations du filtre (les plus récentes d'abord) : "
        "référence, facture, montant, motif, statut Chorus Pro, dates, membre, état, "
        "correction, échéance et retard, réclamation, factures d'annulation et nouvelle.",
        permission_classes=[IsAuthenticated],
    )
    async def export_invoice_disputes(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportInvoiceDisputesInput,
            strawberry.argument(description="Export de la liste des contestations d'un filtre."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            FileFormat(input.format),
            lambda: cases.invoice_disputes_table(
                ctx.sessions, ctx.perimeter, to_query(input.filter), today=paris_date(ctx.now)
            ),
        )


INVOICE_DISPUTE_TYPES: tuple[type, ...] = (InvoiceDispute,)
