"""Tariff optimisation through the API: a campaign over crafted gas sites (figures computed by
hand from the demo grid of February 2026), the list and its filters against SQL written here,
accepting (the "Optimisation" technical request, atomically), declining, the deadline, the
yearly record, the file, and the statements a page costs."""

from __future__ import annotations

import base64
import csv
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import OptimisationProposal, Site, TariffGrid, TechnicalRequest, User
from demo.tariff_grids import grid_rows
from domain.enums import ReadingSource, Register, Segment, Tier
from tests.clock import TODAY
from tests.factories import World, make_metered_site, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

RUN = """
mutation($i: RunOptimisationCampaignInput!) {
  runOptimisationCampaign(input: $i) {
    campaign { asOf threshold gridVersions sitesStudied sitesOnReadings proposals superseded }
    errors { field code message }
  }
}"""

LIST = """
query($filter: OptimisationProposalFilter, $order: OptimisationOrder, $first: Int,
      $after: String) {
  optimisationProposals(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id pointNumber memberLegalName energy currentOption proposedOption currentOptionLabel
      proposedOptionLabel consumptionKwh consumptionBasis consumptionFrom consumptionTo
      currentYearlyCost proposedYearlyCost grossGain fees netGain gridVersion threshold
      proposedOn answerBy state stateLabel technicalRequestReference expectedChangeOn
      changedOn options { option label yearlyCost } site { id segment }
      technicalRequest { reference requestType status characteristics comment }
    } }
  }
}"""

ACCEPT = """
mutation($i: AcceptOptimisationInput!) {
  acceptOptimisation(input: $i) {
    proposal { id state technicalRequestReference expectedChangeOn
               technicalRequest { reference requestType status characteristics comment } }
    errors { field code message }
  }
}"""

DECLINE = """
mutation($i: DeclineOptimisationInput!) {
  declineOptimisation(input: $i) {
    proposal { id state answerComment } errors { field code message }
  }
}"""

ADVANCE = """
mutation($i: AdvanceTechnicalRequestInput!) {
  advanceTechnicalRequest(input: $i) { technicalRequest { status } errors { field code message } }
}"""

CARRIED_OUT = """
query($year: Int!) {
  optimisationsCarriedOut(year: $year) { pointNumber memberLegalName nature changedOn netGain }
}"""

EXPORT = """
mutation($i: ExportOptimisationProposalsInput!) {
  exportOptimisationProposals(input: $i) { url rowCount errors { field code message } }
}"""

CONTACT = {"name": "Anne Martin", "phone": "06 12 34 56 78", "email": "anne.martin@example.test"}


async def ensure_grids(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The demo grids, once per test database (other modules may have laid them already)."""
    async with sessions() as session, session.begin():
        known = set((await session.exec(sa.select(TariffGrid.version))).scalars().all())  # type: ignore[call-overload]
        for row in grid_rows():
            if row["version"] not in known:
                session.add(TariffGrid(**{k: v for k, v in row.items() if k != "id"}))


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def _yearly_readings(start: int, kwh: int) -> list[Any]:
    """Two actual readings a year apart (2025-10-31, 2026-10-31) and an estimate between."""
    return [
        (date(2025, 10, 31), Register.BASE, start, ReadingSource.DISTRIBUTOR_ACTUAL, False),
        (date(2026, 4, 30), Register.BASE, start + 1, ReadingSource.SUPPLIER_ESTIMATED, False),
        (date(2026, 10, 31), Register.BASE, start + kwh, ReadingSource.DISTRIBUTOR_ACTUAL, False),
    ]


class Optim:
    def __init__(self, world: World, sites: dict[str, Site], operator: User) -> None:
        self.world = world
        self.sites = sites
        self.operator = operator
        self.campaign: dict[str, Any] = {}

    def proposal_of(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        number = self.sites[name].point_number
        [node] = [
            e["node"]
            for e in data["optimisationProposals"]["edges"]
            if e["node"]["pointNumber"] == number
        ]
        return node


@pytest.fixture(scope="module")
async def optim(session_factory: async_sessionmaker[AsyncSession], runner: Runner) -> Optim:
    await ensure_grids(session_factory)
    world = await make_world(session_factory, "Optim")
    a0, a1, a2 = world.accounts
    specs: dict[str, tuple[Any, Segment, int, list[Any]]] = {
        "t3_car": (a0, Segment.T3, 80_000, []),
        "t3_readings": (a0, Segment.T3, 500_000, _yearly_readings(100_000, 60_000)),
        "t2_right": (a0, Segment.T2, 50_000, []),
        "t2_small": (a0, Segment.T2, 3_000, []),
        "declined": (a1, Segment.T3, 90_000, []),
        "expired": (a1, Segment.T3, 100_000, []),
        "other_member": (a2, Segment.T3, 80_000, []),
    }
    sites = {}
    for name, (account, segment, car, readings) in specs.items():
        site, _ = await make_metered_site(
            session_factory,
            account,
            segment=segment,
            car_kwh=car,
            digits=9,
            readings=readings,
            profile="P016",
        )
        sites[name] = site
    operator, _ = await make_person(session_factory, "guichet-optim@c.test", tier=Tier.OPERATOR)
    optim = Optim(world, sites, operator)
    answer = await runner.run(
        RUN,
        {"i": {"groupId": gid("Group", world.group.id), "threshold": "500"}},
        as_user=world.people["ADMIN"],
    )
    optim.campaign = answer["runOptimisationCampaign"]
    return optim


# -- the campaign ------------------------------------------------------------------------------


async def test_the_campaign_keeps_the_proposals_above_the_threshold(optim: Optim) -> None:
    assert optim.campaign["errors"] == []
    assert optim.campaign["campaign"] == {
        "asOf": TODAY.isoformat(),
        "threshold": "500.00",
        "gridVersions": ["ATRD7-GRDF-2026-02", "TURPE-C5-2026-02"],
        # 7 gas sites; the world's own C5 sites have no subscribed power to price
        "sitesStudied": 7,
        "sitesOnReadings": 1,
        # t2_right is on its best option; t2_small gains 20.66 € net, below 500 €
        "proposals": 5,
        "superseded": 0,
    }


async def test_figures_computed_by_hand(runner: Runner, optim: Optim) -> None:
    data = await runner.run(LIST, {"first": 20}, as_user=optim.world.people["ADMIN"])
    by_car = optim.proposal_of(data, "t3_car")
    # Grid ATRD7-GRDF-2026-02, CTA 20.80 % of the fixed term, 80,000 kWh (the CAR):
    # T3 1,224.60 × 1.208 + 0.0067 × 80,000 = 2,015.32; T2 180.12 × 1.208 + 752 = 969.58;
    # fees 42.00 + 26.50 (special reading) = 68.50.
    assert {k: by_car[k] for k in ("currentOption", "proposedOption", "consumptionBasis")} == {
        "currentOption": "T3",
        "proposedOption": "T2",
        "consumptionBasis": "CAR",
    }
    assert (
        by_car["consumptionKwh"],
        by_car["currentYearlyCost"],
        by_car["proposedYearlyCost"],
    ) == (
        80_000,
        "2015.32",
        "969.58",
    )
    assert (by_car["grossGain"], by_car["fees"], by_car["netGain"]) == (
        "1045.74",
        "68.50",
        "977.24",
    )
    assert {o["option"]: o["yearlyCost"] for o in by_car["options"]} == {
        "T1": "2643.72",  # 49.44 × 1.208 + 0.0323 × 80,000
        "T2": "969.58",
        "T3": "2015.32",
        "T4": "29692.00",  # 24,500 × 1.208 + 0.0012 × 80,000
    }
    assert by_car["answerBy"] == (TODAY + timedelta(days=30)).isoformat()
    assert by_car["state"] == "PROPOSED" and by_car["gridVersion"] == "ATRD7-GRDF-2026-02"
    assert by_car["threshold"] == "500.00" and by_car["technicalRequest"] is None
    # A year of actual readings (60,000 kWh between the two distributor readings; the estimate
    # in between does not count) replaces the CAR of 500,000 kWh.
    by_readings = optim.proposal_of(data, "t3_readings")
    assert by_readings["consumptionBasis"] == "READINGS"
    assert (by_readings["consumptionFrom"], by_readings["consumptionTo"]) == (
        "2025-10-31",
        "2026-10-31",
    )
    assert by_readings["consumptionKwh"] == 60_000
    # T3 1,479.3168 + 402 = 1,881.32; T2 217.58496 + 564 = 781.58
    assert (by_readings["currentYearlyCost"], by_readings["proposedYearlyCost"]) == (
        "1881.32",
        "781.58",
    )
    assert by_readings["netGain"] == "1031.24"


async def test_the_list_agrees_with_sql_and_filters_and_orders(
    runner: Runner, optim: Optim
) -> None:
    world = optim.world
    async with runner.sessions() as session:
        rows = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT p.id, p.member_id FROM optimisation_proposals p "
                    "JOIN sites s ON s.id = p.site_id JOIN members m ON m.id = s.member_id "
                    "WHERE m.group_id = :g ORDER BY p.id"
                ),
                {"g": world.group.id},
            )
        ).all()
    admin = await runner.run(LIST, {"first": 50}, as_user=world.people["ADMIN"])
    assert admin["optimisationProposals"]["totalCount"] == len(rows) >= 5
    gains = [Decimal(e["node"]["netGain"]) for e in admin["optimisationProposals"]["edges"]]
    assert gains == sorted(gains, reverse=True)
    # the USER sees its member's proposals only; the member filter says the same for the ADMIN
    mine = {r.id for r in rows if r.member_id == world.member.id}
    user = await runner.run(LIST, {"first": 50}, as_user=world.people["USER"])
    assert {_pk(e["node"]["id"]) for e in user["optimisationProposals"]["edges"]} == mine
    filtered = await runner.run(
        LIST,
        {"first": 50, "filter": {"memberIds": [gid("Member", world.member.id)]}},
        as_user=world.people["ADMIN"],
    )
    assert {_pk(e["node"]["id"]) for e in filtered["optimisationProposals"]["edges"]} == mine
    # the infra-user sees accounts[0]'s sites only
    infra = await runner.run(LIST, {"first": 50}, as_user=world.people["INFRA_USER"])
    assert {e["node"]["pointNumber"] for e in infra["optimisationProposals"]["edges"]} == {
        optim.sites["t3_car"].point_number,
        optim.sites["t3_readings"].point_number,
    }
    # minimum gain, energy, ascending order and keyset pages
    rich = await runner.run(
        LIST, {"first": 50, "filter": {"minNetGain": "1000"}}, as_user=world.people["ADMIN"]
    )
    assert all(
        Decimal(e["node"]["netGain"]) >= 1000 for e in rich["optimisationProposals"]["edges"]
    )
    assert optim.sites["t3_readings"].point_number in {
        e["node"]["pointNumber"] for e in rich["optimisationProposals"]["edges"]
    }
    electricity = await runner.run(
        LIST, {"filter": {"energy": "ELECTRICITY"}}, as_user=world.people["ADMIN"]
    )
    assert electricity["optimisationProposals"]["totalCount"] == 0
    seen: list[Decimal] = []
    after = None
    while True:
        page = await runner.run(
            LIST,
            {"first": 2, "after": after, "order": "NET_GAIN_ASC"},
            as_user=world.people["ADMIN"],
        )
        seen += [Decimal(e["node"]["netGain"]) for e in page["optimisationProposals"]["edges"]]
        if not page["optimisationProposals"]["pageInfo"]["hasNextPage"]:
            break
        after = page["optimisationProposals"]["pageInfo"]["endCursor"]
    assert seen == sorted(gains)


async def test_a_page_costs_the_same_statements_whatever_its_size(
    runner: Runner, optim: Optim, count_sql: SqlCounter
) -> None:
    counts = []
    for first in (1, 5):
        with count_sql() as counted:
            await runner.run(LIST, {"first": first}, as_user=optim.world.people["ADMIN"])
        counts.append(len(counted))
    assert counts[0] == counts[1]


# -- the answer --------------------------------------------------------------------------------


async def test_accepting_files_the_optimisation_request_and_tracks_it_to_the_change(
    runner: Runner, optim: Optim
) -> None:
    world = optim.world
    data = await runner.run(LIST, {"first": 20}, as_user=world.people["USER"])
    proposal = optim.proposal_of(data, "t3_car")
    requests_before = await runner.count(TechnicalRequest)
    # when the member's user accepts
    answer = (
        await runner.run(
            ACCEPT,
            {"i": {"proposalId": proposal["id"], "contact": CONTACT}},
            as_user=world.people["USER"],
        )
    )["acceptOptimisation"]
    # then the "Optimisation" request exists, with the proposed option and the special reading
    assert answer["errors"] == []
    accepted = answer["proposal"]
    assert accepted["state"] == "ACCEPTED"
    request = accepted["technicalRequest"]
    assert request["requestType"] == "OPTIMISATION" and request["status"] == "SUBMITTED"
    assert request["characteristics"] == {"desired_tariff_option": "T2"}
    assert "Relevé spécial" in request["comment"] and "26,50\u00a0€ HT" in request["comment"]
    assert accepted["technicalRequestReference"] == request["reference"]
    assert accepted["expectedChangeOn"] is not None
    assert await runner.count(TechnicalRequest) == requests_before + 1
    async with runner.sessions() as session:
        row = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT r.request_type, r.site_id, r.details FROM optimisation_proposals p "
                    "JOIN technical_requests r ON r.id = p.technical_request_id WHERE p.id = :p"
                ),
                {"p": _pk(proposal["id"])},
            )
        ).one()
    assert row.request_type == "OPTIMISATION" and row.site_id == optim.sites["t3_car"].id
    # the request is in the technical requests' list, and its author got the summary
    listed = await runner.run(
        "query { technicalRequests(filter: {types: [OPTIMISATION]}) "
        "{ edges { node { reference } } } }",
        as_user=world.people["USER"],
    )
    assert request["reference"] in {
        e["node"]["reference"] for e in listed["technicalRequests"]["edges"]
    }
    assert await runner.mails_to(world.email("USER"), "technical_request")
    # a second answer is refused
    again = (
        await runner.run(
            ACCEPT,
            {"i": {"proposalId": proposal["id"], "contact": CONTACT}},
            as_user=world.people["ADMIN"],
        )
    )["acceptOptimisation"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_STATE"]
    # when the distributor makes the change, the proposal is carried out on that date
    request_id = gid("TechnicalRequest", await _request_id(runner, proposal["id"]))
    for step in (
        {"status": "FORWARDED", "caseNumber": "OMEGA123456789"},
        {"status": "SCHEDULED", "appointmentAt": "2026-12-21T08:00:00Z"},
        {"status": "DONE", "effectiveAt": "2026-12-21T10:00:00Z"},
    ):
        moved = await runner.run(
            ADVANCE, {"i": {"requestId": request_id, **step}}, as_user=optim.operator
        )
        assert moved["advanceTechnicalRequest"]["errors"] == []
    done = optim.proposal_of(
        await runner.run(LIST, {"first": 20}, as_user=world.people["ADMIN"]), "t3_car"
    )
    assert (done["state"], done["changedOn"]) == ("CARRIED_OUT", "2026-12-21")
    record = await runner.run(CARRIED_OUT, {"year": 2026}, as_user=world.people["ADMIN"])
    assert record["optimisationsCarriedOut"] == [
        {
            "pointNumber": optim.sites["t3_car"].point_number,
            "memberLegalName": world.member.legal_name,
            "nature": "T3 → T2",
            "changedOn": "2026-12-21",
            "netGain": "977.24",
        }
    ]
    assert (await runner.run(CARRIED_OUT, {"year": 2025}, as_user=world.people["ADMIN"]))[
        "optimisationsCarriedOut"
    ] == []


async def _request_id(runner: Runner, proposal_gid: str) -> int:
    async with runner.sessions() as session:
        proposal = await session.get(OptimisationProposal, _pk(proposal_gid))
    assert proposal is not None and proposal.technical_request_id is not None
    return proposal.technical_request_id


async def test_a_refused_request_leaves_the_proposal_unanswered(
    runner: Runner, optim: Optim
) -> None:
    data = await runner.run(LIST, {"first": 20}, as_user=optim.world.people["USER"])
    proposal = optim.proposal_of(data, "t3_readings")
    before = await runner.count(TechnicalRequest)
    answer = (
        await runner.run(
            ACCEPT,
            {"i": {"proposalId": proposal["id"], "contact": {**CONTACT, "phone": "abc"}}},
            as_user=optim.world.people["USER"],
        )
    )["acceptOptimisation"]
    assert answer["proposal"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("contact.phone", "INVALID")]
    assert await runner.count(TechnicalRequest) == before
    async with runner.sessions() as session:
        stored = await session.get(OptimisationProposal, _pk(proposal["id"]))
    assert stored is not None and stored.status == "PROPOSED"
    assert stored.technical_request_id is None


async def test_declining_and_the_deadline(runner: Runner, optim: Optim) -> None:
    world = optim.world
    data = await runner.run(LIST, {"first": 20}, as_user=world.people["ADMIN"])
    declined = optim.proposal_of(data, "declined")
    answer = (
        await runner.run(
            DECLINE,
            {"i": {"proposalId": declined["id"], "reason": "Chaufferie remplacée en 2027."}},
            as_user=world.people["ADMIN"],
        )
    )["declineOptimisation"]
    assert answer["errors"] == []
    assert answer["proposal"]["state"] == "DECLINED"
    assert answer["proposal"]["answerComment"] == "Chaufferie remplacée en 2027."
    # past the 30 days, no answer is taken and the list says EXPIRED
    expired = optim.proposal_of(data, "expired")
    async with runner.sessions() as session, session.begin():
        stored = await session.get(OptimisationProposal, _pk(expired["id"]))
        assert stored is not None
        stored.answer_by = TODAY - timedelta(days=1)
        session.add(stored)
    late = (
        await runner.run(
            ACCEPT,
            {"i": {"proposalId": expired["id"], "contact": CONTACT}},
            as_user=world.people["USER"],
        )
    )["acceptOptimisation"]
    assert [e["code"] for e in late["errors"]] == ["INVALID_STATE"]
    listed = await runner.run(
        LIST, {"filter": {"states": ["EXPIRED"]}}, as_user=world.people["ADMIN"]
    )
    assert [e["node"]["id"] for e in listed["optimisationProposals"]["edges"]] == [expired["id"]]


async def test_a_read_only_third_party_sees_but_does_not_answer(
    runner: Runner, optim: Optim
) -> None:
    world = optim.world
    data = await runner.run(LIST, {"first": 20}, as_user=world.people["THIRD_PARTY"])
    theirs = {e["node"]["pointNumber"] for e in data["optimisationProposals"]["edges"]}
    assert optim.sites["other_member"].point_number in theirs  # accounts[2] is in its grant
    proposal = optim.proposal_of(data, "other_member")
    answer = (
        await runner.run(
            DECLINE, {"i": {"proposalId": proposal["id"]}}, as_user=world.people["THIRD_PARTY"]
        )
    )["declineOptimisation"]
    assert [e["code"] for e in answer["errors"]] == ["FORBIDDEN"]


async def test_only_an_admin_of_the_group_runs_a_campaign(runner: Runner, optim: Optim) -> None:
    world = optim.world
    variables = {"i": {"groupId": gid("Group", world.group.id), "threshold": "500"}}
    refused = await runner.raw(RUN, variables, as_user=world.people["USER"])
    assert [e.extensions["code"] for e in refused.errors] == ["FORBIDDEN"]
    bad = await runner.run(
        RUN,
        {"i": {"groupId": gid("Group", world.group.id), "threshold": "-1"}},
        as_user=world.people["ADMIN"],
    )
    assert [(e["field"], e["code"]) for e in bad["runOptimisationCampaign"]["errors"]] == [
        ("threshold", "INVALID")
    ]


async def test_a_new_campaign_supersedes_the_unanswered_proposals_it_studies_again(
    runner: Runner, optim: Optim
) -> None:
    world = optim.world
    # at exactly the net gain (977.24) the other member's site is kept; its older proposal
    # (same figures) is superseded
    answer = await runner.run(
        RUN,
        {
            "i": {
                "groupId": gid("Group", world.group.id),
                "threshold": "977.24",
                "memberIds": [gid("Member", world.other_member.id)],
            }
        },
        as_user=world.people["ADMIN"],
    )
    campaign = answer["runOptimisationCampaign"]["campaign"]
    assert (campaign["sitesStudied"], campaign["proposals"], campaign["superseded"]) == (1, 1, 1)
    async with runner.sessions() as session:
        statuses = (
            (
                await (await session.connection()).execute(
                    sa.text(
                        "SELECT status FROM optimisation_proposals WHERE site_id = :s ORDER BY id"
                    ),
                    {"s": optim.sites["other_member"].id},
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["SUPERSEDED", "PROPOSED"]


async def test_the_file_sent_to_members_has_an_answer_column(runner: Runner, optim: Optim) -> None:
    from urllib.parse import urlsplit

    from auth.signed_urls import verify_file_token

    answer = await runner.run(
        EXPORT,
        {"i": {"format": "CSV", "filter": {"memberIds": [gid("Member", optim.world.member.id)]}}},
        as_user=optim.world.people["ADMIN"],
    )
    export = answer["exportOptimisationProposals"]
    assert export["errors"] == []
    token = urlsplit(export["url"]).path.rsplit("/", 1)[1]
    path = runner.settings.files_dir / verify_file_token(runner.settings.signing_secret, token)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert "Réponse (Acceptée / Refusée)" in header and "Gain net 1re année (€ HT)" in header
    assert len(body) == export["rowCount"] >= 3
    answers = {
        row[header.index("PRM / PCE")]: row[header.index("Réponse (Acceptée / Refusée)")]
        for row in body
    }
    assert answers[optim.sites["t3_car"].point_number] == "Acceptée"
    assert answers[optim.sites["t3_readings"].point_number] == ""


async def test_another_groups_admin_sees_none_of_it(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], optim: Optim
) -> None:
    other = await make_world(session_factory, "Optim voisin")
    admin = other.people["ADMIN"]
    data = await runner.run(LIST, {"first": 50}, as_user=admin)
    assert data["optimisationProposals"]["totalCount"] == 0
    record = await runner.run(CARRIED_OUT, {"year": 2026}, as_user=admin)
    assert record["optimisationsCarriedOut"] == []
