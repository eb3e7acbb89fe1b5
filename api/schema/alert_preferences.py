"""A person's alert preferences: for each kind of alert, a mail at once, a daily digest or none."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.graphql.enums import described_enum
from api.graphql.errors import UserError, attempt
from api.graphql.permissions import IsAuthenticated, WritesData
from api.resolvers import alert_notifications
from api.schema.alerts import AlertKind  # registered (and described) there
from domain.alert_notifications import ALERT_DELIVERY_LABELS, AlertDelivery

described_enum(
    AlertDelivery,
    {delivery: f"{label}." for delivery, label in ALERT_DELIVERY_LABELS.items()},
    description="Comment une personne est prévenue des nouvelles alertes d'un type.",
)


@strawberry.type(description="La préférence d'une personne pour un type d'alerte.")
class AlertPreference:
    kind: AlertKind = strawberry.field(description="Type d'alerte.")
    delivery: AlertDelivery = strawberry.field(description="Envoi choisi pour ce type.")
    is_default: bool = strawberry.field(
        description="Vrai quand la personne n'a rien choisi : l'envoi est celui de son profil "
        "(récapitulatif quotidien pour ADMIN et THIRD_PARTY, courriel immédiat pour USER et "
        "INFRA_USER, aucun pour OPERATOR)."
    )


@strawberry.input(description="L'envoi voulu pour un type d'alerte.")
class AlertPreferenceInput:
    kind: AlertKind = strawberry.field(description="Type d'alerte.")
    delivery: AlertDelivery = strawberry.field(description="Envoi voulu.")


@strawberry.input(description="Les préférences à changer ; les types non cités restent tels quels.")
class UpdateAlertPreferencesInput:
    preferences: list[AlertPreferenceInput] = strawberry.field(
        description="Une entrée par type d'alerte à changer (6 au plus, chaque type une fois)."
    )


@strawberry.type(description="Résultat d'un changement de préférences d'alertes.")
class UpdateAlertPreferencesPayload:
    preferences: list[AlertPreference] | None = strawberry.field(
        description="Les préférences de chaque type après le changement (absent en cas "
        "d'erreur : rien n'a changé)."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


def _typed(found: list[alert_notifications.EffectivePreference]) -> list[AlertPreference]:
    return [
        AlertPreference(kind=p.kind, delivery=p.delivery, is_default=p.is_default) for p in found
    ]


@strawberry.type
class AlertPreferenceQueries:
    @strawberry.field(
        description="Mes préférences d'envoi des alertes par courriel, pour chaque type "
        "d'alerte, valeurs par défaut comprises.",
        permission_classes=[IsAuthenticated],
    )
    async def alert_preferences(self, info: strawberry.Info) -> list[AlertPreference]:
        ctx = info.context
        return _typed(await alert_notifications.alert_preferences(ctx.sessions, ctx.caller))


@strawberry.type
class AlertPreferenceMutations:
    @strawberry.mutation(
        description="Change mes préférences d'envoi des alertes (courriel immédiat, "
        "récapitulatif quotidien ou aucun), tout ou rien. Refusé à une clé d'API en lecture "
        "seule.",
        permission_classes=[IsAuthenticated],
        extensions=[WritesData()],
    )
    async def update_alert_preferences(
        self,
        info: strawberry.Info,
        input: Annotated[
            UpdateAlertPreferencesInput,
            strawberry.argument(description="Les préférences à changer."),
        ],
    ) -> UpdateAlertPreferencesPayload:
        ctx = info.context
        found, errors = await attempt(
            lambda: alert_notifications.update_alert_preferences(
                ctx.sessions,
                ctx.caller,
                changes=[(p.kind, p.delivery) for p in input.preferences],
                now=ctx.now,
            )
        )
        return UpdateAlertPreferencesPayload(
            preferences=_typed(found) if found is not None else None, errors=errors
        )
