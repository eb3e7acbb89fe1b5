"""the Help tab (contacts, guides) and data retention (an index on sites.supply_end)

Contacts become the one source of the customer-service block: each group's customer-service
email and phone move from `groups` into a CUSTOMER_SERVICE contact of the group, and the
supplier's own customer service (until now settings) becomes a contact with no group.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ROLES = (
    "CUSTOMER_SERVICE",
    "ACCOUNT_MANAGER",
    "BUSINESS_DEVELOPER",
    "DEDICATED_ADVISER",
    "TECHNICAL_SUPPORT",
    "CHORUS_PRO",
)
_AUDIENCES = ("EVERYONE", "COORDINATORS", "MEMBERS", "THIRD_PARTIES")
# What settings held until now (COMPTOIR_CUSTOMER_SERVICE_*): the supplier's customer service,
# edited from now on with `updateContact`.
_SUPPLIER = {
    "name": "Service clients Comptoir Énergie",
    "email": "service-clients@comptoir.example",
    "phone": "09 70 00 00 00",
    "opening_hours": "du lundi au vendredi, de 8 h 30 à 17 h 30",
}


def upgrade() -> None:
    contacts = op.create_table(
        "contacts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=True),
        sa.Column("member_id", _ID, nullable=True),
        sa.Column(
            "role",
            sa.Enum(*_ROLES, name="contactrole", native_enum=False, create_constraint=True, length=18),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("opening_hours", sa.String(length=200), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "member_id IS NULL OR group_id IS NOT NULL",
            name=op.f("ck_contacts_member_contact_has_group"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_contacts_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_contacts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    op.create_index(op.f("ix_contacts_group_id"), "contacts", ["group_id"], unique=False)
    op.create_index(op.f("ix_contacts_member_id"), "contacts", ["member_id"], unique=False)
    op.create_table(
        "guides",
        sa.Column("id", _ID, nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column(
            "audience",
            sa.Enum(
                *_AUDIENCES, name="guideaudience", native_enum=False, create_constraint=True, length=13
            ),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_user_id", _ID, nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploaded_by_user_id"],
            ["users.id"],
            name=op.f("fk_guides_uploaded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guides")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_guides_storage_key")),
    )
    op.create_index(op.f("ix_sites_supply_end"), "sites", ["supply_end"], unique=False)

    now = datetime.now(UTC)
    groups = sa.table(
        "groups",
        sa.column("id", _ID),
        sa.column("name", sa.String()),
        sa.column("customer_service_email", sa.String()),
        sa.column("customer_service_phone", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            groups.c.id,
            groups.c.name,
            groups.c.customer_service_email,
            groups.c.customer_service_phone,
        )
    ).all()
    op.bulk_insert(
        contacts,
        [{"group_id": None, "member_id": None, "role": "CUSTOMER_SERVICE", "created_at": now, **_SUPPLIER}]
        + [
            {
                "group_id": row.id,
                "member_id": None,
                "role": "CUSTOMER_SERVICE",
                "name": f"Service clients — {row.name}"[:120],
                "email": row.customer_service_email,
                "phone": row.customer_service_phone,
                "opening_hours": _SUPPLIER["opening_hours"],
                "created_at": now,
            }
            for row in rows
        ],
    )
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("customer_service_email")
        batch.drop_column("customer_service_phone")


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(
            sa.Column("customer_service_email", sa.String(length=254), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("customer_service_phone", sa.String(length=32), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE groups SET customer_service_email = COALESCE((SELECT email FROM contacts c"
        " WHERE c.group_id = groups.id AND c.member_id IS NULL AND c.role = 'CUSTOMER_SERVICE'"
        " ORDER BY c.id LIMIT 1), ''), customer_service_phone = COALESCE((SELECT phone FROM"
        " contacts c WHERE c.group_id = groups.id AND c.member_id IS NULL"
        " AND c.role = 'CUSTOMER_SERVICE' ORDER BY c.id LIMIT 1), '')"
    )
    op.drop_index(op.f("ix_sites_supply_end"), table_name="sites")
    op.drop_table("guides")
    op.drop_index(op.f("ix_contacts_member_id"), table_name="contacts")
    op.drop_index(op.f("ix_contacts_group_id"), table_name="contacts")
    op.drop_table("contacts")
