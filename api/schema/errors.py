"""`UserError`: expected failures, returned in mutation payloads (never as HTTP 500)."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from api.resolvers.errors import ErrorCode as ErrorCodeValues
from api.resolvers.errors import Refusal

ErrorCode = strawberry.enum(ErrorCodeValues, description="Code machine d'une erreur attendue.")


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


def query_error(refusal: Refusal) -> GraphQLError:
    """A refusal on a query's arguments: queries have no payload, so it is a GraphQL error
    with the same code (not masked, since it is expected)."""
    return GraphQLError(
        refusal.message, extensions={"code": refusal.code.value, "field": refusal.field}
    )
