"""Field permissions, declared on fields (never re-checked by hand in resolvers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.field import StrawberryField

from api.graphql.errors import UserError
from api.resolvers.writable import READ_ONLY_KEY
from domain.enums import Tier
from domain.errors import ErrorCode, Refusal


class IsAuthenticated(BasePermission):
    message = (
        "Authentification requise : connectez-vous, ou rafraîchissez votre jeton s'il a expiré."
    )
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012 - strawberry's API

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return info.context.caller is not None


def holds_tier(*tiers: Tier) -> type[BasePermission]:
    """Allows callers holding at least one live grant of one of `tiers`."""
    names = ", ".join(t.value for t in tiers)

    class HoldsTier(BasePermission):
        message = f"Action réservée aux profils : {names}."
        error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

        def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
            caller = info.context.caller
            return caller is not None and caller.holds(*tiers)

    HoldsTier.__name__ = f"Holds{''.join(t.value.title().replace('_', '') for t in tiers)}"
    return HoldsTier


class WritesData(FieldExtension):
    """The guard every mutation carries, the session ones excepted: a read-only API key changes
    nothing. It answers before the resolver runs, in the payload like any expected refusal
    (`errors: [FORBIDDEN]`, every other field empty), whatever the input names, so the answer
    says nothing about the objects either. A schema test fails on a mutation without it."""

    def apply(self, field: StrawberryField) -> None:
        self.field = field

    @cached_property
    def refused(self) -> Callable[[], object]:
        """The payload answered to a read-only key (built on first use, when the payload's
        annotations are resolved)."""
        payload = self.field.type
        definition = get_object_definition(payload, strict=True)
        empty: dict[str, object] = {}
        for field in definition.fields:
            if field.python_name == "errors":
                continue
            if isinstance(field.type, StrawberryOptional):
                empty[field.python_name] = None
            elif isinstance(field.type, StrawberryList):
                empty[field.python_name] = []
            elif field.type is int:
                empty[field.python_name] = 0
            elif field.type is bool:
                empty[field.python_name] = False
            else:
                raise TypeError(f"{definition.name}.{field.name}: no empty value for a refusal")

        def build() -> object:
            error = UserError.from_refusal(Refusal(ErrorCode.FORBIDDEN, READ_ONLY_KEY))
            return definition.origin(**empty, errors=[error])

        return build

    @staticmethod
    def read_only(info: strawberry.Info) -> bool:
        caller = info.context.caller
        return caller is not None and caller.read_only_key

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        return self.refused() if self.read_only(info) else next_(source, info, **kwargs)

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: strawberry.Info,
        **kwargs: Any,
    ) -> Any:
        if self.read_only(info):
            return self.refused()
        return await next_(source, info, **kwargs)
