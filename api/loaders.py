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
