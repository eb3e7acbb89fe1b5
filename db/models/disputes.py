"""Invoice disputes: a contested invoice, its history, its files, and the PDF versions a reprint
keeps side by side."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field
from db.types import StrEnumType, UTCDateTime
from domain.enums import DisputeCorrection, DisputeReason, DisputeStatus

_OPEN = sa.text("status IN ('RECEIVED', 'IN_ANALYSIS')")


class InvoiceDispute(SQLModel, table=True):
    """Contestation d'une facture: RECEIVED → IN_ANALYSIS → RESOLVED | REJECTED."""

    __tablename__ = "invoice_disputes"
    __table_args__ = (
        # One open dispute per invoice: two contests at once cannot both pass.
        sa.Index(
            "uq_invoice_disputes_one_open_per_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        sa.Index("ix_invoice_disputes_member_id_submitted_at", "member_id", "submitted_at"),
    )

    id: int | None = id_field()
    reference: str = Field(max_length=20, unique=True)
    invoice_id: int = fk_field("invoices.id", index=False)
    # The invoice's account and member, denormalised: the perimeter applies to them in SQL.
    billing_account_id: int = fk_field("billing_accounts.id")
    member_id: int = fk_field("members.id", index=False)
    reason: DisputeReason = Field(sa_type=StrEnumType(DisputeReason), index=True)
    status: DisputeStatus = Field(sa_type=StrEnumType(DisputeStatus), index=True)
    correction: DisputeCorrection | None = Field(
        default=None, sa_type=StrEnumType(DisputeCorrection)
    )
    comment: str | None = Field(default=None, max_length=2000)
    # The sites concerned on a grouped invoice (ids of the invoice's sites; empty: all).
    site_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON())
    # What the reason needs: the customer's index, the expected Chorus references or SIRET.
    figures: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    distributor_claim_number: str | None = Field(default=None, max_length=30)
    answer: str | None = Field(default=None, max_length=2000)  # the explanation given
    received_on: date = Field(sa_type=sa.Date())  # Paris day the delay counts from
    due_on: date = Field(sa_type=sa.Date(), index=True)
    cancellation_invoice_id: int | None = fk_field("invoices.id", nullable=True, index=False)
    reissued_invoice_id: int | None = fk_field("invoices.id", nullable=True, index=False)
    submitted_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    submitted_at: datetime = Field(sa_type=UTCDateTime())
    updated_at: datetime | None = instant_field()
    closed_at: datetime | None = instant_field()


class InvoiceDisputeEvent(SQLModel, table=True):
    """One step of a dispute's history (`request_id` as in every request's history, so one
    loader reads them all)."""

    __tablename__ = "invoice_dispute_events"

    id: int | None = id_field()
    request_id: int = fk_field("invoice_disputes.id", ondelete="CASCADE")
    status: DisputeStatus = Field(sa_type=StrEnumType(DisputeStatus))
    occurred_at: datetime = Field(sa_type=UTCDateTime())
    actor_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    comment: str | None = Field(default=None, max_length=2000)


class InvoiceDisputeAttachment(SQLModel, table=True):
    """A file joined to a dispute: the photo of the meter or a document, stored under files/."""

    __tablename__ = "invoice_dispute_attachments"

    id: int | None = id_field()
    request_id: int = fk_field("invoice_disputes.id", ondelete="CASCADE")
    is_index_photo: bool = False
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    uploaded_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    created_at: datetime = created_at_field()


class InvoicePdfVersion(SQLModel, table=True):
    """One printed version of an invoice's PDF: a reprint under the same number adds one and
    keeps the earlier ones."""

    __tablename__ = "invoice_pdf_versions"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "version"),)

    id: int | None = id_field()
    invoice_id: int = fk_field("invoices.id", ondelete="CASCADE", index=False)
    version: int
    storage_key: str = Field(max_length=200)
    dispute_id: int | None = fk_field("invoice_disputes.id", nullable=True, index=False)
    created_at: datetime = created_at_field()
