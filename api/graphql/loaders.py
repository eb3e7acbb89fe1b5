"""Per-request DataLoaders for the odd single relation, always inside the caller's perimeter.

Named `<Model>By<Key>Loader`: `ctx.loaders` holds one loader per name for the request,
created on first use by `request_loader`, returning rows in key order (None outside the
perimeter).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from api.resolvers import nodes
from db.scoped import Perimeter


class LoaderContext(Protocol):
    """What a loader needs of the request context (api/context.py provides it)."""

    loaders: dict[str, Any]

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def perimeter(self) -> Perimeter: ...


def request_loader(
    ctx: LoaderContext, name: str, load: Callable[[Sequence[Any]], Awaitable[list[Any]]]
) -> DataLoader[Any, Any]:
    """The request's loader called `name`, created on first use: one batch per tick."""
    loader: DataLoader[Any, Any] | None = ctx.loaders.get(name)
    if loader is None:
        loader = ctx.loaders[name] = DataLoader(load_fn=load)
    return loader


def node_by_id_loader(ctx: LoaderContext, kind: str) -> DataLoader[int, Any]:
    """The request's loader of `kind` rows by id (Group, Member, BillingAccount, Site, Meter)."""

    async def load(ids: Sequence[int]) -> list[Any]:
        return await nodes.load_nodes(ctx.sessions, ctx.perimeter, kind, list(ids))

    return request_loader(ctx, f"{kind}ByIdLoader", load)


def meters_by_site_loader(ctx: LoaderContext) -> DataLoader[int, list[Any]]:
    """Every meter (current and past) of sites already known to be in the perimeter."""

    async def load(site_ids: Sequence[int]) -> list[list[Any]]:
        return await nodes.meters_of_sites(ctx.sessions, ctx.perimeter, list(site_ids))

    return request_loader(ctx, "MetersBySiteLoader", load)


def last_readings_by_site_loader(ctx: LoaderContext) -> DataLoader[int, list[Any]]:
    """The last actual index per register of each site's current meter."""

    async def load(site_ids: Sequence[int]) -> list[list[Any]]:
        return await nodes.last_readings_of_sites(ctx.sessions, ctx.perimeter, list(site_ids))

    return request_loader(ctx, "LastReadingsBySiteLoader", load)
