"""Invoice disputes through the API: contesting (reference, event, confirmation mail, one open
dispute per invoice, the figures each reason needs, files), who may contest, every move of the
workflow, a reprint that keeps the number and both PDFs, a cancel-and-reissue whose billing
summary matches SQL written here, the 2/4/5-year limit, the lists, counts and export against
SQL, and the statement count of a page."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from db.models import Invoice, InvoiceDispute, InvoiceDisputeAttachment, User
from db.types import Money
from domain.enums import InvoiceKind, Tier
from domain.identifiers import make_siren, make_siret
from tests.clock import NOW, TODAY
from tests.factories import World, make_invoice, make_person, make_world
from tests.ids import gid
from tests.runner import Runner
from tests.sql_counter import SqlCounter

CONTEST = """
mutation($i: ContestInvoiceInput!) {
  contestInvoice(input: $i) {
    invoiceDispute {
      id reference invoiceNumber reason reasonLabel chorusStatus expectedCorrection
      promisedDelay status statusLabel receivedOn dueOn overdue siteIds disputedFigures
      memberLegalName authorName comment
      events { status actorName note }
      attachments { filename contentType isIndexPhoto sizeBytes sha256 }
      invoice { number dispute { reference } }
    }
    errors { field code message }
  }
}"""

ADVANCE = """
mutation($i: AdvanceInvoiceDisputeInput!) {
  advanceInvoiceDispute(input: $i) {
    invoiceDispute {
      reference status correction dueOn distributorClaimNumber answer closedAt
      cancellationInvoiceNumber reissuedInvoiceNumber
      pdfVersions { version current downloadUrl }
      events { status note }
    }
    errors { field code message }
  }
}"""

LIST = """
query($filter: InvoiceDisputeFilter, $first: Int, $after: String) {
  invoiceDisputes(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id reference overdue } }
  }
}"""

FULL_PAGE = """
query($first: Int) {
  invoiceDisputes(first: $first) {
    totalCount
    edges { node {
      id reference reasonLabel statusLabel invoiceNumber memberLegalName dueOn overdue
      events { status actorName note } attachments { filename }
      invoice { number totalInclTax } reissuedInvoice { number } pdfVersions { version }
    } }
  }
}"""

SUMMARY = """
query($filter: InvoiceFilter) {
  billingSummary(filter: $filter) {
    totals { invoiceCount consumptionKwh totalExclTax totalInclTax }
    byMonth { month totals { invoiceCount totalInclTax } }
  }
}"""

COUNTS = """
query($y: Int!) {
  invoiceDisputeCountsByReason(year: $y) {
    reason { code chorusStatus } total open resolved rejected overdue
  }
}"""

ONE = """
query($ref: String!, $id: ID!) {
  invoiceDispute(reference: $ref) { reference events { status } }
  node(id: $id) { id ... on InvoiceDispute { reference } }
}"""

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
SIRET = make_siret(make_siren("21350001"), "0001")


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession]) -> World:
    return await make_world(session_factory, "Litige")


@pytest.fixture(scope="module")
async def operator(session_factory: async_sessionmaker[AsyncSession]) -> User:
    user, _ = await make_person(session_factory, "guichet-litiges@c.test", tier=Tier.OPERATOR)
    return user


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


async def invoice_of(
    runner: Runner, world: World, account: int = 0, *, on: date = date(2026, 10, 5), kwh: int = 566
) -> Invoice:
    return await make_invoice(
        runner.sessions,
        world.accounts[account],
        [world.sites[account]],
        accounting_date=on,
        kwh=kwh,
    )


async def contest(
    runner: Runner, world: World, invoice: Invoice, tier: str = "USER", **data: Any
) -> Any:
    fields = {
        "invoiceId": gid("Invoice", invoice.id),
        "reason": "MISSING_DOCUMENT",
        "comment": "Il manque le relevé de compteur.",
        **data,
    }
    out = await runner.run(CONTEST, {"i": fields}, as_user=world.people[tier])
    return out["contestInvoice"]


async def advance(runner: Runner, operator: User, dispute_id: str, **step: Any) -> Any:
    out = await runner.run(ADVANCE, {"i": {"disputeId": dispute_id, **step}}, as_user=operator)
    return out["advanceInvoiceDispute"]


async def sql(runner: Runner, statement: str, **params: Any) -> list[Any]:
    async with runner.sessions() as session:
        return list((await (await session.connection()).execute(sa.text(statement), params)).all())


# -- contesting ----------------------------------------------------------------------------


async def test_a_contest_is_stored_with_reference_due_date_event_and_mail(
    runner: Runner, world: World
) -> None:
    invoice = await invoice_of(runner, world)
    answer = await contest(runner, world, invoice)
    assert answer["errors"] == []
    dispute = answer["invoiceDispute"]
    assert dispute["reference"] == f"CF-2026-{_pk(dispute['id']):06d}"
    assert dispute["status"] == "RECEIVED"
    assert dispute["chorusStatus"] == "SUSPENDED"
    assert dispute["expectedCorrection"] == "CLARIFICATION"
    assert dispute["promisedDelay"] == "2 jours ouvrés"
    # received Monday 16 November 2026: two working days → Wednesday 18
    assert (dispute["receivedOn"], dispute["dueOn"]) == ("2026-11-16", "2026-11-18")
    assert dispute["overdue"] is False
    assert dispute["invoiceNumber"] == invoice.number
    assert dispute["invoice"]["dispute"]["reference"] == dispute["reference"]
    assert [e["status"] for e in dispute["events"]] == ["RECEIVED"]
    [mail] = [
        m
        for m in await runner.mails_to(world.email("USER"), "invoice_dispute")
        if dispute["reference"] in m.subject
    ]
    assert mail.context["submitted"] is True
    assert mail.context["invoice_number"] == invoice.number
    [row] = await sql(
        runner,
        "SELECT invoice_id, billing_account_id, member_id, reason, status, due_on "
        "FROM invoice_disputes WHERE reference = :r",
        r=dispute["reference"],
    )
    assert row[:5] == (
        invoice.id,
        world.accounts[0].id,
        world.member.id,
        "MISSING_DOCUMENT",
        "RECEIVED",
    )


async def test_a_second_open_dispute_is_refused_naming_the_first(
    runner: Runner, world: World
) -> None:
    invoice = await invoice_of(runner, world)
    first = (await contest(runner, world, invoice))["invoiceDispute"]["reference"]
    again = await contest(runner, world, invoice, "ADMIN", reason="WRONG_TAXES")
    assert again["invoiceDispute"] is None
    [error] = again["errors"]
    assert (error["field"], error["code"]) == ("invoiceId", "ALREADY_EXISTS")
    assert first in error["message"]
    assert await runner.count(InvoiceDispute, InvoiceDispute.invoice_id == invoice.id) == 1


def _bad(world: World) -> list[tuple[dict[str, Any], str, str]]:
    return [
        ({"comment": "  "}, "comment", "REQUIRED"),
        ({"reason": "DISPUTED_INDEX"}, "index", "REQUIRED"),
        (
            {"reason": "DISPUTED_INDEX", "index": {"value": 12, "readOn": "2026-11-17"}},
            "index.readOn",
            "DATE_IN_FUTURE",
        ),
        (
            {
                "reason": "DISPUTED_INDEX",
                "index": {"value": 12, "siteId": gid("Site", world.sites[2].id)},
            },
            "index.siteId",
            "INVALID",
        ),
        ({"reason": "DISPUTED_INDEX", "index": {"value": -1}}, "index.value", "INVALID"),
        ({"reason": "WRONG_CHORUS_REFERENCES"}, "chorusReferences.serviceCode", "REQUIRED"),
        ({"reason": "WRONG_SIRET", "expectedSiret": "21350000700012"}, "expectedSiret", "INVALID"),
        ({"reason": "WRONG_TAXES", "expectedSiret": SIRET}, "expectedSiret", "INVALID"),
        ({"siteIds": [gid("Site", world.sites[1].id)]}, "siteIds", "INVALID"),
    ]


@pytest.mark.parametrize("case", range(9))
async def test_bad_figures_are_refused_and_nothing_is_written(
    runner: Runner, world: World, case: int
) -> None:
    data, field, code = _bad(world)[case]
    invoice = await invoice_of(runner, world)
    before = (await runner.count(InvoiceDispute), await runner.count(InvoiceDisputeAttachment))
    answer = await contest(runner, world, invoice, **data)
    assert answer["invoiceDispute"] is None
    assert (field, code) in [(e["field"], e["code"]) for e in answer["errors"]], answer
    assert (
        await runner.count(InvoiceDispute),
        await runner.count(InvoiceDisputeAttachment),
    ) == before


async def test_a_cancellation_invoice_is_not_contested(runner: Runner, world: World) -> None:
    invoice = await invoice_of(runner, world)
    cancellation = await make_invoice(
        runner.sessions,
        world.accounts[0],
        [world.sites[0]],
        accounting_date=date(2026, 11, 2),
        kind=InvoiceKind.CANCELLATION,
        cancels=invoice,
    )
    answer = await contest(runner, world, cancellation)
    assert [e["code"] for e in answer["errors"]] == ["INVALID_STATE"]


async def test_who_may_contest(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    mine = await invoice_of(runner, world)  # accounts[0]: every tier of the world sees it
    second = await invoice_of(runner, world, 1)  # accounts[1]: not the infra user's
    other = await make_world(session_factory, "Voisins")
    theirs = await invoice_of(runner, other)
    # the read-only third party sees the invoice but may not contest it
    refused = await contest(runner, world, mine, "THIRD_PARTY")
    [error] = refused["errors"]
    assert error["code"] == "FORBIDDEN" and "consulter" in error["message"]
    # outside the perimeter: exactly as an invoice that does not exist
    outside = await contest(runner, world, theirs, "ADMIN")
    missing = await runner.run(
        CONTEST,
        {"i": {"invoiceId": gid("Invoice", 10**9), "reason": "WRONG_TAXES", "comment": "x"}},
        as_user=world.people["ADMIN"],
    )
    assert outside == missing["contestInvoice"]
    assert [e["code"] for e in outside["errors"]] == ["NOT_FOUND"]
    infra = await contest(runner, world, second, "INFRA_USER")
    assert [e["code"] for e in infra["errors"]] == ["NOT_FOUND"]
    ids = [mine.id, theirs.id, second.id]
    assert await runner.count(InvoiceDispute, col(InvoiceDispute.invoice_id).in_(ids)) == 0
    # the infra user on its own account, the admin on the other
    assert (await contest(runner, world, mine, "INFRA_USER"))["errors"] == []
    assert (await contest(runner, world, second, "ADMIN"))["errors"] == []


async def test_a_disputed_index_carries_its_figures_photo_and_documents(
    runner: Runner, world: World
) -> None:
    import hashlib

    invoice = await make_invoice(
        runner.sessions,
        world.accounts[0],
        [world.sites[0], world.sites[1]],  # a grouped invoice
        accounting_date=date(2026, 10, 5),
    )
    photo = UploadFile(io.BytesIO(PNG), filename="compteur.png")
    document = UploadFile(io.BytesIO(PDF), filename="relevé.pdf")
    site = gid("Site", world.sites[1].id)
    answer = await contest(
        runner,
        world,
        invoice,
        reason="DISPUTED_INDEX",
        siteIds=[gid("Site", world.sites[0].id)],
        index={
            "siteId": site,
            "value": 1234,
            "register": "BASE",
            "readOn": "2026-11-10",
            "photo": photo,
        },
        attachments=[document],
    )
    assert answer["errors"] == [], answer
    dispute = answer["invoiceDispute"]
    assert dispute["chorusStatus"] == "REJECTED"
    # 10 working days from Monday 16 November 2026 (no holiday in between): Monday 30
    assert dispute["dueOn"] == "2026-11-30"
    assert set(dispute["siteIds"]) == {site, gid("Site", world.sites[0].id)}
    figures = dispute["disputedFigures"]
    assert figures["index"]["value"] == 1234
    assert figures["index"]["point_number"] == world.sites[1].point_number
    assert figures["index"]["register"] == "BASE"
    files = {(a["filename"], a["isIndexPhoto"], a["sha256"]) for a in dispute["attachments"]}
    assert files == {
        ("compteur.png", True, hashlib.sha256(PNG).hexdigest()),
        ("relevé.pdf", False, hashlib.sha256(PDF).hexdigest()),
    }
    # the mutation closed every file it was handed, the photo in its sub-input too
    assert photo.file.closed and document.file.closed
    keys = await sql(
        runner,
        "SELECT storage_key FROM invoice_dispute_attachments WHERE request_id = :d",
        d=_pk(dispute["id"]),
    )
    assert {(runner.settings.files_dir / k).read_bytes() for (k,) in keys} == {PNG, PDF}


async def test_a_refused_photo_stores_nothing(runner: Runner, world: World) -> None:
    invoice = await invoice_of(runner, world)
    root = runner.settings.files_dir / "attachments"
    before = set(root.rglob("*")) if root.exists() else set()
    answer = await contest(
        runner,
        world,
        invoice,
        reason="DISPUTED_INDEX",
        index={"value": 5, "photo": UploadFile(io.BytesIO(b"MZ" + bytes(40)), filename="x.png")},
        attachments=[UploadFile(io.BytesIO(PDF), filename="ok.pdf")],
    )
    # the document is stored first, then the photo is refused: the whole contest rolls back
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("index.photo", "INVALID")]
    assert (set(root.rglob("*")) if root.exists() else set()) == before
    assert await runner.count(InvoiceDispute, InvoiceDispute.invoice_id == invoice.id) == 0


# -- the workflow --------------------------------------------------------------------------

STATUSES = ("RECEIVED", "IN_ANALYSIS", "RESOLVED", "REJECTED")
ALLOWED = {("RECEIVED", "IN_ANALYSIS"), ("IN_ANALYSIS", "RESOLVED"), ("IN_ANALYSIS", "REJECTED")}


@pytest.mark.parametrize("after", STATUSES)
@pytest.mark.parametrize("before", STATUSES)
async def test_every_move_through_the_api(
    runner: Runner, world: World, operator: User, before: str, after: str
) -> None:
    invoice = await invoice_of(runner, world)
    dispute = (await contest(runner, world, invoice))["invoiceDispute"]
    async with runner.sessions() as session, session.begin():
        await (await session.connection()).execute(
            sa.text("UPDATE invoice_disputes SET status = :s WHERE id = :d"),
            {"s": before, "d": _pk(dispute["id"])},
        )
    step: dict[str, Any] = {"status": after, "note": "Relevé envoyé par courriel."}
    if after == "RESOLVED":
        step["correction"] = "CLARIFICATION"
    mails = len(await runner.mails_to(world.email("USER"), "invoice_dispute"))
    answer = await advance(runner, operator, dispute["id"], **step)
    now_mails = len(await runner.mails_to(world.email("USER"), "invoice_dispute"))
    [(status,)] = await sql(
        runner, "SELECT status FROM invoice_disputes WHERE id = :d", d=_pk(dispute["id"])
    )
    if (before, after) in ALLOWED:
        assert answer["errors"] == [], answer
        assert answer["invoiceDispute"]["status"] == after == status
        assert answer["invoiceDispute"]["events"][-1] == {
            "status": after,
            "note": "Relevé envoyé par courriel.",
        }
        assert now_mails == mails + 1
        closed = after in ("RESOLVED", "REJECTED")
        assert (answer["invoiceDispute"]["closedAt"] is not None) is closed
    else:
        assert [e["code"] for e in answer["errors"]] == ["INVALID_STATE"]
        assert status == before and now_mails == mails


async def test_only_the_back_office_advances(runner: Runner, world: World) -> None:
    invoice = await invoice_of(runner, world)
    dispute = (await contest(runner, world, invoice))["invoiceDispute"]
    result = await runner.raw(
        ADVANCE,
        {"i": {"disputeId": dispute["id"], "status": "IN_ANALYSIS"}},
        as_user=world.people["ADMIN"],
    )
    assert result.errors and result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_a_claim_with_the_distributor_takes_the_longer_delay(
    runner: Runner, world: World, operator: User
) -> None:
    invoice = await invoice_of(runner, world)
    dispute = (await contest(runner, world, invoice, reason="DISPUTED_INDEX", index={"value": 10}))[
        "invoiceDispute"
    ]
    assert dispute["dueOn"] == "2026-11-30"
    answer = await advance(
        runner, operator, dispute["id"], status="IN_ANALYSIS", distributorClaimNumber="rec-0042"
    )
    # 15 working days from 16 November 2026: 7 December
    assert answer["invoiceDispute"]["dueOn"] == "2026-12-07"
    assert answer["invoiceDispute"]["distributorClaimNumber"] == "REC-0042"
    # the claim is the index's business only
    other = (await contest(runner, world, await invoice_of(runner, world), reason="WRONG_TAXES"))[
        "invoiceDispute"
    ]
    refused = await advance(
        runner, operator, other["id"], status="IN_ANALYSIS", distributorClaimNumber="REC-0042"
    )
    assert [e["code"] for e in refused["errors"]] == ["INVALID"]
    # resolved by anything but the reason's own correction: refused
    await advance(runner, operator, other["id"], status="IN_ANALYSIS")
    wrong = await advance(runner, operator, other["id"], status="RESOLVED", correction="REPRINT")
    assert [e["field"] for e in wrong["errors"]] == ["correction"]


async def test_a_reprint_keeps_the_number_and_both_pdf_versions(
    runner: Runner, world: World, operator: User
) -> None:
    invoice = await invoice_of(runner, world)
    # the invoice's PDF as the customer downloaded it (rendered once and kept)
    first_pdf = await runner.run(
        "query($id: ID!) { node(id: $id) { ... on Invoice { pdfUrl } } }",
        {"id": gid("Invoice", invoice.id)},
        as_user=world.people["USER"],
    )
    assert first_pdf["node"]["pdfUrl"]
    from api.resolvers.invoice_pdfs import rendered_key

    before_bytes = (runner.settings.files_dir / rendered_key(invoice.number)).read_bytes()
    dispute = (
        await contest(
            runner,
            world,
            invoice,
            reason="WRONG_CHORUS_REFERENCES",
            chorusReferences={"serviceCode": "SERVICE-FINANCES", "commitmentNumber": "EJ-77"},
        )
    )["invoiceDispute"]
    assert dispute["chorusStatus"] == "TO_RECYCLE"
    await advance(runner, operator, dispute["id"], status="IN_ANALYSIS")
    answer = await advance(runner, operator, dispute["id"], status="RESOLVED", correction="REPRINT")
    assert answer["errors"] == [], answer
    versions = answer["invoiceDispute"]["pdfVersions"]
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    rows = await sql(
        runner,
        "SELECT v.version, v.storage_key, i.number, i.pdf_key, i.edition_status "
        "FROM invoice_pdf_versions v JOIN invoices i ON i.id = v.invoice_id "
        "WHERE v.invoice_id = :i ORDER BY v.version",
        i=invoice.id,
    )
    assert [r[0] for r in rows] == [1, 2]
    assert {r[2] for r in rows} == {invoice.number}  # the same number
    assert rows[0][3] == rows[1][1] and rows[0][4] == "REPRINTED"
    old, new = (runner.settings.files_dir / r[1] for r in rows)
    assert old.read_bytes() == before_bytes  # the earlier PDF, kept as it was
    assert new.read_bytes().startswith(b"%PDF") and new.read_bytes() != before_bytes
    [(code, commitment)] = await sql(
        runner,
        "SELECT chorus_service_code, chorus_commitment_number FROM billing_accounts WHERE id = :a",
        a=world.accounts[0].id,
    )
    assert (code, commitment) == ("SERVICE-FINANCES", "EJ-77")
    # the invoice's own link now serves the new version
    from api.resolvers.invoice_pdfs import ensure_pdfs
    from db.scoped import Perimeter

    keys = await ensure_pdfs(
        runner.sessions,
        runner.settings,
        Perimeter(member_ids=frozenset({world.member.id})),
        [invoice.id],
    )
    assert keys[invoice.id] == rows[1][1]


LINKS = """
query($id: ID!) { node(id: $id) { ... on InvoiceDispute {
  cancellationInvoice { number cancelsInvoice { number } dispute { reference } }
  reissuedInvoice { number dispute { reference } }
} } }"""

SUMMARY_SQL = """
SELECT COUNT(*) AS n, COALESCE(SUM(i.consumption_kwh), 0) AS kwh,
       SUM(i.total_excl_tax) AS excl, SUM(i.total_incl_tax) AS incl
FROM invoices i JOIN billing_accounts b ON b.id = i.billing_account_id
WHERE b.member_id = :m AND i.accounting_date BETWEEN :start AND :end
  AND i.id NOT IN (SELECT invoice_id FROM invoice_disputes
                   WHERE status IN ('RECEIVED', 'IN_ANALYSIS') AND :exclude = 1)
"""


async def _summary_vs_sql(runner: Runner, world: World, *, exclude: bool) -> tuple[Any, Any]:
    data = await runner.run(
        SUMMARY,
        {
            "filter": {
                "accountingDateFrom": "2026-06-01",
                "accountingDateTo": "2026-11-30",
                "excludeDisputed": exclude,
            }
        },
        as_user=world.people["USER"],
    )
    totals = data["billingSummary"]["totals"]
    # money read as stored (whole cents on SQLite, NUMERIC on PostgreSQL)
    async with runner.sessions() as session:
        row = (
            await (await session.connection()).execute(
                sa.text(SUMMARY_SQL).columns(excl=Money(), incl=Money()),
                {
                    "m": world.member.id,
                    "start": date(2026, 6, 1),
                    "end": date(2026, 11, 30),
                    "exclude": int(exclude),
                },
            )
        ).one()
    got = (
        totals["invoiceCount"],
        totals["consumptionKwh"],
        Decimal(totals["totalExclTax"]),
        Decimal(totals["totalInclTax"]),
    )
    expected = (row[0], int(row[1]), Decimal(str(row[2])), Decimal(str(row[3])))
    return got, expected


async def test_cancel_and_reissue_links_the_invoices_and_the_summary_matches_sql(
    runner: Runner, world: World, operator: User
) -> None:
    disputed = await invoice_of(runner, world, on=date(2026, 9, 7), kwh=900)
    await invoice_of(runner, world, 1, on=date(2026, 10, 5))
    dispute = (
        await contest(runner, world, disputed, reason="DISPUTED_INDEX", index={"value": 1400})
    )["invoiceDispute"]
    # on request, the summary leaves the disputed invoice out
    got, expected = await _summary_vs_sql(runner, world, exclude=True)
    assert got == expected and got[0] == 1
    got, expected = await _summary_vs_sql(runner, world, exclude=False)
    assert got == expected and got[0] == 2
    # the billing system issues the cancellation and the corrected invoice
    cancellation = await make_invoice(
        runner.sessions,
        world.accounts[0],
        [world.sites[0]],
        accounting_date=date(2026, 11, 10),
        kwh=900,
        kind=InvoiceKind.CANCELLATION,
        cancels=disputed,
    )
    reissued = await invoice_of(runner, world, on=date(2026, 11, 10), kwh=400)
    stray = await invoice_of(runner, world, 1, on=date(2026, 11, 10))
    await advance(runner, operator, dispute["id"], status="IN_ANALYSIS")
    # a cancellation of another invoice, or a new invoice on another account: refused
    wrong = await advance(
        runner,
        operator,
        dispute["id"],
        status="RESOLVED",
        correction="CANCELLATION_AND_REISSUE",
        cancellationInvoiceNumber=reissued.number,
        reissuedInvoiceNumber=reissued.number,
    )
    assert [e["field"] for e in wrong["errors"]] == ["cancellationInvoiceNumber"]
    wrong = await advance(
        runner,
        operator,
        dispute["id"],
        status="RESOLVED",
        correction="CANCELLATION_AND_REISSUE",
        cancellationInvoiceNumber=cancellation.number,
        reissuedInvoiceNumber=stray.number,
    )
    assert [e["field"] for e in wrong["errors"]] == ["reissuedInvoiceNumber"]
    answer = await advance(
        runner,
        operator,
        dispute["id"],
        status="RESOLVED",
        correction="CANCELLATION_AND_REISSUE",
        cancellationInvoiceNumber=cancellation.number,
        reissuedInvoiceNumber=reissued.number,
        note="Index du distributeur corrigé.",
    )
    assert answer["errors"] == [], answer
    assert answer["invoiceDispute"]["reissuedInvoiceNumber"] == reissued.number
    # the member follows the links from the dispute, and from each invoice back to it
    resolved = (await runner.run(LINKS, {"id": dispute["id"]}, as_user=world.people["USER"]))[
        "node"
    ]
    assert resolved["cancellationInvoice"] == {
        "number": cancellation.number,
        "cancelsInvoice": {"number": disputed.number},
        "dispute": {"reference": dispute["reference"]},
    }
    assert resolved["reissuedInvoice"] == {
        "number": reissued.number,
        "dispute": {"reference": dispute["reference"]},
    }
    [link] = await sql(
        runner,
        "SELECT invoice_id, cancellation_invoice_id, reissued_invoice_id FROM invoice_disputes "
        "WHERE id = :d",
        d=_pk(dispute["id"]),
    )
    assert tuple(link) == (disputed.id, cancellation.id, reissued.id)
    # the closed dispute no longer holds anything back; the summary is the SQL's
    for exclude in (True, False):
        got, expected = await _summary_vs_sql(runner, world, exclude=exclude)
        assert got == expected and got[0] == 5


async def test_a_reissue_against_the_customer_beyond_its_limit_is_refused(
    runner: Runner, world: World, operator: User
) -> None:
    disputed = await invoice_of(runner, world, on=date(2026, 9, 7), kwh=500)
    cancellation = await make_invoice(
        runner.sessions,
        world.accounts[0],
        [world.sites[0]],
        accounting_date=TODAY,
        kwh=500,
        kind=InvoiceKind.CANCELLATION,
        cancels=disputed,
    )
    higher = await invoice_of(runner, world, on=TODAY, kwh=2000)
    dispute = (await contest(runner, world, disputed, reason="WRONG_TAXES"))["invoiceDispute"]
    await advance(runner, operator, dispute["id"], status="IN_ANALYSIS")
    step = {
        "status": "RESOLVED",
        "correction": "CANCELLATION_AND_REISSUE",
        "cancellationInvoiceNumber": cancellation.number,
        "reissuedInvoiceNumber": higher.number,
    }
    # a public member: 4 years before 16 November 2026 is 16 November 2022
    for start, code in (("2022-11-15", "CORRECTION_TOO_OLD"), ("2022-11-16", None)):
        async with runner.sessions() as session, session.begin():
            await (await session.connection()).execute(
                sa.text("UPDATE invoices SET period_start = :s WHERE id = :i"),
                {"s": date.fromisoformat(start), "i": higher.id},
            )
        answer = await advance(runner, operator, dispute["id"], **step)
        assert [e["code"] for e in answer["errors"]] == ([code] if code else []), answer


# -- lists, counts, export -----------------------------------------------------------------


async def _three(runner: Runner, world: World, operator: User) -> list[Any]:
    a = (await contest(runner, world, await invoice_of(runner, world)))["invoiceDispute"]
    b = (
        await contest(
            runner, world, await invoice_of(runner, world, 1), "ADMIN", reason="WRONG_TAXES"
        )
    )["invoiceDispute"]
    c = (
        await contest(
            runner,
            world,
            await invoice_of(runner, world),
            reason="WRONG_SIRET",
            expectedSiret=SIRET,
        )
    )["invoiceDispute"]
    await advance(runner, operator, c["id"], status="IN_ANALYSIS")
    await advance(runner, operator, c["id"], status="REJECTED", note="Facture bien adressée.")
    return [a, b, c]


async def test_the_list_and_its_filters_match_sql(
    runner: Runner, world: World, operator: User
) -> None:
    await _three(runner, world, operator)
    later = NOW + timedelta(days=7)  # 23 November: the 2-day disputes are overdue

    async def page(filter: dict[str, Any] | None, tier: str = "USER") -> list[str]:
        data = await runner.run(
            LIST, {"filter": filter, "first": 100}, as_user=world.people[tier], now=later
        )
        return [e["node"]["reference"] for e in data["invoiceDisputes"]["edges"]]

    def expected(where: str, **params: Any) -> Any:
        return sql(
            runner,
            "SELECT reference FROM invoice_disputes WHERE member_id = :m AND "
            f"{where} ORDER BY submitted_at DESC, id DESC",
            m=world.member.id,
            **params,
        )

    cases = [
        (None, "1 = 1", {}),
        ({"statuses": ["REJECTED"]}, "status = 'REJECTED'", {}),
        ({"reasons": ["WRONG_TAXES"]}, "reason = 'WRONG_TAXES'", {}),
        (
            {"overdue": True},
            "status IN ('RECEIVED', 'IN_ANALYSIS') AND due_on < :d",
            {"d": date(2026, 11, 23)},
        ),
        (
            {"overdue": False},
            "NOT (status IN ('RECEIVED', 'IN_ANALYSIS') AND due_on < :d)",
            {"d": date(2026, 11, 23)},
        ),
        ({"openedFrom": "2026-11-16", "openedTo": "2026-11-16"}, "1 = 1", {}),
        ({"openedFrom": "2026-11-17"}, "1 = 0", {}),
        ({"memberIds": [gid("Member", world.member.id)]}, "1 = 1", {}),
    ]
    for filter, where, params in cases:
        wanted = [r[0] for r in await expected(where, **params)]
        assert await page(filter) == wanted, filter
    overdue = await runner.run(LIST, {"filter": {"overdue": True}}, as_user=world.people["USER"])
    assert overdue["invoiceDisputes"]["totalCount"] == 0  # on 16 November nothing is late
    # the infra user: only accounts[0]
    infra = await page(None, "INFRA_USER")
    wanted = await sql(
        runner,
        "SELECT reference FROM invoice_disputes WHERE billing_account_id = :a "
        "ORDER BY submitted_at DESC, id DESC",
        a=world.accounts[0].id,
    )
    assert infra == [r[0] for r in wanted] and len(infra) == 2


async def test_pages_follow_each_other(runner: Runner, world: World, operator: User) -> None:
    made = await _three(runner, world, operator)
    seen: list[str] = []
    after = None
    while True:
        data = await runner.run(LIST, {"first": 2, "after": after}, as_user=world.people["USER"])
        connection = data["invoiceDisputes"]
        seen += [e["node"]["reference"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(d["reference"] for d in made)
    assert len(seen) == len(set(seen))


async def test_a_page_costs_the_same_statements_whatever_its_size(
    runner: Runner, count_sql: SqlCounter, world: World, operator: User
) -> None:
    await _three(runner, world, operator)
    await _three(runner, world, operator)
    counts = {}
    for first in (2, 5):
        with count_sql() as statements:
            data = await runner.run(FULL_PAGE, {"first": first}, as_user=world.people["USER"])
        assert len(data["invoiceDisputes"]["edges"]) == first
        counts[first] = len(statements)
    assert counts[2] == counts[5], counts


async def test_counts_by_reason_for_the_yearly_review_match_sql(
    runner: Runner, world: World, operator: User
) -> None:
    await _three(runner, world, operator)
    data = await runner.run(
        COUNTS, {"y": 2026}, as_user=world.people["ADMIN"], now=NOW + timedelta(days=7)
    )
    counts = {c["reason"]["code"]: c for c in data["invoiceDisputeCountsByReason"]}
    assert len(counts) == 7  # every reason listed
    rows = await sql(
        runner,
        "SELECT reason, COUNT(*), "
        "SUM(CASE WHEN status IN ('RECEIVED', 'IN_ANALYSIS') THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'RESOLVED' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'REJECTED' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status IN ('RECEIVED', 'IN_ANALYSIS') AND due_on < :d THEN 1 ELSE 0 END) "
        "FROM invoice_disputes d JOIN members m ON m.id = d.member_id "
        "WHERE m.group_id = :g GROUP BY reason",
        g=world.group.id,
        d=date(2026, 11, 23),
    )
    for reason, total, open_, resolved, rejected, overdue in rows:
        c = counts[reason]
        assert (c["total"], c["open"], c["resolved"], c["rejected"], c["overdue"]) == (
            total,
            open_,
            resolved,
            rejected,
            overdue,
        )
    assert sum(c["total"] for c in counts.values()) == 3
    assert counts["WRONG_SIRET"]["reason"]["chorusStatus"] == "REJECTED"
    empty = await runner.run(COUNTS, {"y": 2025}, as_user=world.people["ADMIN"])
    assert all(c["total"] == 0 for c in empty["invoiceDisputeCountsByReason"])


async def test_one_dispute_by_reference_and_node(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], world: World
) -> None:
    dispute = (await contest(runner, world, await invoice_of(runner, world, 1)))["invoiceDispute"]
    variables = {"ref": dispute["reference"], "id": dispute["id"]}
    data = await runner.run(ONE, variables, as_user=world.people["USER"])
    assert data["invoiceDispute"]["events"] == [{"status": "RECEIVED"}]
    assert data["node"]["reference"] == dispute["reference"]
    # accounts[1] is not the infra user's, nor the third party's
    for tier in ("INFRA_USER", "THIRD_PARTY"):
        data = await runner.run(ONE, variables, as_user=world.people[tier])
        assert data == {"invoiceDispute": None, "node": None}
    other = await make_world(session_factory, "Ailleurs")
    data = await runner.run(ONE, variables, as_user=other.people["ADMIN"])
    assert data == {"invoiceDispute": None, "node": None}


EXPORT = """
mutation($i: ExportInvoiceDisputesInput!) {
  exportInvoiceDisputes(input: $i) { url rowCount errors { field code message } }
}"""


async def test_the_list_exports_through_the_one_writer(
    runner: Runner, world: World, operator: User
) -> None:
    import httpx

    from api.app import create_app

    made = await _three(runner, world, operator)
    data = await runner.run(EXPORT, {"i": {"format": "CSV"}}, as_user=world.people["USER"])
    export = data["exportInvoiceDisputes"]
    assert export["errors"] == [] and export["rowCount"] == 3
    app = create_app(runner.settings)
    app.state.sessions = runner.sessions
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answer = await client.get(export["url"].replace(runner.settings.public_url, ""))
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Référence", "Facture", "Montant TTC", "Motif"]
    assert sorted(r[0] for r in body) == sorted(d["reference"] for d in made)
    rejected = next(r for r in body if r[0] == made[2]["reference"])
    assert "SIRET erroné" in rejected[3] and rejected[4] == "Rejetée"
    assert rejected[header.index("État")] == "Rejetée"
    # the spreadsheet: French headers and labels, real dates, money as numbers
    import openpyxl

    data = await runner.run(EXPORT, {"i": {"format": "XLSX"}}, as_user=world.people["USER"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answer = await client.get(
            data["exportInvoiceDisputes"]["url"].replace(runner.settings.public_url, "")
        )
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0][:4]) == ["Référence", "Facture", "Montant TTC", "Motif"]
    received = cells[0].index("Reçue le")
    assert all(isinstance(r[received], datetime) for r in cells[1:])
    assert all(isinstance(r[2], float | int) for r in cells[1:])
    assert {r[cells[0].index("État")] for r in cells[1:]} == {"Reçue", "Rejetée"}
    # a filter naming another tenant's member is refused as a missing one
    foreign = await runner.run(
        EXPORT,
        {"i": {"format": "CSV", "filter": {"memberIds": [gid("Member", 10**9)]}}},
        as_user=world.people["USER"],
    )
    assert [e["code"] for e in foreign["exportInvoiceDisputes"]["errors"]] == ["NOT_FOUND"]


async def test_the_reasons_are_listed_as_data(runner: Runner, world: World) -> None:
    data = await runner.run(
        "{ disputeReasons { code chorusStatus correction minWorkingDays maxWorkingDays } }",
        as_user=world.people["USER"],
    )
    reasons = {r["code"]: r for r in data["disputeReasons"]}
    assert reasons["WRONG_CHORUS_REFERENCES"] == {
        "code": "WRONG_CHORUS_REFERENCES",
        "chorusStatus": "TO_RECYCLE",
        "correction": "REPRINT",
        "minWorkingDays": 2,
        "maxWorkingDays": 2,
    }
    assert len(reasons) == 7
    assert json.dumps(reasons)  # plain data


# -- the README's tour, on the demo ----------------------------------------------------------

TOUR = """
query {
  invoiceDisputes(first: 10) { totalCount edges { node {
    reference invoiceNumber reasonLabel chorusStatusLabel promisedDelay statusLabel dueOn
    overdue correction cancellationInvoiceNumber reissuedInvoiceNumber answer
    events { status occurredAt note } } } }
  invoiceDisputeCountsByReason(year: 2026) { reason { code label } total open resolved
    rejected overdue }
}"""
TOUR_ADMIN = """
query { invoiceDisputes(first: 5, filter: {statuses: [RESOLVED]}) { totalCount edges { node {
  reference memberLegalName correction invoice { number paymentStatus }
  cancellationInvoice { number totalInclTax } reissuedInvoice { number totalInclTax } } } } }"""


async def test_the_readme_tour_returns_the_demo_disputes(demo_runner: Runner) -> None:
    from sqlmodel import select

    from demo.logins import ADMIN_ID, MEMBER_USER_ID

    async with demo_runner.sessions() as session:
        user = (await session.exec(select(User).where(User.id == MEMBER_USER_ID))).one()
        admin = (await session.exec(select(User).where(User.id == ADMIN_ID))).one()
    data = await demo_runner.run(TOUR, as_user=user)
    page = data["invoiceDisputes"]
    assert page["totalCount"] >= 2
    statuses = {e["node"]["statusLabel"] for e in page["edges"]}
    assert len(statuses) >= 2
    assert sum(c["total"] for c in data["invoiceDisputeCountsByReason"]) >= 2
    resolved = (await demo_runner.run(TOUR_ADMIN, as_user=admin))["invoiceDisputes"]
    assert resolved["totalCount"] > 0
    reissue = next(
        e["node"]
        for e in resolved["edges"]
        if e["node"]["correction"] == "CANCELLATION_AND_REISSUE"
    )
    assert reissue["cancellationInvoice"]["totalInclTax"].startswith("-")
    assert reissue["invoice"]["paymentStatus"] == "CANCELLED"
    assert reissue["reissuedInvoice"]["number"]


# -- the photo over a real multipart HTTP request, as a technical request's service order ----


async def test_a_photo_and_a_document_go_up_as_a_multipart_request(
    runner: Runner, world: World
) -> None:
    import hashlib
    from datetime import UTC, datetime

    import httpx

    from api.app import create_app
    from auth.api_keys import new_api_key
    from db.models import ApiKey

    made = new_api_key()
    async with runner.sessions() as session, session.begin():
        session.add(
            ApiKey(
                user_id=world.people["USER"].id,
                name="contestations",
                prefix=made.prefix,
                key_hash=made.key_hash,
                scopes=["read", "write"],
                expires_at=datetime.now(UTC) + timedelta(days=1),  # keys go by the wall clock
            )
        )
    invoice = await invoice_of(runner, world)
    operations = {
        "query": CONTEST,
        "variables": {
            "i": {
                "invoiceId": gid("Invoice", invoice.id),
                "reason": "DISPUTED_INDEX",
                "comment": "Photo du compteur jointe.",
                "index": {"value": 4321, "photo": None},
                "attachments": [None],
            }
        },
    }
    app = create_app(runner.settings)
    app.state.sessions = runner.sessions  # the lifespan's job, which ASGITransport skips
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        answer = await client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {made.key}"},
            data={
                "operations": json.dumps(operations),
                "map": json.dumps(
                    {"0": ["variables.i.index.photo"], "1": ["variables.i.attachments.0"]}
                ),
            },
            files={
                "0": ("index.jpg", b"\xff\xd8\xff\xe0" + bytes(32), "image/jpeg"),
                "1": ("courrier.pdf", PDF, "application/pdf"),
            },
        )
        assert answer.status_code == 200, answer.text
        payload = answer.json()["data"]["contestInvoice"]
        assert payload["errors"] == [], payload
        files = payload["invoiceDispute"]["attachments"]
        assert [(f["filename"], f["contentType"], f["isIndexPhoto"]) for f in files] == [
            ("index.jpg", "image/jpeg", True),
            ("courrier.pdf", "application/pdf", False),
        ]
        assert files[1]["sha256"] == hashlib.sha256(PDF).hexdigest()
