"""Technical requests: filing one (valid, each invalid field, read-only, outside the
perimeter), the workflow (operator steps, customer cancellation, illegal moves), the tracking
list against SQL written here, and the mails each step leaves in the outbox."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import TechnicalRequest, TechnicalRequestEvent, User
from domain.enums import Tier
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

SUBMIT = """
mutation($i: SubmitTechnicalRequestInput!) {
  submitTechnicalRequest(input: $i) {
    technicalRequest {
      id reference status requestType typeLabel pointNumber expectedOn dueOn overdue
      characteristics newSite site { id } memberLegalName authorName
      events { status actorName note }
    }
    errors { field code message }
  }
}"""

ADVANCE = """
mutation($i: AdvanceTechnicalRequestInput!) {
  advanceTechnicalRequest(input: $i) {
    technicalRequest { status distributorCaseNumber appointmentAt feeExclVat events { status } }
    errors { field code message }
  }
}"""

ABANDON = """
mutation($i: AbandonTechnicalRequestInput!) {
  abandonTechnicalRequest(input: $i) {
    technicalRequest { status events { status note } }
    errors { field code message }
  }
}"""

LIST = """
query($filter: TechnicalRequestFilter, $first: Int, $after: String) {
  technicalRequests(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id reference } }
  }
}"""

FULL_PAGE = """
query($first: Int) {
  technicalRequests(first: $first) {
    totalCount
    edges { node {
      id reference typeLabel statusLabel memberLegalName authorName pointNumber appointmentAt
      site { pointNumber member { legalName } }
      events { status occurredAt actorName note }
      attachments { filename }
    } }
  }
}"""

ONE = """
query($ref: String!, $id: ID!) {
  technicalRequest(reference: $ref) { reference events { status } }
  node(id: $id) { id ... on TechnicalRequest { reference } }
}"""

CONTACT = {"name": "Anne Martin", "phone": "06 12 34 56 78", "email": "anne.martin@example.test"}
# NOW is Monday 16 November 2026: a power change (10 working days) is possible from the 30th.
FIRST_POSSIBLE = "2026-11-30"


def power_change(site: Any, **extra: Any) -> dict[str, Any]:
    return {
        "requestType": "POWER_CHANGE",
        "site": {"siteId": gid("Site", site.id)},
        "contact": CONTACT,
        "characteristics": {"desiredPowerKva": "12", "wishedDates": [FIRST_POSSIBLE]},
        **extra,
    }


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Demandes")


@pytest.fixture(scope="module")
async def operator(session_factory: async_sessionmaker[AsyncSession]) -> User:
    user, _ = await make_person(session_factory, "guichet-demandes@c.test", tier=Tier.OPERATOR)
    return user


@pytest.fixture(scope="module")
async def other(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Voisins")


async def submit(runner: Runner, world: World, tier: str, data: dict[str, Any]) -> Any:
    out = await runner.run(SUBMIT, {"i": data}, as_user=world.people[tier])
    return out["submitTechnicalRequest"]


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


# -- filing --------------------------------------------------------------------------------


async def test_a_valid_request_is_stored_with_its_event_and_mail(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    # when the member's user files a power change on its site
    answer = await submit(runner, world, "USER", power_change(world.sites[0]))
    # then the request is SUBMITTED with a reference, the first event and its expected date
    assert answer["errors"] == []
    request = answer["technicalRequest"]
    assert request["status"] == "SUBMITTED"
    assert request["reference"] == f"DT-2026-{_pk(request['id']):06d}"
    assert request["typeLabel"] == "Changement de puissance"
    assert request["pointNumber"] == world.sites[0].point_number
    assert request["expectedOn"] == FIRST_POSSIBLE
    assert request["dueOn"] == "2026-11-18" and request["overdue"] is False
    assert request["characteristics"] == {
        "desired_power_kva": "12.0",
        "wished_dates": [FIRST_POSSIBLE],
    }
    assert request["events"] == [
        {
            "status": "SUBMITTED",
            "actorName": world.people["USER"].full_name,
            "note": "Demande enregistrée, récapitulatif envoyé par courriel",
        }
    ]
    async with session_factory() as session:
        stored = await session.get(TechnicalRequest, _pk(request["id"]))
        assert stored is not None and stored.site_id == world.sites[0].id
        assert stored.member_id == world.member.id
    # and the author receives the summary
    [mail] = await runner.mails_to(world.email("USER"), "technical_request")
    assert request["reference"] in mail.subject
    assert mail.context["submitted"] is True
    assert {"label": "Puissance souhaitée", "value": "12,0 kVA"} in mail.context["summary"]


async def test_the_site_is_named_by_point_number_too(runner: Runner, world: World) -> None:
    data = power_change(world.sites[1])
    data["site"] = {"pointNumber": world.sites[1].point_number}
    answer = await submit(runner, world, "ADMIN", data)
    assert answer["errors"] == []
    assert answer["technicalRequest"]["site"]["id"] == gid("Site", world.sites[1].id)


async def test_every_invalid_field_is_named_and_nothing_is_written(
    runner: Runner, world: World
) -> None:
    before = await runner.count(TechnicalRequest)
    answer = await submit(
        runner,
        world,
        "USER",
        {
            "requestType": "POWER_CHANGE",
            "site": {"siteId": gid("Site", world.sites[0].id)},
            "contact": {"name": " ", "phone": "abc", "email": "pas-une-adresse"},
            "references": {"internalCode": "x" * 36},
            "characteristics": {
                "desiredPowerKva": "douze",
                "wishedDates": ["2026-11-21"],  # a Saturday
                "description": "sans objet ici",
            },
        },
    )
    assert answer["technicalRequest"] is None
    assert {(e["field"], e["code"]) for e in answer["errors"]} == {
        ("contact.name", "REQUIRED"),
        ("contact.phone", "INVALID"),
        ("contact.email", "INVALID"),
        ("references.internalCode", "TOO_LONG"),
        ("characteristics.desiredPowerKva", "INVALID"),
        ("characteristics.wishedDates", "INVALID"),
        ("characteristics.description", "INVALID"),
    }
    assert await runner.count(TechnicalRequest) == before


async def test_missing_characteristics_and_too_early_dates(runner: Runner, world: World) -> None:
    data = power_change(world.sites[0])
    data["characteristics"] = {"wishedDates": ["2026-11-27"]}
    answer = await submit(runner, world, "USER", data)
    assert {(e["field"], e["code"]) for e in answer["errors"]} == {
        ("characteristics.desiredPowerKva", "REQUIRED"),
        ("characteristics.wishedDates", "INVALID"),
    }
    assert "30/11/2026" in answer["errors"][-1]["message"] + answer["errors"][0]["message"]


async def test_read_only_third_party_is_forbidden_outside_is_not_found(
    runner: Runner, world: World, other: World
) -> None:
    before = await runner.count(TechnicalRequest)
    # a site the read-only third party sees
    answer = await submit(runner, world, "THIRD_PARTY", power_change(world.sites[0]))
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("site", "FORBIDDEN")]
    # another tenant's site, by ID or by point number
    answer = await submit(runner, world, "USER", power_change(other.sites[0]))
    assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    data = power_change(other.sites[0])
    data["site"] = {"pointNumber": other.sites[0].point_number}
    answer = await submit(runner, world, "USER", data)
    assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
    assert await runner.count(TechnicalRequest) == before


def add_site(world: World, account: Any, **new_site: Any) -> dict[str, Any]:
    return {
        "requestType": "ADD_SITE_SUPPLIER_CHANGE",
        "contact": CONTACT,
        "newSite": {
            "pointNumber": "09876543210123",
            "street": "1 place de la Mairie",
            "postcode": "29000",
            "city": "Quimper",
            "energy": "ELECTRICITY",
            "segment": "C5",
            "billingAccountId": gid("BillingAccount", account.id),
            "greenSharePct": 50,
            **new_site,
        },
        "characteristics": {"wishedDates": ["2026-11-24"]},
    }


async def test_a_new_site_joins_a_billing_account(
    runner: Runner, world: World, other: World
) -> None:
    answer = await submit(runner, world, "USER", add_site(world, world.accounts[1]))
    assert answer["errors"] == []
    request = answer["technicalRequest"]
    assert request["site"] is None and request["pointNumber"] == "09876543210123"
    assert request["newSite"]["green_share_pct"] == 50
    # a gas segment for electricity, a point already in the portfolio, a bad share
    answer = await submit(
        runner,
        world,
        "USER",
        add_site(
            world,
            world.accounts[1],
            segment="T2",
            pointNumber=world.sites[0].point_number,
            greenSharePct=120,
        ),
    )
    assert {(e["field"], e["code"]) for e in answer["errors"]} == {
        ("newSite.segment", "INVALID"),
        ("newSite.pointNumber", "ALREADY_EXISTS"),
        ("newSite.greenSharePct", "INVALID"),
    }
    # another tenant's account
    answer = await submit(runner, world, "USER", add_site(world, other.accounts[0]))
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [
        ("newSite.billingAccountId", "NOT_FOUND")
    ]


# -- the workflow --------------------------------------------------------------------------


async def advance(runner: Runner, operator: User, request_id: str, **step: Any) -> Any:
    out = await runner.run(ADVANCE, {"i": {"requestId": request_id, **step}}, as_user=operator)
    return out["advanceTechnicalRequest"]


async def test_the_back_office_moves_a_request_to_done(
    runner: Runner, world: World, operator: User
) -> None:
    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    rid = request["id"]
    # skipping a step is refused, naming what is allowed
    refused = await advance(runner, operator, rid, status="DONE")
    assert refused["errors"][0]["code"] == "INVALID_STATE"
    assert "FORWARDED" in refused["errors"][0]["message"]
    # forwarding needs the distributor's case number, in its format
    refused = await advance(runner, operator, rid, status="FORWARDED", caseNumber="OMEGA123456789")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("caseNumber", "INVALID")]
    moved = await advance(runner, operator, rid, status="FORWARDED", caseNumber="SGE1234567890")
    assert moved["errors"] == []
    assert moved["technicalRequest"]["distributorCaseNumber"] == "SGE1234567890"
    moved = await advance(
        runner, operator, rid, status="SCHEDULED", appointmentAt="2026-11-30T08:00:00+00:00"
    )
    assert moved["technicalRequest"]["status"] == "SCHEDULED"
    moved = await advance(runner, operator, rid, status="DONE", note="Puissance relevée.")
    assert moved["technicalRequest"]["status"] == "DONE"
    assert moved["technicalRequest"]["feeExclVat"] == "20.00"
    assert [e["status"] for e in moved["technicalRequest"]["events"]] == [
        "SUBMITTED",
        "FORWARDED",
        "SCHEDULED",
        "DONE",
    ]
    # no going back
    refused = await advance(runner, operator, rid, status="SCHEDULED")
    assert refused["errors"][0]["code"] == "INVALID_STATE"
    # the author got the confirmation and one mail per step
    mails = [
        m
        for m in await runner.mails_to(world.email("USER"), "technical_request")
        if request["reference"] in m.subject
    ]
    assert len(mails) == 4


async def test_only_the_back_office_advances(runner: Runner, world: World) -> None:
    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    result = await runner.raw(
        ADVANCE,
        {"i": {"requestId": request["id"], "status": "FORWARDED", "caseNumber": "SGE1234567890"}},
        as_user=world.people["ADMIN"],
    )
    assert result.errors and result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_the_customer_cancels_before_forwarding_only(
    runner: Runner, world: World, other: World, operator: User
) -> None:
    first = (await submit(runner, world, "USER", power_change(world.sites[0])))["technicalRequest"]
    # another tenant cannot see it; the read-only third party may not cancel it
    out = await runner.run(
        ABANDON, {"i": {"requestId": first["id"], "reason": "x"}}, as_user=other.people["USER"]
    )
    assert [e["code"] for e in out["abandonTechnicalRequest"]["errors"]] == ["NOT_FOUND"]
    out = await runner.run(
        ABANDON,
        {"i": {"requestId": first["id"], "reason": "x"}},
        as_user=world.people["THIRD_PARTY"],
    )
    assert [e["code"] for e in out["abandonTechnicalRequest"]["errors"]] == ["FORBIDDEN"]
    out = await runner.run(
        ABANDON,
        {"i": {"requestId": first["id"], "reason": "Travaux reportés"}},
        as_user=world.people["USER"],
    )
    answer = out["abandonTechnicalRequest"]
    assert answer["errors"] == []
    assert answer["technicalRequest"]["events"][-1] == {
        "status": "ABANDONED",
        "note": "Travaux reportés",
    }
    second = (await submit(runner, world, "USER", power_change(world.sites[0])))["technicalRequest"]
    await advance(runner, operator, second["id"], status="FORWARDED", caseNumber="SGE1234567890")
    out = await runner.run(
        ABANDON,
        {"i": {"requestId": second["id"], "reason": "Trop tard"}},
        as_user=world.people["USER"],
    )
    assert [e["code"] for e in out["abandonTechnicalRequest"]["errors"]] == ["INVALID_STATE"]


# -- the tracking list ---------------------------------------------------------------------


async def expected_ids(
    sessions: async_sessionmaker[AsyncSession], world: World, tier: str, where: str = ""
) -> list[int]:
    scope = {
        "ADMIN": "r.member_id IN (SELECT id FROM members WHERE group_id = :group)",
        "USER": "r.member_id = :member",
        "INFRA_USER": "r.billing_account_id = :a0",
        "THIRD_PARTY": "r.billing_account_id IN (:a0, :a2)",
    }[tier]
    sql = (
        f"SELECT r.id FROM technical_requests r WHERE {scope} {where} "
        "ORDER BY r.submitted_at DESC, r.id DESC"
    )
    params = {
        "group": world.group.id,
        "member": world.member.id,
        "a0": world.accounts[0].id,
        "a2": world.accounts[2].id,
    }
    async with sessions() as session:
        used = {k: v for k, v in params.items() if f":{k}" in sql}
        rows = (await session.exec(sa.text(sql).bindparams(**used))).all()  # type: ignore[call-overload]
    return [r[0] for r in rows]


@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
@pytest.mark.parametrize(
    ("filter", "where"),
    [
        (None, ""),
        ({"statuses": ["SUBMITTED"]}, "AND r.status = 'SUBMITTED'"),
        (
            {"types": ["ADD_SITE_SUPPLIER_CHANGE"]},
            "AND r.request_type = 'ADD_SITE_SUPPLIER_CHANGE'",
        ),
    ],
)
async def test_the_list_is_the_perimeter_in_sql_order(
    runner: Runner,
    session_factory: async_sessionmaker[AsyncSession],
    world: World,
    tier: str,
    filter: Any,
    where: str,
) -> None:
    for _ in range(3):
        await submit(runner, world, "ADMIN", power_change(world.sites[2]))
    seen: list[int] = []
    after = None
    while True:
        data = await runner.run(
            LIST, {"filter": filter, "first": 2, "after": after}, as_user=world.people[tier]
        )
        page = data["technicalRequests"]
        seen += [_pk(e["node"]["id"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = await expected_ids(session_factory, world, tier, where)
    assert seen == expected
    assert page["totalCount"] == len(expected)


async def test_a_page_costs_the_same_statements_whatever_its_size(
    runner: Runner, count_sql: SqlCounter, world: World
) -> None:
    for _ in range(6):
        await submit(runner, world, "USER", power_change(world.sites[0]))
    admin = world.people["ADMIN"]
    counts = {}
    for first in (2, 6):
        with count_sql() as statements:
            data = await runner.run(FULL_PAGE, {"first": first}, as_user=admin)
        assert len(data["technicalRequests"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[2] == counts[6], counts


async def test_one_request_by_reference_and_node(
    runner: Runner, world: World, other: World
) -> None:
    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    variables = {"ref": request["reference"], "id": request["id"]}
    data = await runner.run(ONE, variables, as_user=world.people["USER"])
    assert data["technicalRequest"]["events"] == [{"status": "SUBMITTED"}]
    assert data["node"]["reference"] == request["reference"]
    # another tenant: exactly not found
    data = await runner.run(ONE, variables, as_user=other.people["ADMIN"])
    assert data == {"technicalRequest": None, "node": None}
    async with runner.sessions() as session:
        events = (
            await session.exec(
                sa.select(sa.func.count()).select_from(TechnicalRequestEvent)  # type: ignore[call-overload]
            )
        ).one()
    assert events[0] > 0


# -- the README's tour, on the demo ----------------------------------------------------------

TOUR = """
query { technicalRequests(first: 5, filter: {statuses: [SCHEDULED]}) { totalCount edges {
  node { reference typeLabel statusLabel submittedAt memberLegalName pointNumber appointmentAt
         authorName events { status occurredAt actorName note } } } } }"""


async def test_the_readme_tour_lists_the_demo_groups_requests(demo_runner: Runner) -> None:
    from sqlmodel import select

    from demo.logins import ADMIN_ID

    async with demo_runner.sessions() as session:
        user = (await session.exec(select(User).where(User.id == ADMIN_ID))).one()
    data = await demo_runner.run(TOUR, as_user=user)
    page = data["technicalRequests"]
    assert page["totalCount"] > 0
    node = page["edges"][0]["node"]
    assert node["statusLabel"] == "Rendez-vous planifié" and node["appointmentAt"]
    assert [e["status"] for e in node["events"]] == ["SUBMITTED", "FORWARDED", "SCHEDULED"]


# -- the export ------------------------------------------------------------------------------

EXPORT = """
mutation($i: ExportTechnicalRequestsInput!) {
  exportTechnicalRequests(input: $i) { url rowCount errors { field code message } }
}"""


def _exported_path(runner: Runner, url: str) -> Any:
    from urllib.parse import urlsplit

    from auth.signed_urls import verify_file_token

    token = urlsplit(url).path.rsplit("/", 1)[1]
    return runner.settings.files_dir / verify_file_token(runner.settings.signing_secret, token)


async def test_the_list_exports_through_the_one_writer(
    runner: Runner, world: World, operator: User
) -> None:
    import csv

    import openpyxl

    # given: a submitted and a scheduled request among the member's, listed apart in plain SQL
    await submit(runner, world, "USER", power_change(world.sites[1]))
    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    await advance(runner, operator, request["id"], status="FORWARDED", caseNumber="SGE1234567890")
    await advance(
        runner, operator, request["id"], status="SCHEDULED", appointmentAt="2026-11-30T08:00:00Z"
    )
    async with runner.sessions() as session:
        expected = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT r.reference, m.legal_name, r.point_number, u.full_name, "
                    "r.distributor_case_number, r.status "
                    "FROM technical_requests r JOIN members m ON m.id = r.member_id "
                    "LEFT JOIN users u ON u.id = r.submitted_by_user_id "
                    "WHERE r.member_id = :m ORDER BY r.submitted_at DESC, r.id DESC"
                ),
                {"m": world.member.id},
            )
        ).all()
    # when: the USER exports the list in both formats
    answers = {}
    for file_format in ("CSV", "XLSX"):
        data = await runner.run(
            EXPORT, {"i": {"format": file_format}}, as_user=world.people["USER"]
        )
        answers[file_format] = data["exportTechnicalRequests"]
    # then: the rows SQL lists, in its order, with French labels
    for answer in answers.values():
        assert answer["errors"] == [] and answer["rowCount"] == len(expected)
    path = _exported_path(runner, answers["CSV"]["url"])
    assert path.name == "demandes-techniques-20261116.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == [
        "Référence",
        "Type",
        "Déposée le",
        "Raison sociale",
        "PRM / PCE",
        "Rendez-vous",
        "État",
        "Auteur",
        "N° d'affaire distributeur",
        "Échéance",
        "En retard",
    ]
    assert [(r[0], r[3], r[4], r[7], r[8] or None) for r in rows[1:]] == [
        (e.reference, e.legal_name, e.point_number, e.full_name, e.distributor_case_number)
        for e in expected
    ]
    scheduled = next(r for r in rows[1:] if r[0] == request["reference"])
    assert scheduled[1] == "Changement de puissance"
    assert scheduled[2] == "16/11/2026" and scheduled[5] == "30/11/2026"
    assert scheduled[6] == "Rendez-vous planifié" and scheduled[10] == "non"
    submitted = [r for r in rows[1:] if r[6] == "Soumise"]
    assert submitted and all(r[9] == "18/11/2026" for r in submitted)
    book = openpyxl.load_workbook(_exported_path(runner, answers["XLSX"]["url"]), read_only=True)
    try:
        values = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    assert len(values) == len(expected) + 1
    line = next(v for v in values[1:] if v[0] == request["reference"])
    assert line[1] == "Changement de puissance" and line[6] == "Rendez-vous planifié"
    assert isinstance(line[2], datetime) and line[5] == datetime(2026, 11, 30)


async def test_an_export_naming_another_tenants_member_is_not_found(
    runner: Runner, world: World, other: World
) -> None:
    def named(member_id: int) -> dict[str, Any]:
        return {"i": {"format": "CSV", "filter": {"memberIds": [gid("Member", member_id)]}}}

    admin = world.people["ADMIN"]
    data = await runner.run(EXPORT, named(other.member.id), as_user=admin)
    missing = await runner.run(EXPORT, named(10**9), as_user=admin)
    assert data == missing
    assert data["exportTechnicalRequests"]["url"] is None
    assert [e["code"] for e in data["exportTechnicalRequests"]["errors"]] == ["NOT_FOUND"]


# -- attachments, over real multipart HTTP requests -------------------------------------------

ATTACH = """
mutation($input: AttachServiceOrderInput!) {
  attachServiceOrder(input: $input) {
    technicalRequest { attachments { filename contentType sizeBytes sha256 downloadUrl } }
    errors { field code message }
  }
}"""
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)


async def _key(sessions: async_sessionmaker[AsyncSession], user: User, scopes: list[str]) -> str:
    from datetime import UTC, timedelta

    from auth.api_keys import new_api_key
    from db.models import ApiKey

    made = new_api_key()
    async with sessions() as session, session.begin():
        session.add(
            ApiKey(
                user_id=user.id,
                name="pièces jointes",
                prefix=made.prefix,
                key_hash=made.key_hash,
                scopes=scopes,
                # the app judges keys by the wall clock
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
    return made.key


async def _upload(
    runner: Runner,
    key: str,
    request_id: str,
    content: bytes,
    filename: str = "bon-de-commande.pdf",
    **settings: Any,
) -> Any:
    import json

    import httpx

    from api.app import create_app

    app = create_app(runner.settings.model_copy(update=settings))
    app.state.sessions = runner.sessions  # the lifespan's job, which ASGITransport skips
    operations = {"query": ATTACH, "variables": {"input": {"technicalRequestId": request_id}}}
    operations["variables"]["input"]["file"] = None  # type: ignore[index]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answer = await client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {key}"},
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.input.file"]}),
            },
            files={"0": (filename, content, "application/pdf")},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "errors" not in body, body
        payload = body["data"]["attachServiceOrder"]
        downloads = [
            (await client.get(a["downloadUrl"].replace(runner.settings.public_url, "")))
            for a in (payload["technicalRequest"] or {}).get("attachments", [])
        ]
    return payload, downloads


def _stored_files(runner: Runner) -> set[str]:
    root = runner.settings.files_dir / "attachments"
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


async def test_a_signed_service_order_is_attached_and_downloaded(
    runner: Runner, world: World
) -> None:
    import hashlib

    # given: the USER's request and a write key
    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    key = await _key(runner.sessions, world.people["USER"], ["read", "write"])
    # when: a PDF goes up as a multipart request
    payload, downloads = await _upload(runner, key, request["id"], PDF, "Bon signé.PDF")
    # then: recorded with its SHA-256, stored outside the database, downloadable by signed URL
    assert payload["errors"] == []
    [attachment] = payload["technicalRequest"]["attachments"]
    assert attachment["filename"] == "Bon signé.PDF"
    assert attachment["contentType"] == "application/pdf"
    assert attachment["sizeBytes"] == len(PDF)
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    [download] = downloads
    assert download.status_code == 200 and download.content == PDF
    async with runner.sessions() as session:
        key_of = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT storage_key FROM technical_request_attachments WHERE request_id = :r"
                ),
                {"r": _pk(request["id"])},
            )
        ).scalar_one()
    assert key_of.startswith("attachments/") and key_of.endswith("/Bon_signe.pdf")
    assert (runner.settings.files_dir / key_of).read_bytes() == PDF


@pytest.mark.parametrize(
    ("content", "filename", "settings", "code"),
    [
        (EXECUTABLE, "bon.pdf", {}, "INVALID"),  # an executable renamed .pdf
        (PDF + bytes(3000), "bon.pdf", {"max_attachment_bytes": 2048}, "TOO_LONG"),
        (b"", "vide.pdf", {}, "REQUIRED"),
    ],
)
async def test_a_refused_upload_stores_nothing(
    runner: Runner,
    world: World,
    content: bytes,
    filename: str,
    settings: dict[str, Any],
    code: str,
) -> None:
    from db.models import TechnicalRequestAttachment

    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    key = await _key(runner.sessions, world.people["USER"], ["read", "write"])
    files, rows = _stored_files(runner), await runner.count(TechnicalRequestAttachment)
    payload, _ = await _upload(runner, key, request["id"], content, filename, **settings)
    assert payload["technicalRequest"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("file", code)]
    assert _stored_files(runner) == files
    assert await runner.count(TechnicalRequestAttachment) == rows


async def test_another_tenants_request_is_not_found_and_a_read_key_is_forbidden(
    runner: Runner, world: World, other: World
) -> None:
    from db.models import TechnicalRequestAttachment

    request = (await submit(runner, world, "USER", power_change(world.sites[0])))[
        "technicalRequest"
    ]
    files, rows = _stored_files(runner), await runner.count(TechnicalRequestAttachment)
    # another tenant's write key: exactly a missing request
    theirs = await _key(runner.sessions, other.people["ADMIN"], ["read", "write"])
    payload, _ = await _upload(runner, theirs, request["id"], PDF)
    missing, _ = await _upload(runner, theirs, gid("TechnicalRequest", 10**9), PDF)
    assert payload == missing
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    # the author's own read-only key, and the read-only third party who sees the request
    read_only = await _key(runner.sessions, world.people["USER"], ["read"])
    payload, _ = await _upload(runner, read_only, request["id"], PDF)
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    adviser = await _key(runner.sessions, world.people["THIRD_PARTY"], ["read", "write"])
    payload, _ = await _upload(runner, adviser, request["id"], PDF)
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert _stored_files(runner) == files
    assert await runner.count(TechnicalRequestAttachment) == rows
