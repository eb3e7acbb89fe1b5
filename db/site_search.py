"""Keeps `sites.search_text` up to date: every write that changes a searched field calls this."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Member, Site
from domain.search import site_search_text

BATCH = 2000

_SEARCHED = sa.select(
    Site.id,
    Site.point_number,
    Site.internal_code,
    Site.designation,
    Site.other_reference,
    Site.street,
    Site.postcode,
    Site.city,
    Member.legal_name,
).join(Member, Member.id == Site.member_id)  # type: ignore[arg-type]


async def refresh_site_search(
    connection: AsyncSession | AsyncConnection,
    *,
    site_ids: Sequence[int] | None = None,
    member_ids: Sequence[int] | None = None,
) -> int:
    """Recomputes the search text of the given sites (or of members' sites, or of all)."""
    query = _SEARCHED
    if site_ids is not None:
        query = query.where(Site.id.in_(sorted(set(site_ids))))  # type: ignore[union-attr]
    if member_ids is not None:
        query = query.where(Site.member_id.in_(sorted(set(member_ids))))  # type: ignore[attr-defined]
    # sqlmodel's session wants `exec`; a Core connection (bulk loaders) has `execute`.
    run = connection.exec if isinstance(connection, AsyncSession) else connection.execute
    rows = (await run(query)).all()  # type: ignore[operator]
    table = Site.__table__  # type: ignore[attr-defined]
    update = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("site_id"))
        .values(search_text=sa.bindparam("text"))
    )
    values = [{"site_id": row[0], "text": site_search_text(row[1:])} for row in rows]
    for start in range(0, len(values), BATCH):
        batch = values[start : start + BATCH]
        if isinstance(connection, AsyncSession):
            await connection.exec(update, params=batch)  # type: ignore[call-overload]
        else:
            await connection.execute(update, batch)
    return len(values)
