"""Keyset pages of Core rows, shared by the lists that sort on one column then the id (alerts,
technical and self-care requests): the `WHERE (sort, id) after the cursor`, the `ORDER BY …
LIMIT first + 1`, the page and its count in one session, and rows fetched by id in the order
asked. The scoped statement comes from the caller (db/scoped.py), never from here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import core, core_rows


@dataclass(frozen=True, slots=True)
class RowPage:
    rows: list[Any]
    cursors: list[list[Any]]
    total_count: int | None
    has_next_page: bool


EMPTY_PAGE = RowPage([], [], 0, False)


def keyset_page(
    statement: Any,
    column: Any,
    id_column: Any,
    *,
    descending: bool,
    first: int,
    after: tuple[Any, int] | None,
) -> Any:
    """The statement limited to the rows after the cursor `(value, id)`, ordered, first + 1."""
    if after is not None:
        value, last_id = after
        if descending:
            statement = statement.where(
                sa.or_(column < value, sa.and_(column == value, id_column < last_id))
            )
        else:
            statement = statement.where(
                sa.or_(column > value, sa.and_(column == value, id_column > last_id))
            )
    ordering = (column.desc(), id_column.desc()) if descending else (column, id_column)
    return statement.order_by(*ordering).limit(first + 1)


async def fetch_page(
    sessions: async_sessionmaker[AsyncSession],
    page: Any,
    count: Any | None,
    *,
    first: int,
    cursor_of: Callable[[Any], list[Any]],
) -> RowPage:
    """Runs a `keyset_page` statement (and the count when asked) in one session."""
    async with sessions() as session:
        rows = await core_rows(session, page)
        total = (await core(session, count)).scalar_one() if count is not None else None
    shown = rows[:first]
    return RowPage(shown, [cursor_of(r) for r in shown], total, len(rows) > first)


async def rows_by_id(
    sessions: async_sessionmaker[AsyncSession],
    statement: Any,
    id_column: Any,
    ids: Sequence[int | None],
) -> list[Any | None]:
    """The statement's rows for these ids, in their order (None where a row is missing: unknown,
    or outside the perimeter the statement was scoped to)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return [None] * len(ids)
    async with sessions() as session:
        rows = await core_rows(session, statement.where(id_column.in_(wanted)))
    found = {r.id: r for r in rows}
    return [found.get(i) if i is not None else None for i in ids]
