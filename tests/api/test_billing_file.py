"""exportBillingFile as a person opens it: XLSX read with openpyxl (styles included), CSV
parsed with csv; counts and amounts checked against SQL written here, not the code's."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.signed_urls import verify_file_token
from db.models import Site
from tests.clock import TODAY
from tests.factories import World, make_invoice, make_world
from tests.ids import gid
from tests.runner import Runner

EXPORT_FILE = """
mutation($i: ExportBillingFileInput!) {
  exportBillingFile(input: $i) { url invoiceCount rowCount errors { field code message } }
}
"""

# Codes that must never reach a person: every one has a French label.
ENGLISH_CODES = {
    "POST",
    "EMAIL",
    "CHORUS_PRO",
    "ISSUED",
    "PENDING",
    "REPRINTED",
    "PAID",
    "UNPAID",
    "PARTIALLY_PAID",
    "CANCELLED",
    "GAS",
    "ELECTRICITY",
    "INVOICE",
    "CANCELLATION",
    "CREDIT_NOTE",
    "ACTUAL",
    "ESTIMATED",
}


@dataclass(frozen=True)
class Grouped:
    world: World
    site: Site  # on three grouped invoices with two other sites each


@pytest.fixture(scope="module")
async def grouped(session_factory: async_sessionmaker[AsyncSession]) -> Grouped:
    world = await make_world(session_factory, "Fichier")
    s2 = world.sites[2]
    async with session_factory() as session, session.begin():
        others = [
            Site.model_validate(
                s2.model_dump(exclude={"id"}) | {"point_number": f"{k}{s2.point_number[1:]}"}
            )
            for k in (7, 8)  # prefixes no factory uses (3, 4, 5 are theirs)
        ]
        session.add_all(others)
    for months in (1, 2, 3):
        await make_invoice(
            session_factory,
            world.accounts[2],
            [s2, *others],
            accounting_date=TODAY - timedelta(days=30 * months),
        )
    await make_invoice(session_factory, world.accounts[0], [world.sites[0]], accounting_date=TODAY)
    return Grouped(world, s2)


def _file_of(runner: Runner, url: str) -> Path:
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    return runner.settings.files_dir / verify_file_token(secret, url.rsplit("/", 1)[1])


async def _export(runner: Runner, grouped: Grouped, variables: dict[str, Any]) -> dict[str, Any]:
    data = await runner.run(EXPORT_FILE, {"i": variables}, as_user=grouped.world.people["ADMIN"])
    payload = data["exportBillingFile"]
    assert payload["errors"] == []
    return payload


async def test_a_site_filter_lists_only_that_sites_rows(
    runner: Runner, grouped: Grouped, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: the site is on 3 grouped invoices, each with two other sites
    async with session_factory() as session:
        expected_rows, expected_total = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT count(*), sum(total_incl_tax) FROM invoice_sites WHERE site_id = :s"
                ),
                {"s": grouped.site.id},
            )
        ).one()
    # when
    payload = await _export(
        runner, grouped, {"format": "CSV", "filter": {"siteId": gid("Site", grouped.site.id)}}
    )
    # then: the site's own rows, and its own share of each invoice
    rows = list(
        csv.reader(
            io.StringIO(_file_of(runner, payload["url"]).read_text("utf-8-sig")), delimiter=";"
        )
    )
    header, body = rows[0], rows[1:]
    assert expected_rows == 3
    assert len(body) == payload["rowCount"] == expected_rows
    assert payload["invoiceCount"] == 3
    assert {r[header.index("PRM/PCE")] for r in body} == {grouped.site.point_number}
    total = sum(Decimal(r[header.index("Total TTC")].replace(",", ".")) for r in body)
    if isinstance(expected_total, int):  # SQLite keeps cents as integers
        expected_total = Decimal(expected_total) / 100
    assert total == Decimal(expected_total)


async def test_the_xlsx_billing_file_is_a_spreadsheet_people_can_read(
    runner: Runner, grouped: Grouped
) -> None:
    # when
    payload = await _export(runner, grouped, {"format": "XLSX"})
    path = _file_of(runner, payload["url"])
    # then: a dated name
    stamp = re.fullmatch(r"fichier-de-facturation-(\d{8})\.xlsx", path.name)
    assert stamp is not None
    assert datetime.strptime(stamp[1], "%Y%m%d").date() == TODAY  # the request's clock
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    assert header[:3] == ["N° facture", "Type", "Date comptable"]
    assert all(c.font.b for c in rows[0])  # a bold header…
    assert sheet.freeze_panes == "A2"  # …that stays in view…
    assert sheet.auto_filter.ref == f"A1:{rows[0][-1].column_letter}{len(rows)}"  # …filterable
    assert len(rows) - 1 == payload["rowCount"] == 3 * 3 + 1
    column = {title: i for i, title in enumerate(header)}
    for row in rows[1:]:
        number = row[column["N° facture"]]
        assert isinstance(number.value, str) and number.number_format == "@"
        assert isinstance(row[column["PRM/PCE"]].value, str)
        day = row[column["Date comptable"]]
        assert isinstance(day.value, datetime) and day.number_format == "dd/mm/yyyy"
        money = row[column["Total TTC"]]
        assert isinstance(money.value, float | int)
        assert "€" in money.number_format and "0.00" in money.number_format
        for cell in row:
            assert cell.value not in ENGLISH_CODES, (header[cell.column - 1], cell.value)
    # widths: a date (dd/mm/yyyy) and the largest amount as displayed, "1 234,56 €", fit
    for title, cells in zip(header, zip(*rows[1:], strict=True), strict=True):
        width = sheet.column_dimensions[cells[0].column_letter].width
        shown = [
            f"{c.value:,.2f} €" if "€" in c.number_format else f"{c.value:%d/%m/%Y}"
            for c in cells
            if isinstance(c.value, float | int | datetime)
            and not isinstance(c.value, bool)
            and ("€" in c.number_format or c.number_format == "dd/mm/yyyy")
        ]
        assert width >= max((len(s) + 1 for s in shown), default=0), title
        assert width >= len(title), title
    assert {row[column["Type"]].value for row in rows[1:]} == {"Facture"}
    assert {row[column["Énergie"]].value for row in rows[1:]} <= {"Gaz naturel", "Électricité"}
    book.close()


async def test_stored_parts_add_up_and_read_like_a_split_at_export(
    runner: Runner, grouped: Grouped, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Each site row keeps its share of every component, written with the invoice: they add up
    to the row's stored family amounts (SQL here), and a file read from them is byte for byte
    the file split from the invoice's lines at export (the path of rows written before)."""
    accounts = [a.id for a in grouped.world.accounts]
    mine = (
        "invoice_id IN (SELECT id FROM invoices WHERE billing_account_id IN "
        f"({', '.join(str(a) for a in accounts)}))"
    )
    async with session_factory() as session:
        connection = await session.connection()
        off = (
            await connection.execute(
                sa.text(
                    "SELECT count(*) FROM invoice_sites WHERE "
                    f"{mine} AND (subscription_part IS NULL "
                    "OR subscription_part <> subscription_amount "
                    "OR energy_part + capacity_part + energy_saving_certificates_part "
                    "+ regularisation_part <> energy_amount "
                    "OR transport_part <> transport_amount "
                    "OR cta_part + excise_part + local_tax_part <> taxes_amount)"
                )
            )
        ).scalar_one()
        rows = (
            await connection.execute(sa.text(f"SELECT count(*) FROM invoice_sites WHERE {mine}"))
        ).scalar_one()
    assert rows >= 10 and off == 0
    stored = {
        fmt: _file_of(runner, (await _export(runner, grouped, {"format": fmt}))["url"]).read_bytes()
        for fmt in ("CSV", "XLSX")
    }
    parts = (
        "subscription_part",
        "energy_part",
        "capacity_part",
        "energy_saving_certificates_part",
        "regularisation_part",
        "transport_part",
        "cta_part",
        "excise_part",
        "local_tax_part",
    )
    async with session_factory() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.text(
                f"UPDATE invoice_sites SET {', '.join(f'{p} = NULL' for p in parts)} WHERE {mine}"
            )
        )
    # (the rows stay without parts: later tests read them through the split, the same figures)
    for fmt, expected in stored.items():
        split = _file_of(runner, (await _export(runner, grouped, {"format": fmt}))["url"])
        if fmt == "CSV":
            assert split.read_bytes() == expected
        else:  # an XLSX zip carries its write time: compare the cells
            assert _cells(split) == _cells_of_bytes(expected)


def _cells(path: Path) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def _cells_of_bytes(data: bytes) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))
