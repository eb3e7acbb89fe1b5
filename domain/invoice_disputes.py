"""Invoice disputes ("contestations de facture"): the reasons a public buyer contests an invoice
with, as data (the supplier's Chorus Pro memo), and how a dispute moves.

RECEIVED → IN_ANALYSIS (a distributor claim number when one is filed) → RESOLVED by the
reason's correction (CLARIFICATION, REPRINT of the same number, or CANCELLATION_AND_REISSUE)
| REJECTED (with the explanation). No skipping, no going back: a refused move names the
statuses allowed next (`domain.request_workflow`, as every request workflow).

The promised delay is counted in working days (French public holidays excluded) from the day
the dispute was received, with the technical requests' calendar (`domain.calendar`). Pure
rules: the resolver looks objects up and writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.billing import CORRECTION_LIMIT_YEARS, earliest_correction_start
from domain.calendar import add_working_days
from domain.enums import (
    ChorusStatus,
    CustomerCategory,
    DisputeCorrection,
    DisputeReason,
    DisputeStatus,
)
from domain.errors import ErrorCode, Refusal
from domain.request_workflow import allowed_moves, check_move

S = DisputeStatus
R = DisputeReason
C = DisputeCorrection


@dataclass(frozen=True, slots=True)
class ReasonSpec:
    """One reason of the memo: what the buyer sets on Chorus Pro, what the supplier does, in
    how many working days (a range when it depends on the distributor), and what the form
    must carry."""

    code: DisputeReason
    label: str
    chorus_status: ChorusStatus
    correction: DisputeCorrection
    correction_label: str
    min_working_days: int
    max_working_days: int
    needs_index: bool = False  # the index the customer reads (with an optional photo)
    needs_chorus_references: bool = False  # the service code / commitment expected
    needs_siret: bool = False  # the SIRET the invoice should have gone to
    may_file_claim: bool = False  # a claim with the distributor may be filed

    @property
    def delay_label(self) -> str:
        if self.min_working_days == self.max_working_days:
            return f"{self.min_working_days} jours ouvrés"
        return f"{self.min_working_days} à {self.max_working_days} jours ouvrés"


_CANCEL = "Annulation de la facture et émission d'une nouvelle facture"
REASONS: dict[DisputeReason, ReasonSpec] = {
    spec.code: spec
    for spec in (
        ReasonSpec(
            R.MISSING_DOCUMENT,
            "Pièce justificative manquante ou demande d'explication",
            ChorusStatus.SUSPENDED,
            C.CLARIFICATION,
            "Explication ou pièce envoyée, la facture reste due",
            2,
            2,
        ),
        ReasonSpec(
            R.WRONG_CHORUS_REFERENCES,
            "Références Chorus erronées (engagement juridique, code service)",
            ChorusStatus.TO_RECYCLE,
            C.REPRINT,
            "Données corrigées et réédition sous le même numéro",
            2,
            2,
            needs_chorus_references=True,
        ),
        ReasonSpec(
            R.DISPUTED_INDEX,
            "Index contesté",
            ChorusStatus.REJECTED,
            C.CANCELLATION_AND_REISSUE,
            _CANCEL + " (après analyse des données du distributeur, réclamation si besoin)",
            10,
            15,
            needs_index=True,
            may_file_claim=True,
        ),
        ReasonSpec(
            R.PRICE_NOT_MATCHING_SCHEDULE,
            "Prix non conforme au bordereau de prix du marché",
            ChorusStatus.REJECTED,
            C.CANCELLATION_AND_REISSUE,
            _CANCEL,
            10,
            15,
        ),
        ReasonSpec(
            R.WRONG_TAXES,
            "Taxes ou TVA erronées",
            ChorusStatus.REJECTED,
            C.CANCELLATION_AND_REISSUE,
            _CANCEL,
            10,
            15,
        ),
        ReasonSpec(
            R.WRONG_BILLING_STRUCTURE,
            "Structure de facturation erronée",
            ChorusStatus.REJECTED,
            C.CANCELLATION_AND_REISSUE,
            _CANCEL,
            10,
            15,
        ),
        ReasonSpec(
            R.WRONG_SIRET,
            "SIRET erroné (transfert de compétence, facture d'un autre acheteur)",
            ChorusStatus.REJECTED,
            C.CANCELLATION_AND_REISSUE,
            _CANCEL + " sur le bon compte de facturation",
            10,
            15,
            needs_siret=True,
        ),
    )
}

TRANSITIONS: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    S.RECEIVED: frozenset({S.IN_ANALYSIS}),
    S.IN_ANALYSIS: frozenset({S.RESOLVED, S.REJECTED}),
    S.RESOLVED: frozenset(),
    S.REJECTED: frozenset(),
}
OPEN_STATUSES = (S.RECEIVED, S.IN_ANALYSIS)
STATUS_LABELS: dict[DisputeStatus, str] = {
    S.RECEIVED: "Reçue",
    S.IN_ANALYSIS: "En analyse",
    S.RESOLVED: "Résolue",
    S.REJECTED: "Rejetée",
}
CORRECTION_LABELS: dict[DisputeCorrection, str] = {
    C.CLARIFICATION: "Explication",
    C.REPRINT: "Réédition sous le même numéro",
    C.CANCELLATION_AND_REISSUE: "Annulation et nouvelle facture",
}
CHORUS_STATUS_LABELS: dict[ChorusStatus, str] = {
    ChorusStatus.SUSPENDED: "Suspendue",
    ChorusStatus.TO_RECYCLE: "À recycler",
    ChorusStatus.REJECTED: "Rejetée",
}
REASON_LABELS: dict[DisputeReason, str] = {code: spec.label for code, spec in REASONS.items()}

MAX_SITES = 100
MAX_ATTACHMENTS = 5
# A customer's index: what a meter of up to 10 digits shows.
MAX_INDEX = 10**10 - 1
CLAIM_NUMBER = re.compile(r"[A-Z0-9-]{4,30}")


def reference_number(year: int, dispute_id: int) -> str:
    """The dispute's reference as the customer quotes it (e.g. CF-2026-000123)."""
    return f"CF-{year}-{dispute_id:06d}"


def allowed_next(status: DisputeStatus) -> list[DisputeStatus]:
    return allowed_moves(TRANSITIONS, status)


def check_transition(status: DisputeStatus, to: DisputeStatus) -> None:
    check_move(
        TRANSITIONS,
        STATUS_LABELS,
        status,
        to,
        closed_message=f"Une contestation « {STATUS_LABELS[status]} » est close : elle "
        "n'évolue plus.",
    )


def due_on(reason: DisputeReason, received_on: date, *, claim_filed: bool = False) -> date:
    """The day the correction is promised by: the reason's delay in working days after the day
    the dispute was received. A range (10 to 15 days) ends at its low bound unless a claim was
    filed with the distributor (its correction takes the longer delay); reasons without a
    distributor promise the high bound."""
    spec = REASONS[reason]
    if spec.may_file_claim and not claim_filed:
        days = spec.min_working_days
    else:
        days = spec.max_working_days
    return add_working_days(received_on, days)


def is_overdue(status: DisputeStatus, due: date, today: date) -> bool:
    """An open dispute whose promised day has passed."""
    return status in OPEN_STATUSES and today > due


def check_claim_number(reason: DisputeReason, value: str | None) -> str | None:
    """The distributor claim number an analysis step may carry: only where the reason involves
    the distributor (a disputed index); letters, digits and dashes, as the distributors issue
    them."""
    if value is None or not value.strip():
        return None
    if not REASONS[reason].may_file_claim:
        raise Refusal(
            ErrorCode.INVALID,
            "Une réclamation au distributeur ne concerne qu'un index contesté.",
            field="distributorClaimNumber",
        )
    number = value.strip().upper()
    if not CLAIM_NUMBER.fullmatch(number):
        raise Refusal(
            ErrorCode.INVALID,
            "Numéro de réclamation invalide : 4 à 30 lettres, chiffres ou tirets.",
            field="distributorClaimNumber",
        )
    return number


def check_resolution(reason: DisputeReason, correction: DisputeCorrection | None) -> None:
    """RESOLVED applies the reason's own correction (the memo's), nothing else."""
    expected = REASONS[reason].correction
    if correction is None:
        raise Refusal(
            ErrorCode.REQUIRED,
            f"Précisez la correction : « {CORRECTION_LABELS[expected]} » ({expected.value}).",
            field="correction",
        )
    if correction is not expected:
        raise Refusal(
            ErrorCode.INVALID,
            f"Le motif « {REASONS[reason].label} » se corrige par « "
            f"{CORRECTION_LABELS[expected]} » ({expected.value}), pas par « "
            f"{CORRECTION_LABELS[correction]} ».",
            field="correction",
        )


def reissue_reaches_too_far(
    category: CustomerCategory,
    *,
    disputed_total: Decimal,
    reissued_total: Decimal,
    reissued_period_start: date,
    billed_on: date,
) -> bool:
    """True when the new invoice charges the customer more than the one it replaces (a
    correction in the customer's disfavour) for a period that starts before the limit of its
    category (2, 4 or 5 years before the new invoice's accounting date, `domain.billing`). A
    correction in the customer's favour is not limited."""
    return reissued_total > disputed_total and reissued_period_start < earliest_correction_start(
        category, billed_on
    )


def too_far_message(category: CustomerCategory, billed_on: date) -> str:
    earliest = earliest_correction_start(category, billed_on)
    return (
        "La nouvelle facture est plus élevée que celle qu'elle remplace et remonte avant le "
        f"{earliest:%d/%m/%Y} : une correction en défaveur du client ne peut remonter plus de "
        f"{CORRECTION_LIMIT_YEARS[category]} ans."
    )
