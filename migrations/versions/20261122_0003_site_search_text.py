"""site search text

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.search import site_search_text

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    # Backfill existing sites with the same folding the application uses on write.
    rows = bind.execute(
        sa.text(
            "SELECT s.id, s.point_number, s.internal_code, s.designation, s.other_reference, "
            "s.street, s.postcode, s.city, m.legal_name "
            "FROM sites s JOIN members m ON m.id = s.member_id"
        )
    ).all()
    if rows:
        bind.execute(
            sa.text("UPDATE sites SET search_text = :text WHERE id = :site_id"),
            [{"site_id": row[0], "text": site_search_text(row[1:])} for row in rows],
        )
    # The server default stays: dropping it would make SQLite copy the whole table.
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sites_search_text_trgm",
            ["search_text"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_sites_search_text_trgm",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )
        batch_op.drop_column("search_text")
