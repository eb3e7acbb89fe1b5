"""Alert notifications: each person's choices, and what was sent to whom.

`AlertNotification` is the ledger that makes "a person never receives the same alert twice" a
database fact: one row per (person, alert), inserted with ON CONFLICT DO NOTHING in the
transaction that queues the mail, whichever path (immediate or digest) gets there first.
`AlertDigest` is one row per (person, Paris day): the second digest run of a day, or a
concurrent one, finds it and sends nothing.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field
from db.types import StrEnumType, UTCDateTime
from domain.alert_notifications import AlertDelivery
from domain.enums import AlertKind


class AlertPreference(SQLModel, table=True):
    """How one person wants to hear about one kind of alert. No row: the tier's default."""

    __tablename__ = "alert_preferences"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: int | None = id_field()
    user_id: int = fk_field("users.id", index=False, ondelete="CASCADE")
    kind: AlertKind = Field(sa_type=StrEnumType(AlertKind))
    delivery: AlertDelivery = Field(sa_type=StrEnumType(AlertDelivery))
    updated_at: datetime = created_at_field()


class AlertNotification(SQLModel, table=True):
    """One alert told to one person (in its own mail or in a digest)."""

    __tablename__ = "alert_notifications"
    __table_args__ = (sa.UniqueConstraint("user_id", "alert_id"),)

    id: int | None = id_field()
    user_id: int = fk_field("users.id", index=False, ondelete="CASCADE")
    alert_id: int = fk_field("alerts.id", ondelete="CASCADE")
    delivery: AlertDelivery = Field(sa_type=StrEnumType(AlertDelivery))
    notified_at: datetime = Field(sa_type=UTCDateTime())


class AlertDigest(SQLModel, table=True):
    """One person's digest of one day: the alerts created up to `covered_until` are covered,
    the next digest starts from there."""

    __tablename__ = "alert_digests"
    __table_args__ = (sa.UniqueConstraint("user_id", "digest_day"),)

    id: int | None = id_field()
    user_id: int = fk_field("users.id", index=False, ondelete="CASCADE")
    digest_day: date = Field(sa_type=sa.Date())
    covered_until: datetime = Field(sa_type=UTCDateTime())
    alerts: int = Field(default=0)
    created_at: datetime = created_at_field()
