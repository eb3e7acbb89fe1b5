"""Checks of the `small` demo data set as loaded (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.passwords import verify_password
from db.models import SQLModel
from demo import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DemoDataError,
    DemoReport,
    database_is_empty,
    load_demo_data,
    planned_member_counts,
    planned_site_counts,
)
from demo.fingerprint import fingerprint, fingerprint_of
from demo.plan import SECOND_GROUP_PLANS
from demo.retention import ENDINGS
from domain.enums import SelfCareRequestKind, SelfCareRequestStatus, TechnicalRequestStatus
from domain.identifiers import is_valid_siren, is_valid_siret
from domain.invoicing import invoice_totals
from tests.demo.conftest import AS_OF

pytestmark = pytest.mark.usefixtures("demo_report")


async def rows(engine: AsyncEngine, sql: str) -> list[sa.Row]:  # type: ignore[type-arg]
    async with engine.connect() as connection:
        return list((await connection.execute(sa.text(sql))).all())


async def scalar(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(sa.text(sql))).scalar_one()


async def test_counts_match_the_plan(demo_engine: AsyncEngine, demo_report: DemoReport) -> None:
    by_group: dict[int, dict[str, int]] = defaultdict(dict)
    for group_id, segment, count in await rows(
        demo_engine,
        "SELECT m.group_id, s.segment, COUNT(*) FROM sites s "
        "JOIN members m ON m.id = s.member_id GROUP BY 1, 2",
    ):
        by_group[group_id][segment] = count
    second = {k: v for k, v in SECOND_GROUP_PLANS["small"].sites.items() if v}
    # The parc as planned, and the dissolved syndicate's C5 sites at the edge of retention
    # (demo/retention.py), which are no part of the plan.
    main = planned_site_counts("small")
    assert by_group == {1: main | {"C5": main["C5"] + len(ENDINGS)}, 2: second}
    assert demo_report.sites_by_segment == {
        segment: count + second.get(segment, 0)
        for segment, count in planned_site_counts("small").items()
    }
    members = dict(
        await rows(
            demo_engine,
            "SELECT b.energy, COUNT(DISTINCT b.member_id) FROM billing_accounts b "
            "JOIN members m ON m.id = b.member_id WHERE m.group_id = 1 GROUP BY 1",
        )
    )
    planned = planned_member_counts("small")
    assert members == planned | {"ELECTRICITY": planned["ELECTRICITY"] + 1}  # the syndicate
    for table, count in demo_report.counts.items():
        # The supplier's customer service is the migration's row, not the demo's.
        already = 1 if table == "contacts" else 0
        assert await scalar(demo_engine, f"SELECT COUNT(*) FROM {table}") == count + already, table


async def test_identifiers_and_limits(demo_engine: AsyncEngine) -> None:
    for (siren,) in await rows(demo_engine, "SELECT siren FROM members"):
        assert is_valid_siren(siren)
    for siret, siren in await rows(
        demo_engine,
        "SELECT b.recipient_siret, m.siren FROM "
        "billing_accounts b JOIN members m "
        "ON m.id = b.member_id",
    ):
        assert is_valid_siret(siret) and siret.startswith(siren)
    points = await rows(demo_engine, "SELECT point_number FROM sites")
    assert all(len(p) == 14 and p.isdigit() for (p,) in points)
    assert len({p for (p,) in points}) == len(points)


async def test_every_site_has_exactly_one_current_meter(demo_engine: AsyncEngine) -> None:
    counts = await rows(
        demo_engine,
        "SELECT s.id, COUNT(m.id) FROM sites s LEFT JOIN meters m "
        "ON m.site_id = s.id AND m.removed_on IS NULL "
        "GROUP BY s.id",
    )
    assert counts and all(n == 1 for _, n in counts)
    assert (
        await scalar(demo_engine, "SELECT COUNT(*) FROM meters WHERE removed_on IS NOT NULL") >= 2
    )


async def test_indexes_never_go_down_except_at_a_rollover(demo_engine: AsyncEngine) -> None:
    readings = await rows(
        demo_engine,
        "SELECT meter_id, register_code, read_on, index_value, "
        "rollover FROM readings "
        "ORDER BY meter_id, register_code, read_on, id",
    )
    previous: dict[tuple[int, str], int] = {}
    rollovers = 0
    for meter_id, register, _, value, rollover in readings:
        key = (meter_id, register)
        if key in previous:
            if rollover:
                rollovers += 1
                assert value < previous[key]
            else:
                assert value >= previous[key], key
        previous[key] = value
    assert rollovers >= 2
    sources = {s for (s,) in await rows(demo_engine, "SELECT DISTINCT source FROM readings")}
    assert {
        "DISTRIBUTOR_ACTUAL",
        "DISTRIBUTOR_ESTIMATED",
        "SUPPLIER_ESTIMATED",
        "SELF_READING",
    } <= sources
    statuses = dict(
        await rows(
            demo_engine,
            "SELECT self_reading_status, COUNT(*) FROM readings "
            "WHERE source = 'SELF_READING' GROUP BY 1",
        )
    )
    assert statuses.get("ACCEPTED", 0) > statuses.get("REJECTED", 0) >= 1


async def test_invoice_totals_equal_their_lines(demo_engine: AsyncEngine) -> None:
    mismatches = await scalar(
        demo_engine,
        """
        SELECT COUNT(*) FROM invoices i JOIN (
            SELECT invoice_id,
                   SUM(CASE WHEN component <> 'VAT' THEN amount ELSE 0 END) AS excl,
                   SUM(CASE WHEN component = 'VAT' THEN amount ELSE 0 END) AS vat
            FROM invoice_lines GROUP BY invoice_id) l ON l.invoice_id = i.id
        WHERE l.excl <> i.total_excl_tax OR l.vat <> i.vat_reduced + i.vat_standard
           OR i.total_incl_tax <> i.total_excl_tax + i.vat_reduced + i.vat_standard""",
    )
    assert mismatches == 0
    assert (
        await scalar(
            demo_engine,
            "SELECT COUNT(*) FROM invoices i WHERE NOT EXISTS "
            "(SELECT 1 FROM invoice_lines l "
            "WHERE l.invoice_id = i.id)",
        )
        == 0
    )
    # Again in Python, with Decimal, through the model's own column types.
    async with demo_engine.connect() as connection:
        lines_table = SQLModel.metadata.tables["invoice_lines"]
        invoices_table = SQLModel.metadata.tables["invoices"]
        lines = defaultdict(list)
        for line in await connection.execute(sa.select(lines_table)):
            assert isinstance(line.amount, Decimal)
            assert line.amount == line.amount.quantize(Decimal("0.01"))
            lines[line.invoice_id].append((line.component, line.amount, line.vat_rate))
            if line.component == "VAT":
                assert line.vat_base is not None
        for invoice in await connection.execute(sa.select(invoices_table)):
            totals = invoice_totals(lines[invoice.id])
            assert totals.total_excl_tax == invoice.total_excl_tax
            assert totals.vat_reduced == invoice.vat_reduced
            assert totals.vat_standard == invoice.vat_standard
            assert totals.total_incl_tax == invoice.total_incl_tax


async def test_site_rows_add_up_to_the_invoices(demo_engine: AsyncEngine) -> None:
    assert (
        await scalar(
            demo_engine,
            """
        SELECT COUNT(*) FROM invoices i JOIN (
            SELECT invoice_id, SUM(total_excl_tax) AS excl, SUM(vat_amount) AS vat,
                   SUM(total_incl_tax) AS incl, SUM(consumption_kwh) AS kwh,
                   SUM(CASE WHEN total_excl_tax <> subscription_amount + energy_amount
                            + transport_amount + taxes_amount
                            OR total_incl_tax <> total_excl_tax + vat_amount
                            THEN 1 ELSE 0 END) AS bad
            FROM invoice_sites GROUP BY invoice_id) s ON s.invoice_id = i.id
        WHERE s.excl <> i.total_excl_tax OR s.vat <> i.vat_reduced + i.vat_standard
           OR s.incl <> i.total_incl_tax OR s.kwh <> i.consumption_kwh OR s.bad > 0""",
        )
        == 0
    )
    assert (
        await scalar(
            demo_engine,
            "SELECT COUNT(*) FROM invoices i WHERE NOT EXISTS "
            "(SELECT 1 FROM invoice_sites s "
            "WHERE s.invoice_id = i.id)",
        )
        == 0
    )
    multi = await scalar(
        demo_engine,
        "SELECT COUNT(*) FROM (SELECT invoice_id FROM "
        "invoice_sites GROUP BY invoice_id "
        "HAVING COUNT(*) > 1) x",
    )
    assert multi > 0


async def test_negative_invoices_and_cancellations(demo_engine: AsyncEngine) -> None:
    assert (
        await scalar(
            demo_engine,
            "SELECT COUNT(*) FROM invoices WHERE kind = 'CREDIT_NOTE' "
            "AND total_incl_tax < 0 AND consumption_kwh < 0",
        )
        >= 2
    )
    cancellations = await rows(
        demo_engine,
        """
        SELECT c.total_incl_tax, o.total_incl_tax, o.payment_status FROM invoices c
        JOIN invoices o ON o.id = c.cancels_invoice_id WHERE c.kind = 'CANCELLATION'""",
    )
    assert len(cancellations) >= 2
    for cancelled, original, status in cancellations:
        assert cancelled == -original and status == "CANCELLED"
    assert (
        await scalar(demo_engine, "SELECT COUNT(*) FROM invoices WHERE index_basis = 'ESTIMATED'")
        > 0
    )


async def test_every_foreign_key_resolves(demo_engine: AsyncEngine) -> None:
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            local = [c.name for c in fk.columns]
            remote = [e.column.name for e in fk.elements]
            target = fk.referred_table.name
            join = " AND ".join(f"t.{a} = r.{b}" for a, b in zip(local, remote, strict=True))
            present = " AND ".join(f"t.{a} IS NOT NULL" for a in local)
            orphans = await scalar(
                demo_engine,
                f"SELECT COUNT(*) FROM {table.name} t "
                f"LEFT JOIN {target} r ON {join} "
                f"WHERE {present} AND r.{remote[0]} IS NULL",
            )
            assert orphans == 0, (table.name, local)
    if demo_engine.dialect.name == "sqlite":
        assert await rows(demo_engine, "PRAGMA foreign_key_check") == []


async def test_requests_exist_in_every_status(demo_engine: AsyncEngine) -> None:
    statuses = {
        s for (s,) in await rows(demo_engine, "SELECT DISTINCT status FROM technical_requests")
    }
    assert statuses == {s.value for s in TechnicalRequestStatus}
    assert (
        await scalar(
            demo_engine,
            "SELECT COUNT(*) FROM technical_requests "
            "WHERE site_id IS NULL AND request_type LIKE "
            "'ADD_SITE%'",
        )
        >= 1
    )
    assert (
        await scalar(
            demo_engine,
            "SELECT COUNT(*) FROM technical_requests r WHERE NOT "
            "EXISTS (SELECT 1 FROM technical_request_events e WHERE "
            "e.request_id = r.id AND e.status = r.status)",
        )
        == 0
    )
    pairs = set(await rows(demo_engine, "SELECT kind, status FROM self_care_requests"))
    assert pairs == {(k.value, s.value) for k in SelfCareRequestKind for s in SelfCareRequestStatus}
    alerts = {k for (k,) in await rows(demo_engine, "SELECT DISTINCT kind FROM alerts")}
    assert {"ZERO_CONSUMPTION", "MISSING_DISTRIBUTOR_READING", "EXCESSIVE_CONSUMPTION"} <= alerts


async def test_one_login_per_tier(demo_engine: AsyncEngine) -> None:
    found = await rows(
        demo_engine,
        """
        SELECT u.email, u.password_hash, u.status, g.tier,
               (SELECT COUNT(*) FROM grant_billing_accounts x WHERE x.grant_id = g.id),
               (SELECT COUNT(DISTINCT b.member_id) FROM grant_billing_accounts x
                JOIN billing_accounts b ON b.id = x.billing_account_id
                WHERE x.grant_id = g.id), g.may_submit
        FROM users u JOIN access_grants g ON g.user_id = u.id""",
    )
    by_email = {row[0]: row for row in found}
    assert {login.tier for login in DEMO_LOGINS} == {
        "ADMIN",
        "USER",
        "INFRA_USER",
        "THIRD_PARTY",
        "OPERATOR",
    }
    for login in DEMO_LOGINS:
        _email, password_hash, status, tier, accounts, members, may_submit = by_email[login.email]
        assert tier == login.tier and status == "ACTIVE"
        assert verify_password(DEMO_PASSWORD, password_hash)
        if tier == "INFRA_USER":
            assert 1 <= accounts <= 2
        if tier == "THIRD_PARTY":
            assert members == 3 and not may_submit
    member_accounts = await scalar(
        demo_engine,
        "SELECT COUNT(*) FROM billing_accounts b JOIN "
        "access_grants g ON g.member_id = b.member_id "
        "WHERE g.tier = 'USER' AND g.user_id = 2",
    )
    assert member_accounts >= 3


async def test_loading_twice_is_refused(demo_engine: AsyncEngine) -> None:
    assert not await database_is_empty(demo_engine)
    with pytest.raises(DemoDataError):
        await load_demo_data(demo_engine, scale="small", as_of=AS_OF)


async def test_database_holds_what_the_generator_makes(demo_engine: AsyncEngine) -> None:
    points = [p for (p,) in await rows(demo_engine, "SELECT point_number FROM sites")]
    async with demo_engine.connect() as connection:
        table = SQLModel.metadata.tables["invoices"]
        totals = [
            (r.number, r.total_incl_tax)
            for r in await connection.execute(sa.select(table.c.number, table.c.total_incl_tax))
        ]
    assert fingerprint_of(points, totals) == fingerprint("small", 2026, AS_OF)


async def test_invoices_print_one_index_pair_per_register(demo_engine: AsyncEngine) -> None:
    import json

    printed = await rows(
        demo_engine,
        "SELECT s.register_indexes, m.registers FROM invoice_sites s "
        "JOIN invoices i ON i.id = s.invoice_id "
        "JOIN meters m ON m.serial = s.meter_serial "
        "WHERE i.kind = 'INVOICE'",
    )
    assert printed
    two_registers = 0
    for indexes, registers in printed:
        indexes = json.loads(indexes) if isinstance(indexes, str) else indexes
        registers = json.loads(registers) if isinstance(registers, str) else registers
        assert [entry["register"] for entry in indexes] == registers
        assert all(
            isinstance(e["previous"], int) and isinstance(e["current"], int) for e in indexes
        )
        two_registers += len(registers) == 2
    assert two_registers > 0
