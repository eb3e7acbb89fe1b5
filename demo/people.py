"""The purchasing group, the users and their access grants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from demo import names
from demo.logins import (
    ADMIN_ID,
    DEMO_MEMBER_ID,
    GROUP_ID,
    INFRA_USER_ID,
    MAIN_GROUP_LOGINS,
    MEMBER_USER_ID,
    OPERATOR_ID,
    SECOND_ADMIN_ID,
    SECOND_GROUP_ADMIN,
    SECOND_GROUP_ID,
    THIRD_PARTY_ID,
)
from demo.shapes import Batch, MemberInfo, Row, instant
from demo.state import BuildState


def group_row(state: BuildState) -> Row:
    return {
        "id": GROUP_ID,
        "code": "SDE41",
        "name": "Syndicat départemental d'énergie de Loir-et-Cher",
        "coordinator_name": "SDE 41 – service achats d'énergie",
        "created_at": instant(state.window_start - timedelta(days=400), 9),
    }


def user_rows(state: BuildState) -> list[Row]:
    """The demo logins (fixed ids 1…), then a few colleagues in other states."""
    since = instant(state.window_start - timedelta(days=30), 9)
    rows = []
    for index, login in enumerate(MAIN_GROUP_LOGINS, start=1):
        state.new_id("users")
        rows.append(
            {
                "id": index,
                "email": login.email,
                "full_name": login.full_name,
                "phone": names.phone(state.rng),
                "password_hash": state.password_hash,
                "status": "ACTIVE",
                "last_login_at": None,
                "created_at": since,
            }
        )
    extras = [
        ("claire.morel@sde41.fr", "Claire Morel", "ACTIVE"),
        ("paul.girard@mairie-blois.fr", "Paul Girard", "INVITED"),
        ("sophie.roux@mairie-blois.fr", "Sophie Roux", "SUSPENDED"),
    ]
    for email, full_name, status in extras:
        rows.append(
            {
                "id": state.new_id("users"),
                "email": email,
                "full_name": full_name,
                "phone": None,
                "password_hash": None if status == "INVITED" else state.password_hash,
                "status": status,
                "last_login_at": None,
                "created_at": since,
            }
        )
    return rows


def grant_batches(state: BuildState, members: list[MemberInfo]) -> Iterator[Batch]:
    demo = members[DEMO_MEMBER_ID - 1]
    others = [m for m in members[1:] if m.account_ids]
    third_party_members = [others[0], others[1], next(m for m in others if m.energy == "GAS")]
    created = instant(state.window_start - timedelta(days=20), 9)
    grants = [
        (ADMIN_ID, "ADMIN", GROUP_ID, None, True),
        (MEMBER_USER_ID, "USER", None, demo.id, True),
        (INFRA_USER_ID, "INFRA_USER", None, demo.id, True),
        (THIRD_PARTY_ID, "THIRD_PARTY", GROUP_ID, None, False),
        (OPERATOR_ID, "OPERATOR", None, None, True),
        (6, "ADMIN", GROUP_ID, None, True),
        (7, "USER", None, demo.id, True),
        (8, "USER", None, demo.id, True),
    ]
    rows = []
    for user_id, tier, group_id, member_id, may_submit in grants:
        rows.append(
            {
                "id": state.new_id("access_grants"),
                "user_id": user_id,
                "tier": tier,
                "group_id": group_id,
                "member_id": member_id,
                "may_submit": may_submit,
                "granted_by_user_id": None if tier in ("ADMIN", "OPERATOR") else ADMIN_ID,
                "created_at": created,
                "suspended_at": created + timedelta(days=200) if user_id == 8 else None,
                "revoked_at": None,
            }
        )
    yield "access_grants", rows
    limited = [(3, demo.account_ids[:2])]
    limited.append((4, [m.account_ids[0] for m in third_party_members]))
    yield (
        "grant_billing_accounts",
        [
            {"grant_id": grant_id, "billing_account_id": account_id}
            for grant_id, accounts in limited
            for account_id in accounts
        ],
    )


def second_group_batches(state: BuildState) -> Iterator[Batch]:
    """Another purchasing group and its ADMIN; its members are built like the main group's."""
    since = instant(state.window_start - timedelta(days=30), 9)
    yield (
        "groups",
        [
            {
                "id": SECOND_GROUP_ID,
                "code": "GCEV41",
                "name": "Groupement de commandes d'énergie du Vendômois",
                "coordinator_name": "Communauté d'agglomération – service énergie",
                "created_at": instant(state.window_start - timedelta(days=200), 9),
            }
        ],
    )
    state.new_id("users")
    yield (
        "users",
        [
            {
                "id": SECOND_ADMIN_ID,
                "email": SECOND_GROUP_ADMIN.email,
                "full_name": SECOND_GROUP_ADMIN.full_name,
                "phone": names.phone(state.rng),
                "password_hash": state.password_hash,
                "status": "ACTIVE",
                "last_login_at": None,
                "created_at": since,
            }
        ],
    )


def second_group_grants(state: BuildState) -> Batch:
    return (
        "access_grants",
        [
            {
                "id": state.new_id("access_grants"),
                "user_id": SECOND_ADMIN_ID,
                "tier": "ADMIN",
                "group_id": SECOND_GROUP_ID,
                "member_id": None,
                "may_submit": True,
                "granted_by_user_id": None,
                "created_at": instant(state.window_start - timedelta(days=20), 9),
                "suspended_at": None,
                "revoked_at": None,
            }
        ],
    )
