"""Factures: invoices, their lines by component and their per-site breakdown."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field
from db.types import FixedDecimal, Money, StrEnumType
from domain.enums import (
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceComponent,
    InvoiceDelivery,
    InvoiceKind,
    PaymentStatus,
)


class Invoice(SQLModel, table=True):
    """A facture, avoir or facture d'annulation of one billing account.

    Totals are stored (they are what was printed) and always equal the sum of the lines.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        sa.CheckConstraint("period_end >= period_start", name="period_ordered"),
        sa.CheckConstraint(
            "(kind = 'CANCELLATION') = (cancels_invoice_id IS NOT NULL)",
            name="cancellation_points_to_invoice",
        ),
        sa.Index(
            "ix_invoices_billing_account_id_accounting_date",
            "billing_account_id",
            "accounting_date",
        ),
        sa.Index("ix_invoices_accounting_date", "accounting_date"),
        sa.Index("ix_invoices_total_incl_tax", "total_incl_tax"),
    )

    id: int | None = id_field()
    number: str = Field(max_length=20, unique=True)
    billing_account_id: int = fk_field("billing_accounts.id", index=False)
    energy: Energy = Field(sa_type=StrEnumType(Energy))
    kind: InvoiceKind = Field(sa_type=StrEnumType(InvoiceKind), index=True)
    accounting_date: date = Field(sa_type=sa.Date())
    period_start: date = Field(sa_type=sa.Date())
    period_end: date = Field(sa_type=sa.Date())
    index_basis: IndexBasis = Field(sa_type=StrEnumType(IndexBasis), index=True)
    consumption_kwh: int  # negative on a regularisation in the customer's favour
    total_excl_tax: Decimal = Field(sa_type=Money())
    vat_reduced: Decimal = Field(sa_type=Money())  # 5.5 %
    vat_standard: Decimal = Field(sa_type=Money())  # 20 %
    total_incl_tax: Decimal = Field(sa_type=Money())
    due_date: date = Field(sa_type=sa.Date())
    delivery_mode: InvoiceDelivery = Field(sa_type=StrEnumType(InvoiceDelivery), index=True)
    edition_status: EditionStatus = Field(sa_type=StrEnumType(EditionStatus), index=True)
    payment_status: PaymentStatus = Field(sa_type=StrEnumType(PaymentStatus))
    cancels_invoice_id: int | None = fk_field("invoices.id", nullable=True)
    # Key of the PDF the billing system provided, under the files directory; None → rendered.
    pdf_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()


class InvoiceLine(SQLModel, table=True):
    """One component of an invoice (summed over its sites), or a VAT line with its base."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "position"),
        sa.CheckConstraint(
            "(component = 'VAT') = (vat_base IS NOT NULL)", name="vat_line_has_base"
        ),
    )

    id: int | None = id_field()
    invoice_id: int = fk_field("invoices.id", ondelete="CASCADE")
    position: int
    component: InvoiceComponent = Field(sa_type=StrEnumType(InvoiceComponent))
    label: str = Field(max_length=120)
    quantity: Decimal | None = Field(default=None, sa_type=FixedDecimal(14, 3))
    unit: str | None = Field(default=None, max_length=10)
    unit_price: Decimal | None = Field(default=None, sa_type=FixedDecimal(14, 6))
    vat_rate: Decimal = Field(sa_type=FixedDecimal(5, 2))  # percent: 5.50 or 20.00
    vat_base: Decimal | None = Field(default=None, sa_type=Money())
    amount: Decimal = Field(sa_type=Money())  # excl. VAT, or the VAT itself on a VAT line


class InvoiceSite(SQLModel, table=True):
    """The share of one site in an invoice: its indexes and its amounts by family.

    For a multi-site invoice the rows add up to the invoice totals to the cent.
    """

    __tablename__ = "invoice_sites"
    __table_args__ = (sa.UniqueConstraint("invoice_id", "site_id"),)

    id: int | None = id_field()
    invoice_id: int = fk_field("invoices.id", ondelete="CASCADE", index=False)
    site_id: int = fk_field("sites.id")
    meter_serial: str | None = Field(default=None, max_length=20)
    previous_index_on: date | None = Field(default=None, sa_type=sa.Date())
    current_index_on: date | None = Field(default=None, sa_type=sa.Date())
    # The indexes printed on the invoice, one entry per register of the meter, in the meter's
    # order: {"register": "HP", "previous": 12345, "current": 12891}. What was printed, kept
    # as printed: the readings table stays the source of truth for indexes.
    register_indexes: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON())
    index_basis: IndexBasis = Field(sa_type=StrEnumType(IndexBasis))
    consumption_kwh: int
    subscription_amount: Decimal = Field(sa_type=Money())
    energy_amount: Decimal = Field(sa_type=Money())  # supply, capacity, CEE, regularisation
    transport_amount: Decimal = Field(sa_type=Money())
    taxes_amount: Decimal = Field(sa_type=Money())  # CTA, excise, local taxes
    total_excl_tax: Decimal = Field(sa_type=Money())
    vat_amount: Decimal = Field(sa_type=Money())
    total_incl_tax: Decimal = Field(sa_type=Money())
    # Each component's share of the site (domain.billing.PART_COLUMNS), split from the family
    # amounts when the invoice is written; None on rows written before they were stored (the
    # billing file splits those as it reads them).
    subscription_part: Decimal | None = Field(default=None, sa_type=Money())
    energy_part: Decimal | None = Field(default=None, sa_type=Money())
    capacity_part: Decimal | None = Field(default=None, sa_type=Money())
    energy_saving_certificates_part: Decimal | None = Field(default=None, sa_type=Money())
    regularisation_part: Decimal | None = Field(default=None, sa_type=Money())
    transport_part: Decimal | None = Field(default=None, sa_type=Money())
    cta_part: Decimal | None = Field(default=None, sa_type=Money())
    excise_part: Decimal | None = Field(default=None, sa_type=Money())
    local_tax_part: Decimal | None = Field(default=None, sa_type=Money())
