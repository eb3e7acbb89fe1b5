"""Scalars of the API beyond GraphQL's own: `Month`, a calendar month written `YYYY-MM`.

Wherever the API means a month (consumption windows, summaries' months, exports) it takes
and returns this one scalar, never a `Date` standing for its first day nor a free `String`.
A malformed month is refused before any resolver runs, with the code INVALID and a French
message, like every other expected error.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from domain.consumption import format_month, parse_month
from domain.errors import ErrorCode

MONTH_FORMAT_MESSAGE = "Mois invalide : attendu AAAA-MM (ex. 2026-03)."


def _parse(value: object) -> date:
    try:
        return parse_month(value)
    except ValueError:
        raise GraphQLError(
            MONTH_FORMAT_MESSAGE, extensions={"code": ErrorCode.INVALID.value}
        ) from None


Month = NewType("Month", date)
"""A calendar month in resolvers' terms: the date of its first day."""

JsonObject = NewType("JsonObject", dict[str, Any])
"""A JSON object handed out as it is stored (an alert's evidence): its field describes it."""

SCALARS: dict[object, ScalarDefinition] = {
    Month: strawberry.scalar(
        name="Month",
        description="Un mois calendaire, au format AAAA-MM (ex. « 2026-03 » pour mars 2026). "
        "Une valeur mal formée est refusée avec le code INVALID.",
        serialize=format_month,
        parse_value=_parse,
    ),
    JsonObject: strawberry.scalar(
        name="JSONObject",
        description="Un objet JSON, tel qu'il est enregistré ; le champ qui le renvoie en "
        "décrit les clés.",
        serialize=lambda value: value,
        parse_value=lambda value: value,
    ),
}
"""The schema's `scalar_map` (strawberry's way to declare a scalar for a Python type)."""
