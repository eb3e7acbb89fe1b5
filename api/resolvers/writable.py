"""The one answer of a mutation about an object the caller names by ID.

- Outside the caller's read perimeter: NOT_FOUND, exactly as for an object that does not exist
  (no existence leak: the caller learns nothing they could not see).
- Inside the read perimeter but outside the perimeter the change needs (a read-only grant or
  API key; a third party editing references): FORBIDDEN, with a French message saying that the
  object may be read but not changed. The caller already sees the object (in lists, on its
  technical sheet, with its capability flags off), so "not found" would hide nothing and would
  only tell the front end something false about an object it is showing.

A read-only API key changes nothing at all: a mutation that writes (access management,
welcome packs) calls `require_writing_credential` first, whatever the ID named, so the answer
says nothing about the object either.

Every mutation on a customer object takes its object through a function of this module, so
self-readings, reference edits and what comes next answer alike in the same situation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.caller import Caller
from db.models import Site
from db.scoped import Perimeter, scoped_sites
from domain.errors import ErrorCode, Refusal, not_found

READ_ONLY_SITE = "Votre habilitation permet de consulter ce site, pas de le modifier."
READ_ONLY_KEY = "Cette clé d'API est en lecture seule : elle ne modifie rien."


def require_writing_credential(caller: Caller) -> None:
    """Refuses a read-only API key before anything is looked up."""
    if caller.read_only_key:
        raise Refusal(ErrorCode.FORBIDDEN, READ_ONLY_KEY, field=None)


async def object_to_change(
    session: AsyncSession,
    scoped: Callable[..., Any],
    key: Any,
    object_id: int,
    *,
    perimeter: Perimeter,
    write_perimeter: Perimeter,
    field: str,
    forbidden: str,
) -> Any:
    """The object of `scoped(write_perimeter)` whose `key` is `object_id`, locked for the
    change; else FORBIDDEN when `scoped(perimeter)` sees it, else NOT_FOUND."""
    found = (
        await session.exec(scoped(write_perimeter).where(key == object_id).with_for_update())
    ).first()
    if found is not None:
        return found
    seen = (await session.exec(scoped(perimeter, key).where(key == object_id))).first()
    if seen is None:
        raise not_found(field)
    raise Refusal(ErrorCode.FORBIDDEN, forbidden, field=field)


async def site_to_change(
    session: AsyncSession,
    site_id: int,
    *,
    perimeter: Perimeter,
    write_perimeter: Perimeter,
    forbidden: str = READ_ONLY_SITE,
    field: str = "siteId",
) -> Site:
    """A site the change may touch, locked (two changes of one site go one after the other)."""
    site: Site = await object_to_change(
        session,
        scoped_sites,
        Site.id,
        site_id,
        perimeter=perimeter,
        write_perimeter=write_perimeter,
        field=field,
        forbidden=forbidden,
    )
    return site
