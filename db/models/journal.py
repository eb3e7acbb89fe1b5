"""What the system must remember having done: mails to send and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field
from db.types import StrEnumType, UTCDateTime
from domain.enums import MailStatus


class OutboxMail(SQLModel, table=True):
    """A mail written in the same transaction as the change that causes it; a worker sends it."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        sa.Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = id_field()
    idempotency_key: str = Field(max_length=320, unique=True)  # e.g. welcome-pack:<id>:<email>
    template: str = Field(max_length=60)
    recipients: list[str] = Field(sa_type=sa.JSON())
    subject: str = Field(max_length=300)
    context: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    status: MailStatus = Field(sa_type=StrEnumType(MailStatus))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime())
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = instant_field()


class AuditEntry(SQLModel, table=True):
    """Who changed what, when: access changes, reference edits, request decisions."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),)

    id: int | None = id_field()
    occurred_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    actor_user_id: int | None = fk_field("users.id", nullable=True)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=40)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    client_address: str | None = Field(default=None, max_length=45)
