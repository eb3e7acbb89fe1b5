"""Alerts in the schema: the `Alert` node (its site, evidence, threshold and history), the list,
the counts of the home page, and the two mutations a person makes (acknowledge, resolve).

Rows come from `api/resolvers/alerts.py` with their site and the names of the people who
handled them already joined, so every field here is a plain attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay

from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.ids import capped_pks_of, key_of, pk_of
from api.graphql.loaders import request_loader
from api.graphql.lookahead import selects
from api.graphql.pagination import After, Connection, First, connection
from api.graphql.permissions import IsAuthenticated, WritesData
from api.graphql.scalars import JsonObject
from api.resolvers import alerts as cases
from api.resolvers.cursors import decode_cursor, encode_cursor, page_size
from api.schema.enums import Energy
from api.schema.portfolio import Site
from domain import enums

described_enum(
    enums.AlertKind,
    {
        enums.AlertKind.MISSING_DISTRIBUTOR_READING: "Pas de relevé réel du distributeur depuis "
        "plus longtemps que la cadence du compteur ne le permet (45 jours pour un compteur "
        "relevé chaque mois, 7 mois pour un compteur relevé tous les six mois).",
        enums.AlertKind.ZERO_CONSUMPTION: "Consommation nulle entre deux relevés réels alors "
        "que le contrat est actif (gaz T1, T2 ; électricité C5).",
        enums.AlertKind.NEGATIVE_CONSUMPTION: "Index réel en baisse sans tour de compteur "
        "enregistré ni régularisation.",
        enums.AlertKind.EXCESSIVE_CONSUMPTION: "Consommation au-delà d'un multiple de la "
        "consommation annuelle de référence (CAR) au prorata du profil mensuel.",
        enums.AlertKind.REACTIVE_ENERGY: "Énergie réactive facturée (électricité C4 et au-delà).",
        enums.AlertKind.READ_NOT_BILLED: "Relevé réel toujours pas facturé après le cycle de "
        "facturation du compte.",
    },
    description="Nature d'une alerte.",
)
described_enum(
    enums.AlertStatus,
    {
        enums.AlertStatus.OPEN: "Ouverte : détectée, personne ne l'a encore prise en compte.",
        enums.AlertStatus.ACKNOWLEDGED: "Prise en compte par une personne, pas encore résolue.",
        enums.AlertStatus.RESOLVED: "Résolue : automatiquement quand la cause a disparu, ou par "
        "une personne avec un commentaire.",
    },
    description="État d'une alerte : ouverte → prise en compte → résolue.",
)
described_enum(
    cases.AlertOrder,
    {
        cases.AlertOrder.DETECTED_ON_DESC: "Les plus récemment détectées d'abord (par défaut).",
        cases.AlertOrder.DETECTED_ON_ASC: "Les plus anciennement détectées d'abord.",
        cases.AlertOrder.KIND: "Par nature d'alerte (ordre alphabétique du code), puis dans "
        "l'ordre de création.",
    },
    description="Ordre de la liste des alertes.",
)
AlertKind = enums.AlertKind
AlertStatus = enums.AlertStatus
AlertOrder = cases.AlertOrder


@strawberry.type(description="Le seuil au regard duquel l'alerte a été levée.")
class AlertThreshold:
    value: str = strawberry.field(description="Valeur du seuil (ex. « 45 », « 0 », « 2400 »).")
    unit: str = strawberry.field(description="Unité du seuil (jours, mois, kWh, €).")
    label: str = strawberry.field(description="Le seuil en clair, tel qu'un écran le montre.")


@strawberry.type(
    description="L'historique d'une alerte : ouverte, prise en compte par qui et quand, "
    "résolue automatiquement (avec la raison) ou par qui (avec le commentaire)."
)
class AlertHistory:
    opened_on: date = strawberry.field(description="Date de détection (ouverture).")
    acknowledged_at: datetime | None = strawberry.field(
        description="Prise en compte : quand ; null si l'alerte ne l'a pas été."
    )
    acknowledged_by: str | None = strawberry.field(
        description="Prise en compte : par qui (nom de la personne)."
    )
    acknowledgement_comment: str | None = strawberry.field(
        description="Commentaire laissé à la prise en compte, s'il y en a un."
    )
    resolved_at: datetime | None = strawberry.field(
        description="Résolution : quand ; null tant que l'alerte n'est pas résolue."
    )
    resolved_automatically: bool = strawberry.field(
        description="Vrai si la détection a résolu l'alerte d'elle-même, sa cause ayant "
        "disparu (relevé reçu, consommation revenue…)."
    )
    resolved_reason: str | None = strawberry.field(
        description="Résolution automatique : la raison (ex. « Relevé réel reçu le … »)."
    )
    resolved_by: str | None = strawberry.field(description="Résolution par une personne : son nom.")
    resolution_comment: str | None = strawberry.field(
        description="Résolution par une personne : son commentaire (ce qui a été fait)."
    )


@strawberry.type(description="Une alerte sur un site : anomalie de relève ou de consommation.")
class Alert(relay.Node):
    id: relay.NodeID[int]
    kind: AlertKind = strawberry.field(description="Nature de l'alerte.")
    status: AlertStatus = strawberry.field(description="État de l'alerte.")
    detected_on: date = strawberry.field(description="Date de détection.")
    message: str = strawberry.field(description="L'alerte en clair, en français.")
    site: Site = strawberry.field(description="Le site en cause.")
    evidence: JsonObject = strawberry.field(
        description="Les éléments qui ont déclenché l'alerte, dont la forme dépend de sa "
        "nature : relevés en cause (`readings` : `read_on`, `register`, `index`, `source`, "
        "`rollover`), période (`period_start`, `period_end`), consommations "
        "(`consumption_kwh`, `expected_kwh`, `consumption_by_register`), facture et lignes "
        "d'énergie réactive (`invoice`, `lines`), dernier relevé réel, échéance et issues "
        "possibles (`last_actual_reading_on`, `deadline`, `ways_out`)… Objet vide pour une "
        "alerte enregistrée sans ces éléments."
    )
    threshold: AlertThreshold | None = strawberry.field(
        description="Le seuil appliqué ; null pour une alerte enregistrée sans seuil."
    )
    history: AlertHistory = strawberry.field(description="Ouverture, prise en compte, résolution.")

    @classmethod
    def from_row(cls, r: Any) -> Self:
        threshold = r.threshold or None
        details = r.details or {}
        return cls(
            id=r.id,
            kind=r.kind,
            status=r.status,
            detected_on=r.detected_on,
            message=r.message,
            site=Site.from_row(r, "site__"),
            evidence=JsonObject(r.evidence or {}),
            threshold=(
                AlertThreshold(
                    value=str(threshold.get("value", "")),
                    unit=str(threshold.get("unit", "")),
                    label=str(threshold.get("label", "")),
                )
                if threshold
                else None
            ),
            history=AlertHistory(
                opened_on=r.detected_on,
                acknowledged_at=r.acknowledged_at,
                acknowledged_by=r.acknowledged_by_name,
                acknowledgement_comment=details.get(cases.ACKNOWLEDGEMENT_COMMENT),
                resolved_at=r.resolved_at,
                resolved_automatically=(
                    r.status == enums.AlertStatus.RESOLVED and r.resolved_by_user_id is None
                ),
                resolved_reason=r.resolved_reason,
                resolved_by=r.resolved_by_name,
                resolution_comment=r.comment if r.resolved_by_user_id is not None else None,
            ),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]  # None for an id outside the perimeter
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        rows = await cases.load_alerts(info.context.sessions, info.context.perimeter, ids)
        return [cls.from_row(r) if r is not None else None for r in rows]


async def unresolved_alerts_of_site(info: strawberry.Info, site_id: int) -> list[Alert]:
    """`Site.openAlerts`: one statement for every site of the answer (a request's loader)."""
    ctx = info.context

    async def load(site_ids: Sequence[int]) -> list[list[Any]]:
        return await cases.unresolved_alerts_of_sites(ctx.sessions, ctx.perimeter, site_ids)

    rows = await request_loader(ctx, "UnresolvedAlertsBySiteLoader", load).load(site_id)
    return [Alert.from_row(r) for r in rows]


# -- the filter --------------------------------------------------------------------------------


@strawberry.input(description="Filtre des alertes (liste et décomptes) ; les critères se cumulent.")
class AlertFilter:
    kinds: list[AlertKind] | None = strawberry.field(
        default=None, description="Natures d'alerte ; toutes si absent ou vide."
    )
    statuses: list[AlertStatus] | None = strawberry.field(
        default=None, description="États ; tous si absent ou vide."
    )
    site_id: relay.GlobalID | None = strawberry.field(default=None, description="Un site.")
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les membres titulaires des sites (100 au plus)."
    )
    billing_account_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les comptes de contrat des sites (100 au plus)."
    )
    energy: Energy | None = strawberry.field(default=None, description="Énergie du site.")
    detected_from: date | None = strawberry.field(
        default=None, description="Détectées à partir de ce jour (inclus)."
    )
    detected_to: date | None = strawberry.field(
        default=None, description="Détectées jusqu'à ce jour (inclus)."
    )


def _ids(global_ids: list[relay.GlobalID] | None, type_name: str, field: str) -> tuple[int, ...]:
    return tuple(capped_pks_of(global_ids, type_name, field))


def to_query(f: AlertFilter | None) -> cases.AlertQuery:
    """The resolver's query; an ID of the wrong type is refused as not found."""
    if f is None:
        return cases.AlertQuery()
    return cases.AlertQuery(
        kinds=tuple(enums.AlertKind(k) for k in f.kinds or ()),
        statuses=tuple(enums.AlertStatus(s) for s in f.statuses or ()),
        site_id=pk_of(f.site_id, "Site", "siteId"),
        member_ids=_ids(f.member_ids, "Member", "memberIds") if f.member_ids else None,
        billing_account_ids=(
            _ids(f.billing_account_ids, "BillingAccount", "billingAccountIds")
            if f.billing_account_ids
            else None
        ),
        energy=enums.Energy(f.energy) if f.energy else None,
        detected_from=f.detected_from,
        detected_to=f.detected_to,
    )


AlertFilterArgument = Annotated[
    AlertFilter | None,
    strawberry.argument(
        description="Filtre ; toutes les alertes de votre périmètre s'il est absent."
    ),
]


# -- counts ------------------------------------------------------------------------------------


@strawberry.type(description="Nombre d'alertes d'une nature, par état.")
class AlertKindCounts:
    kind: AlertKind = strawberry.field(description="Nature d'alerte.")
    open: int = strawberry.field(description="Ouvertes.")
    acknowledged: int = strawberry.field(description="Prises en compte.")
    resolved: int = strawberry.field(description="Résolues.")


@strawberry.type(description="Décompte des alertes pour l'accueil : par état et par nature.")
class AlertCounts:
    open: int = strawberry.field(description="Alertes ouvertes.")
    acknowledged: int = strawberry.field(description="Alertes prises en compte.")
    resolved: int = strawberry.field(description="Alertes résolues.")
    by_kind: list[AlertKindCounts] = strawberry.field(
        description="Par nature, chacune présente (à zéro s'il n'y en a pas)."
    )


# -- queries -----------------------------------------------------------------------------------


@strawberry.type
class AlertQueries:
    @strawberry.field(
        description="Les alertes des sites de votre périmètre, filtrées et triées, par pages.",
        permission_classes=[IsAuthenticated],
    )
    async def alerts(
        self,
        info: strawberry.Info,
        filter: AlertFilterArgument = None,
        order_by: Annotated[
            AlertOrder, strawberry.argument(description="Ordre de la liste.")
        ] = cases.AlertOrder.DETECTED_ON_DESC,
        first: First = None,
        after: After = None,
    ) -> Connection[Alert] | None:
        ctx = info.context
        size = page_size(first)
        cursor = decode_cursor(after)
        page = await cases.list_alerts(
            ctx.sessions,
            ctx.perimeter,
            to_query(filter),
            order=cases.AlertOrder(order_by),
            first=size,
            after=cursor,
            with_count=selects(info, "totalCount"),
        )
        return connection(
            [Alert.from_row(r) for r in page.rows],
            [encode_cursor(*c) for c in page.cursors],
            total_count=page.total_count if page.total_count is not None else -1,
            has_next_page=page.has_next_page,
            has_previous_page=cursor is not None,
        )

    @strawberry.field(
        description="Une alerte par son identifiant ; null si elle est inconnue ou hors périmètre.",
        permission_classes=[IsAuthenticated],
    )
    async def alert(
        self,
        info: strawberry.Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="L'alerte.")],
    ) -> Alert | None:
        if id.type_name != "Alert" or not str(id.node_id).isdigit():
            return None
        [found] = await Alert.resolve_nodes(info=info, node_ids=[id.node_id])
        return found

    @strawberry.field(
        description="Décompte des alertes par état et par nature (accueil) ; null avec une "
        "erreur codée si le filtre est refusé.",
        permission_classes=[IsAuthenticated],
    )
    async def alert_counts(
        self, info: strawberry.Info, filter: AlertFilterArgument = None
    ) -> AlertCounts | None:
        ctx = info.context
        counts = await cases.alert_counts(ctx.sessions, ctx.perimeter, to_query(filter))

        def total(status: enums.AlertStatus) -> int:
            return sum(n for (_, s), n in counts.items() if s is status)

        return AlertCounts(
            open=total(enums.AlertStatus.OPEN),
            acknowledged=total(enums.AlertStatus.ACKNOWLEDGED),
            resolved=total(enums.AlertStatus.RESOLVED),
            by_kind=[
                AlertKindCounts(
                    kind=kind,
                    open=counts.get((kind, enums.AlertStatus.OPEN), 0),
                    acknowledged=counts.get((kind, enums.AlertStatus.ACKNOWLEDGED), 0),
                    resolved=counts.get((kind, enums.AlertStatus.RESOLVED), 0),
                )
                for kind in enums.AlertKind
            ],
        )


# -- mutations ---------------------------------------------------------------------------------


@strawberry.input(description="Prise en compte d'une alerte ouverte.")
class AcknowledgeAlertInput:
    alert_id: relay.GlobalID = strawberry.field(description="L'alerte.")
    comment: str | None = strawberry.field(
        default=None, description="Commentaire facultatif (2 000 caractères au plus)."
    )


@strawberry.input(description="Résolution d'une alerte ouverte ou prise en compte.")
class ResolveAlertInput:
    alert_id: relay.GlobalID = strawberry.field(description="L'alerte.")
    comment: str = strawberry.field(
        description="Ce qui a été fait (obligatoire, 2 000 caractères au plus)."
    )


@strawberry.type(description="Résultat d'une action sur une alerte.")
class AlertPayload:
    alert: Alert | None = strawberry.field(description="L'alerte après l'action.")
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type
class AlertMutations:
    @strawberry.mutation(
        description="Prend en compte une alerte ouverte (INVALID_STATE si elle est déjà prise "
        "en compte ou résolue ; FORBIDDEN si votre habilitation ne permet que la consultation).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def acknowledge_alert(
        self,
        info: strawberry.Info,
        input: Annotated[
            AcknowledgeAlertInput,
            strawberry.argument(description="L'alerte et un commentaire facultatif."),
        ],
    ) -> AlertPayload:
        ctx = info.context

        async def work() -> Alert:
            row = await cases.acknowledge_alert(
                ctx.sessions,
                ctx.caller,
                alert_id=pk_of(input.alert_id, "Alert", "alertId"),
                comment=input.comment,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Alert.from_row(row)

        alert, errors = await attempt(work)
        return AlertPayload(alert=alert, errors=errors)

    @strawberry.mutation(
        description="Résout une alerte ouverte ou prise en compte, avec un commentaire "
        "(INVALID_STATE si elle est déjà résolue ; FORBIDDEN si votre habilitation ne permet "
        "que la consultation).",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def resolve_alert(
        self,
        info: strawberry.Info,
        input: Annotated[
            ResolveAlertInput,
            strawberry.argument(description="L'alerte et le commentaire de résolution."),
        ],
    ) -> AlertPayload:
        ctx = info.context

        async def work() -> Alert:
            row = await cases.resolve_alert(
                ctx.sessions,
                ctx.caller,
                alert_id=pk_of(input.alert_id, "Alert", "alertId"),
                comment=input.comment,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return Alert.from_row(row)

        alert, errors = await attempt(work)
        return AlertPayload(alert=alert, errors=errors)


ALERT_TYPES: tuple[type, ...] = (Alert,)
