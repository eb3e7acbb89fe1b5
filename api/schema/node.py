"""The Relay entry points: fetch any object by its opaque global ID."""

from __future__ import annotations

import strawberry
from strawberry import relay


def node_queries() -> type:
    """A fresh class per schema: strawberry binds the relay field's extension to the field
    object itself, so one field object cannot serve two schemas (introspection on and off)."""

    @strawberry.type
    class NodeQueries:
        node: relay.Node | None = relay.node(
            description="Un objet par son identifiant global ; null s'il est inconnu ou hors "
            "du périmètre de l'appelant."
        )

    return NodeQueries
