"""Alerts as people see and handle them: the list (keyset pages), one alert, the counts of the
home page, a site's unresolved alerts, and the two things a person does to an alert
(acknowledge it, resolve it with a comment).

Every statement starts from `db.scoped.scoped_alerts`, so an alert outside the perimeter is
exactly a missing one. An alert row comes with its site (prefixed `site__`) and the names of
the people who acknowledged or resolved it, joined in the same statement: a page of any size
is one statement, plus one for the count when it is asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.export_files import streamed_rows
from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.keyset_pages import EMPTY_PAGE, RowPage, fetch_page, keyset_page, rows_by_id
from api.resolvers.portfolio import SiteCriteria
from api.resolvers.writable import object_to_change
from auth.caller import Caller
from db import audit
from db.core import MEMBERS, SITES, core, core_rows, table_of
from db.engine import transaction
from db.models import Alert, User
from db.scoped import Perimeter, scoped_alerts
from documents.tables import Column, ColumnKind, Table
from domain.alert_workflow import check_acknowledge, check_resolve, clean_comment
from domain.enums import AlertKind, AlertStatus, Energy
from domain.errors import ErrorCode, Refusal
from domain.labels import ALERT_KIND_LABELS, ALERT_STATUS_LABELS, ENERGY_LABELS

ALERTS = table_of(Alert)
_ACKNOWLEDGER = table_of(User).alias("acknowledger")
_RESOLVER = table_of(User).alias("resolver")

# An alert row: the alert, its site's columns prefixed `site__`, and who handled it.
ROW_COLUMNS = (
    *ALERTS.c,
    *(column.label(f"site__{column.key}") for column in SITES.c),
    _ACKNOWLEDGER.c.full_name.label("acknowledged_by_name"),
    _RESOLVER.c.full_name.label("resolved_by_name"),
)

UNRESOLVED = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)
# The acknowledgement's comment: `alerts.comment` holds the resolution's (see the history).
ACKNOWLEDGEMENT_COMMENT = "acknowledgement_comment"
READ_ONLY_ALERT = "Votre habilitation permet de consulter cette alerte, pas de la traiter."


class AlertOrder(StrEnum):
    DETECTED_ON_DESC = "DETECTED_ON_DESC"
    DETECTED_ON_ASC = "DETECTED_ON_ASC"
    KIND = "KIND"


_ORDER_COLUMNS: dict[AlertOrder, tuple[Any, bool]] = {
    AlertOrder.DETECTED_ON_DESC: (ALERTS.c.detected_on, True),
    AlertOrder.DETECTED_ON_ASC: (ALERTS.c.detected_on, False),
    AlertOrder.KIND: (ALERTS.c.kind, False),
}


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """The alert filter, as the list and the counts take it (None: no criterion)."""

    kinds: tuple[AlertKind, ...] = ()
    statuses: tuple[AlertStatus, ...] = ()
    site_id: int | None = None
    member_ids: tuple[int, ...] | None = None
    billing_account_ids: tuple[int, ...] | None = None
    energy: Energy | None = None
    detected_from: date | None = None
    detected_to: date | None = None


def _scoped(
    perimeter: Perimeter, query: AlertQuery, *columns: Any, with_people: bool = False
) -> Any:
    """The perimeter's alerts joined to their site, with the filter's criteria; `with_people`
    adds the people who acknowledged and resolved (outer joins: often nobody)."""
    joined = ALERTS.join(SITES, SITES.c.id == ALERTS.c.site_id)
    if with_people:
        joined = joined.outerjoin(
            _ACKNOWLEDGER, _ACKNOWLEDGER.c.id == ALERTS.c.acknowledged_by_user_id
        ).outerjoin(_RESOLVER, _RESOLVER.c.id == ALERTS.c.resolved_by_user_id)
    statement = scoped_alerts(perimeter, *columns).select_from(joined)
    if query.detected_from and query.detected_to and query.detected_to < query.detected_from:
        raise Refusal(
            ErrorCode.INVALID, "La fin de la période précède son début.", field="detectedTo"
        )
    where: list[Any] = []
    if query.kinds:
        where.append(ALERTS.c.kind.in_(sorted(k.value for k in query.kinds)))
    if query.statuses:
        where.append(ALERTS.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.site_id is not None:
        where.append(ALERTS.c.site_id == query.site_id)
    if query.member_ids is not None:
        where.append(SITES.c.member_id.in_(sorted(set(query.member_ids))))
    if query.billing_account_ids is not None:
        where.append(SITES.c.billing_account_id.in_(sorted(set(query.billing_account_ids))))
    if query.energy is not None:
        where.append(SITES.c.energy == query.energy.value)
    if query.detected_from is not None:
        where.append(ALERTS.c.detected_on >= query.detected_from)
    if query.detected_to is not None:
        where.append(ALERTS.c.detected_on <= query.detected_to)
    return statement.where(*where)


def alert_rows(perimeter: Perimeter, query: AlertQuery = AlertQuery()) -> Any:
    """`SELECT` of alert rows (ROW_COLUMNS) of the perimeter matching `query`."""
    return _scoped(perimeter, query, *ROW_COLUMNS, with_people=True)


def _cursor_value(order: AlertOrder, raw: Any) -> Any:
    try:
        if order is AlertOrder.KIND:
            return AlertKind(raw).value
        return date.fromisoformat(raw)
    except (ValueError, TypeError):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after") from None


async def list_alerts(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    query: AlertQuery,
    *,
    order: AlertOrder,
    first: int,
    after: list[Any] | None,
    with_count: bool,
) -> RowPage:
    column, descending = _ORDER_COLUMNS[order]
    cursor = None
    if after is not None:
        if len(after) != 2 or not isinstance(after[1], int) or isinstance(after[1], bool):
            raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
        cursor = (_cursor_value(order, after[0]), after[1])
    if perimeter.is_empty:
        return EMPTY_PAGE
    page = keyset_page(
        alert_rows(perimeter, query),
        column,
        ALERTS.c.id,
        descending=descending,
        first=first,
        after=cursor,
    )
    count = _scoped(perimeter, query, sa.func.count(ALERTS.c.id)) if with_count else None
    key = column.key
    return await fetch_page(
        sessions, page, count, first=first, cursor_of=lambda r: [_jsonable(getattr(r, key)), r.id]
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)


async def load_alerts(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, ids: Sequence[int | None]
) -> list[Any | None]:
    """Alert rows in the order of `ids` (None: unknown or outside the perimeter)."""
    if perimeter.is_empty:
        return [None] * len(ids)
    return await rows_by_id(sessions, alert_rows(perimeter), ALERTS.c.id, ids)


async def unresolved_alerts_of_sites(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, site_ids: Sequence[int]
) -> list[list[Any]]:
    """Each site's OPEN and ACKNOWLEDGED alerts, most recently detected first: one statement
    for every site asked."""
    wanted = sorted(set(site_ids))
    if not wanted or perimeter.is_empty:
        return [[] for _ in site_ids]
    statement = (
        alert_rows(perimeter, AlertQuery(statuses=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)))
        .where(ALERTS.c.site_id.in_(wanted))
        .order_by(ALERTS.c.detected_on.desc(), ALERTS.c.id.desc())
    )
    by_site: dict[int, list[Any]] = defaultdict(list)
    async with sessions() as session:
        for row in await core_rows(session, statement):
            by_site[row.site_id].append(row)
    return [by_site.get(i, []) for i in site_ids]


async def alert_counts(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, query: AlertQuery
) -> dict[tuple[AlertKind, AlertStatus], int]:
    """The number of alerts per kind and status (absent pairs: none)."""
    if perimeter.is_empty:
        return {}
    statement = _scoped(
        perimeter, query, ALERTS.c.kind, ALERTS.c.status, sa.func.count(ALERTS.c.id)
    ).group_by(ALERTS.c.kind, ALERTS.c.status)
    async with sessions() as session:
        rows = await core_rows(session, statement)
    return {(AlertKind(kind), AlertStatus(status)): n for kind, status, n in rows}


# -- what a person does to an alert ------------------------------------------------------------


async def _alert_to_handle(session: AsyncSession, caller: Caller, alert_id: int) -> Alert:
    """The alert, locked, when the caller may handle it; FORBIDDEN when they only see it,
    NOT_FOUND otherwise (api/resolvers/writable.py)."""
    alert: Alert = await object_to_change(
        session,
        scoped_alerts,
        Alert.id,
        alert_id,
        perimeter=caller.perimeter,
        write_perimeter=caller.write_perimeter,
        field="alertId",
        forbidden=READ_ONLY_ALERT,
    )
    return alert


async def _row_of(session: AsyncSession, caller: Caller, alert_id: int) -> Any:
    return (await core(session, alert_rows(caller.perimeter).where(ALERTS.c.id == alert_id))).one()


async def acknowledge_alert(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    alert_id: int,
    comment: str | None,
    now: datetime,
    client_address: str | None,
) -> Any:
    """OPEN → ACKNOWLEDGED, by the caller, with an optional comment. The alert's row."""
    cleaned = clean_comment(comment, required=False)
    async with transaction(sessions) as session:
        alert = await _alert_to_handle(session, caller, alert_id)
        check_acknowledge(AlertStatus(alert.status))
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_by_user_id = caller.user_id
        alert.acknowledged_at = now
        if cleaned is not None:
            alert.details = {**(alert.details or {}), ACKNOWLEDGEMENT_COMMENT: cleaned}
        session.add(alert)
        await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="alert.acknowledged",
            object_type="Alert",
            object_id=alert_id,
            now=now,
            client_address=client_address,
            details={"kind": alert.kind, "site_id": alert.site_id, "comment": cleaned},
        )
        return await _row_of(session, caller, alert_id)


async def resolve_alert(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    alert_id: int,
    comment: str,
    now: datetime,
    client_address: str | None,
) -> Any:
    """OPEN or ACKNOWLEDGED → RESOLVED, by the caller, who says what was done."""
    cleaned = clean_comment(comment, required=True)
    async with transaction(sessions) as session:
        alert = await _alert_to_handle(session, caller, alert_id)
        before = AlertStatus(alert.status)
        check_resolve(before)
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = now
        alert.resolved_by_user_id = caller.user_id
        alert.resolved_reason = None
        alert.comment = cleaned
        session.add(alert)
        await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="alert.resolved",
            object_type="Alert",
            object_id=alert_id,
            now=now,
            client_address=client_address,
            details={
                "kind": alert.kind,
                "site_id": alert.site_id,
                "before": before.value,
                "comment": cleaned,
            },
        )
        return await _row_of(session, caller, alert_id)


# -- the list as a file -----------------------------------------------------------------------


def _export_columns() -> tuple[Column, ...]:
    t, day, label, ident = ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.LABEL, ColumnKind.IDENTIFIER
    return (
        Column("Détectée le", day),
        Column("Type", label, 30, ALERT_KIND_LABELS),
        Column("État", label, 16, ALERT_STATUS_LABELS),
        Column("PRM / PCE", ident, 16),
        Column("Énergie", label, 13, ENERGY_LABELS),
        Column("Membre", t, 36),
        Column("Code interne", t, 20),
        Column("Désignation", t, 30),
        Column("Commune", t, 24),
        Column("Message", t, 60),
        Column("Prise en compte le", day),
        Column("Prise en compte par", t, 24),
        Column("Résolue le", day),
        Column("Résolue par", t, 24),
        Column("Raison ou commentaire de résolution", t, 50),
    )


def _export_row(r: Any) -> tuple[Any, ...]:
    resolver = r.resolved_by_name or ("Détection automatique" if r.resolved_at else None)
    return (
        r.detected_on,
        AlertKind(r.kind),
        AlertStatus(r.status),
        r.site__point_number,
        Energy(r.site__energy),
        r.member_legal_name,
        r.site__internal_code,
        r.site__designation,
        r.site__city,
        r.message,
        r.acknowledged_at.date() if r.acknowledged_at else None,
        r.acknowledged_by_name,
        r.resolved_at.date() if r.resolved_at else None,
        resolver,
        r.comment or r.resolved_reason,
    )


async def alerts_table(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, query: AlertQuery
) -> Table:
    """The filter's alerts as a table (newest first), for the one export writer: the same
    scoped statement as the list, with the member's legal name, streamed in batches. Like every
    export, a filter naming a site, member or billing account outside the perimeter is refused
    as NOT_FOUND (a file is a durable document: no empty file for a foreign ID)."""
    async with sessions() as session:
        await check_filter_scope(
            session,
            perimeter,
            SiteCriteria(
                member_ids=query.member_ids or (),
                billing_account_ids=query.billing_account_ids or (),
            ),
            site_id=query.site_id,
        )
    statement = (
        _scoped(
            perimeter,
            query,
            *ROW_COLUMNS,
            MEMBERS.c.legal_name.label("member_legal_name"),
            with_people=True,
        )
        .join(MEMBERS, MEMBERS.c.id == SITES.c.member_id)
        .order_by(ALERTS.c.detected_on.desc(), ALERTS.c.id.desc())
    )

    async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
        if perimeter.is_empty:
            return
        async for chunk in streamed_rows(sessions, statement, _export_row):
            yield chunk

    return Table("alertes", "Alertes", _export_columns(), chunks())
