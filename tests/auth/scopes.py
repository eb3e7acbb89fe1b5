"""Grant scopes built by hand, for the rules that decide on scopes alone (no database)."""

from __future__ import annotations

from typing import Any

from auth.caller import GrantScope
from domain.enums import Tier


def grant_scope(tier: Tier, **scope: Any) -> GrantScope:
    """A live grant of `tier`; unnamed fields empty, writes allowed."""
    values: dict[str, Any] = {
        "id": 1,
        "group_id": None,
        "member_id": None,
        "billing_account_ids": frozenset(),
        "may_submit": True,
    }
    return GrantScope(tier=tier, **(values | scope))
