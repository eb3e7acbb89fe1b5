"""The account statement ("relevé de compte"): the documents of a billing account or of a
member over a period, in accounting order, with the running balance.

Pure rules. Every document counts with its signed total including VAT: an invoice adds,
a credit note and a cancellation (stored negative) take away, so an invoice and the
cancellation that cancels it net to zero. The balance starts at zero on the first day of the
period: it is what the period's documents come to, not a ledger of payments (the billing
system sends a payment status per document, not the payments themselves). What is still to
settle is shown apart: the documents whose status is "to pay" or "partially paid".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.enums import PaymentStatus

# Documents whose amount is not settled yet (a partial payment's amount is not known).
OPEN_PAYMENT_STATUSES = frozenset({PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID})
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """One invoice, credit note or cancellation as the statement lists it."""

    number: str
    kind: str  # InvoiceKind value
    accounting_date: date
    period_start: date
    period_end: date
    due_date: date
    payment_status: str  # PaymentStatus value
    billing_account_number: str
    invoice_label: str
    cancels_number: str | None
    total_excl_tax: Decimal
    vat: Decimal
    total_incl_tax: Decimal


@dataclass(frozen=True, slots=True)
class StatementEntry:
    document: StatementDocument
    debit: Decimal  # what the customer owes from this document (≥ 0)
    credit: Decimal  # what it gives back (≥ 0)
    balance: Decimal  # the running balance after it


@dataclass(frozen=True, slots=True)
class StatementTotals:
    documents: int
    debit: Decimal
    credit: Decimal
    balance: Decimal  # debit − credit: the period's net amount
    open_amount: Decimal  # the signed totals of the documents still to settle


def entries(documents: Iterable[StatementDocument]) -> list[StatementEntry]:
    """The documents (already in accounting order) with debit, credit and running balance."""
    out: list[StatementEntry] = []
    balance = ZERO
    for document in documents:
        amount = document.total_incl_tax
        balance += amount
        debit, credit = (amount, ZERO) if amount >= 0 else (ZERO, -amount)
        out.append(StatementEntry(document, debit, credit, balance))
    return out


def totals(lines: Iterable[StatementEntry]) -> StatementTotals:
    listed = list(lines)
    debit = sum((e.debit for e in listed), ZERO)
    credit = sum((e.credit for e in listed), ZERO)
    open_amount = sum(
        (
            e.document.total_incl_tax
            for e in listed
            if PaymentStatus(e.document.payment_status) in OPEN_PAYMENT_STATUSES
        ),
        ZERO,
    )
    return StatementTotals(len(listed), debit, credit, debit - credit, open_amount)
