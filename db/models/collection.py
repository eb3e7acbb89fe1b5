"""The switch-time data collection: a campaign per group and energy lot, a journey per
member (versioned, so two editors never lose an answer), its sites and its billing lots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field, max_length_check
from db.types import StrEnumType
from domain.collection import JourneyStatus, SiteDecision, SiteRefusalReason, SwitchOutcome
from domain.enums import (
    BillingFrequency,
    Distributor,
    Energy,
    InvoiceDelivery,
    PaymentMethod,
    Segment,
)


class CollectionCampaign(SQLModel, table=True):
    """A collection campaign: one group, one energy lot, its dates and its defaults."""

    __tablename__ = "collection_campaigns"
    __table_args__ = (
        sa.CheckConstraint("closes_on >= opens_on", name="dates_ordered"),
        sa.CheckConstraint(
            "default_green_share_pct >= 0 AND default_green_share_pct <= 100",
            name="default_green_share_percent",
        ),
    )

    id: int | None = id_field()
    group_id: int = fk_field("groups.id")
    energy: Energy = Field(sa_type=StrEnumType(Energy))
    name: str = Field(max_length=200)
    opens_on: date = Field(sa_type=sa.Date())
    closes_on: date = Field(sa_type=sa.Date())
    supply_start: date = Field(sa_type=sa.Date())
    # The defaults a member that does not validate gets, as data (the market says them).
    default_payment_method: PaymentMethod = Field(sa_type=StrEnumType(PaymentMethod))
    default_invoice_delivery: InvoiceDelivery = Field(sa_type=StrEnumType(InvoiceDelivery))
    default_green_share_pct: int = Field(default=0)
    default_grouped: bool = Field(default=False)  # one invoice per segment, else per site
    default_frequencies: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    created_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    created_at: datetime = created_at_field()
    closed_at: datetime | None = instant_field()


class CollectionJourney(SQLModel, table=True):
    """One member's journey in a campaign. `version` grows with every saved change: a change
    names the version it was made on, and a stale one is refused (never silently lost).
    The progress columns are recomputed from the domain rules at every change, so lists read
    them without loading sites and lots."""

    __tablename__ = "collection_journeys"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "member_id"),)

    id: int | None = id_field()
    campaign_id: int = fk_field("collection_campaigns.id")
    member_id: int = fk_field("members.id")
    version: int = Field(default=1)
    status: JourneyStatus = Field(sa_type=StrEnumType(JourneyStatus), index=True)
    administrative: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON())
    steps_done: int = Field(default=0)
    sites_total: int = Field(default=0)
    sites_confirmed: int = Field(default=0)
    sites_refused: int = Field(default=0)
    started_at: datetime | None = instant_field()
    updated_at: datetime | None = instant_field()
    updated_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    validated_at: datetime | None = instant_field()
    validated_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    closed_at: datetime | None = instant_field()  # turned into the portfolio


class CollectionLot(SQLModel, table=True):
    """A billing perimeter the member builds (or the closing builds from the defaults)."""

    __tablename__ = "collection_lots"
    __table_args__ = (
        sa.UniqueConstraint("journey_id", "name"),
        max_length_check("name", 30),
        sa.CheckConstraint(
            "green_share_pct >= 0 AND green_share_pct <= 100", name="green_share_percent"
        ),
    )

    id: int | None = id_field()
    journey_id: int = fk_field("collection_journeys.id")
    name: str = Field(max_length=30)
    segment: Segment = Field(sa_type=StrEnumType(Segment))
    is_multi_site: bool = Field(default=False)
    payment_method: PaymentMethod = Field(sa_type=StrEnumType(PaymentMethod))
    billing_frequency: BillingFrequency = Field(sa_type=StrEnumType(BillingFrequency))
    invoice_delivery: InvoiceDelivery = Field(sa_type=StrEnumType(InvoiceDelivery))
    green_share_pct: int = Field(default=0)
    defaulted: bool = Field(default=False)  # built at closing from the campaign's defaults
    billing_account_id: int | None = fk_field("billing_accounts.id", nullable=True)
    created_at: datetime = created_at_field()


class CollectionSite(SQLModel, table=True):
    """A site of a journey: pre-filled from the market's data, or added by the member."""

    __tablename__ = "collection_sites"
    __table_args__ = (
        sa.UniqueConstraint("journey_id", "point_number"),
        sa.CheckConstraint("length(point_number) = 14", name="point_number_fourteen_digits"),
        max_length_check("internal_code", 35),
        max_length_check("designation", 35),
        max_length_check("other_reference", 40),
    )

    id: int | None = id_field()
    journey_id: int = fk_field("collection_journeys.id")
    prefilled: bool = Field(default=True)
    energy: Energy = Field(sa_type=StrEnumType(Energy))
    point_number: str = Field(max_length=14, index=True)
    distributor: Distributor = Field(sa_type=StrEnumType(Distributor))
    distributor_name: str = Field(max_length=100)
    segment: Segment = Field(sa_type=StrEnumType(Segment))
    tariff_option: str = Field(max_length=20)
    transport_tariff: str = Field(max_length=40)
    profile: str = Field(max_length=10)
    car_kwh: int = Field(default=0, ge=0)
    street: str = Field(max_length=200)
    postcode: str = Field(max_length=5)
    city: str = Field(max_length=100)
    distributor_status: str = Field(max_length=60)
    activation_date: date | None = Field(default=None, sa_type=sa.Date())
    decision: SiteDecision = Field(sa_type=StrEnumType(SiteDecision), index=True)
    refusal_reason: SiteRefusalReason | None = Field(
        default=None, sa_type=StrEnumType(SiteRefusalReason)
    )
    refusal_comment: str | None = Field(default=None, max_length=200)
    internal_code: str | None = Field(default=None, max_length=35)
    designation: str | None = Field(default=None, max_length=35)
    other_reference: str | None = Field(default=None, max_length=40)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=32)
    lot_id: int | None = fk_field("collection_lots.id", nullable=True)
    outcome: SwitchOutcome | None = Field(default=None, sa_type=StrEnumType(SwitchOutcome))
    site_id: int | None = fk_field("sites.id", nullable=True)  # the portfolio's, once closed
    created_at: datetime = created_at_field()
