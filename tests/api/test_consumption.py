"""siteConsumption (comparison of up to four sites) and perimeterConsumption, through GraphQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.enums import InvoiceKind, ReadingSource, Register
from tests.clock import NOW
from tests.factories import World, make_invoice, make_metered_site, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

SITE_CONSUMPTION = """
query($ids: [ID!]!, $from: Month!, $to: Month!) {
  siteConsumption(siteIds: $ids, fromMonth: $from, toMonth: $to) {
    site { id pointNumber } totalKwh months { month kwh kind }
  }
}
"""

PERIMETER_CONSUMPTION = """
query($filter: SiteFilter, $from: Month!, $to: Month!, $rule: MonthRule) {
  perimeterConsumption(filter: $filter, fromMonth: $from, toMonth: $to, rule: $rule) {
    siteCount totalKwh estimatedKwh months { month kwh estimatedKwh }
  }
}
"""

BASE = Register.BASE
ACTUAL = ReadingSource.DISTRIBUTOR_ACTUAL
ESTIMATED = ReadingSource.SUPPLIER_ESTIMATED


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Conso")


async def _metered(sessions: async_sessionmaker[AsyncSession], world: World, k: int = 0) -> Any:
    site, _ = await make_metered_site(
        sessions,
        world.accounts[k],
        readings=[
            (date(2025, 12, 31), BASE, 1000, ACTUAL, False),
            (date(2026, 1, 31), BASE, 2000, ACTUAL, False),
            (date(2026, 2, 28), BASE, 3200, ESTIMATED, False),
            (date(2026, 3, 31), BASE, 3000, ACTUAL, False),
        ],
    )
    return site


async def test_the_series_marks_actual_and_estimated_months_and_keeps_negatives(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: January read, February estimated too high, March's actual index below it
    site = await _metered(session_factory, world)
    # when
    data = await runner.run(
        SITE_CONSUMPTION,
        {"ids": [gid("Site", site.id)], "from": "2026-01", "to": "2026-03"},
        as_user=world.people["USER"],
    )
    # then
    [series] = data["siteConsumption"]
    assert series["site"]["pointNumber"] == site.point_number
    assert series["months"] == [
        {"month": "2026-01", "kwh": 1000, "kind": "ACTUAL"},
        {"month": "2026-02", "kwh": 1200, "kind": "ESTIMATED"},
        {"month": "2026-03", "kwh": -200, "kind": "ACTUAL"},
    ]
    assert series["totalKwh"] == 2000


async def test_up_to_four_sites_come_back_in_the_order_asked(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given
    sites = [await _metered(session_factory, world) for _ in range(3)] + [world.sites[0]]
    ids = [gid("Site", s.id) for s in reversed(sites)]
    # when
    data = await runner.run(
        SITE_CONSUMPTION,
        {"ids": ids, "from": "2025-01", "to": "2026-03"},
        as_user=world.people["ADMIN"],
    )
    # then: 15 months each; the site without readings is estimated from its CAR
    result = data["siteConsumption"]
    assert [s["site"]["id"] for s in result] == ids
    assert all(len(s["months"]) == 15 for s in result)
    no_readings = result[0]
    assert {m["kind"] for m in no_readings["months"]} == {"ESTIMATED"}
    assert 11_000 < sum(m["kwh"] for m in no_readings["months"][:12]) < 13_000


@pytest.mark.parametrize(
    ("count", "start", "end", "code", "field"),
    [
        (5, "2026-01", "2026-03", "TOO_MANY_ITEMS", "siteIds"),
        (0, "2026-01", "2026-03", "REQUIRED", "siteIds"),
        (1, "2024-01", "2026-01", "PERIOD_TOO_LONG", "toMonth"),
        (1, "2026-03", "2026-01", "INVALID", "toMonth"),
        (1, "2026-12", "2026-12", "INVALID", "toMonth"),  # next month, on NOW
    ],
)
async def test_bad_requests_are_user_errors(
    runner: Runner, world: World, count: int, start: str, end: str, code: str, field: str
) -> None:
    # given
    ids = [gid("Site", world.sites[i % 3].id + 0) for i in range(count)]
    if count == 5:
        ids = [gid("Site", world.sites[0].id + i) for i in range(5)]
    # when
    result = await runner.raw(
        SITE_CONSUMPTION,
        {"ids": ids, "from": start, "to": end},
        as_user=world.people["ADMIN"],
        now=NOW,
    )
    # then: the field is null, with one coded error in French
    assert result.data == {"siteConsumption": None}
    [error] = result.errors
    assert (error.extensions["code"], error.extensions["field"]) == (code, field)
    assert error.path == ["siteConsumption"]


@pytest.mark.parametrize("bad", ["2026-1", "2026-13", "mars 2026", "2026-03-01"])
async def test_a_malformed_month_is_invalid_wherever_a_month_is_taken(
    runner: Runner, world: World, bad: str
) -> None:
    # given: the Month scalar in a query and in a mutation's input
    site = gid("Site", world.sites[0].id)
    for document, variables in (
        (SITE_CONSUMPTION, {"ids": [site], "from": bad, "to": "2026-03"}),
        (PERIMETER_CONSUMPTION, {"from": bad, "to": "2026-03"}),
        (
            "mutation($i: ExportConsumptionInput!) { exportConsumption(input: $i) { url } }",
            {"i": {"format": "CSV", "fromMonth": bad, "toMonth": "2026-03"}},
        ),
    ):
        # when
        result = await runner.raw(document, variables, as_user=world.people["ADMIN"])
        # then: refused before any resolver, with the code and a French message
        assert result.data is None
        [error] = result.errors
        assert error.extensions["code"] == "INVALID"
        assert "AAAA-MM" in error.message


async def test_a_site_outside_the_perimeter_is_not_found(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: the infra-user holds accounts[0] only; the site is on accounts[1]
    site = await _metered(session_factory, world, k=1)
    other = await make_world(session_factory, "ConsoB")
    for ids in ([gid("Site", site.id)], [gid("Site", other.sites[0].id)]):
        # when
        result = await runner.raw(
            SITE_CONSUMPTION,
            {"ids": [gid("Site", world.sites[0].id), *ids], "from": "2026-01", "to": "2026-03"},
            as_user=world.people["INFRA_USER"],
        )
        # then
        assert result.data == {"siteConsumption": None}
        assert [(e.message, e.extensions) for e in result.errors] == [
            ("Objet introuvable.", {"code": "NOT_FOUND", "field": "siteIds"})
        ]


async def test_statements_do_not_grow_with_the_number_of_sites(
    runner: Runner, world: World, count_sql: SqlCounter, session_factory: async_sessionmaker
) -> None:
    # given
    sites = [await _metered(session_factory, world) for _ in range(4)]
    counts = []
    for n in (1, 4):
        with count_sql() as statements:
            # when
            await runner.run(
                SITE_CONSUMPTION,
                {"ids": [gid("Site", s.id) for s in sites[:n]], "from": "2026-01", "to": "2026-03"},
                as_user=world.people["ADMIN"],
            )
        counts.append(len(statements))
    # then
    assert counts[0] == counts[1]


async def test_perimeter_consumption_sums_invoices_by_month_with_negative_credit_notes(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: a fresh tenant; January–February billed 5,900 kWh, then a credit note on March
    world = await make_world(session_factory, "Factu")
    account, site = world.accounts[0], world.sites[0]
    await make_invoice(
        session_factory, account, [site], accounting_date=date(2026, 2, 28), kwh=5900
    )
    await make_invoice(
        session_factory,
        account,
        [site],
        accounting_date=date(2026, 1, 31),
        kwh=620,
        kind=InvoiceKind.CREDIT_NOTE,
    )
    # when
    data = await runner.run(
        PERIMETER_CONSUMPTION, {"from": "2026-01", "to": "2026-03"}, as_user=world.people["USER"]
    )
    # then: by default each invoice counts in its accounting month: the credit note in
    # January, the invoice in February
    consumption = data["perimeterConsumption"]
    assert consumption["siteCount"] == 2
    assert [(m["month"], m["kwh"]) for m in consumption["months"]] == [
        ("2026-01", -620),
        ("2026-02", 5900),
        ("2026-03", 0),
    ]
    assert consumption["totalKwh"] == 5900 - 620
    # and on request, spread pro rata of days: 5,900 over 59 days (3,100 + 2,800), minus 620
    # over January (the credit note's period is 1 January – 31 January)
    spread = await runner.run(
        PERIMETER_CONSUMPTION,
        {"from": "2026-01", "to": "2026-03", "rule": "PRO_RATA_DAYS"},
        as_user=world.people["USER"],
    )
    assert [(m["month"], m["kwh"]) for m in spread["perimeterConsumption"]["months"]] == [
        ("2026-01", 3100 - 620),
        ("2026-02", 2800),
        ("2026-03", 0),
    ]
    # and the infra-user (accounts[0] only) sees the same; a filter on accounts[1] sees none
    infra = await runner.run(
        PERIMETER_CONSUMPTION,
        {"from": "2026-01", "to": "2026-03"},
        as_user=world.people["INFRA_USER"],
    )
    assert infra["perimeterConsumption"]["totalKwh"] == 5280
    other = await runner.run(
        PERIMETER_CONSUMPTION,
        {
            "from": "2026-01",
            "to": "2026-03",
            "filter": {"billingAccountIds": [gid("BillingAccount", world.accounts[1].id)]},
        },
        as_user=world.people["USER"],
    )
    assert other["perimeterConsumption"]["totalKwh"] == 0


async def test_perimeter_consumption_refuses_a_foreign_member_filter(
    runner: Runner, world: World, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given
    other = await make_world(session_factory, "ConsoC")
    # when
    result = await runner.raw(
        PERIMETER_CONSUMPTION,
        {
            "from": "2026-01",
            "to": "2026-03",
            "filter": {"memberIds": [gid("Member", other.member.id)]},
        },
        as_user=world.people["ADMIN"],
    )
    # then
    assert result.data == {"perimeterConsumption": None}
    assert [(e.extensions["code"], e.extensions["field"]) for e in result.errors] == [
        ("NOT_FOUND", "filter.memberIds")
    ]
