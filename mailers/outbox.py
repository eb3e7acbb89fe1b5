"""Writing mails to the outbox, in the transaction of the change that causes them.

A mail is never sent from a request: the row is added to the caller's session, commits (or
rolls back) with the change, and the worker (`mailers.worker`) sends it afterwards.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import OUTBOX
from db.types import utcnow
from domain.enums import MailStatus
from mailers.rendering import render_subject

MAX_KEY_LENGTH = 320  # the column's width
MESSAGE_ID_DOMAIN = "comptoir"


def message_id(idempotency_key: str) -> str:
    """The Message-ID of a mail, derived from its key: a re-send is the same message."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{MESSAGE_ID_DOMAIN}>"


def to_json(value: Any) -> Any:
    """The context as the JSON column stores it: instants and dates in ISO 8601, Decimals as
    strings (never floats), enums as their values."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a mail context: give a timezone-aware instant")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"{type(value).__name__} cannot go in a mail context")


async def enqueue_mail(
    session: AsyncSession,
    *,
    template: str,
    recipients: list[str],
    context: dict[str, Any],
    idempotency_key: str,
    now: datetime | None = None,
) -> bool:
    """Adds a mail to the caller's transaction (no commit). False when the key already exists.

    ON CONFLICT DO NOTHING rather than a check then an insert: a concurrent duplicate neither
    slips through nor aborts the caller's transaction with an integrity error.
    """
    if not recipients:
        raise ValueError("a mail needs at least one recipient")
    if len(idempotency_key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency key longer than {MAX_KEY_LENGTH} characters")
    stored = to_json(context)
    # Rendered now, so that a template error surfaces in the caller's request, not later.
    subject = render_subject(template, stored)
    moment = now or utcnow()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = OUTBOX
    statement = (
        insert(table)
        .values(
            idempotency_key=idempotency_key,
            template=template,
            recipients=list(recipients),
            subject=subject,
            context=stored,
            status=MailStatus.PENDING,
            attempts=0,
            next_attempt_at=moment,
            created_at=moment,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )
    result = await session.exec(statement)
    return result.first() is not None


async def count_by_status(session: AsyncSession) -> dict[MailStatus, int]:
    """How many mails are in each state: DEAD ones need an operator's look."""
    table = OUTBOX
    rows = await session.exec(select(table.c.status, sa.func.count()).group_by(table.c.status))
    counts = dict.fromkeys(MailStatus, 0)
    counts.update({MailStatus(status): count for status, count in rows.all()})
    return counts


async def requeue_dead_mail(
    session: AsyncSession, mail_id: int, *, now: datetime | None = None
) -> bool:
    """An operator's retry of a DEAD mail (e.g. after fixing an address): a fresh round of
    attempts. False when the mail is not DEAD."""
    table = OUTBOX
    result = await session.exec(
        sa.update(table)
        .where(table.c.id == mail_id, table.c.status == MailStatus.DEAD)
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=now or utcnow())
    )
    return bool(result.rowcount)
