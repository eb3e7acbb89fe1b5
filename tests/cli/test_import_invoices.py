"""`comptoir import-invoices FILE`: every invoice checked, every bad row reported with its line
number, all or nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.invoice_import import CSV_COLUMNS, ImportRejected, import_invoices
from comptoir.settings import Settings
from db.models import Invoice, InvoiceLine, InvoiceSite
from tests.cli.conftest import RunCli
from tests.factories import World, make_world
from tests.runner import Runner

_counter = iter(range(1, 10**6))


def invoice(world: World, *, number: str, **changes: Any) -> dict[str, Any]:
    """A valid two-line invoice of the world's first site (24.68 € at 5.5 %, 69.88 € at 20 %)."""
    base = {
        "number": number,
        "billing_account": world.accounts[0].number,
        "kind": "INVOICE",
        "accounting_date": "2026-10-01",
        "period_start": "2026-08-01",
        "period_end": "2026-09-30",
        "due_date": "2026-10-31",
        "index_basis": "ACTUAL",
        "consumption_kwh": 566,
        "total_excl_tax": "94.56",
        "vat_reduced": "1.36",
        "vat_standard": "13.98",
        "total_incl_tax": "109.90",
        "delivery_mode": "EMAIL",
        "lines": [
            {"component": "SUBSCRIPTION", "label": "Abonnement", "quantity": "2", "unit": "mois",
             "unit_price": "12.34", "vat_rate": "5.50", "amount": "24.68"},
            {"component": "ENERGY", "label": "Consommation", "quantity": "566", "unit": "kWh",
             "unit_price": "0.123462", "vat_rate": "20.00", "amount": "69.88"},
            {"component": "VAT", "label": "TVA 5,5 %", "vat_rate": "5.50", "vat_base": "24.68",
             "amount": "1.36"},
            {"component": "VAT", "label": "TVA 20 %", "vat_rate": "20.00", "vat_base": "69.88",
             "amount": "13.98"},
        ],
        "sites": [
            {"point_number": world.sites[0].point_number, "consumption_kwh": 566,
             "register_indexes": [{"register": "BASE", "previous": 1000, "current": 1566}],
             "subscription_amount": "24.68", "energy_amount": "69.88", "transport_amount": "0",
             "taxes_amount": "0", "total_excl_tax": "94.56", "vat_amount": "15.34",
             "total_incl_tax": "109.90"},
        ],
    }  # fmt: skip
    return base | changes


def number(prefix: str = "FI") -> str:
    return f"{prefix}{next(_counter):010d}"


def as_csv(invoices: list[dict[str, Any]]) -> str:
    rows = [";".join(CSV_COLUMNS)]

    def row(record: str, values: dict[str, Any]) -> str:
        cells = {"record": record, **values}
        if isinstance(cells.get("register_indexes"), list):
            cells["register_indexes"] = json.dumps(cells["register_indexes"])
        return ";".join(str(cells.get(c, "")) for c in CSV_COLUMNS)

    for inv in invoices:
        header = {k: v for k, v in inv.items() if k not in ("lines", "sites")}
        rows.append(row("invoice", header))
        rows += [row("line", {"number": inv["number"], **x}) for x in inv["lines"]]
        rows += [row("site", {"number": inv["number"], **x}) for x in inv["sites"]]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Import")


async def test_a_good_json_file_is_imported_with_its_cancellation(
    session_factory: async_sessionmaker[AsyncSession], runner: Runner, world: World, tmp_path: Path
) -> None:
    # given an invoice and its cancellation in one file
    first = number()
    cancel = invoice(
        world, number=number("AN"), kind="CANCELLATION", cancels=first,
        consumption_kwh=-566, total_excl_tax="-94.56", vat_reduced="-1.36",
        vat_standard="-13.98", total_incl_tax="-109.90",
    )  # fmt: skip
    cancel["lines"] = [
        {**x, **{k: f"-{x[k]}" for k in ("amount", "vat_base") if k in x}}
        for x in cancel["lines"]
    ]  # fmt: skip
    cancel["sites"] = [
        {**s, **{k: f"-{s[k]}" for k in (
            "subscription_amount", "energy_amount", "total_excl_tax", "vat_amount",
            "total_incl_tax")}, "consumption_kwh": -566}
        for s in cancel["sites"]
    ]  # fmt: skip
    path = tmp_path / "factures.json"
    path.write_text(json.dumps([invoice(world, number=first), cancel], indent=2))
    # when it is imported
    report = await import_invoices(session_factory, path)
    # then both are there, linked, with their lines and sites, to the cent
    assert (report.invoices, report.lines, report.sites) == (2, 8, 2)
    async with session_factory() as session:
        from sqlmodel import select

        rows = {i.number: i for i in (await session.exec(select(Invoice).where(
            Invoice.number.in_([first, cancel["number"]])))).all()}  # type: ignore[attr-defined]  # fmt: skip
    assert rows[cancel["number"]].cancels_invoice_id == rows[first].id
    assert rows[first].total_incl_tax == Decimal("109.90")
    assert await runner.count(InvoiceLine, InvoiceLine.invoice_id == rows[first].id) == 4
    assert await runner.count(InvoiceSite, InvoiceSite.invoice_id == rows[first].id) == 1


async def test_a_good_csv_file_is_imported(
    session_factory: async_sessionmaker[AsyncSession], world: World, tmp_path: Path
) -> None:
    path = tmp_path / "factures.csv"
    path.write_text("\ufeff" + as_csv([invoice(world, number=number())]), encoding="utf-8")
    report = await import_invoices(session_factory, path)
    assert report.invoices == 1 and report.lines == 4


async def test_one_bad_row_and_nothing_is_imported(
    session_factory: async_sessionmaker[AsyncSession], runner: Runner, world: World, tmp_path: Path
) -> None:
    # given a CSV whose second invoice has a line that does not add up, and other faults
    good, bad = number(), number()
    wrong_line = invoice(world, number=bad)
    wrong_line["lines"][1] = {**wrong_line["lines"][1], "amount": "69.87"}
    unknown = invoice(world, number=number(), billing_account="BA-INCONNU")
    orphan = invoice(world, number=number("AN"), kind="CANCELLATION", cancels="FA0000000000")
    path = tmp_path / "mauvais.csv"
    path.write_text(as_csv([invoice(world, number=good), wrong_line, unknown, orphan]))
    before = await runner.count(Invoice)
    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        await import_invoices(session_factory, path)
    # then every bad row is reported with its line number (header = line 1, 7 rows/invoice)
    problems = dict(rejected.value.problems)
    assert "69,87" in problems[8] or "HT" in problems[8], problems
    assert "compte de contrat inconnu" in " ".join(problems.values())
    assert any("annulée FA0000000000 est introuvable" in p for p in problems.values())
    assert 2 not in problems  # the good invoice is fine
    # and the database is unchanged, the good invoice included
    assert await runner.count(Invoice) == before
    assert await runner.count(Invoice, Invoice.number == good) == 0


async def test_vat_base_must_match_the_rate(
    session_factory: async_sessionmaker[AsyncSession], world: World, tmp_path: Path
) -> None:
    item = invoice(world, number=number())
    item["lines"][2] = {**item["lines"][2], "vat_base": "20.00"}
    path = tmp_path / "tva.json"
    path.write_text("[\n" + json.dumps(item) + "\n]")
    with pytest.raises(ImportRejected) as rejected:
        await import_invoices(session_factory, path)
    assert rejected.value.problems[0][0] == 2
    assert "base de TVA à 5,5 %" in rejected.value.problems[0][1]


def test_the_command_reports_each_bad_row_and_exits_non_zero(
    run_cli: RunCli, test_settings: Settings, world: World, tmp_path: Path
) -> None:
    bad = invoice(world, number=number())
    bad["sites"][0] = {**bad["sites"][0], "point_number": "00000000000000"}
    path = tmp_path / "site.json"
    path.write_text(json.dumps([bad], indent=1))
    env = {"COMPTOIR_DATABASE_URL": test_settings.database_url}
    result = run_cli("import-invoices", str(path), env=env)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("ligne 2 : site 00000000000000 inconnu")
    assert lines[-1].startswith("comptoir: erreur : fichier refusé")
    good = tmp_path / "bon.json"
    good.write_text(json.dumps([invoice(world, number=number())]))
    result = run_cli("import-invoices", str(good), env=env)
    assert result.returncode == 0, result
    assert "1 facture(s) importée(s)" in result.stdout
