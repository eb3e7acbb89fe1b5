"""Per-request DataLoaders for the odd single relation, always inside the caller's perimeter.

Named `<Model>By<Key>Loader` in spirit: `ctx.loaders` holds one loader per node kind, keyed by
id, returning rows in key order (None outside the perimeter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from api.resolvers import nodes

if TYPE_CHECKING:
    from api.context import Context


def node_by_id_loader(ctx: Context, kind: str) -> DataLoader[int, Any]:
    """The request's loader of `kind` rows by id (Group, Member, BillingAccount, Site, Meter)."""
    name = f"{kind}ByIdLoader"
    loader = ctx.loaders.get(name)
    if loader is None:

        async def load(ids: Sequence[int]) -> list[Any]:
            return await nodes.load_nodes(ctx.sessions, ctx.perimeter, kind, list(ids))

        loader = ctx.loaders[name] = DataLoader(load_fn=load)
    return loader


def meters_by_site_loader(ctx: Context) -> DataLoader[int, list[Any]]:
    """Every meter (current and past) of sites already known to be in the perimeter."""
    loader = ctx.loaders.get("MetersBySiteLoader")
    if loader is None:

        async def load(site_ids: Sequence[int]) -> list[list[Any]]:
            return await nodes.meters_of_sites(ctx.sessions, ctx.perimeter, list(site_ids))

        loader = ctx.loaders["MetersBySiteLoader"] = DataLoader(load_fn=load)
    return loader


def last_readings_by_site_loader(ctx: Context) -> DataLoader[int, list[Any]]:
    """The last actual index per register of each site's current meter."""
    loader = ctx.loaders.get("LastReadingsBySiteLoader")
    if loader is None:

        async def load(site_ids: Sequence[int]) -> list[list[Any]]:
            return await nodes.last_readings_of_sites(ctx.sessions, ctx.perimeter, list(site_ids))

        loader = ctx.loaders["LastReadingsBySiteLoader"] = DataLoader(load_fn=load)
    return loader
