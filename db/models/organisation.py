"""Who buys: the purchasing group, its members and their billing accounts."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, max_length_check
from db.types import StrEnumType
from domain.enums import (
    BillingFrequency,
    CustomerCategory,
    Energy,
    InvoiceDelivery,
    PaymentMethod,
)


class Group(SQLModel, table=True):
    """Groupement de commandes; its coordinator's staff are the ADMIN tier."""

    __tablename__ = "groups"

    id: int | None = id_field()
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    coordinator_name: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class Member(SQLModel, table=True):
    """Membre / adhérent: a public buyer of the group."""

    __tablename__ = "members"
    __table_args__ = (
        sa.CheckConstraint("length(siren) = 9", name="siren_nine_digits"),
        sa.UniqueConstraint("group_id", "siren"),
        sa.Index("ix_members_legal_name", "legal_name"),
    )

    id: int | None = id_field()
    group_id: int = fk_field("groups.id")
    customer_number: str = Field(max_length=20, unique=True)
    legal_name: str = Field(max_length=200)
    siren: str = Field(max_length=9)
    street: str = Field(max_length=200)
    postcode: str = Field(max_length=5)
    city: str = Field(max_length=100)
    contact_email: str | None = Field(default=None, max_length=254)
    switched_on: date | None = Field(default=None, sa_type=sa.Date())
    # Public buyers by default: the market this space serves is a group of public bodies.
    customer_category: CustomerCategory = Field(
        default=CustomerCategory.PUBLIC,
        sa_type=StrEnumType(CustomerCategory),
        sa_column_kwargs={"server_default": CustomerCategory.PUBLIC.value},
    )
    created_at: datetime = created_at_field()


class BillingAccount(SQLModel, table=True):
    """Compte de contrat: the unit a member is invoiced on."""

    __tablename__ = "billing_accounts"
    __table_args__ = (
        max_length_check("invoice_label", 30),
        sa.CheckConstraint("length(recipient_siret) = 14", name="siret_fourteen_digits"),
        # Lets sites carry (billing_account_id, member_id) with a foreign key that keeps the
        # member denormalised on the site consistent.
        sa.UniqueConstraint("id", "member_id"),
    )

    id: int | None = id_field()
    member_id: int = fk_field("members.id")
    number: str = Field(max_length=20, unique=True)
    energy: Energy = Field(sa_type=StrEnumType(Energy), index=True)
    invoice_label: str = Field(max_length=30)
    is_multi_site: bool = Field(default=False)
    payment_method: PaymentMethod = Field(sa_type=StrEnumType(PaymentMethod))
    billing_frequency: BillingFrequency = Field(sa_type=StrEnumType(BillingFrequency))
    invoice_delivery: InvoiceDelivery = Field(sa_type=StrEnumType(InvoiceDelivery), index=True)
    billing_street: str = Field(max_length=200)
    billing_postcode: str = Field(max_length=5)
    billing_city: str = Field(max_length=100)
    recipient_siret: str = Field(max_length=14)
    chorus_service_code: str | None = Field(default=None, max_length=100)
    chorus_commitment_number: str | None = Field(default=None, max_length=50)
    segment_typology: str = Field(max_length=40)
    created_at: datetime = created_at_field()
