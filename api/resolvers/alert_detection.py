"""The alert detection run: read sites in batches, apply `domain.alerts`, open and resolve.

One batch is a few thousand sites (keyset on the site id): their facts, actual readings,
meters, invoices (and, for the sites reactive energy concerns, invoice lines) come in one
Core select each, in a read-only session; the rules run in Python; then one short write
transaction inserts the new alerts and resolves the gone ones. Reading apart from writing
keeps SQLite's single writer free while the rules run.

Safe to repeat and safe to run twice at once: new alerts are inserted with ON CONFLICT DO
NOTHING against the partial unique index "one unresolved alert per site and kind", so a
concurrent run that found the same anomaly inserts nothing; a resolution only touches an
alert still unresolved.

`perimeter` limits the run to a caller's sites (the scoped predicate of `db/scoped.py`);
None runs over every site (the CLI without arguments, the scheduled run).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import ACCOUNTS, INVOICES, LINES, METERS, READINGS, SHARES, SITES, core, table_of
from db.models import Alert
from db.scoped import Perimeter, site_in, site_served
from domain.alerts import (
    DEFAULT_POLICY,
    AlertPolicy,
    Finding,
    InvoiceFacts,
    InvoiceLineFacts,
    MeterFacts,
    OpenAlert,
    Outcome,
    ReadingFacts,
    Resolution,
    SiteFacts,
    SiteHistory,
    alerts_to_open,
    alerts_to_resolve,
    detect,
    findings_of,
)
from domain.calendar import paris_date
from domain.enums import (
    BILLING_FREQUENCY_MONTHS,
    AlertKind,
    AlertStatus,
    BillingFrequency,
    Energy,
    InvoiceKind,
    ReadingSource,
    SelfReadingStatus,
)
from domain.retention import served_since

ALERTS = table_of(Alert)
UNRESOLVED = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)
BATCH_SITES = 2000
_INSERT_CHUNK = 500  # rows per INSERT: well under SQLite's bound-parameter limit


@dataclass
class DetectionReport:
    sites: int = 0
    opened: Counter[AlertKind] = field(default_factory=Counter)
    resolved: Counter[AlertKind] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        """One French line for the CLI and the logs."""

        def counts(counter: Counter[AlertKind]) -> str:
            if not counter:
                return "aucune"
            return ", ".join(f"{kind.value} {n}" for kind, n in sorted(counter.items()))

        return (
            f"{self.sites} site(s) examiné(s) en {self.seconds:.1f} s ; "
            f"alertes ouvertes : {counts(self.opened)} ; résolues : {counts(self.resolved)}."
        )


async def detect_alerts(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    perimeter: Perimeter | None = None,
    policy: AlertPolicy = DEFAULT_POLICY,
    batch_size: int = BATCH_SITES,
) -> DetectionReport:
    """Runs every rule over the sites (of `perimeter`, or all), batch by batch."""
    started = time.perf_counter()
    today = paris_date(now)
    report = DetectionReport()
    after = 0
    while True:
        async with sessions() as session:
            sites = await _site_batch(
                session, perimeter, after=after, limit=batch_size, today=today
            )
            if not sites:
                break
            histories = await _histories(session, sites, policy)
            open_alerts = await _open_alerts(session, [s.id for s in sites])
        after = sites[-1].id
        report.sites += len(sites)
        outcomes: dict[tuple[int, AlertKind], Outcome] = {}
        for history in histories:
            for kind, outcome in detect(history, today=today, policy=policy).items():
                outcomes[(history.site.id, kind)] = outcome
        new = alerts_to_open(findings_of(outcomes.values()), open_alerts)
        gone = alerts_to_resolve(open_alerts, outcomes)
        if new or gone:
            async with sessions() as session, session.begin():
                report.opened.update(await _open(session, new, today=today, now=now))
                report.resolved.update(await _resolve(session, gone, now=now))
    report.seconds = time.perf_counter() - started
    return report


# -- reading ------------------------------------------------------------------------------------


async def _site_batch(
    session: AsyncSession, perimeter: Perimeter | None, *, after: int, limit: int, today: date
) -> list[SiteFacts]:
    """The next sites by id, within `perimeter`, and never a site past its data retention (its
    contract ended more than five years ago): no one may read it, so nothing is detected on
    it, whether or not the caller's perimeter carries the cut-off."""
    statement = (
        sa.select(
            SITES.c.id,
            SITES.c.point_number,
            SITES.c.energy,
            SITES.c.segment,
            SITES.c.status,
            SITES.c.supply_start,
            SITES.c.supply_end,
            SITES.c.car_kwh,
            SITES.c.profile,
            ACCOUNTS.c.billing_frequency,
        )
        .select_from(SITES.join(ACCOUNTS, ACCOUNTS.c.id == SITES.c.billing_account_id))
        .where(SITES.c.id > after, site_served(served_since(today), SITES.c.supply_end))
        .order_by(SITES.c.id)
        .limit(limit)
    )
    if perimeter is not None:
        statement = statement.where(site_in(perimeter))
    rows = (await core(session, statement)).all()
    return [
        SiteFacts(
            id=row.id,
            point_number=row.point_number,
            energy=row.energy,
            segment=row.segment,
            status=row.status,
            supply_start=row.supply_start,
            supply_end=row.supply_end,
            car_kwh=row.car_kwh,
            profile=row.profile,
            billing_months=BILLING_FREQUENCY_MONTHS[BillingFrequency(row.billing_frequency)],
        )
        for row in rows
    ]


async def _histories(
    session: AsyncSession, sites: Sequence[SiteFacts], policy: AlertPolicy
) -> list[SiteHistory]:
    ids = [s.id for s in sites]
    meters: dict[int, list[MeterFacts]] = defaultdict(list)
    meter_rows = await core(
        session,
        sa.select(
            METERS.c.id,
            METERS.c.site_id,
            METERS.c.digits,
            METERS.c.reading_coefficient,
            METERS.c.is_communicating,
            METERS.c.removed_on,
        ).where(METERS.c.site_id.in_(ids)),
    )
    for row in meter_rows:
        meters[row.site_id].append(
            MeterFacts(
                row.id, row.digits, row.reading_coefficient, row.is_communicating, row.removed_on
            )
        )
    # Only the readings somebody read: the rules never compare estimates.
    readings: dict[int, list[ReadingFacts]] = defaultdict(list)
    reading_rows = await core(
        session,
        sa.select(
            READINGS.c.id,
            READINGS.c.site_id,
            READINGS.c.meter_id,
            _plain(READINGS.c.register_code),
            READINGS.c.read_on,
            READINGS.c.index_value,
            _plain(READINGS.c.source),
            READINGS.c.rollover,
            _plain(READINGS.c.self_reading_status),
        ).where(
            READINGS.c.site_id.in_(ids),
            READINGS.c.source.in_(sorted(policy.actual_sources | _BILLED_SOURCES)),
        ),
    )
    # The hot loop of the run (hundreds of thousands of rows): tuples and positional fields.
    rejected = SelfReadingStatus.REJECTED.value
    for id_, site_id, meter_id, register, read_on, index, source, rollover, status in reading_rows:
        readings[site_id].append(
            ReadingFacts(
                id_,
                meter_id,
                register,
                read_on,
                index,
                _SOURCES[source],
                rollover,
                status == rejected,
            )
        )
    invoices: dict[int, list[InvoiceFacts]] = defaultdict(list)
    invoice_rows = await core(
        session,
        sa.select(
            SHARES.c.site_id,
            INVOICES.c.id,
            INVOICES.c.number,
            _plain(INVOICES.c.kind),
            INVOICES.c.accounting_date,
            INVOICES.c.period_end,
            SHARES.c.current_index_on,
            SHARES.c.consumption_kwh,
        )
        .select_from(SHARES.join(INVOICES, INVOICES.c.id == SHARES.c.invoice_id))
        .where(SHARES.c.site_id.in_(ids)),
    )
    for site_id, id_, number, kind, accounted, period_end, index_on, kwh in invoice_rows:
        invoices[site_id].append(
            InvoiceFacts(id_, number, _KINDS[kind], accounted, period_end, index_on, kwh)
        )
    lines = await _reactive_candidate_lines(session, sites, policy)
    return [
        SiteHistory(
            site=site,
            meters=tuple(meters[site.id]),
            readings=tuple(readings[site.id]),
            invoices=tuple(invoices[site.id]),
            lines=tuple(lines[site.id]),
        )
        for site in sites
    ]


_SOURCES = {source.value: source for source in ReadingSource}
_KINDS = {kind.value: kind for kind in InvoiceKind}


def _plain(column: Any) -> Any:
    """An enum column read as its stored string: the Enum type's result processing costs more
    than the rest of the row at this scale."""
    return sa.type_coerce(column, sa.String()).label(column.name)


# READ_NOT_BILLED looks at the distributor's readings even when a policy counts fewer sources
# as actual.
_BILLED_SOURCES = frozenset({ReadingSource.DISTRIBUTOR_ACTUAL, ReadingSource.SPECIAL})


async def _reactive_candidate_lines(
    session: AsyncSession, sites: Sequence[SiteFacts], policy: AlertPolicy
) -> dict[int, list[InvoiceLineFacts]]:
    """The invoice lines of the sites the reactive-energy rule concerns (none for most
    batches: C4 and above are few)."""
    concerned = [
        s.id
        for s in sites
        if s.energy is Energy.ELECTRICITY and s.segment in policy.reactive_segments
    ]
    found: dict[int, list[InvoiceLineFacts]] = defaultdict(list)
    if not concerned:
        return found
    rows = await core(
        session,
        sa.select(
            SHARES.c.site_id,
            LINES.c.id,
            LINES.c.invoice_id,
            LINES.c.component,
            LINES.c.label,
            LINES.c.unit,
            LINES.c.quantity,
            LINES.c.amount,
        )
        .select_from(SHARES.join(LINES, LINES.c.invoice_id == SHARES.c.invoice_id))
        .where(SHARES.c.site_id.in_(concerned)),
    )
    for row in rows:
        found[row.site_id].append(
            InvoiceLineFacts(
                id=row.id,
                invoice_id=row.invoice_id,
                component=str(row.component),
                label=row.label,
                unit=row.unit,
                quantity=row.quantity,
                amount=row.amount,
            )
        )
    return found


async def _open_alerts(session: AsyncSession, site_ids: Sequence[int]) -> list[OpenAlert]:
    rows = await core(
        session,
        sa.select(ALERTS.c.id, ALERTS.c.site_id, ALERTS.c.kind).where(
            ALERTS.c.site_id.in_(site_ids), ALERTS.c.status.in_(UNRESOLVED)
        ),
    )
    return [OpenAlert(row.id, row.site_id, AlertKind(row.kind)) for row in rows]


# -- writing ------------------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ALERTS)


async def _open(
    session: AsyncSession, findings: Sequence[Finding], *, today: date, now: datetime
) -> Counter[AlertKind]:
    """Inserts the findings as OPEN alerts; one that a concurrent run opened first is skipped
    by the unique index (ON CONFLICT DO NOTHING), so only what this run inserted is counted."""
    opened: Counter[AlertKind] = Counter()
    for start in range(0, len(findings), _INSERT_CHUNK):
        chunk = findings[start : start + _INSERT_CHUNK]
        statement = (
            _insert(session)
            .values(
                [
                    {
                        "site_id": f.site_id,
                        "kind": f.kind,
                        "status": AlertStatus.OPEN,
                        "detected_on": today,
                        "message": f.message[:300],
                        "details": {},
                        "evidence": f.evidence,
                        "threshold": f.threshold.as_json(),
                        "created_at": now,
                    }
                    for f in chunk
                ]
            )
            .on_conflict_do_nothing()
            .returning(ALERTS.c.kind)
        )
        opened.update(AlertKind(kind) for kind in (await core(session, statement)).scalars())
    return opened


async def _resolve(
    session: AsyncSession, resolutions: Iterable[Resolution], *, now: datetime
) -> Counter[AlertKind]:
    """Resolves the alerts whose cause is gone, recording why; an alert another run or a
    person resolved meanwhile is left as it is."""
    resolutions = list(resolutions)
    if not resolutions:
        return Counter()
    statement = (
        sa.update(ALERTS)
        .where(
            ALERTS.c.id == sa.bindparam("alert_id"),
            ALERTS.c.status != AlertStatus.RESOLVED.value,  # no IN list: executemany
        )
        .values(
            status=AlertStatus.RESOLVED,
            resolved_at=now,
            resolved_reason=sa.bindparam("reason"),
        )
    )
    # executemany: one statement, one parameter set per alert.
    await (await session.connection()).execute(
        statement, [{"alert_id": r.alert_id, "reason": r.reason[:300]} for r in resolutions]
    )
    return Counter(r.kind for r in resolutions)
