"""Scalars of the API beyond GraphQL's own: `Month`, a calendar month written `YYYY-MM`; and
`Date` / `DateTime` bounded to the years a business date can have.

Wherever the API means a month (consumption windows, summaries' months, exports) it takes
and returns this one scalar, never a `Date` standing for its first day nor a free `String`.
A malformed month is refused before any resolver runs, with the code INVALID and a French
message, like every other expected error.
"""

from __future__ import annotations

from datetime import date, datetime
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


# Dates a customer space can mean: beyond them, date arithmetic (a window of months before a
# date, a day after it) would leave Python's range (year 1 to 9999) inside a resolver.
MIN_YEAR, MAX_YEAR = 1900, 2199
DATE_MESSAGE = "Date invalide : attendu AAAA-MM-JJ, entre 1900 et 2199."
DATETIME_MESSAGE = "Date et heure invalides : attendu ISO 8601, entre 1900 et 2199."


def _refused(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.INVALID.value})


def _parse_date(value: object) -> date:
    if not isinstance(value, str):
        raise _refused(DATE_MESSAGE)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise _refused(DATE_MESSAGE) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _refused(DATE_MESSAGE)
    return parsed


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise _refused(DATETIME_MESSAGE)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _refused(DATETIME_MESSAGE) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _refused(DATETIME_MESSAGE)
    return parsed


Month = NewType("Month", date)
"""A calendar month in resolvers' terms: the date of its first day."""

JsonObject = NewType("JsonObject", dict[str, Any])
"""A JSON object handed out as it is stored (an alert's evidence): its field describes it."""

SCALARS: dict[object, ScalarDefinition] = {
    date: strawberry.scalar(
        name="Date",
        description="Une date, au format AAAA-MM-JJ (ISO 8601), entre 1900 et 2199. Une valeur "
        "mal formée ou hors de ces années est refusée avec le code INVALID.",
        serialize=date.isoformat,
        parse_value=_parse_date,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="Une date et une heure ISO 8601 avec fuseau (ex. 2026-03-14T09:12:03Z), "
        "entre 1900 et 2199. Une valeur mal formée ou hors de ces années est refusée avec le "
        "code INVALID.",
        serialize=datetime.isoformat,
        parse_value=_parse_datetime,
    ),
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
