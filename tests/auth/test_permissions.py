"""Who may manage whom (DESIGN §2): nobody grants more than they hold."""

from __future__ import annotations

import pytest

from auth.caller import Caller, GrantScope, perimeter_for
from auth.permissions import (
    ScopeRequest,
    admin_groups,
    may_manage,
    needs_billing_accounts,
    needs_member,
    user_members,
)
from domain.enums import Tier
from tests.auth.scopes import grant_scope

GROUP, OTHER_GROUP = 1, 2
MEMBER, SIBLING, FOREIGN = 10, 11, 20  # MEMBER and SIBLING in GROUP, FOREIGN in OTHER_GROUP


def caller(*grants: GrantScope) -> Caller:
    perimeter = perimeter_for(grants)
    return Caller(1, "x@y.test", "X", grants, perimeter, perimeter)


ADMIN = caller(grant_scope(Tier.ADMIN, group_id=GROUP))
USER = caller(grant_scope(Tier.USER, member_id=MEMBER))
INFRA = caller(grant_scope(Tier.INFRA_USER, member_id=MEMBER, billing_account_ids=frozenset({100})))
THIRD = caller(grant_scope(Tier.THIRD_PARTY, group_id=GROUP, billing_account_ids=frozenset({100})))
OPERATOR = caller(grant_scope(Tier.OPERATOR))


def request(
    tier: Tier,
    *,
    group: int | None = None,
    member: int | None = None,
    member_group: int | None = None,
    accounts: dict[int, tuple[int, int]] | None = None,  # account → (member, group)
) -> ScopeRequest:
    accounts = accounts or {}
    return ScopeRequest(
        tier=tier,
        group_id=group,
        member_id=member,
        member_group_id=member_group,
        billing_account_ids=frozenset(accounts),
        billing_account_member_ids=frozenset(m for m, _ in accounts.values()),
        billing_account_group_ids=frozenset(g for _, g in accounts.values()),
    )


OWN_INFRA = request(
    Tier.INFRA_USER, member=MEMBER, member_group=GROUP, accounts={100: (MEMBER, GROUP)}
)
SIBLING_INFRA = request(
    Tier.INFRA_USER, member=SIBLING, member_group=GROUP, accounts={200: (SIBLING, GROUP)}
)
MIXED_INFRA = request(
    Tier.INFRA_USER, member=MEMBER, member_group=GROUP,
    accounts={100: (MEMBER, GROUP), 200: (SIBLING, GROUP)},
)  # fmt: skip
THIRD_IN_GROUP = request(
    Tier.THIRD_PARTY, group=GROUP, accounts={100: (MEMBER, GROUP), 200: (SIBLING, GROUP)}
)
THIRD_ACROSS = request(
    Tier.THIRD_PARTY, group=GROUP, accounts={100: (MEMBER, GROUP), 300: (FOREIGN, OTHER_GROUP)}
)


@pytest.mark.parametrize(
    ("who", "wanted", "allowed"),
    [
        (ADMIN, request(Tier.ADMIN, group=GROUP), True),
        (ADMIN, request(Tier.ADMIN, group=OTHER_GROUP), False),
        (ADMIN, request(Tier.USER, member=SIBLING, member_group=GROUP), True),
        (ADMIN, request(Tier.USER, member=FOREIGN, member_group=OTHER_GROUP), False),
        (ADMIN, SIBLING_INFRA, True),
        (ADMIN, MIXED_INFRA, False),  # an infra-user's accounts are all its member's
        (ADMIN, THIRD_IN_GROUP, True),
        (ADMIN, THIRD_ACROSS, False),
        (USER, OWN_INFRA, True),
        (USER, SIBLING_INFRA, False),
        (USER, MIXED_INFRA, False),
        (USER, request(Tier.USER, member=MEMBER, member_group=GROUP), False),
        (USER, request(Tier.ADMIN, group=GROUP), False),
        (USER, THIRD_IN_GROUP, False),
        (INFRA, OWN_INFRA, False),
        (THIRD, THIRD_IN_GROUP, False),
        (OPERATOR, OWN_INFRA, False),
        (ADMIN, request(Tier.OPERATOR), False),
    ],
)
def test_who_may_manage_which_grant(who: Caller, wanted: ScopeRequest, allowed: bool) -> None:
    assert may_manage(who, wanted) is allowed


def test_the_scopes_a_caller_manages_from() -> None:
    both = caller(
        grant_scope(Tier.ADMIN, group_id=GROUP), grant_scope(Tier.USER, member_id=FOREIGN, id=2)
    )
    assert admin_groups(both) == {GROUP} and user_members(both) == {FOREIGN}
    assert admin_groups(USER) == frozenset() and user_members(ADMIN) == frozenset()


def test_what_each_tier_must_name() -> None:
    assert {t for t in Tier if needs_billing_accounts(t)} == {Tier.INFRA_USER, Tier.THIRD_PARTY}
    assert {t for t in Tier if needs_member(t)} == {Tier.USER, Tier.INFRA_USER}
