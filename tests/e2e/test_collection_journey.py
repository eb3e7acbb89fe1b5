"""The switch-time data collection end to end over HTTP, on a database and an SMTP server
(aiosmtpd) of its own: the back office opens a campaign; one member validates its journey,
one answers in part, one never answers; the coordinator follows and reminds; the back office
closes. The portfolio the closing builds is checked with SQL written here, the mails are read
back from the SMTP server (with their XLSX), and the switch report is downloaded."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from db.types import utcnow
from domain.enums import Tier
from domain.identifiers import make_siren, make_siret
from mailers.transport import build_transport
from mailers.worker import deliver_due_mails
from tests.api.test_collection import (
    ADD_SITE,
    ASSIGN,
    CLOSE,
    CREATE,
    JOURNEYS,
    REMIND,
    SAVE_ADMIN,
    SAVE_LOT,
    UPDATE_SITES,
    VALIDATE,
    add_member,
    admin_data,
    prefilled_site,
)
from tests.e2e.server import LiveServer, data_of, graphql, serve
from tests.factories import TEST_PASSWORD, World, make_person, make_world
from tests.ids import gid
from tests.mailers.conftest import SmtpServer, smtp_settings

LOG_IN = """
mutation($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) { tokens { accessToken } errors { code } }
}"""
PROGRESS = """
query($c: ID!) {
  collectionCampaigns { id progress { members notStarted inProgress validated nonRespondents
    responseRatePct sitesTotal sitesConfirmed } }
  collectionJourneys(filter: {campaignId: $c}) { totalCount edges { node {
    memberLegalName status stepsDone sitesConfirmedSharePct } } }
}"""
SWITCH_REPORT = """
mutation($c: ID!) {
  exportCollectionSwitchReport(input: {campaignId: $c, format: XLSX}) {
    url rowCount errors { code message } }
}"""

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Setup:
    server: LiveServer
    settings: Settings
    sessions: Sessions
    smtp: SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def setup(databases: Any, test_settings: Settings, smtp: SmtpServer) -> AsyncIterator[Setup]:
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    settings = smtp_settings(test_settings, smtp.port, database_url=url)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    for server in serve(settings):
        yield Setup(server, server.settings, sessions, smtp)
    await engine.dispose()


async def token_of(server: LiveServer, email: str) -> str:
    body = data_of(await graphql(server, LOG_IN, {"email": email, "password": TEST_PASSWORD}))
    answer = body["logIn"]
    assert answer["errors"] == [], answer  # type: ignore[index]
    return str(answer["tokens"]["accessToken"])  # type: ignore[index]


async def call(server: LiveServer, token: str, document: str, data: dict[str, Any]) -> Any:
    body = data_of(await graphql(server, document, {"i": data}, token=token))
    payload = next(iter(body.values()))
    return payload


async def journey(server: LiveServer, token: str, campaign: str) -> dict[str, Any]:
    body = data_of(
        await graphql(server, JOURNEYS, {"filter": {"campaignId": campaign}}, token=token)
    )
    edges = body["collectionJourneys"]["edges"]  # type: ignore[index]
    assert len(edges) == 1
    node: dict[str, Any] = edges[0]["node"]
    return node


async def test_a_campaign_from_opening_to_the_portfolio(setup: Setup) -> None:
    server, sessions = setup.server, setup.sessions
    # Given a group: the world's member (validates), its other member (answers in part) and a
    # newcomer that never answers; each with a person; the back office.
    world: World = await make_world(sessions, "Loir")
    silent = await add_member(sessions, world, "Syndicat des eaux du Loir")
    partial_user, _ = await make_person(
        sessions, "dgs@ccas-loir.test", tier=Tier.USER, member_id=world.other_member.id
    )
    silent_user, _ = await make_person(
        sessions, "dgs@eaux-loir.test", tier=Tier.USER, member_id=silent.id
    )
    operator, _ = await make_person(sessions, "bascule@comptoir.test", tier=Tier.OPERATOR)
    tokens = {
        "operator": await token_of(server, operator.email),
        "user": await token_of(server, world.email("USER")),
        "admin": await token_of(server, world.email("ADMIN")),
        "partial": await token_of(server, partial_user.email),
        "silent": await token_of(server, silent_user.email),
    }
    sites = {
        "user": [prefilled_site(), prefilled_site(), prefilled_site("C4", tariffOption="CU4")],
        "partial": [prefilled_site(), prefilled_site()],
        "silent": [prefilled_site(), prefilled_site(), prefilled_site("C4")],
    }
    created = await call(
        server,
        tokens["operator"],
        CREATE,
        {
            "groupId": gid("Group", world.group.id),  # type: ignore[arg-type]
            "energy": "ELECTRICITY",
            "name": "Électricité 2027 — lot 1",
            "opensOn": "2026-11-02",
            "closesOn": "2026-11-30",
            "supplyStart": "2027-01-01",
            "defaultGroupedInvoicing": True,
            "members": [
                {"memberId": gid("Member", world.member.id), "sites": sites["user"]},  # type: ignore[arg-type]
                {"memberId": gid("Member", world.other_member.id), "sites": sites["partial"]},  # type: ignore[arg-type]
                {"memberId": gid("Member", silent.id), "sites": sites["silent"]},  # type: ignore[arg-type]
            ],
        },
    )
    assert created["errors"] == [], created
    campaign = created["campaign"]["id"]

    # The member validates: administrative data, perimeter (confirm, refuse, add), lots.
    siren = make_siren("21410042")
    mine = await journey(server, tokens["user"], campaign)
    step = await call(server, tokens["user"], SAVE_ADMIN, admin_data(mine, siren))
    assert step["errors"] == []
    mine = step["journey"]
    c5 = [s["id"] for s in mine["sites"] if s["segment"] == "C5"]
    c4 = [s["id"] for s in mine["sites"] if s["segment"] == "C4"]
    for change in (
        {"siteIds": c5, "decision": "CONFIRMED", "designation": "Écoles"},
        {"siteIds": c4, "decision": "REFUSED", "refusalReason": "NOT_OURS"},
    ):
        step = await call(
            server,
            tokens["user"],
            UPDATE_SITES,
            {"journeyId": mine["id"], "version": mine["version"], **change},
        )
        assert step["errors"] == [], step
        mine = step["journey"]
    added_point = "77999999990001"
    step = await call(
        server,
        tokens["user"],
        ADD_SITE,
        {
            "journeyId": mine["id"],
            "version": mine["version"],
            "pointNumber": added_point,
            "distributor": "ENEDIS",
            "segment": "C5",
            "tariffOption": "HPHC",
            "street": "4 rue des Lilas",
            "postcode": "41100",
            "city": "Vendôme",
            "activationDate": "2027-02-01",
        },
    )
    mine = step["journey"]
    step = await call(
        server,
        tokens["user"],
        SAVE_LOT,
        {
            "journeyId": mine["id"],
            "version": mine["version"],
            "name": "Écoles et mairie",
            "segment": "C5",
            "multiSite": True,
            "paymentMethod": "DIRECT_DEBIT",
            "billingFrequency": "MONTHLY",
            "invoiceDelivery": "CHORUS_PRO",
            "greenSharePct": 25,
        },
    )
    mine = step["journey"]
    step = await call(
        server,
        tokens["user"],
        ASSIGN,
        {
            "journeyId": mine["id"],
            "version": mine["version"],
            "lotId": mine["lots"][0]["id"],
            "siteIds": [s["id"] for s in mine["sites"] if s["decision"] == "CONFIRMED"],
        },
    )
    mine = step["journey"]
    step = await call(
        server, tokens["user"], VALIDATE, {"journeyId": mine["id"], "version": mine["version"]}
    )
    assert step["errors"] == [], step
    assert step["journey"]["status"] == "VALIDATED"

    # The other member answers in part: one site confirmed, nothing else.
    theirs = await journey(server, tokens["partial"], campaign)
    step = await call(
        server,
        tokens["partial"],
        UPDATE_SITES,
        {
            "journeyId": theirs["id"],
            "version": theirs["version"],
            "siteIds": [theirs["sites"][0]["id"]],
            "decision": "CONFIRMED",
        },
    )
    assert step["errors"] == []
    # A member never sees another's journey: the partial member's id is not found for the USER.
    stranger = await call(
        server,
        tokens["user"],
        SAVE_ADMIN,
        {"journeyId": theirs["id"], "version": step["journey"]["version"], "city": "X"},
    )
    assert [e["code"] for e in stranger["errors"]] == ["NOT_FOUND"]

    # The coordinator follows and reminds those who have not validated.
    body = data_of(await graphql(server, PROGRESS, {"c": campaign}, token=tokens["admin"]))
    [followed] = [c for c in body["collectionCampaigns"] if c["id"] == campaign]  # type: ignore[union-attr]
    assert followed["progress"] == {
        "members": 3,
        "notStarted": 1,
        "inProgress": 1,
        "validated": 1,
        "nonRespondents": 2,
        "responseRatePct": 33.3,
        "sitesTotal": 9,
        "sitesConfirmed": 4,
    }
    reminded = await call(server, tokens["admin"], REMIND, {"campaignId": campaign})
    assert (reminded["members"], reminded["queued"]) == (2, 2)
    again = await call(server, tokens["admin"], REMIND, {"campaignId": campaign})
    assert (again["queued"], again["alreadyRemindedToday"]) == (0, 2)

    # The back office closes, twice.
    closed = await call(server, tokens["operator"], CLOSE, {"campaignId": campaign})
    assert closed["errors"] == [], closed
    assert (closed["membersClosed"], closed["sitesSwitched"], closed["sitesRefused"]) == (3, 3, 1)
    assert closed["sitesDefaulted"] == 2 + 3
    twice = await call(server, tokens["operator"], CLOSE, {"campaignId": campaign})
    assert (twice["membersClosed"], twice["sitesSwitched"], twice["sitesDefaulted"]) == (0, 0, 0)

    # The portfolio, read with SQL written here.
    async with sessions() as session:
        conn = await session.connection()

        async def rows(sql: str, **params: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in (await conn.execute(sa.text(sql), params)).all()]

        switched = await rows(
            "SELECT s.point_number, s.supply_start, s.green_share_pct, s.designation, "
            "b.invoice_label, b.payment_method, b.billing_frequency, b.invoice_delivery, "
            "b.is_multi_site, b.recipient_siret FROM sites s JOIN billing_accounts b "
            "ON b.id = s.billing_account_id WHERE s.member_id = :m AND s.point_number LIKE '77%' "
            "ORDER BY s.point_number",
            m=world.member.id,
        )
        partial = await rows(
            "SELECT s.point_number, b.payment_method, b.billing_frequency, b.invoice_delivery, "
            "b.is_multi_site, s.green_share_pct FROM sites s JOIN billing_accounts b "
            "ON b.id = s.billing_account_id WHERE s.member_id = :m AND s.point_number LIKE '77%' "
            "ORDER BY s.point_number",
            m=world.other_member.id,
        )
        quiet = await rows(
            "SELECT b.id, s.segment, b.billing_frequency, b.is_multi_site FROM sites s "
            "JOIN billing_accounts b ON b.id = s.billing_account_id WHERE s.member_id = :m "
            "ORDER BY s.point_number",
            m=silent.id,
        )
        member = (
            await rows(
                "SELECT legal_name, siren, switched_on FROM members WHERE id = :m",
                m=world.member.id,
            )
        )[0]
        refused = await rows(
            "SELECT count(*) FROM sites WHERE point_number = :p",
            p=sites["user"][2]["pointNumber"],
        )
    user_points = sorted(
        [sites["user"][0]["pointNumber"], sites["user"][1]["pointNumber"], added_point]
    )
    assert [r[0] for r in switched] == user_points
    for r in switched:
        start = "2027-02-01" if r[0] == added_point else "2027-01-01"
        assert (str(r[1]), r[2]) == (start, 25)
        assert r[4:9] == ("Écoles et mairie", "DIRECT_DEBIT", "MONTHLY", "CHORUS_PRO", True)
        assert r[9] == make_siret(siren, "0002")
    assert {r[3] for r in switched if r[0] != added_point} == {"Écoles"}
    assert member[:2] == ("Commune de Blois", siren) and str(member[2]) == "2027-01-01"
    assert refused == [(0,)]
    # The partial member: its two pre-filled sites, the defaults, grouped (one account).
    assert [r[0] for r in partial] == sorted(s["pointNumber"] for s in sites["partial"])
    assert {r[1:] for r in partial} == {("TRANSFER", "BIMONTHLY", "POST", True, 0)}
    # The silent member: grouped per segment, C5 bimonthly, C4 monthly.
    accounts = {(segment, freq, multi) for _, segment, freq, multi in quiet}
    assert accounts == {("C5", "BIMONTHLY", True), ("C4", "MONTHLY", False)}
    assert len({r[0] for r in quiet}) == 2

    # The switch report, downloaded and opened.
    body = data_of(await graphql(server, SWITCH_REPORT, {"c": campaign}, token=tokens["admin"]))
    report = body["exportCollectionSwitchReport"]
    assert report["errors"] == [] and report["rowCount"] == 3 + 1 + 2 + 3  # type: ignore[index]
    async with httpx.AsyncClient() as client:
        response = await client.get(report["url"])  # type: ignore[index]
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    outcomes = [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert outcomes.count("Basculé") == 3
    assert outcomes.count("Refusé par le membre") == 1
    assert outcomes.count("Basculé avec les valeurs par défaut") == 5

    # The mails, through the worker to the SMTP server.
    delivery = await deliver_due_mails(
        sessions, build_transport(setup.settings), setup.settings, now=utcnow() + timedelta(days=1)
    )
    assert delivery.dead == 0
    validated = [
        m
        for m in setup.smtp.messages
        if "est validée" in str(m["Subject"]) and m["To"] == world.email("USER")
    ]
    assert len(validated) == 1
    [attachment] = [part for part in validated[0].iter_attachments()]
    book = load_workbook(io.BytesIO(attachment.get_content())).active
    assert book is not None
    assert book.max_row == 1 + 4  # the header, then the three pre-filled sites and the added one
    reminders = [m for m in setup.smtp.messages if str(m["Subject"]).startswith("Rappel")]
    assert sorted(str(m["To"]) for m in reminders) == sorted(
        [partial_user.email, silent_user.email]
    )
    welcome = [m for m in setup.smtp.messages if str(m["Subject"]).startswith("Bienvenue")]
    assert {str(m["To"]) for m in welcome} >= {
        world.email("USER"),
        partial_user.email,
        silent_user.email,
    }
