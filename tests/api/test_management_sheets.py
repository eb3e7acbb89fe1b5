"""The annual management sheet: per site, 12 months of kWh and costs, totals per billing
account, member and overall; XLSX opened with openpyxl and CSV parsed, both over real HTTP
through the signed URL; every figure checked against SQL written here, to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.enums import InvoiceKind
from tests.api.test_exports import download, parse_csv, parse_xlsx
from tests.e2e.server import LiveServer
from tests.factories import World, make_invoice, make_metered_site, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

EXPORT = """
mutation($i: ExportManagementSheetInput!) {
  exportManagementSheet(input: $i) { url expiresAt rowCount errors { field code message } }
}"""

WINDOW = (date(2025, 12, 1), date(2026, 11, 30))  # from 2025-12; the clock is in 2026-11
FIGURES = ("kWh", "Fourniture HT", "Acheminement HT", "Taxes", "TVA", "Total TTC")


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """accounts[0] is multi-site: its site and a second one, billed together; accounts[1]
    and the other member's accounts[2] one site each. Invoices before, in and after the
    window's months, a credit note and a cancellation."""
    world = await make_world(session_factory, "Feuillet")
    a0, a1, a2 = world.accounts
    second, _ = await make_metered_site(session_factory, a0)
    async with session_factory() as session, session.begin():
        await (await session.connection()).execute(
            sa.text("UPDATE billing_accounts SET is_multi_site = :t WHERE id = :id"),
            {"t": True, "id": a0.id},
        )
    s0, s1, s2 = world.sites[:3]
    grouped = [s0, second]
    await make_invoice(session_factory, a0, grouped, accounting_date=date(2025, 11, 20))
    await make_invoice(session_factory, a0, grouped, accounting_date=date(2025, 12, 5), kwh=410)
    await make_invoice(session_factory, a0, grouped, accounting_date=date(2026, 2, 5), kwh=377)
    wrong = await make_invoice(session_factory, a0, grouped, accounting_date=date(2026, 4, 5))
    await make_invoice(
        session_factory,
        a0,
        grouped,
        accounting_date=date(2026, 4, 20),
        kind=InvoiceKind.CANCELLATION,
        cancels=wrong,
    )
    await make_invoice(session_factory, a0, grouped, accounting_date=date(2026, 4, 21), kwh=612)
    await make_invoice(
        session_factory, a0, [s0], accounting_date=date(2026, 6, 9), kwh=80,
        kind=InvoiceKind.CREDIT_NOTE,
    )  # fmt: skip
    await make_invoice(session_factory, a1, [s1], accounting_date=date(2026, 1, 12), kwh=990)
    await make_invoice(session_factory, a1, [s1], accounting_date=date(2026, 11, 2), kwh=95)
    await make_invoice(session_factory, a2, [s2], accounting_date=date(2026, 3, 3), kwh=1234)
    return World(
        world.name,
        world.group,
        world.member,
        world.other_member,
        world.accounts,
        (*world.sites, second),
        world.people,
        world.grants,
    )


def cents(value: Any) -> int:
    """A money sum read by SQL: scaled integers on SQLite, NUMERIC on PostgreSQL."""
    if isinstance(value, int):
        return value
    return int(Decimal(value) * 100)


async def sql_sums(runner: Runner, where: str, **params: Any) -> dict[str, int]:
    """The window's sums of the per-site invoice rows of the sites `where` selects (s is
    the site), written here against the tables."""
    async with runner.sessions() as session:
        row = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT COALESCE(SUM(x.consumption_kwh), 0), "
                    "COALESCE(SUM(x.subscription_amount), 0) + COALESCE(SUM(x.energy_amount), 0), "
                    "COALESCE(SUM(x.transport_amount), 0), COALESCE(SUM(x.taxes_amount), 0), "
                    "COALESCE(SUM(x.vat_amount), 0), COALESCE(SUM(x.total_incl_tax), 0), "
                    "COUNT(x.id) "
                    "FROM invoice_sites x JOIN invoices i ON i.id = x.invoice_id "
                    "JOIN sites s ON s.id = x.site_id "
                    f"WHERE {where} AND i.accounting_date BETWEEN :start AND :end"
                ),
                {"start": WINDOW[0], "end": WINDOW[1], **params},
            )
        ).one()
    return {
        "kWh": int(row[0]),
        **{f: cents(v) for f, v in zip(FIGURES[1:], row[1:6], strict=True)},
        "Factures": int(row[6]),
    }


def money_cents(value: Any) -> int:
    """A money cell: a number in XLSX, "1234,56" in CSV."""
    if isinstance(value, str):
        return int(Decimal(value.replace(",", ".")) * 100)
    return int((Decimal(str(value)) * 100).to_integral_value())


def figures_of(row: dict[str, Any], prefix: str = "12 mois") -> dict[str, int]:
    out = {"kWh": int(row[f"{prefix} kWh"] or 0)}
    out |= {f: money_cents(row[f"{prefix} {f}"] or 0) for f in FIGURES[1:]}
    return out


def as_dicts(table: list[list[Any]]) -> list[dict[str, Any]]:
    header, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows]


async def export(runner: Runner, world: World, tier: str, **data: Any) -> Any:
    out = await runner.run(
        EXPORT,
        {"i": {"fromMonth": "2025-12", "format": "XLSX", **data}},
        as_user=world.people[tier],
    )
    return out["exportManagementSheet"]


async def test_an_admins_sheet_lists_each_site_and_totals_that_match_sql_in_xlsx(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # when
    payload = await export(runner, world, "ADMIN")
    # then
    assert payload["errors"] == []
    status, body, _ = await download(live_server, payload["url"])
    assert status == 200
    table = parse_xlsx(body)
    header = table[0]
    assert header[:3] == ["Ligne", "Adhérent", "SIREN"]
    assert header[12:18] == [f"2025-12 {f}" for f in FIGURES]
    assert header[-6:] == [f"12 mois {f}" for f in FIGURES]
    assert len(header) == 12 + 13 * 6
    rows = as_dicts(table)
    sites = {r["PRM/PCE"]: r for r in rows if r["Ligne"] == "Site"}
    assert sorted(sites) == sorted(s.point_number for s in world.sites)
    for site in world.sites:
        row = sites[site.point_number]
        want = await sql_sums(runner, "s.id = :id", id=site.id)
        assert figures_of(row) == {k: v for k, v in want.items() if k != "Factures"}
        assert row["Factures"] == want["Factures"]
    # a month cell: the grouped invoices of April 2026 for the first site (invoice, its
    # cancellation, the corrected one)
    first = sites[world.sites[0].point_number]
    april = await sql_sums(
        runner,
        "s.id = :id AND i.accounting_date >= '2026-04-01' AND i.accounting_date < '2026-05-01'",
        id=world.sites[0].id,
    )
    assert figures_of(first, "2026-04") == {k: v for k, v in april.items() if k != "Factures"}
    assert first["2026-03 kWh"] is None  # nothing billed that month: an empty cell
    assert first["Regroupement de facturation"] == "Facture groupée (2 sites)"
    # totals per account, per member and overall
    accounts = {r["Compte de contrat"]: r for r in rows if r["Ligne"] == "Total compte de contrat"}
    for account in world.accounts:
        want = await sql_sums(runner, "s.billing_account_id = :a", a=account.id)
        assert figures_of(accounts[account.number]) == {
            k: v for k, v in want.items() if k != "Factures"
        }
    # an account counts each grouped invoice once
    async with runner.sessions() as session:
        invoices = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT COUNT(*) FROM invoices WHERE billing_account_id = :a "
                    "AND accounting_date BETWEEN :start AND :end"
                ),
                {"a": world.accounts[0].id, "start": WINDOW[0], "end": WINDOW[1]},
            )
        ).scalar_one()
    assert accounts[world.accounts[0].number]["Factures"] == invoices == 6
    members = {r["Adhérent"]: r for r in rows if r["Ligne"] == "Total adhérent"}
    for member in (world.member, world.other_member):
        want = await sql_sums(runner, "s.member_id = :m", m=member.id)
        assert figures_of(members[member.legal_name])["Total TTC"] == want["Total TTC"]
    overall = rows[-1]
    assert overall["Ligne"] == "Total général"
    want = await sql_sums(
        runner, "s.member_id IN (:m1, :m2)", m1=world.member.id, m2=world.other_member.id
    )
    assert figures_of(overall) == {k: v for k, v in want.items() if k != "Factures"}
    async with runner.sessions() as session:
        distinct = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT COUNT(DISTINCT x.invoice_id) FROM invoice_sites x "
                    "JOIN invoices i ON i.id = x.invoice_id JOIN sites s ON s.id = x.site_id "
                    "WHERE s.member_id IN (:m1, :m2) AND i.accounting_date BETWEEN :start AND :end"
                ),
                {
                    "m1": world.member.id,
                    "m2": world.other_member.id,
                    "start": WINDOW[0],
                    "end": WINDOW[1],
                },
            )
        ).scalar_one()
    assert overall["Factures"] == distinct
    assert payload["rowCount"] == len(rows) == 4 + 3 + 2 + 1


async def test_a_users_sheet_in_csv_holds_its_member_only(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # when
    payload = await export(runner, world, "USER", format="CSV")
    # then
    assert payload["errors"] == []
    _, body, _ = await download(live_server, payload["url"])
    rows = as_dicts(parse_csv(body))
    assert {r["Adhérent"] for r in rows if r["Ligne"] != "Total général"} == {
        world.member.legal_name
    }
    want = await sql_sums(runner, "s.member_id = :m", m=world.member.id)
    assert figures_of(rows[-1]) == {k: v for k, v in want.items() if k != "Factures"}


async def test_an_infra_users_sheet_holds_its_billing_account_only(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    payload = await export(runner, world, "INFRA_USER", format="CSV")
    assert payload["errors"] == []
    _, body, _ = await download(live_server, payload["url"])
    rows = as_dicts(parse_csv(body))
    assert {r["Compte de contrat"] for r in rows if r["Ligne"] == "Site"} == {
        world.accounts[0].number
    }
    want = await sql_sums(runner, "s.billing_account_id = :a", a=world.accounts[0].id)
    assert figures_of(rows[-1]) == {k: v for k, v in want.items() if k != "Factures"}


async def test_a_window_ending_after_the_current_month_is_refused(
    runner: Runner, world: World
) -> None:
    payload = await export(runner, world, "ADMIN", fromMonth="2026-01")
    assert payload["url"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("fromMonth", "INVALID")]


async def test_a_filter_naming_another_tenants_account_is_not_found(
    runner: Runner, world: World
) -> None:
    account = gid("BillingAccount", world.accounts[2].id)
    payload = await export(runner, world, "USER", filter={"billingAccountIds": [account]})
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]


async def test_the_sheet_costs_the_same_statements_for_one_site_or_all(
    runner: Runner, world: World, count_sql: SqlCounter
) -> None:
    counts = []
    for data in ({"filter": {"text": world.sites[1].point_number}}, {}):
        with count_sql() as counted:
            payload = await export(runner, world, "ADMIN", **data)
        assert payload["errors"] == []
        counts.append((len(counted), payload["rowCount"]))
    assert counts[0][0] == counts[1][0]
    assert counts[0][1] < counts[1][1]


# -- the README's tour, on the demo ----------------------------------------------------------

TOUR = """
mutation { exportManagementSheet(input: {fromMonth: "2025-11", format: XLSX}) {
  url rowCount errors { code message } } }"""


async def test_the_readme_tour_exports_the_demo_groups_sheet(
    demo_runner: Runner, live_server: LiveServer
) -> None:
    from sqlmodel import select

    from db.models import User
    from demo.logins import ADMIN_ID

    async with demo_runner.sessions() as session:
        admin = (await session.exec(select(User).where(User.id == ADMIN_ID))).one()
    payload = (await demo_runner.run(TOUR, as_user=admin))["exportManagementSheet"]
    assert payload["errors"] == []
    rows = payload["rowCount"]
    async with demo_runner.sessions() as session:
        sites = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT COUNT(*) FROM sites s JOIN members m ON m.id = s.member_id "
                    "WHERE m.group_id = (SELECT group_id FROM members WHERE id = "
                    "(SELECT member_id FROM sites LIMIT 1))"
                )
            )
        ).scalar_one()
    assert rows > sites > 0  # each site, plus the account, member and overall totals
