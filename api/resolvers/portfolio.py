"""The parc: which sites match a filter inside the perimeter, and the rows a page shows.

`sites_matching` is the one way to turn a customer's filter into SQL: lists, summaries and
exports all start from it, so they always agree and always stay inside the perimeter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.cursors import encode_cursor
from db import prepared
from db.core import METERS, READINGS, SITES
from db.models import Alert, BillingAccount, Member, Meter, Site
from db.prepared import Stand
from db.scoped import Perimeter, site_in
from domain.enums import (
    AlertStatus,
    Distributor,
    Energy,
    MeterKind,
    ReadingSource,
    Register,
    Segment,
    SelfReadingStatus,
    SiteStatus,
)
from domain.errors import ErrorCode, Refusal
from domain.search import search_words


@dataclass(frozen=True, slots=True)
class SiteCriteria:
    """A customer's filter on the parc; empty tuples mean "any"."""

    text: str | None = None
    energies: tuple[Energy, ...] = ()
    segments: tuple[Segment, ...] = ()
    statuses: tuple[SiteStatus, ...] = ()
    member_ids: tuple[int, ...] = ()
    billing_account_ids: tuple[int, ...] = ()
    distributors: tuple[Distributor, ...] = ()
    meter_kinds: tuple[MeterKind, ...] = ()
    communicating: bool | None = None
    with_open_alerts: bool | None = None


def _current_meters() -> Any:
    return select(Meter.site_id).where(col(Meter.removed_on).is_(None))


def site_conditions(
    perimeter: Perimeter, criteria: SiteCriteria, *, words: Sequence[str] | None = None
) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses: the perimeter first, then each criterion (`words`: the text's
    search words when already split, as `standing_criteria` does)."""
    where: list[sa.ColumnElement[bool]] = [site_in(perimeter)]
    for word in search_words(criteria.text or "") if words is None else words:
        where.append(col(Site.search_text).like(f"%{word}%"))
    exact: tuple[tuple[Any, Sequence[Any]], ...] = (
        (col(Site.energy), criteria.energies),
        (col(Site.segment), criteria.segments),
        (col(Site.status), criteria.statuses),
        (col(Site.member_id), criteria.member_ids),
        (col(Site.billing_account_id), criteria.billing_account_ids),
        (col(Site.distributor), criteria.distributors),
    )
    for column, values in exact:
        if values:
            where.append(column.in_(sorted(set(values))))
    meters = _current_meters()
    if criteria.meter_kinds:
        where.append(
            col(Site.id).in_(meters.where(col(Meter.kind).in_(sorted(set(criteria.meter_kinds)))))
        )
    if criteria.communicating is not None:
        where.append(
            col(Site.id).in_(meters.where(col(Meter.is_communicating) == criteria.communicating))
        )
    if criteria.with_open_alerts is not None:
        open_alerts = select(Alert.site_id).where(Alert.status != AlertStatus.RESOLVED)
        has_open = col(Site.id).in_(open_alerts)
        where.append(has_open if criteria.with_open_alerts else sa.not_(has_open))
    return where


def standing_criteria(stand: Stand, criteria: SiteCriteria) -> tuple[SiteCriteria, list[str]]:
    """The criteria with stand-ins for their ids and words (db/prepared.py), and the words."""
    words = [stand.value(word) for word in search_words(criteria.text or "")]
    return (
        SiteCriteria(
            energies=stand.fixed(tuple(sorted(set(criteria.energies)))),
            segments=stand.fixed(tuple(sorted(set(criteria.segments)))),
            statuses=stand.fixed(tuple(sorted(set(criteria.statuses)))),
            member_ids=tuple(stand.ids(criteria.member_ids)),
            billing_account_ids=tuple(stand.ids(criteria.billing_account_ids)),
            distributors=stand.fixed(tuple(sorted(set(criteria.distributors)))),
            meter_kinds=stand.fixed(tuple(sorted(set(criteria.meter_kinds)))),
            communicating=stand.fixed(criteria.communicating),
            with_open_alerts=stand.fixed(criteria.with_open_alerts),
        ),
        words,
    )


def sites_matching(perimeter: Perimeter, criteria: SiteCriteria, *columns: Any) -> Any:
    """`SELECT columns FROM sites WHERE <perimeter and criteria>` (Site objects by default)."""
    return select(*(columns or (Site,))).where(*site_conditions(perimeter, criteria))


class SiteOrder(StrEnum):
    POINT_NUMBER = "POINT_NUMBER"
    LEGAL_NAME = "LEGAL_NAME"
    CITY = "CITY"
    POSTCODE = "POSTCODE"
    INTERNAL_CODE = "INTERNAL_CODE"
    SEGMENT = "SEGMENT"
    CAR_DESC = "CAR_DESC"
    SUPPLY_START_DESC = "SUPPLY_START_DESC"


# The sort key of each ordering (ties broken by id, in the same direction), and whether it
# descends. Nullable columns are coalesced so that keyset comparisons stay total.
ORDER_KEYS: dict[SiteOrder, tuple[Any, bool]] = {
    SiteOrder.POINT_NUMBER: (Site.point_number, False),
    SiteOrder.LEGAL_NAME: (Member.legal_name, False),
    SiteOrder.CITY: (Site.city, False),
    SiteOrder.POSTCODE: (Site.postcode, False),
    SiteOrder.INTERNAL_CODE: (sa.func.coalesce(Site.internal_code, ""), False),
    SiteOrder.SEGMENT: (Site.segment, False),
    SiteOrder.CAR_DESC: (Site.car_kwh, True),
    SiteOrder.SUPPLY_START_DESC: (Site.supply_start, True),
}


# -- pages of sites, with their single relations loaded in the same statement --------------

ACTUAL_SOURCES = (
    ReadingSource.DISTRIBUTOR_ACTUAL,
    ReadingSource.SELF_READING,
    ReadingSource.SPECIAL,
)


def labelled(model: Any, prefix: str) -> list[Any]:
    """Every column of a table, labelled `<prefix><name>` so rows of a join stay flat."""
    table = model.__table__
    return [column.label(f"{prefix}{column.name}") for column in table.columns]


SITE_COLUMNS = labelled(Site, "")
MEMBER_COLUMNS = labelled(Member, "member__")
ACCOUNT_COLUMNS = labelled(BillingAccount, "account__")
METER_COLUMNS = labelled(Meter, "meter__")
PAGE_COLUMNS = [*SITE_COLUMNS, *MEMBER_COLUMNS, *ACCOUNT_COLUMNS, *METER_COLUMNS]
# What a page's cursors read (`_sort_value`), whichever columns it shows.
CURSOR_COLUMNS = (
    "id",
    "point_number",
    "member__legal_name",
    "city",
    "postcode",
    "internal_code",
    "segment",
    "car_kwh",
    "supply_start",
)


@dataclass(frozen=True, slots=True)
class RegisterIndexRow:
    site_id: int
    meter_id: int
    register: Register
    index: int
    read_on: date
    source: ReadingSource


@dataclass(frozen=True, slots=True)
class SitePage:
    rows: list[Any]  # flat rows: site columns, then member__*, account__*, meter__*
    total_count: int
    has_next_page: bool
    cursors: list[str]
    last_readings: dict[int, list[RegisterIndexRow]]


def _keyset_values(order: SiteOrder, cursor: list[Any] | None) -> tuple[Any, int] | None:
    """The cursor's sort value and last id, checked (a bad cursor is refused)."""
    if cursor is None:
        return None
    key, _ = ORDER_KEYS[order]
    try:
        value, last_id = cursor
        if order is SiteOrder.SUPPLY_START_DESC:
            value = date.fromisoformat(value)
        last_id = int(last_id)
    except (TypeError, ValueError):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after") from None
    if isinstance(key.type, sa.Enum) and value not in key.type.enums:
        # A cursor of another ordering: an enum column cannot bind it (a masked bug before).
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    if not isinstance(value, str | int | date | None) or isinstance(value, bool):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    return value, last_id


def _keyset(order: SiteOrder, values: tuple[Any, int] | None) -> sa.ColumnElement[bool] | None:
    if values is None:
        return None
    key, descending = ORDER_KEYS[order]
    value, last_id = values
    # Typed literals: PostgreSQL compares a date with a date, not with a string.
    bound = sa.tuple_(sa.literal(value, key.type), sa.literal(last_id, SITES.c.id.type))
    key_tuple = sa.tuple_(key, Site.id)
    return key_tuple < bound if descending else key_tuple > bound


def _sort_value(order: SiteOrder, row: Any) -> Any:
    match order:
        case SiteOrder.LEGAL_NAME:
            return row.member__legal_name
        case SiteOrder.INTERNAL_CODE:
            return row.internal_code or ""
        case SiteOrder.CAR_DESC:
            return row.car_kwh
        case SiteOrder.SUPPLY_START_DESC:
            return row.supply_start.isoformat()
        case _:
            return getattr(row, ORDER_KEYS[order][0].key)


async def list_sites(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    criteria: SiteCriteria,
    order: SiteOrder,
    first: int,
    after: list[Any] | None,
    with_last_readings: bool,
    columns: Sequence[str] | None = None,
) -> SitePage:
    """A keyset page: one statement for the count, one for the page with member, billing
    account and current meter joined, and one for the last readings when asked — whatever
    the page size."""
    keyset = _keyset_values(order, after)
    # Built once per shape from stand-ins, run with this request's values (db/prepared.py).
    stand = Stand()
    scope = stand.perimeter(perimeter)
    standing, words = standing_criteria(stand, criteria)
    keyset_stand = (stand.value(keyset[0]), stand.value(keyset[1])) if keyset is not None else None
    shape = ("sites.page", order, first, None if columns is None else tuple(columns))
    # The page's columns: all of them, or those named with what the cursors and the levels
    # need (the id and every ordering's key).
    selected = PAGE_COLUMNS
    if columns is not None:
        wanted = {*columns, *CURSOR_COLUMNS}
        selected = [c for c in PAGE_COLUMNS if c.key in wanted]

    def page_statement() -> Any:
        key, descending = ORDER_KEYS[order]
        direction = sa.desc if descending else sa.asc
        page = (
            select(*selected)
            .select_from(Site)
            .join(Member, col(Member.id) == Site.member_id)
            .join(BillingAccount, col(BillingAccount.id) == Site.billing_account_id)
            .outerjoin(
                Meter, sa.and_(col(Meter.site_id) == Site.id, col(Meter.removed_on).is_(None))
            )
            .where(*site_conditions(scope, standing, words=words))
        )
        clause = _keyset(order, keyset_stand)
        if clause is not None:
            page = page.where(clause)
        return page.order_by(direction(key), direction(col(Site.id))).limit(first + 1)

    count_stand = Stand()
    count_scope = count_stand.perimeter(perimeter)
    count_standing, count_words = standing_criteria(count_stand, criteria)

    def count_statement() -> Any:
        return select(sa.func.count()).select_from(
            select(col(Site.id))
            .join(Member, col(Member.id) == Site.member_id)
            .where(*site_conditions(count_scope, count_standing, words=count_words))
            .subquery()
        )

    async with sessions() as session:
        # Core rows (no ORM layer: STYLE.md), read by their labels.
        total = (
            await prepared.run(session, "sites.count", count_statement, count_stand)
        ).scalar_one()
        rows = list((await prepared.run(session, shape, page_statement, stand)).all())
        shown = rows[:first]
        readings = (
            await last_actual_readings(session, [r.id for r in shown])
            if with_last_readings and shown
            else {}
        )
    return SitePage(
        rows=shown,
        total_count=total,
        has_next_page=len(rows) > first,
        cursors=[encode_cursor(_sort_value(order, r), r.id) for r in shown],
        last_readings=readings,
    )


async def last_actual_readings(
    session: AsyncSession, site_ids: list[int]
) -> dict[int, list[RegisterIndexRow]]:
    """The last actual index of each register of each site's current meter, in one query."""
    stand = Stand()
    sites = stand.ids(site_ids)

    def statement() -> Any:
        r = READINGS.c
        ranked = (
            sa.select(
                r.site_id,
                r.meter_id,
                r.register_code,
                r.index_value,
                r.read_on,
                r.source,
                sa.func.row_number()
                .over(
                    partition_by=(r.site_id, r.register_code),
                    order_by=(r.read_on.desc(), r.id.desc()),
                )
                .label("rank"),
            )
            .join(METERS, sa.and_(METERS.c.id == r.meter_id, METERS.c.removed_on.is_(None)))
            .where(
                r.site_id.in_(sorted(sites)),
                r.source.in_(ACTUAL_SOURCES),
                sa.or_(
                    r.self_reading_status.is_(None),
                    r.self_reading_status != SelfReadingStatus.REJECTED,
                ),
            )
            .subquery()
        )
        return (
            sa.select(ranked)
            .where(ranked.c.rank == 1)
            .order_by(ranked.c.site_id, ranked.c.register_code)
        )

    rows = (await prepared.run(session, "sites.last_readings", statement, stand)).all()
    found: dict[int, list[RegisterIndexRow]] = defaultdict(list)
    for row in rows:
        found[row.site_id].append(
            RegisterIndexRow(
                site_id=row.site_id,
                meter_id=row.meter_id,
                register=Register(row.register_code),
                index=row.index_value,
                read_on=row.read_on,
                source=ReadingSource(row.source),
            )
        )
    return found


async def site_by_point_number(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    point_number: str,
    energy: Energy | None,
) -> Site | None:
    query = select(Site).where(
        *site_conditions(perimeter, SiteCriteria(energies=(energy,) if energy else ())),
        Site.point_number == "".join(point_number.split()),
    )
    async with sessions() as session:
        return (await session.exec(query.order_by(Site.energy))).first()


@dataclass(frozen=True, slots=True)
class SiteSheet:
    """A technical sheet's rows: the site with its member, billing account and every meter
    (one flat row per meter, newest first; one row with null meter__* columns when it has
    none), and the last actual index of each register when asked."""

    rows: list[Any]
    last_readings: list[RegisterIndexRow] | None


async def technical_sheet(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    point_number: str,
    energy: Energy | None,
    with_last_readings: bool,
    columns: Sequence[str] | None = None,
) -> SiteSheet | None:
    """`site_by_point_number` with the sheet's relations: two statements in all (the site
    joined to member, billing account and meters; the last readings), on one session.
    `columns`: the row's columns to read (all by default; the compiled path names those its
    selection reads)."""
    stand = Stand()
    scope = stand.perimeter(perimeter)
    energies = stand.fixed((energy,) if energy else ())
    point = stand.value("".join(point_number.split()))
    selected = PAGE_COLUMNS
    if columns is not None:
        # The site's id and each meter's, and what tells the current meter, whatever is shown.
        wanted = {*columns, "id", "meter__id", "meter__removed_on"}
        selected = [c for c in PAGE_COLUMNS if c.key in wanted]
    shape = ("sites.sheet", None if columns is None else tuple(columns))

    def statement() -> Any:
        target = (
            select(Site.id)
            .where(
                *site_conditions(scope, SiteCriteria(energies=energies)),
                Site.point_number == point,
            )
            .order_by(Site.energy)
            .limit(1)
            .scalar_subquery()
        )
        return (
            select(*selected)
            .select_from(Site)
            .join(Member, col(Member.id) == Site.member_id)
            .join(BillingAccount, col(BillingAccount.id) == Site.billing_account_id)
            .outerjoin(Meter, col(Meter.site_id) == Site.id)
            .where(Site.id == target)
            .order_by(col(Meter.installed_on).desc(), col(Meter.id).desc())
        )

    async with sessions() as session:
        rows = list((await prepared.run(session, shape, statement, stand)).all())
        if not rows:
            return None
        readings = (
            (await last_actual_readings(session, [rows[0].id])).get(rows[0].id, [])
            if with_last_readings
            else None
        )
    return SiteSheet(rows=rows, last_readings=readings)
