"""Data retention over the API: a site whose supply ended stays readable, with its readings and
invoices, five years to the day; the day after, every list, node and total acts as if it never
existed (the same answer as for an unknown object). The request's clock is injected, so the
same data is read at five years minus a day, at five years, and at five years plus a day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.retention import purge_expired
from db.models import Invoice, Site
from db.types import Money
from domain.enums import InvoiceKind, ReadingSource, Register, SiteStatus
from tests.factories import World, make_alert, make_invoice, make_metered_site, make_world
from tests.ids import gid
from tests.runner import Runner

ENDED = date(2021, 6, 30)  # the contract's end
# Five years minus a day, five years to the day, five years plus a day after it.
BEFORE = datetime(2026, 6, 29, 10, 0, tzinfo=UTC)
ON = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)
AFTER = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)

SITE = """
query($id: ID!, $number: String!) {
  node(id: $id) { ... on Site { id pointNumber } }
  sites(first: 100) { totalCount edges { node { id } } }
  viewer { perimeter { sites } }
  invoices(first: 100, filter: {accountingDateFrom: "2021-04-01", accountingDateTo: "2021-09-30"}) {
    totalCount edges { node { number } }
  }
  invoice(number: $number) { number }
  billingSummary(filter: {accountingDateFrom: "2021-04-01", accountingDateTo: "2021-09-30"}) {
    totals { invoiceCount totalInclTax }
  }
}"""
READINGS = """
query($id: ID!) { readings(siteId: $id, first: 50) { totalCount edges { node { index } } } }
"""


class Ending:
    def __init__(self, world: World, site: Site, invoice: Invoice, shared: Invoice) -> None:
        self.world, self.site, self.invoice, self.shared = world, site, invoice, shared


@pytest.fixture(scope="module")
async def ending(session_factory: async_sessionmaker[AsyncSession]) -> Ending:
    world = await make_world(session_factory, "Retention")
    account = world.accounts[1]
    site, _ = await make_metered_site(
        session_factory,
        account,
        status=SiteStatus.TERMINATED,
        readings=[
            (date(2021, 1, 31), Register.BASE, 1_000, ReadingSource.DISTRIBUTOR_ACTUAL, False),
            (ENDED, Register.BASE, 3_400, ReadingSource.DISTRIBUTOR_ACTUAL, False),
        ],
    )
    async with session_factory() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.text(
                "UPDATE sites SET supply_start = '2018-01-01', supply_end = :end WHERE id = :id"
            ).bindparams(end=ENDED, id=site.id)
        )
    invoice = await make_invoice(
        session_factory, account, [site], accounting_date=date(2021, 7, 15)
    )
    # an invoice of the ending site and of a site still supplied: it stays
    shared = await make_invoice(
        session_factory, account, [site, world.sites[1]], accounting_date=date(2021, 5, 31)
    )
    return Ending(world, site, invoice, shared)


async def expected(
    sessions: async_sessionmaker[AsyncSession], ending: Ending, since: date
) -> dict[str, Any]:
    """What the USER (member) should see, in SQL written apart from the code's helpers."""
    member = ending.world.member.id
    async with sessions() as session:

        async def one(text: str, *columns: Any) -> Any:
            statement = sa.text(text).bindparams(m=member, since=since)
            if columns:  # the money column read through its type (cents on SQLite)
                statement = statement.columns(*columns)  # type: ignore[assignment]
            result = await session.exec(statement)  # type: ignore[call-overload]
            return result.one()

        (sites,) = await one(
            "SELECT COUNT(*) FROM sites WHERE member_id = :m"
            " AND (supply_end IS NULL OR supply_end >= :since)"
        )
        count, total = await one(
            "SELECT COUNT(*) AS n, COALESCE(SUM(i.total_incl_tax), 0) AS total FROM invoices i"
            " JOIN billing_accounts b ON b.id = i.billing_account_id"
            " WHERE b.member_id = :m AND i.accounting_date BETWEEN '2021-04-01' AND '2021-09-30'"
            " AND EXISTS (SELECT 1 FROM invoice_sites s JOIN sites t ON t.id = s.site_id"
            "  WHERE s.invoice_id = i.id AND (t.supply_end IS NULL OR t.supply_end >= :since))",
            sa.column("n", sa.Integer()),
            sa.column("total", Money()),
        )
    return {
        "sites": sites,
        "invoices": count,
        "total": total,  # all of kind INVOICE
    }


@pytest.mark.parametrize(
    ("now", "since", "readable"),
    [
        (BEFORE, date(2021, 6, 29), True),
        (ON, date(2021, 6, 30), True),
        (AFTER, date(2021, 7, 1), False),
    ],
    ids=["5 years minus a day", "5 years", "5 years plus a day"],
)
@pytest.mark.parametrize("tier", ["ADMIN", "USER"])
async def test_an_ended_contract_is_served_five_years_then_gone(
    runner: Runner,
    ending: Ending,
    session_factory: async_sessionmaker[AsyncSession],
    now: datetime,
    since: date,
    readable: bool,
    tier: str,
) -> None:
    person = ending.world.people[tier]
    site_id = gid("Site", ending.site.id)
    data = await runner.run(
        SITE, {"id": site_id, "number": ending.invoice.number}, as_user=person, now=now
    )
    listed = {e["node"]["id"] for e in data["sites"]["edges"]}
    numbers = {e["node"]["number"] for e in data["invoices"]["edges"]}
    # the site, its own invoice and its readings: there before, gone after
    assert (data["node"] is not None) is readable
    assert (site_id in listed) is readable
    assert (ending.invoice.number in numbers) is readable
    assert (data["invoice"] is not None) is readable
    # an invoice that also covers a site under contract stays
    assert ending.shared.number in numbers
    readings = await runner.raw(READINGS, {"id": site_id}, as_user=person, now=now)
    unknown = await runner.raw(READINGS, {"id": gid("Site", 10**9)}, as_user=person, now=now)
    if readable:
        assert readings.errors is None
        values = sorted(int(e["node"]["index"]) for e in readings.data["readings"]["edges"])
        assert values == [1_000, 3_400]
    else:  # exactly as for a site that never existed
        assert readings.data == unknown.data
        assert [e.extensions["code"] for e in readings.errors or []] == [
            e.extensions["code"] for e in unknown.errors or []
        ]
    # the counts and totals agree with SQL written apart (the USER's member)
    if tier == "USER":
        wanted = await expected(session_factory, ending, since)
        assert data["sites"]["totalCount"] == wanted["sites"]
        assert data["viewer"]["perimeter"]["sites"] == wanted["sites"]
        assert data["invoices"]["totalCount"] == wanted["invoices"]
        exported = await runner.run(
            "mutation { exportSites(input: {format: CSV}) { rowCount errors { code } } }",
            as_user=person,
            now=now,
        )
        assert exported["exportSites"]["rowCount"] == wanted["sites"]  # exports obey it too
        totals = data["billingSummary"]["totals"]
        assert totals["invoiceCount"] == wanted["invoices"]
        assert Decimal(totals["totalInclTax"]) == wanted["total"]


async def test_the_purge_removes_an_expired_site_with_its_invoices_and_keeps_a_shared_one(
    runner: Runner, ending: Ending, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: a second site of the member, ended the day before, with its own invoice, the
    # cancellation of that invoice and an alert (the first one shares a served invoice)
    world = ending.world
    gone, _ = await make_metered_site(
        session_factory,
        world.accounts[1],
        status=SiteStatus.TERMINATED,
        readings=[(ENDED, Register.BASE, 900, ReadingSource.DISTRIBUTOR_ACTUAL, False)],
    )
    async with session_factory() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.text(
                "UPDATE sites SET supply_start = '2018-01-01', supply_end = :end WHERE id = :id"
            ).bindparams(end=date(2021, 6, 29), id=gone.id)
        )
    own = await make_invoice(
        session_factory, world.accounts[1], [gone], accounting_date=date(2021, 7, 10)
    )
    cancel = await make_invoice(
        session_factory,
        world.accounts[1],
        [gone],
        accounting_date=date(2021, 8, 10),
        kind=InvoiceKind.CANCELLATION,
        cancels=own,
    )
    await make_alert(session_factory, gone, detected_on=date(2021, 6, 1))

    async def count(sql: str, **values: Any) -> int:
        async with session_factory() as session:
            result = await session.exec(sa.text(sql).bindparams(**values))  # type: ignore[call-overload]
            return int(result.one()[0])

    numbers = {"a": own.number, "b": cancel.number}
    invoices_sql = "SELECT COUNT(*) FROM invoices WHERE number IN (:a, :b)"
    # when: a dry run, then the purge, on the day after five years (neither site is served)
    today = AFTER.date()
    dry = await purge_expired(runner.sessions, runner.settings, today=today, now=AFTER)
    assert dry.sites == [(gone.point_number, date(2021, 6, 29))]
    assert dry.kept == [ending.site.point_number]
    assert dry.counts["factures"] == 2 and dry.counts["alertes"] == 1
    assert await count(invoices_sql, **numbers) == 2
    done = await purge_expired(runner.sessions, runner.settings, today=today, now=AFTER, apply=True)
    # then: the expired site and everything of it is gone; the one on a shared invoice stays
    assert done.counts == dry.counts
    assert await count("SELECT COUNT(*) FROM sites WHERE id = :i", i=gone.id) == 0
    assert await count(invoices_sql, **numbers) == 0
    for table in ("readings", "meters", "alerts"):
        assert await count(f"SELECT COUNT(*) FROM {table} WHERE site_id = :i", i=gone.id) == 0
    assert await count("SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = :i", i=own.id) == 0
    assert await count("SELECT COUNT(*) FROM sites WHERE id = :i", i=ending.site.id) == 1
    assert await count("SELECT COUNT(*) FROM invoices WHERE id = :i", i=ending.shared.id) == 1
    assert (
        await count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'retention.purge' AND object_id = :i",
            i=str(gone.id),
        )
        == 1
    )
