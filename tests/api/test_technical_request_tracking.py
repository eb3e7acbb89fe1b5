"""Following technical requests: the `overdue` filter judged on dates worked out by hand across
a public holiday, the list's orderings against SQL written here, the commissioning index that
closes a commissioning, the confirmation's summary PDF delivered through a real SMTP server, and
the coordinator's yearly review checked against SQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import TechnicalRequest, User
from domain.enums import Tier
from mailers.transport import build_transport
from mailers.worker import deliver_due_mails
from tests.api.test_technical_requests import (
    CONTACT,
    _exported_path,
    _pk,
    add_site,
    advance,
    power_change,
    submit,
)
from tests.clock import NOW
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.mailers.conftest import SmtpServer, smtp_settings
from tests.runner import Runner

Sessions = async_sessionmaker[AsyncSession]

PAGE = """
query($filter: TechnicalRequestFilter, $order: TechnicalRequestOrder, $first: Int,
      $after: String) {
  technicalRequests(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id reference typeLabel overdue dueOn } }
  }
}"""


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def operator(session_factory: Sessions) -> User:
    user, _ = await make_person(session_factory, "guichet-suivi@c.test", tier=Tier.OPERATOR)
    return user


async def _all(
    runner: Runner, person: User, *, filter: Any = None, order: str | None = None
) -> list[dict[str, Any]]:
    """Every node of the list, two per page, following the cursors."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"filter": filter, "first": 2, "after": after, "order": order}
        if order is None:
            del variables["order"]
        page = (await runner.run(PAGE, variables, as_user=person))["technicalRequests"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def _reshape(sessions: Sessions, request_id: str, **changes: Any) -> None:
    """Puts a request where a test needs it (its filing instant, its status, its details)."""
    async with sessions() as session, session.begin():
        request = await session.get(TechnicalRequest, _pk(request_id))
        assert request is not None
        details = changes.pop("details", None)
        for name, value in changes.items():
            setattr(request, name, value)
        if details is not None:
            request.details = {**(request.details or {}), **details}
        session.add(request)


# -- overdue -------------------------------------------------------------------------------


async def test_the_overdue_filter_follows_the_working_days(
    runner: Runner, session_factory: Sessions
) -> None:
    # given: on Monday 16 November 2026 (Armistice, Wednesday 11, is a holiday), requests
    # filed or scheduled on days whose deadlines were worked out by hand
    world = await make_world(session_factory, "Retards")
    cases: dict[str, tuple[dict[str, Any], bool]] = {
        # filed Tuesday 10: to forward by Thursday 12 → late
        "tuesday": ({"submitted_at": datetime(2026, 11, 10, 9, 0, tzinfo=UTC)}, True),
        # 23:30 in Paris on Wednesday 11 (a holiday): due Friday 13 → late
        "holiday-evening": ({"submitted_at": datetime(2026, 11, 11, 22, 30, tzinfo=UTC)}, True),
        # 00:30 in Paris on Thursday 12: due Monday 16, today → not late yet
        "thursday-night": ({"submitted_at": datetime(2026, 11, 11, 23, 30, tzinfo=UTC)}, False),
        "friday": ({"submitted_at": datetime(2026, 11, 13, 9, 0, tzinfo=UTC)}, False),
        # an express commissioning scheduled on the holiday: done by Friday 13 → late
        "express-late": (
            {
                "request_type": "EXPRESS_COMMISSIONING",
                "status": "SCHEDULED",
                "details": {"scheduled_on": "2026-11-11"},
            },
            True,
        ),
        # scheduled Thursday 12: done by Monday 16 → not late yet
        "express-on-time": (
            {
                "request_type": "EXPRESS_COMMISSIONING",
                "status": "SCHEDULED",
                "details": {"scheduled_on": "2026-11-12"},
            },
            False,
        ),
        # a power change has no deadline once scheduled, a forwarded request none either
        "power-scheduled": (
            {"status": "SCHEDULED", "details": {"scheduled_on": "2026-10-01"}},
            False,
        ),
        "forwarded": (
            {"status": "FORWARDED", "submitted_at": datetime(2026, 10, 1, 9, 0, tzinfo=UTC)},
            False,
        ),
    }
    late: set[str] = set()
    on_time: set[str] = set()
    for shape, is_late in cases.values():
        answer = await submit(runner, world, "USER", power_change(world.sites[0]))
        request_id = answer["technicalRequest"]["id"]
        await _reshape(session_factory, request_id, **shape)
        (late if is_late else on_time).add(request_id)
    admin = world.people["ADMIN"]
    # when: the coordinator lists the late ones, then the others
    overdue = await _all(runner, admin, filter={"overdue": True})
    others = await _all(runner, admin, filter={"overdue": False})
    # then: exactly the hand-made split, and each node's flag agrees with its side
    assert {n["id"] for n in overdue} == late
    assert {n["id"] for n in others} == on_time
    assert all(n["overdue"] for n in overdue) and not any(n["overdue"] for n in others)
    # the filter combines with the others and with the count
    page = await runner.run(
        PAGE,
        {"filter": {"overdue": True, "statuses": ["SUBMITTED"]}, "first": 10},
        as_user=admin,
    )
    assert page["technicalRequests"]["totalCount"] == 2


# -- orderings -------------------------------------------------------------------------------

STATUS_RANK_SQL = (
    "CASE r.status WHEN 'SUBMITTED' THEN 0 WHEN 'FORWARDED' THEN 1 WHEN 'SCHEDULED' THEN 2 "
    "WHEN 'DONE' THEN 3 WHEN 'ABANDONED' THEN 4 WHEN 'REJECTED' THEN 5 END"
)
ORDERS_SQL = {
    "SUBMITTED_AT_ASC": "r.submitted_at, r.id",
    "REFERENCE_ASC": "r.reference, r.id",
    "REFERENCE_DESC": "r.reference DESC, r.id DESC",
    "MEMBER_ASC": "m.legal_name, r.id",
    "MEMBER_DESC": "m.legal_name DESC, r.id DESC",
    "POINT_NUMBER_ASC": "COALESCE(r.point_number, ''), r.id",
    "STATUS_ASC": f"{STATUS_RANK_SQL}, r.id",
}


@pytest.fixture(scope="module")
async def sorted_world(
    runner: Runner, session_factory: Sessions, operator: User
) -> tuple[World, list[str]]:
    """Requests of both members, on three points and one site to add, in four statuses."""
    world = await make_world(session_factory, "Tri")
    ids = []
    for site in (world.sites[2], world.sites[0], world.sites[1], world.sites[0], world.sites[2]):
        ids.append(
            (await submit(runner, world, "ADMIN", power_change(site)))["technicalRequest"]["id"]
        )
    await advance(runner, operator, ids[1], status="FORWARDED", caseNumber="SGE1234567890")
    await advance(runner, operator, ids[4], status="FORWARDED", caseNumber="SGE1234567890")
    await advance(runner, operator, ids[4], status="SCHEDULED", appointmentAt="2026-12-01T08:00Z")
    await advance(runner, operator, ids[2], status="REJECTED", note="Doublon.")
    added = await submit(runner, world, "ADMIN", add_site(world, world.accounts[0]))
    assert added["errors"] == [], added
    ids.append(added["technicalRequest"]["id"])
    return world, ids


@pytest.mark.parametrize("order", sorted(ORDERS_SQL))
async def test_each_ordering_pages_in_sql_order(
    runner: Runner, session_factory: Sessions, sorted_world: tuple[World, list[str]], order: str
) -> None:
    world, _ = sorted_world
    seen = [_pk(n["id"]) for n in await _all(runner, world.people["ADMIN"], order=order)]
    async with session_factory() as session:
        expected = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT r.id FROM technical_requests r JOIN members m ON m.id = r.member_id "
                    f"WHERE m.group_id = :g ORDER BY {ORDERS_SQL[order]}"
                ),
                {"g": world.group.id},
            )
        ).scalars()
        assert seen == list(expected)


async def test_by_type_follows_the_labels_and_a_foreign_cursor_is_invalid(
    runner: Runner, sorted_world: tuple[World, list[str]]
) -> None:
    world, ids = sorted_world
    admin = world.people["ADMIN"]
    nodes = await _all(runner, admin, order="TYPE_ASC")
    keys = [(n["typeLabel"], _pk(n["id"])) for n in nodes]
    assert keys == sorted(keys) and {n["id"] for n in nodes} == set(ids)
    assert keys[0][0] == "Ajout de site – changement de fournisseur" or keys[0][0] < keys[-1][0]
    # a cursor issued for one ordering does not page another
    page = await runner.run(PAGE, {"first": 1, "order": "STATUS_ASC"}, as_user=admin)
    cursor = page["technicalRequests"]["pageInfo"]["endCursor"]
    refused = await runner.raw(
        PAGE, {"first": 1, "order": "MEMBER_ASC", "after": cursor}, as_user=admin
    )
    assert refused.errors and refused.errors[0].extensions["code"] == "INVALID"


# -- the commissioning index ---------------------------------------------------------------


def commissioning(site: Any) -> dict[str, Any]:
    return {
        "requestType": "COMMISSIONING",
        "site": {"siteId": gid("Site", site.id)},
        "contact": CONTACT,
        "characteristics": {"wishedDates": ["2026-11-30"]},
    }


async def _scheduled(runner: Runner, world: World, operator: User, data: dict[str, Any]) -> str:
    answer = await submit(runner, world, "USER", data)
    assert answer["errors"] == [], answer
    request_id: str = answer["technicalRequest"]["id"]
    await advance(runner, operator, request_id, status="FORWARDED", caseNumber="SGE1234567890")
    await advance(runner, operator, request_id, status="SCHEDULED", appointmentAt="2026-11-30T08Z")
    return request_id


DONE = """
mutation($i: AdvanceTechnicalRequestInput!) {
  advanceTechnicalRequest(input: $i) {
    technicalRequest { status doneOn commissioningIndex feeExclVat }
    errors { field code message }
  }
}"""


async def test_a_commissioning_is_done_with_its_index(
    runner: Runner, session_factory: Sessions, operator: User
) -> None:
    world = await make_world(session_factory, "Mises")
    request_id = await _scheduled(runner, world, operator, commissioning(world.sites[0]))

    async def done(**step: Any) -> Any:
        data = await runner.run(
            DONE, {"i": {"requestId": request_id, "status": "DONE", **step}}, as_user=operator
        )
        return data["advanceTechnicalRequest"]

    # without the index, or with an impossible one: refused on that field, nothing changes
    for step, code in (({}, "REQUIRED"), ({"commissioningIndex": -1}, "INVALID")):
        refused = await done(**step)
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [
            ("commissioningIndex", code)
        ]
        async with session_factory() as session:
            row = await session.get(TechnicalRequest, _pk(request_id))
            assert row is not None and row.status == "SCHEDULED"
    # with it: done on the intervention's day, the index kept and shown
    answer = await done(commissioningIndex=48213, effectiveAt="2026-11-30T09:00:00Z")
    assert answer["errors"] == []
    assert answer["technicalRequest"] == {
        "status": "DONE",
        "doneOn": "2026-11-30",
        "commissioningIndex": 48213,
        "feeExclVat": "20.00",
    }
    mails = await runner.mails_to(world.email("USER"), "technical_request")
    last = [m for m in mails if "Réalisée" in m.subject or "48" in str(m.context)][-1]
    assert {"label": "Index de mise en service", "value": "48\u202f213"} in last.context["summary"]


async def test_the_index_belongs_to_an_attended_commissioning_only(
    runner: Runner, session_factory: Sessions, operator: User
) -> None:
    world = await make_world(session_factory, "Sansindex")
    power = await _scheduled(runner, world, operator, power_change(world.sites[0]))
    refused = (
        await runner.run(
            DONE,
            {"i": {"requestId": power, "status": "DONE", "commissioningIndex": 10}},
            as_user=operator,
        )
    )["advanceTechnicalRequest"]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("commissioningIndex", "INVALID")
    ]
    # the customer was absent: no intervention, no index, the wasted-trip fee
    absent = await _scheduled(runner, world, operator, commissioning(world.sites[0]))
    answer = (
        await runner.run(
            DONE,
            {"i": {"requestId": absent, "status": "DONE", "customerAbsent": True}},
            as_user=operator,
        )
    )["advanceTechnicalRequest"]
    assert answer["errors"] == []
    assert answer["technicalRequest"]["commissioningIndex"] is None
    assert answer["technicalRequest"]["feeExclVat"] == "30.00"


# -- the confirmation through SMTP ---------------------------------------------------------


async def test_the_confirmation_carries_the_summary_as_a_pdf(
    runner: Runner, session_factory: Sessions, operator: User, smtp_server: SmtpServer
) -> None:
    world = await make_world(session_factory, "Recapitulatif")
    answer = await submit(runner, world, "USER", power_change(world.sites[0]))
    request = answer["technicalRequest"]
    await advance(runner, operator, request["id"], status="FORWARDED", caseNumber="SGE1234567890")
    # when: the worker sends this request's mails to a real SMTP server
    settings = smtp_settings(runner.settings, smtp_server.port)
    report = await deliver_due_mails(
        runner.sessions,
        build_transport(settings),
        settings,
        now=NOW + timedelta(minutes=5),
        key_prefix=f"technical-request:{_pk(request['id'])}:",
    )
    assert report.sent == 2 and report.dead == 0
    confirmation, forwarded = [m for m in smtp_server.messages if m["To"] == world.email("USER")]
    # then: the confirmation joins the summary as a PDF holding the form's lines
    files = [part for part in confirmation.iter_attachments()]
    assert [f.get_filename() for f in files] == [f"demande-{request['reference']}.pdf"]
    assert files[0].get_content_type() == "application/pdf"
    pdf = PdfReader(io.BytesIO(files[0].get_content()))
    text = " ".join(page.extract_text() for page in pdf.pages)
    for expected in (
        request["reference"],
        "Changement de puissance",
        world.sites[0].point_number,
        "Anne Martin",
        "16/11/2026",
        "12,0 kVA",
    ):
        assert expected in text, expected
    # the step mails tell the new state without a file
    assert list(forwarded.iter_attachments()) == []
    assert "Transmise au distributeur" in forwarded["Subject"] or "Transmise" in str(
        forwarded.get_body(("plain",))
    )


# -- the yearly review ---------------------------------------------------------------------

REVIEW = """
mutation($i: ExportTechnicalRequestReviewInput!) {
  exportTechnicalRequestReview(input: $i) { url rowCount errors { field code message } }
}"""


async def test_the_yearly_review_counts_as_sql_does(
    runner: Runner, session_factory: Sessions, operator: User
) -> None:
    # given: power changes of both members, two done in 5 and 10 working days, one rejected,
    # and one filed the year before (out of the review)
    world = await make_world(session_factory, "Bilan")
    filed = [
        (await submit(runner, world, "ADMIN", power_change(site)))["technicalRequest"]["id"]
        for site in (world.sites[0], world.sites[0], world.sites[1], world.sites[2], world.sites[2])
    ]
    for request_id, day in ((filed[0], "2026-11-23"), (filed[1], "2026-11-30")):
        await advance(runner, operator, request_id, status="FORWARDED", caseNumber="SGE1234567890")
        await advance(runner, operator, request_id, status="SCHEDULED", appointmentAt=f"{day}T08Z")
        await advance(runner, operator, request_id, status="DONE", effectiveAt=f"{day}T09:00Z")
    await advance(runner, operator, filed[3], status="REJECTED", note="Hors contrat.")
    await _reshape(
        session_factory, filed[4], submitted_at=datetime(2025, 12, 31, 22, 30, tzinfo=UTC)
    )
    async with session_factory() as session:
        counts = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT m.legal_name, r.status, COUNT(*) FROM technical_requests r "
                    "JOIN members m ON m.id = r.member_id WHERE m.group_id = :g "
                    "AND r.submitted_at >= :start GROUP BY m.legal_name, r.status"
                ),
                {"g": world.group.id, "start": datetime(2025, 12, 31, 23, 0, tzinfo=UTC)},
            )
        ).all()
    by_member: dict[str, dict[str, int]] = {}
    for name, status, count in counts:
        by_member.setdefault(name, {})[status] = count
    # 23:30 in Paris on 31 December 2025 counts in 2025: out of the 2026 review
    assert sum(sum(v.values()) for v in by_member.values()) == 4
    # when: the coordinator exports the 2026 review in both formats
    answers = {}
    for file_format in ("CSV", "XLSX"):
        data = await runner.run(
            REVIEW, {"i": {"year": 2026, "format": file_format}}, as_user=world.people["ADMIN"]
        )
        answers[file_format] = data["exportTechnicalRequestReview"]
        assert answers[file_format]["errors"] == []
    text = _exported_path(runner, answers["CSV"]["url"]).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, lines = rows[0], rows[1:]
    assert header[:3] == ["Membre", "Type de demande", "Demandes"]
    assert header[-1] == "Délai médian (jours ouvrés)"
    status_columns = {title: header.index(title) for title in ("Soumise", "Réalisée", "Refusée")}
    # then: one line per member (the one type) and one for all members, as SQL counts them
    assert [line[0] for line in lines] == [*sorted(by_member), "Tous les membres"]
    for line in lines[:-1]:
        expected = by_member[line[0]]
        assert int(line[2]) == sum(expected.values())
        assert int(line[status_columns["Soumise"]]) == expected.get("SUBMITTED", 0)
        assert int(line[status_columns["Réalisée"]]) == expected.get("DONE", 0)
        assert int(line[status_columns["Refusée"]]) == expected.get("REJECTED", 0)
    # Monday 16 → Monday 23 is 5 working days, → Monday 30 is 10: the median is 7.5
    member_line = next(line for line in lines if line[0] == world.member.legal_name)
    assert member_line[1] == "Changement de puissance" and member_line[-1] == "7,5"
    assert lines[-1][2] == "4" and lines[-1][-1] == "7,5"
    sheet = openpyxl.load_workbook(_exported_path(runner, answers["XLSX"]["url"])).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == len(rows) and values[-1][2] == 4 and values[-1][-1] == 7.5
    assert answers["XLSX"]["rowCount"] == len(lines)
    # a USER reviews its own member only
    data = await runner.run(
        REVIEW, {"i": {"year": 2026, "format": "CSV"}}, as_user=world.people["USER"]
    )
    text = _exported_path(runner, data["exportTechnicalRequestReview"]["url"]).read_text(
        encoding="utf-8-sig"
    )
    names = {row[0] for row in list(csv.reader(io.StringIO(text), delimiter=";"))[1:]}
    assert names == {world.member.legal_name, "Tous les membres"}
    # an impossible year is a typed refusal
    refused = await runner.run(
        REVIEW, {"i": {"year": 1900, "format": "CSV"}}, as_user=world.people["ADMIN"]
    )
    assert [e["code"] for e in refused["exportTechnicalRequestReview"]["errors"]] == ["INVALID"]
    assert date(2026, 11, 16).weekday() == 0  # the clock's Monday the hand counts start from


# -- the README's tour, on the demo ----------------------------------------------------------


async def test_the_readme_tour_finds_late_requests_and_a_review_on_the_demo(
    demo_runner: Runner,
) -> None:
    from sqlmodel import select

    from demo.logins import ADMIN_ID

    async with demo_runner.sessions() as session:
        admin = (await session.exec(select(User).where(User.id == ADMIN_ID))).one()
    data = await demo_runner.run(
        "query { technicalRequests(first: 5, filter: {overdue: true}, orderBy: MEMBER_ASC) "
        "{ totalCount edges { node { reference memberLegalName statusLabel dueOn overdue } } } }",
        as_user=admin,
    )
    page = data["technicalRequests"]
    assert page["totalCount"] > 0 and all(e["node"]["overdue"] for e in page["edges"])
    review = await demo_runner.run(
        "mutation { exportTechnicalRequestReview(input: {year: 2026, format: XLSX}) "
        "{ url rowCount errors { code } } }",
        as_user=admin,
    )
    assert review["exportTechnicalRequestReview"]["rowCount"] > 1
