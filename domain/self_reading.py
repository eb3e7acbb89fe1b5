"""Self-readings (auto-relèves): the rules an index sent by a customer must pass.

A customer may send the indexes of a meter that is not read remotely (gas T1/T2 and
electricity C5 with an electromechanical or conventional meter), when their grant allows
writes. Each rule below is one function returning the broken rules as `Violation`s (a code,
the input field at fault and a French message); `check_self_reading` runs them all and either
refuses with every violation found or accepts with, per register, the index to store, whether
the meter went round and the implied consumption.

The business parameters (how far above the expected consumption is suspicious, the day of the
month before which a self-reading counts in the next billing cycle) are data in
`SelfReadingPolicy`, not literals in the rules.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from domain.calendar import paris_date
from domain.consumption_profile import PROFILES, monthly_share
from domain.enums import COMMUNICATING_METER_KINDS, MeterKind, Register, Segment, SiteStatus
from domain.errors import ErrorCode
from domain.readings import meter_range, to_kwh, wrapped_consumption

# Segments whose meters may be self-read (the others are read monthly or remotely).
SELF_READING_SEGMENTS = frozenset({Segment.T1, Segment.T2, Segment.C5})


class Rule:
    """The codes of broken rules (the API's error codes of the same name)."""

    METER_COMMUNICATING = ErrorCode.METER_COMMUNICATING
    SITE_TERMINATED = ErrorCode.INVALID_STATE
    NOT_CONFIRMED = ErrorCode.REQUIRED
    REGISTERS_MISMATCH = ErrorCode.REGISTERS_MISMATCH
    INDEX_NOT_A_NUMBER = ErrorCode.INVALID
    TOO_MANY_DIGITS = ErrorCode.TOO_MANY_DIGITS
    DATE_IN_FUTURE = ErrorCode.DATE_IN_FUTURE
    DATE_BEFORE_LAST_READING = ErrorCode.DATE_BEFORE_LAST_READING
    INDEX_BELOW_LAST = ErrorCode.INDEX_BELOW_LAST
    CHECK_FIGURES = ErrorCode.CHECK_FIGURES
    ALREADY_SUBMITTED = ErrorCode.ALREADY_EXISTS


@dataclass(frozen=True, slots=True)
class SelfReadingPolicy:
    """The business parameters of the rules.

    An implied consumption is "far above" the expected one when it exceeds
    `excess_factor` × what the CAR predicts for the elapsed days, plus `excess_floor_kwh`
    (the floor keeps a reading sent a day or two after the last one, or on a site whose CAR is
    still unknown, from being refused for a few kWh).
    """

    excess_factor: Fraction = Fraction(3)
    excess_floor_kwh: int = 500
    billing_cutoff_day: int = 20  # received before the 20th (Paris) → next billing cycle


DEFAULT_POLICY = SelfReadingPolicy()


@dataclass(frozen=True, slots=True)
class MeterFacts:
    """The meter the indexes are read on."""

    kind: MeterKind
    is_communicating: bool
    digits: int
    registers: tuple[Register, ...]
    coefficient: Decimal = Decimal(1)  # kWh per unit of the index (1 for electricity)
    installed_on: date | None = None


@dataclass(frozen=True, slots=True)
class SiteFacts:
    segment: Segment
    status: SiteStatus
    car_kwh: int  # annual reference consumption
    profile: str  # monthly profile of the CAR (domain.consumption_profile)


@dataclass(frozen=True, slots=True)
class LastReading:
    """The last reading that counts on a register (actual, special or accepted self-reading;
    estimates are not a reference: a real index may well be below an estimated one)."""

    index: int
    read_on: date


@dataclass(frozen=True, slots=True)
class Violation:
    code: ErrorCode
    field: str
    message: str
    register: Register | None = None


@dataclass(frozen=True, slots=True)
class AcceptedIndex:
    register: Register
    index: int
    rollover: bool  # the meter went round since the last reading
    consumption: int | None  # since the last reading, in the meter's units (None: no reference)


@dataclass(frozen=True, slots=True)
class Verdict:
    violations: tuple[Violation, ...] = ()
    accepted: tuple[AcceptedIndex, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations


@dataclass(frozen=True, slots=True)
class Submission:
    """What the customer sent: one (register, index as typed) pair per register."""

    read_on: date
    entries: Sequence[tuple[Register, str]]
    confirmed: bool
    # Days already holding a self-reading of this site (reading dates), and days (Paris) on
    # which one was already received: one self-reading per site and day.
    self_read_days: Collection[date] = field(default_factory=frozenset)
    submitted_days: Collection[date] = field(default_factory=frozenset)


# -- time -----------------------------------------------------------------------------------


def counts_in_next_billing_cycle(
    received_at: datetime, *, cutoff_day: int = DEFAULT_POLICY.billing_cutoff_day
) -> bool:
    """A self-reading received before the `cutoff_day` of the month (Paris time) counts in the
    next billing cycle; from that day on, in the one after."""
    return paris_date(received_at).day < cutoff_day


# -- the rules, one function each -------------------------------------------------------------


def meter_accepts_self_readings(site: SiteFacts, meter: MeterFacts) -> list[Violation]:
    """Only meters that nobody reads remotely: not communicating (neither flagged nor of a
    communicating kind) and on a segment read every six months (T1, T2, C5)."""
    if (
        meter.is_communicating
        or meter.kind in COMMUNICATING_METER_KINDS
        or site.segment not in SELF_READING_SEGMENTS
    ):
        return [
            Violation(
                Rule.METER_COMMUNICATING,
                "siteId",
                "Ce compteur est relevé à distance : l'auto-relève n'est possible que pour les "
                "compteurs non communicants (gaz T1/T2, électricité C5 électromécanique).",
            )
        ]
    return []


def self_reading_possible(site: SiteFacts, meter: MeterFacts) -> bool:
    """Whether the site and its current meter take self-readings at all (before any figure:
    what a technical sheet shows as "you may send your indexes")."""
    return not (meter_accepts_self_readings(site, meter) or site_accepts_self_readings(site))


def site_accepts_self_readings(site: SiteFacts) -> list[Violation]:
    """A terminated contract takes no more indexes (a terminating one still does)."""
    if site.status is SiteStatus.TERMINATED:
        return [
            Violation(
                Rule.SITE_TERMINATED,
                "siteId",
                "Le contrat de ce site est résilié : il n'accepte plus d'auto-relève.",
            )
        ]
    return []


def figures_confirmed(confirmed: bool) -> list[Violation]:
    """The person must confirm that the figures are those shown on the meter."""
    if not confirmed:
        return [
            Violation(
                Rule.NOT_CONFIRMED,
                "confirmed",
                "Confirmez que les index saisis sont bien ceux affichés par le compteur.",
            )
        ]
    return []


def one_index_per_register(
    meter: MeterFacts, entries: Sequence[tuple[Register, str]]
) -> list[Violation]:
    """Exactly one index for each register of the meter: none missing, none extra or twice."""
    given = [Register(register) for register, _ in entries]
    expected = set(meter.registers)
    missing = [r for r in meter.registers if r not in given]
    extra = sorted({r for r in given if r not in expected})
    repeated = sorted({r for r in given if given.count(r) > 1})
    if not (missing or extra or repeated):
        return []
    parts = []
    if missing:
        parts.append("manquant(s) : " + ", ".join(r.value for r in missing))
    if extra:
        parts.append("inconnu(s) sur ce compteur : " + ", ".join(r.value for r in extra))
    if repeated:
        parts.append("saisi(s) deux fois : " + ", ".join(r.value for r in repeated))
    return [
        Violation(
            Rule.REGISTERS_MISMATCH,
            "indexes",
            "Saisissez un index par poste du compteur ("
            + ", ".join(r.value for r in meter.registers)
            + ") ; poste(s) "
            + " ; ".join(parts)
            + ".",
        )
    ]


def parse_index(text: str) -> int | None:
    """The index as typed (digits only, spaces tolerated, leading zeros as on the meter)."""
    cleaned = "".join(text.split())
    if not cleaned or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return int(cleaned)


def index_fits_meter(register: Register, text: str, digits: int) -> list[Violation]:
    """A non-negative whole number of at most the meter's number of digits."""
    value = parse_index(text)
    if value is None:
        return [
            Violation(
                Rule.INDEX_NOT_A_NUMBER,
                "indexes",
                f"L'index du poste {register.value} doit être un nombre entier positif "
                "(chiffres uniquement, sans décimales).",
                register,
            )
        ]
    if value >= meter_range(digits):
        return [
            Violation(
                Rule.TOO_MANY_DIGITS,
                "indexes",
                f"L'index du poste {register.value} a plus de {digits} chiffres : saisissez "
                "les chiffres affichés par le compteur, sans les décimales.",
                register,
            )
        ]
    return []


def read_on_acceptable(
    read_on: date,
    *,
    today: date,
    last_readings: Mapping[Register, LastReading],
    installed_on: date | None = None,
) -> list[Violation]:
    """The reading date is not in the future (Paris date), nor before the last reading that
    counts on the meter, nor before the meter was installed."""
    if read_on > today:
        return [
            Violation(
                Rule.DATE_IN_FUTURE,
                "readOn",
                "La date de relève ne peut pas être dans le futur.",
            )
        ]
    floor = max((last.read_on for last in last_readings.values()), default=installed_on)
    if installed_on is not None and floor is not None:
        floor = max(floor, installed_on)
    if floor is not None and read_on < floor:
        return [
            Violation(
                Rule.DATE_BEFORE_LAST_READING,
                "readOn",
                f"La date de relève ne peut pas précéder le dernier relevé du compteur "
                f"({floor.strftime('%d/%m/%Y')}).",
            )
        ]
    return []


def one_per_site_and_day(
    read_on: date,
    received_on: date,
    self_read_days: Collection[date],
    submitted_days: Collection[date],
) -> list[Violation]:
    """One self-reading per site and day: none already dated that day, none already received
    today (Paris)."""
    if read_on in self_read_days or received_on in submitted_days:
        return [
            Violation(
                Rule.ALREADY_SUBMITTED,
                "readOn",
                "Une auto-relève a déjà été transmise pour ce site aujourd'hui ou à cette date.",
            )
        ]
    return []


def expected_kwh(site: SiteFacts, start: date, end: date) -> Fraction:
    """What the CAR predicts between two reading dates (consumption of the days after `start`
    up to `end` included): each day takes its month's share of the CAR divided by the days of
    that month. An unknown profile spreads the CAR evenly over the year."""
    if end <= start:
        return Fraction(0)
    total = Fraction(0)
    day = start + timedelta(days=1)
    while day <= end:
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        last_of_month = date(day.year, day.month, days_in_month)
        span = (min(last_of_month, end) - day).days + 1
        share = (
            monthly_share(site.profile, day.month) if site.profile in PROFILES else Fraction(1, 12)
        )
        total += site.car_kwh * share * Fraction(span, days_in_month)
        day = min(last_of_month, end) + timedelta(days=1)
    return total


def allowed_kwh(
    site: SiteFacts, start: date, end: date, policy: SelfReadingPolicy = DEFAULT_POLICY
) -> Fraction:
    """The most a self-reading may imply before the person is asked to check the figures."""
    return policy.excess_factor * expected_kwh(site, start, end) + policy.excess_floor_kwh


def consumption_plausible(
    site: SiteFacts,
    meter: MeterFacts,
    read_on: date,
    values: Mapping[Register, int],
    last_readings: Mapping[Register, LastReading],
    policy: SelfReadingPolicy = DEFAULT_POLICY,
) -> tuple[list[Violation], list[AcceptedIndex]]:
    """The index may not go below the last one unless the meter went round, and the implied
    consumption must stay within what the CAR allows for the elapsed days.

    A lower index is a wrap only when the consumption of one turn of the meter is itself
    plausible; otherwise it is refused as below the last index. The CAR is the site's total,
    so the check is on the sum over the registers, from the oldest of their last readings.
    """
    violations: list[Violation] = []
    accepted: list[AcceptedIndex] = []
    references = [last_readings[r] for r in values if r in last_readings]
    if not references:
        return [], [AcceptedIndex(r, v, False, None) for r, v in values.items()]
    start = min(last.read_on for last in references)
    limit = allowed_kwh(site, start, read_on, policy)
    total_kwh = 0
    for register, value in values.items():
        last = last_readings.get(register)
        if last is None:
            accepted.append(AcceptedIndex(register, value, False, None))
            continue
        if value >= last.index:
            consumption, wrapped = value - last.index, False
        else:
            consumption, wrapped = wrapped_consumption(last.index, value, meter.digits), True
            if to_kwh(consumption, meter.coefficient) > limit:
                violations.append(
                    Violation(
                        Rule.INDEX_BELOW_LAST,
                        "indexes",
                        f"L'index du poste {register.value} ({value}) est inférieur au dernier "
                        f"relevé ({last.index} le {last.read_on.strftime('%d/%m/%Y')}) : "
                        "vérifiez votre saisie.",
                        register,
                    )
                )
                continue
        total_kwh += to_kwh(consumption, meter.coefficient)
        accepted.append(AcceptedIndex(register, value, wrapped, consumption))
    if not violations and total_kwh > limit:
        violations.append(
            Violation(
                Rule.CHECK_FIGURES,
                "indexes",
                f"Ces index impliquent une consommation de {total_kwh} kWh depuis le dernier "
                f"relevé, bien au-delà de ce que prévoit la consommation de référence du site : "
                "vérifiez les chiffres saisis (sans les décimales) avant de les renvoyer.",
            )
        )
    return violations, accepted


# -- everything at once -----------------------------------------------------------------------


def check_self_reading(
    *,
    site: SiteFacts,
    meter: MeterFacts,
    submission: Submission,
    last_readings: Mapping[Register, LastReading],
    received_at: datetime,
    policy: SelfReadingPolicy = DEFAULT_POLICY,
) -> Verdict:
    """Every rule, in the order a person fixes them: the meter and the site, the confirmation,
    the registers and figures, the date, then what the figures imply. Returns all violations
    found (later rules need the earlier ones to hold), or the indexes to store."""
    blocking = meter_accepts_self_readings(site, meter) or site_accepts_self_readings(site)
    if blocking:
        return Verdict(violations=tuple(blocking))
    violations: list[Violation] = []
    violations += figures_confirmed(submission.confirmed)
    shape = one_index_per_register(meter, submission.entries)
    violations += shape
    for register, text in submission.entries:
        violations += index_fits_meter(Register(register), text, meter.digits)
    today = paris_date(received_at)
    dated = read_on_acceptable(
        submission.read_on,
        today=today,
        last_readings=last_readings,
        installed_on=meter.installed_on,
    )
    violations += dated
    violations += one_per_site_and_day(
        submission.read_on, today, submission.self_read_days, submission.submitted_days
    )
    if violations:
        return Verdict(violations=tuple(violations))
    values = {Register(r): parse_index(text) for r, text in submission.entries}
    implied, accepted = consumption_plausible(
        site,
        meter,
        submission.read_on,
        {r: v for r, v in values.items() if v is not None},
        last_readings,
        policy,
    )
    if implied:
        return Verdict(violations=tuple(implied))
    order = {r: i for i, r in enumerate(meter.registers)}
    return Verdict(accepted=tuple(sorted(accepted, key=lambda a: order[a.register])))
