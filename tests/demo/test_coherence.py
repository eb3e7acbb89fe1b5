"""Demo data that holds together (issue 9 #5), checked with SQL written for the test.

Estimated index pairs move by what they bill; cancellations are not paid; a second group
with its own ADMIN, isolated from the first; a dated load is reproducible.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.caller import GrantScope, perimeter_for
from comptoir.cli import main
from db.core import INVOICES
from db.models import Site, SQLModel
from db.scoped import scoped_invoices, scoped_sites
from demo import DEMO_LOGINS, DEMO_PASSWORD
from domain.enums import Tier


async def _rows(engine: AsyncEngine, sql: str) -> list[sa.Row]:  # type: ignore[type-arg]
    async with engine.connect() as connection:
        return list((await connection.execute(sa.text(sql))).all())


def _kwh(units: int, coefficient: Decimal) -> int:
    """kWh of a number of meter units, rounded half up (written here, not imported)."""
    return int((units * coefficient).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.usefixtures("demo_report")
async def test_printed_index_pairs_move_by_the_billed_kwh(demo_engine: AsyncEngine) -> None:
    meters = SQLModel.metadata.tables["meters"]
    query = sa.text(
        """
        SELECT s.index_basis, s.consumption_kwh, s.register_indexes, m.reading_coefficient,
               m.digits
        FROM invoice_sites s
        JOIN invoices i ON i.id = s.invoice_id
        JOIN meters m ON m.serial = s.meter_serial
        WHERE i.kind = 'INVOICE'"""
    ).columns(  # the stored coefficient read back as a Decimal, whatever the database
        sa.column("index_basis"),
        sa.column("consumption_kwh"),
        sa.column("register_indexes"),
        sa.column("reading_coefficient", meters.c.reading_coefficient.type),
        sa.column("digits"),
    )
    async with demo_engine.connect() as connection:
        printed = (await connection.execute(query)).all()
    estimated = 0
    for basis, billed, indexes, coefficient, digits in printed:
        indexes = json.loads(indexes) if isinstance(indexes, str) else indexes
        coefficient = Decimal(coefficient)
        if basis == "ESTIMATED":
            estimated += 1
            # An estimated index only goes up (past the meter's maximum, it wraps).
            moved = sum(
                _kwh((e["current"] - e["previous"]) % 10**digits, coefficient) for e in indexes
            )
            assert moved == billed, indexes
            assert any(e["current"] != e["previous"] for e in indexes) or billed == 0
        else:
            # An actual index after estimates that overshot moves back: billed as a credit.
            signed = sum(_kwh(e["current"] - e["previous"], coefficient) for e in indexes)
            wrapped = sum(
                _kwh((e["current"] - e["previous"]) % 10**digits, coefficient) for e in indexes
            )
            assert billed in (signed, wrapped), indexes
    assert estimated > 100


@pytest.mark.usefixtures("demo_report")
async def test_no_cancellation_is_paid(demo_engine: AsyncEngine) -> None:
    pairs = await _rows(
        demo_engine,
        """
        SELECT c.payment_status, o.payment_status FROM invoices c
        JOIN invoices o ON o.id = c.cancels_invoice_id WHERE c.kind = 'CANCELLATION'""",
    )
    assert len(pairs) >= 2
    assert set(pairs) == {("CANCELLED", "CANCELLED")}
    statuses = await _rows(
        demo_engine,
        "SELECT DISTINCT payment_status FROM invoices WHERE kind = 'CANCELLATION'",
    )
    assert statuses == [("CANCELLED",)]


@pytest.mark.usefixtures("demo_report")
async def test_two_groups_each_with_an_admin_who_sees_only_its_own(
    demo_engine: AsyncEngine,
) -> None:
    admins = await _rows(
        demo_engine,
        """
        SELECT u.email, g.id, g.group_id, u.password_hash FROM users u
        JOIN access_grants g ON g.user_id = u.id
        WHERE g.tier = 'ADMIN' AND g.suspended_at IS NULL AND g.revoked_at IS NULL""",
    )
    listed = {login.email for login in DEMO_LOGINS if login.tier is Tier.ADMIN}
    by_group = {group: email for email, _, group, _ in admins if email in listed}
    assert set(by_group) == {1, 2}
    assert by_group[2] == "admin@autre-groupement.comptoir.fr"
    assert DEMO_PASSWORD
    for email, grant_id, group_id, _ in admins:
        if email not in listed:
            continue
        own_sites = {
            site_id
            for (site_id,) in await _rows(
                demo_engine,
                f"SELECT s.id FROM sites s JOIN members m ON m.id = s.member_id "
                f"WHERE m.group_id = {int(group_id)}",
            )
        }
        own_invoices = {
            invoice_id
            for (invoice_id,) in await _rows(
                demo_engine,
                f"SELECT i.id FROM invoices i JOIN billing_accounts b "
                f"ON b.id = i.billing_account_id JOIN members m ON m.id = b.member_id "
                f"WHERE m.group_id = {int(group_id)}",
            )
        }
        assert own_sites and own_invoices
        grant = GrantScope(grant_id, Tier.ADMIN, group_id, None, frozenset(), True)
        perimeter = perimeter_for([grant])
        async with demo_engine.connect() as connection:
            sites = scoped_sites(perimeter, Site.id)
            invoices = scoped_invoices(perimeter, INVOICES.c.id)
            seen_sites = set((await connection.execute(sites)).scalars())
            seen_invoices = set((await connection.execute(invoices)).scalars())
        assert seen_sites == own_sites, email
        assert seen_invoices == own_invoices, email
    # Nothing of one group points at the other's people.
    crossing = await _rows(
        demo_engine,
        """
        SELECT COUNT(*) FROM alerts a JOIN sites s ON s.id = a.site_id
        JOIN members m ON m.id = s.member_id
        JOIN access_grants g ON g.user_id = a.acknowledged_by_user_id AND g.tier = 'ADMIN'
        WHERE g.group_id <> m.group_id""",
    )
    assert crossing == [(0,)]


_FIGURES = {
    "groups": "SELECT COUNT(*) FROM groups",
    "members": "SELECT COUNT(*) FROM members",
    "sites": "SELECT COUNT(*) FROM sites",
    "meters": "SELECT COUNT(*) FROM meters",
    "readings": "SELECT COUNT(*) FROM readings",
    "indexes": "SELECT SUM(index_value) FROM readings",
    "invoices": "SELECT COUNT(*) FROM invoices",
    "lines": "SELECT COUNT(*) FROM invoice_lines",
    "site rows": "SELECT COUNT(*) FROM invoice_sites",
    "total incl. VAT": "SELECT SUM(total_incl_tax) FROM invoices",
    "site totals": "SELECT SUM(total_incl_tax) FROM invoice_sites",
    "kWh": "SELECT SUM(consumption_kwh) FROM invoices",
    "alerts": "SELECT COUNT(*) FROM alerts",
    "requests": "SELECT COUNT(*) FROM technical_requests",
}


def _load(path: Path, as_of: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv("COMPTOIR_DATABASE_URL", f"sqlite:///{path}")
    assert main(["migrate"]) == 0
    assert main(["demo-data", "--scale", "small", "--as-of", as_of]) == 0
    with sqlite3.connect(path) as connection:
        return {name: connection.execute(sql).fetchone()[0] for name, sql in _FIGURES.items()}


def test_a_dated_load_is_reproducible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _load(tmp_path / "first.db", "2026-12-01", monkeypatch)
    printed = capsys.readouterr().out
    assert "au 01/12/2026" in printed and "admin@autre-groupement.comptoir.fr" in printed
    assert first == _load(tmp_path / "second.db", "2026-12-01", monkeypatch)
    assert first["groups"] == 2 and first["invoices"]
    other = _load(tmp_path / "other.db", "2026-06-01", monkeypatch)
    assert other["total incl. VAT"] != first["total incl. VAT"]


def test_a_bad_date_is_refused_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["demo-data", "--as-of", "01/12/2026"])
    assert exit_.value.code == 2
    assert "date invalide" in capsys.readouterr().err


def test_today_is_the_default_date() -> None:
    from comptoir.cli import build_parser

    args = build_parser().parse_args(["demo-data"])
    assert args.as_of is None
    assert build_parser().parse_args(["demo-data", "--as-of", "2026-12-01"]).as_of == date(
        2026, 12, 1
    )
