"""Sending the welcome pack to a member's users after the supplier switch."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from api.graphql.errors import UserError, attempt
from api.graphql.ids import pk_of, pks_of
from api.graphql.permissions import WritesData, holds_tier
from api.resolvers import welcome_packs
from domain.enums import Tier


@strawberry.input(description="Les membres à qui envoyer le Welcome Pack.")
class SendWelcomePacksInput:
    member_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Des membres précis (100 au plus ; pour tout un groupement, `groupId`).",
    )
    group_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Tous les membres d'un groupement."
    )


@strawberry.type(description="Bilan d'un envoi de Welcome Packs.")
class SendWelcomePacksPayload:
    members: int = strawberry.field(description="Membres traités.")
    queued: int = strawberry.field(description="Mails mis en file d'envoi.")
    already_sent: int = strawberry.field(
        description="Personnes qui l'avaient déjà reçu : rien n'est renvoyé."
    )
    members_without_user: list[str] = strawberry.field(
        description="Numéros clients des membres sans utilisateur à qui l'envoyer."
    )
    errors: list[UserError] = strawberry.field(description="Erreurs attendues.")


@strawberry.type
class WelcomePackMutations:
    @strawberry.mutation(
        description="Envoie le Welcome Pack aux utilisateurs des membres choisis (ADMIN : son "
        "groupement ; OPERATOR : tout membre). Un second envoi n'envoie rien deux fois.",
        permission_classes=[holds_tier(Tier.ADMIN, Tier.OPERATOR)],
        extensions=[WritesData()],
    )
    async def send_welcome_packs(
        self,
        info: strawberry.Info,
        input: Annotated[
            SendWelcomePacksInput,
            strawberry.argument(description="Les membres à qui envoyer le Welcome Pack."),
        ],
    ) -> SendWelcomePacksPayload:
        ctx = info.context

        async def work() -> welcome_packs.WelcomePackReport:
            members = await welcome_packs.members_to_welcome(
                ctx.sessions,
                ctx.caller,
                ctx.perimeter,
                member_ids=pks_of(input.member_ids, "Member", "memberIds"),
                group_id=pk_of(input.group_id, "Group", "groupId"),
            )
            return await welcome_packs.send_welcome_packs(
                ctx.sessions,
                ctx.settings,
                member_ids=members,
                actor_user_id=ctx.caller.user_id,
                now=ctx.now,
                client_address=ctx.client_address,
            )

        report, errors = await attempt(work)
        report = report or welcome_packs.WelcomePackReport()
        return SendWelcomePacksPayload(
            members=report.members,
            queued=report.queued,
            already_sent=report.already_sent,
            members_without_user=report.members_without_user,
            errors=errors,
        )
