"""The parc: the sites list (filters, orderings, pages), the technical sheet, the summary,
and editing customer references."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Alert, AuditEntry, Meter, Site, User
from db.site_search import refresh_site_search
from domain.enums import AlertKind, AlertStatus, MeterKind, SiteStatus
from tests.factories import World, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

SITES = """
query Sites($filter: SiteFilter, $orderBy: SiteOrder, $first: Int, $after: String) {
  sites(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { pointNumber city status
      member { legalName } billingAccount { number }
      currentMeter { serial kind } lastActualReadings { register index readOn source } } }
  }
}
"""
SHEET = """
query Sheet($id: ID!) {
  node(id: $id) {
    ... on Site {
      pointNumber segment carKwh status supplyStart internalCode designation otherReference
      member { legalName } billingAccount { number invoiceLabel }
      currentMeter { serial } meters { serial removedOn }
      lastActualReadings { register index }
      canSubmitSelfReading canEditReferences
    }
  }
}
"""
BY_POINT = "query($p: String!) { siteByPointNumber(pointNumber: $p) { pointNumber city } }"
SUMMARY = """
query($filter: SiteFilter) {
  portfolioSummary(filter: $filter) {
    sites excludedFromDistribution
    byEnergy { energy sites } bySegment { segment sites } byStatus { status sites }
    consumptionClasses { label minKwh maxKwh sites }
  }
}
"""
UPDATE = """
mutation($input: UpdateSiteReferencesInput!) {
  updateSiteReferences(input: $input) {
    site { internalCode designation otherReference } errors { field code message }
  }
}
"""


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    world = await make_world(session_factory, "Parc")
    async with session_factory() as session, session.begin():
        first, second, third = world.sites
        await session.exec(
            sa.update(Site)
            .where(Site.id == first.id)
            .values(city="Saint-Niel-sur-Loire", designation="École Jules Ferry", car_kwh=4_000)
        )
        await session.exec(
            sa.update(Site)
            .where(Site.id == second.id)
            .values(status=SiteStatus.TERMINATED, car_kwh=50_000)
        )
        await session.exec(sa.update(Site).where(Site.id == third.id).values(car_kwh=150_000))
        session.add(
            Alert(
                site_id=first.id,
                kind=AlertKind.ZERO_CONSUMPTION,
                status=AlertStatus.OPEN,
                detected_on=first.supply_start,
                message="Consommation nulle",
            )
        )
        await refresh_site_search(session, member_ids=[world.member.id, world.other_member.id])
    return world


async def sites(runner: Runner, user: User, **variables: object) -> dict:
    return (await runner.run(SITES, variables, as_user=user))["sites"]


def points(page: dict) -> set[str]:
    return {edge["node"]["pointNumber"] for edge in page["edges"]}


async def test_each_tier_lists_its_sites_with_their_relations(runner: Runner, world: World) -> None:
    admin = await sites(runner, world.people["ADMIN"])
    assert admin["totalCount"] == 3
    node = next(
        e["node"] for e in admin["edges"] if e["node"]["pointNumber"] == world.sites[0].point_number
    )
    assert node["member"]["legalName"] == world.member.legal_name
    assert node["billingAccount"]["number"] == world.accounts[0].number
    assert node["currentMeter"]["kind"] == "LINKY"
    assert (await sites(runner, world.people["USER"]))["totalCount"] == 2
    assert points(await sites(runner, world.people["INFRA_USER"])) == {world.sites[0].point_number}
    assert points(await sites(runner, world.people["THIRD_PARTY"])) == {
        world.sites[0].point_number,
        world.sites[2].point_number,
    }


@pytest.mark.parametrize(
    ("site_filter", "expected"),
    [
        ({"text": "SAINT NIEL"}, {0}),
        ({"text": "saint-niel ecole"}, {0}),
        ({"text": "jules ferry"}, {0}),
        ({"text": "ccas"}, {2}),  # the member's legal name
        ({"text": "nowhere-at-all"}, set()),
        ({"statuses": ["TERMINATED"]}, {1}),
        ({"statuses": ["ACTIVE", "TERMINATING"]}, {0, 2}),
        ({"energies": ["GAS"]}, set()),
        ({"segments": ["C5"]}, {0, 1, 2}),
        ({"meterKinds": ["LINKY"]}, {0, 1, 2}),
        ({"meterKinds": ["ELECTROMECHANICAL"]}, set()),
        ({"communicating": False}, set()),
        ({"withOpenAlerts": True}, {0}),
        ({"withOpenAlerts": False}, {1, 2}),
    ],
)
async def test_filters(runner: Runner, world: World, site_filter: dict, expected: set[int]) -> None:
    page = await sites(runner, world.people["ADMIN"], filter=site_filter)
    assert points(page) == {world.sites[i].point_number for i in expected}
    assert page["totalCount"] == len(expected)


async def test_member_and_billing_account_filters(runner: Runner, world: World) -> None:
    by_member = await sites(
        runner, world.people["ADMIN"], filter={"memberIds": [gid("Member", world.other_member.id)]}
    )
    assert points(by_member) == {world.sites[2].point_number}
    by_account = await sites(
        runner,
        world.people["ADMIN"],
        filter={"billingAccountIds": [gid("BillingAccount", world.accounts[1].id)]},
    )
    assert points(by_account) == {world.sites[1].point_number}
    foreign = await sites(
        runner, world.people["ADMIN"], filter={"memberIds": [gid("Site", world.sites[0].id)]}
    )
    assert foreign["totalCount"] == 0


@pytest.mark.parametrize(
    "order",
    [
        "POINT_NUMBER",
        "LEGAL_NAME",
        "CITY",
        "POSTCODE",
        "INTERNAL_CODE",
        "SEGMENT",
        "CAR_DESC",
        "SUPPLY_START_DESC",
    ],
)
async def test_keyset_pages_add_up_in_every_order(runner: Runner, world: World, order: str) -> None:
    whole = await sites(runner, world.people["ADMIN"], orderBy=order)
    seen: list[str] = []
    after = None
    while True:
        page = await sites(runner, world.people["ADMIN"], orderBy=order, first=1, after=after)
        seen += [e["node"]["pointNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [e["node"]["pointNumber"] for e in whole["edges"]]
    if order == "CAR_DESC":
        assert seen == [world.sites[i].point_number for i in (2, 1, 0)]


async def test_bad_page_arguments(runner: Runner, world: World) -> None:
    odd_cursor = base64.urlsafe_b64encode(b'["not-a-date", "x"]').decode()
    for variables in (
        {"first": 0},
        {"first": 101},
        {"after": "not-a-cursor"},
        {"after": odd_cursor, "orderBy": "SUPPLY_START_DESC"},
        {"after": base64.urlsafe_b64encode(b"[1]").decode()},
    ):
        result = await runner.raw(SITES, variables, as_user=world.people["ADMIN"])
        assert result.errors[0].extensions["code"] == "INVALID"


async def test_the_technical_sheet_and_what_each_tier_may_do(runner: Runner, world: World) -> None:
    site_id = gid("Site", world.sites[0].id)
    sheet = (await runner.run(SHEET, {"id": site_id}, as_user=world.people["ADMIN"]))["node"]
    assert sheet["pointNumber"] == world.sites[0].point_number
    assert sheet["member"]["legalName"] == world.member.legal_name
    assert sheet["meters"] == [{"serial": sheet["currentMeter"]["serial"], "removedOn": None}]
    assert sheet["canEditReferences"] is True
    assert sheet["canSubmitSelfReading"] is False  # a Linky is read remotely
    third = (await runner.run(SHEET, {"id": site_id}, as_user=world.people["THIRD_PARTY"]))["node"]
    assert third["canEditReferences"] is False
    infra = await runner.run(SHEET, {"id": site_id}, as_user=world.people["INFRA_USER"])
    assert infra["node"]["canEditReferences"] is True


async def test_self_reading_capability_on_a_mechanical_meter(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    other = await make_world(session_factory, "Mecanique")
    async with session_factory() as session, session.begin():
        await session.exec(
            sa.update(Meter)
            .where(Meter.site_id == other.sites[0].id)
            .values(kind=MeterKind.ELECTROMECHANICAL, is_communicating=False)
        )
    site_id = gid("Site", other.sites[0].id)
    for tier, expected in (
        ("ADMIN", True),
        ("USER", True),
        ("INFRA_USER", True),
        ("THIRD_PARTY", False),
    ):
        sheet = (await runner.run(SHEET, {"id": site_id}, as_user=other.people[tier]))["node"]
        assert sheet["canSubmitSelfReading"] is expected, tier


async def test_site_by_point_number(runner: Runner, world: World) -> None:
    spaced = " ".join(world.sites[0].point_number[i : i + 2] for i in range(0, 14, 2))
    found = await runner.run(BY_POINT, {"p": spaced}, as_user=world.people["USER"])
    assert found["siteByPointNumber"]["pointNumber"] == world.sites[0].point_number
    hidden = await runner.run(
        BY_POINT, {"p": world.sites[2].point_number}, as_user=world.people["USER"]
    )
    assert hidden["siteByPointNumber"] is None


async def test_the_portfolio_summary(runner: Runner, world: World) -> None:
    summary = (await runner.run(SUMMARY, as_user=world.people["ADMIN"]))["portfolioSummary"]
    assert summary["sites"] == 3
    assert summary["excludedFromDistribution"] == 1
    assert {"energy": "ELECTRICITY", "sites": 3} in summary["byEnergy"]
    assert summary["bySegment"] == [{"segment": "C5", "sites": 3}]
    assert {"status": "TERMINATED", "sites": 1} in summary["byStatus"]
    classes = {c["label"]: c["sites"] for c in summary["consumptionClasses"]}
    # the terminated 50 MWh site is counted apart, not in its class
    assert classes["Moins de 6 MWh"] == 1 and classes["100 à 300 MWh"] == 1
    assert classes["30 à 100 MWh"] == 0
    assert sum(classes.values()) == 2
    user = (await runner.run(SUMMARY, as_user=world.people["USER"]))["portfolioSummary"]
    assert user["sites"] == 2


async def test_editing_references(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    site_id = gid("Site", world.sites[1].id)
    done = await runner.run(
        UPDATE,
        {
            "input": {
                "siteId": site_id,
                "internalCode": "  GS-042 ",
                "designation": "Gymnase des Tilleuls",
            }
        },
        as_user=world.people["USER"],
    )
    assert done["updateSiteReferences"]["errors"] == []
    assert done["updateSiteReferences"]["site"]["internalCode"] == "GS-042"
    found = await sites(runner, world.people["USER"], filter={"text": "tilleuls"})
    assert points(found) == {world.sites[1].point_number}
    async with session_factory() as session:
        entry = (
            await session.exec(
                select(AuditEntry).where(
                    AuditEntry.action == "site.references_updated",
                    AuditEntry.object_id == str(world.sites[1].id),
                )
            )
        ).first()
    assert entry is not None and entry.details["after"]["internal_code"] == "GS-042"
    # clearing with null
    cleared = await runner.run(
        UPDATE, {"input": {"siteId": site_id, "internalCode": None}}, as_user=world.people["ADMIN"]
    )
    assert cleared["updateSiteReferences"]["site"]["internalCode"] is None
    assert cleared["updateSiteReferences"]["site"]["designation"] == "Gymnase des Tilleuls"


async def test_bad_references_get_one_error_per_field_and_change_nothing(
    runner: Runner, world: World
) -> None:
    site_id = gid("Site", world.sites[0].id)
    answer = (
        await runner.run(
            UPDATE,
            {
                "input": {
                    "siteId": site_id,
                    "internalCode": "x" * 36,
                    "designation": "   ",
                    "otherReference": "ligne\nsuivante",
                }
            },
            as_user=world.people["ADMIN"],
        )
    )["updateSiteReferences"]
    assert answer["site"] is None
    assert {(e["field"], e["code"]) for e in answer["errors"]} == {
        ("internalCode", "TOO_LONG"),
        ("designation", "REQUIRED"),
        ("otherReference", "INVALID"),
    }
    assert all(e["message"] for e in answer["errors"])
    sheet = (await runner.run(SHEET, {"id": site_id}, as_user=world.people["ADMIN"]))["node"]
    assert sheet["designation"] == "École Jules Ferry"


async def test_third_parties_do_not_edit_references(runner: Runner, world: World) -> None:
    answer = (
        await runner.run(
            UPDATE,
            {"input": {"siteId": gid("Site", world.sites[0].id), "designation": "Piratage"}},
            as_user=world.people["THIRD_PARTY"],
        )
    )["updateSiteReferences"]
    assert answer["errors"][0]["code"] == "FORBIDDEN"


async def test_statements_do_not_grow_with_the_page(
    demo_runner: Runner, demo_engine: AsyncEngine, count_sql: SqlCounter
) -> None:
    async with demo_runner.sessions() as session:
        admin = (
            await session.exec(select(User).where(User.email == "admin@demo.comptoir.fr"))
        ).one()
    counts = {}
    for first in (10, 100):
        with count_sql(demo_engine) as counted:
            page = await sites(demo_runner, admin, first=first)
        assert len(page["edges"]) == first
        assert any(e["node"]["lastActualReadings"] for e in page["edges"])
        counts[first] = len(counted)
    assert counts[10] == counts[100], counts
