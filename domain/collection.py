"""The switch-time data collection: what a member's journey must hold before it is validated,
what its progress is, and what a member that never answers gets (the campaign's defaults).

Pure rules, no I/O: the resolvers load a journey (its administrative data, its sites, its
billing lots), ask `missing_items` what is still to do, store the progress it implies, and at
closing ask `default_lots` how to bill the sites of a member that did not validate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.enums import BillingFrequency, Energy, InvoiceDelivery, PaymentMethod, Segment
from domain.identifiers import is_valid_siren, is_valid_siret

STEPS_TOTAL = 3
POINT_NUMBER = re.compile(r"[0-9]{14}")
POSTCODE = re.compile(r"[0-9]{5}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LOT_NAME_LIMIT = 30  # the invoice label the lot becomes
MAX_GREEN_SHARE = 100


class JourneyStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    VALIDATED = "VALIDATED"  # certified and locked; the back office may unlock it


class JourneyStep(StrEnum):
    ADMINISTRATIVE = "ADMINISTRATIVE"
    PERIMETER = "PERIMETER"
    BILLING = "BILLING"


class SiteDecision(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"  # « confirmer la bascule »
    REFUSED = "REFUSED"


class SiteRefusalReason(StrEnum):
    NOT_OURS = "NOT_OURS"  # the point is not the member's
    TERMINATED = "TERMINATED"  # the contract or the point is terminated
    OTHER = "OTHER"


class SwitchOutcome(StrEnum):
    SWITCHED = "SWITCHED"  # as the member's validated journey says
    DEFAULTED = "DEFAULTED"  # switched with the campaign's defaults (no validated journey)
    REFUSED = "REFUSED"  # refused by the member: not switched
    ALREADY_IN_PORTFOLIO = "ALREADY_IN_PORTFOLIO"  # the point is already supplied: untouched


JOURNEY_STATUS_LABELS: dict[JourneyStatus, str] = {
    JourneyStatus.NOT_STARTED: "Non commencé",
    JourneyStatus.IN_PROGRESS: "En cours",
    JourneyStatus.VALIDATED: "Validé",
}
SITE_DECISION_LABELS: dict[SiteDecision, str] = {
    SiteDecision.PENDING: "À vérifier",
    SiteDecision.CONFIRMED: "Bascule confirmée",
    SiteDecision.REFUSED: "Refusé",
}
REFUSAL_REASON_LABELS: dict[SiteRefusalReason, str] = {
    SiteRefusalReason.NOT_OURS: "Site ne relevant pas du membre",
    SiteRefusalReason.TERMINATED: "Site résilié",
    SiteRefusalReason.OTHER: "Autre motif",
}
SWITCH_OUTCOME_LABELS: dict[SwitchOutcome, str] = {
    SwitchOutcome.SWITCHED: "Basculé",
    SwitchOutcome.DEFAULTED: "Basculé avec les valeurs par défaut",
    SwitchOutcome.REFUSED: "Refusé par le membre",
    SwitchOutcome.ALREADY_IN_PORTFOLIO: "Déjà au portefeuille",
}
STEP_LABELS: dict[JourneyStep, str] = {
    JourneyStep.ADMINISTRATIVE: "Données administratives",
    JourneyStep.PERIMETER: "Périmètre",
    JourneyStep.BILLING: "Périmètres de facturation",
}

# The market's usual billing rhythm: monthly for the large sites, every two months otherwise.
DEFAULT_FREQUENCIES: dict[Segment, BillingFrequency] = {
    Segment.T1: BillingFrequency.BIMONTHLY,
    Segment.T2: BillingFrequency.BIMONTHLY,
    Segment.T3: BillingFrequency.MONTHLY,
    Segment.T4: BillingFrequency.MONTHLY,
    Segment.C5: BillingFrequency.BIMONTHLY,
    Segment.C4: BillingFrequency.MONTHLY,
    Segment.C3: BillingFrequency.MONTHLY,
    Segment.C2: BillingFrequency.MONTHLY,
}


def is_point_number(value: str) -> bool:
    return POINT_NUMBER.fullmatch(value) is not None


def segment_typology(energy: Energy, segment: Segment, *, multi_site: bool) -> str:
    """The billing account's typology text, as the portfolio writes it (≤ 40 characters)."""
    kind = "Gaz" if energy is Energy.GAS else "Électricité"
    return f"{kind} {segment.value} – {'multisite' if multi_site else 'monosite'}"


@dataclass(frozen=True, slots=True)
class Missing:
    """One thing still to do before the journey can be validated."""

    step: JourneyStep
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class SiteState:
    id: int
    point_number: str
    segment: Segment
    decision: SiteDecision
    lot_id: int | None


@dataclass(frozen=True, slots=True)
class LotState:
    id: int
    name: str
    segment: Segment
    multi_site: bool


_ADMIN_REQUIRED: tuple[tuple[str, str], ...] = (
    ("legalName", "la raison sociale"),
    ("siren", "le SIREN"),
    ("street", "l'adresse (voie)"),
    ("postcode", "le code postal"),
    ("city", "la commune"),
    ("recipientSiret", "le SIRET du destinataire des factures"),
    ("invoiceDelivery", "le mode d'envoi des factures"),
)
_CONTACTS: tuple[tuple[str, str], ...] = (
    ("mainContact", "le contact principal"),
    ("billingContact", "le contact facturation"),
    ("technicalContact", "le contact technique"),
)


def administrative_missing(data: Mapping[str, Any] | None) -> list[Missing]:
    """What the administrative step lacks (the data as saved: camelCase keys)."""
    data = data or {}
    step = JourneyStep.ADMINISTRATIVE
    missing = [
        Missing(step, key, f"Renseignez {label}.")
        for key, label in _ADMIN_REQUIRED
        if not data.get(key)
    ]
    for key, label in _CONTACTS:
        contact = data.get(key) or {}
        if not (contact.get("name") and contact.get("email")):
            missing.append(Missing(step, key, f"Renseignez {label} (nom et email)."))
    delivery = data.get("invoiceDelivery")
    if delivery == InvoiceDelivery.EMAIL.value and not data.get("deliveryEmail"):
        missing.append(
            Missing(step, "deliveryEmail", "Renseignez l'email qui recevra les factures.")
        )
    if delivery == InvoiceDelivery.CHORUS_PRO.value and not data.get("chorusServiceCode"):
        missing.append(Missing(step, "chorusServiceCode", "Renseignez le code service Chorus Pro."))
    return missing


def perimeter_missing(sites: Sequence[SiteState]) -> list[Missing]:
    step = JourneyStep.PERIMETER
    missing = [
        Missing(step, "sites", f"Confirmez ou refusez le site {s.point_number}.")
        for s in sites
        if s.decision is SiteDecision.PENDING
    ]
    if not any(s.decision is SiteDecision.CONFIRMED for s in sites):
        missing.append(Missing(step, "sites", "Confirmez au moins un site."))
    return missing


def billing_missing(sites: Sequence[SiteState], lots: Sequence[LotState]) -> list[Missing]:
    step = JourneyStep.BILLING
    missing = [
        Missing(step, "lots", f"Rattachez le site {s.point_number} à un périmètre de facturation.")
        for s in sites
        if s.decision is SiteDecision.CONFIRMED and s.lot_id is None
    ]
    counts: dict[int, int] = {}
    for s in sites:
        if s.decision is SiteDecision.CONFIRMED and s.lot_id is not None:
            counts[s.lot_id] = counts.get(s.lot_id, 0) + 1
    for lot in lots:
        if not counts.get(lot.id):
            missing.append(
                Missing(
                    step,
                    "lots",
                    f"Le périmètre « {lot.name} » n'a aucun site : rattachez-en ou supprimez-le.",
                )
            )
    if not lots:
        missing.append(Missing(step, "lots", "Créez au moins un périmètre de facturation."))
    return missing


def missing_items(
    administrative: Mapping[str, Any] | None,
    sites: Sequence[SiteState],
    lots: Sequence[LotState],
) -> list[Missing]:
    """Everything still to do, step by step (empty: the journey may be validated)."""
    return [
        *administrative_missing(administrative),
        *perimeter_missing(sites),
        *billing_missing(sites, lots),
    ]


def steps_done(missing: Sequence[Missing]) -> int:
    return STEPS_TOTAL - len({m.step for m in missing})


def attach_problem(site: SiteState, lot: LotState, lot_size: int) -> str | None:
    """Why this site may not join this lot (None: it may). `lot_size`: sites already in it,
    this one excluded."""
    if site.decision is not SiteDecision.CONFIRMED:
        return f"Le site {site.point_number} n'est pas confirmé : confirmez-le d'abord."
    if site.segment is not lot.segment:
        return (
            f"Le site {site.point_number} est en {site.segment.value}, le périmètre "
            f"« {lot.name} » en {lot.segment.value} : tous les sites d'un périmètre de "
            "facturation partagent sa typologie de segment."
        )
    if not lot.multi_site and lot_size >= 1:
        return f"Le périmètre « {lot.name} » est monosite : il a déjà son site."
    return None


def share_pct(part: int, whole: int) -> float:
    """A share in percent with one decimal (0 when there is nothing to count)."""
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a member that did not validate gets: the campaign's defaults."""

    payment_method: PaymentMethod
    invoice_delivery: InvoiceDelivery
    green_share_pct: int
    grouped: bool  # one invoice for all the sites of a segment, else one per site
    frequencies: Mapping[Segment, BillingFrequency]

    def frequency_of(self, segment: Segment) -> BillingFrequency:
        return self.frequencies.get(segment, DEFAULT_FREQUENCIES[segment])


def default_groups(
    segments_by_site: Sequence[tuple[int, Segment]], *, grouped: bool
) -> list[tuple[Segment, list[int]]]:
    """The billing lots of a defaulted member: one per segment (grouped) or one per site,
    in a stable order."""
    if not grouped:
        return [(segment, [site_id]) for site_id, segment in segments_by_site]
    by_segment: dict[Segment, list[int]] = {}
    for site_id, segment in segments_by_site:
        by_segment.setdefault(segment, []).append(site_id)
    return [(segment, ids) for segment, ids in sorted(by_segment.items())]


def administrative_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Values given in a bad format: (field, message). Absent values are not problems here
    (the journey saves as it goes; `missing_items` says what is still to fill)."""
    problems: list[tuple[str, str]] = []
    siren = data.get("siren")
    if siren and not is_valid_siren(siren):
        problems.append(("siren", "SIREN invalide (9 chiffres, clé de contrôle)."))
    siret = data.get("recipientSiret")
    if siret and not is_valid_siret(siret):
        problems.append(("recipientSiret", "SIRET invalide (14 chiffres, clé de contrôle)."))
    postcode = data.get("postcode")
    if postcode and not POSTCODE.fullmatch(postcode):
        problems.append(("postcode", "Code postal invalide (5 chiffres)."))
    for key in ("deliveryEmail",):
        value = data.get(key)
        if value and not EMAIL.fullmatch(value):
            problems.append((key, "Adresse email invalide."))
    for key, _ in _CONTACTS:
        email = (data.get(key) or {}).get("email")
        if email and not EMAIL.fullmatch(email):
            problems.append((key, "Adresse email invalide."))
    return problems
