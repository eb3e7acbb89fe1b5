"""The mail outbox as operators see it: counts by state, mails that need a look, retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db import audit
from db.engine import transaction
from db.models import OutboxMail
from db.models.base import persisted_id
from domain.enums import MailStatus
from domain.errors import ErrorCode, Refusal, not_found
from mailers.outbox import count_by_status, requeue_dead_mail


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    template: str
    recipients: tuple[str, ...]
    subject: str
    status: MailStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


async def outbox_counts(sessions: async_sessionmaker[AsyncSession]) -> dict[MailStatus, int]:
    async with sessions() as session:
        return await count_by_status(session)


async def outbox_mails(
    sessions: async_sessionmaker[AsyncSession], *, status: MailStatus, first: int
) -> list[OutboxRow]:
    async with sessions() as session:
        mails = (
            await session.exec(
                select(OutboxMail)
                .where(OutboxMail.status == status)
                .order_by(col(OutboxMail.id).desc())
                .limit(first)
            )
        ).all()
    return [
        OutboxRow(
            id=persisted_id(m),
            template=m.template,
            recipients=tuple(m.recipients),
            subject=m.subject,
            status=MailStatus(m.status),
            attempts=m.attempts,
            last_error=m.last_error,
            next_attempt_at=m.next_attempt_at,
            created_at=m.created_at,
            sent_at=m.sent_at,
        )
        for m in mails
    ]


async def requeue_mail(
    sessions: async_sessionmaker[AsyncSession],
    *,
    mail_id: int,
    actor_user_id: int,
    now: datetime,
    client_address: str | None,
) -> None:
    async with transaction(sessions) as session:
        if await session.get(OutboxMail, mail_id) is None:
            raise not_found("mailId")
        if not await requeue_dead_mail(session, mail_id, now=now):
            raise Refusal(
                ErrorCode.INVALID_STATE,
                "Seul un mail abandonné (DEAD) se relance.",
                field="mailId",
            )
        audit.record(
            session,
            actor_user_id=actor_user_id,
            action="mail.requeued",
            object_type="OutboxMail",
            object_id=mail_id,
            now=now,
            client_address=client_address,
        )
