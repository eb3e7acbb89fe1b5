"""Loading objects by id for the Relay `node` field, always inside the caller's perimeter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import BillingAccount, Group, Member, Meter, Site
from db.scoped import (
    Perimeter,
    scoped_billing_accounts,
    scoped_members,
    scoped_meters,
    scoped_sites,
)


def _scoped_groups(perimeter: Perimeter) -> Any:
    # A group is visible to whoever reaches at least one of its members.
    return select(Group).where(
        Group.id.in_(scoped_members(perimeter, Member.group_id))  # type: ignore[union-attr]
    )


_SCOPED: dict[str, tuple[Any, Callable[[Perimeter], Any]]] = {
    "Group": (Group, _scoped_groups),
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
