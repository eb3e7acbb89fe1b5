"""The cross-tenant matrix on the demo data: the second purchasing group's ADMIN, on every
ID-taking field and mutation of the matrix, gets for the first group's objects exactly the
answer it gets for objects that do not exist."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from db.models import User
from demo.logins import SECOND_GROUP_ADMIN
from tests.api.test_cross_tenant import (
    CASES,
    Case,
    Target,
    _answer,
    _says_not_found,
    result_has_no_success,
)
from tests.ids import gid
from tests.runner import Runner


class _NoWorld:
    """Stands for the caller's own objects: cases that need them stay in the factory matrix."""

    def __getattr__(self, name: str) -> Any:
        raise LookupError(name)


def _uses_targets_only(case: Case) -> bool:
    try:
        case.variables(_NoWorld(), Target.missing())  # type: ignore[arg-type]
    except LookupError:
        return False
    return True


DEMO_CASES = [pytest.param(case, id=case.name) for case in CASES if _uses_targets_only(case)]


@pytest.fixture(scope="module")
async def first_group(demo_runner: Runner) -> Target:
    """Global IDs of the demo's first group's objects, read with plain SQL."""

    async def rows(sql: str) -> Any:
        async with demo_runner.sessions() as session:
            connection = await session.connection()
            return (await connection.execute(sa.text(sql))).one()

    async def one(sql: str) -> Any:
        return (await rows(sql))[0]

    site_id, point_number = await rows(
        "SELECT s.id, s.point_number FROM sites s JOIN members m ON m.id = s.member_id"
        " WHERE m.group_id = 1 ORDER BY s.id LIMIT 1"
    )
    request_id, request_reference = await rows(
        "SELECT r.id, r.reference FROM technical_requests r JOIN members m"
        " ON m.id = r.member_id WHERE m.group_id = 1 ORDER BY r.id LIMIT 1"
    )
    return Target(
        group=gid("Group", 1),
        member=gid("Member", await one("SELECT min(id) FROM members WHERE group_id = 1")),
        billing_account=gid(
            "BillingAccount",
            await one(
                "SELECT min(b.id) FROM billing_accounts b JOIN members m ON m.id = b.member_id"
                " WHERE m.group_id = 1"
            ),
        ),
        site=gid("Site", site_id),
        meter=gid("Meter", await one(f"SELECT min(id) FROM meters WHERE site_id = {site_id}")),
        grant=gid("Grant", await one("SELECT min(id) FROM access_grants WHERE tier = 'USER'")),
        api_key=gid("ApiKey", 10**9),
        point_number=point_number,
        person=gid(
            "Person",
            await one("SELECT min(user_id) FROM access_grants WHERE tier = 'INFRA_USER'"),
        ),
        invoice=gid(
            "Invoice",
            await one(
                "SELECT min(i.id) FROM invoices i JOIN billing_accounts b"
                " ON b.id = i.billing_account_id JOIN members m ON m.id = b.member_id"
                " WHERE m.group_id = 1"
            ),
        ),
        alert=gid(
            "Alert",
            await one(
                "SELECT min(a.id) FROM alerts a JOIN sites s ON s.id = a.site_id"
                " JOIN members m ON m.id = s.member_id WHERE m.group_id = 1"
                " AND a.status = 'OPEN'"
            ),
        ),
        technical_request=gid("TechnicalRequest", request_id),
        technical_request_reference=request_reference,
        collection_campaign=gid(
            "CollectionCampaign",
            await one("SELECT min(id) FROM collection_campaigns WHERE group_id = 1"),
        ),
        collection_journey=gid(
            "CollectionJourney", await one("SELECT min(id) FROM collection_journeys")
        ),
        invoice_number=await one(
            "SELECT min(i.number) FROM invoices i JOIN billing_accounts b"
            " ON b.id = i.billing_account_id JOIN members m ON m.id = b.member_id"
            " WHERE m.group_id = 1"
        ),
    )


@pytest.fixture(scope="module")
async def second_admin(demo_runner: Runner) -> User:
    async with demo_runner.sessions() as session:
        return (
            await session.exec(select(User).where(User.email == SECOND_GROUP_ADMIN.email))
        ).one()


@pytest.mark.parametrize("case", DEMO_CASES)
async def test_the_second_group_s_admin_sees_nothing_of_the_first(
    demo_runner: Runner, first_group: Target, second_admin: User, case: Case
) -> None:
    theirs = await demo_runner.raw(
        case.document,
        case.variables(_NoWorld(), first_group),
        as_user=second_admin,  # type: ignore[arg-type]
    )
    missing = await demo_runner.raw(
        case.document,
        case.variables(_NoWorld(), Target.missing()),
        as_user=second_admin,  # type: ignore[arg-type]
    )
    assert _answer(theirs) == _answer(missing)
    assert _says_not_found(theirs) or "FORBIDDEN" in _answer(theirs), _answer(theirs)
    assert result_has_no_success(theirs)


async def test_the_matrix_covers_most_cases_on_the_demo() -> None:
    assert len(DEMO_CASES) >= len(CASES) // 2
