"""Tariff optimisation: the distributors' grids (dated data), the yearly campaigns and the
proposals they keep."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field
from db.types import FixedDecimal, Money, StrEnumType, UTCDateTime
from domain.enums import Energy
from domain.optimisation import ConsumptionBasis, ProposalStatus


class TariffGrid(SQLModel, table=True):
    """A distribution tariff grid in force from `valid_from` (the latest one not after a day is
    that day's). `options` lists each option: `option`, `subscribed_power_kva` (electricity),
    `fixed_yearly`, `prices` (register → € per kWh) and `cta_rate`, amounts as strings."""

    __tablename__ = "tariff_grids"
    __table_args__ = (sa.UniqueConstraint("energy", "valid_from"),)

    id: int | None = id_field()
    energy: Energy = Field(sa_type=StrEnumType(Energy))
    version: str = Field(max_length=40, unique=True)
    valid_from: date = Field(sa_type=sa.Date())
    options: list[dict[str, Any]] = Field(sa_type=sa.JSON())
    change_fee: Decimal = Field(sa_type=Money())
    special_reading_fee: Decimal = Field(sa_type=Money())
    off_peak_share: Decimal = Field(sa_type=FixedDecimal(5, 4))
    source: str = Field(max_length=500)
    created_at: datetime = created_at_field()


class OptimisationCampaign(SQLModel, table=True):
    """One run of the study over a group (or some of its members), with its threshold and the
    grids' versions it used."""

    __tablename__ = "optimisation_campaigns"

    id: int | None = id_field()
    group_id: int = fk_field("groups.id")
    as_of: date = Field(sa_type=sa.Date())
    threshold: Decimal = Field(sa_type=Money())
    # energy → the version of the grid the study used ({"GAS": "ATRD7-GRDF-2026-02", …}).
    grid_versions: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON())
    member_ids: list[int] | None = Field(default=None, sa_type=sa.JSON())  # None: whole group
    sites_studied: int
    proposals: int
    run_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    run_at: datetime = Field(sa_type=UTCDateTime())


class OptimisationProposal(SQLModel, table=True):
    """A site's proposal: current and proposed option, the consumption used, the costs and
    gains, the answer, and the technical request an acceptance filed."""

    __tablename__ = "optimisation_proposals"
    __table_args__ = (
        # One proposal awaiting an answer per site: a new campaign supersedes the old one.
        sa.Index(
            "uq_optimisation_proposals_one_open_per_site",
            "site_id",
            unique=True,
            sqlite_where=sa.text("status = 'PROPOSED'"),
            postgresql_where=sa.text("status = 'PROPOSED'"),
        ),
        sa.Index("ix_optimisation_proposals_member_id_net_gain", "member_id", "net_gain"),
    )

    id: int | None = id_field()
    campaign_id: int = fk_field("optimisation_campaigns.id")
    site_id: int = fk_field("sites.id", index=False)
    member_id: int = fk_field("members.id", index=False)
    billing_account_id: int = fk_field("billing_accounts.id")
    energy: Energy = Field(sa_type=StrEnumType(Energy))
    grid_version: str = Field(max_length=40)
    current_option: str = Field(max_length=20)
    current_power_kva: Decimal | None = Field(default=None, sa_type=FixedDecimal(7, 1))
    proposed_option: str = Field(max_length=20)
    proposed_power_kva: Decimal | None = Field(default=None, sa_type=FixedDecimal(7, 1))
    consumption_kwh: int
    consumption_basis: ConsumptionBasis = Field(sa_type=StrEnumType(ConsumptionBasis))
    consumption_from: date | None = Field(default=None, sa_type=sa.Date())
    consumption_to: date | None = Field(default=None, sa_type=sa.Date())
    current_cost: Decimal = Field(sa_type=Money())
    proposed_cost: Decimal = Field(sa_type=Money())
    gross_gain: Decimal = Field(sa_type=Money())
    fees: Decimal = Field(sa_type=Money())
    net_gain: Decimal = Field(sa_type=Money(), index=True)
    # Every allowed option's yearly cost ([{"option", "subscribed_power_kva", "yearly_cost"}]).
    options: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON())
    proposed_on: date = Field(sa_type=sa.Date())
    answer_by: date = Field(sa_type=sa.Date())
    status: ProposalStatus = Field(sa_type=StrEnumType(ProposalStatus), index=True)
    answered_at: datetime | None = instant_field()
    answered_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    answer_comment: str | None = Field(default=None, max_length=2000)
    technical_request_id: int | None = fk_field("technical_requests.id", nullable=True)
    created_at: datetime = created_at_field()
