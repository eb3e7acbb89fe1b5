"""The demo's collection campaign in progress: the coordinator sees members done, halfway and
not started (figures against SQL written here); the demo USER finds its journey halfway, with
what is missing; the README's tour queries answer with data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from db.models import User
from demo.logins import MAIN_GROUP_LOGINS, SECOND_GROUP_ADMIN
from domain.enums import Tier
from tests.runner import Runner

CAMPAIGNS = """
query { collectionCampaigns { id name energy opensOn closesOn supplyStart
  progress { members notStarted inProgress validated nonRespondents responseRatePct
    sitesTotal sitesConfirmed } } }"""
FOLLOW = """
query { collectionJourneys(filter: {statuses: [NOT_STARTED, IN_PROGRESS]}, first: 5) {
  totalCount edges { node { memberLegalName status stepsDone sitesConfirmedSharePct } } } }"""
MINE = """
query { collectionJourneys { edges { node { id version status stepsDone campaignName
  closesOn administrative { legalName invoiceDelivery }
  sites { id pointNumber segment decision } lots { name } missing { step message } } } } }"""


async def person(runner: Runner, email: str) -> User:
    async with runner.sessions() as session:
        return (await session.exec(select(User).where(User.email == email))).one()


def login(tier: Tier) -> str:
    return next(login.email for login in MAIN_GROUP_LOGINS if login.tier is tier)


async def test_the_coordinator_follows_a_campaign_in_progress(demo_runner: Runner) -> None:
    admin = await person(demo_runner, login(Tier.ADMIN))
    data = await demo_runner.run(CAMPAIGNS, as_user=admin)
    [campaign] = data["collectionCampaigns"]
    progress = campaign["progress"]
    async with demo_runner.sessions() as session:
        conn = await session.connection()
        counts: dict[str, Any] = dict(
            (
                await conn.execute(
                    sa.text("SELECT status, count(*) FROM collection_journeys GROUP BY status")
                )
            ).all()
        )
    assert progress["validated"] == counts["VALIDATED"] >= 1
    assert progress["inProgress"] == counts["IN_PROGRESS"] >= 1
    assert progress["notStarted"] == counts["NOT_STARTED"] >= 1
    assert progress["members"] == sum(counts.values())
    follow = await demo_runner.run(FOLLOW, as_user=admin)
    assert (
        follow["collectionJourneys"]["totalCount"] == counts["NOT_STARTED"] + counts["IN_PROGRESS"]
    )
    # The other group's coordinator sees none of it.
    other = await person(demo_runner, SECOND_GROUP_ADMIN.email)
    assert (await demo_runner.run(CAMPAIGNS, as_user=other))["collectionCampaigns"] == []


async def test_the_demo_user_finds_its_journey_halfway(demo_runner: Runner) -> None:
    user = await person(demo_runner, login(Tier.USER))
    data = await demo_runner.run(MINE, as_user=user)
    [edge] = data["collectionJourneys"]["edges"]
    journey = edge["node"]
    assert journey["status"] == "IN_PROGRESS" and journey["stepsDone"] == 1
    decisions = {s["decision"] for s in journey["sites"]}
    assert decisions == {"CONFIRMED", "PENDING"}
    assert {m["step"] for m in journey["missing"]} == {"PERIMETER", "BILLING"}
