"""Keeps `sites.search_text` up to date: every write that changes a searched field calls this."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import MEMBERS, SITES
from domain.search import site_search_text

BATCH = 2000

_SEARCHED = sa.select(
    SITES.c.id,
    SITES.c.point_number,
    SITES.c.internal_code,
    SITES.c.designation,
    SITES.c.other_reference,
    SITES.c.street,
    SITES.c.postcode,
    SITES.c.city,
    MEMBERS.c.legal_name,
).join(MEMBERS, MEMBERS.c.id == SITES.c.member_id)


async def refresh_site_search(
    connection: AsyncSession | AsyncConnection,
    *,
    site_ids: Sequence[int] | None = None,
    member_ids: Sequence[int] | None = None,
) -> int:
    """Recomputes the search text of the given sites (or of members' sites, or of all)."""
    query = _SEARCHED
    if site_ids is not None:
        query = query.where(SITES.c.id.in_(sorted(set(site_ids))))
    if member_ids is not None:
        query = query.where(SITES.c.member_id.in_(sorted(set(member_ids))))
    # A session (autoflush off) runs Core on its own connection, inside its transaction; the
    # bulk loaders hand a Core connection directly.
    run = await connection.connection() if isinstance(connection, AsyncSession) else connection
    rows = (await run.execute(query)).all()
    update = (
        sa.update(SITES)
        .where(SITES.c.id == sa.bindparam("site_id"))
        .values(search_text=sa.bindparam("text"))
    )
    values = [{"site_id": row[0], "text": site_search_text(row[1:])} for row in rows]
    for start in range(0, len(values), BATCH):
        await run.execute(update, values[start : start + BATCH])
    return len(values)
