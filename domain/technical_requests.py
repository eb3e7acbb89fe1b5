"""The distributors' catalogue of technical requests, as data, and the rules of a request's form.

Each type says which energies it applies to, whether it targets a site of the portfolio or adds
one, which desired characteristics the form requires, the distributor's standard lead time in
working days (the earliest wished date) and the fees the distributor bills. Labels and energies
come from `domain.labels.TECHNICAL_REQUEST_TYPES` (the supplier's screen), so they exist once.

Fees and lead times are business parameters: they live here as data, never in code paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.calendar import add_working_days, is_working_day
from domain.enums import Energy, Segment, TechnicalRequestType
from domain.errors import ErrorCode, Refusal
from domain.labels import SEGMENT_ENERGY, TECHNICAL_REQUEST_TYPES

T = TechnicalRequestType


class Characteristic(StrEnum):
    """A desired characteristic a request type may require (the input field is its name)."""

    DESIRED_POWER_KVA = "desiredPowerKva"
    DESIRED_TARIFF_OPTION = "desiredTariffOption"
    WISHED_DATES = "wishedDates"
    DESCRIPTION = "description"


CHARACTERISTIC_LABELS: dict[Characteristic, str] = {
    Characteristic.DESIRED_POWER_KVA: "Puissance souhaitée (kVA)",
    Characteristic.DESIRED_TARIFF_OPTION: "Option tarifaire souhaitée",
    Characteristic.WISHED_DATES: "Dates de rendez-vous souhaitées",
    Characteristic.DESCRIPTION: "Description de la demande",
}


@dataclass(frozen=True, slots=True)
class Fees:
    """What the distributor bills for the intervention, in euros excl. VAT (None: per quote or
    free of charge, as the distributor's catalogue says)."""

    standard: Decimal | None = None
    # Express commissioning: the standard price plus the express supplement, when the visit
    # happens within `express_within_working_days` working days.
    express: Decimal | None = None
    express_within_working_days: int | None = None
    # Billed when the customer is absent at the appointment (no intervention).
    wasted_trip: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RequestTypeSpec:
    code: TechnicalRequestType
    label: str
    energies: frozenset[Energy]
    targets_existing_site: bool
    required: frozenset[Characteristic]
    lead_time_working_days: int
    fees: Fees = field(default_factory=Fees)

    @property
    def new_site(self) -> bool:
        return not self.targets_existing_site


# Fees of the distributors' catalogue for a visit (electricity, existing installation).
STANDARD_VISIT_FEE = Decimal("20.00")
EXPRESS_VISIT_FEE = Decimal("45.00")
EXPRESS_WITHIN_WORKING_DAYS = 2
WASTED_TRIP_FEE = Decimal("30.00")
# The supplier forwards a request to the distributor within 48 hours: 2 working days.
FORWARDING_WORKING_DAYS = 2

_VISIT = Fees(standard=STANDARD_VISIT_FEE, wasted_trip=WASTED_TRIP_FEE)
_EXPRESS = Fees(
    standard=STANDARD_VISIT_FEE,
    express=EXPRESS_VISIT_FEE,
    express_within_working_days=EXPRESS_WITHIN_WORKING_DAYS,
    wasted_trip=WASTED_TRIP_FEE,
)

_D = Characteristic
# type → (required characteristics, standard lead time in working days, fees)
_RULES: dict[TechnicalRequestType, tuple[frozenset[Characteristic], int, Fees]] = {
    T.TELEMETRY_ACTIVATION: (frozenset({_D.WISHED_DATES}), 10, _VISIT),
    T.TEMPORARY_CONNECTION: (frozenset({_D.DESIRED_POWER_KVA, _D.WISHED_DATES}), 10, Fees()),
    T.BREAKER_CHANGE: (frozenset({_D.DESIRED_POWER_KVA, _D.WISHED_DATES}), 10, _VISIT),
    T.SUPPLIER_CHANGE: (frozenset({_D.WISHED_DATES}), 5, Fees()),
    T.POWER_CHANGE: (frozenset({_D.DESIRED_POWER_KVA, _D.WISHED_DATES}), 10, _VISIT),
    T.TARIFF_OPTION_CHANGE: (frozenset({_D.DESIRED_TARIFF_OPTION, _D.WISHED_DATES}), 10, _VISIT),
    T.DISTRIBUTOR_COMMUNICATION: (frozenset({_D.DESCRIPTION}), 2, Fees()),
    T.MISCELLANEOUS: (frozenset({_D.DESCRIPTION}), 5, Fees()),
    T.METER_MOVE: (frozenset({_D.WISHED_DATES, _D.DESCRIPTION}), 20, Fees()),
    T.METER_REMOVAL: (frozenset({_D.WISHED_DATES}), 10, _VISIT),
    T.COMMISSIONING: (frozenset({_D.WISHED_DATES}), 5, _VISIT),
    T.EXPRESS_COMMISSIONING: (frozenset({_D.WISHED_DATES}), 2, _EXPRESS),
    T.OPTIMISATION: (frozenset({_D.DESIRED_TARIFF_OPTION}), 28, Fees()),
    T.CONNECTION: (frozenset({_D.DESIRED_POWER_KVA, _D.DESCRIPTION}), 30, Fees()),
    T.TERMINATION: (frozenset({_D.WISHED_DATES}), 5, _VISIT),
    T.CLAIM: (frozenset({_D.DESCRIPTION}), 5, Fees()),
    T.NETWORK_SEPARATION: (frozenset({_D.WISHED_DATES, _D.DESCRIPTION}), 20, Fees()),
    T.METER_CHECK: (frozenset({_D.WISHED_DATES}), 10, _VISIT),
    T.TEMPORARY_CUT: (frozenset({_D.WISHED_DATES}), 10, _VISIT),
    T.ADD_SITE_SUPPLIER_CHANGE: (frozenset({_D.WISHED_DATES}), 5, Fees()),
    T.ADD_SITE_COMMISSIONING: (frozenset({_D.WISHED_DATES}), 5, _VISIT),
}
# Characteristics that only make sense on electricity (a gas meter has no kVA).
_ELECTRICITY_ONLY = frozenset({_D.DESIRED_POWER_KVA})

CATALOGUE: dict[TechnicalRequestType, RequestTypeSpec] = {
    code: RequestTypeSpec(
        code=code,
        label=label,
        energies=energies,
        targets_existing_site=existing,
        required=_RULES[code][0],
        lead_time_working_days=_RULES[code][1],
        fees=_RULES[code][2],
    )
    for code, (label, energies, existing) in TECHNICAL_REQUEST_TYPES.items()
}


def required_for(spec: RequestTypeSpec, energy: Energy) -> frozenset[Characteristic]:
    """What the form requires for this type on a site of this energy."""
    if energy is Energy.ELECTRICITY:
        return spec.required
    return spec.required - _ELECTRICITY_ONLY


# -- the form ----------------------------------------------------------------------------------

MAX_WISHED_DATES = 3
MAX_POWER_KVA = Decimal("36000")
DESCRIPTION_LIMIT = 2000
TARIFF_OPTION_LIMIT = 20  # the `sites.tariff_option` column
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Characteristics:
    """The desired characteristics as the customer typed them (None: not given)."""

    desired_power_kva: str | None = None
    desired_tariff_option: str | None = None
    wished_dates: Sequence[date] | None = None
    description: str | None = None

    def given(self) -> set[Characteristic]:
        values = {
            _D.DESIRED_POWER_KVA: self.desired_power_kva,
            _D.DESIRED_TARIFF_OPTION: self.desired_tariff_option,
            _D.WISHED_DATES: self.wished_dates,
            _D.DESCRIPTION: self.description,
        }
        return {c for c, v in values.items() if v is not None and v != "" and v != []}


def earliest_wished_date(spec: RequestTypeSpec, submitted_on: date) -> date:
    """The first date the distributor can be asked for: the lead time after submission."""
    return add_working_days(submitted_on, spec.lead_time_working_days)


def _field(name: Characteristic) -> str:
    return f"characteristics.{name.value}"


def check_characteristics(
    spec: RequestTypeSpec, energy: Energy, given: Characteristics, *, submitted_on: date
) -> tuple[dict[str, object], list[Refusal]]:
    """The characteristics as stored (snake_case keys) and one refusal per field at fault."""
    refusals: list[Refusal] = []
    stored: dict[str, object] = {}
    required = required_for(spec, energy)
    present = given.given()
    for missing in sorted(required - present):
        refusals.append(
            Refusal(
                ErrorCode.REQUIRED,
                f"{CHARACTERISTIC_LABELS[missing]} : obligatoire pour une demande "
                f"« {spec.label} ».",
                field=_field(missing),
            )
        )
    allowed = spec.required if energy is Energy.ELECTRICITY else required
    for extra in sorted(present - allowed):
        refusals.append(
            Refusal(
                ErrorCode.INVALID,
                f"{CHARACTERISTIC_LABELS[extra]} : sans objet pour une demande "
                f"« {spec.label} »{' de gaz' if energy is Energy.GAS else ''}.",
                field=_field(extra),
            )
        )
    if given.desired_power_kva and _D.DESIRED_POWER_KVA in allowed:
        power, problem = _power(given.desired_power_kva)
        if problem:
            refusals.append(Refusal(ErrorCode.INVALID, problem, field=_field(_D.DESIRED_POWER_KVA)))
        else:
            stored["desired_power_kva"] = str(power)
    if given.desired_tariff_option and _D.DESIRED_TARIFF_OPTION in allowed:
        option = given.desired_tariff_option.strip()
        if _CONTROL.search(option) or not option:
            refusals.append(
                Refusal(
                    ErrorCode.INVALID,
                    "Option tarifaire invalide.",
                    field=_field(_D.DESIRED_TARIFF_OPTION),
                )
            )
        elif len(option) > TARIFF_OPTION_LIMIT:
            refusals.append(
                Refusal(
                    ErrorCode.TOO_LONG,
                    f"{TARIFF_OPTION_LIMIT} caractères au plus.",
                    field=_field(_D.DESIRED_TARIFF_OPTION),
                )
            )
        else:
            stored["desired_tariff_option"] = option
    if given.wished_dates and _D.WISHED_DATES in allowed:
        dates, problem_refusal = _wished_dates(spec, given.wished_dates, submitted_on)
        if problem_refusal is not None:
            refusals.append(problem_refusal)
        else:
            stored["wished_dates"] = [d.isoformat() for d in dates]
    if given.description and _D.DESCRIPTION in allowed:
        text = given.description.strip()
        if _CONTROL.search(text):
            refusals.append(
                Refusal(
                    ErrorCode.INVALID,
                    "Caractères de contrôle interdits (les retours à la ligne sont permis).",
                    field=_field(_D.DESCRIPTION),
                )
            )
        elif len(text) > DESCRIPTION_LIMIT:
            refusals.append(
                Refusal(
                    ErrorCode.TOO_LONG,
                    f"{DESCRIPTION_LIMIT} caractères au plus.",
                    field=_field(_D.DESCRIPTION),
                )
            )
        elif text:
            stored["description"] = text
    return stored, refusals


def _power(raw: str) -> tuple[Decimal | None, str | None]:
    try:
        power = Decimal(raw.strip().replace(",", "."))
    except InvalidOperation:
        return None, "Puissance invalide : un nombre de kVA est attendu (ex. « 12 »)."
    if not power.is_finite() or power <= 0 or power > MAX_POWER_KVA:
        return None, f"Puissance hors limites : entre 0 et {MAX_POWER_KVA} kVA."
    if power != power.quantize(Decimal("0.1")):
        return None, "Puissance au dixième de kVA au plus."
    return power.quantize(Decimal("0.1")), None


def _wished_dates(
    spec: RequestTypeSpec, dates: Sequence[date], submitted_on: date
) -> tuple[list[date], Refusal | None]:
    name = _field(_D.WISHED_DATES)
    if len(dates) > MAX_WISHED_DATES:
        return [], Refusal(
            ErrorCode.TOO_MANY_ITEMS, f"{MAX_WISHED_DATES} dates au plus.", field=name
        )
    earliest = earliest_wished_date(spec, submitted_on)
    for day in dates:
        if not is_working_day(day):
            return [], Refusal(
                ErrorCode.INVALID,
                f"Le {day:%d/%m/%Y} n'est pas un jour ouvré (week-end ou jour férié).",
                field=name,
            )
        if day < earliest:
            return [], Refusal(
                ErrorCode.INVALID,
                f"Le {day:%d/%m/%Y} est trop proche : le distributeur demande "
                f"{spec.lead_time_working_days} jours ouvrés, soit le {earliest:%d/%m/%Y} "
                "au plus tôt.",
                field=name,
            )
    if len(set(dates)) != len(dates):
        return [], Refusal(ErrorCode.INVALID, "Une même date est donnée deux fois.", field=name)
    return sorted(dates), None


def check_type_for_energy(spec: RequestTypeSpec, energy: Energy) -> Refusal | None:
    if energy in spec.energies:
        return None
    what = "le gaz" if energy is Energy.GAS else "l'électricité"
    return Refusal(
        ErrorCode.INVALID,
        f"Une demande « {spec.label} » ne concerne pas {what}.",
        field="requestType",
    )


def check_segment(segment: Segment, energy: Energy) -> Refusal | None:
    if SEGMENT_ENERGY[segment] is energy:
        return None
    return Refusal(
        ErrorCode.INVALID,
        f"Le segment {segment.value} ne correspond pas à l'énergie du site.",
        field="newSite.segment",
    )


POINT_NUMBER_LENGTH = 14


def check_point_number(raw: str, field_name: str) -> tuple[str | None, Refusal | None]:
    """A delivery point number: 14 digits (PRM or PCE), spaces tolerated."""
    cleaned = raw.replace(" ", "").strip()
    if not cleaned:
        return None, Refusal(ErrorCode.REQUIRED, "Numéro de point obligatoire.", field=field_name)
    if len(cleaned) != POINT_NUMBER_LENGTH or not (cleaned.isascii() and cleaned.isdigit()):
        return None, Refusal(
            ErrorCode.INVALID,
            "Numéro de point invalide : 14 chiffres attendus (PRM ou PCE).",
            field=field_name,
        )
    return cleaned, None


# -- fees that follow what happened ------------------------------------------------------------


def intervention_fee(
    spec: RequestTypeSpec,
    *,
    scheduled_on: date | None,
    done_on: date | None,
    customer_absent: bool = False,
) -> Decimal | None:
    """What the distributor bills once the outcome is known: the wasted-trip fee for an absent
    customer; for express commissioning, the express price when the visit happened within the
    express window after scheduling, otherwise the standard price."""
    fees = spec.fees
    if customer_absent:
        return fees.wasted_trip
    if (
        fees.express is not None
        and fees.express_within_working_days is not None
        and scheduled_on is not None
        and done_on is not None
        and done_on <= add_working_days(scheduled_on, fees.express_within_working_days)
    ):
        return fees.express
    return fees.standard


def reference_number(year: int, request_id: int) -> str:
    """The request's reference as the customer quotes it (e.g. DT-2026-000123)."""
    return f"DT-{year}-{request_id:06d}"
