"""The switch-time data collection, in process: a campaign and its pre-filled perimeter, each
step of a member's journey (saved as it goes), the segment rule of billing perimeters, the
version check, validation (what is missing; certify and lock; the mail), unlocking, the
coordinator's progress against SQL written here, reminders once a day, and the closing
(the portfolio it builds, checked with independent SQL; twice changes nothing)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Member, User
from domain.enums import Tier
from domain.identifiers import make_siren, make_siret
from tests.clock import NOW
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

_points = itertools.count(1)

JOURNEY_FIELDS = """
  id version status stepsDone stepsSharePct sitesTotal sitesConfirmed sitesRefused
  sitesConfirmedSharePct memberLegalName campaignName validatedAt closedAt
  administrative { legalName siren invoiceDelivery recipientSiret
    mainContact { name email } }
  sites { id pointNumber segment decision refusalReason internalCode designation
    otherReference contact { name email } lotName outcome prefilled }
  lots { id name segment multiSite siteCount }
  missing { step field message }
"""
PAYLOAD = "{ journey { " + JOURNEY_FIELDS + " } errors { field code message } }"

CREATE = """
mutation($i: CreateCollectionCampaignInput!) {
  createCollectionCampaign(input: $i) {
    campaign { id name energy progress { members notStarted inProgress validated
      nonRespondents responseRatePct sitesTotal sitesConfirmed }
      defaults { paymentMethod invoiceDelivery greenSharePct groupedInvoicing
        frequencies { segment billingFrequency } } }
    errors { field code message }
  }
}"""
JOURNEYS = (
    """
query($filter: CollectionJourneyFilter, $first: Int, $after: String) {
  collectionJourneys(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { """
    + JOURNEY_FIELDS
    + """ } }
  }
}"""
)
PROGRESS_LIST = """
query($filter: CollectionJourneyFilter, $first: Int) {
  collectionJourneys(filter: $filter, first: $first) {
    totalCount
    edges { node { id status stepsDone sitesConfirmedSharePct memberLegalName
      sites { pointNumber decision } lots { name siteCount } missing { step } } }
  }
}"""
CAMPAIGNS = """
query { collectionCampaigns { id name closedAt progress { members notStarted inProgress
  validated nonRespondents responseRatePct sitesTotal sitesConfirmed } } }"""
SAVE_ADMIN = (
    "mutation($i: SaveCollectionAdministrativeInput!) { saveCollectionAdministrative(input: $i) "
    + PAYLOAD
    + " }"
)
UPDATE_SITES = (
    "mutation($i: UpdateCollectionSitesInput!) { updateCollectionSites(input: $i) " + PAYLOAD + " }"
)
ADD_SITE = "mutation($i: AddCollectionSiteInput!) { addCollectionSite(input: $i) " + PAYLOAD + " }"
SAVE_LOT = "mutation($i: SaveCollectionLotInput!) { saveCollectionLot(input: $i) " + PAYLOAD + " }"
ASSIGN = (
    "mutation($i: AssignCollectionSitesInput!) { assignCollectionSites(input: $i) " + PAYLOAD + " }"
)
VALIDATE = (
    "mutation($i: CollectionJourneyVersionInput!) { validateCollectionJourney(input: $i) "
    + PAYLOAD
    + " }"
)
UNLOCK = (
    "mutation($i: UnlockCollectionJourneyInput!) { unlockCollectionJourney(input: $i) "
    + PAYLOAD
    + " }"
)
REMIND = """
mutation($i: SendCollectionRemindersInput!) {
  sendCollectionReminders(input: $i) { members queued alreadyRemindedToday errors { field code } }
}"""
CLOSE = """
mutation($i: CloseCollectionCampaignInput!) {
  closeCollectionCampaign(input: $i) { membersClosed sitesSwitched sitesDefaulted sitesRefused
    welcomePacksQueued errors { field code message } }
}"""
ADD_MEMBERS = """
mutation($i: AddCollectionCampaignMembersInput!) {
  addCollectionCampaignMembers(input: $i) {
    campaign { progress { members sitesTotal } } errors { field code message }
  }
}"""
EXPORT_PROGRESS = """
mutation($i: ExportCollectionProgressInput!) {
  exportCollectionProgress(input: $i) { url rowCount errors { field code message } }
}"""
EXPORT_REPORT = """
mutation($i: ExportCollectionSwitchReportInput!) {
  exportCollectionSwitchReport(input: $i) { url rowCount errors { field code message } }
}"""


def point(prefix: int = 77) -> str:
    return f"{prefix}{next(_points):012d}"


def prefilled_site(segment: str = "C5", **changes: Any) -> dict[str, Any]:
    return {
        "pointNumber": point(),
        "distributor": "ENEDIS",
        "segment": segment,
        "tariffOption": "BASE",
        "street": "1 rue du Stade",
        "postcode": "41000",
        "city": "Blois",
        "distributorStatus": "En service",
        "carKwh": 9000,
        "profile": "PRO1",
        **changes,
    }


async def add_member(sessions: async_sessionmaker[AsyncSession], world: World, name: str) -> Member:
    """A member of the world's group with no portfolio yet (a newcomer to the market)."""
    n = next(_points)
    async with sessions() as session, session.begin():
        member = Member(
            group_id=world.group.id,  # type: ignore[arg-type]
            customer_number=f"CN{world.group.id:05d}{n:06d}",
            legal_name=name,
            siren=make_siren(f"{40000000 + n:08d}"),
            street="2 place de la Mairie",
            postcode="41000",
            city="Blois",
        )
        session.add(member)
    return member


def admin_data(journey: dict[str, Any], siren: str, **changes: Any) -> dict[str, Any]:
    contact = {"name": "Claire Martin", "email": "claire.martin@mairie.test", "phone": "0254000000"}
    return {
        "journeyId": journey["id"],
        "version": journey["version"],
        "legalName": "Commune de Blois",
        "siren": siren,
        "street": "9 place Saint-Louis",
        "postcode": "41000",
        "city": "Blois",
        "mainContact": contact,
        "billingContact": {**contact, "name": "Service comptable"},
        "technicalContact": {**contact, "name": "Services techniques"},
        "invoiceDelivery": "CHORUS_PRO",
        "recipientSiret": make_siret(siren, "0002"),
        "chorusServiceCode": "FINANCES",
        **changes,
    }


@dataclass
class Market:
    world: World
    campaign: str
    silent: Member
    operator: User


async def open_market(
    runner: Runner, sessions: async_sessionmaker[AsyncSession], name: str
) -> Market:
    """A world whose USER's member has three electricity sites (two C5, one C4) pre-filled,
    its other member one C5 site, and a silent newcomer two C5 sites; created by the back
    office."""
    world = await make_world(sessions, name)
    silent = await add_member(sessions, world, f"Syndicat des eaux {name}")
    operator, _ = await make_person(
        sessions, f"operateur.{name.lower()}@comptoir.test", tier=Tier.OPERATOR
    )
    data = await runner.run(
        CREATE,
        {
            "i": {
                "groupId": gid("Group", world.group.id),  # type: ignore[arg-type]
                "energy": "ELECTRICITY",
                "name": f"Électricité 2027 {name}",
                "opensOn": "2026-11-02",
                "closesOn": "2026-11-30",
                "supplyStart": "2027-01-01",
                "members": [
                    {
                        "memberId": gid("Member", world.member.id),  # type: ignore[arg-type]
                        "sites": [
                            prefilled_site(),
                            prefilled_site(),
                            prefilled_site("C4", tariffOption="CU4"),
                        ],
                    },
                    {
                        "memberId": gid("Member", world.other_member.id),  # type: ignore[arg-type]
                        "sites": [prefilled_site()],
                    },
                    {
                        "memberId": gid("Member", silent.id),  # type: ignore[arg-type]
                        "sites": [prefilled_site(), prefilled_site(city="Vineuil")],
                    },
                ],
            }
        },
        as_user=operator,
    )
    payload = data["createCollectionCampaign"]
    assert payload["errors"] == [], payload
    return Market(world, payload["campaign"]["id"], silent, operator)


async def journey_of(runner: Runner, user: User, campaign: str) -> dict[str, Any]:
    data = await runner.run(JOURNEYS, {"filter": {"campaignId": campaign}}, as_user=user)
    edges = data["collectionJourneys"]["edges"]
    assert len(edges) == 1, edges
    return edges[0]["node"]


async def act(runner: Runner, user: User, document: str, data: dict[str, Any]) -> dict[str, Any]:
    result = await runner.run(document, {"i": data}, as_user=user)
    return next(iter(result.values()))


async def complete_journey(runner: Runner, user: User, campaign: str, siren: str) -> dict[str, Any]:
    """The three steps of the USER's journey, done right; returns the journey (validated)."""
    journey = await journey_of(runner, user, campaign)
    answer = await act(runner, user, SAVE_ADMIN, admin_data(journey, siren))
    assert answer["errors"] == [], answer
    journey = answer["journey"]
    c5 = [s["id"] for s in journey["sites"] if s["segment"] == "C5"]
    c4 = [s["id"] for s in journey["sites"] if s["segment"] == "C4"]
    answer = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "siteIds": c5,
            "decision": "CONFIRMED",
            "contact": {"name": "Gardien", "email": "gardien@mairie.test"},
        },
    )
    journey = answer["journey"]
    answer = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "siteIds": c4,
            "decision": "REFUSED",
            "refusalReason": "TERMINATED",
        },
    )
    journey = answer["journey"]
    answer = await act(
        runner,
        user,
        SAVE_LOT,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "name": "Bâtiments communaux",
            "segment": "C5",
            "multiSite": True,
            "paymentMethod": "PUBLIC_ACCOUNTING_MANDATE",
            "billingFrequency": "MONTHLY",
            "invoiceDelivery": "CHORUS_PRO",
            "greenSharePct": 50,
        },
    )
    journey = answer["journey"]
    lot = journey["lots"][0]["id"]
    answer = await act(
        runner,
        user,
        ASSIGN,
        {"journeyId": journey["id"], "version": journey["version"], "lotId": lot, "siteIds": c5},
    )
    journey = answer["journey"]
    assert journey["missing"] == [], journey["missing"]
    answer = await act(
        runner, user, VALIDATE, {"journeyId": journey["id"], "version": journey["version"]}
    )
    assert answer["errors"] == [], answer
    return answer["journey"]


@pytest.fixture
async def market(runner: Runner, session_factory: async_sessionmaker[AsyncSession]) -> Market:
    return await open_market(runner, session_factory, f"Collecte{next(_points)}")


async def test_the_campaign_prefills_every_members_journey(runner: Runner, market: Market) -> None:
    user = market.world.people["USER"]
    journey = await journey_of(runner, user, market.campaign)
    assert journey["status"] == "NOT_STARTED"
    assert journey["sitesTotal"] == 3 and journey["stepsDone"] == 0
    assert {s["decision"] for s in journey["sites"]} == {"PENDING"}
    assert {m["step"] for m in journey["missing"]} == {"ADMINISTRATIVE", "PERIMETER", "BILLING"}
    data = await runner.run(CAMPAIGNS, as_user=market.world.people["ADMIN"])
    mine = [c for c in data["collectionCampaigns"] if c["id"] == market.campaign]
    assert mine[0]["progress"] == {
        "members": 3,
        "notStarted": 3,
        "inProgress": 0,
        "validated": 0,
        "nonRespondents": 3,
        "responseRatePct": 0.0,
        "sitesTotal": 6,
        "sitesConfirmed": 0,
    }


async def test_an_admin_creates_only_its_groups_campaigns(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    other = await make_world(session_factory, "Autre")
    data = {
        "groupId": gid("Group", other.group.id),  # type: ignore[arg-type]
        "energy": "GAS",
        "name": "Gaz",
        "opensOn": "2026-11-02",
        "closesOn": "2026-11-30",
        "supplyStart": "2027-01-01",
    }
    answer = await act(runner, market.world.people["ADMIN"], CREATE, data)
    assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    answer = await act(
        runner,
        market.world.people["ADMIN"],
        CREATE,
        {**data, "groupId": gid("Group", market.world.group.id)},  # type: ignore[arg-type]
    )
    assert answer["errors"] == []
    freq = {
        f["segment"]: f["billingFrequency"] for f in answer["campaign"]["defaults"]["frequencies"]
    }
    assert freq == {"T1": "BIMONTHLY", "T2": "BIMONTHLY", "T3": "MONTHLY", "T4": "MONTHLY"}
    assert answer["campaign"]["defaults"]["paymentMethod"] == "TRANSFER"
    assert answer["campaign"]["defaults"]["invoiceDelivery"] == "POST"
    bad = await act(
        runner,
        market.operator,
        CREATE,
        {
            **data,
            "groupId": gid("Group", market.world.group.id),  # type: ignore[arg-type]
            "members": [
                {
                    "memberId": gid("Member", market.world.member.id),  # type: ignore[arg-type]
                    "sites": [prefilled_site("C5", pointNumber="123")],
                }
            ],
        },
    )
    assert [e["code"] for e in bad["errors"]] == ["INVALID"]


async def test_the_journey_saves_as_it_goes_and_validates_once_complete(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    user = market.world.people["USER"]
    journey = await journey_of(runner, user, market.campaign)
    # A partial save keeps what is given and says what is missing.
    answer = await act(
        runner,
        user,
        SAVE_ADMIN,
        {"journeyId": journey["id"], "version": journey["version"], "legalName": "Blois"},
    )
    assert answer["errors"] == []
    saved = answer["journey"]
    assert saved["status"] == "IN_PROGRESS" and saved["version"] == journey["version"] + 1
    assert saved["administrative"]["legalName"] == "Blois"
    # A bad SIREN is refused with its field; nothing is written.
    bad = await act(
        runner,
        user,
        SAVE_ADMIN,
        {"journeyId": saved["id"], "version": saved["version"], "siren": "123456789"},
    )
    assert [(e["field"], e["code"]) for e in bad["errors"]] == [("siren", "INVALID")]
    # Validation lists what is missing, step by step.
    refused = await act(
        runner, user, VALIDATE, {"journeyId": saved["id"], "version": saved["version"]}
    )
    codes = {e["code"] for e in refused["errors"]}
    assert codes == {"JOURNEY_INCOMPLETE"}
    messages = " ".join(e["message"] for e in refused["errors"])
    assert "SIREN" in messages and "Périmètre" in messages and "facturation" in messages
    # A site added with a bad point number is refused; a good one joins, confirmed.
    added = await act(
        runner,
        user,
        ADD_SITE,
        {
            "journeyId": saved["id"],
            "version": saved["version"],
            "pointNumber": "1234",
            "distributor": "ENEDIS",
            "segment": "C5",
            "tariffOption": "BASE",
            "street": "3 rue Neuve",
            "postcode": "41000",
            "city": "Blois",
            "activationDate": "2027-03-01",
        },
    )
    assert [(e["field"], e["code"]) for e in added["errors"]] == [("site.pointNumber", "INVALID")]
    new_point = point()
    added = await act(
        runner,
        user,
        ADD_SITE,
        {
            "journeyId": saved["id"],
            "version": saved["version"],
            "pointNumber": new_point,
            "distributor": "ENEDIS",
            "segment": "C5",
            "tariffOption": "BASE",
            "street": "3 rue Neuve",
            "postcode": "41000",
            "city": "Blois",
            "activationDate": "2027-03-01",
            "designation": "Salle des fêtes",
        },
    )
    assert added["errors"] == []
    site = next(s for s in added["journey"]["sites"] if s["pointNumber"] == new_point)
    assert site["decision"] == "CONFIRMED" and site["prefilled"] is False
    # References completed in bulk, lengths checked.
    journey = added["journey"]
    ids = [s["id"] for s in journey["sites"]]
    too_long = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "siteIds": ids,
            "internalCode": "X" * 36,
        },
    )
    assert [e["code"] for e in too_long["errors"]] == ["TOO_LONG"]
    bulk = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "siteIds": ids,
            "otherReference": "MARCHE-2027",
        },
    )
    assert {s["otherReference"] for s in bulk["journey"]["sites"]} == {"MARCHE-2027"}
    # A refusal needs its reason.
    no_reason = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": journey["id"],
            "version": bulk["journey"]["version"],
            "siteIds": ids[:1],
            "decision": "REFUSED",
        },
    )
    assert [e["code"] for e in no_reason["errors"]] == ["REQUIRED"]


async def test_every_site_of_a_lot_shares_its_segment(runner: Runner, market: Market) -> None:
    user = market.world.people["USER"]
    journey = await journey_of(runner, user, market.campaign)
    answer = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "siteIds": [s["id"] for s in journey["sites"]],
            "decision": "CONFIRMED",
        },
    )
    journey = answer["journey"]
    answer = await act(
        runner,
        user,
        SAVE_LOT,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "name": "Éclairage",
            "segment": "C5",
            "multiSite": False,
            "paymentMethod": "TRANSFER",
            "billingFrequency": "BIMONTHLY",
            "invoiceDelivery": "POST",
        },
    )
    journey = answer["journey"]
    lot = journey["lots"][0]["id"]
    c4 = [s["id"] for s in journey["sites"] if s["segment"] == "C4"]
    c5 = [s["id"] for s in journey["sites"] if s["segment"] == "C5"]
    mismatch = await act(
        runner,
        user,
        ASSIGN,
        {"journeyId": journey["id"], "version": journey["version"], "lotId": lot, "siteIds": c4},
    )
    assert [e["code"] for e in mismatch["errors"]] == ["SEGMENT_MISMATCH"]
    assert "segment" in mismatch["errors"][0]["message"]
    # A mono-site lot takes one site; two at once are refused.
    two = await act(
        runner,
        user,
        ASSIGN,
        {"journeyId": journey["id"], "version": journey["version"], "lotId": lot, "siteIds": c5},
    )
    assert [e["code"] for e in two["errors"]] == ["INVALID_STATE"]
    one = await act(
        runner,
        user,
        ASSIGN,
        {
            "journeyId": journey["id"],
            "version": journey["version"],
            "lotId": lot,
            "siteIds": c5[:1],
        },
    )
    assert one["errors"] == [] and one["journey"]["lots"][0]["siteCount"] == 1
    missing = {m["message"] for m in one["journey"]["missing"] if m["step"] == "BILLING"}
    assert len(missing) == 2  # the other C5 and the C4 are in no lot


async def test_two_editors_never_lose_an_answer(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    """Both load version v; the first save wins; the second is refused with nothing written
    and saves once reloaded; both answers are there."""
    user = market.world.people["USER"]
    admin = market.world.people["ADMIN"]  # the coordinator may fill in for the member
    seen_by_user = await journey_of(runner, user, market.campaign)
    seen_by_admin = await admins_view(runner, market)
    assert seen_by_admin["version"] == seen_by_user["version"]
    first, second = seen_by_user["sites"][0]["id"], seen_by_user["sites"][1]["id"]
    won = await act(
        runner,
        user,
        UPDATE_SITES,
        {
            "journeyId": seen_by_user["id"],
            "version": seen_by_user["version"],
            "siteIds": [first],
            "designation": "Mairie",
        },
    )
    assert won["errors"] == []
    lost = await act(
        runner,
        admin,
        UPDATE_SITES,
        {
            "journeyId": seen_by_admin["id"],
            "version": seen_by_admin["version"],
            "siteIds": [second],
            "designation": "École",
        },
    )
    assert [(e["field"], e["code"]) for e in lost["errors"]] == [("version", "VERSION_CONFLICT")]
    assert "rechargez" in lost["errors"][0]["message"]
    async with session_factory() as session:
        conn = await session.connection()
        stored = (
            await conn.execute(
                sa.text("SELECT designation FROM collection_sites WHERE id = :id"),
                {"id": int(_pk(second))},
            )
        ).scalar_one()
    assert stored is None  # the loser wrote nothing
    reloaded = await admins_view(runner, market)
    retried = await act(
        runner,
        admin,
        UPDATE_SITES,
        {
            "journeyId": reloaded["id"],
            "version": reloaded["version"],
            "siteIds": [second],
            "designation": "École",
        },
    )
    assert retried["errors"] == []
    designations = {s["id"]: s["designation"] for s in retried["journey"]["sites"]}
    assert designations[first] == "Mairie" and designations[second] == "École"


async def admins_view(runner: Runner, market: Market) -> dict[str, Any]:
    """The USER's member's journey as the group's ADMIN loads it."""
    member = gid("Member", market.world.member.id)  # type: ignore[arg-type]
    data = await runner.run(
        JOURNEYS,
        {"filter": {"campaignId": market.campaign, "memberIds": [member]}},
        as_user=market.world.people["ADMIN"],
    )
    node: dict[str, Any] = data["collectionJourneys"]["edges"][0]["node"]
    return node


def _pk(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


async def test_concurrent_saves_on_one_version_keep_exactly_one(
    runner: Runner, market: Market
) -> None:
    import asyncio

    user = market.world.people["USER"]
    journey = await journey_of(runner, user, market.campaign)
    sites = [s["id"] for s in journey["sites"]]

    async def save(site: str, name: str) -> dict[str, Any]:
        return await act(
            runner,
            user,
            UPDATE_SITES,
            {
                "journeyId": journey["id"],
                "version": journey["version"],
                "siteIds": [site],
                "designation": name,
            },
        )

    answers = await asyncio.gather(save(sites[0], "A"), save(sites[1], "B"), save(sites[2], "C"))
    winners = [a for a in answers if not a["errors"]]
    assert len(winners) == 1
    assert all(a["errors"][0]["code"] == "VERSION_CONFLICT" for a in answers if a["errors"])
    final = await journey_of(runner, user, market.campaign)
    assert final["version"] == journey["version"] + 1
    assert sum(s["designation"] is not None for s in final["sites"]) == 1


async def test_validation_locks_mails_and_the_back_office_unlocks(
    runner: Runner, market: Market
) -> None:
    user = market.world.people["USER"]
    siren = make_siren("21410018")
    journey = await complete_journey(runner, user, market.campaign, siren)
    assert journey["status"] == "VALIDATED" and journey["validatedAt"]
    locked = await act(
        runner,
        user,
        SAVE_ADMIN,
        {"journeyId": journey["id"], "version": journey["version"], "city": "Vendôme"},
    )
    assert [e["code"] for e in locked["errors"]] == ["INVALID_STATE"]
    mails = await runner.mails_to(user.email, "collection_validated")
    assert len(mails) == 1
    context = mails[0].context
    assert len(context["sites"]) == 3
    assert {s["decision"] for s in context["sites"]} == {"Bascule confirmée", "Refusé"}
    assert len(await runner.mails_to("claire.martin@mairie.test", "collection_validated")) >= 1
    # Only the back office unlocks.
    denied = await runner.raw(UNLOCK, {"i": {"journeyId": journey["id"]}}, as_user=user)
    assert denied.errors and denied.errors[0].extensions["code"] == "FORBIDDEN"
    unlocked = await act(runner, market.operator, UNLOCK, {"journeyId": journey["id"]})
    assert unlocked["errors"] == []
    assert unlocked["journey"]["status"] == "IN_PROGRESS"
    assert unlocked["journey"]["version"] == journey["version"] + 1


async def test_the_coordinators_view_agrees_with_sql(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    user = market.world.people["USER"]
    await complete_journey(runner, user, market.campaign, make_siren("21410026"))
    admin = market.world.people["ADMIN"]
    data = await runner.run(CAMPAIGNS, as_user=admin)
    progress = next(c for c in data["collectionCampaigns"] if c["id"] == market.campaign)[
        "progress"
    ]
    campaign_pk = int(_pk(market.campaign))
    async with session_factory() as session:
        conn = await session.connection()
        by_status = dict(
            (
                await conn.execute(
                    sa.text(
                        "SELECT status, count(*) FROM collection_journeys "
                        "WHERE campaign_id = :c GROUP BY status"
                    ),
                    {"c": campaign_pk},
                )
            ).all()
        )
        confirmed = (
            await conn.execute(
                sa.text(
                    "SELECT count(*) FROM collection_sites s JOIN collection_journeys j "
                    "ON j.id = s.journey_id WHERE j.campaign_id = :c AND s.decision = 'CONFIRMED'"
                ),
                {"c": campaign_pk},
            )
        ).scalar_one()
    members = sum(by_status.values())
    assert progress["members"] == members == 3
    assert progress["validated"] == by_status.get("VALIDATED", 0) == 1
    assert progress["nonRespondents"] == members - 1
    assert progress["responseRatePct"] == round(100 / 3, 1)
    assert progress["sitesConfirmed"] == confirmed == 2
    # Filters: the respondents and the non-respondents.
    validated = await runner.run(
        PROGRESS_LIST,
        {"filter": {"campaignId": market.campaign, "statuses": ["VALIDATED"]}},
        as_user=admin,
    )
    assert validated["collectionJourneys"]["totalCount"] == 1
    others = await runner.run(
        PROGRESS_LIST,
        {"filter": {"campaignId": market.campaign, "statuses": ["NOT_STARTED", "IN_PROGRESS"]}},
        as_user=admin,
    )
    assert others["collectionJourneys"]["totalCount"] == 2
    # The member sees its own journey only.
    mine = await runner.run(
        PROGRESS_LIST, {"filter": {"campaignId": market.campaign}}, as_user=user
    )
    names = [e["node"]["memberLegalName"] for e in mine["collectionJourneys"]["edges"]]
    assert names == [market.world.member.legal_name]
    # The export lists every member.
    exported = await act(
        runner,
        admin,
        EXPORT_PROGRESS,
        {"filter": {"campaignId": market.campaign}, "format": "XLSX"},
    )
    assert exported["errors"] == [] and exported["rowCount"] == 3


async def test_the_progress_list_runs_the_same_statements_whatever_the_page(
    runner: Runner,
    count_sql: SqlCounter,
    session_factory: async_sessionmaker[AsyncSession],
    market: Market,
) -> None:
    admin = market.world.people["ADMIN"]
    counts = {}
    for first in (1, 3):
        with count_sql() as statements:
            data = await runner.run(
                PROGRESS_LIST,
                {"filter": {"campaignId": market.campaign}, "first": first},
                as_user=admin,
            )
        assert len(data["collectionJourneys"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[1] == counts[3], counts


async def test_reminders_go_once_a_day_to_each_person(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    admin = market.world.people["ADMIN"]
    user = market.world.people["USER"]
    await make_person(
        session_factory,
        f"dgs.{market.silent.id}@syndicat.test",
        tier=Tier.USER,
        member_id=market.silent.id,
    )
    first = await act(runner, admin, REMIND, {"campaignId": market.campaign})
    assert first["errors"] == []
    assert first["members"] == 3
    assert first["queued"] == 2  # the USER of the world's member and the silent one's person
    again = await act(runner, admin, REMIND, {"campaignId": market.campaign})
    assert again["queued"] == 0 and again["alreadyRemindedToday"] == 2
    # The next day, again once.
    data = await runner.run(
        REMIND, {"i": {"campaignId": market.campaign}}, as_user=admin, now=NOW + timedelta(days=1)
    )
    assert data["sendCollectionReminders"]["queued"] == 2
    assert len(await runner.mails_to(user.email, "collection_reminder")) == 2


async def test_closing_builds_the_expected_portfolio_once(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    user = market.world.people["USER"]
    siren = make_siren("21410034")
    validated = await complete_journey(runner, user, market.campaign, siren)
    refused_point = next(s["pointNumber"] for s in validated["sites"] if s["segment"] == "C4")
    confirmed_points = sorted(s["pointNumber"] for s in validated["sites"] if s["segment"] == "C5")
    closed = await act(runner, market.operator, CLOSE, {"campaignId": market.campaign})
    assert closed["errors"] == []
    assert closed["membersClosed"] == 3
    assert closed["sitesSwitched"] == 2
    assert closed["sitesRefused"] == 1
    assert closed["sitesDefaulted"] == 3  # the other member's one, the silent one's two
    member_id = market.world.member.id
    async with session_factory() as session:
        conn = await session.connection()
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT s.point_number, s.supply_start, s.green_share_pct, b.invoice_label, "
                    "b.payment_method, b.billing_frequency, b.invoice_delivery, b.is_multi_site, "
                    "b.recipient_siret, b.chorus_service_code "
                    "FROM sites s JOIN billing_accounts b ON b.id = s.billing_account_id "
                    "WHERE s.member_id = :m AND s.point_number LIKE '77%' ORDER BY s.point_number"
                ),
                {"m": member_id},
            )
        ).all()
        member = (
            await conn.execute(
                sa.text("SELECT legal_name, siren, switched_on FROM members WHERE id = :m"),
                {"m": member_id},
            )
        ).one()
        silent = (
            await conn.execute(
                sa.text(
                    "SELECT b.payment_method, b.billing_frequency, b.invoice_delivery, "
                    "b.is_multi_site, s.green_share_pct FROM sites s JOIN billing_accounts b "
                    "ON b.id = s.billing_account_id WHERE s.member_id = :m"
                ),
                {"m": market.silent.id},
            )
        ).all()
        refused_in_portfolio = (
            await conn.execute(
                sa.text("SELECT count(*) FROM sites WHERE point_number = :p"), {"p": refused_point}
            )
        ).scalar_one()
    assert [r[0] for r in rows] == confirmed_points
    for r in rows:
        assert str(r[1]) == "2027-01-01" and r[2] == 50
        assert tuple(r[3:8]) == (
            "Bâtiments communaux",
            "PUBLIC_ACCOUNTING_MANDATE",
            "MONTHLY",
            "CHORUS_PRO",
            True,
        )
        assert r[8] == make_siret(siren, "0002") and r[9] == "FINANCES"
    assert tuple(member[:2]) == ("Commune de Blois", siren)
    assert str(member[2]) == "2027-01-01"
    assert refused_in_portfolio == 0
    # The silent member: one account per site, transfer, bimonthly (C5), post, 0 %.
    assert sorted(tuple(r) for r in silent) == [("TRANSFER", "BIMONTHLY", "POST", False, 0)] * 2
    # Closing again changes nothing.
    again = await act(runner, market.operator, CLOSE, {"campaignId": market.campaign})
    assert (again["membersClosed"], again["sitesSwitched"], again["sitesDefaulted"]) == (0, 0, 0)
    async with session_factory() as session:
        conn = await session.connection()
        count = (
            await conn.execute(
                sa.text("SELECT count(*) FROM sites WHERE member_id IN (:a, :b, :c)"),
                {"a": member_id, "b": market.world.other_member.id, "c": market.silent.id},
            )
        ).scalar_one()
    assert count == 3 + 2 + 1 + 2  # the world's own 3 sites, then 2 + 1 + 2 switched
    # The switch report, per member.
    report = await act(
        runner,
        market.world.people["ADMIN"],
        EXPORT_REPORT,
        {"campaignId": market.campaign, "format": "CSV"},
    )
    assert report["errors"] == [] and report["rowCount"] == 6
    # The welcome packs were queued for the member's people.
    assert len(await runner.mails_to(user.email, "welcome_pack")) == 1


async def test_two_closings_at_once_switch_each_site_once(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    import asyncio

    await complete_journey(
        runner, market.world.people["USER"], market.campaign, make_siren("21410059")
    )
    first, second = await asyncio.gather(
        act(runner, market.operator, CLOSE, {"campaignId": market.campaign}),
        act(runner, market.operator, CLOSE, {"campaignId": market.campaign}),
    )
    assert first["errors"] == [] and second["errors"] == []
    assert first["membersClosed"] + second["membersClosed"] == 3
    switched = first["sitesSwitched"] + second["sitesSwitched"]
    defaulted = first["sitesDefaulted"] + second["sitesDefaulted"]
    assert (switched, defaulted) == (2, 3)
    async with session_factory() as session:
        conn = await session.connection()
        per_point = (
            await conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT s.point_number) FROM sites s "
                    "JOIN collection_sites c ON c.site_id = s.id JOIN collection_journeys j "
                    "ON j.id = c.journey_id WHERE j.campaign_id = :c"
                ),
                {"c": int(_pk(market.campaign))},
            )
        ).one()
    assert tuple(per_point) == (5, 5)


async def test_a_large_perimeter_is_added_call_after_call(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    newcomer = await add_member(session_factory, market.world, "Régie des eaux")
    member = gid("Member", newcomer.id)  # type: ignore[arg-type]
    site = prefilled_site()
    added = await act(
        runner,
        market.operator,
        ADD_MEMBERS,
        {"campaignId": market.campaign, "members": [{"memberId": member, "sites": [site]}]},
    )
    assert added["errors"] == []
    assert added["campaign"]["progress"] == {"members": 4, "sitesTotal": 7}
    again = await act(
        runner,
        market.operator,
        ADD_MEMBERS,
        {"campaignId": market.campaign, "members": [{"memberId": member, "sites": []}]},
    )
    assert [e["code"] for e in again["errors"]] == ["ALREADY_EXISTS"]
    other = await add_member(session_factory, market.world, "Office de tourisme")
    taken = await act(
        runner,
        market.world.people["ADMIN"],
        ADD_MEMBERS,
        {
            "campaignId": market.campaign,
            "members": [{"memberId": gid("Member", other.id), "sites": [site]}],  # type: ignore[arg-type]
        },
    )
    assert [e["code"] for e in taken["errors"]] == ["ALREADY_EXISTS"]
    assert "déjà dans la campagne" in taken["errors"][0]["message"]


async def test_a_siren_another_member_holds_does_not_stop_the_closing(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], market: Market
) -> None:
    taken = market.silent.siren
    await complete_journey(runner, market.world.people["USER"], market.campaign, taken)
    closed = await act(runner, market.operator, CLOSE, {"campaignId": market.campaign})
    assert closed["errors"] == [] and closed["membersClosed"] == 3
    async with session_factory() as session:
        conn = await session.connection()
        siren = (
            await conn.execute(
                sa.text("SELECT siren FROM members WHERE id = :m"), {"m": market.world.member.id}
            )
        ).scalar_one()
    assert siren == market.world.member.siren
