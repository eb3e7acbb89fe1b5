"""The demo's electricity C4 sites (> 36 kVA) and the reactive energy billed on some of them
(issue 12 #1): what the data holds, then what alert detection makes of it, checked with SQL
written for the test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from api.resolvers.alert_detection import detect_alerts
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from db.models import SQLModel
from demo import load_demo_data
from tests.clock import NOW
from tests.conftest import ThrowawayDatabases
from tests.demo.conftest import AS_OF

C4_REGISTERS = {"HPH", "HCH", "HPE", "HCE"}

# The last invoice of each C4 site and the reactive-energy lines on it (kVArh, amount > 0).
_LAST_INVOICE_REACTIVE = """
    SELECT s.id AS site_id, l.id AS line_id, l.amount FROM sites s
    JOIN invoice_sites x ON x.site_id = s.id
    JOIN invoices i ON i.id = x.invoice_id
    LEFT JOIN invoice_lines l ON l.invoice_id = i.id AND l.unit = 'kVArh' AND l.amount > 0
    WHERE s.segment = 'C4' AND i.kind <> 'CANCELLATION' AND i.accounting_date = (
        SELECT MAX(j.accounting_date) FROM invoices j
        JOIN invoice_sites y ON y.invoice_id = j.id
        WHERE y.site_id = s.id AND j.kind <> 'CANCELLATION')"""


async def _rows(engine: AsyncEngine, sql: str, *typed: sa.ColumnClause[object]) -> list[sa.Row]:  # type: ignore[type-arg]
    """Rows of `sql`; `typed` columns (all of them, in order) read back through the model's
    types, so amounts and powers are Decimals whatever the database stores."""
    statement = sa.text(sql).columns(*typed) if typed else sa.text(sql)
    async with engine.connect() as connection:
        return list((await connection.execute(statement)).all())


def _typed(table: str, column: str) -> sa.ColumnClause[object]:
    return sa.column(column, SQLModel.metadata.tables[table].c[column].type)


_LAST_COLUMNS: tuple[sa.ColumnClause[object], ...] = (
    sa.column("site_id"),
    sa.column("line_id"),
    _typed("invoice_lines", "amount"),
)


@pytest.fixture(scope="module")
async def detected(databases: ThrowawayDatabases) -> AsyncIterator[AsyncEngine]:
    """The `small` demo in a database of its own, after one detection run at the suite's
    clock (the shared demo database keeps only its planted alerts)."""
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await load_demo_data(engine, scale="small", as_of=AS_OF)
    await detect_alerts(create_session_factory(engine), now=NOW)
    yield engine
    await engine.dispose()


@pytest.mark.usefixtures("demo_report")
async def test_c4_sites_are_read_monthly_on_four_registers(demo_engine: AsyncEngine) -> None:
    sites = await _rows(
        demo_engine,
        """
        SELECT s.id, s.energy, s.subscribed_power_kva, s.transport_tariff, m.group_id,
               b.billing_frequency, (SELECT COUNT(*) FROM sites t
                                     WHERE t.billing_account_id = b.id) AS on_account
        FROM sites s JOIN members m ON m.id = s.member_id
        JOIN billing_accounts b ON b.id = s.billing_account_id
        WHERE s.segment = 'C4'""",
        sa.column("id"),
        sa.column("energy"),
        _typed("sites", "subscribed_power_kva"),
        sa.column("transport_tariff"),
        sa.column("group_id"),
        sa.column("billing_frequency"),
        sa.column("on_account"),
    )
    assert len(sites) == 5
    for _, energy, kva, tariff, group_id, frequency, on_account in sites:
        assert energy == "ELECTRICITY" and group_id == 1
        assert Decimal(36) < kva <= Decimal(250)
        assert tariff in ("BTSUPCU4", "BTSUPLU4")
        assert frequency == "MONTHLY" and on_account == 1  # one invoice per C4 site
    meters = await _rows(
        demo_engine,
        "SELECT m.kind, m.is_communicating, m.registers FROM meters m "
        "JOIN sites s ON s.id = m.site_id WHERE s.segment = 'C4'",
    )
    assert len(meters) == 5
    for kind, communicating, registers in meters:
        registers = json.loads(registers) if isinstance(registers, str) else registers
        assert kind == "ELECTRONIC" and communicating and set(registers) == C4_REGISTERS
    # An actual index per register at every month end of the 24-month window (25 dates).
    readings = await _rows(
        demo_engine,
        """
        SELECT r.site_id, r.register_code, COUNT(DISTINCT r.read_on),
               SUM(CASE WHEN r.source = 'DISTRIBUTOR_ACTUAL' THEN 0 ELSE 1 END)
        FROM readings r JOIN sites s ON s.id = r.site_id WHERE s.segment = 'C4'
        GROUP BY r.site_id, r.register_code""",
    )
    assert len(readings) == 5 * 4
    assert {register for _, register, _, _ in readings} == C4_REGISTERS
    assert all(dates == 25 and not other for _, _, dates, other in readings)


@pytest.mark.usefixtures("demo_report")
async def test_some_c4_invoices_bill_reactive_energy_under_transport(
    demo_engine: AsyncEngine,
) -> None:
    lines = await _rows(
        demo_engine,
        """
        SELECT DISTINCT s.id, l.component, l.label FROM invoice_lines l
        JOIN invoice_sites x ON x.invoice_id = l.invoice_id
        JOIN sites s ON s.id = x.site_id WHERE l.unit = 'kVArh'""",
    )
    assert lines
    segments = dict(await _rows(demo_engine, "SELECT id, segment FROM sites"))
    assert {segments[site_id] for site_id, _, _ in lines} == {"C4"}
    assert {component for _, component, _ in lines} == {"TRANSPORT"}
    assert all("réactive" in label for _, _, label in lines)
    reactive_sites = {site_id for site_id, _, _ in lines}
    c4_sites = {site_id for site_id, segment in segments.items() if segment == "C4"}
    assert 0 < len(reactive_sites) < len(c4_sites)  # some of them, not all
    # One site fitted capacitors during the window: reactive energy earlier, none at the end.
    last = await _rows(demo_engine, _LAST_INVOICE_REACTIVE, *_LAST_COLUMNS)
    still_billed = {site_id for site_id, line_id, _ in last if line_id is not None}
    assert still_billed < reactive_sites


async def test_detection_opens_reactive_energy_alerts_on_the_c4_sites_that_draw_it(
    detected: AsyncEngine,
) -> None:
    expected: dict[int, set[tuple[int, Decimal]]] = {}
    last = await _rows(detected, _LAST_INVOICE_REACTIVE, *_LAST_COLUMNS)
    for site_id, line_id, amount in last:
        if line_id is not None:
            expected.setdefault(site_id, set()).add((line_id, amount))
    assert expected
    alerts = await _rows(
        detected,
        """
        SELECT a.site_id, s.segment, a.evidence FROM alerts a
        JOIN sites s ON s.id = a.site_id
        WHERE a.kind = 'REACTIVE_ENERGY' AND a.status = 'OPEN'""",
    )
    assert {site_id for site_id, _, _ in alerts} == set(expected)
    for site_id, segment, evidence in alerts:
        assert segment == "C4"
        evidence = json.loads(evidence) if isinstance(evidence, str) else evidence
        shown = {(line["id"], Decimal(line["amount"])) for line in evidence["lines"]}
        assert shown == expected[site_id]
        assert all(line["unit"] == "kVArh" for line in evidence["lines"])
    # The C4 data holds together otherwise: read every month and billed for it.
    others = await _rows(
        detected,
        "SELECT a.kind FROM alerts a JOIN sites s ON s.id = a.site_id "
        "WHERE s.segment = 'C4' AND a.kind <> 'REACTIVE_ENERGY'",
    )
    assert others == []
