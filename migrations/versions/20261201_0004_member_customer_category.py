"""member customer category (how far back a correction may reach)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing member is a public buyer (this market's members are public bodies).
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "customer_category",
                sa.Enum(
                    "PUBLIC",
                    "BUSINESS",
                    "PRIVATE",
                    name="customercategory",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=False,
                server_default="PUBLIC",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint("customercategory", type_="check")
        batch_op.drop_column("customer_category")
