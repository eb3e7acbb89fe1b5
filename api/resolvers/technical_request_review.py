"""The coordinator's yearly review of technical requests as a file: the requests filed in a
year inside the caller's perimeter (the same scoped rows as the tracking list), summed by
`domain.technical_request_review`, written by the one export writer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.filter_scope import check_filter_scope
from api.resolvers.portfolio import SiteCriteria
from api.resolvers.technical_requests import TYPE_LABELS, TechnicalRequestQuery, request_rows
from db.core import core_rows
from db.scoped import Perimeter
from documents.tables import Column, ColumnKind, Table
from domain.calendar import paris_date
from domain.enums import TechnicalRequestStatus, TechnicalRequestType
from domain.errors import ErrorCode, Refusal
from domain.technical_request_review import FiledRequest, ReviewLine, yearly_review
from domain.technical_request_workflow import STATUS_LABELS

FIRST_YEAR = 2000
LAST_YEAR = 2100


def _columns() -> tuple[Column, ...]:
    count = ColumnKind.INTEGER
    return (
        Column("Membre", ColumnKind.TEXT, 36),
        Column("Type de demande", ColumnKind.LABEL, 36, TYPE_LABELS),
        Column("Demandes", count),
        *(Column(STATUS_LABELS[status], count) for status in TechnicalRequestStatus),
        Column("Délai médian (jours ouvrés)", ColumnKind.DECIMAL),
    )


def _cells(line: ReviewLine) -> tuple[Any, ...]:
    lead = line.median_lead_working_days
    return (
        line.member_legal_name,
        line.request_type,
        line.count,
        *(line.by_status[status] for status in TechnicalRequestStatus),
        Decimal(str(lead)) if lead is not None else None,
    )


def _filed(row: Any) -> FiledRequest:
    done = (row.details or {}).get("done_on")
    return FiledRequest(
        member_legal_name=row.member_legal_name,
        request_type=TechnicalRequestType(row.request_type),
        status=TechnicalRequestStatus(row.status),
        submitted_on=paris_date(row.submitted_at),
        done_on=date.fromisoformat(done) if done else None,
    )


async def yearly_review_table(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    *,
    year: int,
    member_ids: Sequence[int] | None = None,
) -> Table:
    """The year's requests (filed between 1 January and 31 December, Paris days) per member and
    type, then per type over all members. A member outside the perimeter is NOT_FOUND, as in
    every export."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Refusal(
            ErrorCode.INVALID,
            f"Année invalide : de {FIRST_YEAR} à {LAST_YEAR}.",
            field="year",
        )
    async with sessions() as session:
        await check_filter_scope(
            session, perimeter, SiteCriteria(member_ids=tuple(member_ids or ()))
        )
    query = TechnicalRequestQuery(
        member_ids=tuple(member_ids) if member_ids else None,
        submitted_from=date(year, 1, 1),
        submitted_to=date(year, 12, 31),
    )

    async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
        if perimeter.is_empty:
            return
        async with sessions() as session:
            rows = await core_rows(session, request_rows(perimeter, query))
        yield [_cells(line) for line in yearly_review(_filed(r) for r in rows)]

    return Table(f"bilan-demandes-techniques-{year}", f"Bilan {year}", _columns(), chunks())
