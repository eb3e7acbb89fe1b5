"""Self-care requests ("demandes selfcare"): what each kind carries, how it is checked, and
how a request moves.

SUBMITTED → IN_PROGRESS → APPROVED (the change is applied to the data) | REJECTED (with a
reason). Pure rules: the resolver looks the objects up and applies the approved change.
The payload keys are those the stored requests (and the demo data) use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.enums import InvoiceDelivery, SelfCareRequestKind, SelfCareRequestStatus
from domain.errors import ErrorCode, Refusal
from domain.identifiers import is_valid_siret
from domain.labels import INVOICE_DELIVERY_LABELS
from domain.request_workflow import check_move

S = SelfCareRequestStatus
K = SelfCareRequestKind

TRANSITIONS: dict[SelfCareRequestStatus, frozenset[SelfCareRequestStatus]] = {
    S.SUBMITTED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset(),
    S.REJECTED: frozenset(),
}
OPEN_STATUSES = (S.SUBMITTED, S.IN_PROGRESS)
STATUS_LABELS: dict[SelfCareRequestStatus, str] = {
    S.SUBMITTED: "Soumise",
    S.IN_PROGRESS: "En cours de traitement",
    S.APPROVED: "Acceptée et appliquée",
    S.REJECTED: "Refusée",
}
# Kinds about a billing account (the others are about the member itself).
ACCOUNT_KINDS = frozenset({K.CHANGE_INVOICE_DELIVERY, K.CHANGE_BILLING_ADDRESS})
# The longest period an account statement covers.
STATEMENT_MAX_DAYS = 3 * 366

# Column sizes of members and billing accounts (db/models/organisation.py).
LEGAL_NAME_LIMIT = 200
STREET_LIMIT = 200
CITY_LIMIT = 100
SERVICE_CODE_LIMIT = 100
COMMITMENT_LIMIT = 50

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_POSTCODE = re.compile(r"\d{5}")
# Chorus Pro service codes and commitment numbers: letters, digits and a few separators.
_CHORUS_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]*")


def reference_number(year: int, request_id: int) -> str:
    """The request's reference as the customer quotes it (e.g. SC-2026-000123)."""
    return f"SC-{year}-{request_id:06d}"


def check_transition(status: SelfCareRequestStatus, to: SelfCareRequestStatus) -> None:
    check_move(TRANSITIONS, STATUS_LABELS, status, to)


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    postcode: str
    city: str


@dataclass(frozen=True, slots=True)
class DeliveryChange:
    mode: InvoiceDelivery
    recipient_siret: str | None = None
    service_code: str | None = None
    commitment_number: str | None = None


class Checker:
    """Collects one refusal per field at fault while cleaning the values."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.refusals: list[Refusal] = []

    def refuse(self, code: ErrorCode, message: str, field: str) -> None:
        self.refusals.append(Refusal(code, message, field=f"{self.prefix}.{field}"))

    def text(self, value: str | None, limit: int, field: str, *, required: bool = True) -> str:
        raw = value or ""
        if _CONTROL.search(raw):
            self.refuse(ErrorCode.INVALID, "Caractères de contrôle interdits.", field)
            return ""
        cleaned = " ".join(raw.split())
        if not cleaned:
            if required:
                self.refuse(ErrorCode.REQUIRED, "Champ obligatoire.", field)
            return ""
        if len(cleaned) > limit:
            self.refuse(ErrorCode.TOO_LONG, f"{limit} caractères au plus.", field)
            return ""
        return cleaned

    def address(self, street: str, postcode: str, city: str) -> dict[str, str]:
        code = (postcode or "").strip()
        if not _POSTCODE.fullmatch(code):
            self.refuse(ErrorCode.INVALID, "Code postal français : 5 chiffres.", "postcode")
        return {
            "street": self.text(street, STREET_LIMIT, "street"),
            "postcode": code,
            "city": self.text(city, CITY_LIMIT, "city"),
        }

    def delivery(self, change: DeliveryChange) -> dict[str, Any]:
        payload: dict[str, Any] = {"invoice_delivery": change.mode.value}
        chorus = change.mode is InvoiceDelivery.CHORUS_PRO
        given = {
            "recipientSiret": change.recipient_siret,
            "serviceCode": change.service_code,
            "commitmentNumber": change.commitment_number,
        }
        if not chorus:
            for field, value in given.items():
                if value is not None:
                    self.refuse(
                        ErrorCode.INVALID,
                        "Réservé à l'envoi par Chorus Pro.",
                        field,
                    )
            return payload
        siret = "".join((change.recipient_siret or "").split())
        if not siret:
            self.refuse(
                ErrorCode.REQUIRED, "Le SIRET du destinataire est obligatoire.", "recipientSiret"
            )
        elif not is_valid_siret(siret):
            self.refuse(
                ErrorCode.INVALID,
                "SIRET invalide : 14 chiffres dont la clé de contrôle.",
                "recipientSiret",
            )
        payload["recipient_siret"] = siret
        for field, key, value, limit in (
            ("serviceCode", "chorus_service_code", change.service_code, SERVICE_CODE_LIMIT),
            (
                "commitmentNumber",
                "chorus_commitment_number",
                change.commitment_number,
                COMMITMENT_LIMIT,
            ),
        ):
            cleaned = self.text(value, limit, field, required=False)
            if cleaned and not _CHORUS_CODE.fullmatch(cleaned):
                self.refuse(
                    ErrorCode.INVALID,
                    "Lettres, chiffres, espaces et . _ / - seulement.",
                    field,
                )
            payload[key] = cleaned or None
        return payload

    def period(self, start: date, end: date) -> dict[str, str]:
        if end < start:
            self.refuse(ErrorCode.INVALID, "La fin de la période précède son début.", "to")
        elif (end - start).days > STATEMENT_MAX_DAYS:
            self.refuse(ErrorCode.INVALID, "Trois ans au plus par relevé.", "to")
        return {"from": start.isoformat(), "to": end.isoformat()}


def summary(kind: SelfCareRequestKind, payload: dict[str, Any]) -> list[tuple[str, str]]:
    """What was asked, as (label, value) lines for the mails."""
    lines: list[tuple[str, str]] = []
    if kind is K.CHANGE_LEGAL_NAME:
        lines.append(("Nouvelle raison sociale", str(payload.get("legal_name", ""))))
    elif kind in (K.CHANGE_LEGAL_ADDRESS, K.CHANGE_BILLING_ADDRESS):
        lines.append(
            (
                "Nouvelle adresse",
                f"{payload.get('street', '')}, {payload.get('postcode', '')} "
                f"{payload.get('city', '')}",
            )
        )
    elif kind is K.CHANGE_INVOICE_DELIVERY:
        mode = payload.get("invoice_delivery", "")
        lines.append(("Nouveau mode d'envoi", INVOICE_DELIVERY_LABELS[InvoiceDelivery(mode)]))
        if payload.get("recipient_siret"):
            lines.append(("SIRET du destinataire", payload["recipient_siret"]))
        if payload.get("chorus_service_code"):
            lines.append(("Code service", payload["chorus_service_code"]))
        if payload.get("chorus_commitment_number"):
            lines.append(("Numéro d'engagement", payload["chorus_commitment_number"]))
    elif kind is K.ACCOUNT_STATEMENT and payload.get("from") and payload.get("to"):
        start, end = date.fromisoformat(payload["from"]), date.fromisoformat(payload["to"])
        lines.append(("Période", f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}"))
    return lines
