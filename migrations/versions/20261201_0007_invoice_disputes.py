"""invoice disputes: contested invoices, their history and files, the PDF versions of reprints

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_disputes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column(
            "invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "billing_account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "MISSING_DOCUMENT",
                "WRONG_CHORUS_REFERENCES",
                "DISPUTED_INDEX",
                "PRICE_NOT_MATCHING_SCHEDULE",
                "WRONG_TAXES",
                "WRONG_BILLING_STRUCTURE",
                "WRONG_SIRET",
                name="disputereason",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "RECEIVED",
                "IN_ANALYSIS",
                "RESOLVED",
                "REJECTED",
                name="disputestatus",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "correction",
            sa.Enum(
                "CLARIFICATION",
                "REPRINT",
                "CANCELLATION_AND_REISSUE",
                name="disputecorrection",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("site_ids", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("distributor_claim_number", sa.String(length=30), nullable=True),
        sa.Column("answer", sa.String(length=2000), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "cancellation_invoice_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "reissued_invoice_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "submitted_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("submitted_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["billing_account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_invoice_disputes_billing_account_id_billing_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["cancellation_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_disputes_cancellation_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_disputes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_invoice_disputes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["reissued_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_disputes_reissued_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_user_id"],
            ["users.id"],
            name=op.f("fk_invoice_disputes_submitted_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_disputes")),
        sa.UniqueConstraint("reference", name=op.f("uq_invoice_disputes_reference")),
    )
    with op.batch_alter_table("invoice_disputes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_disputes_billing_account_id"),
            ["billing_account_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_invoice_disputes_due_on"), ["due_on"], unique=False)
        batch_op.create_index(
            "ix_invoice_disputes_member_id_submitted_at",
            ["member_id", "submitted_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_invoice_disputes_reason"), ["reason"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_disputes_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_invoice_disputes_one_open_per_invoice",
            ["invoice_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('RECEIVED', 'IN_ANALYSIS')"),
            postgresql_where=sa.text("status IN ('RECEIVED', 'IN_ANALYSIS')"),
        )

    op.create_table(
        "invoice_dispute_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("is_index_photo", sa.Boolean(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column(
            "uploaded_by_user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["invoice_disputes.id"],
            name=op.f("fk_invoice_dispute_attachments_request_id_invoice_disputes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_invoice_dispute_attachments_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_dispute_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_invoice_dispute_attachments_storage_key")),
    )
    with op.batch_alter_table("invoice_dispute_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_dispute_attachments_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "invoice_dispute_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "RECEIVED",
                "IN_ANALYSIS",
                "RESOLVED",
                "REJECTED",
                name="disputestatus",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", db.types.UTCDateTime(), nullable=False),
        sa.Column(
            "actor_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_invoice_dispute_events_actor_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["invoice_disputes.id"],
            name=op.f("fk_invoice_dispute_events_request_id_invoice_disputes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_dispute_events")),
    )
    with op.batch_alter_table("invoice_dispute_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_dispute_events_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "invoice_pdf_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column(
            "dispute_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["invoice_disputes.id"],
            name=op.f("fk_invoice_pdf_versions_dispute_id_invoice_disputes"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_pdf_versions_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_pdf_versions")),
        sa.UniqueConstraint(
            "invoice_id", "version", name=op.f("uq_invoice_pdf_versions_invoice_id_version")
        ),
    )


def downgrade() -> None:
    op.drop_table("invoice_pdf_versions")
    with op.batch_alter_table("invoice_dispute_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_dispute_events_request_id"))

    op.drop_table("invoice_dispute_events")
    with op.batch_alter_table("invoice_dispute_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_dispute_attachments_request_id"))

    op.drop_table("invoice_dispute_attachments")
    with op.batch_alter_table("invoice_disputes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_invoice_disputes_one_open_per_invoice",
            sqlite_where=sa.text("status IN ('RECEIVED', 'IN_ANALYSIS')"),
            postgresql_where=sa.text("status IN ('RECEIVED', 'IN_ANALYSIS')"),
        )
        batch_op.drop_index(batch_op.f("ix_invoice_disputes_status"))
        batch_op.drop_index(batch_op.f("ix_invoice_disputes_reason"))
        batch_op.drop_index("ix_invoice_disputes_member_id_submitted_at")
        batch_op.drop_index(batch_op.f("ix_invoice_disputes_due_on"))
        batch_op.drop_index(batch_op.f("ix_invoice_disputes_billing_account_id"))

    op.drop_table("invoice_disputes")
