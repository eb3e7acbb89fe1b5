"""What customers ask for: alerts they follow, technical and self-care requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field
from db.types import StrEnumType, UTCDateTime
from domain.enums import (
    AlertKind,
    AlertStatus,
    Energy,
    SelfCareRequestKind,
    SelfCareRequestStatus,
    TechnicalRequestStatus,
    TechnicalRequestType,
)


class Alert(SQLModel, table=True):
    """An anomaly on a site: OPEN → ACKNOWLEDGED → RESOLVED, notified by email."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index("ix_alerts_site_id_status", "site_id", "status"),
        # At most one unresolved alert per site and kind: two detection runs at once insert
        # with ON CONFLICT DO NOTHING against this index and never duplicate an alert.
        sa.Index(
            "uq_alerts_one_unresolved_per_site_kind",
            "site_id",
            "kind",
            unique=True,
            sqlite_where=sa.text("status IN ('OPEN', 'ACKNOWLEDGED')"),
            postgresql_where=sa.text("status IN ('OPEN', 'ACKNOWLEDGED')"),
        ),
    )

    id: int | None = id_field()
    site_id: int = fk_field("sites.id", index=False)
    kind: AlertKind = Field(sa_type=StrEnumType(AlertKind), index=True)
    status: AlertStatus = Field(sa_type=StrEnumType(AlertStatus), index=True)
    detected_on: date = Field(sa_type=sa.Date(), index=True)
    message: str = Field(max_length=300)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    # What the detection saw (readings, invoices and lines with their values) and the
    # threshold it applied (`domain.alerts.Finding`); empty for alerts recorded otherwise.
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    threshold: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON())
    acknowledged_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    acknowledged_at: datetime | None = instant_field()
    resolved_at: datetime | None = instant_field()
    # Resolved by a person (their id, their comment) or by the detection (no person, the
    # reason the cause went away).
    resolved_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    resolved_reason: str | None = Field(default=None, max_length=300)
    comment: str | None = Field(default=None, max_length=2000)
    notified_at: datetime | None = instant_field()
    created_at: datetime = created_at_field()


class TechnicalRequest(SQLModel, table=True):
    """Demande technique to the distributor, on a site of the parc or for a new site."""

    __tablename__ = "technical_requests"
    __table_args__ = (
        sa.Index("ix_technical_requests_member_id_submitted_at", "member_id", "submitted_at"),
    )

    id: int | None = id_field()
    reference: str = Field(max_length=20, unique=True)
    member_id: int = fk_field("members.id", index=False)
    billing_account_id: int | None = fk_field("billing_accounts.id", nullable=True)
    site_id: int | None = fk_field("sites.id", nullable=True)  # None when adding a new site
    request_type: TechnicalRequestType = Field(
        sa_type=StrEnumType(TechnicalRequestType), index=True
    )
    status: TechnicalRequestStatus = Field(sa_type=StrEnumType(TechnicalRequestStatus), index=True)
    energy: Energy = Field(sa_type=StrEnumType(Energy))
    point_number: str | None = Field(default=None, max_length=14, index=True)
    contact_name: str = Field(max_length=120)
    contact_phone: str = Field(max_length=32)
    contact_email: str = Field(max_length=254)
    # Desired characteristics and new-site data (power, tariff option, address, billing label,
    # green share…): their shape depends on the request type.
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    comment: str | None = Field(default=None, max_length=2000)
    distributor_case_number: str | None = Field(default=None, max_length=30)
    appointment_at: datetime | None = instant_field()
    submitted_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    submitted_at: datetime = Field(sa_type=UTCDateTime())
    updated_at: datetime | None = instant_field()


class TechnicalRequestEvent(SQLModel, table=True):
    """One step of a technical request's status history."""

    __tablename__ = "technical_request_events"

    id: int | None = id_field()
    request_id: int = fk_field("technical_requests.id", ondelete="CASCADE")
    status: TechnicalRequestStatus = Field(sa_type=StrEnumType(TechnicalRequestStatus))
    occurred_at: datetime = Field(sa_type=UTCDateTime())
    actor_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    comment: str | None = Field(default=None, max_length=2000)


class TechnicalRequestAttachment(SQLModel, table=True):
    """A file joined to a request (e.g. the signed service order), stored under files/."""

    __tablename__ = "technical_request_attachments"

    id: int | None = id_field()
    request_id: int = fk_field("technical_requests.id", ondelete="CASCADE")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    uploaded_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    created_at: datetime = created_at_field()


class SelfCareRequest(SQLModel, table=True):
    """Demande selfcare: once APPROVED, the requested change is applied to the data."""

    __tablename__ = "self_care_requests"
    __table_args__ = (
        sa.Index("ix_self_care_requests_member_id_submitted_at", "member_id", "submitted_at"),
    )

    id: int | None = id_field()
    reference: str = Field(max_length=20, unique=True)
    member_id: int = fk_field("members.id", index=False)
    billing_account_id: int | None = fk_field("billing_accounts.id", nullable=True)
    kind: SelfCareRequestKind = Field(sa_type=StrEnumType(SelfCareRequestKind), index=True)
    status: SelfCareRequestStatus = Field(sa_type=StrEnumType(SelfCareRequestStatus), index=True)
    # The requested values (new legal name, address, delivery mode, statement period…).
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    answer: str | None = Field(default=None, max_length=2000)
    submitted_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    submitted_at: datetime = Field(sa_type=UTCDateTime())
    updated_at: datetime | None = instant_field()


class SelfCareRequestEvent(SQLModel, table=True):
    """One step of a self-care request's status history."""

    __tablename__ = "self_care_request_events"

    id: int | None = id_field()
    request_id: int = fk_field("self_care_requests.id", ondelete="CASCADE")
    status: SelfCareRequestStatus = Field(sa_type=StrEnumType(SelfCareRequestStatus))
    occurred_at: datetime = Field(sa_type=UTCDateTime())
    actor_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    comment: str | None = Field(default=None, max_length=2000)
