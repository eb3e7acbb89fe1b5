"""Who may manage whom: the rules of DESIGN §2 for access management, as pure functions.

Nobody grants more than they hold: an ADMIN manages the grants of their group (other admins,
member users, infra-users, third parties); a USER carves INFRA_USER grants out of their own
member and nothing else; INFRA_USER, THIRD_PARTY and OPERATOR manage nobody through the API.
The SQL checks that the member and billing accounts named are really in the caller's perimeter
live with the use cases; these functions decide on the scopes alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.caller import Caller
from domain.enums import Tier


@dataclass(frozen=True, slots=True)
class ScopeRequest:
    """A grant as asked for (or as it stands, when changing it)."""

    tier: Tier
    group_id: int | None  # for ADMIN and THIRD_PARTY
    member_id: int | None  # for USER and INFRA_USER
    member_group_id: int | None  # the group of member_id
    billing_account_ids: frozenset[int]
    billing_account_member_ids: frozenset[int]  # members owning those accounts
    billing_account_group_ids: frozenset[int]  # groups owning those accounts


def admin_groups(caller: Caller) -> frozenset[int]:
    return frozenset(g.group_id for g in caller.grants_of(Tier.ADMIN) if g.group_id is not None)


def user_members(caller: Caller) -> frozenset[int]:
    return frozenset(g.member_id for g in caller.grants_of(Tier.USER) if g.member_id is not None)


def may_manage(caller: Caller, scope: ScopeRequest) -> bool:
    """True when `caller` may create, change, suspend or revoke a grant of this scope."""
    groups = admin_groups(caller)
    members = user_members(caller)
    accounts_ok_for_group = scope.billing_account_group_ids <= groups
    match scope.tier:
        case Tier.ADMIN:
            return scope.group_id in groups
        case Tier.USER:
            return scope.member_group_id in groups
        case Tier.INFRA_USER:
            own_member = scope.billing_account_member_ids <= {scope.member_id}
            by_admin = scope.member_group_id in groups and accounts_ok_for_group
            by_user = scope.member_id in members
            return own_member and (by_admin or by_user)
        case Tier.THIRD_PARTY:
            return scope.group_id in groups and accounts_ok_for_group
        case _:
            return False


def needs_billing_accounts(tier: Tier) -> bool:
    return tier in (Tier.INFRA_USER, Tier.THIRD_PARTY)


def needs_member(tier: Tier) -> bool:
    return tier in (Tier.USER, Tier.INFRA_USER)
