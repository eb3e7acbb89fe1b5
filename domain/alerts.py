"""Alert detection: the rules that turn a site's readings and invoices into alerts.

Each rule looks at one site's history as it stands today and answers one of three ways:

- a `Finding`: the anomaly is there now, with its evidence (the readings or invoice lines that
  show it, as JSON-ready values), the threshold applied and a French message;
- `Cleared`: the cause is not there (any more), with the reason in French, which is what an
  open alert of that kind records when it resolves itself;
- None: the rule cannot tell or does not apply (not enough readings, a segment it does not
  concern): an open alert stays as it is.

A rule judges the *current* state (the last actual reading, the last two of them, the last
invoice), never the whole past: an anomaly that is over does not keep its alert open, and the
same history always gives the same answer, so detection run twice opens nothing new.

"Actual" readings are the indexes somebody read: the distributor's actual and special
readings and accepted self-readings. Estimates are never compared: an actual index below an
estimated one is the regularisation the next invoice makes, not an anomaly.

Every threshold is data in `AlertPolicy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from domain.billing import add_months_clamped
from domain.enums import (
    AlertKind,
    Energy,
    InvoiceKind,
    ReadingSource,
    Segment,
    SiteStatus,
)
from domain.labels import READING_SOURCE_LABELS
from domain.readings import Step, consumption_between, to_kwh
from domain.self_reading import SELF_READING_SEGMENTS, expected_kwh
from domain.self_reading import SiteFacts as ExpectationFacts

# The two ways out of a missing reading the supplier names.
SELF_READING = "SELF_READING"
SPECIAL_READING_REQUEST = "SPECIAL_READING_REQUEST"
WAY_OUT_LABELS = {
    SELF_READING: "transmettre une auto-relève",
    SPECIAL_READING_REQUEST: "demander un relevé spécial au distributeur (demande technique)",
}

# Which reading of a meter's day is kept when several sources read it.
_SOURCE_RANK = {
    ReadingSource.DISTRIBUTOR_ACTUAL: 0,
    ReadingSource.SPECIAL: 1,
    ReadingSource.SELF_READING: 2,
}


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """The thresholds of the rules (business parameters, not literals in the rules)."""

    # MISSING_DISTRIBUTOR_READING: monthly-read meters (communicating, or a segment read every
    # month) may go this many days without an actual reading; the others this many months.
    monthly_read_max_days: int = 45
    six_monthly_read_max_months: int = 7
    monthly_read_segments: frozenset[Segment] = frozenset(
        {Segment.T3, Segment.T4, Segment.C4, Segment.C3, Segment.C2}
    )
    # The readings that count as actual (a self-reading counts once accepted).
    actual_sources: frozenset[ReadingSource] = frozenset(_SOURCE_RANK)
    # ZERO_CONSUMPTION watches the small sites, whose meters nobody visits.
    zero_segments: frozenset[Segment] = frozenset({Segment.T1, Segment.T2, Segment.C5})
    # EXCESSIVE_CONSUMPTION: above factor × what the CAR predicts for the days between two
    # actual readings (pro rata of the monthly profile) plus a floor, which keeps readings a
    # few days apart and sites of tiny CAR from raising alerts for a few kWh.
    excess_factor: Fraction = Fraction(2)
    excess_floor_kwh: int = 200
    # REACTIVE_ENERGY: electricity C4 and above, when an invoice bills reactive energy; a
    # line is reactive energy by its component, its unit or its label.
    reactive_segments: frozenset[Segment] = frozenset({Segment.C4, Segment.C3, Segment.C2})
    reactive_components: frozenset[str] = frozenset({"REACTIVE_ENERGY"})
    reactive_units: frozenset[str] = frozenset({"kvarh"})
    reactive_label_words: tuple[str, ...] = ("réactive", "reactive")
    # READ_NOT_BILLED: an actual reading is billed within the account's cycle after it, plus
    # the delay of the billing run (10th of the month for T3) and of publication (7 days).
    billing_grace_days: int = 25


DEFAULT_POLICY = AlertPolicy()


# -- the facts a rule reads --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteFacts:
    id: int
    point_number: str
    energy: Energy
    segment: Segment
    status: SiteStatus
    supply_start: date
    supply_end: date | None
    car_kwh: int
    profile: str
    billing_months: int  # the billing account's cycle: 1, 2 or 3 months


@dataclass(frozen=True, slots=True)
class MeterFacts:
    id: int
    digits: int
    coefficient: Decimal
    communicating: bool
    removed_on: date | None = None


@dataclass(frozen=True, slots=True)
class ReadingFacts:
    id: int
    meter_id: int
    register: str
    read_on: date
    index: int
    source: ReadingSource
    rollover: bool = False
    rejected: bool = False  # a self-reading the supplier rejected


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """One invoice as it concerns the site: its per-site row."""

    id: int
    number: str
    kind: InvoiceKind
    accounting_date: date
    period_end: date
    current_index_on: date | None
    consumption_kwh: int


@dataclass(frozen=True, slots=True)
class InvoiceLineFacts:
    id: int
    invoice_id: int
    component: str
    label: str
    unit: str | None
    quantity: Decimal | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SiteHistory:
    site: SiteFacts
    meters: tuple[MeterFacts, ...]
    readings: tuple[ReadingFacts, ...] = ()
    invoices: tuple[InvoiceFacts, ...] = ()
    lines: tuple[InvoiceLineFacts, ...] = ()  # lines of those invoices (reactive energy)


# -- what a rule says --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Threshold:
    """The threshold a finding was judged against, stored with the alert."""

    value: str
    unit: str
    label: str  # French, as a screen shows it

    def as_json(self) -> dict[str, str]:
        return {"value": self.value, "unit": self.unit, "label": self.label}


@dataclass(frozen=True, slots=True)
class Finding:
    site_id: int
    kind: AlertKind
    message: str  # French, at most 300 characters
    threshold: Threshold
    evidence: dict[str, Any] = field(hash=False, compare=True)  # JSON-ready


@dataclass(frozen=True, slots=True)
class Cleared:
    site_id: int
    kind: AlertKind
    reason: str  # French: why an open alert of this kind resolves


Outcome = Finding | Cleared


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An unresolved alert (OPEN or ACKNOWLEDGED) as the store holds it."""

    id: int
    site_id: int
    kind: AlertKind


@dataclass(frozen=True, slots=True)
class Resolution:
    alert_id: int
    site_id: int
    kind: AlertKind
    reason: str


# -- helpers -----------------------------------------------------------------------------------


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _point(site: SiteFacts) -> str:
    return f"{'PCE' if site.energy is Energy.GAS else 'PRM'} {site.point_number}"


def _reading_json(reading: ReadingFacts) -> dict[str, Any]:
    return {
        "id": reading.id,
        "meter_id": reading.meter_id,
        "register": reading.register,
        "read_on": reading.read_on.isoformat(),
        "index": reading.index,
        "source": reading.source.value,
        "rollover": reading.rollover,
    }


def _invoice_json(invoice: InvoiceFacts) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "accounting_date": invoice.accounting_date.isoformat(),
        "current_index_on": (
            invoice.current_index_on.isoformat() if invoice.current_index_on else None
        ),
        "consumption_kwh": invoice.consumption_kwh,
    }


def _terminated(site: SiteFacts, kind: AlertKind) -> Cleared:
    return Cleared(site.id, kind, "Contrat résilié : le site n'est plus suivi.")


def current_meter(history: SiteHistory) -> MeterFacts | None:
    """The meter in place (none removed), else the last one removed."""
    in_place = [m for m in history.meters if m.removed_on is None]
    if in_place:
        return in_place[0]
    return max(history.meters, key=lambda m: (m.removed_on or date.min, m.id), default=None)


def actual_readings(history: SiteHistory, policy: AlertPolicy) -> list[ReadingFacts]:
    """The readings somebody read, on the site's supply (from its start day)."""
    return [
        r
        for r in history.readings
        if r.source in policy.actual_sources
        and not r.rejected
        and r.read_on >= history.site.supply_start
    ]


@dataclass(frozen=True, slots=True)
class ReadingDay:
    """The actual indexes of one meter on one day, one per register."""

    meter: MeterFacts
    read_on: date
    readings: dict[str, ReadingFacts]


def reading_days(history: SiteHistory, policy: AlertPolicy) -> list[ReadingDay]:
    """Actual readings grouped by meter and day (the distributor's reading wins a day read
    by several sources), in date order."""
    meters = {m.id: m for m in history.meters}
    days: dict[tuple[int, date], dict[str, ReadingFacts]] = {}
    for reading in actual_readings(history, policy):
        if reading.meter_id not in meters:
            continue
        registers = days.setdefault((reading.meter_id, reading.read_on), {})
        kept = registers.get(reading.register)
        if kept is None or (_SOURCE_RANK.get(reading.source, 9), reading.id) < (
            _SOURCE_RANK.get(kept.source, 9),
            kept.id,
        ):
            registers[reading.register] = reading
    return [
        ReadingDay(meters[meter_id], read_on, registers)
        for (meter_id, read_on), registers in sorted(days.items(), key=lambda i: (i[0][1], i[0][0]))
    ]


@dataclass(frozen=True, slots=True)
class LastInterval:
    """The last two actual reading days of the meter read last, and what each register did."""

    before: ReadingDay
    after: ReadingDay
    steps: dict[str, Step]

    @property
    def readings(self) -> list[dict[str, Any]]:
        return [
            _reading_json(r) for day in (self.before, self.after) for r in day.readings.values()
        ]

    @property
    def kwh(self) -> int:
        coefficient = self.after.meter.coefficient
        return sum(to_kwh(step.consumption, coefficient) for step in self.steps.values())

    def period(self) -> str:
        return f"entre le {_day(self.before.read_on)} et le {_day(self.after.read_on)}"


def last_interval(history: SiteHistory, policy: AlertPolicy) -> LastInterval | None:
    """The interval three rules judge; `detect` computes it once per site (see `_Given`)."""
    if isinstance(history, _Given):
        return history.interval
    days = reading_days(history, policy)
    if not days:
        return None
    meter_id = days[-1].meter.id
    own = [d for d in days if d.meter.id == meter_id]
    if len(own) < 2:
        return None
    before, after = own[-2], own[-1]
    steps: dict[str, Step] = {}
    for register, reading in after.readings.items():
        previous = before.readings.get(register)
        if previous is None:
            continue
        step = consumption_between(
            previous.index, reading.index, digits=after.meter.digits, rollover=reading.rollover
        )
        assert step is not None
        steps[register] = step
    return LastInterval(before, after, steps) if steps else None


def _supplied_between(site: SiteFacts, start: date, end: date) -> bool:
    return site.supply_start <= start and (site.supply_end is None or end <= site.supply_end)


# -- the rules ---------------------------------------------------------------------------------


def missing_distributor_reading(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> Outcome | None:
    """No actual reading for longer than the meter's cadence allows."""
    site, kind = history.site, AlertKind.MISSING_DISTRIBUTOR_READING
    if site.status is SiteStatus.TERMINATED:
        return _terminated(site, kind)
    if today <= site.supply_start:
        return None
    meter = current_meter(history)
    communicating = bool(meter and meter.communicating)
    monthly = communicating or site.segment in policy.monthly_read_segments
    actual = actual_readings(history, policy)
    last_on = max((r.read_on for r in actual), default=None)
    since = last_on or site.supply_start
    if monthly:
        deadline = since + timedelta(days=policy.monthly_read_max_days)
        threshold = Threshold(
            str(policy.monthly_read_max_days),
            "jours",
            f"{policy.monthly_read_max_days} jours sans relevé réel (compteur relevé chaque mois)",
        )
    else:
        deadline = add_months_clamped(since, policy.six_monthly_read_max_months)
        threshold = Threshold(
            str(policy.six_monthly_read_max_months),
            "mois",
            f"{policy.six_monthly_read_max_months} mois sans relevé réel "
            "(compteur relevé tous les six mois)",
        )
    if today <= deadline:
        if last_on is None:
            return None
        last = min(
            (r for r in actual if r.read_on == last_on), key=lambda r: _SOURCE_RANK[r.source]
        )
        return Cleared(
            site.id,
            kind,
            f"Relevé réel reçu le {_day(last_on)} ({READING_SOURCE_LABELS[last.source].lower()}).",
        )
    ways_out = [SPECIAL_READING_REQUEST]
    if not communicating and site.segment in SELF_READING_SEGMENTS:
        ways_out.insert(0, SELF_READING)
    days = (today - since).days
    origin = f"le {_day(since)}" if last_on else f"le début de fourniture ({_day(since)})"
    message = (
        f"Aucun relevé réel depuis {origin}, soit {days} jours, sur le {_point(site)} : "
        + " ou ".join(WAY_OUT_LABELS[w] for w in ways_out)
        + "."
    )
    return Finding(
        site.id,
        kind,
        message,
        threshold,
        {
            "last_actual_reading_on": last_on.isoformat() if last_on else None,
            "readings": [_reading_json(r) for r in actual if r.read_on == last_on],
            "days_without_actual_reading": days,
            "cadence": "MONTHLY" if monthly else "SIX_MONTHLY",
            "deadline": deadline.isoformat(),
            "meter_communicating": communicating,
            "ways_out": ways_out,
        },
    )


def zero_consumption(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> Outcome | None:
    """Nothing consumed between the last two actual readings while the contract ran."""
    site, kind = history.site, AlertKind.ZERO_CONSUMPTION
    if site.segment not in policy.zero_segments:
        return None
    if site.status is SiteStatus.TERMINATED:
        return _terminated(site, kind)
    interval = last_interval(history, policy)
    if interval is None or not _supplied_between(
        site, interval.before.read_on, interval.after.read_on
    ):
        return None
    if any(step.consumption != 0 or step.wrapped for step in interval.steps.values()):
        return Cleared(
            site.id, kind, f"Consommation reprise : {interval.kwh} kWh {interval.period()}."
        )
    return Finding(
        site.id,
        kind,
        f"Consommation nulle {interval.period()} (relevés réels) sur le {_point(site)}, "
        "alors que le contrat est actif.",
        Threshold("0", "kWh", "Aucune consommation entre deux relevés réels, contrat actif"),
        {
            "period_start": interval.before.read_on.isoformat(),
            "period_end": interval.after.read_on.isoformat(),
            "consumption_kwh": 0,
            "readings": interval.readings,
        },
    )


def negative_consumption(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> Outcome | None:
    """An actual index below the previous actual one, with no meter turn to explain it (a
    flagged rollover, or a drop that one turn of the meter explains: `domain.readings`)."""
    site, kind = history.site, AlertKind.NEGATIVE_CONSUMPTION
    if site.status is SiteStatus.TERMINATED:
        return _terminated(site, kind)
    interval = last_interval(history, policy)
    if interval is None:
        return None
    drops = {r: step for r, step in interval.steps.items() if step.consumption < 0}
    if not drops:
        return Cleared(site.id, kind, f"Index réels de nouveau croissants {interval.period()}.")
    registers = ", ".join(sorted(drops))
    return Finding(
        site.id,
        kind,
        f"Index réel en baisse {interval.period()} sur le {_point(site)} (poste {registers}), "
        "sans tour de compteur enregistré ni régularisation.",
        Threshold("0", "kWh", "Consommation négative entre deux relevés réels"),
        {
            "period_start": interval.before.read_on.isoformat(),
            "period_end": interval.after.read_on.isoformat(),
            "consumption_by_register": {r: step.consumption for r, step in drops.items()},
            "readings": interval.readings,
        },
    )


def excessive_consumption(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> Outcome | None:
    """More than `excess_factor` × the CAR pro-rated by the monthly profile (plus a floor)
    between the last two actual readings."""
    site, kind = history.site, AlertKind.EXCESSIVE_CONSUMPTION
    if site.status is SiteStatus.TERMINATED:
        return _terminated(site, kind)
    if site.car_kwh <= 0:
        return None
    interval = last_interval(history, policy)
    if interval is None or any(step.consumption < 0 for step in interval.steps.values()):
        return None
    start, end = interval.before.read_on, interval.after.read_on
    expected = expected_kwh(
        ExpectationFacts(site.segment, site.status, site.car_kwh, site.profile), start, end
    )
    limit = policy.excess_factor * expected + policy.excess_floor_kwh
    kwh = interval.kwh
    if kwh <= limit:
        return Cleared(
            site.id,
            kind,
            f"Consommation revenue sous le seuil : {kwh} kWh {interval.period()} "
            f"(seuil {round(limit)} kWh).",
        )
    factor = f"{float(policy.excess_factor):g}".replace(".", ",")
    return Finding(
        site.id,
        kind,
        f"Consommation de {kwh} kWh {interval.period()} sur le {_point(site)}, au-delà de "
        f"{factor} fois la consommation de référence ({round(expected)} kWh attendus).",
        Threshold(
            str(round(limit)),
            "kWh",
            f"{factor} × la CAR au prorata du profil mensuel + {policy.excess_floor_kwh} kWh",
        ),
        {
            "period_start": start.isoformat(),
            "period_end": end.isoformat(),
            "consumption_kwh": kwh,
            "expected_kwh": round(expected),
            "limit_kwh": round(limit),
            "factor": str(policy.excess_factor),
            "car_kwh": site.car_kwh,
            "profile": site.profile,
            "readings": interval.readings,
        },
    )


def is_reactive_energy(line: InvoiceLineFacts, policy: AlertPolicy = DEFAULT_POLICY) -> bool:
    """Whether an invoice line bills reactive energy (by component, unit or label)."""
    label = line.label.casefold()
    return (
        line.component in policy.reactive_components
        or (line.unit or "").casefold() in policy.reactive_units
        or any(word in label for word in policy.reactive_label_words)
    )


def _billing_invoices(history: SiteHistory) -> list[InvoiceFacts]:
    """The site's invoices and credit notes (cancellation invoices only undo one of them)."""
    return [i for i in history.invoices if i.kind is not InvoiceKind.CANCELLATION]


def reactive_energy(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> Outcome | None:
    """The site's last invoice bills reactive energy (electricity C4 and above)."""
    site, kind = history.site, AlertKind.REACTIVE_ENERGY
    if site.energy is not Energy.ELECTRICITY or site.segment not in policy.reactive_segments:
        return None
    invoices = _billing_invoices(history)
    if not invoices:
        return None
    last = max(invoices, key=lambda i: (i.accounting_date, i.id))
    lines = [
        line
        for line in history.lines
        if line.invoice_id == last.id and line.amount > 0 and is_reactive_energy(line, policy)
    ]
    if not lines:
        return Cleared(
            site.id,
            kind,
            f"Dernière facture ({last.number} du {_day(last.accounting_date)}) sans énergie "
            "réactive facturée.",
        )
    amount = sum((line.amount for line in lines), Decimal(0))
    euros = f"{amount:.2f}".replace(".", ",")
    return Finding(
        site.id,
        kind,
        f"Énergie réactive facturée sur le {_point(site)} : {euros} € HT sur la facture "
        f"{last.number} du {_day(last.accounting_date)}.",
        Threshold("0", "€", "Toute énergie réactive facturée (électricité C4 et au-delà)"),
        {
            "invoice": _invoice_json(last),
            "lines": [
                {
                    "id": line.id,
                    "label": line.label,
                    "component": line.component,
                    "unit": line.unit,
                    "quantity": str(line.quantity) if line.quantity is not None else None,
                    "amount": str(line.amount),
                }
                for line in lines
            ],
            "amount_excl_tax": str(amount),
        },
    )


def read_not_billed(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> Outcome | None:
    """An actual distributor reading that no invoice has reached, once the billing cycle
    after it (plus the run and publication delays) is over. Terminated sites too: their final
    invoice is due."""
    site, kind = history.site, AlertKind.READ_NOT_BILLED
    invoices = _billing_invoices(history)
    last = max(invoices, key=lambda i: (i.current_index_on or i.period_end, i.id), default=None)
    billed_until = (last.current_index_on or last.period_end) if last else None
    unbilled = [
        r
        for r in history.readings
        if r.source in (ReadingSource.DISTRIBUTOR_ACTUAL, ReadingSource.SPECIAL)
        and r.read_on > site.supply_start  # the switch index opens the first bill
        and (site.supply_end is None or r.read_on <= site.supply_end)
        and (billed_until is None or r.read_on > billed_until)
    ]
    oldest = min((r.read_on for r in unbilled), default=None)
    deadline = (
        add_months_clamped(oldest, site.billing_months) + timedelta(days=policy.billing_grace_days)
        if oldest
        else None
    )
    if deadline is None or today <= deadline:
        if last is None or billed_until is None:
            return None
        return Cleared(
            site.id,
            kind,
            f"Relevés facturés jusqu'au {_day(billed_until)} (facture {last.number}).",
        )
    assert oldest is not None
    return Finding(
        site.id,
        kind,
        f"Relevé réel du {_day(oldest)} sur le {_point(site)} toujours pas facturé "
        f"(échéance du cycle de facturation : {_day(deadline)}).",
        Threshold(
            str(site.billing_months),
            "mois",
            f"Cycle de facturation de {site.billing_months} mois + "
            f"{policy.billing_grace_days} jours après le relevé",
        ),
        {
            "oldest_unbilled_reading_on": oldest.isoformat(),
            "readings": [_reading_json(r) for r in unbilled if r.read_on == oldest],
            "unbilled_reading_days": len({r.read_on for r in unbilled}),
            "billed_until": billed_until.isoformat() if billed_until else None,
            "last_invoice": _invoice_json(last) if last else None,
            "deadline": deadline.isoformat(),
            "billing_months": site.billing_months,
        },
    )


RULES = {
    AlertKind.MISSING_DISTRIBUTOR_READING: missing_distributor_reading,
    AlertKind.ZERO_CONSUMPTION: zero_consumption,
    AlertKind.NEGATIVE_CONSUMPTION: negative_consumption,
    AlertKind.EXCESSIVE_CONSUMPTION: excessive_consumption,
    AlertKind.REACTIVE_ENERGY: reactive_energy,
    AlertKind.READ_NOT_BILLED: read_not_billed,
}


@dataclass(frozen=True, slots=True)
class _Given(SiteHistory):
    """A history with its last interval worked out once for all the rules that judge it."""

    interval: LastInterval | None = None


def detect(
    history: SiteHistory, *, today: date, policy: AlertPolicy = DEFAULT_POLICY
) -> dict[AlertKind, Outcome]:
    """Every rule's answer for one site (the rules that cannot tell are left out)."""
    given = _Given(
        history.site,
        history.meters,
        history.readings,
        history.invoices,
        history.lines,
        last_interval(history, policy),
    )
    outcomes: dict[AlertKind, Outcome] = {}
    for kind, rule in RULES.items():
        outcome = rule(given, today=today, policy=policy)
        if outcome is not None:
            outcomes[kind] = outcome
    return outcomes


# -- what changes in the store -----------------------------------------------------------------


def alerts_to_open(findings: Iterable[Finding], open_alerts: Iterable[OpenAlert]) -> list[Finding]:
    """The findings with no unresolved alert of their site and kind (one per site and kind)."""
    taken = {(a.site_id, a.kind) for a in open_alerts}
    new: list[Finding] = []
    for finding in findings:
        key = (finding.site_id, finding.kind)
        if key not in taken:
            taken.add(key)
            new.append(finding)
    return new


def alerts_to_resolve(
    open_alerts: Iterable[OpenAlert], outcomes: Mapping[tuple[int, AlertKind], Outcome]
) -> list[Resolution]:
    """The unresolved alerts whose cause is gone, with the reason; an alert whose rule cannot
    tell (no outcome) stays."""
    resolutions = []
    for alert in open_alerts:
        outcome = outcomes.get((alert.site_id, alert.kind))
        if isinstance(outcome, Cleared):
            resolutions.append(Resolution(alert.id, alert.site_id, alert.kind, outcome.reason))
    return resolutions


def findings_of(outcomes: Iterable[Outcome]) -> list[Finding]:
    return [o for o in outcomes if isinstance(o, Finding)]
