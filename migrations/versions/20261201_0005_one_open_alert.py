"""one open alert per site and kind; alert evidence and history

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = (
    "MISSING_DISTRIBUTOR_READING",
    "ZERO_CONSUMPTION",
    "NEGATIVE_CONSUMPTION",
    "EXCESSIVE_CONSUMPTION",
    "REACTIVE_ENERGY",
)
_NEW_KINDS = (*_OLD_KINDS, "READ_NOT_BILLED")
_UNRESOLVED = sa.text("status IN ('OPEN', 'ACKNOWLEDGED')")


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="alertkind", native_enum=False, create_constraint=True, length=27)


def upgrade() -> None:
    # Two unresolved alerts of one site and kind cannot coexist from now on: keep the oldest
    # of any such pair open and resolve the others (none exist in data this code wrote).
    op.execute(
        "UPDATE alerts SET status = 'RESOLVED', resolved_at = created_at "
        "WHERE status IN ('OPEN', 'ACKNOWLEDGED') AND EXISTS ("
        "SELECT 1 FROM alerts older WHERE older.site_id = alerts.site_id "
        "AND older.kind = alerts.kind AND older.status IN ('OPEN', 'ACKNOWLEDGED') "
        "AND older.id < alerts.id)"
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column(
            "kind", existing_type=_kind(_OLD_KINDS), type_=_kind(_NEW_KINDS), existing_nullable=False
        )
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("threshold", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "resolved_by_user_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("resolved_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("comment", sa.String(length=2000), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_resolved_by_user_id_users"),
            "users",
            ["resolved_by_user_id"],
            ["id"],
        )
        batch_op.create_index(
            "uq_alerts_one_unresolved_per_site_kind",
            ["site_id", "kind"],
            unique=True,
            sqlite_where=_UNRESOLVED,
            postgresql_where=_UNRESOLVED,
        )


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'READ_NOT_BILLED'")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alerts_one_unresolved_per_site_kind",
            sqlite_where=_UNRESOLVED,
            postgresql_where=_UNRESOLVED,
        )
        batch_op.drop_constraint(
            batch_op.f("fk_alerts_resolved_by_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("comment")
        batch_op.drop_column("resolved_reason")
        batch_op.drop_column("resolved_by_user_id")
        batch_op.drop_column("threshold")
        batch_op.drop_column("evidence")
        batch_op.alter_column(
            "kind", existing_type=_kind(_NEW_KINDS), type_=_kind(_OLD_KINDS), existing_nullable=False
        )


