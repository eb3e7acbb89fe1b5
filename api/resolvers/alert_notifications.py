"""Alert notifications: people's preferences, the immediate mails and the daily digests.

Who is told is decided when the mail is built, never earlier: each run loads the people who
hold a live customer grant now, computes each one's perimeter from those grants
(`auth.caller.perimeter_for`, as a request would) and reads the alerts through
`db.scoped.scoped_alerts`, so a site that left a person's perimeter between detection and
sending is simply not in their rows.

"Never the same alert twice" is the `alert_notifications` ledger: a mail is queued only in the
transaction that inserted its (person, alert) rows, with ON CONFLICT DO NOTHING, and its outbox
key is per person and alert (or per person and day for a digest). Two runs at once, or a run
repeated, queue nothing more.

- `send_alert_notifications` (after each detection run): the alerts not yet notified
  (`alerts.notified_at` empty) go, one mail each, to the people whose delivery for that kind is
  IMMEDIATE; then the alerts are marked notified.
- `send_alert_digests` (`comptoir send-alert-digests`, daily): to each person whose delivery
  is DAILY_DIGEST for some kind, one mail listing the unresolved alerts of those kinds opened
  in their perimeter since their previous digest (the last day for a first one). The
  (person, Paris day) row of `alert_digests` makes a second run of the day a no-op.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.writable import require_writing_credential
from auth.caller import Caller, perimeter_for, scope_of
from auth.grants import load_grants
from auth.unsubscribe_tokens import sign_unsubscribe
from comptoir.settings import Settings
from db.alert_preferences import chosen_deliveries, set_deliveries
from db.core import core, table_of
from db.engine import transaction
from db.models import AccessGrant, Alert, AlertDigest, AlertNotification, Member, Site, User
from db.scoped import Perimeter, scoped_alerts
from domain.alert_notifications import (
    AlertDelivery,
    default_delivery,
    effective_deliveries,
)
from domain.calendar import paris_date
from domain.enums import AlertKind, AlertStatus, Tier, UserStatus
from domain.errors import ErrorCode, Refusal
from domain.labels import ALERT_KIND_LABELS
from mailers import contacts, mails

ALERTS = table_of(Alert)
LEDGER = table_of(AlertNotification)
DIGESTS = table_of(AlertDigest)
CUSTOMER_TIERS = (Tier.ADMIN, Tier.USER, Tier.INFRA_USER, Tier.THIRD_PARTY)
BATCH_ALERTS = 500
# A first digest covers the last day: older alerts were there before the person subscribed.
FIRST_DIGEST_SPAN = timedelta(days=1)


# -- preferences ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectivePreference:
    kind: AlertKind
    delivery: AlertDelivery
    is_default: bool  # no stored choice: the default of the person's tiers


async def _tiers_of(session: AsyncSession, user_id: int) -> set[Tier]:
    """The tiers of a person's live grants: all of them, whatever credential is calling, so
    the defaults a person reads are the ones their mails follow."""
    grants = await load_grants(session, [user_id], include_suspended=False)
    return {grant.tier for grant in grants.get(user_id, [])}


async def _effective(session: AsyncSession, user_id: int) -> list[EffectivePreference]:
    tiers = await _tiers_of(session, user_id)
    chosen = (await chosen_deliveries(session, [user_id])).get(user_id, {})
    default = default_delivery(tiers)
    return [
        EffectivePreference(kind, chosen.get(kind, default), kind not in chosen)
        for kind in AlertKind
    ]


async def alert_preferences(
    sessions: async_sessionmaker[AsyncSession], caller: Caller
) -> list[EffectivePreference]:
    """The caller's delivery for every kind of alert, defaults included."""
    async with sessions() as session:
        return await _effective(session, caller.user_id)


async def update_alert_preferences(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    changes: Sequence[tuple[AlertKind, AlertDelivery]],
    now: datetime,
) -> list[EffectivePreference]:
    """Stores the caller's choices, all or none, and answers every kind's delivery."""
    require_writing_credential(caller)
    if not changes:
        raise Refusal(ErrorCode.REQUIRED, "Indiquez au moins une préférence.", field="preferences")
    if len(changes) > len(AlertKind):
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"{len(AlertKind)} préférences au plus : une par type d'alerte.",
            field="preferences",
        )
    wanted: dict[AlertKind, AlertDelivery] = {}
    for kind, delivery in changes:
        if kind in wanted:
            raise Refusal(
                ErrorCode.INVALID,
                f"Le type d'alerte « {ALERT_KIND_LABELS[kind]} » figure deux fois.",
                field="preferences",
            )
        wanted[kind] = delivery
    async with transaction(sessions) as session:
        await set_deliveries(session, caller.user_id, wanted, now=now)
        return await _effective(session, caller.user_id)


# -- who is told ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    email: str
    full_name: str
    perimeter: Perimeter
    deliveries: dict[AlertKind, AlertDelivery]

    def kinds(self, delivery: AlertDelivery) -> list[AlertKind]:
        return [kind for kind, chosen in self.deliveries.items() if chosen is delivery]


async def recipients(session: AsyncSession, delivery: AlertDelivery) -> list[Recipient]:
    """The active people with a live customer grant and at least one kind delivered so, each
    with the perimeter of their grants as they stand now (three statements in all)."""
    live_customer_grant = sa.select(AccessGrant.user_id).where(  # type: ignore[call-overload]
        AccessGrant.revoked_at.is_(None),  # type: ignore[union-attr]
        AccessGrant.suspended_at.is_(None),  # type: ignore[union-attr]
        AccessGrant.tier.in_(CUSTOMER_TIERS),  # type: ignore[attr-defined]
    )
    people = (
        await core(
            session,
            sa.select(User.id, User.email, User.full_name)  # type: ignore[call-overload]
            .where(User.status == UserStatus.ACTIVE, User.id.in_(live_customer_grant))  # type: ignore[union-attr]
            .order_by(User.id),
        )
    ).all()
    ids = [person.id for person in people]
    grants = await load_grants(session, ids, include_suspended=False)
    chosen = await chosen_deliveries(session, ids)
    found = []
    for person in people:
        scopes = [scope_of(row) for row in grants.get(person.id, [])]
        deliveries = effective_deliveries({s.tier for s in scopes}, chosen.get(person.id, {}))
        perimeter = perimeter_for(scopes)
        if delivery in deliveries.values() and not perimeter.is_empty:
            found.append(
                Recipient(person.id, person.email, person.full_name, perimeter, deliveries)
            )
    return found


def _alerts_of(recipient: Recipient, kinds: Sequence[AlertKind]) -> Any:
    """The recipient's alerts of these kinds, with their site: the perimeter in the SQL."""
    return (
        scoped_alerts(
            recipient.perimeter,
            Alert.id,
            Alert.kind,
            Alert.message,
            Alert.detected_on,
            Alert.created_at,
            Site.point_number,
            Site.designation,
            Site.internal_code,
            Site.street,
            Site.postcode,
            Site.city,
            Member.group_id,
        )
        .join(Site, Site.id == Alert.site_id)
        .join(Member, Member.id == Site.member_id)
        .where(Alert.kind.in_(kinds))  # type: ignore[attr-defined]
    )


def alert_global_id(alert_id: int) -> str:
    """The alert's Relay global ID, as the API gives it (base64 of "Alert:<id>"): the customer
    space opens `/alertes/<id>` with it."""
    return base64.b64encode(f"Alert:{alert_id}".encode()).decode()


def _item(settings: Settings, row: Any) -> mails.AlertItem:
    base = settings.customer_space_url.rstrip("/")
    return mails.AlertItem(
        alert_id=row.id,
        kind_label=ALERT_KIND_LABELS[AlertKind(row.kind)],
        message=row.message,
        detected_on=row.detected_on,
        point_number=row.point_number,
        site_label=row.designation or row.internal_code or f"{row.street}, {row.city}",
        address=f"{row.street}, {row.postcode} {row.city}",
        url=f"{base}/alertes/{urllib.parse.quote(alert_global_id(row.id), safe='')}",
    )


def unsubscribe_link(settings: Settings, user_id: int, kinds: Sequence[AlertKind]) -> str:
    """The one-click link (an API route, answered without a session) for these kinds."""
    token = sign_unsubscribe(settings.secret_key.get_secret_value(), user_id, kinds)  # type: ignore[union-attr]
    return f"{settings.public_url.rstrip('/')}/alertes/desabonnement/{token}"


def _unsubscribe(settings: Settings, user_id: int, kinds: Sequence[AlertKind]) -> mails.Unsubscribe:
    label = " », « ".join(ALERT_KIND_LABELS[kind] for kind in sorted(set(kinds)))
    return mails.Unsubscribe(label=label, url=unsubscribe_link(settings, user_id, kinds))


async def _claim(
    session: AsyncSession,
    user_id: int,
    alert_ids: Sequence[int],
    delivery: AlertDelivery,
    *,
    now: datetime,
) -> set[int]:
    """Records these alerts as told to the person; answers those this call recorded (the
    others were told already, by another path or a concurrent run)."""
    if not alert_ids:
        return set()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LEDGER)
    claimed: set[int] = set()
    for start in range(0, len(alert_ids), BATCH_ALERTS):
        chunk = alert_ids[start : start + BATCH_ALERTS]
        statement = (
            insert.values(
                [
                    {"user_id": user_id, "alert_id": a, "delivery": delivery, "notified_at": now}
                    for a in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["user_id", "alert_id"])
            .returning(LEDGER.c.alert_id)
        )
        claimed.update((await core(session, statement)).scalars())
    return claimed


# -- immediate mails ------------------------------------------------------------------------------


@dataclass
class NotificationReport:
    alerts: int = 0  # alerts examined (not yet notified)
    mails: int = 0  # mails queued
    digests: int = 0  # people whose digest of the day was handled by this run
    recipients: set[int] = field(default_factory=set)

    def summary(self) -> str:
        return (
            f"{self.alerts} alerte(s) examinée(s), {self.mails} mail(s) mis en file pour "
            f"{len(self.recipients)} personne(s)."
        )


async def send_alert_notifications(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    batch_size: int = BATCH_ALERTS,
) -> NotificationReport:
    """Queues one mail per new alert for each person whose delivery of its kind is
    IMMEDIATE and whose perimeter holds its site, then marks the alerts notified. Batch by
    batch, each in one transaction."""
    report = NotificationReport()
    after = 0
    people: list[Recipient] | None = None
    while True:
        async with transaction(sessions) as session:
            pending = list(
                (
                    await core(
                        session,
                        sa.select(ALERTS.c.id)
                        .where(ALERTS.c.notified_at.is_(None), ALERTS.c.id > after)
                        .order_by(ALERTS.c.id)
                        .limit(batch_size),
                    )
                ).scalars()
            )
            if not pending:
                break
            after = pending[-1]
            report.alerts += len(pending)
            if people is None:
                people = await recipients(session, AlertDelivery.IMMEDIATE)
            await _immediate_batch(session, settings, people, pending, now=now, report=report)
            # Marked in the same transaction: a crash leaves both undone, and the ledger
            # keeps the re-run from telling anybody twice.
            await core(
                session,
                sa.update(ALERTS)
                .where(ALERTS.c.id.in_(pending), ALERTS.c.notified_at.is_(None))
                .values(notified_at=now),
            )
    return report


async def _immediate_batch(
    session: AsyncSession,
    settings: Settings,
    people: Sequence[Recipient],
    pending: Sequence[int],
    *,
    now: datetime,
    report: NotificationReport,
) -> None:
    told: list[tuple[Recipient, Any]] = []
    for person in people:
        statement = _alerts_of(person, person.kinds(AlertDelivery.IMMEDIATE)).where(
            Alert.id.in_(pending),  # type: ignore[union-attr]
            Alert.status == AlertStatus.OPEN,  # resolved or acknowledged meanwhile: no news
        )
        rows = (await core(session, statement.order_by(Alert.id))).all()
        claimed = await _claim(
            session, person.user_id, [r.id for r in rows], AlertDelivery.IMMEDIATE, now=now
        )
        told.extend((person, row) for row in rows if row.id in claimed)
    services = await contacts.for_groups(session, settings, [row.group_id for _, row in told])
    for person, row in told:
        kind = AlertKind(row.kind)
        queued = await mails.queue_alert(
            session,
            user_id=person.user_id,
            email=person.email,
            full_name=person.full_name,
            alert=_item(settings, row),
            unsubscribe=_unsubscribe(settings, person.user_id, [kind]),
            customer_service=services[row.group_id],
            now=now,
        )
        if queued:
            report.mails += 1
            report.recipients.add(person.user_id)


# -- daily digests --------------------------------------------------------------------------------


async def send_alert_digests(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, now: datetime
) -> NotificationReport:
    """Queues today's digest (Paris day of `now`) of each person who takes one, one person per
    transaction. A person already served today, by this run or a concurrent one, is skipped."""
    report = NotificationReport()
    day = paris_date(now)
    async with sessions() as session:
        people = await recipients(session, AlertDelivery.DAILY_DIGEST)
    for person in people:
        async with transaction(sessions) as session:
            await _digest_of(session, settings, person, day, now=now, report=report)
    return report


async def _digest_of(
    session: AsyncSession,
    settings: Settings,
    person: Recipient,
    day: date,
    *,
    now: datetime,
    report: NotificationReport,
) -> None:
    previous = (
        await core(
            session,
            sa.select(sa.func.max(DIGESTS.c.covered_until)).where(
                DIGESTS.c.user_id == person.user_id
            ),
        )
    ).scalar()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DIGESTS)
    # The day's row first: a concurrent run inserting the same (person, day) waits on it
    # (PostgreSQL) or on the database lock (SQLite), then finds it and stops here.
    digest_id = (
        await core(
            session,
            insert.values(
                user_id=person.user_id, digest_day=day, covered_until=now, alerts=0, created_at=now
            )
            .on_conflict_do_nothing(index_elements=["user_id", "digest_day"])
            .returning(DIGESTS.c.id),
        )
    ).scalar()
    if digest_id is None:
        return
    report.digests += 1
    since = previous or now - FIRST_DIGEST_SPAN
    kinds = person.kinds(AlertDelivery.DAILY_DIGEST)
    statement = _alerts_of(person, kinds).where(
        Alert.created_at > since,
        Alert.created_at <= now,
        Alert.status != AlertStatus.RESOLVED,
    )
    rows = (await core(session, statement.order_by(Alert.created_at, Alert.id))).all()
    report.alerts += len(rows)
    claimed = await _claim(
        session, person.user_id, [r.id for r in rows], AlertDelivery.DAILY_DIGEST, now=now
    )
    fresh = [row for row in rows if row.id in claimed]
    if not fresh:
        return
    await core(
        session, sa.update(DIGESTS).where(DIGESTS.c.id == digest_id).values(alerts=len(fresh))
    )
    listed = fresh[: settings.alert_digest_max_items]
    told_kinds = sorted({AlertKind(row.kind) for row in fresh})
    queued = await mails.queue_alert_digest(
        session,
        user_id=person.user_id,
        email=person.email,
        full_name=person.full_name,
        day=day,
        alerts=[_item(settings, row) for row in listed],
        total=len(fresh),
        alerts_url=f"{settings.customer_space_url.rstrip('/')}/alertes",
        unsubscribe=_unsubscribe(settings, person.user_id, told_kinds),
        unsubscribe_each=[_unsubscribe(settings, person.user_id, [k]) for k in told_kinds],
        customer_service=await contacts.for_user(session, settings, person.user_id),
        now=now,
    )
    if queued:
        report.mails += 1
        report.recipients.add(person.user_id)
