"""Error mapping: the `ErrorCode` enum clients see, `UserError` in mutation payloads, and the
field error a query answers with.

The enum is `domain.errors.ErrorCode` itself, registered here with each value's description, so
the codes exist once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from api.graphql.enums import described_enum
from domain.errors import ERROR_CODE_DESCRIPTIONS, ErrorCode, Refusal, Refusals

T = TypeVar("T")

described_enum(
    ErrorCode,
    ERROR_CODE_DESCRIPTIONS,
    description="Code machine d'une erreur attendue : chaque erreur renvoyée par l'API, dans "
    "un payload (`errors`) ou dans `extensions.code`, porte l'un de ces codes.",
)


@strawberry.type(description="Une erreur attendue : saisie invalide, limite, état interdit…")
class UserError:
    field: str | None = strawberry.field(
        description="Le champ de l'entrée en cause, s'il y en a un."
    )
    code: ErrorCode = strawberry.field(description="Code machine de l'erreur.")
    message: str = strawberry.field(description="Message en français, à montrer à la personne.")
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="Pour THROTTLED : secondes à attendre avant de réessayer."
    )

    @classmethod
    def from_refusal(cls, refusal: Refusal) -> UserError:
        return cls(
            field=refusal.field,
            code=refusal.code,
            message=refusal.message,
            retry_after_seconds=refusal.retry_after_seconds,
        )


async def attempt(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Runs a use case; an expected refusal becomes the payload's errors."""
    try:
        return await work(), []
    except Refusal as refusal:
        every = refusal.refusals if isinstance(refusal, Refusals) else [refusal]
        return None, [UserError.from_refusal(r) for r in every]


def query_error(refusal: Refusal) -> GraphQLError:
    """A refusal on a query's arguments: queries have no payload, so it is a GraphQL error
    with the same code (not masked, since it is expected)."""
    return GraphQLError(
        refusal.message, extensions={"code": refusal.code.value, "field": refusal.field}
    )
