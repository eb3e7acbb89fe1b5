"""GraphQL enums generated from the domain's vocabularies, every value described."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

E = TypeVar("E", bound=Enum)


def described_enum(
    values: type[E],
    descriptions: Mapping[Any, str],
    *,
    description: str,
    name: str | None = None,
) -> type[E]:
    """`values` as a GraphQL enum whose values carry `descriptions` (keyed by member).

    The Python enum stays the domain's (resolvers return its members); only the schema's
    definition gains the texts. A value without a description fails at import, so a new code
    or value cannot ship undocumented.
    """
    missing = [member.name for member in values if member not in descriptions]
    if missing:
        raise ValueError(f"{values.__name__}: no description for {', '.join(missing)}")
    wrapped = strawberry.enum(values, name=name, description=description)
    for value in _definition_of(wrapped).values:
        value.description = descriptions[values[value.name]]
    return wrapped


def _definition_of(registered: object) -> StrawberryEnumDefinition:
    """The definition strawberry attached to an enum class it registered."""
    assert has_enum_definition(registered)
    return registered.__strawberry_definition__
