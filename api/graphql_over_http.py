"""The GraphQL-over-HTTP spec's media types (https://graphql.github.io/graphql-over-http/).

A client that accepts `application/graphql-response+json` gets it, and with it HTTP status
codes that say what happened: a request error (the document does not parse or validate, a
variable does not coerce, an input limit refuses it: nothing was executed) answers 400 with
no `data` entry. `application/json` (also what `*/*` or no Accept header gets) keeps the
legacy behaviour every GraphQL client understands: 200 with `data: null`.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# What `application/json` stands for in an Accept header: itself and the wildcards.
_JSON_RANGES = frozenset({JSON, "application/*", "*/*"})


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def wants_graphql_response(accept: str) -> bool:
    """Whether the answer is `application/graphql-response+json`: the client lists it, and
    prefers nothing JSON to it (a tie goes to it, as the spec recommends)."""
    best_response = best_json = -1.0
    for item in accept.split(","):
        media, _, parameters = item.partition(";")
        media = media.strip().lower()
        if media == GRAPHQL_RESPONSE:
            best_response = max(best_response, _quality(parameters))
        elif media in _JSON_RANGES:
            best_json = max(best_json, _quality(parameters))
    return best_response > 0 and best_response >= best_json


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """Nothing was executed: no data, and no error belongs to a field (a field error has a
    path; parse, validation, variable coercion and the input limits have none)."""
    return data is None and bool(errors) and all(error.path is None for error in errors or ())
