"""Technical requests in the schema: the `TechnicalRequest` node (site, events, attachments, due
dates), the tracking list, and the mutations (submit; abandon by the customer; advance by the
back office).

Rows come from `api/resolvers/technical_requests.py` with their site, member's legal name and
author joined; events and attachments come through one loader call per level of the answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay
from strawberry.extensions import FieldExtension
from strawberry.file_uploads import Upload

from api.graphql.downloads import signed_file_url
from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import capped_pks_of, key_of, pk_of
from api.graphql.loaders import request_loader
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData, holds_tier
from api.graphql.scalars import JsonObject
from api.resolvers import technical_request_review as review
from api.resolvers import technical_requests as cases
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.enums import Energy, Segment, TechnicalRequestType
from api.schema.exports import ExportFormat, ExportPayload, export_file
from api.schema.portfolio import Site
from documents.tables import FileFormat
from domain import enums
from domain.calendar import paris_date
from domain.errors import ErrorCode, Refusal
from domain.technical_request_workflow import STATUS_LABELS, Step
from domain.technical_requests import CATALOGUE, Characteristics

described_enum(
    enums.TechnicalRequestStatus,
    {
        enums.TechnicalRequestStatus.SUBMITTED: "Soumise : enregistrée, pas encore transmise "
        "au distributeur (le client peut encore l'annuler).",
        enums.TechnicalRequestStatus.FORWARDED: "Transmise au distributeur, qui a donné un "
        "numéro d'affaire (OMEGA chez GRDF, SGE chez Enedis).",
        enums.TechnicalRequestStatus.SCHEDULED: "Rendez-vous planifié (il peut être déplacé).",
        enums.TechnicalRequestStatus.DONE: "Intervention réalisée.",
        enums.TechnicalRequestStatus.ABANDONED: "Abandonnée, avec un motif.",
        enums.TechnicalRequestStatus.REJECTED: "Refusée, avec un motif.",
    },
    description="État d'une demande technique : soumise → transmise → planifiée → réalisée, "
    "ou abandonnée ou refusée.",
)
described_enum(
    cases.TechnicalRequestOrder,
    {
        cases.TechnicalRequestOrder.SUBMITTED_AT_DESC: "Les plus récentes d'abord (par défaut).",
        cases.TechnicalRequestOrder.SUBMITTED_AT_ASC: "Les plus anciennes d'abord.",
        cases.TechnicalRequestOrder.REFERENCE_ASC: "Par référence croissante.",
        cases.TechnicalRequestOrder.REFERENCE_DESC: "Par référence décroissante.",
        cases.TechnicalRequestOrder.MEMBER_ASC: "Par raison sociale du membre, de A à Z.",
        cases.TechnicalRequestOrder.MEMBER_DESC: "Par raison sociale du membre, de Z à A.",
        cases.TechnicalRequestOrder.POINT_NUMBER_ASC: "Par numéro de point (PRM / PCE) ; les "
        "sites à créer sans numéro d'abord.",
        cases.TechnicalRequestOrder.STATUS_ASC: "Par état, dans l'ordre du traitement "
        "(soumises, transmises, planifiées, réalisées, abandonnées, refusées).",
        cases.TechnicalRequestOrder.TYPE_ASC: "Par libellé du type de demande, de A à Z.",
    },
    description="Ordre de la liste des demandes techniques.",
)
TechnicalRequestStatus = enums.TechnicalRequestStatus
TechnicalRequestOrder = cases.TechnicalRequestOrder


@strawberry.type(description="Une étape de l'historique d'une demande technique.")
class TechnicalRequestEvent:
    status: TechnicalRequestStatus = strawberry.field(description="État atteint.")
    occurred_at: datetime = strawberry.field(description="Quand.")
    actor_name: str | None = strawberry.field(description="Qui (nom de la personne).")
    note: str | None = strawberry.field(description="Commentaire ou motif.")

    @classmethod
    def from_row(cls, r: Any) -> Self:
        return cls(
            status=r.status, occurred_at=r.occurred_at, actor_name=r.actor_name, note=r.comment
        )


@strawberry.type(description="Une pièce jointe d'une demande (ex. le bon de commande signé).")
class TechnicalRequestAttachment:
    filename: str = strawberry.field(description="Nom du fichier.")
    content_type: str = strawberry.field(description="Type du contenu (PDF, JPEG, PNG).")
    size_bytes: int = strawberry.field(description="Taille en octets.")
    sha256: str = strawberry.field(description="Empreinte SHA-256 du contenu.")
    created_at: datetime = strawberry.field(description="Date de dépôt.")
    download_url: str = strawberry.field(
        description="Lien signé de téléchargement, valable quelques minutes."
    )


@strawberry.type(description="Une demande technique au distributeur.")
class TechnicalRequest(relay.Node):
    id: relay.NodeID[int]
    reference: str = strawberry.field(description="Référence (ex. DT-2026-000123).")
    request_type: TechnicalRequestType = strawberry.field(description="Type de demande.")
    type_label: str = strawberry.field(description="Libellé du type, tel que l'écran le montre.")
    status: TechnicalRequestStatus = strawberry.field(description="État.")
    status_label: str = strawberry.field(description="Libellé de l'état.")
    energy: Energy = strawberry.field(description="Énergie.")
    point_number: str | None = strawberry.field(
        description="Numéro de point (PRM ou PCE) ; null pour un site à créer sans numéro."
    )
    site: Site | None = strawberry.field(
        description="Le site du portefeuille ; null pour une demande d'ajout de site."
    )
    member_legal_name: str = strawberry.field(description="Raison sociale du membre.")
    author_name: str | None = strawberry.field(description="Auteur de la demande.")
    contact_name: str = strawberry.field(description="Contact technique : nom.")
    contact_phone: str = strawberry.field(description="Contact technique : téléphone.")
    contact_email: str = strawberry.field(description="Contact technique : email.")
    characteristics: JsonObject = strawberry.field(
        description="Caractéristiques souhaitées : `desired_power_kva`, "
        "`desired_tariff_option`, `wished_dates` (dates ISO), `description`, selon le type."
    )
    new_site: JsonObject | None = strawberry.field(
        description="Le site à ajouter (`street`, `postcode`, `city`, `segment`, "
        "`green_share_pct`, `billing_label`) ; null pour un site du portefeuille."
    )
    comment: str | None = strawberry.field(description="Commentaire du demandeur.")
    distributor_case_number: str | None = strawberry.field(
        description="Numéro d'affaire du distributeur (OMEGA, SGE), une fois transmise."
    )
    appointment_at: datetime | None = strawberry.field(description="Rendez-vous planifié.")
    submitted_at: datetime = strawberry.field(description="Date de dépôt.")
    expected_on: date | None = strawberry.field(
        description="Date d'intervention visée (première date souhaitée, sinon le délai "
        "standard du distributeur en jours ouvrés)."
    )
    due_on: date | None = strawberry.field(
        description="Échéance de l'étape en cours : transmission au distributeur sous 2 jours "
        "ouvrés ; mise en service express sous 2 jours ouvrés une fois planifiée."
    )
    overdue: bool = strawberry.field(description="Vrai si l'échéance de l'étape est dépassée.")
    fee_excl_vat: Decimal | None = strawberry.field(
        description="Frais facturés par le distributeur une fois l'intervention faite (€ HT)."
    )
    done_on: date | None = strawberry.field(
        description="Jour de l'intervention, une fois réalisée (heure de Paris)."
    )
    commissioning_index: int | None = strawberry.field(
        description="Index de mise en service relevé par le distributeur, une fois la mise en "
        "service réalisée ; null pour les autres demandes."
    )

    @classmethod
    def from_row(cls, r: Any, today: date) -> Self:
        details = r.details or {}
        due, overdue = cases.due_dates(r, today)
        fee = details.get("fee_excl_vat")
        expected = details.get("expected_on")
        kind = enums.TechnicalRequestType(r.request_type)
        return cls(
            id=r.id,
            reference=r.reference,
            request_type=kind,
            type_label=CATALOGUE[kind].label,
            status=r.status,
            status_label=STATUS_LABELS[enums.TechnicalRequestStatus(r.status)],
            energy=r.energy,
            point_number=r.point_number,
            site=Site.from_row(r, "site__") if r.site__id is not None else None,
            member_legal_name=r.member_legal_name,
            author_name=r.author_name,
            contact_name=r.contact_name,
            contact_phone=r.contact_phone,
            contact_email=r.contact_email,
            characteristics=JsonObject(details.get("characteristics") or _legacy(details)),
            new_site=JsonObject(details["new_site"]) if details.get("new_site") else None,
            comment=r.comment,
            distributor_case_number=r.distributor_case_number,
            appointment_at=r.appointment_at,
            submitted_at=r.submitted_at,
            expected_on=date.fromisoformat(expected) if expected else None,
            due_on=due,
            overdue=overdue,
            fee_excl_vat=Decimal(fee) if fee else None,
            done_on=date.fromisoformat(done) if (done := details.get("done_on")) else None,
            commissioning_index=details.get("commissioning_index"),
        )

    @strawberry.field(description="L'historique, de la plus ancienne étape à la plus récente.")
    async def events(self, info: strawberry.Info) -> list[TechnicalRequestEvent]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[Any]]:
            return await cases.events_of_requests(ctx.sessions, ids)

        rows = await request_loader(ctx, "EventsByTechnicalRequestLoader", load).load(self.id)
        return [TechnicalRequestEvent.from_row(r) for r in rows]

    @strawberry.field(description="Les pièces jointes.")
    async def attachments(self, info: strawberry.Info) -> list[TechnicalRequestAttachment]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[Any]]:
            return await cases.attachments_of_requests(ctx.sessions, ids)

        rows = await request_loader(ctx, "AttachmentsByTechnicalRequestLoader", load).load(self.id)
        return [
            TechnicalRequestAttachment(
                filename=r.filename,
                content_type=r.content_type,
                size_bytes=r.size_bytes,
                sha256=r.sha256,
                created_at=r.created_at,
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
        rows = await cases.load_technical_requests(ctx.sessions, ctx.perimeter, ids)
        today = paris_date(ctx.now)
        return [cls.from_row(r, today) if r is not None else None for r in rows]


def _legacy(details: dict[str, Any]) -> dict[str, Any]:
    """Requests recorded before the form existed keep their characteristics at the top level."""
    return {k: v for k, v in details.items() if k not in ("new_site", "references")}


# -- the filter --------------------------------------------------------------------------------


@strawberry.input(description="Filtre des demandes techniques ; les critères se cumulent.")
class TechnicalRequestFilter:
    statuses: list[TechnicalRequestStatus] | None = strawberry.field(
        default=None, description="États ; tous si absent ou vide."
    )
    types: list[TechnicalRequestType] | None = strawberry.field(
        default=None, description="Types ; tous si absent ou vide."
    )
    site_id: relay.GlobalID | None = strawberry.field(default=None, description="Un site.")
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les membres demandeurs (100 au plus)."
    )
    submitted_from: date | None = strawberry.field(
        default=None, description="Déposées à partir de ce jour (inclus, heure de Paris)."
    )
    submitted_to: date | None = strawberry.field(
        default=None, description="Déposées jusqu'à ce jour (inclus, heure de Paris)."
    )
    overdue: bool | None = strawberry.field(
        default=None,
        description="Vrai : seulement les demandes dont l'échéance de l'étape en cours est "
        "dépassée (`overdue`) ; faux : seulement les autres.",
    )


def to_query(f: TechnicalRequestFilter | None, today: date) -> cases.TechnicalRequestQuery:
    if f is None:
        return cases.TechnicalRequestQuery()
    return cases.TechnicalRequestQuery(
        statuses=tuple(enums.TechnicalRequestStatus(s) for s in f.statuses or ()),
        types=tuple(enums.TechnicalRequestType(t) for t in f.types or ()),
        site_id=pk_of(f.site_id, "Site", "siteId"),
        member_ids=tuple(capped_pks_of(f.member_ids, "Member", "memberIds"))
        if f.member_ids
        else None,
        submitted_from=f.submitted_from,
        submitted_to=f.submitted_to,
        overdue=f.overdue,
        today=today,
    )


# -- queries -----------------------------------------------------------------------------------


@strawberry.type
class TechnicalRequestQueries:
    @strawberry.field(
        description="Les demandes techniques de votre périmètre (liste de suivi), par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def technical_requests(
        self,
        info: strawberry.Info,
        filter: Annotated[
            TechnicalRequestFilter | None,
            strawberry.argument(description="Filtre ; toutes les demandes s'il est absent."),
        ] = None,
        order_by: Annotated[
            TechnicalRequestOrder, strawberry.argument(description="Ordre de la liste.")
        ] = cases.TechnicalRequestOrder.SUBMITTED_AT_DESC,
        first: First = None,
        after: After = None,
    ) -> Connection[TechnicalRequest] | None:
        ctx = info.context
        size = page_size(first)
        cursor = decode_cursor(after)
        page = await cases.list_technical_requests(
            ctx.sessions,
            ctx.perimeter,
            to_query(filter, paris_date(ctx.now)),
            order=cases.TechnicalRequestOrder(order_by),
            first=size,
            after=cursor,
            with_count=selects(info, "totalCount"),
        )
        today = paris_date(ctx.now)
        return connection(
            [TechnicalRequest.from_row(r, today) for r in page.rows],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Une demande technique par sa référence (ex. DT-2026-000123) ; null si "
        "elle est inconnue ou hors périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def technical_request(
        self,
        info: strawberry.Info,
        reference: Annotated[str, strawberry.argument(description="La référence.")],
    ) -> TechnicalRequest | None:
        ctx = info.context
        row = await cases.technical_request_by_reference(ctx.sessions, ctx.perimeter, reference)
        return TechnicalRequest.from_row(row, paris_date(ctx.now)) if row is not None else None


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input(
    description="Le site du portefeuille visé, désigné d'une seule façon : identifiant, "
    "numéro de point ou référence client (code interne, désignation ou autre référence)."
)
class TechnicalRequestSiteInput:
    site_id: relay.GlobalID | None = strawberry.field(default=None, description="Le site.")
    point_number: str | None = strawberry.field(
        default=None, description="Son numéro de point (PRM ou PCE, 14 chiffres)."
    )
    customer_reference: str | None = strawberry.field(
        default=None, description="L'une de ses références client."
    )


@strawberry.input(description="Le site à ajouter au portefeuille.")
class NewSiteInput:
    point_number: str = strawberry.field(description="Numéro de point (14 chiffres).")
    street: str = strawberry.field(description="Adresse (numéro et voie).")
    postcode: str = strawberry.field(description="Code postal.")
    city: str = strawberry.field(description="Commune.")
    energy: Energy = strawberry.field(description="Énergie.")
    segment: Segment = strawberry.field(description="Segment d'acheminement.")
    billing_account_id: relay.GlobalID = strawberry.field(
        description="Le compte de contrat que le site rejoint."
    )
    green_share_pct: int = strawberry.field(
        default=0, description="Part d'énergie verte ou de biométhane (%, 0 à 100)."
    )


@strawberry.input(description="Le contact technique transmis au distributeur.")
class TechnicalContactInput:
    name: str = strawberry.field(description="Nom et prénom.")
    phone: str = strawberry.field(description="Téléphone.")
    email: str = strawberry.field(description="Email.")


@strawberry.input(description="Références client du site (imprimées sur les factures).")
class SiteReferencesInput:
    internal_code: str | None = strawberry.field(
        default=None, description="Code interne (35 caractères au plus)."
    )
    designation: str | None = strawberry.field(
        default=None, description="Désignation (35 caractères au plus)."
    )
    other_reference: str | None = strawberry.field(
        default=None, description="Autre référence (40 caractères au plus)."
    )


@strawberry.input(
    description="Caractéristiques souhaitées ; le catalogue (`catalogue.technicalRequestTypes"
    ".requiredCharacteristics`) dit lesquelles chaque type exige, les autres sont refusées."
)
class TechnicalRequestCharacteristicsInput:
    desired_power_kva: str | None = strawberry.field(
        default=None, description="Puissance souhaitée en kVA (ex. « 12 »), électricité."
    )
    desired_tariff_option: str | None = strawberry.field(
        default=None, description="Option tarifaire souhaitée (ex. « HP/HC », « T2 »)."
    )
    wished_dates: list[date] | None = strawberry.field(
        default=None,
        description="Dates de rendez-vous souhaitées (3 au plus) : jours ouvrés, pas avant le "
        "délai standard du distributeur.",
    )
    description: str | None = strawberry.field(
        default=None, description="Description de la demande (2 000 caractères au plus)."
    )


@strawberry.input(description="Une demande technique à déposer.")
class SubmitTechnicalRequestInput:
    request_type: TechnicalRequestType = strawberry.field(description="Type de demande.")
    site: TechnicalRequestSiteInput | None = strawberry.field(
        default=None, description="Le site du portefeuille (types sur un site existant)."
    )
    new_site: NewSiteInput | None = strawberry.field(
        default=None, description="Le site à ajouter (types d'ajout de site)."
    )
    contact: TechnicalContactInput = strawberry.field(description="Le contact technique.")
    references: SiteReferencesInput | None = strawberry.field(
        default=None, description="Les références client du site."
    )
    characteristics: TechnicalRequestCharacteristicsInput | None = strawberry.field(
        default=None, description="Les caractéristiques souhaitées."
    )
    comment: str | None = strawberry.field(
        default=None, description="Commentaire (accès, consignes ; 2 000 caractères au plus)."
    )


@strawberry.input(description="Annulation par le client d'une demande pas encore transmise.")
class AbandonTechnicalRequestInput:
    request_id: relay.GlobalID = strawberry.field(description="La demande.")
    reason: str = strawberry.field(description="Le motif (obligatoire).")


@strawberry.input(description="Une étape du traitement d'une demande par le back-office.")
class AdvanceTechnicalRequestInput:
    request_id: relay.GlobalID = strawberry.field(description="La demande.")
    status: TechnicalRequestStatus = strawberry.field(description="L'état visé.")
    note: str | None = strawberry.field(
        default=None, description="Commentaire ; motif obligatoire pour abandonner ou refuser."
    )
    case_number: str | None = strawberry.field(
        default=None,
        description="Numéro d'affaire du distributeur, pour transmettre (OMEGA…, SGE…).",
    )
    appointment_at: datetime | None = strawberry.field(
        default=None, description="Rendez-vous, pour planifier (ou replanifier)."
    )
    effective_at: datetime | None = strawberry.field(
        default=None, description="Date effective de l'intervention, pour la dire réalisée."
    )
    customer_absent: bool = strawberry.field(
        default=False,
        description="Client absent au rendez-vous : frais de déplacement vain facturés.",
    )
    commissioning_index: int | None = strawberry.field(
        default=None,
        description="Index de mise en service relevé par le distributeur : obligatoire pour "
        "dire réalisée une mise en service (simple, express ou d'un site ajouté) où le client "
        "était présent ; refusé pour toute autre étape.",
    )


@strawberry.input(description="Export de la liste de suivi des demandes techniques d'un filtre.")
class ExportTechnicalRequestsInput:
    filter: TechnicalRequestFilter | None = strawberry.field(
        default=None,
        description="Filtre des demandes ; toutes celles de votre périmètre s'il est absent.",
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.input(
    description="Le bilan annuel des demandes techniques : par membre et par type, le nombre "
    "de demandes, leur répartition par état et le délai médian du distributeur."
)
class ExportTechnicalRequestReviewInput:
    year: int = strawberry.field(description="L'année de dépôt des demandes (ex. 2026).")
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Les membres retenus (100 au plus) ; tous ceux de votre périmètre si absent.",
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.input(
    description="Un fichier à joindre à une demande (le bon de commande signé), envoyé selon "
    "la spécification « GraphQL multipart request »."
)
class AttachServiceOrderInput:
    technical_request_id: relay.GlobalID = strawberry.field(description="La demande.")
    file: Upload = strawberry.field(
        description="Le fichier : PDF, PNG ou JPEG (reconnu à son contenu), 10 Mo au plus "
        "par défaut (`COMPTOIR_MAX_ATTACHMENT_BYTES`)."
    )


def uploads_in(value: Any) -> list[Any]:
    """Every uploaded file an input holds, however deep (a file, a list of files, a file in a
    sub-input)."""
    if hasattr(value, "read") and hasattr(value, "close"):
        return [value]
    if isinstance(value, list | tuple):
        return [u for item in value for u in uploads_in(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [u for f in dataclasses.fields(value) for u in uploads_in(getattr(value, f.name))]
    return []


class ClosesUpload(FieldExtension):
    """Closes the uploaded files (spooled temporary files) once the mutation has answered,
    whether it read them or a guard answered first: strawberry hands the form's files over and
    never closes them."""

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: strawberry.Info,
        **kwargs: Any,
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        finally:
            for upload in uploads_in(kwargs.get("input")):
                await upload.close()


@strawberry.type(description="Résultat d'une action sur une demande technique.")
class TechnicalRequestPayload:
    technical_request: TechnicalRequest | None = strawberry.field(
        description="La demande après l'action."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


def _submission(data: SubmitTechnicalRequestInput) -> cases.Submission:
    site = data.site
    new = data.new_site
    refs = data.references
    wished = data.characteristics
    return cases.Submission(
        request_type=enums.TechnicalRequestType(data.request_type),
        contact=cases.Contact(data.contact.name, data.contact.phone, data.contact.email),
        site=(
            cases.SiteChoice(
                site_id=pk_of(site.site_id, "Site", "site.siteId"),
                point_number=site.point_number,
                customer_reference=site.customer_reference,
            )
            if site is not None
            else None
        ),
        new_site=(
            cases.NewSite(
                point_number=new.point_number,
                street=new.street,
                postcode=new.postcode,
                city=new.city,
                energy=enums.Energy(new.energy),
                segment=enums.Segment(new.segment),
                billing_account_id=pk_of(
                    new.billing_account_id, "BillingAccount", "newSite.billingAccountId"
                ),
                green_share_pct=new.green_share_pct,
            )
            if new is not None
            else None
        ),
        references=(
            {
                "internal_code": refs.internal_code,
                "designation": refs.designation,
                "other_reference": refs.other_reference,
            }
            if refs is not None
            else {}
        ),
        characteristics=(
            Characteristics(
                desired_power_kva=wished.desired_power_kva,
                desired_tariff_option=wished.desired_tariff_option,
                wished_dates=wished.wished_dates,
                description=wished.description,
            )
            if wished is not None
            else Characteristics()
        ),
        comment=data.comment,
    )


@strawberry.type
class TechnicalRequestMutations:
    @strawberry.mutation(
        description="Dépose une demande technique sur un site de votre périmètre ou pour un "
        "site à ajouter ; un récapitulatif part par email (FORBIDDEN si votre habilitation ne "
        "permet que la consultation ; NOT_FOUND hors périmètre).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def submit_technical_request(
        self,
        info: strawberry.Info,
        input: Annotated[
            SubmitTechnicalRequestInput, strawberry.argument(description="La demande.")
        ],
    ) -> TechnicalRequestPayload:
        ctx = info.context

        async def work() -> TechnicalRequest:
            row = await cases.submit_technical_request(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                submission=_submission(input),
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return TechnicalRequest.from_row(row, paris_date(ctx.now))

        request, errors = await attempt(work)
        return TechnicalRequestPayload(technical_request=request, errors=errors)

    @strawberry.mutation(
        description="Annule une demande pas encore transmise au distributeur (INVALID_STATE "
        "sinon), avec un motif.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def abandon_technical_request(
        self,
        info: strawberry.Info,
        input: Annotated[
            AbandonTechnicalRequestInput, strawberry.argument(description="La demande, le motif.")
        ],
    ) -> TechnicalRequestPayload:
        ctx = info.context

        async def work() -> TechnicalRequest:
            row = await cases.abandon_technical_request(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                request_id=pk_of(input.request_id, "TechnicalRequest", "requestId"),
                reason=input.reason,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return TechnicalRequest.from_row(row, paris_date(ctx.now))

        request, errors = await attempt(work)
        return TechnicalRequestPayload(technical_request=request, errors=errors)

    @strawberry.mutation(
        description="Back-office : fait avancer une demande d'une étape (transmise avec le "
        "numéro d'affaire, planifiée avec le rendez-vous, réalisée, abandonnée ou refusée avec "
        "un motif) ; INVALID_STATE hors de la table des transitions, le message nomme les "
        "états permis.",
        permission_classes=[holds_tier(enums.Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def advance_technical_request(
        self,
        info: strawberry.Info,
        input: Annotated[AdvanceTechnicalRequestInput, strawberry.argument(description="L'étape.")],
    ) -> TechnicalRequestPayload:
        ctx = info.context

        async def work() -> TechnicalRequest:
            row = await cases.advance_technical_request(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                request_id=pk_of(input.request_id, "TechnicalRequest", "requestId"),
                step=Step(
                    to=enums.TechnicalRequestStatus(input.status),
                    note=input.note,
                    case_number=input.case_number,
                    appointment_at=input.appointment_at,
                    effective_at=input.effective_at,
                    commissioning_index=input.commissioning_index,
                ),
                customer_absent=input.customer_absent,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return TechnicalRequest.from_row(row, paris_date(ctx.now))

        request, errors = await attempt(work)
        return TechnicalRequestPayload(technical_request=request, errors=errors)

    @strawberry.mutation(
        description="Joint un fichier (le bon de commande signé) à une demande de votre "
        "périmètre : PDF, PNG ou JPEG, reconnu à son contenu ; TOO_LONG au-delà de la taille "
        "permise, INVALID pour un autre format ; rien n'est stocké pour un fichier refusé.",
        permission_classes=[IsAuthenticated],
        # The last extension runs outermost: the file is closed even when the guard refuses.
        extensions=[WritesData(), ClosesUpload()],
    )
    async def attach_service_order(
        self,
        info: strawberry.Info,
        input: Annotated[
            AttachServiceOrderInput, strawberry.argument(description="La demande, le fichier.")
        ],
    ) -> TechnicalRequestPayload:
        ctx = info.context

        async def work() -> TechnicalRequest:
            upload: Any = input.file
            if not hasattr(upload, "read"):
                raise Refusal(
                    ErrorCode.INVALID,
                    "Envoyez le fichier en requête multipart (GraphQL multipart request).",
                    field="file",
                )
            # One byte more than allowed is enough to tell the file is too big.
            content = await upload.read(ctx.settings.max_attachment_bytes + 1)
            row = await cases.attach_file(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                request_id=pk_of(
                    input.technical_request_id, "TechnicalRequest", "technicalRequestId"
                ),
                filename=getattr(upload, "filename", None),
                content=content,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return TechnicalRequest.from_row(row, paris_date(ctx.now))

        request, errors = await attempt(work)
        return TechnicalRequestPayload(technical_request=request, errors=errors)

    @strawberry.mutation(
        description="Exporte la liste de suivi des demandes du filtre (les plus récentes "
        "d'abord) : référence, type, date de dépôt, raison sociale, point, rendez-vous, état, "
        "auteur, numéro d'affaire du distributeur, échéance et retard.",
        permission_classes=[IsAuthenticated],
    )
    async def export_technical_requests(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportTechnicalRequestsInput,
            strawberry.argument(
                description="Export de la liste de suivi des demandes techniques d'un filtre."
            ),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            FileFormat(input.format),
            lambda: cases.technical_requests_table(
                ctx.sessions,
                ctx.perimeter,
                to_query(input.filter, paris_date(ctx.now)),
                today=paris_date(ctx.now),
            ),
        )

    @strawberry.mutation(
        description="Exporte le bilan annuel des demandes techniques de votre périmètre : une "
        "ligne par membre et par type (nombre de demandes, répartition par état, délai médian "
        "en jours ouvrés entre le dépôt et l'intervention réalisée), puis une ligne par type "
        "pour l'ensemble des membres.",
        permission_classes=[IsAuthenticated],
    )
    async def export_technical_request_review(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportTechnicalRequestReviewInput,
            strawberry.argument(description="L'année, les membres, le format."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            FileFormat(input.format),
            lambda: review.yearly_review_table(
                ctx.sessions,
                ctx.perimeter,
                year=input.year,
                member_ids=(
                    capped_pks_of(input.member_ids, "Member", "memberIds")
                    if input.member_ids
                    else None
                ),
            ),
        )


TECHNICAL_REQUEST_TYPES: tuple[type, ...] = (TechnicalRequest,)
