"""The detection run on factory data: opens once, resolves with its reason, never duplicates."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.alert_detection import detect_alerts
from db.models import Alert, Reading
from db.scoped import Perimeter
from domain.enums import AlertKind, AlertStatus, MeterKind, ReadingSource, Register
from tests.factories import make_invoice, make_metered_site, make_tenant

ACTUAL = ReadingSource.DISTRIBUTOR_ACTUAL
BASE = Register.BASE
# 1 March 2026 (Paris); the last actual reading below is 50 days earlier.
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LAST_ACTUAL_ON = date(2026, 1, 10)


async def _alerts(sessions: async_sessionmaker[AsyncSession], site_id: int) -> list[sa.Row]:
    """The site's alerts, read with plain SQL (not the code under test)."""
    async with sessions() as session:
        result = await (await session.connection()).execute(
            sa.text(
                "SELECT id, kind, status, message, evidence, threshold, resolved_at, "
                "resolved_reason, resolved_by_user_id FROM alerts WHERE site_id = :site "
                "ORDER BY id"
            ),
            {"site": site_id},
        )
        return list(result.all())


async def test_a_site_without_reading_for_50_days_gets_one_alert_that_an_actual_reading_resolves(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # given a monthly-read (Linky) site whose last actual reading is 50 days old, billed to it
    tenant = await make_tenant(session_factory, "Relève")
    site, meter = await make_metered_site(
        session_factory,
        tenant.billing_account,
        kind=MeterKind.LINKY,
        readings=[
            (date(2025, 12, 1), BASE, 1_000, ACTUAL, False),
            (LAST_ACTUAL_ON, BASE, 1_400, ACTUAL, False),
        ],
    )
    await make_invoice(
        session_factory, tenant.billing_account, [site], accounting_date=LAST_ACTUAL_ON
    )
    scope = Perimeter(member_ids=frozenset({tenant.member.id}))

    # when detection runs
    first = await detect_alerts(session_factory, now=NOW, perimeter=scope)

    # then the site has exactly one alert: no actual reading, with its evidence and threshold
    rows = await _alerts(session_factory, site.id)
    assert [(r.kind, r.status) for r in rows] == [("MISSING_DISTRIBUTOR_READING", "OPEN")]
    alert = rows[0]
    evidence = alert.evidence if isinstance(alert.evidence, dict) else json.loads(alert.evidence)
    assert evidence["last_actual_reading_on"] == "2026-01-10"
    assert evidence["days_without_actual_reading"] == 50
    assert evidence["ways_out"] == ["SPECIAL_READING_REQUEST"]  # a communicating meter
    assert "10/01/2026" in alert.message and "50 jours" in alert.message
    assert first.opened[AlertKind.MISSING_DISTRIBUTOR_READING] >= 1

    # when it runs again, nothing new opens
    second = await detect_alerts(session_factory, now=NOW, perimeter=scope)
    assert sum(second.opened.values()) == 0
    assert len(await _alerts(session_factory, site.id)) == 1

    # when an actual reading arrives and detection runs the next day
    async with session_factory() as session, session.begin():
        session.add(
            Reading(
                site_id=site.id,
                meter_id=meter.id,
                register_code=BASE,
                read_on=date(2026, 2, 28),
                index_value=1_800,
                source=ACTUAL,
            )
        )
    later = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    third = await detect_alerts(session_factory, now=later, perimeter=scope)

    # then the alert is resolved by the detection, with the reason recorded
    rows = await _alerts(session_factory, site.id)
    assert [(r.kind, r.status) for r in rows] == [("MISSING_DISTRIBUTOR_READING", "RESOLVED")]
    assert rows[0].resolved_reason.startswith("Relevé réel reçu le 28/02/2026")
    assert rows[0].resolved_by_user_id is None and rows[0].resolved_at is not None
    assert third.resolved[AlertKind.MISSING_DISTRIBUTOR_READING] == 1
    assert sum(third.opened.values()) == 0


async def test_two_runs_at_once_leave_one_open_alert_per_site_and_kind(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # given a member with several sites that were never read
    tenant = await make_tenant(session_factory, "Concurrence")
    for _ in range(5):
        await make_metered_site(session_factory, tenant.billing_account, kind=MeterKind.LINKY)
    scope = Perimeter(member_ids=frozenset({tenant.member.id}))

    # when two detection runs go at once
    reports = await asyncio.gather(
        detect_alerts(session_factory, now=NOW, perimeter=scope),
        detect_alerts(session_factory, now=NOW, perimeter=scope),
    )

    # then each site has one unresolved alert per kind, and the runs opened them between them
    async with session_factory() as session:
        rows = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT a.site_id, a.kind, count(*) FROM alerts a "
                    "JOIN sites s ON s.id = a.site_id WHERE s.member_id = :member "
                    "AND a.status IN ('OPEN', 'ACKNOWLEDGED') GROUP BY a.site_id, a.kind"
                ),
                {"member": tenant.member.id},
            )
        ).all()
    assert len(rows) == 6  # the tenant's own site and the five metered ones
    assert {count for _, _, count in rows} == {1}
    assert sum(sum(r.opened.values()) for r in reports) == len(rows)


async def test_several_alerts_resolve_in_one_run(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # given three never-read sites of a member, each with its open alert
    tenant = await make_tenant(session_factory, "Plusieurs")
    metered = [
        await make_metered_site(session_factory, tenant.billing_account, kind=MeterKind.LINKY)
        for _ in range(3)
    ]
    scope = Perimeter(member_ids=frozenset({tenant.member.id}))
    await detect_alerts(session_factory, now=NOW, perimeter=scope)

    # when actual readings arrive on all three
    async with session_factory() as session, session.begin():
        for site, meter in metered:
            session.add(
                Reading(
                    site_id=site.id,
                    meter_id=meter.id,
                    register_code=BASE,
                    read_on=date(2026, 2, 27),
                    index_value=100,
                    source=ACTUAL,
                )
            )
    report = await detect_alerts(session_factory, now=NOW, perimeter=scope)

    # then their three alerts resolve at once
    assert report.resolved[AlertKind.MISSING_DISTRIBUTOR_READING] == 3
    for site, _ in metered:
        rows = await _alerts(session_factory, site.id)
        assert [r.status for r in rows] == ["RESOLVED"]


async def test_the_database_refuses_a_second_unresolved_alert_of_a_site_and_kind(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await make_tenant(session_factory, "Unique")

    def alert(status: AlertStatus) -> Alert:
        return Alert(
            site_id=tenant.site.id,
            kind=AlertKind.ZERO_CONSUMPTION,
            status=status,
            detected_on=date(2026, 1, 5),
            message="Consommation nulle",
        )

    async with session_factory() as session, session.begin():
        session.add_all([alert(AlertStatus.RESOLVED), alert(AlertStatus.RESOLVED)])
        session.add(alert(AlertStatus.ACKNOWLEDGED))
    with pytest.raises(IntegrityError):
        async with session_factory() as session, session.begin():
            session.add(alert(AlertStatus.OPEN))


async def test_a_site_past_its_data_retention_is_not_examined(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # given two terminated sites of one member: on NOW's day (1 March 2026), one whose contract
    # ended five years and a day before (no longer served), one five years less a day before
    from db.models import Site

    tenant = await make_tenant(session_factory, "Archives")
    ended = {"gone": date(2021, 2, 28), "kept": date(2021, 3, 2)}
    ids = {}
    for name, supply_end in ended.items():
        site, _ = await make_metered_site(session_factory, tenant.billing_account)
        async with session_factory() as session, session.begin():
            row = await session.get(Site, site.id)
            assert row is not None
            row.supply_start, row.supply_end = date(2015, 1, 1), supply_end
            session.add(row)
        ids[name] = site.id
    try:
        scope = Perimeter(member_ids=frozenset({tenant.member.id}))
        # when detection runs over the member (a perimeter without the request's cut-off)
        report = await detect_alerts(session_factory, now=NOW, perimeter=scope)
        # then the site still served is examined and the other is not
        async with session_factory() as session:
            member_sites = (
                await (await session.connection()).execute(
                    sa.text("SELECT id FROM sites WHERE member_id = :m"), {"m": tenant.member.id}
                )
            ).scalars()
            examined = {i for i in member_sites if i != ids["gone"]}
        assert report.sites == len(examined) and ids["kept"] in examined
    finally:
        # The database is the session's: terminated sites would be other tests' expired ones.
        async with session_factory() as session, session.begin():
            for site_id in ids.values():
                row = await session.get(Site, site_id)
                assert row is not None
                row.supply_end = None
                session.add(row)
