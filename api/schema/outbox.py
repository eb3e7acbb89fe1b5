"""The mail outbox for the supplier's back office (OPERATOR): what waits, what failed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from api.graphql.errors import attempt
from api.graphql.ids import pk_of
from api.graphql.pagination import First
from api.graphql.permissions import WritesData, holds_tier
from api.resolvers import outbox
from api.resolvers.cursors import page_size
from api.schema.access import DonePayload
from api.schema.enums import MailStatus, Tier

OperatorsOnly = holds_tier(Tier.OPERATOR)


@strawberry.type(description="Un mail de la file d'envoi.")
class OutboxMail:
    id: relay.GlobalID = strawberry.field(description="Identifiant du mail.")
    template: str = strawberry.field(description="Le modèle (activation, welcome_pack…).")
    recipients: list[str] = strawberry.field(description="Destinataires.")
    subject: str = strawberry.field(description="Objet.")
    status: MailStatus = strawberry.field(description="État.")
    attempts: int = strawberry.field(description="Tentatives faites.")
    last_error: str | None = strawberry.field(description="Dernière erreur (sans secret).")
    next_attempt_at: datetime = strawberry.field(description="Prochaine tentative.")
    created_at: datetime = strawberry.field(description="Mise en file.")
    sent_at: datetime | None = strawberry.field(description="Envoi.")


@strawberry.type(description="Nombre de mails par état.")
class OutboxCount:
    status: MailStatus = strawberry.field(description="État.")
    mails: int = strawberry.field(description="Nombre de mails.")


@strawberry.input(description="Un mail abandonné à relancer.")
class RequeueMailInput:
    mail_id: relay.GlobalID = strawberry.field(description="Le mail.")


@strawberry.type
class OutboxQueries:
    @strawberry.field(
        description="Nombre de mails par état (opérateurs).", permission_classes=[OperatorsOnly]
    )
    async def outbox_counts(self, info: strawberry.Info) -> list[OutboxCount]:
        counts = await outbox.outbox_counts(info.context.sessions)
        return [OutboxCount(status=status, mails=n) for status, n in counts.items()]

    @strawberry.field(
        description="Les derniers mails d'un état, DEAD par défaut (opérateurs).",
        permission_classes=[OperatorsOnly],
    )
    async def outbox_mails(
        self,
        info: strawberry.Info,
        status: Annotated[
            MailStatus, strawberry.argument(description="L'état des mails à lister.")
        ] = MailStatus.DEAD,
        first: First = None,
    ) -> list[OutboxMail] | None:
        rows = await outbox.outbox_mails(
            info.context.sessions, status=status, first=page_size(first)
        )
        return [
            OutboxMail(
                id=relay.GlobalID("OutboxMail", str(r.id)),
                template=r.template,
                recipients=list(r.recipients),
                subject=r.subject,
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                next_attempt_at=r.next_attempt_at,
                created_at=r.created_at,
                sent_at=r.sent_at,
            )
            for r in rows
        ]


@strawberry.type
class OutboxMutations:
    @strawberry.mutation(
        description="Relance un mail abandonné (DEAD) pour une nouvelle série de tentatives.",
        permission_classes=[OperatorsOnly],
        extensions=[WritesData()],
    )
    async def requeue_mail(
        self,
        info: strawberry.Info,
        input: Annotated[
            RequeueMailInput, strawberry.argument(description="Un mail abandonné à relancer.")
        ],
    ) -> DonePayload:
        ctx = info.context

        async def work() -> bool:
            await outbox.requeue_mail(
                ctx.sessions,
                mail_id=pk_of(input.mail_id, "OutboxMail", "mailId"),
                actor_user_id=ctx.caller.user_id,
                now=ctx.now,
                client_address=ctx.client_address,
            )
            return True

        done, errors = await attempt(work)
        return DonePayload(
            ok=bool(done), message="Mail remis en file." if done else None, errors=errors
        )
