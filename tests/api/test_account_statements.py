"""The account statement: downloaded directly by an ADMIN or USER (PDF, CSV, XLSX over real
HTTP through the signed URL), and produced when the back office approves a "request an
account statement" self-care request. Figures against SQL written here, to the cent."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User
from domain.enums import InvoiceKind, Tier
from tests.api.test_exports import download, parse_csv, parse_xlsx
from tests.e2e.server import LiveServer
from tests.factories import World, make_invoice, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

EXPORT = """
mutation($i: ExportAccountStatementInput!) {
  exportAccountStatement(input: $i) { url expiresAt rowCount errors { field code message } }
}"""

SUBMIT = """
mutation($i: SubmitSelfCareRequestInput!) {
  submitSelfCareRequest(input: $i) {
    selfCareRequest { id reference statement { pdfUrl } }
    errors { field code message }
  }
}"""

ADVANCE = """
mutation($i: AdvanceSelfCareRequestInput!) {
  advanceSelfCareRequest(input: $i) {
    selfCareRequest { status answer statement { pdfUrl csvUrl xlsxUrl expiresAt } }
    errors { field code message }
  }
}"""

BY_REFERENCE = """
query($ref: String!) {
  selfCareRequest(reference: $ref) { status statement { pdfUrl xlsxUrl } }
}"""

PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}


@pytest.fixture(scope="module")
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    """accounts[0]: three invoices, a credit note and the cancellation of the second invoice
    in the period, one invoice before it and one after; accounts[1]: one invoice; the other
    member's accounts[2]: one invoice."""
    world = await make_world(session_factory, "Releve")
    a0, a1, a2 = world.accounts
    s0, s1, s2 = world.sites[:3]
    await make_invoice(session_factory, a0, [s0], accounting_date=date(2025, 12, 20))
    await make_invoice(session_factory, a0, [s0], accounting_date=date(2026, 1, 15), kwh=900)
    second = await make_invoice(session_factory, a0, [s0], accounting_date=date(2026, 2, 15))
    await make_invoice(
        session_factory,
        a0,
        [s0],
        accounting_date=date(2026, 2, 27),
        kind=InvoiceKind.CANCELLATION,
        cancels=second,
    )
    await make_invoice(
        session_factory,
        a0,
        [s0],
        accounting_date=date(2026, 3, 15),
        kwh=120,
        kind=InvoiceKind.CREDIT_NOTE,
    )
    await make_invoice(session_factory, a0, [s0], accounting_date=date(2026, 4, 15), kwh=731)
    await make_invoice(session_factory, a0, [s0], accounting_date=date(2026, 7, 15))
    await make_invoice(session_factory, a1, [s1], accounting_date=date(2026, 5, 2), kwh=333)
    await make_invoice(session_factory, a2, [s2], accounting_date=date(2026, 5, 3))
    async with session_factory() as session, session.begin():
        # Statuses as the billing system sends them: the first one paid, the cancelled pair.
        await (await session.connection()).execute(
            sa.text(
                "UPDATE invoices SET payment_status = CASE "
                "WHEN accounting_date = '2026-01-15' THEN 'PAID' "
                "WHEN id = :second OR cancels_invoice_id = :second THEN 'CANCELLED' "
                "WHEN accounting_date = '2026-04-15' THEN 'PARTIALLY_PAID' "
                "ELSE payment_status END WHERE billing_account_id = :a0"
            ),
            {"second": second.id, "a0": a0.id},
        )
    return world


@pytest.fixture(scope="module")
async def operator(session_factory: async_sessionmaker[AsyncSession]) -> User:
    user, _ = await make_person(session_factory, "guichet-releve@c.test", tier=Tier.OPERATOR)
    return user


async def expected(runner: Runner, where: str, **params: Any) -> dict[str, Any]:
    """The statement's figures, written here against the tables."""
    async with runner.sessions() as session:
        connection = await session.connection()
        rows = (
            await connection.execute(
                sa.text(
                    "SELECT i.number, i.total_incl_tax, i.payment_status FROM invoices i "
                    "JOIN billing_accounts b ON b.id = i.billing_account_id "
                    f"WHERE {where} AND i.accounting_date BETWEEN :start AND :end "
                    "ORDER BY i.accounting_date, i.id"
                ),
                {"start": date(2026, 1, 1), "end": date(2026, 6, 30), **params},
            )
        ).all()
    # Money comes back as scaled integers on SQLite, as NUMERIC on PostgreSQL.
    amounts = [
        Decimal(r[1]) / 100 if isinstance(r[1], int) else Decimal(r[1]).quantize(Decimal("0.01"))
        for r in rows
    ]
    return {
        "numbers": [r[0] for r in rows],
        "debit": sum((a for a in amounts if a > 0), Decimal(0)),
        "credit": -sum((a for a in amounts if a < 0), Decimal(0)),
        "balance": sum(amounts, Decimal(0)),
        "open": sum(
            (a for a, r in zip(amounts, rows, strict=True) if r[2] in ("UNPAID", "PARTIALLY_PAID")),
            Decimal(0),
        ),
    }


def french_money(text: str) -> Decimal:
    return Decimal(text.replace("\u00a0", "").replace("€", "").replace(",", ".").strip())


async def test_a_user_downloads_an_account_statement_in_csv_whose_totals_match_sql(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given
    account = world.accounts[0]
    want = await expected(runner, "b.id = :a", a=account.id)
    # when
    data = await runner.run(
        EXPORT,
        {"i": {"billingAccountId": gid("BillingAccount", account.id), "format": "CSV", **PERIOD}},
        as_user=world.people["USER"],
    )
    # then
    payload = data["exportAccountStatement"]
    assert payload["errors"] == []
    assert payload["rowCount"] == len(want["numbers"]) == 5
    status, body, _ = await download(live_server, payload["url"])
    assert status == 200
    header, *lines = parse_csv(body)
    column = {title: k for k, title in enumerate(header)}
    assert [line[column["N° document"]] for line in lines] == want["numbers"]
    money = [
        [Decimal(line[column[t]].replace(",", ".") or "0") for t in ("Débit", "Crédit")]
        for line in lines
    ]
    assert sum(m[0] for m in money) == want["debit"]
    assert sum(m[1] for m in money) == want["credit"]
    balance = Decimal(lines[-1][column["Solde cumulé"]].replace(",", "."))
    assert balance == want["balance"]
    types = [line[column["Type"]] for line in lines]
    assert types == ["Facture", "Facture", "Facture d'annulation", "Avoir", "Facture"]
    statuses = [line[column["Statut de paiement"]] for line in lines]
    assert statuses == ["Payée", "Annulée", "Annulée", "À payer", "Partiellement payée"]
    cancelled = lines[2][column["Annule la facture"]]
    assert cancelled == lines[1][column["N° document"]]


async def test_an_admin_downloads_a_members_statement_in_xlsx_across_its_accounts(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given
    want = await expected(runner, "b.member_id = :m", m=world.member.id)
    # when
    data = await runner.run(
        EXPORT,
        {"i": {"memberId": gid("Member", world.member.id), "format": "XLSX", **PERIOD}},
        as_user=world.people["ADMIN"],
    )
    # then
    payload = data["exportAccountStatement"]
    assert payload["errors"] == []
    status, body, _ = await download(live_server, payload["url"])
    assert status == 200
    header, *rows = parse_xlsx(body)
    assert [r[header.index("N° document")] for r in rows] == want["numbers"]
    assert len(rows) == 6  # accounts[1]'s invoice too, the other member's not
    balance = rows[-1][header.index("Solde cumulé")]
    assert Decimal(str(balance)).quantize(Decimal("0.01")) == want["balance"]
    assert isinstance(rows[0][header.index("Date comptable")], type(rows[0][0]))


async def test_the_statement_pdf_carries_the_legal_identity_the_documents_and_the_balance(
    runner: Runner, world: World, live_server: LiveServer
) -> None:
    # given
    account = world.accounts[0]
    want = await expected(runner, "b.id = :a", a=account.id)
    # when
    data = await runner.run(
        EXPORT,
        {"i": {"billingAccountId": gid("BillingAccount", account.id), **PERIOD}},
        as_user=world.people["ADMIN"],
    )
    # then
    payload = data["exportAccountStatement"]
    assert payload["errors"] == []
    status, body, _ = await download(live_server, payload["url"])
    assert status == 200 and body.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    settings = runner.settings
    assert "Relevé de compte" in text
    assert settings.supplier_legal_name in text
    assert "SIRET" in text and "TVA intracommunautaire" in text
    assert world.member.legal_name in text and account.number in text
    for number in want["numbers"]:
        assert number in text
    summary = text.split("Solde de la période")[1].split("\n")[0]
    assert french_money(summary) == want["balance"]
    still_open = text.split("Dont documents restant à régler")[1].split("\n")[0]
    assert french_money(still_open) == want["open"]


@pytest.mark.parametrize(
    ("tier", "target", "code"),
    [
        ("USER", "other_member_account", "NOT_FOUND"),
        ("USER", "other_member", "NOT_FOUND"),
        ("ADMIN", "unknown_account", "NOT_FOUND"),
        ("USER", "both", "REQUIRED"),
        ("ADMIN", "none", "REQUIRED"),
    ],
)
async def test_a_statement_outside_the_callers_hold_is_not_found(
    runner: Runner, world: World, tier: str, target: str, code: str
) -> None:
    # given
    ids = {
        "other_member_account": {"billingAccountId": gid("BillingAccount", world.accounts[2].id)},
        "other_member": {"memberId": gid("Member", world.other_member.id)},
        "unknown_account": {"billingAccountId": gid("BillingAccount", 987_654_321)},
        "both": {
            "billingAccountId": gid("BillingAccount", world.accounts[0].id),
            "memberId": gid("Member", world.member.id),
        },
        "none": {},
    }[target]
    # when
    data = await runner.run(EXPORT, {"i": {**ids, **PERIOD}}, as_user=world.people[tier])
    # then
    payload = data["exportAccountStatement"]
    assert payload["url"] is None
    assert [e["code"] for e in payload["errors"]] == [code]


async def test_a_period_longer_than_three_years_or_reversed_is_refused(
    runner: Runner, world: World
) -> None:
    account = {"billingAccountId": gid("BillingAccount", world.accounts[0].id)}
    for period in (
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"from": "2026-02-01", "to": "2026-01-01"},
    ):
        data = await runner.run(EXPORT, {"i": {**account, **period}}, as_user=world.people["USER"])
        assert [e["code"] for e in data["exportAccountStatement"]["errors"]] == ["INVALID"]


@pytest.mark.parametrize("tier", ["INFRA_USER", "THIRD_PARTY"])
async def test_infra_users_and_third_parties_may_not_download_a_statement(
    runner: Runner, world: World, tier: str
) -> None:
    # when: even on an account they see
    out = await runner.raw(
        EXPORT,
        {"i": {"billingAccountId": gid("BillingAccount", world.accounts[0].id), **PERIOD}},
        as_user=world.people[tier],
    )
    # then
    assert out.data is None or out.data.get("exportAccountStatement") is None
    assert out.errors and out.errors[0].extensions["code"] == "FORBIDDEN"


async def test_the_direct_statement_reads_a_fixed_number_of_statements(
    runner: Runner, world: World, count_sql: SqlCounter
) -> None:
    # The member's statement (6 documents) and an account's (5) cost the same statements.
    counts = []
    for ids in (
        {"memberId": gid("Member", world.member.id)},
        {"billingAccountId": gid("BillingAccount", world.accounts[1].id)},
    ):
        with count_sql() as counted:
            data = await runner.run(
                EXPORT, {"i": {**ids, "format": "CSV", **PERIOD}}, as_user=world.people["USER"]
            )
        assert data["exportAccountStatement"]["errors"] == []
        counts.append(len(counted))
    assert counts[0] == counts[1]


async def test_an_approved_statement_request_produces_the_statement_to_download(
    runner: Runner, world: World, operator: User, live_server: LiveServer
) -> None:
    # given: the USER asks for accounts[0]'s statement over the period
    account = world.accounts[0]
    want = await expected(runner, "b.id = :a", a=account.id)
    submitted = (
        await runner.run(
            SUBMIT,
            {
                "i": {
                    "accountStatement": {
                        "billingAccountId": gid("BillingAccount", account.id),
                        "periodFrom": PERIOD["from"],
                        "periodTo": PERIOD["to"],
                    }
                }
            },
            as_user=world.people["USER"],
        )
    )["submitSelfCareRequest"]
    assert submitted["errors"] == []
    request = submitted["selfCareRequest"]
    assert request["statement"] is None  # nothing produced before the approval
    # when: the back office takes it and approves it
    for status in ("IN_PROGRESS", "APPROVED"):
        step = (
            await runner.run(
                ADVANCE, {"i": {"requestId": request["id"], "status": status}}, as_user=operator
            )
        )["advanceSelfCareRequest"]
        assert step["errors"] == []
    # then: the request links the statement, signed, in the three formats
    files = step["selfCareRequest"]["statement"]
    assert "5 documents" in step["selfCareRequest"]["answer"]
    status_code, body, _ = await download(live_server, files["pdfUrl"])
    assert status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert request["reference"] in text
    assert french_money(text.split("Solde de la période")[1].split("\n")[0]) == want["balance"]
    _, csv_body, _ = await download(live_server, files["csvUrl"])
    header, *lines = parse_csv(csv_body)
    assert [line[header.index("N° document")] for line in lines] == want["numbers"]
    # and the member sees it from the tracking list; the other member's USER does not
    seen = await runner.run(
        BY_REFERENCE, {"ref": request["reference"]}, as_user=world.people["USER"]
    )
    assert seen["selfCareRequest"]["statement"]["xlsxUrl"]
    _, xlsx_body, _ = await download(live_server, seen["selfCareRequest"]["statement"]["xlsxUrl"])
    header, *rows = parse_xlsx(xlsx_body)
    assert len(rows) == len(want["numbers"])
    audit = await sql_audit(runner, request["id"])
    assert '"documents": 5' in audit or "'documents': 5" in audit


async def sql_audit(runner: Runner, request_gid: str) -> str:
    import base64

    pk = int(base64.b64decode(request_gid).decode().split(":")[1])
    async with runner.sessions() as session:
        connection = await session.connection()
        row = (
            await connection.execute(
                sa.text(
                    "SELECT details FROM audit_log WHERE object_type = 'SelfCareRequest' "
                    "AND object_id = :id AND action = 'self_care_request.approved'"
                ),
                {"id": str(pk)},
            )
        ).one()
    return str(row[0])


# -- the README's tour, on the demo ----------------------------------------------------------

TOUR_EXPORT = """
mutation { exportAccountStatement(input: {from: "2026-01-01", to: "2026-10-31", format: PDF}) {
  url rowCount errors { code message } } }"""


async def _demo_user(demo_runner: Runner, user_id: int) -> User:
    from sqlmodel import select

    async with demo_runner.sessions() as session:
        found: User = (await session.exec(select(User).where(User.id == user_id))).one()
    return found


async def test_the_readme_tour_downloads_the_demo_members_statement(
    demo_runner: Runner,
) -> None:
    from demo.logins import MEMBER_USER_ID

    user = await _demo_user(demo_runner, MEMBER_USER_ID)
    payload = (await demo_runner.run(TOUR_EXPORT, as_user=user))["exportAccountStatement"]
    assert payload["errors"] == []
    assert payload["rowCount"] > 0 and payload["url"]
