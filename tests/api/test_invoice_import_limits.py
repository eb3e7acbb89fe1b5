"""Corrections are time-limited (issue 9 #6): `import_invoices` refuses a regularisation
charged to the customer whose period starts more than 2 years (private person), 4 years
(public customer) or 5 years (business) before the invoice's accounting date, with the line
number and a French message; one such line and nothing of the file is imported."""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.invoice_import import CSV_COLUMNS, ImportRejected, import_invoices
from tests.factories import World, make_world

_numbers = itertools.count(1)
CENT = Decimal("0.01")


def _vat(base: Decimal, rate: str) -> Decimal:
    return (base * Decimal(rate) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def corrected_invoice(world: World, *, period_start: str, regularisation: str) -> dict[str, Any]:
    """An invoice of the world's first site billed on 1 October 2026: a subscription and a
    regularisation (positive: charged to the customer; negative: refunded)."""
    subscription, correction = Decimal("24.68"), Decimal(regularisation)
    vat_reduced, vat_standard = _vat(subscription, "5.5"), _vat(correction, "20")
    excl = subscription + correction
    incl = excl + vat_reduced + vat_standard
    return {
        "number": f"FR{next(_numbers):010d}",
        "billing_account": world.accounts[0].number,
        "kind": "INVOICE",
        "accounting_date": "2026-10-01",
        "period_start": period_start,
        "period_end": "2026-09-30",
        "due_date": "2026-10-31",
        "index_basis": "ACTUAL",
        "consumption_kwh": 0,
        "total_excl_tax": str(excl),
        "vat_reduced": str(vat_reduced),
        "vat_standard": str(vat_standard),
        "total_incl_tax": str(incl),
        "delivery_mode": "EMAIL",
        "lines": [
            {"component": "SUBSCRIPTION", "label": "Abonnement", "vat_rate": "5.50",
             "amount": str(subscription)},
            {"component": "REGULARISATION", "label": "Régularisation", "vat_rate": "20.00",
             "amount": str(correction)},
            {"component": "VAT", "label": "TVA 5,5 %", "vat_rate": "5.50",
             "vat_base": str(subscription), "amount": str(vat_reduced)},
            {"component": "VAT", "label": "TVA 20 %", "vat_rate": "20.00",
             "vat_base": str(correction), "amount": str(vat_standard)},
        ],
        "sites": [
            {"point_number": world.sites[0].point_number, "consumption_kwh": 0,
             "subscription_amount": str(subscription), "energy_amount": str(correction),
             "transport_amount": "0", "taxes_amount": "0", "total_excl_tax": str(excl),
             "vat_amount": str(vat_reduced + vat_standard), "total_incl_tax": str(incl)},
        ],
    }  # fmt: skip


def as_csv(invoices: list[dict[str, Any]]) -> str:
    def row(record: str, values: dict[str, Any]) -> str:
        cells = {"record": record, **values}
        return ";".join(str(cells.get(c, "")) for c in CSV_COLUMNS)

    rows = [";".join(CSV_COLUMNS)]
    for inv in invoices:
        rows.append(row("invoice", {k: v for k, v in inv.items() if k not in ("lines", "sites")}))
        rows += [row("line", {"number": inv["number"], **x}) for x in inv["lines"]]
        rows += [row("site", {"number": inv["number"], **x}) for x in inv["sites"]]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Prescription")


async def set_category(
    sessions: async_sessionmaker[AsyncSession], world: World, category: str
) -> None:
    async with sessions() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            sa.text("UPDATE members SET customer_category = :c WHERE id = :m"),
            params={"c": category, "m": world.member.id},
        )


async def stored(sessions: async_sessionmaker[AsyncSession], numbers: list[str]) -> int:
    """Invoices of these numbers in the database, counted apart from the import's code."""
    async with sessions() as session:
        query = sa.text("SELECT count(*) FROM invoices WHERE number IN :n").bindparams(
            sa.bindparam("n", expanding=True)
        )
        return (await session.exec(query, params={"n": numbers})).one()[0]  # type: ignore[call-overload]


async def run_import(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, invoices: list[dict[str, Any]]
) -> tuple[Path, list[tuple[int, str]]]:
    path = tmp_path / f"factures-{next(_numbers)}.csv"
    path.write_text(as_csv(invoices), encoding="utf-8")
    try:
        await import_invoices(sessions, path)
    except ImportRejected as rejected:
        return path, rejected.problems
    return path, []


def line_of(path: Path, number: str, component: str) -> int:
    for position, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        cells = text.split(";")
        if cells[0] == "line" and cells[1] == number and component in cells:
            return position
    raise AssertionError(f"{number} {component} not in {path}")


@pytest.mark.parametrize(
    ("category", "years", "label", "too_far", "within"),
    [
        ("PUBLIC", 4, "client public", "2022-09-30", "2022-10-01"),
        ("PRIVATE", 2, "particulier", "2024-09-30", "2024-10-01"),
        ("BUSINESS", 5, "professionnel", "2021-09-30", "2021-10-01"),
    ],
)
async def test_a_correction_beyond_the_members_limit_refuses_the_whole_file(
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    tmp_path: Path,
    category: str,
    years: int,
    label: str,
    too_far: str,
    within: str,
) -> None:
    await set_category(session_factory, world, category)
    # given a file with a correction inside the limit and one a day beyond it
    good = corrected_invoice(world, period_start=within, regularisation="50.00")
    bad = corrected_invoice(world, period_start=too_far, regularisation="50.00")
    path, problems = await run_import(session_factory, tmp_path, [good, bad])
    # then the file is refused at the bad regularisation's line, with a French message
    assert problems == [
        (
            line_of(path, bad["number"], "REGULARISATION"),
            f"facture {bad['number']} : la régularisation remonte au "
            f"{too_far[8:]}/{too_far[5:7]}/{too_far[:4]}, au-delà de la limite de {years} ans "
            f"pour un {label} (au plus tôt le {within[8:]}/{within[5:7]}/{within[:4]} pour une "
            "facture du 01/10/2026)",
        )
    ]
    # and nothing was imported, not even the good invoice
    assert await stored(session_factory, [good["number"], bad["number"]]) == 0
    # when the good one comes alone, it is imported
    _, alone = await run_import(session_factory, tmp_path, [good])
    assert alone == []
    assert await stored(session_factory, [good["number"]]) == 1


async def test_a_refund_and_an_ordinary_invoice_are_not_limited(
    session_factory: async_sessionmaker[AsyncSession], world: World, tmp_path: Path
) -> None:
    await set_category(session_factory, world, "PRIVATE")
    refund = corrected_invoice(world, period_start="2019-01-01", regularisation="-40.00")
    _, problems = await run_import(session_factory, tmp_path, [refund])
    assert problems == []
    assert await stored(session_factory, [refund["number"]]) == 1


async def test_json_files_are_checked_alike(
    session_factory: async_sessionmaker[AsyncSession], world: World, tmp_path: Path
) -> None:
    await set_category(session_factory, world, "PUBLIC")
    bad = corrected_invoice(world, period_start="2020-01-01", regularisation="12.00")
    path = tmp_path / "factures.json"
    path.write_text(json.dumps([bad], indent=2), encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        await import_invoices(session_factory, path)
    [(line, message)] = rejected.value.problems
    assert line == 2  # the invoice object's first line: JSON lines carry no line of their own
    assert "au-delà de la limite de 4 ans pour un client public" in message
    assert await stored(session_factory, [bad["number"]]) == 0


async def test_members_are_public_customers_unless_told_otherwise(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    fresh = await make_world(session_factory, "Categorie")
    async with session_factory() as session:
        category = (
            await session.exec(  # type: ignore[call-overload]
                sa.text("SELECT customer_category FROM members WHERE id = :m"),
                params={"m": fresh.member.id},
            )
        ).one()[0]
    assert category == "PUBLIC"
