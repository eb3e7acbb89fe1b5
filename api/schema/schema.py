"""The GraphQL schema: root types composed from each domain's queries, and its protections."""

from __future__ import annotations

from functools import cache
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from api.graphql.scalars import SCALARS
from api.schema.node import node_queries
from api.schema.roots import EXTRA_TYPES, MUTATIONS, QUERIES

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000


def _is_expected(error: GraphQLError) -> bool:
    """Errors of the query itself (syntax, validation, limits) are the client's to read."""
    return error.original_error is None or isinstance(error.original_error, GraphQLError)


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema for a configuration; built once, since strawberry binds field extensions
    (the relay `node` field's) to the shared field objects."""
    return _build_schema(introspection)


@cache
def _build_schema(introspection: bool) -> strawberry.Schema:
    # Factories, not instances: strawberry builds fresh extensions per request (the parser and
    # validation caches live at module level, so they survive that).
    extensions: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        # Bugs are masked; the query's own errors are not.
        lambda: MaskErrors(should_mask_error=lambda error: not _is_expected(error)),
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    query = strawberry.type(
        type("Query", (node_queries(), *QUERIES), {}), description="Point d'entrée des lectures."
    )
    mutation = strawberry.type(
        type("Mutation", MUTATIONS, {}), description="Point d'entrée des écritures."
    )
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        types=list(EXTRA_TYPES),
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
    )
