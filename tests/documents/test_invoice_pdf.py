"""Invoice PDFs a public accountant accepts: rendered through the API, read back with pypdf, and
checked against SQL written apart from the code (the invoice's stored rows).

Four invoices: a mono-site gas invoice with a history, a two-register (HP/HC) electricity
invoice, a 30-site grouped invoice and a cancellation. Set COMPTOIR_PDF_DUMP to a folder to
keep a copy of each PDF (to render them to images and look at them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.signed_urls import verify_file_token
from db.core import LINES, SHARES, SITES
from db.models import BillingAccount, Invoice, Site
from domain.enums import Energy, InvoiceKind, MeterKind, Register, Segment
from tests.factories import World, make_invoice, make_metered_site, make_world
from tests.runner import Runner

TODAY = date(2026, 11, 30)
PDF_URL = "query($n: String!) { invoice(number: $n) { number pdfUrl } }"
LONG_LABEL = (
    "Acheminement distribution (ATRD) – terme proportionnel, quote-part de la période "
    "de régularisation hivernale"
)


@dataclass(frozen=True)
class Invoices:
    world: World
    gas: Invoice  # mono-site, gas, with two earlier invoices (its history)
    two_registers: Invoice  # HP/HC electricity meter
    grouped: Invoice  # 30 sites
    cancellation: Invoice


async def _update(sessions: async_sessionmaker[AsyncSession], statement: sa.Update) -> None:
    """Test data set-up through typed columns (decimals are stored differently by dialect)."""
    async with sessions() as session, session.begin():
        await session.exec(statement)  # type: ignore[call-overload]


def stored_decimal(value: object, scale: int) -> Decimal:
    """A decimal column read with raw SQL: NUMERIC on PostgreSQL, an integer of 10^-scale
    units on SQLite (db/types.py)."""
    if isinstance(value, int):
        return Decimal(value).scaleb(-scale)
    return Decimal(str(value))


async def _match_meter(
    sessions: async_sessionmaker[AsyncSession], invoice: Invoice, site: Site, serial: str
) -> None:
    """make_invoice prints a made-up serial: print the site's real meter instead."""
    await _update(
        sessions,
        sa.update(SHARES)
        .where(SHARES.c.invoice_id == invoice.id, SHARES.c.site_id == site.id)
        .values(meter_serial=serial),
    )


@pytest.fixture(scope="module")
async def invoices(session_factory: async_sessionmaker[AsyncSession]) -> Invoices:
    sessions = session_factory
    world = await make_world(sessions, "Pdf")
    # a gas account of the first member
    async with sessions() as session, session.begin():
        gas_account = BillingAccount.model_validate(
            world.accounts[1].model_dump(exclude={"id"})
            | {"number": f"BG{world.accounts[1].id:08d}", "energy": Energy.GAS}
        )
        session.add(gas_account)
    gas_site, gas_meter = await make_metered_site(
        sessions,
        gas_account,
        kind=MeterKind.GAS_CONVENTIONAL,
        segment=Segment.T2,
        car_kwh=48_500,
        coefficient=Decimal("11.2"),
    )
    earlier = []
    for months_ago in (6, 4):
        past = await make_invoice(
            sessions,
            gas_account,
            [gas_site],
            accounting_date=TODAY - timedelta(days=30 * months_ago),
            kwh=4_000 + 100 * months_ago,
        )
        await _match_meter(sessions, past, gas_site, gas_meter.serial)
        earlier.append(past)
    gas = await make_invoice(
        sessions, gas_account, [gas_site], accounting_date=TODAY - timedelta(days=60), kwh=12_345
    )
    await _match_meter(sessions, gas, gas_site, gas_meter.serial)

    # two registers
    hp_hc_site, hp_hc_meter = await make_metered_site(
        sessions, world.accounts[0], registers=(Register.HP, Register.HC)
    )
    await _update(
        sessions,
        sa.update(SITES)
        .where(SITES.c.id == hp_hc_site.id)
        .values(connection="BT ≤ 36 kVA", subscribed_power_kva=Decimal(12)),
    )
    two_registers = await make_invoice(
        sessions, world.accounts[0], [hp_hc_site], accounting_date=TODAY - timedelta(days=20)
    )
    await _match_meter(sessions, two_registers, hp_hc_site, hp_hc_meter.serial)
    await _update(
        sessions,
        sa.update(SHARES)
        .where(SHARES.c.invoice_id == two_registers.id)
        .values(
            register_indexes=[
                {"register": "HP", "previous": 12345, "current": 12891},
                {"register": "HC", "previous": 4567, "current": 4701},
            ]
        ),
    )

    # 30 sites on the other member's account
    sites = []
    for _ in range(30):
        site, meter = await make_metered_site(sessions, world.accounts[2])
        sites.append((site, meter))
    grouped = await make_invoice(
        sessions,
        world.accounts[2],
        [s for s, _ in sites],
        accounting_date=TODAY - timedelta(days=10),
        kwh=1_250,
    )
    for site, meter in sites:
        await _match_meter(sessions, grouped, site, meter.serial)
    await _update(
        sessions,
        sa.update(LINES)
        .where(LINES.c.invoice_id == grouped.id, LINES.c.component == "TRANSPORT")
        .values(label=LONG_LABEL),
    )

    cancellation = await make_invoice(
        sessions,
        gas_account,
        [gas_site],
        accounting_date=TODAY - timedelta(days=40),
        kind=InvoiceKind.CANCELLATION,
        cancels=earlier[1],
    )
    await _match_meter(sessions, cancellation, gas_site, gas_meter.serial)
    return Invoices(world, gas, two_registers, grouped, cancellation)


async def pdf_text(runner: Runner, invoices: Invoices, invoice: Invoice) -> str:
    """The text of the invoice's PDF, as the API serves it to the group's ADMIN."""
    data = await runner.run(PDF_URL, {"n": invoice.number}, as_user=invoices.world.people["ADMIN"])
    secret = runner.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    key = verify_file_token(secret, data["invoice"]["pdfUrl"].rsplit("/", 1)[1])
    path = runner.settings.files_dir / key
    dump = os.environ.get("COMPTOIR_PDF_DUMP")
    if dump:
        os.makedirs(dump, exist_ok=True)
        shutil.copy(path, os.path.join(dump, f"{invoice.number}.pdf"))
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def flat(text: str) -> str:
    """The text with every kind of space removed and lines joined (a value may wrap)."""
    return re.sub(r"[\s\u00a0\u202f]+", "", text)


def grouped_number(value: int) -> str:
    """12345 → "12 345" (compared with `spaced` text)."""
    return f"{value:,}".replace(",", " ")


def spaced(text: str) -> str:
    """The text with no-break spaces as plain ones (pypdf extracts them either way)."""
    return re.sub("[\u00a0\u202f]", " ", text)


async def rows(
    sessions: async_sessionmaker[AsyncSession], sql: str, **params: object
) -> list[sa.Row[tuple[object, ...]]]:
    async with sessions() as session:
        result = await session.exec(sa.text(sql).bindparams(**params))  # type: ignore[call-overload]
        return list(result.all())


def assert_legal_identity(text: str, runner: Runner) -> None:
    s = runner.settings
    compact = flat(text)
    for value in (s.supplier_legal_name, s.supplier_rcs, s.supplier_address, s.supplier_vat_number):
        assert flat(value) in compact, value
    assert f"SIREN{s.supplier_siren}" in compact
    assert f"SIRET{s.supplier_siret}" in compact
    assert "TVAintracommunautaire" in compact
    assert flat(s.supplier_share_capital) in compact


async def assert_every_site_section(
    text: str, sessions: async_sessionmaker[AsyncSession], invoice: Invoice
) -> None:
    """Per site: its point, meter serial and coefficient, and every register's old and new
    index, from the stored per-site rows."""
    shares = await rows(
        sessions,
        "SELECT s.point_number, s.car_kwh, i.meter_serial, i.register_indexes,"
        " m.reading_coefficient"
        " FROM invoice_sites i JOIN sites s ON s.id = i.site_id"
        " LEFT JOIN meters m ON m.site_id = i.site_id AND m.serial = i.meter_serial"
        " WHERE i.invoice_id = :i ORDER BY s.point_number",
        i=invoice.id,
    )
    compact = flat(text)
    assert shares
    for k, (point, car, serial, registers, coefficient) in enumerate(shares, start=1):
        label = "PCE" if invoice.energy == Energy.GAS else "PRM"
        assert f"{label}{point}" in compact, point
        if len(shares) > 1:
            assert f"Site{k}/{len(shares)}:{label}{point}" in compact
        assert f"n°{serial},coefficientdelecture" in compact, serial
        assert coefficient is not None
        printed = f"{stored_decimal(coefficient, 5).normalize():f}".replace(".", ",")
        assert f"coefficientdelecture{printed}" in compact
        assert f"CAR:{car}kWh/an" in compact

        for register in json.loads(registers) if isinstance(registers, str) else registers:
            line = f"{register['previous']}{register['current']}"
            assert line in compact, (point, register)


async def test_a_mono_site_gas_invoice(
    runner: Runner, invoices: Invoices, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    text = spaced(await pdf_text(runner, invoices, invoices.gas))
    assert_legal_identity(text, runner)
    await assert_every_site_section(text, session_factory, invoices.gas)
    # French: « fournisseur de gaz naturel », never « d'gaz »
    assert "fournisseur de gaz naturel" in text
    assert "d'gaz" not in text and "d’gaz" not in text
    # the index unit and the history (its two earlier invoices and itself), with the CAR
    assert "Écart (m³)" in text
    history = await rows(
        session_factory,
        "SELECT i.consumption_kwh FROM invoice_sites i JOIN invoices v ON v.id = i.invoice_id"
        " WHERE i.site_id = (SELECT site_id FROM invoice_sites WHERE invoice_id = :i)"
        " AND v.kind = 'INVOICE' AND v.accounting_date <= :d ORDER BY v.accounting_date",
        i=invoices.gas.id,
        d=invoices.gas.accounting_date,
    )
    assert len(history) == 3
    compact = flat(text)
    assert "Historiquedeconsommation–CAR:48500kWh/an" in compact
    for (kwh,) in history:
        assert f"{grouped_number(kwh)} kWh" in text
    # quantities grouped by thousands
    assert grouped_number(12_345) in text
    # no mono-site summary table
    assert "Récapitulatif par site" not in text


async def test_a_two_register_meter_shows_both_registers(
    runner: Runner, invoices: Invoices, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    text = spaced(await pdf_text(runner, invoices, invoices.two_registers))
    assert_legal_identity(text, runner)
    await assert_every_site_section(text, session_factory, invoices.two_registers)
    assert "Heures pleines 12 345 12 891 546" in text
    assert "Heures creuses 4 567 4 701 134" in text
    assert "fournisseur d'électricité" in text
    assert "BT <= 36 kVA" in text and "12 kVA" in text


async def test_a_grouped_invoice_has_a_summary_then_one_section_per_site(
    runner: Runner, invoices: Invoices, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    text = spaced(await pdf_text(runner, invoices, invoices.grouped))
    assert_legal_identity(text, runner)
    await assert_every_site_section(text, session_factory, invoices.grouped)
    assert "Récapitulatif par site (30 sites)" in text
    # the summary comes before the first section
    assert text.index("Récapitulatif par site") < text.index("Site 1/30")
    # lines grouped as on the supplier's invoices, each group with its subtotal
    compact = flat(text)
    groups = await rows(
        session_factory,
        "SELECT CASE WHEN component IN ('TRANSPORT') THEN 'transport'"
        " WHEN component IN ('CTA', 'EXCISE', 'LOCAL_TAX') THEN 'taxes' ELSE 'energy' END,"
        " SUM(amount) FROM invoice_lines WHERE invoice_id = :i AND component != 'VAT'"
        " GROUP BY 1",
        i=invoices.grouped.id,
    )
    titles = {
        "energy": "Sous-totalfournitured'énergie",
        "transport": "Sous-totalacheminementetlivraison",
        "taxes": "Sous-totaltaxesetcontributions",
    }
    for family, amount in groups:
        expected = f"{stored_decimal(amount, 2):.2f}".replace(".", ",")
        assert f"{titles[family]}{expected}€" in compact, family
    positions = [text.index(t) for t in ("Fourniture d'énergie", "Acheminement et livraison")]
    assert positions == sorted(positions)
    # the long label is printed whole (wrapped, not clipped)
    assert flat(LONG_LABEL) in compact
    # quantities grouped by thousands: the energy line's kWh over 30 sites
    (quantity,) = (
        await rows(
            session_factory,
            "SELECT quantity FROM invoice_lines WHERE invoice_id = :i AND component = 'ENERGY'",
            i=invoices.grouped.id,
        )
    )[0]
    assert grouped_number(int(stored_decimal(quantity, 3))) in text


async def test_no_vat_line_at_a_rate_no_line_uses(
    runner: Runner, invoices: Invoices, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given the two-register invoice, whose reduced-rate lines are moved to the standard rate
    invoice = invoices.two_registers
    await _update(
        session_factory,
        sa.update(LINES)
        .where(LINES.c.invoice_id == invoice.id, LINES.c.component != "VAT")
        .values(vat_rate=Decimal("20.00")),
    )
    await _update(
        session_factory,
        sa.update(LINES)
        .where(
            LINES.c.invoice_id == invoice.id,
            LINES.c.component == "VAT",
            LINES.c.vat_rate == Decimal("5.50"),
        )
        .values(amount=Decimal(0), vat_base=Decimal(0)),
    )
    for stale in (runner.settings.files_dir / "invoices" / "rendered").glob(f"{invoice.number}*"):
        stale.unlink()
    text = spaced(await pdf_text(runner, invoices, invoice))
    used = await rows(
        session_factory,
        "SELECT DISTINCT vat_rate FROM invoice_lines WHERE invoice_id = :i AND component != 'VAT'",
        i=invoice.id,
    )
    assert [stored_decimal(r, 2) for (r,) in used] == [Decimal("20")]
    assert "TVA 20 %" in text
    assert "5,5" not in text


async def test_a_cancellation_names_the_invoice_it_cancels(
    runner: Runner, invoices: Invoices, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    text = spaced(await pdf_text(runner, invoices, invoices.cancellation))
    assert_legal_identity(text, runner)
    await assert_every_site_section(text, session_factory, invoices.cancellation)
    ((cancelled,),) = await rows(
        session_factory,
        "SELECT c.number FROM invoices i JOIN invoices c ON c.id = i.cancels_invoice_id"
        " WHERE i.id = :i",
        i=invoices.cancellation.id,
    )
    assert f"Facture d'annulation n° {invoices.cancellation.number}" in text
    assert f"Annule la facture n° {cancelled}" in text
    total = f"-{abs(invoices.cancellation.total_incl_tax):.2f}".replace(".", ",")
    assert total in flat(text)


async def test_the_pdf_shows_the_groups_customer_service(
    runner: Runner, invoices: Invoices, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    ((name, email, phone, hours),) = await rows(
        session_factory,
        "SELECT name, email, phone, opening_hours FROM contacts"
        " WHERE group_id = :g AND member_id IS NULL AND role = 'CUSTOMER_SERVICE'",
        g=invoices.world.group.id,
    )
    text = await pdf_text(runner, invoices, invoices.gas)
    compact = flat(text)
    for line in (
        name,
        f"Courriel : {email}",
        f"Téléphone : {phone} ({hours})",
    ):
        assert flat(line) in compact, line
