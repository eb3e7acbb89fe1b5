"""The alert screens: the list (filters, orderings, keyset pages), one alert, the counts of the
home page, a site's unresolved alerts, and acknowledging and resolving.

Expected lists and figures come from SQL written here, apart from `api/resolvers/alerts.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Alert, AuditEntry
from domain.enums import AlertKind, AlertStatus, Tier
from tests.clock import NOW, TODAY
from tests.factories import World, make_alert, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

LIST = """
query($filter: AlertFilter, $order: AlertOrder!, $first: Int, $after: String) {
  alerts(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id kind status detectedOn } }
  }
}"""

PAGE_WITHOUT_COUNT = """
query($first: Int) { alerts(first: $first) { edges { node { id } } } }"""

FULL_PAGE = """
query($first: Int) {
  alerts(first: $first) {
    totalCount
    edges { node {
      id kind status detectedOn message evidence threshold { value unit label }
      site { id pointNumber city member { legalName } billingAccount { number } }
      history { openedOn acknowledgedAt acknowledgedBy acknowledgementComment resolvedAt
                resolvedAutomatically resolvedReason resolvedBy resolutionComment }
    } }
  }
}"""

COUNTS = """
query($filter: AlertFilter) {
  alertCounts(filter: $filter) {
    open acknowledged resolved byKind { kind open acknowledged resolved }
  }
}"""

ONE = """
query($id: ID!) {
  alert(id: $id) {
    id kind status message evidence threshold { value unit label } site { pointNumber }
    history { openedOn acknowledgedAt acknowledgedBy acknowledgementComment resolvedAt
              resolvedAutomatically resolvedReason resolvedBy resolutionComment }
  }
  node(id: $id) { id ... on Alert { status } }
}"""

ACKNOWLEDGE = """
mutation($i: AcknowledgeAlertInput!) {
  acknowledgeAlert(input: $i) {
    alert { id status history { acknowledgedAt acknowledgedBy acknowledgementComment } }
    errors { field code message }
  }
}"""

RESOLVE = """
mutation($i: ResolveAlertInput!) {
  resolveAlert(input: $i) {
    alert { id status history { acknowledgedBy resolvedAt resolvedAutomatically resolvedBy
                                resolutionComment resolvedReason } }
    errors { field code message }
  }
}"""

SITES_WITH_OPEN_ALERTS = """
query($first: Int) {
  sites(first: $first) { edges { node { pointNumber openAlerts { id kind status } } } }
}"""


@dataclass(frozen=True)
class Fixture:
    world: World
    alerts: list[Alert]


@pytest.fixture(scope="module")
async def alerted(session_factory: async_sessionmaker[AsyncSession]) -> Fixture:
    """Tenant « Alertes »: every site with alerts of several kinds, statuses and dates."""
    world = await make_world(session_factory, "Alertes")
    admin = world.people["ADMIN"]
    made: list[Alert] = []
    kinds = list(AlertKind)
    for s, site in enumerate(world.sites):
        for k, kind in enumerate(kinds):
            status = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED][(s + k) % 3]
            values: dict[str, Any] = {}
            if status is not AlertStatus.OPEN:
                values |= {"acknowledged_by_user_id": admin.id, "acknowledged_at": NOW}
            if status is AlertStatus.RESOLVED:
                values |= {"resolved_at": NOW, "resolved_reason": "Relevé réel reçu."}
            made.append(
                await make_alert(
                    session_factory,
                    site,
                    kind=kind,
                    status=status,
                    # the same day for some: the id breaks the tie in the order
                    detected_on=TODAY - timedelta(days=(7 * k + 3 * s) % 11),
                    **values,
                )
            )
        # older resolved alerts of the same kind: history the list keeps
        for n in range(4):
            made.append(
                await make_alert(
                    session_factory,
                    site,
                    kind=AlertKind.MISSING_DISTRIBUTOR_READING,
                    status=AlertStatus.RESOLVED,
                    detected_on=TODAY - timedelta(days=200 + n),
                    resolved_at=NOW,
                    resolved_by_user_id=admin.id,
                    comment="Relève spéciale demandée.",
                )
            )
    return Fixture(world, made)


# -- expected values, from SQL written here ----------------------------------------------------


async def expected_ids(
    sessions: async_sessionmaker[AsyncSession],
    world: World,
    tier: str,
    *,
    where: str = "",
    params: dict[str, Any] | None = None,
    order: str = "a.detected_on DESC, a.id DESC",
) -> list[int]:
    """Alert ids the person of `tier` may see, in `order`: an ADMIN every site of the group's
    members, a USER their member's, INFRA_USER and THIRD_PARTY their billing accounts'."""
    scope = {
        "ADMIN": "s.member_id IN (SELECT id FROM members WHERE group_id = :group)",
        "USER": "s.member_id = :member",
        "INFRA_USER": "s.billing_account_id IN (:a0)",
        "THIRD_PARTY": "s.billing_account_id IN (:a0, :a2)",
    }[tier]
    sql = (
        f"SELECT a.id FROM alerts a JOIN sites s ON s.id = a.site_id WHERE {scope} {where} "
        f"ORDER BY {order}"
    )
    bound = {
        "group": world.group.id,
        "member": world.member.id,
        "a0": world.accounts[0].id,
        "a2": world.accounts[2].id,
        **(params or {}),
    }
    async with sessions() as session:
        used = {k: v for k, v in bound.items() if re.search(rf":{k}\b", sql)}
        rows = (await session.exec(sa.text(sql).bindparams(**used))).all()  # type: ignore[call-overload]
    return [r[0] for r in rows]


def ids_of(data: dict[str, Any]) -> list[int]:
    return [int(_pk(e["node"]["id"])) for e in data["alerts"]["edges"]]


def _pk(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


async def walk(
    runner: Runner, world: World, tier: str, *, order: str, filter: Any = None, first: int = 4
) -> tuple[list[int], int]:
    """Every page of the list, following endCursor; the ids and the totalCount."""
    seen: list[int] = []
    after = None
    while True:
        data = await runner.run(
            LIST,
            {"filter": filter, "order": order, "first": first, "after": after},
            as_user=world.people[tier],
        )
        seen += ids_of(data)
        info = data["alerts"]["pageInfo"]
        if not info["hasNextPage"]:
            return seen, data["alerts"]["totalCount"]
        after = info["endCursor"]


ORDERS = {
    "DETECTED_ON_DESC": "a.detected_on DESC, a.id DESC",
    "DETECTED_ON_ASC": "a.detected_on ASC, a.id ASC",
    "KIND": "a.kind ASC, a.id ASC",
}


# -- the list ----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
async def test_every_page_in_every_order_is_the_perimeter_in_sql_order(
    runner: Runner,
    session_factory: async_sessionmaker[AsyncSession],
    alerted: Fixture,
    order: str,
    tier: str,
) -> None:
    # when the person walks the list page by page
    seen, total = await walk(runner, alerted.world, tier, order=order)
    # then it is exactly their perimeter's alerts, in the order SQL gives
    expected = await expected_ids(session_factory, alerted.world, tier, order=ORDERS[order])
    assert seen == expected
    assert total == len(expected) > 0


FILTERS: list[tuple[str, Any, str]] = [
    ("kinds", lambda w: {"kinds": ["ZERO_CONSUMPTION", "REACTIVE_ENERGY"]},
     "AND a.kind IN ('ZERO_CONSUMPTION', 'REACTIVE_ENERGY')"),
    ("statuses", lambda w: {"statuses": ["OPEN", "ACKNOWLEDGED"]},
     "AND a.status IN ('OPEN', 'ACKNOWLEDGED')"),
    ("siteId", lambda w: {"siteId": gid("Site", w.sites[1].id)}, "AND a.site_id = :site1"),
    ("memberIds", lambda w: {"memberIds": [gid("Member", w.other_member.id)]},
     "AND s.member_id = :other"),
    ("billingAccountIds",
     lambda w: {"billingAccountIds": [gid("BillingAccount", w.accounts[1].id)]},
     "AND s.billing_account_id = :a1"),
    ("energy", lambda w: {"energy": "ELECTRICITY"}, "AND s.energy = 'ELECTRICITY'"),
    ("energy none", lambda w: {"energy": "GAS"}, "AND s.energy = 'GAS'"),
    ("detected between", lambda w: {"detectedFrom": str(TODAY - timedelta(days=6)),
                                    "detectedTo": str(TODAY - timedelta(days=2))},
     "AND a.detected_on BETWEEN :d_from AND :d_to"),
    ("combined", lambda w: {"statuses": ["RESOLVED"], "kinds": ["MISSING_DISTRIBUTOR_READING"],
                            "memberIds": [gid("Member", w.member.id)]},
     "AND a.status = 'RESOLVED' AND a.kind = 'MISSING_DISTRIBUTOR_READING' "
     "AND s.member_id = :member"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make_filter", "where"), FILTERS, ids=[f[0] for f in FILTERS])
@pytest.mark.parametrize("tier", ["ADMIN", "THIRD_PARTY"])
async def test_filters_match_independent_sql(
    runner: Runner,
    session_factory: async_sessionmaker[AsyncSession],
    alerted: Fixture,
    name: str,
    make_filter: Any,
    where: str,
    tier: str,
) -> None:
    w = alerted.world
    params = {
        "site1": w.sites[1].id,
        "other": w.other_member.id,
        "a1": w.accounts[1].id,
        "d_from": TODAY - timedelta(days=6),
        "d_to": TODAY - timedelta(days=2),
    }
    seen, total = await walk(runner, w, tier, order="DETECTED_ON_DESC", filter=make_filter(w))
    expected = await expected_ids(session_factory, w, tier, where=where, params=params)
    assert seen == expected
    assert total == len(expected)


async def test_a_bad_period_or_cursor_nulls_the_field_with_a_code(
    runner: Runner, alerted: Fixture
) -> None:
    admin = alerted.world.people["ADMIN"]
    bad_period = {"detectedFrom": "2026-10-01", "detectedTo": "2026-09-01"}
    for variables in (
        {"order": "DETECTED_ON_DESC", "filter": bad_period},
        {"order": "KIND", "after": "WyJOT1RBS0lORCIsIDFd"},  # ["NOTAKIND", 1]
        {"order": "DETECTED_ON_DESC", "first": 101},
    ):
        result = await runner.raw(LIST, variables, as_user=admin)
        assert result.data == {"alerts": None}
        [error] = result.errors
        assert error.extensions["code"] == "INVALID", error


async def test_total_count_costs_a_statement_only_when_selected(
    runner: Runner, count_sql: SqlCounter, alerted: Fixture
) -> None:
    admin = alerted.world.people["ADMIN"]
    with count_sql() as without:
        await runner.run(PAGE_WITHOUT_COUNT, {"first": 5}, as_user=admin)
    with count_sql() as with_count:
        await runner.run(LIST, {"first": 5, "order": "KIND"}, as_user=admin)
    assert len(with_count) == len(without) + 1
    assert not any("count(" in s.lower() for s in without.statements)


async def test_a_page_costs_the_same_statements_whatever_its_size(
    runner: Runner, count_sql: SqlCounter, alerted: Fixture
) -> None:
    admin = alerted.world.people["ADMIN"]
    counts = {}
    for first in (3, 30):
        with count_sql() as statements:
            data = await runner.run(FULL_PAGE, {"first": first}, as_user=admin)
        assert len(data["alerts"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[3] == counts[30], counts


async def test_site_open_alerts_are_one_batch_for_the_whole_page(
    runner: Runner,
    count_sql: SqlCounter,
    session_factory: async_sessionmaker[AsyncSession],
    alerted: Fixture,
) -> None:
    admin = alerted.world.people["ADMIN"]
    counts = {}
    for first in (1, 3):
        with count_sql() as statements:
            data = await runner.run(SITES_WITH_OPEN_ALERTS, {"first": first}, as_user=admin)
        counts[first] = len(statements)
    assert counts[1] == counts[3], counts
    # and each site lists its OPEN and ACKNOWLEDGED alerts, most recent first
    for edge in data["sites"]["edges"]:
        site = next(s for s in alerted.world.sites if s.point_number == edge["node"]["pointNumber"])
        expected = await expected_ids(
            session_factory,
            alerted.world,
            "ADMIN",
            where="AND a.site_id = :site AND a.status <> 'RESOLVED'",
            params={"site": site.id},
        )
        assert [int(_pk(a["id"])) for a in edge["node"]["openAlerts"]] == expected
        assert expected


# -- counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
async def test_counts_by_kind_and_status_match_independent_sql(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], alerted: Fixture, tier: str
) -> None:
    data = await runner.run(COUNTS, as_user=alerted.world.people[tier])
    counts = data["alertCounts"]
    expected: dict[tuple[str, str], int] = {}
    for kind in AlertKind:
        for status in AlertStatus:
            ids = await expected_ids(
                session_factory,
                alerted.world,
                tier,
                where="AND a.kind = :kind AND a.status = :status",
                params={"kind": kind.value, "status": status.value},
            )
            expected[kind.value, status.value] = len(ids)
    assert [row["kind"] for row in counts["byKind"]] == [k.value for k in AlertKind]
    for row in counts["byKind"]:
        assert row["open"] == expected[row["kind"], "OPEN"]
        assert row["acknowledged"] == expected[row["kind"], "ACKNOWLEDGED"]
        assert row["resolved"] == expected[row["kind"], "RESOLVED"]
    for status, field in (
        ("OPEN", "open"),
        ("ACKNOWLEDGED", "acknowledged"),
        ("RESOLVED", "resolved"),
    ):
        assert counts[field] == sum(n for (_, s), n in expected.items() if s == status)
    assert counts["open"] + counts["acknowledged"] + counts["resolved"] > 0


async def test_counts_take_the_list_filter(runner: Runner, alerted: Fixture) -> None:
    w = alerted.world
    site = {"siteId": gid("Site", w.sites[2].id)}
    counts = (await runner.run(COUNTS, {"filter": site}, as_user=w.people["ADMIN"]))["alertCounts"]
    listed = await runner.run(
        LIST, {"filter": site, "order": "KIND", "first": 100}, as_user=w.people["ADMIN"]
    )
    assert (
        counts["open"] + counts["acknowledged"] + counts["resolved"]
        == (listed["alerts"]["totalCount"])
    )


# -- one alert, its evidence and history -------------------------------------------------------


async def test_one_alert_with_its_site_evidence_threshold_and_history(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], alerted: Fixture
) -> None:
    w = alerted.world
    evidence = {"period_start": "2026-09-01", "period_end": "2026-11-01", "consumption_kwh": 0}
    threshold = {"value": "0", "unit": "kWh", "label": "Aucune consommation"}
    alert = await make_alert(
        session_factory,
        w.sites[0],
        kind=AlertKind.ZERO_CONSUMPTION,
        status=AlertStatus.RESOLVED,
        detected_on=TODAY - timedelta(days=400),
        evidence=evidence,
        threshold=threshold,
        resolved_at=NOW,
        resolved_reason="Consommation revenue.",
    )
    data = await runner.run(ONE, {"id": gid("Alert", alert.id)}, as_user=w.people["USER"])
    one = data["alert"]
    assert one["evidence"] == evidence
    assert one["threshold"] == threshold
    assert one["site"]["pointNumber"] == w.sites[0].point_number
    assert one["history"] == {
        "openedOn": str(TODAY - timedelta(days=400)),
        "acknowledgedAt": None,
        "acknowledgedBy": None,
        "acknowledgementComment": None,
        "resolvedAt": NOW.isoformat(),
        "resolvedAutomatically": True,
        "resolvedReason": "Consommation revenue.",
        "resolvedBy": None,
        "resolutionComment": None,
    }
    assert data["node"] == {"id": one["id"], "status": "RESOLVED"}
    # an alert of a site outside the perimeter (accounts[1]'s, for the INFRA_USER): null, as
    # a missing one
    outside = next(a for a in alerted.alerts if a.site_id == w.sites[1].id)
    other = await runner.run(ONE, {"id": gid("Alert", outside.id)}, as_user=w.people["INFRA_USER"])
    assert other == {"alert": None, "node": None}
    missing = await runner.run(ONE, {"id": gid("Alert", 10**9)}, as_user=w.people["USER"])
    assert missing == {"alert": None, "node": None}


# -- acknowledging and resolving ---------------------------------------------------------------


async def _state(sessions: async_sessionmaker[AsyncSession], alert_id: int) -> tuple[Any, ...]:
    async with sessions() as session:
        row = (
            await session.exec(
                sa.text(
                    "SELECT status, acknowledged_by_user_id, acknowledged_at, resolved_at, "
                    "resolved_by_user_id, resolved_reason, comment, details FROM alerts "
                    "WHERE id = :id"
                ).bindparams(id=alert_id)  # type: ignore[call-overload]
            )
        ).one()
        audits = (
            await session.exec(
                sa.text(
                    "SELECT count(*) FROM audit_log WHERE object_type = 'Alert' AND object_id = :id"
                ).bindparams(id=str(alert_id))  # type: ignore[call-overload]
            )
        ).one()[0]
    return (*row, audits)


async def test_open_then_acknowledged_then_resolved_with_history_and_audit(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given an open alert on the USER's site
    w = await make_world(session_factory, "Traitement")
    alert = await make_alert(session_factory, w.sites[1], detected_on=TODAY - timedelta(days=3))
    alert_id = gid("Alert", alert.id)
    user = w.people["USER"]

    # when the USER acknowledges it, with a comment
    data = await runner.run(
        ACKNOWLEDGE, {"i": {"alertId": alert_id, "comment": "  Je regarde.  "}}, as_user=user
    )
    payload = data["acknowledgeAlert"]
    assert payload["errors"] == []
    assert payload["alert"]["status"] == "ACKNOWLEDGED"
    assert payload["alert"]["history"] == {
        "acknowledgedAt": NOW.isoformat(),
        "acknowledgedBy": user.full_name,
        "acknowledgementComment": "Je regarde.",
    }

    # then the ADMIN resolves it, saying what was done
    admin = w.people["ADMIN"]
    data = await runner.run(
        RESOLVE,
        {"i": {"alertId": alert_id, "comment": "Relevé spécial demandé.\nIndex reçu."}},
        as_user=admin,
    )
    payload = data["resolveAlert"]
    assert payload["errors"] == []
    assert payload["alert"]["status"] == "RESOLVED"
    assert payload["alert"]["history"] == {
        "acknowledgedBy": user.full_name,
        "resolvedAt": NOW.isoformat(),
        "resolvedAutomatically": False,
        "resolvedBy": admin.full_name,
        "resolutionComment": "Relevé spécial demandé.\nIndex reçu.",
        "resolvedReason": None,
    }
    # and each step is audited, by its author
    async with session_factory() as session:
        entries = (
            await session.exec(
                sa.select(AuditEntry.action, AuditEntry.actor_user_id)  # type: ignore[call-overload]
                .where(AuditEntry.object_type == "Alert", AuditEntry.object_id == str(alert.id))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(e) for e in entries] == [
        ("alert.acknowledged", user.id),
        ("alert.resolved", admin.id),
    ]


async def test_an_open_alert_may_be_resolved_without_acknowledgement(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], alerted: Fixture
) -> None:
    w = await make_world(session_factory, "Direct")
    alert = await make_alert(session_factory, w.sites[0], detected_on=TODAY)
    data = await runner.run(
        RESOLVE,
        {"i": {"alertId": gid("Alert", alert.id), "comment": "Compteur remplacé."}},
        as_user=w.people["INFRA_USER"],
    )
    assert data["resolveAlert"]["errors"] == []
    assert data["resolveAlert"]["alert"]["history"]["acknowledgedBy"] is None


@pytest.mark.parametrize(
    ("status", "mutation", "comment", "code"),
    [
        (AlertStatus.ACKNOWLEDGED, ACKNOWLEDGE, None, "INVALID_STATE"),
        (AlertStatus.RESOLVED, ACKNOWLEDGE, "vu", "INVALID_STATE"),
        (AlertStatus.RESOLVED, RESOLVE, "encore", "INVALID_STATE"),
        (AlertStatus.OPEN, RESOLVE, "   ", "REQUIRED"),
        (AlertStatus.OPEN, RESOLVE, "x" * 2001, "TOO_LONG"),
    ],
)
async def test_an_illegal_step_is_refused_in_french_and_writes_nothing(
    runner: Runner,
    session_factory: async_sessionmaker[AsyncSession],
    status: AlertStatus,
    mutation: str,
    comment: str | None,
    code: str,
) -> None:
    w = await make_world(session_factory, "Refus")
    values: dict[str, Any] = {}
    if status is not AlertStatus.OPEN:
        values |= {"acknowledged_by_user_id": w.people["ADMIN"].id, "acknowledged_at": NOW}
    if status is AlertStatus.RESOLVED:
        values |= {"resolved_at": NOW, "resolved_reason": "Relevé réel reçu."}
    alert = await make_alert(
        session_factory, w.sites[0], status=status, detected_on=TODAY, **values
    )
    before = await _state(session_factory, alert.id)  # type: ignore[arg-type]
    data = await runner.run(
        mutation,
        {"i": {"alertId": gid("Alert", alert.id), "comment": comment}},
        as_user=w.people["USER"],
        now=NOW + timedelta(hours=1),
    )
    [payload] = data.values()
    assert payload["alert"] is None
    [error] = payload["errors"]
    assert error["code"] == code
    assert error["field"] == ("alertId" if code == "INVALID_STATE" else "comment")
    assert any(c in error["message"] for c in "éèàç") or "caractères" in error["message"]
    assert await _state(session_factory, alert.id) == before  # type: ignore[arg-type]


async def test_a_third_party_reads_alerts_and_handles_them_only_if_its_grant_allows_writes(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = await make_world(session_factory, "Conseil")
    alert = await make_alert(session_factory, w.sites[0], detected_on=TODAY)
    alert_id = gid("Alert", alert.id)
    reader = w.people["THIRD_PARTY"]  # read-only grant on accounts[0] and accounts[2]
    # it reads the alert
    listed = await runner.run(LIST, {"order": "DETECTED_ON_DESC", "filter": None}, as_user=reader)
    assert alert.id in ids_of(listed)
    # but may not acknowledge it: FORBIDDEN (it sees it), nothing written
    before = await _state(session_factory, alert.id)  # type: ignore[arg-type]
    data = await runner.run(ACKNOWLEDGE, {"i": {"alertId": alert_id}}, as_user=reader)
    [error] = data["acknowledgeAlert"]["errors"]
    assert (error["code"], error["field"]) == ("FORBIDDEN", "alertId")
    assert "consulter" in error["message"]
    assert await _state(session_factory, alert.id) == before  # type: ignore[arg-type]
    # a third party whose grant allows submissions does
    adviser, _ = await make_person(
        session_factory,
        f"conseil-actif{w.group.id}@conseil.test",
        tier=Tier.THIRD_PARTY,
        group_id=w.group.id,
        billing_account_ids=(w.accounts[0].id,),  # type: ignore[arg-type]
        may_submit=True,
    )
    data = await runner.run(ACKNOWLEDGE, {"i": {"alertId": alert_id}}, as_user=adviser)
    assert data["acknowledgeAlert"]["errors"] == []
    assert data["acknowledgeAlert"]["alert"]["status"] == "ACKNOWLEDGED"


EXPORT_ALERTS = """
mutation($i: ExportAlertsInput!) {
  exportAlerts(input: $i) { url rowCount errors { field code message } }
}
"""


def _exported_path(runner: Runner, url: str) -> Any:
    from urllib.parse import urlsplit

    from auth.signed_urls import verify_file_token

    token = urlsplit(url).path.rsplit("/", 1)[1]
    key = verify_file_token(runner.settings.signing_secret, token)
    return runner.settings.files_dir / key


async def test_the_alert_list_exports_through_the_one_writer(
    runner: Runner, alerted: Fixture
) -> None:
    import csv

    import openpyxl

    # given: the USER's alerts, counted apart with plain SQL
    user = alerted.world.people["USER"]
    async with runner.sessions() as session:
        expected = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT count(*) FROM alerts a JOIN sites s ON s.id = a.site_id "
                    "WHERE s.member_id = :m AND a.status = 'OPEN'"
                ),
                {"m": alerted.world.member.id},
            )
        ).scalar_one()
    # when
    answers = {}
    for file_format in ("CSV", "XLSX"):
        data = await runner.run(
            EXPORT_ALERTS,
            {"i": {"format": file_format, "filter": {"statuses": ["OPEN"]}}},
            as_user=user,
        )
        answers[file_format] = data["exportAlerts"]
    # then: as many rows as SQL counts, French labels, no code left
    assert expected > 0
    for answer in answers.values():
        assert answer["errors"] == [] and answer["rowCount"] == expected
    path = _exported_path(runner, answers["CSV"]["url"])
    assert path.name == f"alertes-{TODAY:%Y%m%d}.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0][:3] == ["Détectée le", "Type", "État"]
    assert len(rows) == expected + 1
    assert {row[2] for row in rows[1:]} == {"Ouverte"}
    assert not any(kind.value in row[1] for row in rows[1:] for kind in AlertKind)
    book = openpyxl.load_workbook(_exported_path(runner, answers["XLSX"]["url"]), read_only=True)
    try:
        sheet = book.worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        assert len(values) == expected + 1
        assert isinstance(values[1][0], datetime)  # a date, not text
    finally:
        book.close()


async def test_an_alert_export_holds_nothing_of_another_tenant(
    runner: Runner, alerted: Fixture, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # given: another tenant with alerts of its own
    other = await make_world(session_factory, "AlertesB")
    await make_alert(session_factory, other.sites[0], detected_on=TODAY)
    # when: the other tenant's member named in the filter
    data = await runner.run(
        EXPORT_ALERTS,
        {"i": {"format": "CSV", "filter": {"memberIds": [gid("Member", other.member.id)]}}},
        as_user=alerted.world.people["ADMIN"],
    )
    # then: refused, exactly as for a member that does not exist (no file at all)
    missing = await runner.run(
        EXPORT_ALERTS,
        {"i": {"format": "CSV", "filter": {"memberIds": [gid("Member", 10**9)]}}},
        as_user=alerted.world.people["ADMIN"],
    )
    assert data == missing
    assert data["exportAlerts"]["rowCount"] is None
    assert [e["code"] for e in data["exportAlerts"]["errors"]] == ["NOT_FOUND"]
