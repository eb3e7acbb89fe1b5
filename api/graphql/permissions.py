"""Field permissions, declared on fields (never re-checked by hand in resolvers)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission

from domain.enums import Tier


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
