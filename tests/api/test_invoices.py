"""Invoices over GraphQL: list and filters, the 12-month rule, detail, PDFs, summaries,
per-meter history, exports, and the statement count of a page."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers import invoice_pdfs
from api.resolvers.invoices import InvoiceQuery
from auth.signed_urls import verify_file_token
from db.models import Invoice
from db.scoped import Perimeter
from db.types import Money
from domain.enums import InvoiceKind
from domain.errors import Refusal
from tests.clock import TODAY
from tests.factories import World, make_invoice, make_metered_site, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

LIST = """
query($filter: InvoiceFilter, $first: Int, $after: String, $order: InvoiceOrder) {
  invoices(filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id number kind totalInclTax accountingDate billingAccountNumber } }
  }
}"""

DETAIL = """
query($filter: InvoiceFilter) {
  invoices(filter: $filter, first: 100) {
    edges { node {
      number kind totalExclTax vatReduced vatStandard totalInclTax
      lines { position component label quantity unitPrice vatRate vatBase amount }
      vatBreakdown { rate base amount }
      sites { pointNumber consumptionKwh totalExclTax vatAmount totalInclTax
              registerIndexes { register previous current } site { id } }
      cancelsInvoice { number }
      cancelledBy { number }
      billingAccount { number }
    } }
  }
}"""

PDF_URL = "query($n: String!) { invoice(number: $n) { number pdfUrl } }"

SUMMARY = """
query($filter: InvoiceFilter) {
  billingSummary(filter: $filter) {
    accountingDateFrom accountingDateTo
    totals { invoiceCount consumptionKwh totalExclTax totalInclTax }
    byMonth { month totals { invoiceCount totalInclTax } }
    byBillingAccount { billingAccountNumber billingAccountId totals { totalInclTax } }
  }
}"""

HISTORY = """
query($site: ID!) {
  siteBillingHistory(siteId: $site) {
    pointNumber
    entries { invoiceNumber accountingDate consumptionKwh totalInclTax cumulatedTotalInclTax }
  }
}"""

HOME = """
query { homeBillingSummary { months { month totals { invoiceCount totalInclTax } }
        totals { invoiceCount consumptionKwh totalInclTax } } }"""

EXPORT_PDFS = """
mutation($i: ExportInvoicePdfsInput!) {
  exportInvoicePdfs(input: $i) { url invoiceCount rowCount errors { field code message } }
}"""

EXPORT_FILE = """
mutation($i: ExportBillingFileInput!) {
  exportBillingFile(input: $i) { url invoiceCount rowCount errors { field code message } }
}"""


@dataclass(frozen=True)
class Billed:
    world: World
    mono: Invoice  # accounts[0], one site
    multi: Invoice  # accounts[2] with two sites
    cancelled: Invoice
    cancellation: Invoice
    old: Invoice  # 20 months ago
    recent: Invoice  # accounts[1], this month


@pytest.fixture(scope="module")
async def billed(session_factory: async_sessionmaker[AsyncSession]) -> Billed:
    world = await make_world(session_factory, "Facturation")
    a0, a1, a2 = world.accounts
    s0, s1, s2 = world.sites
    # A second site on the other member's account, for a multi-site invoice.
    from db.models import Site

    async with session_factory() as session, session.begin():
        extra = Site.model_validate(
            s2.model_dump(exclude={"id"})
            | {"point_number": f"9{s2.point_number[1:]}"}  # 9: no factory prefix
        )
        session.add(extra)
    month_ago = TODAY - timedelta(days=30)
    mono = await make_invoice(session_factory, a0, [s0], accounting_date=month_ago)
    multi = await make_invoice(session_factory, a2, [s2, extra], accounting_date=month_ago)
    cancelled = await make_invoice(
        session_factory, a0, [s0], accounting_date=TODAY - timedelta(days=90)
    )
    cancellation = await make_invoice(
        session_factory,
        a0,
        [s0],
        accounting_date=TODAY - timedelta(days=80),
        kind=InvoiceKind.CANCELLATION,
        cancels=cancelled,
    )
    old = await make_invoice(session_factory, a0, [s0], accounting_date=TODAY - timedelta(days=600))
    recent = await make_invoice(session_factory, a1, [s1], accounting_date=TODAY, kwh=3000)
    return Billed(world, mono, multi, cancelled, cancellation, old, recent)


def numbers(data: dict[str, Any]) -> list[str]:
    return [e["node"]["number"] for e in data["invoices"]["edges"]]


async def test_each_tier_lists_the_invoices_of_its_perimeter(
    runner: Runner, billed: Billed
) -> None:
    # given a tenant with invoices on three billing accounts
    w, b = billed.world, billed
    in_year = {b.mono.number, b.multi.number, b.cancelled.number, b.cancellation.number}
    expected = {
        "ADMIN": in_year | {b.recent.number},
        "USER": {b.mono.number, b.cancelled.number, b.cancellation.number, b.recent.number},
        "INFRA_USER": {b.mono.number, b.cancelled.number, b.cancellation.number},
        "THIRD_PARTY": {b.mono.number, b.multi.number, b.cancelled.number, b.cancellation.number},
    }
    for tier, wanted in expected.items():
        # when each tier lists the last 12 months
        data = await runner.run(LIST, {}, as_user=w.people[tier])
        # then it sees exactly its perimeter's invoices, newest first
        assert set(numbers(data)) == wanted, tier
        assert data["invoices"]["totalCount"] == len(wanted)
        dates = [e["node"]["accountingDate"] for e in data["invoices"]["edges"]]
        assert dates == sorted(dates, reverse=True)


async def test_filters_narrow_the_list(runner: Runner, billed: Billed) -> None:
    w, b = billed.world, billed
    admin = w.people["ADMIN"]
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"kinds": ["CANCELLATION"]}, {b.cancellation.number}),
        ({"billingAccountIds": [gid("BillingAccount", w.accounts[2].id)]}, {b.multi.number}),
        ({"number": b.old.number.lower()}, {b.old.number}),
        (
            {"siteId": gid("Site", w.sites[0].id)},
            {
                b.mono.number,
                b.cancelled.number,
                b.cancellation.number,
                b.old.number,
            },
        ),
        ({"minTotalInclTax": str(b.recent.total_incl_tax)}, {b.recent.number}),
        ({"maxTotalInclTax": "0"}, {b.cancellation.number}),
        (
            {
                "accountingDateFrom": (TODAY - timedelta(days=31)).isoformat(),
                "accountingDateTo": (TODAY - timedelta(days=1)).isoformat(),
            },
            {b.mono.number, b.multi.number},
        ),
        ({"deliveryMode": "POST"}, set()),
        (
            {"indexBasis": "ACTUAL", "editionStatus": "ISSUED", "paymentStatus": "UNPAID"},
            {
                b.mono.number,
                b.multi.number,
                b.cancelled.number,
                b.cancellation.number,
                b.recent.number,
            },
        ),
    ]
    for filter, wanted in cases:
        data = await runner.run(LIST, {"filter": filter}, as_user=admin)
        assert set(numbers(data)) == wanted, filter
        assert data["invoices"]["totalCount"] == len(wanted)


async def test_keyset_pages_in_every_order(runner: Runner, billed: Billed) -> None:
    admin = billed.world.people["ADMIN"]
    for order in ("ACCOUNTING_DATE_DESC", "TOTAL_INCL_TAX_ASC", "NUMBER_DESC"):
        whole = numbers(await runner.run(LIST, {"order": order}, as_user=admin))
        seen: list[str] = []
        after = None
        while True:
            data = await runner.run(
                LIST, {"order": order, "first": 2, "after": after}, as_user=admin
            )
            seen += numbers(data)
            if not data["invoices"]["pageInfo"]["hasNextPage"]:
                break
            after = data["invoices"]["pageInfo"]["endCursor"]
        assert seen == whole, order
    totals = [
        Decimal(e)
        for e in _totals(await runner.run(LIST, {"order": "TOTAL_INCL_TAX_ASC"}, as_user=admin))
    ]
    assert totals == sorted(totals)


def _totals(data: dict[str, Any]) -> list[str]:
    return [e["node"]["totalInclTax"] for e in data["invoices"]["edges"]]


async def test_a_search_over_more_than_twelve_months_is_refused_unless_on_one_site(
    runner: Runner, billed: Billed
) -> None:
    admin = billed.world.people["ADMIN"]
    long = {"accountingDateFrom": (TODAY - timedelta(days=700)).isoformat()}
    # when the period spans 23 months
    result = await runner.raw(LIST, {"filter": long}, as_user=admin)
    # then the search is refused with a clear code
    assert result.errors and result.errors[0].extensions["code"] == "PERIOD_TOO_LONG"
    assert "12 mois" in result.errors[0].message
    # unless it is about one site
    on_site = long | {"siteId": gid("Site", billed.world.sites[0].id)}
    data = await runner.run(LIST, {"filter": on_site}, as_user=admin)
    assert billed.old.number in numbers(data)
    # exactly 12 months is fine
    year = {
        "accountingDateFrom": date(2025, 1, 1).isoformat(),
        "accountingDateTo": date(2025, 12, 31).isoformat(),
    }
    assert (await runner.raw(LIST, {"filter": year}, as_user=admin)).errors is None


async def test_a_refused_field_never_loses_its_siblings(runner: Runner, billed: Billed) -> None:
    # given: a page's query whose invoice search is too long, beside fields that are fine
    long = (TODAY - timedelta(days=700)).isoformat()
    page = (
        "query { invoices(filter: {accountingDateFrom: "
        f'"{long}"'
        "}) { totalCount } homeBillingSummary { months { month } } viewer { person { email } } }"
    )
    # when
    result = await runner.raw(page, as_user=billed.world.people["ADMIN"])
    # then: only the refused field is null, with its code; the others answer
    assert result.data["invoices"] is None
    assert len(result.data["homeBillingSummary"]["months"]) == 3
    assert result.data["viewer"]["person"]["email"] == billed.world.email("ADMIN")
    [error] = result.errors
    assert error.path == ["invoices"]
    assert error.extensions["code"] == "PERIOD_TOO_LONG"


async def test_detail_has_lines_vat_sites_and_the_cancellation_link(
    runner: Runner, billed: Billed
) -> None:
    admin = billed.world.people["ADMIN"]
    data = await runner.run(DETAIL, {}, as_user=admin)
    by_number = {e["node"]["number"]: e["node"] for e in data["invoices"]["edges"]}
    multi = by_number[billed.multi.number]
    # lines add up to the totals, VAT per rate with its base
    lines = multi["lines"]
    excl = sum(Decimal(x["amount"]) for x in lines if x["component"] != "VAT")
    assert excl == Decimal(multi["totalExclTax"])
    assert {v["rate"] for v in multi["vatBreakdown"]} == {"5.50", "20.00"}
    for vat in multi["vatBreakdown"]:
        base = sum(
            Decimal(x["amount"])
            for x in lines
            if x["component"] != "VAT" and x["vatRate"] == vat["rate"]
        )
        assert Decimal(vat["base"]) == base
    # the per-site rows add up to the invoice
    assert len(multi["sites"]) == 2
    assert sum(Decimal(s["totalInclTax"]) for s in multi["sites"]) == Decimal(multi["totalInclTax"])
    assert multi["sites"][0]["registerIndexes"][0]["register"] == "BASE"
    # the cancellation and the invoice it cancels point at each other
    assert by_number[billed.cancellation.number]["cancelsInvoice"] == {
        "number": billed.cancelled.number
    }
    assert by_number[billed.cancelled.number]["cancelledBy"] == {
        "number": billed.cancellation.number
    }
    assert (
        by_number[billed.mono.number]["billingAccount"]["number"] == billed.world.accounts[0].number
    )


async def test_node_reaches_an_invoice_inside_the_perimeter_only(
    runner: Runner, billed: Billed
) -> None:
    query = "query($id: ID!) { node(id: $id) { ... on Invoice { number lines { label } } } }"
    invoice_id = gid("Invoice", billed.multi.id)  # type: ignore[arg-type]
    admin = await runner.run(query, {"id": invoice_id}, as_user=billed.world.people["ADMIN"])
    assert admin["node"]["number"] == billed.multi.number and admin["node"]["lines"]
    user = await runner.run(query, {"id": invoice_id}, as_user=billed.world.people["USER"])
    assert user["node"] is None


async def test_the_pdf_is_rendered_once_with_number_and_totals(
    runner: Runner, billed: Billed
) -> None:
    # when the PDF of a multi-site invoice is asked for
    data = await runner.run(
        PDF_URL, {"n": billed.multi.number}, as_user=billed.world.people["ADMIN"]
    )
    url = data["invoice"]["pdfUrl"]
    # then a signed link to a rendered file comes back
    key = verify_file_token(
        runner.settings.secret_key.get_secret_value(),  # type: ignore[union-attr]
        url.rsplit("/", 1)[1],
    )
    path = runner.settings.files_dir / key
    text = PdfReader(path).pages[0].extract_text()
    # and its text shows the number, the totals and the per-site table
    assert billed.multi.number in text
    for amount in (billed.multi.total_excl_tax, billed.multi.total_incl_tax):
        assert f"{amount:.2f}".replace(".", ",") in text.replace(" ", "").replace("\u00a0", "")
    assert "Récapitulatif par site (2 sites)" in text
    assert "TVA 5,5 %" in text and "TVA 20 %" in text
    # and the second time it is reused, not rendered again
    mtime = path.stat().st_mtime_ns
    await runner.run(PDF_URL, {"n": billed.multi.number}, as_user=billed.world.people["ADMIN"])
    assert path.stat().st_mtime_ns == mtime


async def test_a_stored_pdf_is_served_as_provided(
    runner: Runner, billed: Billed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    stored = runner.settings.files_dir / "billing-system" / "stored.pdf"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"%PDF-1.4 stored")
    w = await make_world(session_factory, "Stocké")
    invoice = await make_invoice(
        session_factory, w.accounts[0], [w.sites[0]], accounting_date=TODAY,
        pdf_key="billing-system/stored.pdf",
    )  # fmt: skip
    data = await runner.run(PDF_URL, {"n": invoice.number}, as_user=w.people["USER"])
    token = data["invoice"]["pdfUrl"].rsplit("/", 1)[1]
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    assert verify_file_token(secret, token) == "billing-system/stored.pdf"


async def test_billing_summary_nets_cancellations_by_month_and_account(
    runner: Runner, billed: Billed
) -> None:
    b = billed
    data = await runner.run(SUMMARY, {}, as_user=b.world.people["USER"])
    summary = data["billingSummary"]
    # USER's last 6 months: mono, cancelled, its cancellation, recent
    expected = b.mono.total_incl_tax + b.recent.total_incl_tax
    assert Decimal(summary["totals"]["totalInclTax"]) == expected  # the pair nets to zero
    assert summary["totals"]["invoiceCount"] == 4
    assert sum(Decimal(m["totals"]["totalInclTax"]) for m in summary["byMonth"]) == expected
    accounts = {a["billingAccountNumber"]: a for a in summary["byBillingAccount"]}
    assert set(accounts) == {b.world.accounts[0].number, b.world.accounts[1].number}
    # more than 6 months is refused, even on one site
    result = await runner.raw(
        SUMMARY,
        {"filter": {"accountingDateFrom": (TODAY - timedelta(days=200)).isoformat()}},
        as_user=b.world.people["USER"],
    )
    assert result.errors and result.errors[0].extensions["code"] == "PERIOD_TOO_LONG"


async def test_site_history_lists_each_invoice_with_the_cumulated_total(
    runner: Runner, billed: Billed
) -> None:
    w, b = billed.world, billed
    data = await runner.run(
        HISTORY, {"site": gid("Site", w.sites[0].id)}, as_user=w.people["INFRA_USER"]
    )
    entries = data["siteBillingHistory"]["entries"]
    numbers_ = [e["invoiceNumber"] for e in entries]
    assert numbers_[:4] == [b.old.number, b.cancelled.number, b.cancellation.number, b.mono.number]
    running = Decimal(0)
    for entry in entries:
        running += Decimal(entry["totalInclTax"])
        assert Decimal(entry["cumulatedTotalInclTax"]) == running
    # a site outside the perimeter answers null
    other = await runner.run(
        HISTORY, {"site": gid("Site", w.sites[2].id)}, as_user=w.people["INFRA_USER"]
    )
    assert other["siteBillingHistory"] is None


async def test_home_summary_covers_three_months(runner: Runner, billed: Billed) -> None:
    data = await runner.run(HOME, {}, as_user=billed.world.people["ADMIN"])
    months = data["homeBillingSummary"]["months"]
    assert len(months) == 3 and months[-1]["month"] == TODAY.isoformat()[:7]
    assert data["homeBillingSummary"]["totals"]["invoiceCount"] == sum(
        m["totals"]["invoiceCount"] for m in months
    )


async def test_the_pdf_zip_holds_one_pdf_per_invoice(runner: Runner, billed: Billed) -> None:
    w = billed.world
    data = await runner.run(
        EXPORT_PDFS,
        {"i": {"filter": {"billingAccountIds": [gid("BillingAccount", w.accounts[0].id)]}}},
        as_user=w.people["USER"],
    )
    payload = data["exportInvoicePdfs"]
    assert payload["errors"] == []
    path = _file_of(runner, payload["url"])
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert f"{billed.mono.number}.pdf" in names
        assert billed.multi.number + ".pdf" not in names
        assert archive.read(f"{billed.mono.number}.pdf").startswith(b"%PDF")
    assert payload["invoiceCount"] == len(names)


async def test_the_pdf_zip_is_capped(
    runner: Runner, billed: Billed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = billed.world
    perimeter = Perimeter(group_ids=frozenset({w.group.id}))  # type: ignore[arg-type]
    with pytest.raises(Refusal) as refused:
        await invoice_pdfs.export_pdf_zip(
            session_factory, runner.settings, perimeter, InvoiceQuery(), today=TODAY, limit=2
        )
    assert refused.value.code == "TOO_MANY_ITEMS"
    assert "Plus de 2 factures" in refused.value.message


async def test_the_billing_file_has_one_row_per_invoice_and_site(
    runner: Runner, billed: Billed
) -> None:
    admin = billed.world.people["ADMIN"]
    csv_payload = (await runner.run(EXPORT_FILE, {"i": {"format": "CSV"}}, as_user=admin))[
        "exportBillingFile"
    ]
    raw = _file_of(runner, csv_payload["url"]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM French Excel needs
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert len(body) == csv_payload["rowCount"] == 6  # the multi-site invoice gives two rows
    column = header.index
    multi = [r for r in body if r[0] == billed.multi.number]
    assert len(multi) == 2
    total = sum(Decimal(r[column("Total TTC")].replace(",", ".")) for r in multi)
    assert total == billed.multi.total_incl_tax
    for row in body:  # each row's components add up to its total excl. VAT
        parts = row[column("Abonnement HT") : column("Total HT")]
        assert sum(Decimal(p.replace(",", ".")) for p in parts) == Decimal(
            row[column("Total HT")].replace(",", ".")
        )
    xlsx_payload = (await runner.run(EXPORT_FILE, {"i": {"format": "XLSX"}}, as_user=admin))[
        "exportBillingFile"
    ]
    # read-only workbooks keep their file open until closed
    book = openpyxl.load_workbook(_file_of(runner, xlsx_payload["url"]), read_only=True)
    values = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    book.close()
    assert values[0] == tuple(header) and len(values) == 7


async def test_an_empty_export_says_so(runner: Runner, billed: Billed) -> None:
    data = await runner.run(
        EXPORT_FILE,
        {"i": {"filter": {"deliveryMode": "POST"}}},
        as_user=billed.world.people["ADMIN"],
    )
    assert [e["code"] for e in data["exportBillingFile"]["errors"]] == ["NOT_FOUND"]


def _file_of(runner: Runner, url: str) -> Path:
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    return runner.settings.files_dir / verify_file_token(secret, url.rsplit("/", 1)[1])


PAGE = """
query($first: Int!, $filter: InvoiceFilter) {
  invoices(first: $first, filter: $filter) {
    totalCount
    edges { node { number lines { label amount } vatBreakdown { rate } sites { pointNumber }
                   billingAccount { number } cancelsInvoice { number } } }
  }
}"""


async def test_statements_per_page_do_not_grow_with_the_page(
    runner: Runner, count_sql: SqlCounter, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given a billing account with 60 invoices
    world = await make_world(session_factory, "Pagination")
    for k in range(60):
        await make_invoice(
            session_factory,
            world.accounts[1],
            [world.sites[1]],
            accounting_date=TODAY - timedelta(days=k),
        )
    filter = {"billingAccountIds": [gid("BillingAccount", world.accounts[1].id)]}
    counts = {}
    for first in (10, 50):
        with count_sql() as statements:
            data = await runner.run(
                PAGE, {"first": first, "filter": filter}, as_user=world.people["USER"]
            )
        assert len(data["invoices"]["edges"]) == first
        counts[first] = len(statements)
    # then the page costs the same number of statements whatever its size
    assert counts[10] == counts[50], counts


# -- figures against SQL written apart from the code, on an injected clock -------------------

RUN_DAY = datetime(2026, 12, 1, 9, tzinfo=UTC)  # the day after a billing run (30 November)

HOME_KWH = """
query { homeBillingSummary { months { month totals { consumptionKwh } } } }"""

CONSUMPTION_BY_MONTH = """
query($from: Month!, $to: Month!, $rule: MonthRule) {
  perimeterConsumption(fromMonth: $from, toMonth: $to, rule: $rule) {
    months { month kwh }
  }
}"""

FULL_SUMMARY = """
query($filter: InvoiceFilter) {
  billingSummary(filter: $filter) {
    accountingDateFrom accountingDateTo
    totals { invoiceCount consumptionKwh totalExclTax totalInclTax }
    byMonth { month totals { invoiceCount consumptionKwh totalInclTax } }
  }
}"""


@dataclass(frozen=True)
class Figures:
    world: World
    extra: Any  # the second site of accounts[2]'s multi-site invoices


@pytest.fixture(scope="module")
async def figures(session_factory: async_sessionmaker[AsyncSession]) -> Figures:
    world = await make_world(session_factory, "Chiffres")
    a0, a1, a2 = world.accounts
    s0, s1, s2 = world.sites
    extra, _ = await make_metered_site(session_factory, a2)
    for day in (date(2026, 11, 30), date(2026, 9, 15), date(2026, 5, 31)):
        await make_invoice(session_factory, a2, [s2, extra], accounting_date=day, kwh=4000)
    await make_invoice(session_factory, a0, [s0], accounting_date=date(2026, 11, 30), kwh=1000)
    await make_invoice(session_factory, a1, [s1], accounting_date=date(2026, 8, 10), kwh=2500)
    await make_invoice(session_factory, a0, [s0], accounting_date=date(2026, 5, 2), kwh=700)
    return Figures(world, extra)


async def sql_one(runner: Runner, sql: str, **params: Any) -> Any:
    """One row of plain SQL; columns named `excl` and `incl` are money, read as stored."""
    money = {name: Money() for name in ("excl", "incl") if f" AS {name}" in sql}
    async with runner.sessions() as session:
        connection = await session.connection()
        return (await connection.execute(sa.text(sql).columns(**money), params)).one()


SITE_SHARE_SQL = """
SELECT COUNT(DISTINCT i.id) AS n, COALESCE(SUM(x.consumption_kwh), 0) AS kwh,
       SUM(x.total_excl_tax) AS excl, SUM(x.total_incl_tax) AS incl
FROM invoice_sites x JOIN invoices i ON i.id = x.invoice_id
WHERE x.site_id = :site AND i.accounting_date >= :start AND i.accounting_date <= :end"""

GROUP_MONTH_SQL = """
SELECT COUNT(*) AS n, COALESCE(SUM(i.consumption_kwh), 0) AS kwh,
       COALESCE(SUM(i.total_incl_tax), 0) AS incl
FROM invoices i JOIN billing_accounts b ON b.id = i.billing_account_id
JOIN members m ON m.id = b.member_id
WHERE m.group_id = :grp AND i.accounting_date >= :start AND i.accounting_date < :next"""


async def test_a_site_filter_counts_the_site_share_of_multi_site_invoices(
    runner: Runner, figures: Figures
) -> None:
    # given: three invoices of two sites each, one of them 'extra'
    site = gid("Site", figures.extra.id)
    # when
    data = await runner.run(
        FULL_SUMMARY,
        {"filter": {"siteId": site}},
        as_user=figures.world.people["ADMIN"],
        now=RUN_DAY,
    )
    # then: the totals are the site's per-site rows, not the whole invoices
    summary = data["billingSummary"]
    start, end = date(2026, 7, 1), date(2026, 12, 31)
    share = await sql_one(runner, SITE_SHARE_SQL, site=figures.extra.id, start=start, end=end)
    totals = summary["totals"]
    assert (summary["accountingDateFrom"], summary["accountingDateTo"]) == (
        "2026-07-01",
        "2026-12-31",
    )
    assert totals["invoiceCount"] == share.n == 2
    assert totals["consumptionKwh"] == share.kwh
    assert Decimal(totals["totalExclTax"]) == share.excl
    assert Decimal(totals["totalInclTax"]) == share.incl
    whole = await sql_one(
        runner,
        "SELECT SUM(total_incl_tax) AS incl FROM invoices WHERE billing_account_id = :a "
        "AND accounting_date >= :start",
        a=figures.world.accounts[2].id,
        start=start,
    )
    assert Decimal(totals["totalInclTax"]) < whole.incl


async def test_summary_windows_are_whole_months_every_month_listed(
    runner: Runner, figures: Figures
) -> None:
    admin = figures.world.people["ADMIN"]
    # when: by default, the day after the 30 November run
    data = await runner.run(FULL_SUMMARY, {}, as_user=admin, now=RUN_DAY)
    # then: July–December, the run included, every month listed
    summary = data["billingSummary"]
    assert (summary["accountingDateFrom"], summary["accountingDateTo"]) == (
        "2026-07-01",
        "2026-12-31",
    )
    months = summary["byMonth"]
    assert [m["month"] for m in months] == [f"2026-{k:02d}" for k in range(7, 13)]
    for k, m in enumerate(months, start=7):
        nxt = date(2027, 1, 1) if k == 12 else date(2026, k + 1, 1)
        expected = await sql_one(
            runner, GROUP_MONTH_SQL, grp=figures.world.group.id, start=date(2026, k, 1), next=nxt
        )
        assert (m["totals"]["invoiceCount"], m["totals"]["consumptionKwh"]) == (
            expected.n,
            expected.kwh,
        )
        assert Decimal(m["totals"]["totalInclTax"]) == expected.incl
    assert months[4]["totals"]["invoiceCount"] == 2 and months[1]["totals"]["invoiceCount"] == 1
    assert months[0]["totals"]["invoiceCount"] == 0  # July: nothing, still listed
    # and a window of whole months is taken as it is: May–October
    data = await runner.run(
        FULL_SUMMARY,
        {"filter": {"accountingDateFrom": "2026-05-01", "accountingDateTo": "2026-10-31"}},
        as_user=admin,
        now=RUN_DAY,
    )
    may = data["billingSummary"]["byMonth"][0]
    assert may["month"] == "2026-05" and may["totals"]["invoiceCount"] == 2
    # but seven months are refused, and the message does not promise that a site lifts it
    result = await runner.raw(
        FULL_SUMMARY,
        {"filter": {"accountingDateFrom": "2026-05-01", "accountingDateTo": "2026-11-01"}},
        as_user=admin,
        now=RUN_DAY,
    )
    [error] = result.errors
    assert error.extensions["code"] == "PERIOD_TOO_LONG"
    assert "site" not in error.message


async def test_monthly_consumption_is_the_same_on_home_and_perimeter_screens(
    runner: Runner, figures: Figures
) -> None:
    # given: the member's USER, on 1 December
    user = figures.world.people["USER"]
    # when
    home = await runner.run(HOME_KWH, {}, as_user=user, now=RUN_DAY)
    perimeter = await runner.run(
        CONSUMPTION_BY_MONTH, {"from": "2026-10", "to": "2026-11"}, as_user=user, now=RUN_DAY
    )
    spread = await runner.run(
        CONSUMPTION_BY_MONTH,
        {"from": "2026-10", "to": "2026-11", "rule": "PRO_RATA_DAYS"},
        as_user=user,
        now=RUN_DAY,
    )
    # then: both count November's invoice in November, as plain SQL does
    expected = await sql_one(
        runner,
        "SELECT SUM(i.consumption_kwh) AS kwh FROM invoices i JOIN billing_accounts b "
        "ON b.id = i.billing_account_id WHERE b.member_id = :m "
        "AND i.accounting_date >= :start AND i.accounting_date < :next",
        m=figures.world.member.id,
        start=date(2026, 11, 1),
        next=date(2026, 12, 1),
    )
    home_months = {m["month"]: m["totals"] for m in home["homeBillingSummary"]["months"]}
    by_month = {m["month"]: m["kwh"] for m in perimeter["perimeterConsumption"]["months"]}
    assert list(home_months) == ["2026-10", "2026-11", "2026-12"]
    assert home_months["2026-11"]["consumptionKwh"] == by_month["2026-11"] == expected.kwh == 1000
    assert by_month["2026-10"] == 0
    # and the spread by days is a different, explicit answer (the invoice runs from January)
    spread_months = spread["perimeterConsumption"]["months"]
    assert [m["kwh"] for m in spread_months] != [by_month["2026-10"], by_month["2026-11"]]
