"""invoice site rows keep each component's share, split when the invoice is written

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0015"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# domain.billing.PART_COLUMNS, as they stood when this revision was written.
_PARTS = (
    "subscription_part",
    "energy_part",
    "capacity_part",
    "energy_saving_certificates_part",
    "regularisation_part",
    "transport_part",
    "cta_part",
    "excise_part",
    "local_tax_part",
)


def upgrade() -> None:
    # Rows written before stay NULL: the billing file splits those as it reads them.
    with op.batch_alter_table("invoice_sites") as batch:
        for name in _PARTS:
            batch.add_column(sa.Column(name, db.types.FixedDecimal(precision=14, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_sites") as batch:
        for name in reversed(_PARTS):
            batch.drop_column(name)
