"""Loading objects by id for the Relay `node` field, always inside the caller's perimeter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.portfolio import last_actual_readings
from db.models import BillingAccount, Group, Member, Meter, Site
from db.scoped import (
    Perimeter,
    scoped_billing_accounts,
    scoped_groups,
    scoped_members,
    scoped_meters,
    scoped_sites,
)

_SCOPED: dict[str, tuple[Any, Callable[[Perimeter], Any]]] = {
    "Group": (Group, scoped_groups),
    "Member": (Member, scoped_members),
    "BillingAccount": (BillingAccount, scoped_billing_accounts),
    "Site": (Site, scoped_sites),
    "Meter": (Meter, scoped_meters),
}


async def load_nodes(
    sessions: async_sessionmaker[AsyncSession],
    perimeter: Perimeter,
    kind: str,
    ids: Sequence[int | None],
) -> list[Any | None]:
    """Rows in the order of `ids`; None for an id that is unknown or outside the perimeter."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted or perimeter.is_empty:
        return [None] * len(ids)
    model, scoped = _SCOPED[kind]
    statement = scoped(perimeter).where(model.id.in_(wanted))
    async with sessions() as session:
        found = {row.id: row for row in (await session.exec(statement)).all()}
    return [found.get(i) for i in ids]


async def meters_of_sites(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, site_ids: list[int]
) -> list[list[Any]]:
    """Meters per site in the order of `site_ids`, newest first, inside the perimeter."""
    async with sessions() as session:
        # The scoped selects are untyped (one builder for objects and for columns).
        rows: Sequence[Any] = (
            await session.exec(
                scoped_meters(perimeter)
                .where(col(Meter.site_id).in_(sorted(set(site_ids))))
                .order_by(col(Meter.installed_on).desc(), col(Meter.id).desc())
            )
        ).all()
    by_site: dict[int, list[Any]] = {i: [] for i in site_ids}
    for row in rows:
        by_site[row.site_id].append(row)
    return [by_site[i] for i in site_ids]


async def last_readings_of_sites(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, site_ids: list[int]
) -> list[list[Any]]:
    async with sessions() as session:
        visible: Sequence[Any] = (
            await session.exec(
                scoped_sites(perimeter, Site.id).where(col(Site.id).in_(sorted(set(site_ids))))
            )
        ).all()
        found = await last_actual_readings(session, list(visible))
    return [found.get(i, []) for i in site_ids]
