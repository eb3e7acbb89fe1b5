"""Tariff optimisation in the schema: the `OptimisationProposal` node, its list and file, the
member's answer (accept: the "Optimisation" technical request is filed; decline), the ADMIN's
campaign and the yearly record of the optimisations carried out.

Rows come from `api/resolvers/optimisation.py` with their site, member's legal name, state and
technical request joined; the request itself comes through one loader call per page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import capped_pks_of, key_of, pk_of
from api.graphql.loaders import request_loader
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData, holds_tier
from api.resolvers import optimisation as cases
from api.resolvers import technical_requests as request_cases
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.enums import Energy
from api.schema.exports import ExportFormat, ExportPayload, export_file
from api.schema.portfolio import Site
from api.schema.technical_requests import TechnicalContactInput, TechnicalRequest
from documents.tables import FileFormat
from domain import enums
from domain.calendar import paris_date
from domain.errors import ErrorCode, Refusal
from domain.optimisation import ConsumptionBasis, OptionPrice, ProposalState

described_enum(
    ProposalState,
    {
        ProposalState.PROPOSED: "En attente de la réponse du membre (30 jours).",
        ProposalState.EXPIRED: "Sans réponse dans les 30 jours : reprise à la prochaine étude.",
        ProposalState.ACCEPTED: "Acceptée : la demande technique « Optimisation » est en cours "
        "chez le distributeur.",
        ProposalState.CARRIED_OUT: "Réalisée : le distributeur a changé l'option (demande "
        "réalisée).",
        ProposalState.CANCELLED: "Acceptée, mais la demande technique a été abandonnée ou refusée.",
        ProposalState.DECLINED: "Refusée par le membre.",
        ProposalState.SUPERSEDED: "Remplacée par une étude plus récente du même site.",
    },
    description="Où en est une proposition d'optimisation tarifaire.",
    name="OptimisationState",
)
described_enum(
    ConsumptionBasis,
    {
        ConsumptionBasis.CAR: "La consommation annuelle de référence (CAR) du distributeur.",
        ConsumptionBasis.READINGS: "Les 12 derniers mois de relevés réels, ramenés à 365 jours.",
    },
    description="D'où vient la consommation annuelle retenue par l'étude.",
    name="ConsumptionBasis",
)
described_enum(
    cases.ProposalOrder,
    {
        cases.ProposalOrder.NET_GAIN_DESC: "Le plus grand gain net d'abord (par défaut).",
        cases.ProposalOrder.NET_GAIN_ASC: "Le plus petit gain net d'abord.",
        cases.ProposalOrder.GROSS_GAIN_DESC: "Le plus grand gain brut d'abord.",
    },
    description="Ordre de la liste des propositions d'optimisation.",
    name="OptimisationOrder",
)
OptimisationState = ProposalState
OptimisationBasis = ConsumptionBasis
OptimisationOrder = cases.ProposalOrder


def _label(option: str, kva: Decimal | None) -> str:
    return OptionPrice(option, Decimal(0), {}, Decimal(0), kva).label


@strawberry.type(description="Le coût annuel d'une option permise au site.")
class OptimisationOptionCost:
    option: str = strawberry.field(description="L'option (T1…T4, BASE, HP/HC).")
    subscribed_power_kva: Decimal | None = strawberry.field(
        description="La puissance souscrite (électricité)."
    )
    label: str = strawberry.field(description="Libellé (ex. « HP/HC 9 kVA »).")
    yearly_cost: Decimal = strawberry.field(
        description="Coût annuel d'acheminement et de CTA (€ HT), pour la consommation retenue."
    )


@strawberry.type(
    description="Une proposition d'optimisation tarifaire d'un site : son option actuelle, "
    "l'option proposée, la consommation retenue, les coûts et les gains."
)
class OptimisationProposal(relay.Node):
    id: relay.NodeID[int]
    site: Site = strawberry.field(description="Le site étudié.")
    point_number: str = strawberry.field(description="Numéro de point (PRM ou PCE).")
    member_legal_name: str = strawberry.field(description="Raison sociale du membre.")
    energy: Energy = strawberry.field(description="Énergie.")
    current_option: str = strawberry.field(description="Option actuelle.")
    current_option_label: str = strawberry.field(description="Option actuelle, libellé.")
    proposed_option: str = strawberry.field(description="Option proposée.")
    proposed_option_label: str = strawberry.field(description="Option proposée, libellé.")
    subscribed_power_kva: Decimal | None = strawberry.field(
        description="Puissance souscrite (électricité ; inchangée par la proposition)."
    )
    consumption_kwh: int = strawberry.field(description="Consommation annuelle retenue (kWh).")
    consumption_basis: OptimisationBasis = strawberry.field(
        description="D'où vient cette consommation (CAR ou relevés réels)."
    )
    consumption_from: date | None = strawberry.field(
        description="Début de la fenêtre de relevés (relevés réels seulement)."
    )
    consumption_to: date | None = strawberry.field(
        description="Fin de la fenêtre de relevés (relevés réels seulement)."
    )
    current_yearly_cost: Decimal = strawberry.field(
        description="Coût annuel avec l'option actuelle (€ HT)."
    )
    proposed_yearly_cost: Decimal = strawberry.field(
        description="Coût annuel avec l'option proposée (€ HT)."
    )
    gross_gain: Decimal = strawberry.field(description="Gain annuel brut (€ HT).")
    fees: Decimal = strawberry.field(
        description="Frais ponctuels : changement d'option et relevé spécial (€ HT)."
    )
    net_gain: Decimal = strawberry.field(
        description="Gain de la première année, frais déduits (€ HT)."
    )
    options: list[OptimisationOptionCost] = strawberry.field(
        description="Le coût annuel de chaque option permise, l'actuelle comprise."
    )
    grid_version: str = strawberry.field(description="Version de la grille tarifaire utilisée.")
    threshold: Decimal = strawberry.field(description="Seuil de gain net de l'étude (€ HT).")
    proposed_on: date = strawberry.field(description="Date de l'étude.")
    answer_by: date = strawberry.field(description="Date limite de réponse (30 jours).")
    state: OptimisationState = strawberry.field(description="Où en est la proposition.")
    state_label: str = strawberry.field(description="Libellé de l'état.")
    answered_at: datetime | None = strawberry.field(description="Date de la réponse.")
    answer_comment: str | None = strawberry.field(description="Commentaire ou motif du membre.")
    technical_request_reference: str | None = strawberry.field(
        description="Référence de la demande technique « Optimisation », une fois acceptée."
    )
    expected_change_on: date | None = strawberry.field(
        description="Date de changement visée (délai du distributeur, 28 jours au moins)."
    )
    changed_on: date | None = strawberry.field(
        description="Date du changement, une fois la demande réalisée."
    )
    technical_request_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: Any) -> Self:
        state = ProposalState(r.state)
        return cls(
            id=r.id,
            site=Site.from_row(r, "site__"),
            point_number=r.site__point_number,
            member_legal_name=r.member_legal_name,
            energy=r.energy,
            current_option=r.current_option,
            current_option_label=_label(r.current_option, r.current_power_kva),
            proposed_option=r.proposed_option,
            proposed_option_label=_label(r.proposed_option, r.proposed_power_kva),
            subscribed_power_kva=r.current_power_kva,
            consumption_kwh=r.consumption_kwh,
            consumption_basis=ConsumptionBasis(r.consumption_basis),
            consumption_from=r.consumption_from,
            consumption_to=r.consumption_to,
            current_yearly_cost=r.current_cost,
            proposed_yearly_cost=r.proposed_cost,
            gross_gain=r.gross_gain,
            fees=r.fees,
            net_gain=r.net_gain,
            options=[
                OptimisationOptionCost(
                    option=o["option"],
                    subscribed_power_kva=(
                        Decimal(o["subscribed_power_kva"])
                        if o.get("subscribed_power_kva") is not None
                        else None
                    ),
                    label=_label(
                        o["option"],
                        Decimal(o["subscribed_power_kva"])
                        if o.get("subscribed_power_kva") is not None
                        else None,
                    ),
                    yearly_cost=Decimal(o["yearly_cost"]),
                )
                for o in r.options
            ],
            grid_version=r.grid_version,
            threshold=r.campaign_threshold,
            proposed_on=r.proposed_on,
            answer_by=r.answer_by,
            state=state,
            state_label=cases.STATE_LABELS[state],
            answered_at=r.answered_at,
            answer_comment=r.answer_comment,
            technical_request_reference=r.request_reference,
            expected_change_on=cases.expected_change_date(r),
            changed_on=cases.change_date(r),
            technical_request_id=r.technical_request_id,
        )

    @strawberry.field(description="La demande technique « Optimisation » déposée à l'acceptation.")
    async def technical_request(self, info: strawberry.Info) -> TechnicalRequest | None:
        if self.technical_request_id is None:
            return None
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[Any]:
            return await request_cases.load_technical_requests(ctx.sessions, ctx.perimeter, ids)

        row = await request_loader(ctx, "TechnicalRequestByIdLoader", load).load(
            self.technical_request_id
        )
        return TechnicalRequest.from_row(row, paris_date(ctx.now)) if row is not None else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # None for an id outside the perimeter
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        ctx = info.context
        rows = await cases.load_proposals(
            ctx.sessions, ctx.perimeter, ids, today=paris_date(ctx.now)
        )
        return [cls.from_row(r) if r is not None else None for r in rows]


@strawberry.type(description="Une optimisation tarifaire réalisée (relevé annuel).")
class CarriedOutOptimisation:
    proposal: OptimisationProposal = strawberry.field(description="La proposition acceptée.")
    point_number: str = strawberry.field(description="Numéro de point (PRM ou PCE).")
    member_legal_name: str = strawberry.field(description="Raison sociale du membre.")
    nature: str = strawberry.field(description="Le changement (ex. « T3 → T2 »).")
    changed_on: date = strawberry.field(description="Date du changement par le distributeur.")
    net_gain: Decimal = strawberry.field(description="Gain net estimé la première année (€ HT).")


# -- the filter --------------------------------------------------------------------------------


@strawberry.input(description="Filtre des propositions d'optimisation ; les critères se cumulent.")
class OptimisationProposalFilter:
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les membres (100 au plus)."
    )
    site_id: relay.GlobalID | None = strawberry.field(default=None, description="Un site.")
    energy: Energy | None = strawberry.field(default=None, description="Une énergie.")
    states: list[OptimisationState] | None = strawberry.field(
        default=None, description="États ; tous si absent ou vide."
    )
    min_net_gain: Decimal | None = strawberry.field(
        default=None, description="Gain net minimal (€ HT)."
    )


def to_query(f: OptimisationProposalFilter | None) -> cases.ProposalQuery:
    if f is None:
        return cases.ProposalQuery()
    return cases.ProposalQuery(
        member_ids=tuple(capped_pks_of(f.member_ids, "Member", "memberIds"))
        if f.member_ids
        else None,
        site_id=pk_of(f.site_id, "Site", "siteId"),
        energy=enums.Energy(f.energy) if f.energy is not None else None,
        states=tuple(ProposalState(s) for s in f.states or ()),
        min_net_gain=_amount(f.min_net_gain, "minNetGain"),
    )


def _amount(value: Decimal | None, field: str) -> Decimal | None:
    if value is not None and not value.is_finite():
        raise Refusal(ErrorCode.INVALID, "Montant invalide.", field=field)
    return value


# -- queries -----------------------------------------------------------------------------------


@strawberry.type
class OptimisationQueries:
    @strawberry.field(
        description="Les propositions d'optimisation tarifaire de votre périmètre, par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def optimisation_proposals(
        self,
        info: strawberry.Info,
        filter: Annotated[
            OptimisationProposalFilter | None,
            strawberry.argument(description="Filtre ; toutes les propositions s'il est absent."),
        ] = None,
        order_by: Annotated[
            OptimisationOrder, strawberry.argument(description="Ordre de la liste.")
        ] = cases.ProposalOrder.NET_GAIN_DESC,
        first: First = None,
        after: After = None,
    ) -> Connection[OptimisationProposal] | None:
        ctx = info.context
        size = page_size(first)
        cursor = decode_cursor(after)
        page = await cases.list_proposals(
            ctx.sessions,
            ctx.perimeter,
            to_query(filter),
            today=paris_date(ctx.now),
            order=cases.ProposalOrder(order_by),
            first=size,
            after=cursor,
            with_count=selects(info, "totalCount"),
        )
        return connection(
            [OptimisationProposal.from_row(r) for r in page.rows],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Les optimisations tarifaires réalisées dans l'année (site, nature, date), "
        "de la plus ancienne à la plus récente : le relevé annuel du coordonnateur.",
        permission_classes=[IsAuthenticated],
    )
    async def optimisations_carried_out(
        self,
        info: strawberry.Info,
        year: Annotated[int, strawberry.argument(description="L'année (ex. 2026).")],
    ) -> list[CarriedOutOptimisation]:
        ctx = info.context
        found = await cases.carried_out_in(
            ctx.sessions, ctx.perimeter, year, today=paris_date(ctx.now)
        )
        return [
            CarriedOutOptimisation(
                proposal=OptimisationProposal.from_row(c.row),
                point_number=c.row.site__point_number,
                member_legal_name=c.row.member_legal_name,
                nature=c.nature,
                changed_on=c.changed_on,
                net_gain=c.row.net_gain,
            )
            for c in found
        ]


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input(description="Une étude d'optimisation tarifaire sur un groupement (ADMIN).")
class RunOptimisationCampaignInput:
    group_id: relay.GlobalID = strawberry.field(description="Le groupement.")
    threshold: Decimal = strawberry.field(
        description="Gain net annuel minimal d'une proposition (€ HT, ex. 500)."
    )
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Quelques membres du groupement seulement (100 au plus)."
    )


@strawberry.type(description="Ce qu'une étude d'optimisation a fait.")
class OptimisationCampaign:
    as_of: date = strawberry.field(description="Jour de l'étude.")
    threshold: Decimal = strawberry.field(description="Seuil de gain net (€ HT).")
    grid_versions: list[str] = strawberry.field(description="Versions des grilles utilisées.")
    sites_studied: int = strawberry.field(description="Sites étudiés.")
    sites_on_readings: int = strawberry.field(
        description="Dont étudiés sur 12 mois de relevés réels (les autres sur leur CAR)."
    )
    proposals: int = strawberry.field(description="Propositions retenues (au-delà du seuil).")
    superseded: int = strawberry.field(
        description="Propositions sans réponse remplacées par cette étude."
    )


@strawberry.type(description="Résultat d'une étude d'optimisation.")
class RunOptimisationCampaignPayload:
    campaign: OptimisationCampaign | None = strawberry.field(description="L'étude.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.input(description="Acceptation d'une proposition d'optimisation.")
class AcceptOptimisationInput:
    proposal_id: relay.GlobalID = strawberry.field(description="La proposition.")
    contact: TechnicalContactInput = strawberry.field(
        description="Le contact technique transmis au distributeur (relevé spécial)."
    )
    comment: str | None = strawberry.field(
        default=None, description="Commentaire (accès au compteur…, 2 000 caractères au plus)."
    )


@strawberry.input(description="Refus d'une proposition d'optimisation.")
class DeclineOptimisationInput:
    proposal_id: relay.GlobalID = strawberry.field(description="La proposition.")
    reason: str | None = strawberry.field(default=None, description="Le motif (facultatif).")


@strawberry.type(description="Résultat d'une réponse à une proposition d'optimisation.")
class OptimisationProposalPayload:
    proposal: OptimisationProposal | None = strawberry.field(
        description="La proposition après la réponse."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.input(description="Export des propositions d'optimisation d'un filtre.")
class ExportOptimisationProposalsInput:
    filter: OptimisationProposalFilter | None = strawberry.field(
        default=None,
        description="Filtre ; toutes les propositions de votre périmètre s'il est absent.",
    )
    format: ExportFormat = strawberry.field(description="Format du fichier.")


@strawberry.type
class OptimisationMutations:
    @strawberry.mutation(
        description="ADMIN : lance l'étude d'optimisation tarifaire sur son groupement avec un "
        "seuil de gain net ; les propositions au-delà sont enregistrées avec la version des "
        "grilles (une proposition sans réponse du même site est remplacée).",
        permission_classes=[holds_tier(enums.Tier.ADMIN)],
        extensions=[WritesData()],
    )
    async def run_optimisation_campaign(
        self,
        info: strawberry.Info,
        input: Annotated[RunOptimisationCampaignInput, strawberry.argument(description="L'étude.")],
    ) -> RunOptimisationCampaignPayload:
        ctx = info.context

        async def work() -> OptimisationCampaign:
            report = await cases.run_campaign_as(
                ctx.sessions,
                ctx.caller,
                group_id=pk_of(input.group_id, "Group", "groupId"),
                member_ids=capped_pks_of(input.member_ids, "Member", "memberIds")
                if input.member_ids
                else None,
                threshold=input.threshold,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return OptimisationCampaign(
                as_of=report.as_of,
                threshold=report.threshold,
                grid_versions=sorted(report.grid_versions.values()),
                sites_studied=report.sites_studied,
                sites_on_readings=report.sites_on_readings,
                proposals=report.proposals,
                superseded=report.superseded,
            )

        campaign, errors = await attempt(work)
        return RunOptimisationCampaignPayload(campaign=campaign, errors=errors)

    @strawberry.mutation(
        description="Accepte une proposition de votre périmètre (dans les 30 jours) : la "
        "demande technique « Optimisation » est déposée, relevé spécial noté ; INVALID_STATE "
        "pour une proposition déjà traitée ou dont le délai est passé.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def accept_optimisation(
        self,
        info: strawberry.Info,
        input: Annotated[
            AcceptOptimisationInput, strawberry.argument(description="La proposition.")
        ],
    ) -> OptimisationProposalPayload:
        ctx = info.context

        async def work() -> OptimisationProposal:
            row = await cases.accept_optimisation(
                ctx.sessions,
                ctx.settings,
                ctx.caller,
                proposal_id=pk_of(input.proposal_id, "OptimisationProposal", "proposalId"),
                contact=request_cases.Contact(
                    input.contact.name, input.contact.phone, input.contact.email
                ),
                comment=input.comment,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return OptimisationProposal.from_row(row)

        proposal, errors = await attempt(work)
        return OptimisationProposalPayload(proposal=proposal, errors=errors)

    @strawberry.mutation(
        description="Refuse une proposition de votre périmètre (dans les 30 jours).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def decline_optimisation(
        self,
        info: strawberry.Info,
        input: Annotated[
            DeclineOptimisationInput, strawberry.argument(description="La proposition.")
        ],
    ) -> OptimisationProposalPayload:
        ctx = info.context

        async def work() -> OptimisationProposal:
            row = await cases.decline_optimisation(
                ctx.sessions,
                ctx.caller,
                proposal_id=pk_of(input.proposal_id, "OptimisationProposal", "proposalId"),
                reason=input.reason,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return OptimisationProposal.from_row(row)

        proposal, errors = await attempt(work)
        return OptimisationProposalPayload(proposal=proposal, errors=errors)

    @strawberry.mutation(
        description="Exporte les propositions du filtre (le meilleur gain d'abord), le fichier "
        "envoyé aux membres : situation actuelle, option proposée, consommation, coûts, gains, "
        "date limite, et une colonne pour la réponse.",
        permission_classes=[IsAuthenticated],
    )
    async def export_optimisation_proposals(
        self,
        info: strawberry.Info,
        input: Annotated[
            ExportOptimisationProposalsInput,
            strawberry.argument(description="Export des propositions d'un filtre."),
        ],
    ) -> ExportPayload:
        ctx = info.context
        return await export_file(
            info,
            FileFormat(input.format),
            lambda: cases.proposals_table(
                ctx.sessions, ctx.perimeter, to_query(input.filter), today=paris_date(ctx.now)
            ),
        )


OPTIMISATION_TYPES: tuple[type, ...] = (OptimisationProposal,)
