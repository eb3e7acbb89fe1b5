"""The parc: delivery points (sites) and the meters installed on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field, max_length_check
from db.types import FixedDecimal, StrEnumType
from domain.enums import Distributor, Energy, MeterKind, Register, Segment, SiteStatus


class Site(SQLModel, table=True):
    """A PDL/PRM (electricity) or PCE (gas)."""

    __tablename__ = "sites"
    __table_args__ = (
        sa.UniqueConstraint("energy", "point_number"),
        sa.CheckConstraint("length(point_number) = 14", name="point_number_fourteen_digits"),
        max_length_check("internal_code", 35),
        max_length_check("designation", 35),
        max_length_check("other_reference", 40),
        sa.CheckConstraint(
            "green_share_pct >= 0 AND green_share_pct <= 100", name="green_share_percent"
        ),
        sa.CheckConstraint(
            "supply_end IS NULL OR supply_end >= supply_start", name="supply_dates_ordered"
        ),
        sa.ForeignKeyConstraint(
            ["billing_account_id", "member_id"],
            ["billing_accounts.id", "billing_accounts.member_id"],
            name="fk_sites_billing_account_member",
        ),
        sa.Index("ix_sites_postcode", "postcode"),
        sa.Index("ix_sites_city", "city"),
        sa.Index("ix_sites_internal_code", "internal_code"),
        sa.Index("ix_sites_designation", "designation"),
        # The unique (energy, point_number) serves lookups by energy; people type the number
        # alone.
        sa.Index("ix_sites_point_number", "point_number"),
        # Data retention: the purge finds the sites whose supply ended long ago.
        sa.Index("ix_sites_supply_end", "supply_end"),
        # Trigram index: `LIKE '%word%'` stays fast at full scale on PostgreSQL.
        sa.Index(
            "ix_sites_search_text_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: int | None = id_field()
    member_id: int = fk_field("members.id")
    billing_account_id: int = fk_field("billing_accounts.id")
    energy: Energy = Field(sa_type=StrEnumType(Energy), index=True)
    point_number: str = Field(max_length=14)
    distributor: Distributor = Field(sa_type=StrEnumType(Distributor), index=True)
    distributor_name: str = Field(max_length=100)
    segment: Segment = Field(sa_type=StrEnumType(Segment), index=True)
    tariff_option: str = Field(max_length=20)
    transport_tariff: str = Field(max_length=40)
    connection: str | None = Field(default=None, max_length=40)
    subscribed_power_kva: Decimal | None = Field(default=None, sa_type=FixedDecimal(7, 1))
    car_kwh: int = Field(ge=0)
    profile: str = Field(max_length=10)
    green_share_pct: int = Field(default=0)  # renewable / biomethane share, whole percent
    street: str = Field(max_length=200)
    postcode: str = Field(max_length=5)
    city: str = Field(max_length=100)
    status: SiteStatus = Field(sa_type=StrEnumType(SiteStatus), index=True)
    supply_start: date = Field(sa_type=sa.Date())
    supply_end: date | None = Field(default=None, sa_type=sa.Date())
    internal_code: str | None = Field(default=None, max_length=35)
    designation: str | None = Field(default=None, max_length=35)
    other_reference: str | None = Field(default=None, max_length=40)
    # Folded text of the point number, references, address and member's legal name, kept up
    # to date by `db.site_search.refresh_site_search` on every write that changes them.
    search_text: str = Field(default="", sa_type=sa.Text())
    created_at: datetime = created_at_field()
    updated_at: datetime | None = instant_field()


class Meter(SQLModel, table=True):
    """A compteur. A site keeps its past meters; exactly one has no removal date."""

    __tablename__ = "meters"
    __table_args__ = (
        sa.UniqueConstraint("kind", "serial"),
        # Real meters show 4 to 9 digits; 9 keeps every index inside GraphQL's 32-bit Int.
        sa.CheckConstraint("digits BETWEEN 4 AND 9", name="digits_range"),
        sa.CheckConstraint(
            "removed_on IS NULL OR removed_on >= installed_on", name="install_dates_ordered"
        ),
        sa.Index(
            "uq_meters_one_current_per_site",
            "site_id",
            unique=True,
            sqlite_where=sa.text("removed_on IS NULL"),
            postgresql_where=sa.text("removed_on IS NULL"),
        ),
    )

    id: int | None = id_field()
    site_id: int = fk_field("sites.id")
    serial: str = Field(max_length=20)
    kind: MeterKind = Field(sa_type=StrEnumType(MeterKind), index=True)
    is_communicating: bool = Field(index=True)
    digits: int
    # The registers this meter counts on, in display order (e.g. ["HP", "HC"]).
    registers: list[Register] = Field(sa_type=sa.JSON())
    reading_coefficient: Decimal = Field(default=Decimal(1), sa_type=FixedDecimal(8, 5))
    installed_on: date = Field(sa_type=sa.Date())
    removed_on: date | None = Field(default=None, sa_type=sa.Date())
