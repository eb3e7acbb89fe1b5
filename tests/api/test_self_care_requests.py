"""Self-care requests: each kind's checks, the refusal of a second open request, the back
office's steps (an approval applies the change atomically, audited, visible at once in the API
and in the next mail), the tracking list against SQL written here, and its statement count."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User
from domain.enums import Tier
from domain.identifiers import make_siren, make_siret
from tests.factories import World, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

SUBMIT = """
mutation($i: SubmitSelfCareRequestInput!) {
  submitSelfCareRequest(input: $i) {
    selfCareRequest {
      id reference kind kindLabel status memberLegalName billingAccountNumber requested
      authorName events { status actorName note }
    }
    errors { field code message }
  }
}"""

ADVANCE = """
mutation($i: AdvanceSelfCareRequestInput!) {
  advanceSelfCareRequest(input: $i) {
    selfCareRequest { status answer memberLegalName events { status note } }
    errors { field code message }
  }
}"""

LIST = """
query($filter: SelfCareRequestFilter, $first: Int, $after: String) {
  selfCareRequests(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id reference } }
  }
}"""

FULL_PAGE = """
query($first: Int) {
  selfCareRequests(first: $first) {
    totalCount
    edges { node {
      id reference kindLabel statusLabel memberLegalName billingAccountNumber authorName
      requested events { status occurredAt actorName note }
    } }
  }
}"""

ONE = """
query($ref: String!, $id: ID!) {
  selfCareRequest(reference: $ref) { reference events { status } }
  node(id: $id) { id ... on SelfCareRequest { reference } }
}"""

MEMBER = """query($id: ID!) { node(id: $id) { ... on Member { legalName } } }"""

SIRET = make_siret(make_siren("21350000"), "0001")


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Selfcare")


@pytest.fixture(scope="module")
async def operator(session_factory: async_sessionmaker[AsyncSession]) -> User:
    user, _ = await make_person(session_factory, "guichet-selfcare@c.test", tier=Tier.OPERATOR)
    return user


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


async def submit(runner: Runner, world: World, tier: str, data: dict[str, Any]) -> Any:
    out = await runner.run(SUBMIT, {"i": data}, as_user=world.people[tier])
    return out["submitSelfCareRequest"]


async def advance(runner: Runner, operator: User, request_id: str, **step: Any) -> Any:
    out = await runner.run(ADVANCE, {"i": {"requestId": request_id, **step}}, as_user=operator)
    return out["advanceSelfCareRequest"]


async def sql(runner: Runner, statement: str, **params: Any) -> list[Any]:
    async with runner.sessions() as session:
        return list((await (await session.connection()).execute(sa.text(statement), params)).all())


def kinds(world: World) -> dict[str, dict[str, Any]]:
    account = gid("BillingAccount", world.accounts[0].id)
    return {
        "changeLegalName": {"legalName": "Commune nouvelle de Val-Fleuri"},
        "changeLegalAddress": {
            "street": "1 place de la Mairie",
            "postcode": "35000",
            "city": "Rennes",
        },
        "changeInvoiceDelivery": {
            "billingAccountId": account,
            "mode": "CHORUS_PRO",
            "recipientSiret": SIRET,
            "serviceCode": "SERVICE-FIN",
            "commitmentNumber": "EJ-2026-42",
        },
        "changeBillingAddress": {
            "billingAccountId": account,
            "street": "Trésorerie, 3 rue du Port",
            "postcode": "35400",
            "city": "Saint-Malo",
        },
        "accountStatement": {
            "billingAccountId": account,
            "periodFrom": "2025-01-01",
            "periodTo": "2025-12-31",
        },
    }


# -- filing --------------------------------------------------------------------------------


async def test_each_kind_is_stored_with_reference_event_and_mail(
    runner: Runner, world: World
) -> None:
    for field, data in kinds(world).items():
        answer = await submit(runner, world, "USER", {field: data})
        assert answer["errors"] == [], (field, answer)
        request = answer["selfCareRequest"]
        assert request["status"] == "SUBMITTED"
        assert request["reference"] == f"SC-2026-{_pk(request['id']):06d}"
        assert request["memberLegalName"] == world.member.legal_name
        assert request["events"][0]["status"] == "SUBMITTED"
        mails = [
            m
            for m in await runner.mails_to(world.email("USER"), "self_care_request")
            if request["reference"] in m.subject
        ]
        assert len(mails) == 1 and mails[0].context["submitted"] is True
    [delivery] = await sql(
        runner,
        "SELECT payload FROM self_care_requests WHERE member_id = :m AND kind = "
        "'CHANGE_INVOICE_DELIVERY'",
        m=world.member.id,
    )
    payload = (
        delivery[0] if isinstance(delivery[0], dict) else __import__("json").loads(delivery[0])
    )
    assert payload == {
        "invoice_delivery": "CHORUS_PRO",
        "recipient_siret": SIRET,
        "chorus_service_code": "SERVICE-FIN",
        "chorus_commitment_number": "EJ-2026-42",
    }


BAD = [
    ({"changeLegalName": {"legalName": " "}}, "changeLegalName.legalName", "REQUIRED"),
    ({"changeLegalName": {"legalName": "x" * 201}}, "changeLegalName.legalName", "TOO_LONG"),
    (
        {"changeLegalName": {"legalName": "Ville\tde Rennes"}},
        "changeLegalName.legalName",
        "INVALID",
    ),
    (
        {"changeLegalAddress": {"street": "1 rue", "postcode": "3500", "city": "Rennes"}},
        "changeLegalAddress.postcode",
        "INVALID",
    ),
    (
        {"changeLegalAddress": {"street": "1 rue", "postcode": "35000", "city": "R" * 101}},
        "changeLegalAddress.city",
        "TOO_LONG",
    ),
    (
        {"changeBillingAddress": {"street": "a\nb", "postcode": "35000", "city": "Rennes"}},
        "changeBillingAddress.street",
        "INVALID",
    ),
    (
        {"changeInvoiceDelivery": {"mode": "CHORUS_PRO", "recipientSiret": "21350000700012"}},
        "changeInvoiceDelivery.recipientSiret",
        "INVALID",
    ),
    (
        {"changeInvoiceDelivery": {"mode": "CHORUS_PRO"}},
        "changeInvoiceDelivery.recipientSiret",
        "REQUIRED",
    ),
    (
        {"changeInvoiceDelivery": {"mode": "EMAIL", "serviceCode": "X"}},
        "changeInvoiceDelivery.serviceCode",
        "INVALID",
    ),
    (
        {
            "changeInvoiceDelivery": {
                "mode": "CHORUS_PRO",
                "recipientSiret": SIRET,
                "commitmentNumber": "E" * 51,
            }
        },
        "changeInvoiceDelivery.commitmentNumber",
        "TOO_LONG",
    ),
    (
        {"accountStatement": {"periodFrom": "2025-12-31", "periodTo": "2025-01-01"}},
        "accountStatement.to",
        "INVALID",
    ),
    ({}, None, "REQUIRED"),
]


@pytest.mark.parametrize(("data", "field", "code"), BAD)
async def test_each_kind_refuses_bad_values_and_writes_nothing(
    runner: Runner, world: World, data: dict[str, Any], field: str | None, code: str
) -> None:
    account = gid("BillingAccount", world.accounts[0].id)
    for key, value in data.items():
        if key in ("changeInvoiceDelivery", "changeBillingAddress", "accountStatement"):
            value["billingAccountId"] = account
    answer = await submit(runner, world, "USER", data)
    assert answer["selfCareRequest"] is None
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in answer["errors"]
    ], answer["errors"]
    assert (
        await sql(
            runner, "SELECT id FROM self_care_requests WHERE member_id = :m", m=world.member.id
        )
        == []
    )


async def test_a_second_open_request_on_the_same_object_is_refused(
    runner: Runner, world: World, operator: User
) -> None:
    data = kinds(world)
    first = await submit(
        runner, world, "USER", {"changeBillingAddress": data["changeBillingAddress"]}
    )
    again = await submit(
        runner, world, "ADMIN", {"changeBillingAddress": data["changeBillingAddress"]}
    )
    assert again["errors"][0]["code"] == "ALREADY_EXISTS"
    # another account, or another kind on the same account, is fine
    other = dict(
        data["changeBillingAddress"], billingAccountId=gid("BillingAccount", world.accounts[1].id)
    )
    assert (await submit(runner, world, "USER", {"changeBillingAddress": other}))["errors"] == []
    assert (await submit(runner, world, "USER", {"accountStatement": data["accountStatement"]}))[
        "errors"
    ] == []
    # once decided, a new one may be filed
    request_id = first["selfCareRequest"]["id"]
    await advance(runner, operator, request_id, status="IN_PROGRESS")
    rejected = await advance(
        runner, operator, request_id, status="REJECTED", note="Justificatif manquant."
    )
    assert (
        rejected["errors"] == []
        and rejected["selfCareRequest"]["answer"] == "Justificatif manquant."
    )
    assert (
        await submit(runner, world, "USER", {"changeBillingAddress": data["changeBillingAddress"]})
    )["errors"] == []


async def test_who_may_file(runner: Runner, world: World) -> None:
    data = kinds(world)
    # an infra user sees its member but may not change its legal name
    answer = await submit(
        runner,
        world,
        "INFRA_USER",
        {"changeLegalName": {"legalName": "X", "memberId": gid("Member", world.member.id)}},
    )
    assert answer["errors"][0]["code"] == "FORBIDDEN"
    # an admin names the member; without it, REQUIRED
    answer = await submit(runner, world, "ADMIN", {"changeLegalName": {"legalName": "X"}})
    assert answer["errors"][0] == {
        "field": "changeLegalName.memberId",
        "code": "REQUIRED",
        "message": "Précisez l'adhérent concerné (memberId).",
    }
    named = {"legalName": "X", "memberId": gid("Member", world.other_member.id)}
    assert (await submit(runner, world, "ADMIN", {"changeLegalName": named}))["errors"] == []
    # the third party's read-only grant on accounts[0]: FORBIDDEN
    answer = await submit(
        runner, world, "THIRD_PARTY", {"changeBillingAddress": data["changeBillingAddress"]}
    )
    assert answer["errors"][0]["code"] == "FORBIDDEN"


# -- the back office -------------------------------------------------------------------------


async def test_approval_applies_each_change_audited_and_mailed(
    runner: Runner, world: World, operator: User
) -> None:
    ids = {}
    for field, data in kinds(world).items():
        ids[field] = (await submit(runner, world, "USER", {field: data}))["selfCareRequest"]["id"]
    # an illegal move names the allowed one
    skipped = await advance(runner, operator, ids["changeLegalName"], status="APPROVED")
    assert skipped["errors"][0]["code"] == "INVALID_STATE"
    assert "IN_PROGRESS" in skipped["errors"][0]["message"]
    for request_id in ids.values():
        assert (await advance(runner, operator, request_id, status="IN_PROGRESS"))["errors"] == []
        approved = await advance(runner, operator, request_id, status="APPROVED")
        assert approved["errors"] == [], approved
        assert [e["status"] for e in approved["selfCareRequest"]["events"]] == [
            "SUBMITTED",
            "IN_PROGRESS",
            "APPROVED",
        ]
    # the data changed, read with plain SQL
    [member] = await sql(
        runner,
        "SELECT legal_name, street, postcode, city FROM members WHERE id = :m",
        m=world.member.id,
    )
    assert tuple(member) == (
        "Commune nouvelle de Val-Fleuri",
        "1 place de la Mairie",
        "35000",
        "Rennes",
    )
    [account] = await sql(
        runner,
        "SELECT invoice_delivery, recipient_siret, chorus_service_code, chorus_commitment_number, "
        "billing_street, billing_postcode, billing_city FROM billing_accounts WHERE id = :a",
        a=world.accounts[0].id,
    )
    assert tuple(account) == (
        "CHORUS_PRO",
        SIRET,
        "SERVICE-FIN",
        "EJ-2026-42",
        "Trésorerie, 3 rue du Port",
        "35400",
        "Saint-Malo",
    )
    # visible at once in the API
    data = await runner.run(
        MEMBER, {"id": gid("Member", world.member.id)}, as_user=world.people["USER"]
    )
    assert data["node"]["legalName"] == "Commune nouvelle de Val-Fleuri"
    # audited with the values before and after
    audits = await sql(
        runner,
        "SELECT action, details FROM audit_log WHERE object_type = 'SelfCareRequest' "
        "AND object_id = :i AND action = 'self_care_request.approved'",
        i=str(_pk(ids["changeLegalName"])),
    )
    assert len(audits) == 1 and "Commune nouvelle de Val-Fleuri" in str(audits[0][1])
    # a mail per step (3 per request), the approval's carrying the new name
    mails = await runner.mails_to(world.email("USER"), "self_care_request")
    assert len(mails) == 3 * len(ids)
    assert mails[-1].context["member_legal_name"] == "Commune nouvelle de Val-Fleuri"
    assert mails[-1].context["status_label"] == "Acceptée et appliquée"
    # a rejection needs a reason
    again = (await submit(runner, world, "USER", {"changeLegalName": {"legalName": "Autre"}}))[
        "selfCareRequest"
    ]["id"]
    await advance(runner, operator, again, status="IN_PROGRESS")
    refused = await advance(runner, operator, again, status="REJECTED")
    assert refused["errors"][0]["code"] == "REQUIRED"


async def test_an_approval_that_fails_in_the_middle_changes_nothing(
    runner: Runner, world: World, operator: User
) -> None:
    # given: an open delivery change whose stored SIRET the database refuses (13 digits:
    # the check constraint on billing_accounts), as a corrupted row would hold
    request_id = (
        await submit(
            runner, world, "USER", {"changeInvoiceDelivery": kinds(world)["changeInvoiceDelivery"]}
        )
    )["selfCareRequest"]["id"]
    await advance(runner, operator, request_id, status="IN_PROGRESS")
    async with runner.sessions() as session, session.begin():
        await (await session.connection()).execute(
            sa.text("UPDATE self_care_requests SET payload = :p WHERE id = :i"),
            {
                "p": '{"invoice_delivery": "CHORUS_PRO", "recipient_siret": "2135000070001", '
                '"chorus_service_code": "S", "chorus_commitment_number": "E"}',
                "i": _pk(request_id),
            },
        )
    before = await sql(
        runner, "SELECT * FROM billing_accounts WHERE id = :a", a=world.accounts[0].id
    )
    mails_before = len(await runner.mails_to(world.email("USER"), "self_care_request"))
    # when: the back office approves it
    answer = await advance(runner, operator, request_id, status="APPROVED")
    assert [e["code"] for e in answer["errors"]] == ["INVALID_STATE"]
    # then: nothing changed, in SQL: account, request, events, audit, mails
    assert (
        await sql(runner, "SELECT * FROM billing_accounts WHERE id = :a", a=world.accounts[0].id)
        == before
    )
    [status] = await sql(
        runner, "SELECT status FROM self_care_requests WHERE id = :i", i=_pk(request_id)
    )
    assert status[0] == "IN_PROGRESS"
    events = await sql(
        runner,
        "SELECT status FROM self_care_request_events WHERE request_id = :i",
        i=_pk(request_id),
    )
    assert sorted(e[0] for e in events) == ["IN_PROGRESS", "SUBMITTED"]
    assert (
        await sql(
            runner,
            "SELECT id FROM audit_log WHERE action = 'self_care_request.approved' "
            "AND object_id = :i",
            i=str(_pk(request_id)),
        )
        == []
    )
    assert len(await runner.mails_to(world.email("USER"), "self_care_request")) == mails_before


# -- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tier", ["ADMIN", "USER", "INFRA_USER", "THIRD_PARTY"])
@pytest.mark.parametrize(
    ("filter", "where"),
    [
        (None, ""),
        ({"statuses": ["IN_PROGRESS"]}, "AND r.status = 'IN_PROGRESS'"),
        ({"kinds": ["CHANGE_LEGAL_NAME"]}, "AND r.kind = 'CHANGE_LEGAL_NAME'"),
    ],
)
async def test_the_list_is_the_perimeter_in_sql_order(
    runner: Runner, world: World, operator: User, tier: str, filter: Any, where: str
) -> None:
    data = kinds(world)
    for field in data:
        await submit(runner, world, "USER", {field: data[field]})
    other = dict(
        data["changeBillingAddress"], billingAccountId=gid("BillingAccount", world.accounts[2].id)
    )
    moved = (await submit(runner, world, "ADMIN", {"changeBillingAddress": other}))[
        "selfCareRequest"
    ]
    await advance(runner, operator, moved["id"], status="IN_PROGRESS")
    named = {"legalName": "Y", "memberId": gid("Member", world.other_member.id)}
    await submit(runner, world, "ADMIN", {"changeLegalName": named})
    seen: list[int] = []
    after = None
    while True:
        page = (
            await runner.run(
                LIST, {"filter": filter, "first": 2, "after": after}, as_user=world.people[tier]
            )
        )["selfCareRequests"]
        seen += [_pk(e["node"]["id"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    scope = {
        "ADMIN": "r.member_id IN (SELECT id FROM members WHERE group_id = :g)",
        "USER": "r.member_id = :m",
        "INFRA_USER": "r.billing_account_id = :a0",
        "THIRD_PARTY": "r.billing_account_id IN (:a0, :a2)",
    }[tier]
    expected = [
        r[0]
        for r in await sql(
            runner,
            f"SELECT r.id FROM self_care_requests r WHERE {scope} {where} "
            "ORDER BY r.submitted_at DESC, r.id DESC",
            g=world.group.id,
            m=world.member.id,
            a0=world.accounts[0].id,
            a2=world.accounts[2].id,
        )
    ]
    assert seen == expected
    assert expected or filter is not None
    assert page["totalCount"] == len(expected)


async def test_a_page_costs_the_same_statements_whatever_its_size(
    runner: Runner, count_sql: SqlCounter, world: World
) -> None:
    for field, data in kinds(world).items():
        await submit(runner, world, "USER", {field: data})
    counts = {}
    for first in (2, 5):
        with count_sql() as statements:
            data = await runner.run(FULL_PAGE, {"first": first}, as_user=world.people["USER"])
        assert len(data["selfCareRequests"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[2] == counts[5], counts


async def test_one_request_by_reference_and_node(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    request = (await submit(runner, world, "USER", {"changeLegalName": {"legalName": "Z"}}))[
        "selfCareRequest"
    ]
    variables = {"ref": request["reference"], "id": request["id"]}
    data = await runner.run(ONE, variables, as_user=world.people["USER"])
    assert data["selfCareRequest"]["events"] == [{"status": "SUBMITTED"}]
    assert data["node"]["reference"] == request["reference"]
    # the infra user: a request about the member itself is not its to see
    data = await runner.run(ONE, variables, as_user=world.people["INFRA_USER"])
    assert data == {"selfCareRequest": None, "node": None}
    other = await make_world(session_factory, "Ailleurs")
    data = await runner.run(ONE, variables, as_user=other.people["ADMIN"])
    assert data == {"selfCareRequest": None, "node": None}


# -- the README's tour, on the demo ----------------------------------------------------------

TOUR = """
query { selfCareRequests(first: 5, filter: {statuses: [APPROVED]}) { totalCount edges {
  node { reference kindLabel statusLabel submittedAt memberLegalName requested answer
         events { status occurredAt actorName note } } } } }"""


async def test_the_readme_tour_lists_the_demo_members_requests(demo_runner: Runner) -> None:
    from sqlmodel import select

    from demo.logins import MEMBER_USER_ID

    async with demo_runner.sessions() as session:
        user = (await session.exec(select(User).where(User.id == MEMBER_USER_ID))).one()
    page = (await demo_runner.run(TOUR, as_user=user))["selfCareRequests"]
    assert page["totalCount"] > 0
    node = page["edges"][0]["node"]
    assert node["statusLabel"] == "Acceptée et appliquée"
    assert [e["status"] for e in node["events"]] == ["SUBMITTED", "IN_PROGRESS", "APPROVED"]
