"""Readings of a site (relèves) and self-readings (auto-relèves).

`list_readings` pages through a site's readings, each with its consumption as
`domain.readings.step_of_reading` defines it (a self-reading from the last reading that
counts, any other reading from the previous one): the previous indexes come from window
functions (LAG) over the site's readings in the same statement. `submit_self_reading` checks
the rules of `domain.self_reading` and stores the indexes, the audit entry and the
confirmation mail in one transaction; the answer and the mail are built from the same rows as
the list, so the three show one figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.access import clean_email
from api.resolvers.writable import site_to_change
from auth.caller import Caller
from comptoir.settings import Settings
from db import audit
from db.core import METERS, READINGS, core, core_rows
from db.engine import transaction
from db.models import Meter, Reading, Site
from db.models.base import persisted_id
from db.scoped import Perimeter, scoped_sites
from domain.calendar import PARIS, paris_date
from domain.enums import (
    ESTIMATED_SOURCES,
    MeterKind,
    ReadingSource,
    Register,
    Segment,
    SelfReadingStatus,
    SiteStatus,
)
from domain.errors import ErrorCode, Refusal
from domain.labels import REGISTER_LABELS
from domain.readings import (
    REFERENCE_SOURCES,
    ReadingKind,
    index_unit,
    is_estimated,
    kind_of,
    step_of_reading,
    to_kwh,
)
from domain.self_reading import (
    DEFAULT_POLICY,
    LastReading,
    MeterFacts,
    SelfReadingPolicy,
    SiteFacts,
    Submission,
    Violation,
    check_self_reading,
    counts_in_next_billing_cycle,
    self_reading_possible,
)
from mailers import contacts, mails

MAX_INDEXES = 20  # more entries than any meter has registers (input lists are capped)


@dataclass(frozen=True, slots=True)
class ReadingRow:
    id: int
    read_on: date
    register: Register
    index: int
    source: ReadingSource
    kind: ReadingKind
    estimated: bool
    rollover: bool  # the meter went round since the previous reading (flagged or recognised)
    rollover_count: int  # turns flagged on this register of this meter up to this reading
    consumption: int | None  # since `consumption_since`, in the meter's units
    consumption_kwh: int | None
    consumption_since: date | None  # the reading the consumption is measured from
    index_unit: str  # m³ (gas) or kWh (electricity)
    self_reading_status: SelfReadingStatus | None
    rejection_reason: str | None
    meter_serial: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReadingsPage:
    readings: list[ReadingRow]
    total_count: int
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class SelfReadingResult:
    readings: list[ReadingRow]
    counts_in_next_billing_cycle: bool


class SelfReadingRefused(Refusal):
    """Every rule the submission broke (the first one is the `Refusal` itself)."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        first = refusals[0]
        super().__init__(first.code, first.message, field=first.field)
        self.refusals = list(refusals)


# -- listing --------------------------------------------------------------------------------

_NOT_REJECTED = sa.or_(
    READINGS.c.self_reading_status.is_(None),
    READINGS.c.self_reading_status != SelfReadingStatus.REJECTED,
)


_PARTITION = (READINGS.c.meter_id, READINGS.c.register_code)
_ORDER = (READINGS.c.read_on, READINGS.c.id)


def _chain(site_id: int) -> Any:
    """Per reading that counts, the index and date of the previous one on the same register of
    the same meter and the turns flagged so far (a rejected self-reading is in no chain)."""
    return (
        sa.select(
            READINGS.c.id.label("id"),
            sa.func.lag(READINGS.c.index_value)
            .over(partition_by=_PARTITION, order_by=_ORDER)
            .label("previous_index"),
            sa.func.lag(READINGS.c.read_on, type_=sa.Date())
            .over(partition_by=_PARTITION, order_by=_ORDER)
            .label("previous_on"),
            sa.func.sum(sa.case((READINGS.c.rollover, 1), else_=0))
            .over(partition_by=_PARTITION, order_by=_ORDER, rows=(None, 0))
            .label("turns"),
        )
        .where(READINGS.c.site_id == site_id, _NOT_REJECTED)
        .subquery("chain")
    )


def _reference_chain(site_id: int) -> Any:
    """The same over the reference readings only (no estimate): what a self-reading is
    measured from, as the self-reading rules measure it (`_last_references`)."""
    return (
        sa.select(
            READINGS.c.id.label("id"),
            sa.func.lag(READINGS.c.index_value)
            .over(partition_by=_PARTITION, order_by=_ORDER)
            .label("reference_index"),
            sa.func.lag(READINGS.c.read_on, type_=sa.Date())
            .over(partition_by=_PARTITION, order_by=_ORDER)
            .label("reference_on"),
        )
        .where(
            READINGS.c.site_id == site_id,
            READINGS.c.source.in_(sorted(REFERENCE_SOURCES)),
            _NOT_REJECTED,
        )
        .subquery("reference_chain")
    )


def _filters(
    site_id: int,
    perimeter: Perimeter,
    *,
    period_from: date | None,
    period_to: date | None,
    sources: frozenset[ReadingSource] | None,
    registers: Sequence[Register] | None,
) -> list[Any]:
    clauses: list[Any] = [
        READINGS.c.site_id == site_id,
        # Scoped again in the statement itself, not only by the preceding site check.
        READINGS.c.site_id.in_(scoped_sites(perimeter, Site.id).where(col(Site.id) == site_id)),
    ]
    if period_from is not None:
        clauses.append(READINGS.c.read_on >= period_from)
    if period_to is not None:
        clauses.append(READINGS.c.read_on <= period_to)
    if sources is not None:
        clauses.append(READINGS.c.source.in_(sorted(sources)))
    if registers:
        clauses.append(READINGS.c.register_code.in_(sorted(set(registers))))
    return clauses


def _rows_query(site_id: int, where: list[Any]) -> Any:
    chain = _chain(site_id)
    reference = _reference_chain(site_id)
    return (
        sa.select(
            READINGS.c.id,
            READINGS.c.read_on,
            READINGS.c.register_code,
            READINGS.c.index_value,
            READINGS.c.source,
            READINGS.c.rollover,
            READINGS.c.self_reading_status,
            READINGS.c.rejection_reason,
            READINGS.c.created_at,
            METERS.c.serial,
            METERS.c.kind,
            METERS.c.digits,
            METERS.c.reading_coefficient,
            chain.c.previous_index,
            chain.c.previous_on,
            chain.c.turns,
            reference.c.reference_index,
            reference.c.reference_on,
        )
        .select_from(READINGS)
        .join(METERS, METERS.c.id == READINGS.c.meter_id)
        .outerjoin(chain, chain.c.id == READINGS.c.id)
        .outerjoin(reference, reference.c.id == READINGS.c.id)
        .where(*where)
    )


def _reading_row(row: Any) -> ReadingRow:
    source = ReadingSource(row.source)
    counted = row.turns is not None  # a rejected self-reading is in no chain
    step = (
        step_of_reading(
            source,
            current=row.index_value,
            digits=row.digits,
            rollover=row.rollover,
            previous_any=row.previous_index,
            previous_reference=row.reference_index,
        )
        if counted
        else None
    )
    since = row.reference_on if source is ReadingSource.SELF_READING else row.previous_on
    coefficient = Decimal(row.reading_coefficient)
    return ReadingRow(
        id=row.id,
        read_on=row.read_on,
        register=Register(row.register_code),
        index=row.index_value,
        source=source,
        kind=kind_of(source),
        estimated=is_estimated(source),
        rollover=bool(row.rollover or (step is not None and step.wrapped)),
        rollover_count=int(row.turns or 0),
        consumption=step.consumption if step else None,
        consumption_kwh=to_kwh(step.consumption, coefficient) if step else None,
        consumption_since=since if step else None,
        index_unit=index_unit(row.kind),
        self_reading_status=(
            SelfReadingStatus(row.self_reading_status) if row.self_reading_status else None
        ),
        rejection_reason=row.rejection_reason,
        meter_serial=row.serial,
        created_at=row.created_at,
    )


async def list_readings(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    site_id: int,
    period_from: date | None = None,
    period_to: date | None = None,
    sources: frozenset[ReadingSource] | None = None,
    registers: Sequence[Register] | None = None,
    first: int,
    after: tuple[date, int] | None = None,
) -> ReadingsPage | None:
    """A keyset page of the site's readings, most recent first; None when the site is not in
    the perimeter (or does not exist). Two statements whatever the page size."""
    if period_from is not None and period_to is not None and period_from > period_to:
        raise Refusal(
            ErrorCode.INVALID,
            "La date de début de la période doit précéder sa date de fin.",
            field="filter",
        )
    where = _filters(
        site_id,
        perimeter,
        period_from=period_from,
        period_to=period_to,
        sources=sources,
        registers=registers,
    )
    visible = scoped_sites(perimeter, Site.id).where(Site.id == site_id)
    counted = sa.select(sa.func.count()).select_from(READINGS).where(*where)
    query = _rows_query(site_id, where)
    if after is not None:
        after_on, after_id = after
        query = query.where(
            sa.or_(
                READINGS.c.read_on < after_on,
                sa.and_(READINGS.c.read_on == after_on, READINGS.c.id < after_id),
            )
        )
    query = query.order_by(READINGS.c.read_on.desc(), READINGS.c.id.desc()).limit(first + 1)
    async with sessions() as session:
        head = (
            await core(
                session,
                sa.select(visible.exists().label("found"), counted.scalar_subquery().label("n")),
            )
        ).one()
        if not head.found:
            return None
        rows = (await session.exec(query)).all()
    page = [_reading_row(row) for row in rows[:first]]
    return ReadingsPage(readings=page, total_count=head.n, has_next_page=len(rows) > first)


# -- what the technical sheet shows ------------------------------------------------------------


# The columns `_site_facts` and `_meter_facts` read (what a plan that reads only some
# columns must still fetch: api/compiled.py).
SELF_READING_SITE_COLUMNS = ("segment", "status", "car_kwh", "profile")
SELF_READING_METER_COLUMNS = (
    "kind",
    "is_communicating",
    "digits",
    "registers",
    "reading_coefficient",
    "installed_on",
)


def _site_facts(site: Any) -> SiteFacts:
    return SiteFacts(
        segment=Segment(site.segment),
        status=SiteStatus(site.status),
        car_kwh=site.car_kwh,
        profile=site.profile,
    )


def _meter_facts(meter: Any) -> MeterFacts:
    return MeterFacts(
        kind=MeterKind(meter.kind),
        is_communicating=bool(meter.is_communicating),
        digits=meter.digits,
        registers=tuple(Register(r) for r in meter.registers),
        coefficient=Decimal(meter.reading_coefficient),
        installed_on=meter.installed_on,
    )


def can_submit_self_reading(*, in_write_perimeter: bool, site: Any, meter: Any | None) -> bool:
    """`canSubmitSelfReading` of a technical sheet: the site is in the caller's WRITE perimeter
    (a read-only third party's is empty), it has a current meter, and that meter and the
    contract take self-readings (not communicating, segment T1/T2/C5, not terminated).

    `site` and `meter` are rows (table objects or Core rows) with the columns of `Site` and
    `Meter`; `meter` is the current one (None if the site has none)."""
    if not in_write_perimeter or meter is None:
        return False
    return self_reading_possible(_site_facts(site), _meter_facts(meter))


# -- submitting -----------------------------------------------------------------------------


async def _last_references(session: AsyncSession, meter_id: int) -> dict[Register, LastReading]:
    """Per register, the last reading that counts (actual, special, accepted self-reading)."""
    ranked = (
        sa.select(
            READINGS.c.register_code,
            READINGS.c.index_value,
            READINGS.c.read_on,
            sa.func.row_number()
            .over(
                partition_by=READINGS.c.register_code,
                order_by=(READINGS.c.read_on.desc(), READINGS.c.id.desc()),
            )
            .label("rank"),
        )
        .where(
            READINGS.c.meter_id == meter_id,
            READINGS.c.source.not_in(sorted(ESTIMATED_SOURCES)),
            _NOT_REJECTED,
        )
        .subquery()
    )
    rows = await core_rows(session, sa.select(ranked).where(ranked.c.rank == 1))
    return {Register(r.register_code): LastReading(r.index_value, r.read_on) for r in rows}


def _paris_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=PARIS)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)


async def _self_reading_days(
    session: AsyncSession, site_id: int, read_on: date, today: date
) -> tuple[set[date], set[date]]:
    """Days of this site's self-readings dated `read_on`, and received today (Paris)."""
    start, end = _paris_day_bounds(today)
    rows = await core_rows(
        session,
        sa.select(READINGS.c.read_on, READINGS.c.created_at).where(
            READINGS.c.site_id == site_id,
            READINGS.c.source == ReadingSource.SELF_READING,
            sa.or_(
                READINGS.c.read_on == read_on,
                sa.and_(READINGS.c.created_at >= start, READINGS.c.created_at < end),
            ),
        ),
    )
    read_days = {r.read_on for r in rows}
    received = {paris_date(r.created_at) for r in rows}
    return read_days, received


def _refusal(violation: Violation) -> Refusal:
    return Refusal(ErrorCode(violation.code), violation.message, field=violation.field)


def _site_label(site: Site) -> str:
    return site.designation or site.internal_code or f"{site.street}, {site.city}"


async def submit_self_reading(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    write_perimeter: Perimeter,
    *,
    site_id: int,
    read_on: date,
    indexes: Sequence[tuple[Register, str]],
    confirmed: bool,
    copy_to: str | None,
    now: datetime,
    client_address: str | None,
    policy: SelfReadingPolicy = DEFAULT_POLICY,
) -> SelfReadingResult:
    """Stores one self-reading (one index per register of the current meter), its audit entry
    and the confirmation mail, all in one transaction; refuses with every broken rule."""
    if len(indexes) > MAX_INDEXES:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"Au plus {MAX_INDEXES} index par auto-relève.",
            field="indexes",
        )
    async with transaction(sessions) as session:
        # Locked, so two submissions for the same site are taken one after the other.
        site = await site_to_change(
            session,
            site_id,
            perimeter=caller.perimeter,
            write_perimeter=write_perimeter,
            forbidden="Votre habilitation permet de consulter ce site, pas d'y transmettre "
            "d'auto-relève.",
        )
        meter = (
            await session.exec(
                select(Meter).where(col(Meter.site_id) == site_id, col(Meter.removed_on).is_(None))
            )
        ).first()
        if meter is None:
            raise Refusal(
                ErrorCode.INVALID_STATE,
                "Aucun compteur n'est en service sur ce site.",
                field="siteId",
            )
        refusals: list[Refusal] = []
        copy = None
        if copy_to is not None and copy_to.strip():
            try:
                copy = clean_email(copy_to)
            except Refusal as refusal:
                refusals.append(
                    Refusal(refusal.code, "Adresse de copie invalide.", field="copyToEmail")
                )
        last = await _last_references(session, persisted_id(meter))
        today = paris_date(now)
        read_days, received_days = await _self_reading_days(session, site_id, read_on, today)
        verdict = check_self_reading(
            site=_site_facts(site),
            meter=_meter_facts(meter),
            submission=Submission(
                read_on=read_on,
                entries=list(indexes),
                confirmed=confirmed,
                self_read_days=read_days,
                submitted_days=received_days,
            ),
            last_readings=last,
            received_at=now,
        )
        refusals = [_refusal(v) for v in verdict.violations] + refusals
        if refusals:
            raise SelfReadingRefused(refusals)
        recipients = [caller.email] + ([copy] if copy and copy != caller.email else [])
        stored = [
            Reading(
                site_id=site_id,
                meter_id=persisted_id(meter),
                register_code=accepted.register,
                read_on=read_on,
                index_value=accepted.index,
                source=ReadingSource.SELF_READING,
                rollover=accepted.rollover,
                submitted_by_user_id=caller.user_id,
                self_reading_status=SelfReadingStatus.ACCEPTED,
                confirmation_emails=recipients,
                created_at=now,
            )
            for accepted in verdict.accepted
        ]
        session.add_all(stored)
        try:
            await session.flush()
        except IntegrityError:
            # A concurrent submission for the same meter and day won the race.
            raise Refusal(
                ErrorCode.ALREADY_EXISTS,
                "Une auto-relève a déjà été transmise pour ce site à cette date.",
                field="readOn",
            ) from None
        counts = counts_in_next_billing_cycle(now, cutoff_day=policy.billing_cutoff_day)
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="self_reading.submit",
            object_type="Site",
            object_id=site_id,
            now=now,
            details={
                "read_on": read_on.isoformat(),
                "meter_id": meter.id,
                "indexes": {a.register.value: a.index for a in verdict.accepted},
                "rollover": [a.register.value for a in verdict.accepted if a.rollover],
                "counts_in_next_billing_cycle": counts,
            },
            client_address=client_address,
        )
        ids = [r.id for r in stored]
        rows = (
            await session.exec(
                _rows_query(site_id, [col(Reading.id).in_(ids)]).order_by(Reading.id)
            )
        ).all()
        answer = sorted(
            (_reading_row(row) for row in rows),
            key=lambda r: meter.registers.index(r.register),
        )
        # The mail says what the answer says: built from the same rows.
        await mails.queue_self_reading_confirmation(
            session,
            confirmation=mails.SelfReadingConfirmation(
                reading_key=f"{site_id}:{stored[0].id}",
                full_name=caller.full_name,
                recipients=recipients,
                point_number=site.point_number,
                site_label=_site_label(site),
                address=f"{site.street}, {site.postcode} {site.city}",
                meter_serial=meter.serial,
                read_on=read_on,
                received_at=now,
                indexes=[
                    mails.SelfReadingIndex(
                        register=REGISTER_LABELS[r.register],
                        index=r.index,
                        consumption=r.consumption,
                        unit=r.index_unit,
                        consumption_kwh=r.consumption_kwh,
                        since=r.consumption_since,
                    )
                    for r in answer
                ],
                counts_in_next_billing_cycle=counts,
                cutoff_day=policy.billing_cutoff_day,
                customer_service=await contacts.for_site(session, settings, site_id),
            ),
        )
    return SelfReadingResult(readings=answer, counts_in_next_billing_cycle=counts)
