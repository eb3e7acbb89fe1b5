"""How a technical request moves: the table of allowed transitions and what each step needs.

SUBMITTED → FORWARDED (the distributor's case number: OMEGA for GRDF, SGE for Enedis)
→ SCHEDULED (an appointment; rescheduling keeps it SCHEDULED) → DONE; ABANDONED and REJECTED
(with a reason) end it from any open status. No going back, no skipping: a refused move names
the statuses allowed next. The back office moves requests; the customer may only abandon its
own request while it is still SUBMITTED (not yet forwarded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from domain.enums import Distributor, TechnicalRequestStatus, TechnicalRequestType
from domain.errors import ErrorCode, Refusal
from domain.request_workflow import allowed_moves, check_move
from domain.request_workflow import clean_note as clean_note

S = TechnicalRequestStatus

# A commissioning is done when the meter runs for the customer: the distributor reads the
# index it starts from, the first invoice's old index. The back office records it with DONE.
COMMISSIONING_TYPES = frozenset(
    {
        TechnicalRequestType.COMMISSIONING,
        TechnicalRequestType.EXPRESS_COMMISSIONING,
        TechnicalRequestType.ADD_SITE_COMMISSIONING,
    }
)
# Meters show at most 9 digits (gas) or 8 (electricity): a bigger figure is a typing error.
MAX_COMMISSIONING_INDEX = 999_999_999

TRANSITIONS: dict[TechnicalRequestStatus, frozenset[TechnicalRequestStatus]] = {
    S.SUBMITTED: frozenset({S.FORWARDED, S.ABANDONED, S.REJECTED}),
    S.FORWARDED: frozenset({S.SCHEDULED, S.ABANDONED, S.REJECTED}),
    S.SCHEDULED: frozenset({S.SCHEDULED, S.DONE, S.ABANDONED, S.REJECTED}),
    S.DONE: frozenset(),
    S.ABANDONED: frozenset(),
    S.REJECTED: frozenset(),
}
# What the customer may do by itself: cancel before the distributor has the request.
CUSTOMER_TRANSITIONS: dict[TechnicalRequestStatus, frozenset[TechnicalRequestStatus]] = {
    S.SUBMITTED: frozenset({S.ABANDONED}),
}

STATUS_LABELS: dict[TechnicalRequestStatus, str] = {
    S.SUBMITTED: "Soumise",
    S.FORWARDED: "Transmise au distributeur",
    S.SCHEDULED: "Rendez-vous planifié",
    S.DONE: "Réalisée",
    S.ABANDONED: "Abandonnée",
    S.REJECTED: "Refusée",
}

# Case numbers as the distributors issue them (OMEGA at GRDF, SGE at Enedis).
CASE_NUMBER_PATTERNS: dict[Distributor, re.Pattern[str]] = {
    Distributor.GRDF: re.compile(r"OMEGA\d{6,12}"),
    Distributor.ENEDIS: re.compile(r"SGE\d{6,12}"),
    Distributor.LOCAL: re.compile(r"[A-Z0-9-]{4,30}"),
}
CASE_NUMBER_EXAMPLES: dict[Distributor, str] = {
    Distributor.GRDF: "OMEGA123456789",
    Distributor.ENEDIS: "SGE1234567890",
    Distributor.LOCAL: "ELD-2026-0042",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One move asked by the back office, with what that move carries."""

    to: TechnicalRequestStatus
    note: str | None = None
    case_number: str | None = None
    appointment_at: datetime | None = None
    effective_at: datetime | None = None
    commissioning_index: int | None = None


def allowed_next(
    status: TechnicalRequestStatus, *, by_customer: bool = False
) -> list[TechnicalRequestStatus]:
    return allowed_moves(CUSTOMER_TRANSITIONS if by_customer else TRANSITIONS, status)


def check_transition(
    status: TechnicalRequestStatus, to: TechnicalRequestStatus, *, by_customer: bool = False
) -> None:
    """Refuses a move outside the table, naming the statuses allowed next."""
    check_move(
        CUSTOMER_TRANSITIONS if by_customer else TRANSITIONS,
        STATUS_LABELS,
        status,
        to,
        closed_message=(
            "Cette demande a déjà été transmise au distributeur ou est close : elle ne peut "
            "plus être annulée depuis l'espace client."
            if by_customer
            else None
        ),
    )


def check_step(
    step: Step,
    distributor: Distributor,
    request_type: TechnicalRequestType | None = None,
    *,
    customer_absent: bool = False,
) -> list[Refusal]:
    """What the target status needs: a case number to forward, an appointment to schedule, a
    reason to abandon or reject, the commissioning index to close a commissioning the customer
    attended (and no such index on any other step). One refusal per field at fault."""
    refusals: list[Refusal] = []
    index = step.commissioning_index
    commissioning_done = (
        step.to is S.DONE and request_type in COMMISSIONING_TYPES and not customer_absent
    )
    if commissioning_done and index is None:
        refusals.append(
            Refusal(
                ErrorCode.REQUIRED,
                "L'index de mise en service relevé par le distributeur est obligatoire pour "
                "dire la mise en service réalisée.",
                field="commissioningIndex",
            )
        )
    elif index is not None and not commissioning_done:
        refusals.append(
            Refusal(
                ErrorCode.INVALID,
                "Un index de mise en service ne se saisit qu'en réalisant une mise en service "
                "où le client était présent.",
                field="commissioningIndex",
            )
        )
    elif index is not None and not 0 <= index <= MAX_COMMISSIONING_INDEX:
        refusals.append(
            Refusal(
                ErrorCode.INVALID,
                "Index de mise en service invalide : un entier de 0 à 999 999 999.",
                field="commissioningIndex",
            )
        )
    if step.to is S.FORWARDED:
        number = (step.case_number or "").strip().upper()
        if not number:
            refusals.append(
                Refusal(
                    ErrorCode.REQUIRED,
                    "Le numéro d'affaire du distributeur est obligatoire pour transmettre.",
                    field="caseNumber",
                )
            )
        elif not CASE_NUMBER_PATTERNS[distributor].fullmatch(number):
            refusals.append(
                Refusal(
                    ErrorCode.INVALID,
                    f"Numéro d'affaire invalide pour {distributor.value} "
                    f"(ex. {CASE_NUMBER_EXAMPLES[distributor]}).",
                    field="caseNumber",
                )
            )
    if step.to is S.SCHEDULED and step.appointment_at is None:
        refusals.append(
            Refusal(
                ErrorCode.REQUIRED,
                "La date du rendez-vous est obligatoire pour planifier.",
                field="appointmentAt",
            )
        )
    if step.to in (S.ABANDONED, S.REJECTED):
        try:
            clean_note(step.note, required=True)
        except Refusal as refusal:
            refusals.append(refusal)
    elif step.note is not None:
        try:
            clean_note(step.note, required=False)
        except Refusal as refusal:
            refusals.append(refusal)
    return refusals
