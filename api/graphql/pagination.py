"""Cursor connections: edges, page info and totalCount.

Page sizes and keyset cursors (base64 of the sort values of the last row seen) are the
resolvers' (`api/resolvers/cursors.py`): a page is a SQL `WHERE (sort) > (cursor) … LIMIT
first + 1`, never a slice of a Python list.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay

NodeType = TypeVar("NodeType")

# The arguments every list takes, described once.
First = Annotated[
    int | None,
    strawberry.argument(description="Taille de la page : 50 par défaut, de 1 à 100."),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Curseur (`endCursor` de la page précédente) après lequel reprendre ; "
        "absent pour la première page."
    ),
]


@strawberry.type(description="Un élément d'une liste paginée et son curseur.")
class Edge(Generic[NodeType]):
    cursor: str = strawberry.field(description="Curseur à passer en `after` pour la suite.")
    node: NodeType = strawberry.field(description="L'élément.")


@strawberry.type(description="Une page d'une liste, avec le nombre total d'éléments.")
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]] = strawberry.field(description="Les éléments de la page.")
    page_info: relay.PageInfo = strawberry.field(description="Où en est la pagination.")
    total_count: int = strawberry.field(description="Nombre total d'éléments (toutes pages).")


def connection(
    nodes: list[Any],
    cursors: list[str],
    *,
    total_count: int,
    has_next_page: bool,
    has_previous_page: bool,
) -> Connection[Any]:
    edges = [Edge(cursor=c, node=n) for n, c in zip(nodes, cursors, strict=True)]
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
        total_count=total_count,
    )
