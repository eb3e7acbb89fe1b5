"""The switch-time data collection in the schema: campaigns (the coordinator's view), the
member's journey (three steps, validation), reminders, exports and the closing.

Every change to a journey takes the `version` the person saw; a stale one answers
VERSION_CONFLICT (reload, then redo). The answer of every journey mutation is the journey as it
now stands, with its new version.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt, query_error
from api.graphql.ids import capped_pks_of, key_of, pk_of
from api.graphql.loaders import request_loader
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData, holds_tier
from api.resolvers import collection as cases
from api.resolvers import collection_closing as closing
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.enums import (
    BillingFrequency,
    Distributor,
    Energy,
    InvoiceDelivery,
    PaymentMethod,
    Segment,
)
from api.schema.exports import ExportFormat, ExportPayload, export_file
from domain import collection as rules
from domain.collection import JourneyStatus, JourneyStep, SiteDecision, SiteRefusalReason
from domain.enums import Tier
from domain.errors import ErrorCode, Refusal

described_enum(
    JourneyStatus,
    {
        JourneyStatus.NOT_STARTED: "Non commencé : le membre n'a encore rien enregistré.",
        JourneyStatus.IN_PROGRESS: "En cours : des réponses sont enregistrées, pas validées.",
        JourneyStatus.VALIDATED: "Validé : certifié et verrouillé (le service client peut le "
        "rouvrir).",
    },
    name="CollectionJourneyStatus",
    description="Avancement du parcours de collecte d'un membre.",
)
described_enum(
    JourneyStep,
    {
        JourneyStep.ADMINISTRATIVE: "Données administratives et contacts.",
        JourneyStep.PERIMETER: "Périmètre : chaque site confirmé ou refusé.",
        JourneyStep.BILLING: "Périmètres de facturation : chaque site confirmé dans un lot.",
    },
    name="CollectionStep",
    description="Une des trois étapes du parcours de collecte.",
)
described_enum(
    SiteDecision,
    {
        SiteDecision.PENDING: "À vérifier.",
        SiteDecision.CONFIRMED: "Bascule confirmée.",
        SiteDecision.REFUSED: "Refusé, avec un motif.",
    },
    name="CollectionSiteDecision",
    description="Ce que le membre a dit d'un site de son périmètre.",
)
described_enum(
    SiteRefusalReason,
    {
        SiteRefusalReason.NOT_OURS: "Le site ne relève pas du membre.",
        SiteRefusalReason.TERMINATED: "Le site ou son contrat est résilié.",
        SiteRefusalReason.OTHER: "Autre motif (précisé en commentaire).",
    },
    name="CollectionRefusalReason",
    description="Motif du refus d'un site.",
)
described_enum(
    rules.SwitchOutcome,
    {
        rules.SwitchOutcome.SWITCHED: "Basculé selon le parcours validé.",
        rules.SwitchOutcome.DEFAULTED: "Basculé avec les valeurs par défaut du marché.",
        rules.SwitchOutcome.REFUSED: "Refusé par le membre : non basculé.",
        rules.SwitchOutcome.ALREADY_IN_PORTFOLIO: "Déjà au portefeuille : inchangé.",
    },
    name="CollectionSwitchOutcome",
    description="Ce que la clôture a fait d'un site.",
)


# -- types -------------------------------------------------------------------------------------


@strawberry.type(description="Un contact (nom, email, téléphone).")
class CollectionContact:
    name: str | None = strawberry.field(description="Nom.")
    email: str | None = strawberry.field(description="Email.")
    phone: str | None = strawberry.field(description="Téléphone.")

    @classmethod
    def of(cls, data: Any) -> CollectionContact | None:
        if not data:
            return None
        return cls(name=data.get("name"), email=data.get("email"), phone=data.get("phone"))


@strawberry.type(description="Étape a : les données administratives saisies.")
class CollectionAdministrative:
    legal_name: str | None = strawberry.field(description="Raison sociale.")
    siren: str | None = strawberry.field(description="SIREN.")
    street: str | None = strawberry.field(description="Adresse : numéro et voie.")
    postcode: str | None = strawberry.field(description="Code postal.")
    city: str | None = strawberry.field(description="Commune.")
    main_contact: CollectionContact | None = strawberry.field(description="Contact principal.")
    billing_contact: CollectionContact | None = strawberry.field(description="Contact facturation.")
    technical_contact: CollectionContact | None = strawberry.field(description="Contact technique.")
    invoice_delivery: InvoiceDelivery | None = strawberry.field(description="Envoi des factures.")
    delivery_email: str | None = strawberry.field(description="Email de réception (EMAIL).")
    recipient_siret: str | None = strawberry.field(description="SIRET du destinataire.")
    chorus_service_code: str | None = strawberry.field(description="Chorus Pro : code service.")
    chorus_commitment_number: str | None = strawberry.field(
        description="Chorus Pro : numéro d'engagement."
    )

    @classmethod
    def of(cls, data: dict[str, Any]) -> CollectionAdministrative:
        delivery = data.get("invoiceDelivery")
        return cls(
            legal_name=data.get("legalName"),
            siren=data.get("siren"),
            street=data.get("street"),
            postcode=data.get("postcode"),
            city=data.get("city"),
            main_contact=CollectionContact.of(data.get("mainContact")),
            billing_contact=CollectionContact.of(data.get("billingContact")),
            technical_contact=CollectionContact.of(data.get("technicalContact")),
            invoice_delivery=InvoiceDelivery(delivery) if delivery else None,
            delivery_email=data.get("deliveryEmail"),
            recipient_siret=data.get("recipientSiret"),
            chorus_service_code=data.get("chorusServiceCode"),
            chorus_commitment_number=data.get("chorusCommitmentNumber"),
        )


@strawberry.type(description="Un site du périmètre d'un parcours de collecte.")
class CollectionSite(relay.Node):
    id: relay.NodeID[int]
    point_number: str = strawberry.field(description="PRM / PCE (14 chiffres).")
    prefilled: bool = strawberry.field(
        description="Issu des données du marché (sinon ajouté par le membre)."
    )
    energy: Energy = strawberry.field(description="Énergie.")
    distributor: Distributor = strawberry.field(description="Distributeur.")
    distributor_name: str = strawberry.field(description="Nom du distributeur.")
    segment: Segment = strawberry.field(description="Segment.")
    tariff_option: str = strawberry.field(description="Option tarifaire.")
    street: str = strawberry.field(description="Adresse du site.")
    postcode: str = strawberry.field(description="Code postal.")
    city: str = strawberry.field(description="Commune.")
    distributor_status: str = strawberry.field(description="Statut chez le distributeur.")
    activation_date: date | None = strawberry.field(
        description="Date de mise en service souhaitée (site ajouté)."
    )
    decision: SiteDecision = strawberry.field(description="Décision du membre.")
    refusal_reason: SiteRefusalReason | None = strawberry.field(description="Motif du refus.")
    refusal_comment: str | None = strawberry.field(description="Commentaire du refus.")
    internal_code: str | None = strawberry.field(description="Code interne (35 caractères).")
    designation: str | None = strawberry.field(description="Désignation (35 caractères).")
    other_reference: str | None = strawberry.field(description="Autre référence (40 caractères).")
    contact: CollectionContact | None = strawberry.field(description="Contact associé au site.")
    lot_id: relay.GlobalID | None = strawberry.field(
        description="Le périmètre de facturation du site (CollectionLot)."
    )
    lot_name: str | None = strawberry.field(description="Nom de ce périmètre.")
    outcome: rules.SwitchOutcome | None = strawberry.field(
        description="Résultat de la clôture (null avant)."
    )

    @classmethod
    def from_row(cls, site: Any, lot_name: str | None) -> Self:
        contact = (
            {"name": site.contact_name, "email": site.contact_email, "phone": site.contact_phone}
            if site.contact_name or site.contact_email or site.contact_phone
            else None
        )
        return cls(
            id=site.id,
            point_number=site.point_number,
            prefilled=site.prefilled,
            energy=site.energy,
            distributor=site.distributor,
            distributor_name=site.distributor_name,
            segment=site.segment,
            tariff_option=site.tariff_option,
            street=site.street,
            postcode=site.postcode,
            city=site.city,
            distributor_status=site.distributor_status,
            activation_date=site.activation_date,
            decision=site.decision,
            refusal_reason=site.refusal_reason,
            refusal_comment=site.refusal_comment,
            internal_code=site.internal_code,
            designation=site.designation,
            other_reference=site.other_reference,
            contact=CollectionContact.of(contact),
            lot_id=relay.GlobalID("CollectionLot", str(site.lot_id)) if site.lot_id else None,
            lot_name=lot_name,
            outcome=site.outcome,
        )

    @classmethod
    def resolve_nodes(  # type: ignore[override]  # sites are reached through their journey
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return [None for _ in node_ids]


@strawberry.type(description="Un périmètre de facturation (lot) d'un parcours de collecte.")
class CollectionLot(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Nom (le libellé des factures, 30 caractères).")
    segment: Segment = strawberry.field(
        description="Typologie de segment, partagée par tous ses sites."
    )
    multi_site: bool = strawberry.field(description="Multisite (sinon monosite).")
    payment_method: PaymentMethod = strawberry.field(description="Mode de paiement.")
    billing_frequency: BillingFrequency = strawberry.field(description="Fréquence.")
    invoice_delivery: InvoiceDelivery = strawberry.field(description="Envoi des factures.")
    green_share_pct: int = strawberry.field(description="Part verte (%).")
    site_count: int = strawberry.field(description="Sites rattachés.")
    defaulted: bool = strawberry.field(
        description="Créé à la clôture avec les valeurs par défaut du marché."
    )

    @classmethod
    def from_row(cls, lot: Any, count: int) -> Self:
        return cls(
            id=lot.id,
            name=lot.name,
            segment=lot.segment,
            multi_site=lot.is_multi_site,
            payment_method=lot.payment_method,
            billing_frequency=lot.billing_frequency,
            invoice_delivery=lot.invoice_delivery,
            green_share_pct=lot.green_share_pct,
            site_count=count,
            defaulted=lot.defaulted,
        )

    @classmethod
    def resolve_nodes(  # type: ignore[override]  # lots are reached through their journey
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return [None for _ in node_ids]


@strawberry.type(description="Ce qui manque encore pour valider le parcours.")
class CollectionMissingItem:
    step: JourneyStep = strawberry.field(description="L'étape.")
    field: str = strawberry.field(description="Le champ ou la liste en cause.")
    message: str = strawberry.field(description="Ce qu'il faut faire, en français.")


@strawberry.type(
    description="Le parcours de collecte d'un membre dans une campagne : trois étapes "
    "enregistrées au fil de l'eau, puis la validation."
)
class CollectionJourney(relay.Node):
    id: relay.NodeID[int]
    version: int = strawberry.field(
        description="Version : à renvoyer avec chaque modification (VERSION_CONFLICT si "
        "quelqu'un a enregistré entre-temps)."
    )
    status: JourneyStatus = strawberry.field(description="Avancement.")
    status_label: str = strawberry.field(description="Libellé de l'avancement.")
    member_id: relay.GlobalID = strawberry.field(description="Le membre (Member).")
    member_legal_name: str = strawberry.field(description="Raison sociale actuelle du membre.")
    member_customer_number: str = strawberry.field(description="N° client du membre.")
    campaign_id: relay.GlobalID = strawberry.field(description="La campagne.")
    campaign_name: str = strawberry.field(description="Nom de la campagne.")
    energy: Energy = strawberry.field(description="Énergie du lot.")
    opens_on: date = strawberry.field(description="Ouverture de la collecte.")
    closes_on: date = strawberry.field(description="Clôture de la collecte.")
    supply_start: date = strawberry.field(description="Début de fourniture.")
    steps_done: int = strawberry.field(description="Étapes terminées (sur 3).")
    steps_share_pct: float = strawberry.field(description="Part des étapes terminées (%).")
    sites_total: int = strawberry.field(description="Sites du périmètre.")
    sites_confirmed: int = strawberry.field(description="Sites confirmés.")
    sites_refused: int = strawberry.field(description="Sites refusés.")
    sites_confirmed_share_pct: float = strawberry.field(description="Part des sites confirmés (%).")
    started_at: datetime | None = strawberry.field(description="Première réponse.")
    updated_at: datetime | None = strawberry.field(description="Dernière réponse.")
    validated_at: datetime | None = strawberry.field(description="Validation.")
    closed_at: datetime | None = strawberry.field(
        description="Passage au portefeuille (clôture de la campagne)."
    )
    administrative: CollectionAdministrative | None = strawberry.field(
        description="Étape a : données administratives (null tant que rien n'est saisi)."
    )
    raw_administrative: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_row(cls, r: Any) -> Self:
        status = JourneyStatus(r.status)
        return cls(
            id=r.id,
            version=r.version,
            status=status,
            status_label=rules.JOURNEY_STATUS_LABELS[status],
            member_id=relay.GlobalID("Member", str(r.member_id)),
            member_legal_name=r.member_legal_name,
            member_customer_number=r.member_customer_number,
            campaign_id=relay.GlobalID("CollectionCampaign", str(r.campaign_id)),
            campaign_name=r.campaign_name,
            energy=r.campaign_energy,
            opens_on=r.opens_on,
            closes_on=r.closes_on,
            supply_start=r.supply_start,
            steps_done=r.steps_done,
            steps_share_pct=rules.share_pct(r.steps_done, rules.STEPS_TOTAL),
            sites_total=r.sites_total,
            sites_confirmed=r.sites_confirmed,
            sites_refused=r.sites_refused,
            sites_confirmed_share_pct=rules.share_pct(r.sites_confirmed, r.sites_total),
            started_at=r.started_at,
            updated_at=r.updated_at,
            validated_at=r.validated_at,
            closed_at=r.closed_at,
            administrative=CollectionAdministrative.of(r.administrative)
            if r.administrative
            else None,
            raw_administrative=r.administrative,
        )

    @strawberry.field(description="Étape b : les sites, par numéro de point.")
    async def sites(self, info: strawberry.Info) -> list[CollectionSite]:
        rows = await _sites_of(info, self.id)
        return [CollectionSite.from_row(site, lot_name) for site, lot_name in rows]

    @strawberry.field(description="Étape c : les périmètres de facturation, par nom.")
    async def lots(self, info: strawberry.Info) -> list[CollectionLot]:
        rows = await _lots_of(info, self.id)
        return [CollectionLot.from_row(lot, count) for lot, count in rows]

    @strawberry.field(
        description="Ce qui manque encore, étape par étape (vide : le parcours peut être validé)."
    )
    async def missing(self, info: strawberry.Info) -> list[CollectionMissingItem]:
        # From the same batched loads as `sites` and `lots`: a page of journeys asking for
        # what is missing costs no statement per journey.
        sites = await _sites_of(info, self.id)
        lots = await _lots_of(info, self.id)
        found = rules.missing_items(
            self.raw_administrative,
            [
                rules.SiteState(
                    site.id, site.point_number, site.segment, site.decision, site.lot_id
                )
                for site, _ in sites
            ],
            [rules.LotState(lot.id, lot.name, lot.segment, lot.is_multi_site) for lot, _ in lots],
        )
        return [CollectionMissingItem(step=m.step, field=m.field, message=m.message) for m in found]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # None for an id outside the perimeter
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        ctx = info.context
        rows = await cases.load_journeys(ctx.sessions, ctx.caller, ctx.perimeter, ids)
        return [cls.from_row(r) if r is not None else None for r in rows]


@strawberry.type(description="Fréquence de facturation par défaut d'un segment.")
class CollectionDefaultFrequency:
    segment: Segment = strawberry.field(description="Segment.")
    billing_frequency: BillingFrequency = strawberry.field(description="Fréquence.")


@strawberry.type(description="Ce qu'obtient un membre qui ne valide pas son parcours.")
class CollectionDefaults:
    payment_method: PaymentMethod = strawberry.field(description="Mode de paiement.")
    invoice_delivery: InvoiceDelivery = strawberry.field(description="Envoi des factures.")
    green_share_pct: int = strawberry.field(description="Part verte (%).")
    grouped_invoicing: bool = strawberry.field(
        description="Une facture par segment (sinon une par site)."
    )
    frequencies: list[CollectionDefaultFrequency] = strawberry.field(
        description="Fréquence par segment."
    )


@strawberry.type(description="Avancement d'une campagne.")
class CollectionProgress:
    members: int = strawberry.field(description="Membres de la campagne.")
    not_started: int = strawberry.field(description="Parcours non commencés.")
    in_progress: int = strawberry.field(description="Parcours en cours.")
    validated: int = strawberry.field(description="Parcours validés (les répondants).")
    non_respondents: int = strawberry.field(description="Membres sans parcours validé.")
    response_rate_pct: float = strawberry.field(description="Taux de réponse (% validés).")
    sites_total: int = strawberry.field(description="Sites des périmètres.")
    sites_confirmed: int = strawberry.field(description="Sites confirmés.")


@strawberry.type(
    description="Une campagne de collecte : un groupement, un lot d'énergie, ses dates, son "
    "périmètre pré-rempli et ses valeurs par défaut."
)
class CollectionCampaign(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Nom.")
    group_id: relay.GlobalID = strawberry.field(description="Le groupement.")
    energy: Energy = strawberry.field(description="Énergie du lot.")
    opens_on: date = strawberry.field(description="Ouverture de la collecte.")
    closes_on: date = strawberry.field(description="Clôture prévue.")
    supply_start: date = strawberry.field(description="Début de fourniture.")
    closed_at: datetime | None = strawberry.field(
        description="Clôture effective (passage au portefeuille)."
    )
    defaults: CollectionDefaults = strawberry.field(description="Valeurs par défaut.")
    progress: CollectionProgress = strawberry.field(description="Avancement.")

    @classmethod
    def of(cls, campaign: Any, progress: cases.Progress) -> Self:
        return cls(
            id=campaign.id,
            name=campaign.name,
            group_id=relay.GlobalID("Group", str(campaign.group_id)),
            energy=campaign.energy,
            opens_on=campaign.opens_on,
            closes_on=campaign.closes_on,
            supply_start=campaign.supply_start,
            closed_at=campaign.closed_at,
            defaults=CollectionDefaults(
                payment_method=campaign.default_payment_method,
                invoice_delivery=campaign.default_invoice_delivery,
                green_share_pct=campaign.default_green_share_pct,
                grouped_invoicing=campaign.default_grouped,
                frequencies=[
                    CollectionDefaultFrequency(
                        segment=Segment(k), billing_frequency=BillingFrequency(v)
                    )
                    for k, v in sorted((campaign.default_frequencies or {}).items())
                ],
            ),
            progress=CollectionProgress(
                members=progress.members,
                not_started=progress.not_started,
                in_progress=progress.in_progress,
                validated=progress.validated,
                non_respondents=progress.members - progress.validated,
                response_rate_pct=progress.response_rate,
                sites_total=progress.sites_total,
                sites_confirmed=progress.sites_confirmed,
            ),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # None for an id outside the perimeter
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [k for i in node_ids if (k := key_of(i)) is not None]
        ctx = info.context
        found = {
            c.id: cls.of(c, p)
            for c, p in await cases.list_campaigns(
                ctx.sessions, ctx.caller, ctx.perimeter, campaign_ids=ids
            )
        }
        return [found.get(k) if (k := key_of(i)) is not None else None for i in node_ids]


COLLECTION_TYPES: tuple[type, ...] = (CollectionJourney, CollectionCampaign)


async def _sites_of(info: strawberry.Info, journey_id: int) -> list[Any]:
    """A journey's sites through the request's batched loader."""
    ctx = info.context

    async def load(ids: Sequence[int]) -> list[list[Any]]:
        return await cases.sites_of_journeys(ctx.sessions, ids)

    rows: list[Any] = await request_loader(ctx, "CollectionSitesByJourneyLoader", load).load(
        journey_id
    )
    return rows


async def _lots_of(info: strawberry.Info, journey_id: int) -> list[Any]:
    """A journey's billing perimeters through the request's batched loader."""
    ctx = info.context

    async def load(ids: Sequence[int]) -> list[list[Any]]:
        return await cases.lots_of_journeys(ctx.sessions, ids)

    rows: list[Any] = await request_loader(ctx, "CollectionLotsByJourneyLoader", load).load(
        journey_id
    )
    return rows


# -- queries -----------------------------------------------------------------------------------


@strawberry.input(description="Filtre des parcours de collecte ; les critères se cumulent.")
class CollectionJourneyFilter:
    campaign_id: relay.GlobalID | None = strawberry.field(default=None, description="Une campagne.")
    statuses: list[JourneyStatus] | None = strawberry.field(
        default=None, description="Avancements ; tous si absent ou vide."
    )
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Des membres (100 au plus)."
    )
    search: str | None = strawberry.field(
        default=None, description="Dans la raison sociale ou le n° client (100 caractères)."
    )


def to_query(f: CollectionJourneyFilter | None) -> cases.JourneyQuery:
    if f is None:
        return cases.JourneyQuery()
    search = (f.search or "").strip() or None
    if search is not None and len(search) > 100:
        raise Refusal(ErrorCode.TOO_LONG, "100 caractères au plus.", field="search")
    return cases.JourneyQuery(
        campaign_id=pk_of(f.campaign_id, "CollectionCampaign", "campaignId"),
        statuses=tuple(JourneyStatus(s) for s in f.statuses or ()),
        member_ids=tuple(capped_pks_of(f.member_ids, "Member", "memberIds"))
        if f.member_ids
        else None,
        search=search,
    )


@strawberry.type
class CollectionQueries:
    @strawberry.field(
        description="Les campagnes de collecte que vous suivez (coordonnateur : celles de "
        "votre groupement ; service client : toutes), les plus récentes d'abord, avec leur "
        "avancement.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
    )
    async def collection_campaigns(self, info: strawberry.Info) -> list[CollectionCampaign]:
        ctx = info.context
        found = await cases.list_campaigns(ctx.sessions, ctx.caller, ctx.perimeter)
        return [CollectionCampaign.of(c, p) for c, p in found]

    @strawberry.field(
        description="Les parcours de collecte de votre périmètre : le vôtre (membre), ceux de "
        "votre groupement (coordonnateur), par raison sociale, par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def collection_journeys(
        self,
        info: strawberry.Info,
        filter: Annotated[
            CollectionJourneyFilter | None,
            strawberry.argument(description="Filtre ; tous les parcours s'il est absent."),
        ] = None,
        first: First = None,
        after: After = None,
    ) -> Connection[CollectionJourney] | None:
        ctx = info.context
        try:
            cursor = decode_cursor(after)
            page = await cases.list_journeys(
                ctx.sessions,
                ctx.caller,
                ctx.perimeter,
                to_query(filter),
                first=page_size(first),
                after=cursor,
                with_count=selects(info, "totalCount"),
            )
        except Refusal as refusal:
            raise query_error(refusal) from None
        return connection(
            [CollectionJourney.from_row(r) for r in page.rows],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input(description="Un site du périmètre pré-rempli (données du marché).")
class PrefilledSiteInput:
    point_number: str = strawberry.field(description="PRM / PCE (14 chiffres).")
    distributor: Distributor = strawberry.field(description="Distributeur.")
    distributor_name: str | None = strawberry.field(
        default=None, description="Nom (ELD) ; déduit pour GRDF et Enedis."
    )
    segment: Segment = strawberry.field(description="Segment.")
    tariff_option: str = strawberry.field(description="Option tarifaire (20 caractères).")
    street: str = strawberry.field(description="Adresse.")
    postcode: str = strawberry.field(description="Code postal.")
    city: str = strawberry.field(description="Commune.")
    distributor_status: str = strawberry.field(
        description="Statut chez le distributeur (ex. « En service », « Résilié »)."
    )
    transport_tariff: str | None = strawberry.field(
        default=None, description="Tarif d'acheminement."
    )
    profile: str | None = strawberry.field(default=None, description="Profil.")
    car_kwh: int = strawberry.field(default=0, description="Consommation de référence (kWh).")


@strawberry.input(description="Un membre du périmètre pré-rempli et ses sites.")
class PrefilledMemberInput:
    member_id: relay.GlobalID = strawberry.field(description="Le membre (du groupement).")
    sites: list[PrefilledSiteInput] = strawberry.field(description="Ses sites (100 au plus).")


@strawberry.input(description="Fréquence de facturation par défaut d'un segment.")
class DefaultFrequencyInput:
    segment: Segment = strawberry.field(description="Segment.")
    billing_frequency: BillingFrequency = strawberry.field(description="Fréquence.")


@strawberry.input(description="Une campagne de collecte à créer.")
class CreateCollectionCampaignInput:
    group_id: relay.GlobalID = strawberry.field(description="Le groupement.")
    energy: Energy = strawberry.field(description="Le lot d'énergie.")
    name: str = strawberry.field(description="Nom (200 caractères).")
    opens_on: date = strawberry.field(description="Ouverture.")
    closes_on: date = strawberry.field(description="Clôture prévue.")
    supply_start: date = strawberry.field(description="Début de fourniture.")
    default_payment_method: PaymentMethod = strawberry.field(
        default=PaymentMethod.TRANSFER, description="Paiement par défaut (virement)."
    )
    default_invoice_delivery: InvoiceDelivery = strawberry.field(
        default=InvoiceDelivery.POST, description="Envoi par défaut (courrier)."
    )
    default_green_share_pct: int = strawberry.field(
        default=0, description="Part verte par défaut (%)."
    )
    default_grouped_invoicing: bool = strawberry.field(
        default=False,
        description="Par défaut une facture par segment (sinon une par site).",
    )
    default_frequencies: list[DefaultFrequencyInput] | None = strawberry.field(
        default=None,
        description="Fréquences par segment ; à défaut mensuelle pour T3, T4 et C2–C4, "
        "bimestrielle pour T1, T2 et C5.",
    )
    members: list[PrefilledMemberInput] | None = strawberry.field(
        default=None, description="Le périmètre pré-rempli : membres et sites."
    )


@strawberry.type(description="Résultat d'une action sur une campagne.")
class CollectionCampaignPayload:
    campaign: CollectionCampaign | None = strawberry.field(description="La campagne.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type(description="Résultat d'une modification d'un parcours de collecte.")
class CollectionJourneyPayload:
    journey: CollectionJourney | None = strawberry.field(
        description="Le parcours tel qu'il est maintenant (nouvelle version)."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.input(description="Un contact.")
class CollectionContactInput:
    name: str | None = strawberry.field(default=None, description="Nom.")
    email: str | None = strawberry.field(default=None, description="Email.")
    phone: str | None = strawberry.field(default=None, description="Téléphone.")


@strawberry.input(
    description="Étape a : données administratives. Chaque valeur donnée est enregistrée ; "
    "une valeur absente garde celle déjà saisie."
)
class SaveCollectionAdministrativeInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")
    legal_name: str | None = strawberry.field(default=None, description="Raison sociale.")
    siren: str | None = strawberry.field(default=None, description="SIREN (9 chiffres).")
    street: str | None = strawberry.field(default=None, description="Numéro et voie.")
    postcode: str | None = strawberry.field(default=None, description="Code postal.")
    city: str | None = strawberry.field(default=None, description="Commune.")
    main_contact: CollectionContactInput | None = strawberry.field(
        default=None, description="Contact principal."
    )
    billing_contact: CollectionContactInput | None = strawberry.field(
        default=None, description="Contact facturation."
    )
    technical_contact: CollectionContactInput | None = strawberry.field(
        default=None, description="Contact technique."
    )
    invoice_delivery: InvoiceDelivery | None = strawberry.field(
        default=None, description="Envoi des factures : courrier, email ou Chorus Pro."
    )
    delivery_email: str | None = strawberry.field(
        default=None, description="Email qui reçoit les factures (EMAIL)."
    )
    recipient_siret: str | None = strawberry.field(
        default=None, description="SIRET du destinataire des factures (14 chiffres)."
    )
    chorus_service_code: str | None = strawberry.field(
        default=None, description="Chorus Pro : code service."
    )
    chorus_commitment_number: str | None = strawberry.field(
        default=None, description="Chorus Pro : numéro d'engagement."
    )


@strawberry.input(
    description="Étape b : une modification de sites, un ou plusieurs à la fois (chaque "
    "valeur donnée s'applique à tous les sites nommés ; un texte vide efface une référence)."
)
class UpdateCollectionSitesInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")
    site_ids: list[relay.GlobalID] = strawberry.field(description="Les sites (100 au plus).")
    decision: SiteDecision | None = strawberry.field(
        default=None, description="Confirmer la bascule, refuser, ou remettre à vérifier."
    )
    refusal_reason: SiteRefusalReason | None = strawberry.field(
        default=None, description="Motif, obligatoire pour refuser."
    )
    refusal_comment: str | None = strawberry.field(
        default=None, description="Commentaire du refus (200 caractères)."
    )
    internal_code: str | None = strawberry.field(default=None, description="Code interne (35).")
    designation: str | None = strawberry.field(default=None, description="Désignation (35).")
    other_reference: str | None = strawberry.field(
        default=None, description="Autre référence (40)."
    )
    contact: CollectionContactInput | None = strawberry.field(
        default=None, description="Le contact à associer à ces sites."
    )


@strawberry.input(description="Étape b : un site à ajouter au périmètre (confirmé d'office).")
class AddCollectionSiteInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")
    point_number: str = strawberry.field(description="PRM / PCE (14 chiffres).")
    distributor: Distributor = strawberry.field(description="Distributeur.")
    distributor_name: str | None = strawberry.field(default=None, description="Nom (ELD).")
    segment: Segment = strawberry.field(description="Segment.")
    tariff_option: str = strawberry.field(description="Option tarifaire.")
    street: str = strawberry.field(description="Adresse.")
    postcode: str = strawberry.field(description="Code postal.")
    city: str = strawberry.field(description="Commune.")
    activation_date: date = strawberry.field(description="Date de mise en service souhaitée.")
    internal_code: str | None = strawberry.field(default=None, description="Code interne (35).")
    designation: str | None = strawberry.field(default=None, description="Désignation (35).")


@strawberry.input(description="Étape c : un périmètre de facturation à créer ou modifier.")
class SaveCollectionLotInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")
    lot_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le périmètre à modifier ; absent pour en créer un."
    )
    name: str = strawberry.field(description="Nom : le libellé des factures (30 caractères).")
    segment: Segment = strawberry.field(description="Typologie de segment de tous ses sites.")
    multi_site: bool = strawberry.field(description="Multisite (sinon monosite).")
    payment_method: PaymentMethod = strawberry.field(description="Mode de paiement.")
    billing_frequency: BillingFrequency = strawberry.field(description="Fréquence.")
    invoice_delivery: InvoiceDelivery = strawberry.field(description="Envoi des factures.")
    green_share_pct: int = strawberry.field(default=0, description="Part verte (%).")


@strawberry.input(description="Étape c : supprimer un périmètre (ses sites sont détachés).")
class RemoveCollectionLotInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")
    lot_id: relay.GlobalID = strawberry.field(description="Le périmètre.")


@strawberry.input(
    description="Étape c : rattacher des sites à un périmètre en masse (ou les détacher : "
    "sans `lotId`)."
)
class AssignCollectionSitesInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")
    lot_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Le périmètre ; absent pour détacher."
    )
    site_ids: list[relay.GlobalID] = strawberry.field(description="Les sites (100 au plus).")


@strawberry.input(description="Un parcours et la version vue.")
class CollectionJourneyVersionInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours.")
    version: int = strawberry.field(description="La version sur laquelle vous travaillez.")


@strawberry.input(description="Un parcours à rouvrir.")
class UnlockCollectionJourneyInput:
    journey_id: relay.GlobalID = strawberry.field(description="Le parcours validé.")


@strawberry.input(description="Les relances d'une campagne.")
class SendCollectionRemindersInput:
    campaign_id: relay.GlobalID = strawberry.field(description="La campagne.")
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Des membres précis ; à défaut tous ceux qui n'ont pas validé.",
    )


@strawberry.type(description="Bilan d'un envoi de relances.")
class SendCollectionRemindersPayload:
    members: int = strawberry.field(description="Membres relancés (parcours non validé).")
    queued: int = strawberry.field(description="Mails mis en file d'envoi.")
    already_reminded_today: int = strawberry.field(
        description="Personnes déjà relancées aujourd'hui : rien n'est renvoyé."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.input(description="La campagne à clore.")
class CloseCollectionCampaignInput:
    campaign_id: relay.GlobalID = strawberry.field(description="La campagne.")


@strawberry.type(description="Bilan d'une clôture (ce que cet appel a fait).")
class CloseCollectionCampaignPayload:
    members_closed: int = strawberry.field(description="Membres passés au portefeuille.")
    sites_switched: int = strawberry.field(description="Sites basculés selon les parcours.")
    sites_defaulted: int = strawberry.field(
        description="Sites basculés avec les valeurs par défaut."
    )
    sites_refused: int = strawberry.field(description="Sites refusés (non basculés).")
    welcome_packs_queued: int = strawberry.field(description="Welcome Packs mis en file.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.input(description="Export du suivi d'une campagne.")
class ExportCollectionProgressInput:
    filter: CollectionJourneyFilter = strawberry.field(
        description="Filtre ; `campaignId` obligatoire."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.input(description="Le bilan de bascule d'une campagne close.")
class ExportCollectionSwitchReportInput:
    campaign_id: relay.GlobalID = strawberry.field(description="La campagne.")
    member_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Un membre ; tous à défaut."
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


def _prefilled(members: list[PrefilledMemberInput] | None) -> list[cases.PrefilledMember]:
    return [
        cases.PrefilledMember(
            member_id=pk_of(m.member_id, "Member", "members"),
            sites=[
                cases.PrefilledSite(
                    point_number=s.point_number,
                    distributor=s.distributor,
                    distributor_name=s.distributor_name,
                    segment=s.segment,
                    tariff_option=s.tariff_option,
                    street=s.street,
                    postcode=s.postcode,
                    city=s.city,
                    distributor_status=s.distributor_status,
                    transport_tariff=s.transport_tariff,
                    profile=s.profile,
                    car_kwh=s.car_kwh,
                )
                for s in m.sites
            ],
        )
        for m in members or []
    ]


@strawberry.input(description="Des membres à ajouter au périmètre pré-rempli d'une campagne.")
class AddCollectionCampaignMembersInput:
    campaign_id: relay.GlobalID = strawberry.field(description="La campagne.")
    members: list[PrefilledMemberInput] = strawberry.field(
        description="Membres et sites (100 membres au plus par appel)."
    )


def _journey_pk(value: relay.GlobalID) -> int:
    return pk_of(value, "CollectionJourney", "journeyId")


def _site_pks(values: list[relay.GlobalID]) -> list[int]:
    return capped_pks_of(values, "CollectionSite", "siteIds")


async def _journey_payload(
    info: strawberry.Info, work: Callable[[], Awaitable[int]]
) -> CollectionJourneyPayload:
    journey_id, errors = await attempt(work)
    if journey_id is None:
        return CollectionJourneyPayload(journey=None, errors=errors)
    ctx = info.context
    rows = await cases.load_journeys(ctx.sessions, ctx.caller, ctx.perimeter, [journey_id])
    journey = CollectionJourney.from_row(rows[0]) if rows[0] is not None else None
    return CollectionJourneyPayload(journey=journey, errors=[])


def _contact(value: CollectionContactInput | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"name": value.name, "email": value.email, "phone": value.phone}


_CUSTOMERS = [holds_tier(Tier.USER, Tier.ADMIN)]


@strawberry.type
class CollectionMutations:
    @strawberry.mutation(
        description="Crée une campagne de collecte (service client : tout groupement ; "
        "coordonnateur : le sien), avec son périmètre pré-rempli.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def create_collection_campaign(
        self,
        info: strawberry.Info,
        input: Annotated[
            CreateCollectionCampaignInput, strawberry.argument(description="La campagne.")
        ],
    ) -> CollectionCampaignPayload:
        ctx = info.context

        async def work() -> CollectionCampaign | None:
            data = cases.NewCampaign(
                group_id=pk_of(input.group_id, "Group", "groupId"),
                energy=input.energy,
                name=input.name,
                opens_on=input.opens_on,
                closes_on=input.closes_on,
                supply_start=input.supply_start,
                payment_method=input.default_payment_method,
                invoice_delivery=input.default_invoice_delivery,
                green_share_pct=input.default_green_share_pct,
                grouped=input.default_grouped_invoicing,
                frequencies={
                    f.segment: f.billing_frequency for f in input.default_frequencies or []
                },
                members=_prefilled(input.members),
            )
            campaign_id = await cases.create_campaign(
                ctx.sessions,
                ctx.caller,
                data=data,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            found = await cases.list_campaigns(
                ctx.sessions, ctx.caller, ctx.perimeter, campaign_ids=[campaign_id]
            )
            return CollectionCampaign.of(*found[0]) if found else None

        campaign, errors = await attempt(work)
        return CollectionCampaignPayload(campaign=campaign, errors=errors)

    @strawberry.mutation(
        description="Ajoute des membres et leurs sites au périmètre pré-rempli d'une campagne "
        "ouverte (pour un périmètre de plus de 100 membres, appel après appel).",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def add_collection_campaign_members(
        self,
        info: strawberry.Info,
        input: Annotated[
            AddCollectionCampaignMembersInput, strawberry.argument(description="Les membres.")
        ],
    ) -> CollectionCampaignPayload:
        ctx = info.context

        async def work() -> CollectionCampaign | None:
            campaign_id = await cases.add_campaign_members(
                ctx.sessions,
                ctx.caller,
                campaign_id=pk_of(input.campaign_id, "CollectionCampaign", "campaignId"),
                members=_prefilled(input.members),
                now=ctx.now,
            )
            found = await cases.list_campaigns(
                ctx.sessions, ctx.caller, ctx.perimeter, campaign_ids=[campaign_id]
            )
            return CollectionCampaign.of(*found[0]) if found else None

        campaign, errors = await attempt(work)
        return CollectionCampaignPayload(campaign=campaign, errors=errors)

    @strawberry.mutation(
        description="Étape a : enregistre les données administratives du parcours.",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def save_collection_administrative(
        self,
        info: strawberry.Info,
        input: Annotated[
            SaveCollectionAdministrativeInput, strawberry.argument(description="Les données.")
        ],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            data = {
                "legalName": input.legal_name,
                "siren": input.siren,
                "street": input.street,
                "postcode": input.postcode,
                "city": input.city,
                "mainContact": _contact(input.main_contact),
                "billingContact": _contact(input.billing_contact),
                "technicalContact": _contact(input.technical_contact),
                "invoiceDelivery": input.invoice_delivery.value if input.invoice_delivery else None,
                "deliveryEmail": input.delivery_email,
                "recipientSiret": input.recipient_siret,
                "chorusServiceCode": input.chorus_service_code,
                "chorusCommitmentNumber": input.chorus_commitment_number,
            }
            return await cases.save_administrative(
                ctx.sessions,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                data=data,
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Étape b : confirme, refuse ou complète des sites, un ou plusieurs à la "
        "fois, ou leur associe un contact.",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def update_collection_sites(
        self,
        info: strawberry.Info,
        input: Annotated[
            UpdateCollectionSitesInput, strawberry.argument(description="La modification.")
        ],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.update_sites(
                ctx.sessions,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                site_ids=_site_pks(input.site_ids),
                changes=cases.SiteChanges(
                    decision=input.decision,
                    refusal_reason=input.refusal_reason,
                    refusal_comment=input.refusal_comment,
                    references={
                        "internal_code": input.internal_code,
                        "designation": input.designation,
                        "other_reference": input.other_reference,
                    },
                    contact=_contact(input.contact),
                ),
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Étape b : ajoute un site au périmètre (numéro de point à 14 chiffres).",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def add_collection_site(
        self,
        info: strawberry.Info,
        input: Annotated[AddCollectionSiteInput, strawberry.argument(description="Le site.")],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.add_site(
                ctx.sessions,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                site=cases.AddedSite(
                    point_number=input.point_number,
                    distributor=input.distributor,
                    distributor_name=input.distributor_name,
                    segment=input.segment,
                    tariff_option=input.tariff_option,
                    street=input.street,
                    postcode=input.postcode,
                    city=input.city,
                    activation_date=input.activation_date,
                    internal_code=input.internal_code,
                    designation=input.designation,
                ),
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Étape c : crée ou modifie un périmètre de facturation.",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def save_collection_lot(
        self,
        info: strawberry.Info,
        input: Annotated[SaveCollectionLotInput, strawberry.argument(description="Le lot.")],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.save_lot(
                ctx.sessions,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                lot_id=pk_of(input.lot_id, "CollectionLot", "lotId"),
                data=cases.LotData(
                    name=input.name,
                    segment=input.segment,
                    multi_site=input.multi_site,
                    payment_method=input.payment_method,
                    billing_frequency=input.billing_frequency,
                    invoice_delivery=input.invoice_delivery,
                    green_share_pct=input.green_share_pct,
                ),
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Étape c : supprime un périmètre de facturation (ses sites sont détachés).",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def remove_collection_lot(
        self,
        info: strawberry.Info,
        input: Annotated[RemoveCollectionLotInput, strawberry.argument(description="Le lot.")],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.remove_lot(
                ctx.sessions,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                lot_id=pk_of(input.lot_id, "CollectionLot", "lotId"),
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Étape c : rattache des sites à un périmètre (ou les détache), en masse ; "
        "chaque site doit être confirmé et du segment du périmètre.",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def assign_collection_sites(
        self,
        info: strawberry.Info,
        input: Annotated[
            AssignCollectionSitesInput, strawberry.argument(description="Le rattachement.")
        ],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.assign_sites(
                ctx.sessions,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                lot_id=pk_of(input.lot_id, "CollectionLot", "lotId"),
                site_ids=_site_pks(input.site_ids),
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Valide le parcours (« valider mon parcours ») : il est certifié et "
        "verrouillé, et un mail apporte les données collectées (XLSX). Incomplet, il est "
        "refusé avec une erreur JOURNEY_INCOMPLETE par chose manquante.",
        permission_classes=_CUSTOMERS,
        extensions=[WritesData()],
    )
    async def validate_collection_journey(
        self,
        info: strawberry.Info,
        input: Annotated[
            CollectionJourneyVersionInput, strawberry.argument(description="Le parcours.")
        ],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.validate_journey(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                journey_id=_journey_pk(input.journey_id),
                version=input.version,
                now=ctx.now,
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Rouvre un parcours validé (service client).",
        permission_classes=[holds_tier(Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def unlock_collection_journey(
        self,
        info: strawberry.Info,
        input: Annotated[
            UnlockCollectionJourneyInput, strawberry.argument(description="Le parcours.")
        ],
    ) -> CollectionJourneyPayload:
        ctx = info.context

        async def work() -> int:
            return await cases.unlock_journey(
                ctx.sessions, ctx.caller, journey_id=_journey_pk(input.journey_id), now=ctx.now
            )

        return await _journey_payload(info, work)

    @strawberry.mutation(
        description="Relance par mail les membres qui n'ont pas validé (ou ceux choisis) ; "
        "jamais deux fois le même jour à une même personne.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def send_collection_reminders(
        self,
        info: strawberry.Info,
        input: Annotated[
            SendCollectionRemindersInput, strawberry.argument(description="Les relances.")
        ],
    ) -> SendCollectionRemindersPayload:
        ctx = info.context

        async def work() -> closing.ReminderReport:
            return await closing.send_reminders(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                ctx.perimeter,
                campaign_id=pk_of(input.campaign_id, "CollectionCampaign", "campaignId"),
                member_ids=capped_pks_of(input.member_ids, "Member", "memberIds"),
                now=ctx.now,
            )

        report, errors = await attempt(work)
        report = report or closing.ReminderReport()
        return SendCollectionRemindersPayload(
            members=report.members,
            queued=report.queued,
            already_reminded_today=report.already_reminded_today,
            errors=errors,
        )

    @strawberry.mutation(
        description="Clôt la campagne (service client) : les parcours validés deviennent le "
        "portefeuille, les autres reçoivent les valeurs par défaut, les Welcome Packs partent. "
        "Atomique par membre ; une seconde clôture ne change rien.",
        permission_classes=[holds_tier(Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def close_collection_campaign(
        self,
        info: strawberry.Info,
        input: Annotated[
            CloseCollectionCampaignInput, strawberry.argument(description="La campagne.")
        ],
    ) -> CloseCollectionCampaignPayload:
        ctx = info.context

        async def work() -> closing.ClosingReport:
            return await closing.close_campaign(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                campaign_id=pk_of(input.campaign_id, "CollectionCampaign", "campaignId"),
                now=ctx.now,
            )

        report, errors = await attempt(work)
        report = report or closing.ClosingReport()
        return CloseCollectionCampaignPayload(
            members_closed=report.members_closed,
            sites_switched=report.sites_switched,
            sites_defaulted=report.sites_defaulted,
            sites_refused=report.sites_refused,
            welcome_packs_queued=report.welcome_packs_queued,
            errors=errors,
        )

    @strawberry.mutation(
        description="Exporte le suivi d'une campagne : un membre par ligne, avancement, "
        "étapes et sites confirmés.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
    )
    async def export_collection_progress(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportCollectionProgressInput, strawberry.argument(description="L'export.")
        ],
    ) -> ExportPayload:
        ctx = info.context

        async def describe() -> Any:
            criteria = to_query(input.filter)
            if criteria.campaign_id is None:
                raise Refusal(ErrorCode.REQUIRED, "Choisissez une campagne.", field="campaignId")
            return await closing.progress_table(ctx.sessions, ctx.caller, ctx.perimeter, criteria)

        return await export_file(info, input.format, describe)

    @strawberry.mutation(
        description="Exporte le bilan de bascule d'une campagne close : par membre, chaque "
        "site basculé, basculé par défaut ou refusé.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
    )
    async def export_collection_switch_report(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportCollectionSwitchReportInput, strawberry.argument(description="L'export.")
        ],
    ) -> ExportPayload:
        ctx = info.context

        async def describe() -> Any:
            return await closing.switch_report_table(
                ctx.sessions,
                ctx.caller,
                ctx.perimeter,
                campaign_id=pk_of(input.campaign_id, "CollectionCampaign", "campaignId"),
                member_id=pk_of(input.member_id, "Member", "memberId"),
            )

        return await export_file(info, input.format, describe)
