"""alert notifications: preferences per person and kind, the ledger of what was told, digests

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KINDS = (
    "MISSING_DISTRIBUTOR_READING",
    "ZERO_CONSUMPTION",
    "NEGATIVE_CONSUMPTION",
    "EXCESSIVE_CONSUMPTION",
    "REACTIVE_ENERGY",
    "READ_NOT_BILLED",
)
_DELIVERIES = ("IMMEDIATE", "DAILY_DIGEST", "OFF")


def _delivery() -> sa.Enum:
    return sa.Enum(
        *_DELIVERIES, name="alertdelivery", native_enum=False, create_constraint=True, length=12
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "alert_preferences",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*_KINDS, name="alertkind", native_enum=False, create_constraint=True, length=27),
            nullable=False,
        ),
        sa.Column("delivery", _delivery(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=False),
        _user_fk("alert_preferences"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_preferences")),
        sa.UniqueConstraint("user_id", "kind", name=op.f("uq_alert_preferences_user_id_kind")),
    )
    op.create_table(
        "alert_notifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("delivery", _delivery(), nullable=False),
        sa.Column("notified_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_notifications_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        _user_fk("alert_notifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
        sa.UniqueConstraint(
            "user_id", "alert_id", name=op.f("uq_alert_notifications_user_id_alert_id")
        ),
    )
    op.create_index(
        op.f("ix_alert_notifications_alert_id"), "alert_notifications", ["alert_id"], unique=False
    )
    op.create_table(
        "alert_digests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("digest_day", sa.Date(), nullable=False),
        sa.Column("covered_until", db.types.UTCDateTime(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        _user_fk("alert_digests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_digests")),
        sa.UniqueConstraint(
            "user_id", "digest_day", name=op.f("uq_alert_digests_user_id_digest_day")
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_digests")
    op.drop_index(op.f("ix_alert_notifications_alert_id"), table_name="alert_notifications")
    op.drop_table("alert_notifications")
    op.drop_table("alert_preferences")
