"""The GraphQL schema: root types composed from each domain's queries, and its protections."""

from __future__ import annotations

from functools import cache
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.graphql.coded_errors import CodedErrors, log_unexpected
from api.graphql.input_limits import InputLimits
from api.graphql.leaf_lists import LeafListsExecutionContext
from api.graphql.scalars import SCALARS
from api.schema.node import node_queries
from api.schema.roots import EXTRA_TYPES, MUTATIONS, QUERIES

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000


def build_schema(*, introspection: bool = True, suggestions: bool = True) -> strawberry.Schema:
    """The schema for a configuration; built once, since strawberry binds field extensions
    (the relay `node` field's) to the shared field objects. `suggestions` off drops
    graphql-core's "Did you mean …?" hints (production), whatever `introspection` says."""
    return _build_schema(introspection, suggestions)


class Schema(strawberry.Schema):
    """strawberry's schema, logging only what is a bug (an expected refusal is not an error to
    log: one unauthenticated query used to write 28 lines of traceback)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


_DEPTH_RULE = depth_rule(MAX_DEPTH, None, None)
_ALIASES_RULE = aliases_rule(MAX_ALIASES)


@cache
def _build_schema(introspection: bool, suggestions: bool) -> strawberry.Schema:
    # Factories, not instances: strawberry builds fresh extensions per request (the parser and
    # validation caches live at module level, so they survive that).
    extensions: list[Any] = [
        # QueryDepthLimiter and MaxAliasesLimiter's rules, built once: each instance builds a
        # new rule class, which made every request a ValidationCache miss (the cache keys on
        # the rules): 3–7 ms of validation per request of the curves bench.
        lambda: AddValidationRules([_DEPTH_RULE, _ALIASES_RULE]),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        # Control characters, over-long texts and lists: refused before any resolver runs.
        InputLimits,
        # Every error gets a code and a French message; bugs are masked (and logged).
        lambda: CodedErrors(
            max_depth=MAX_DEPTH,
            max_aliases=MAX_ALIASES,
            max_tokens=MAX_TOKENS,
            suggestions=suggestions,
        ),
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    query = strawberry.type(
        type("Query", (node_queries(), *QUERIES), {}), description="Point d'entrée des lectures."
    )
    mutation = strawberry.type(
        type("Mutation", MUTATIONS, {}), description="Point d'entrée des écritures."
    )
    return Schema(
        query=query,
        mutation=mutation,
        types=list(EXTRA_TYPES),
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=LeafListsExecutionContext,
    )
