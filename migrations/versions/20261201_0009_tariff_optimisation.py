"""tariff optimisation: dated tariff grids, the yearly campaigns and their proposals

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tariff_grids",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "energy",
            sa.Enum("GAS", "ELECTRICITY", name="energy", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("change_fee", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column(
            "special_reading_fee", db.types.FixedDecimal(precision=14, scale=2), nullable=False
        ),
        sa.Column("off_peak_share", db.types.FixedDecimal(precision=5, scale=4), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_grids")),
        sa.UniqueConstraint("energy", "valid_from", name=op.f("uq_tariff_grids_energy_valid_from")),
        sa.UniqueConstraint("version", name=op.f("uq_tariff_grids_version")),
    )
    op.create_table(
        "optimisation_campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("threshold", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column("grid_versions", sa.JSON(), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=True),
        sa.Column("sites_studied", sa.Integer(), nullable=False),
        sa.Column("proposals", sa.Integer(), nullable=False),
        sa.Column(
            "run_by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("run_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_optimisation_campaigns_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["run_by_user_id"],
            ["users.id"],
            name=op.f("fk_optimisation_campaigns_run_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimisation_campaigns")),
    )
    with op.batch_alter_table("optimisation_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimisation_campaigns_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "optimisation_proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "billing_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "energy",
            sa.Enum("GAS", "ELECTRICITY", name="energy", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("grid_version", sa.String(length=40), nullable=False),
        sa.Column("current_option", sa.String(length=20), nullable=False),
        sa.Column("current_power_kva", db.types.FixedDecimal(precision=7, scale=1), nullable=True),
        sa.Column("proposed_option", sa.String(length=20), nullable=False),
        sa.Column("proposed_power_kva", db.types.FixedDecimal(precision=7, scale=1), nullable=True),
        sa.Column("consumption_kwh", sa.Integer(), nullable=False),
        sa.Column(
            "consumption_basis",
            sa.Enum(
                "CAR",
                "READINGS",
                name="consumptionbasis",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("consumption_from", sa.Date(), nullable=True),
        sa.Column("consumption_to", sa.Date(), nullable=True),
        sa.Column("current_cost", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column("proposed_cost", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column("gross_gain", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column("fees", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column("net_gain", db.types.FixedDecimal(precision=14, scale=2), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("answer_by", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PROPOSED",
                "ACCEPTED",
                "DECLINED",
                "SUPERSEDED",
                name="proposalstatus",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("answered_at", db.types.UTCDateTime(), nullable=True),
        sa.Column(
            "answered_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("answer_comment", sa.String(length=2000), nullable=True),
        sa.Column(
            "technical_request_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_user_id"],
            ["users.id"],
            name=op.f("fk_optimisation_proposals_answered_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["billing_account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_optimisation_proposals_billing_account_id_billing_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["optimisation_campaigns.id"],
            name=op.f("fk_optimisation_proposals_campaign_id_optimisation_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_optimisation_proposals_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_optimisation_proposals_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["technical_request_id"],
            ["technical_requests.id"],
            name=op.f("fk_optimisation_proposals_technical_request_id_technical_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimisation_proposals")),
    )
    with op.batch_alter_table("optimisation_proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimisation_proposals_billing_account_id"),
            ["billing_account_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_optimisation_proposals_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            "ix_optimisation_proposals_member_id_net_gain", ["member_id", "net_gain"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_optimisation_proposals_net_gain"), ["net_gain"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_optimisation_proposals_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_optimisation_proposals_technical_request_id"),
            ["technical_request_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_optimisation_proposals_one_open_per_site",
            ["site_id"],
            unique=True,
            sqlite_where=sa.text("status = 'PROPOSED'"),
            postgresql_where=sa.text("status = 'PROPOSED'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("optimisation_proposals", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_optimisation_proposals_one_open_per_site",
            sqlite_where=sa.text("status = 'PROPOSED'"),
            postgresql_where=sa.text("status = 'PROPOSED'"),
        )
        batch_op.drop_index(batch_op.f("ix_optimisation_proposals_technical_request_id"))
        batch_op.drop_index(batch_op.f("ix_optimisation_proposals_status"))
        batch_op.drop_index(batch_op.f("ix_optimisation_proposals_net_gain"))
        batch_op.drop_index("ix_optimisation_proposals_member_id_net_gain")
        batch_op.drop_index(batch_op.f("ix_optimisation_proposals_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_optimisation_proposals_billing_account_id"))

    op.drop_table("optimisation_proposals")
    with op.batch_alter_table("optimisation_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimisation_campaigns_group_id"))

    op.drop_table("optimisation_campaigns")
    op.drop_table("tariff_grids")
