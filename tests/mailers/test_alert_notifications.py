"""Alert notifications end to end: preferences, immediate mails and digests queued, sent by the
worker to a real SMTP server (aiosmtpd) and read back; perimeters as they stand at sending;
never twice; the one-click unsubscribe route.

Each test runs on a database of its own: the notification run reads every pending alert and
every person, so other tests' rows must not be in its way.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from api.app import create_app
from api.authentication import Authentication
from api.context import Context
from api.resolvers.alert_notifications import (
    alert_global_id,
    send_alert_digests,
    send_alert_notifications,
    unsubscribe_link,
)
from api.schema.schema import build_schema
from auth.caller import load_caller
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from domain.enums import AlertKind, Tier
from mailers.transport import build_transport
from mailers.worker import deliver_due_mails
from tests.clock import NOW
from tests.factories import make_person, make_world
from tests.mailers.conftest import SmtpServer, smtp_settings
from tests.runner import Runner

Sessions = async_sessionmaker[AsyncSession]

PREFERENCES = """
query { alertPreferences { kind delivery isDefault } }
"""
UPDATE = """
mutation ($input: UpdateAlertPreferencesInput!) {
  updateAlertPreferences(input: $input) {
    preferences { kind delivery isDefault }
    errors { field code message }
  }
}
"""


@dataclass
class Setup:
    settings: Settings
    sessions: Sessions
    runner: Runner


@pytest.fixture
async def setup(
    databases: Any, test_settings: Settings, smtp_server: SmtpServer
) -> AsyncIterator[Setup]:
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    settings = smtp_settings(
        test_settings,
        smtp_server.port,
        database_url=url,
        customer_space_url="https://espace.comptoir.example",
        public_url="https://api.comptoir.example",
    )
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    yield Setup(settings, sessions, Runner(settings, sessions))
    await engine.dispose()


async def _alert(
    sessions: Sessions, site_id: int, kind: AlertKind, *, at: datetime = NOW, message: str = ""
) -> int:
    """An alert as the detection opens it (plain SQL, not the code under test)."""
    async with sessions() as session, session.begin():
        result = await (await session.connection()).execute(
            sa.text(
                "INSERT INTO alerts (site_id, kind, status, detected_on, message, details, "
                "evidence, created_at) VALUES (:site, :kind, 'OPEN', :day, :message, '{}', "
                "'{}', :at) RETURNING id"
            ),
            {
                "site": site_id,
                "kind": kind.value,
                "day": at.date(),
                "message": message or f"Constat sur le site {site_id}.",
                "at": at,
            },
        )
        return int(result.scalar_one())


async def _deliver(setup: Setup) -> None:
    report = await deliver_due_mails(
        setup.sessions, build_transport(setup.settings), setup.settings, now=NOW + timedelta(days=2)
    )
    assert report.dead == 0 and report.retried == 0


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"] == address]


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _link(alert_id: int) -> str:
    gid = relay.to_base64("Alert", alert_id)  # strawberry's own encoding, not the code's
    return f"https://espace.comptoir.example/alertes/{urllib.parse.quote(gid, safe='')}"


async def _ledger(sessions: Sessions) -> list[tuple[int, int, str]]:
    async with sessions() as session:
        rows = await (await session.connection()).execute(
            sa.text("SELECT user_id, alert_id, delivery FROM alert_notifications ORDER BY 1, 2")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_alert_link_carries_the_relay_global_id() -> None:
    assert alert_global_id(1234) == relay.to_base64("Alert", 1234)


async def test_a_new_alert_mails_the_immediate_people_of_its_site_only(
    setup: Setup, smtp_server: SmtpServer
) -> None:
    # given two tenants and a new alert on the first one's first site
    world = await make_world(setup.sessions, "Quimper")
    other = await make_world(setup.sessions, "Brest")
    alert_id = await _alert(
        setup.sessions, world.sites[0].id, AlertKind.ZERO_CONSUMPTION, message="Aucune conso."
    )
    await _alert(setup.sessions, other.sites[0].id, AlertKind.ZERO_CONSUMPTION)

    # when the notifications run (twice, as a repeated schedule would) and the worker sends
    first = await send_alert_notifications(setup.sessions, setup.settings, now=NOW)
    again = await send_alert_notifications(setup.sessions, setup.settings, now=NOW)
    await _deliver(setup)

    # then USER and INFRA_USER of the first tenant get one mail about it (ADMIN and THIRD_PARTY
    # take digests), and nobody of the first tenant hears of the other's alert
    assert again.mails == 0
    mine = _to(smtp_server.messages, world.email("USER")) + _to(
        smtp_server.messages, world.email("INFRA_USER")
    )
    assert len(mine) == 2
    assert not _to(smtp_server.messages, world.email("ADMIN"))
    assert not _to(smtp_server.messages, world.email("THIRD_PARTY"))
    assert first.mails == 4  # two per tenant
    assert len(smtp_server.messages) == 4
    message = _to(smtp_server.messages, world.email("USER"))[0]
    site = world.sites[0]
    assert message["Subject"] == (
        f"Alerte : consommation nulle — {site.street}, {site.city} ({site.point_number})"
    )
    text, html = _text(message), _html(message)
    for body in (text, html):
        assert site.point_number in body
        assert "Aucune conso." in body
        assert _link(alert_id) in body
        assert "service@example.org" in body  # the group's customer service
        assert "0102030405" in body
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    assert unsubscribe.startswith("https://api.comptoir.example/alertes/desabonnement/")
    # on the wire too: a plain <URL>, not an RFC 2047 encoded word a mail client cannot follow
    assert dict(message.raw_items())["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert unsubscribe in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # and the ledger says who was told what, once
    users = {world.people["USER"].id, world.people["INFRA_USER"].id}
    assert [(u, a) for u, a, _ in await _ledger(setup.sessions) if a == alert_id] == sorted(
        (u, alert_id) for u in users
    )


async def test_a_perimeter_that_shrank_before_sending_hears_nothing_of_the_lost_site(
    setup: Setup, smtp_server: SmtpServer
) -> None:
    # given alerts on the INFRA_USER's site (account 0) and on account 1's site
    world = await make_world(setup.sessions, "Morlaix")
    lost = await _alert(setup.sessions, world.sites[0].id, AlertKind.NEGATIVE_CONSUMPTION)
    gained = await _alert(setup.sessions, world.sites[1].id, AlertKind.NEGATIVE_CONSUMPTION)
    # and, after detection, the INFRA_USER's grant moved from account 0 to account 1
    async with setup.sessions() as session, session.begin():
        await (await session.connection()).execute(
            sa.text(
                "UPDATE grant_billing_accounts SET billing_account_id = :new WHERE grant_id = :g"
            ),
            {"new": world.accounts[1].id, "g": world.grants["INFRA_USER"].id},
        )

    # when the notifications run and the worker sends
    await send_alert_notifications(setup.sessions, setup.settings, now=NOW)
    await _deliver(setup)

    # then the INFRA_USER is told about the site they hold now, never about the one they lost
    received = _to(smtp_server.messages, world.email("INFRA_USER"))
    assert len(received) == 1
    assert world.sites[1].point_number in str(received[0]["Subject"])
    assert world.sites[0].point_number not in _text(received[0])
    infra = world.people["INFRA_USER"].id
    assert {a for u, a, _ in await _ledger(setup.sessions) if u == infra} == {gained}
    assert lost not in {a for u, a, _ in await _ledger(setup.sessions) if u == infra}


async def test_a_revoked_person_gets_nothing(setup: Setup, smtp_server: SmtpServer) -> None:
    world = await make_world(setup.sessions, "Vannes")
    await _alert(setup.sessions, world.sites[0].id, AlertKind.EXCESSIVE_CONSUMPTION)
    async with setup.sessions() as session, session.begin():
        await (await session.connection()).execute(
            sa.text("UPDATE access_grants SET revoked_at = :at WHERE id = :g"),
            {"at": NOW, "g": world.grants["USER"].id},
        )

    await send_alert_notifications(setup.sessions, setup.settings, now=NOW)
    await _deliver(setup)

    assert not _to(smtp_server.messages, world.email("USER"))
    assert len(_to(smtp_server.messages, world.email("INFRA_USER"))) == 1


async def test_the_daily_digest_lists_the_new_alerts_of_the_perimeter_once(
    setup: Setup, smtp_server: SmtpServer
) -> None:
    # given alerts on the first tenant's three sites and one on another tenant
    world = await make_world(setup.sessions, "Lorient")
    other = await make_world(setup.sessions, "Rennes")
    ids = [
        await _alert(setup.sessions, site.id, AlertKind.MISSING_DISTRIBUTOR_READING)
        for site in world.sites
    ]
    foreign = await _alert(setup.sessions, other.sites[0].id, AlertKind.ZERO_CONSUMPTION)

    # when the digests are made (twice the same day) and sent
    first = await send_alert_digests(setup.sessions, setup.settings, now=NOW)
    again = await send_alert_digests(setup.sessions, setup.settings, now=NOW)
    await _deliver(setup)

    # then the ADMIN gets one digest with the three sites, the THIRD_PARTY one with the sites
    # of its two accounts, nothing of the other tenant; the second run queues nothing
    assert again.mails == 0 and again.digests == 0
    assert first.mails == 4  # ADMIN and THIRD_PARTY of each tenant
    admin = _to(smtp_server.messages, world.email("ADMIN"))
    assert len(admin) == 1
    assert (
        admin[0]["Subject"]
        == "3 nouvelles alertes sur vos sites — récapitulatif du 16 novembre 2026"
    )
    text = _text(admin[0])
    for site, alert_id in zip(world.sites, ids, strict=True):
        assert site.point_number in text
        assert _link(alert_id) in text
    assert other.sites[0].point_number not in text
    assert _link(foreign) not in text + _html(admin[0])
    assert "https://espace.comptoir.example/alertes" in text
    assert "service@example.org" in text
    assert str(admin[0]["List-Unsubscribe"]).strip("<>") in text
    third = _to(smtp_server.messages, world.email("THIRD_PARTY"))
    assert len(third) == 1
    body = _text(third[0])
    assert world.sites[0].point_number in body and world.sites[2].point_number in body
    assert world.sites[1].point_number not in body

    # when a new alert opens and the next day's digest is made
    smtp_server.messages.clear()
    later = NOW + timedelta(hours=5)
    newer = await _alert(setup.sessions, world.sites[1].id, AlertKind.ZERO_CONSUMPTION, at=later)
    await send_alert_digests(setup.sessions, setup.settings, now=NOW + timedelta(days=1))
    await _deliver(setup)

    # then it lists the new alert only
    admin = _to(smtp_server.messages, world.email("ADMIN"))
    assert len(admin) == 1
    assert admin[0]["Subject"].startswith("1 nouvelle alerte sur vos sites")
    assert _link(newer) in _text(admin[0])
    assert all(_link(i) not in _text(admin[0]) for i in ids)


async def test_an_alert_already_mailed_is_not_in_a_later_digest(
    setup: Setup, smtp_server: SmtpServer
) -> None:
    # given a USER told about an alert at once, who then switches to the daily digest
    world = await make_world(setup.sessions, "Auray")
    user = world.people["USER"]
    told = await _alert(setup.sessions, world.sites[0].id, AlertKind.REACTIVE_ENERGY)
    await send_alert_notifications(setup.sessions, setup.settings, now=NOW)
    data = await setup.runner.run(
        UPDATE,
        {"input": {"preferences": [{"kind": "REACTIVE_ENERGY", "delivery": "DAILY_DIGEST"}]}},
        as_user=user,
    )
    assert data["updateAlertPreferences"]["errors"] == []
    fresh = await _alert(
        setup.sessions, world.sites[1].id, AlertKind.REACTIVE_ENERGY, at=NOW + timedelta(hours=1)
    )

    # when the digest runs
    await send_alert_digests(setup.sessions, setup.settings, now=NOW + timedelta(hours=2))
    await _deliver(setup)

    # then the USER's digest holds the new alert, not the one already mailed
    received = _to(smtp_server.messages, user.email)
    assert len(received) == 2  # the immediate mail, then the digest
    digest = next(m for m in received if "récapitulatif" in str(m["Subject"]))
    assert _link(fresh) in _text(digest)
    assert _link(told) not in _text(digest)


async def test_defaults_per_tier_and_an_update_in_one_piece(setup: Setup) -> None:
    world = await make_world(setup.sessions, "Dinan")
    operator, _ = await make_person(setup.sessions, "back@office.test", tier=Tier.OPERATOR)
    expected = {
        "ADMIN": "DAILY_DIGEST",
        "THIRD_PARTY": "DAILY_DIGEST",
        "USER": "IMMEDIATE",
        "INFRA_USER": "IMMEDIATE",
    }
    for tier, delivery in expected.items():
        data = await setup.runner.run(PREFERENCES, as_user=world.people[tier])
        assert data["alertPreferences"] == [
            {"kind": kind.value, "delivery": delivery, "isDefault": True} for kind in AlertKind
        ]
    data = await setup.runner.run(PREFERENCES, as_user=operator)
    assert {p["delivery"] for p in data["alertPreferences"]} == {"OFF"}

    admin = world.people["ADMIN"]
    data = await setup.runner.run(
        UPDATE,
        {
            "input": {
                "preferences": [
                    {"kind": "ZERO_CONSUMPTION", "delivery": "IMMEDIATE"},
                    {"kind": "READ_NOT_BILLED", "delivery": "OFF"},
                ]
            }
        },
        as_user=admin,
    )
    answer = data["updateAlertPreferences"]
    assert answer["errors"] == []
    by_kind = {p["kind"]: p for p in answer["preferences"]}
    assert by_kind["ZERO_CONSUMPTION"] == {
        "kind": "ZERO_CONSUMPTION",
        "delivery": "IMMEDIATE",
        "isDefault": False,
    }
    assert by_kind["READ_NOT_BILLED"]["delivery"] == "OFF"
    assert by_kind["REACTIVE_ENERGY"] == {
        "kind": "REACTIVE_ENERGY",
        "delivery": "DAILY_DIGEST",
        "isDefault": True,
    }

    # a kind named twice: refused, and nothing of the input is stored
    data = await setup.runner.run(
        UPDATE,
        {
            "input": {
                "preferences": [
                    {"kind": "REACTIVE_ENERGY", "delivery": "OFF"},
                    {"kind": "REACTIVE_ENERGY", "delivery": "IMMEDIATE"},
                ]
            }
        },
        as_user=admin,
    )
    assert data["updateAlertPreferences"]["preferences"] is None
    [error] = data["updateAlertPreferences"]["errors"]
    assert error["code"] == "INVALID" and error["field"] == "preferences"
    assert "figure deux fois" in error["message"]
    empty = await setup.runner.run(UPDATE, {"input": {"preferences": []}}, as_user=admin)
    assert empty["updateAlertPreferences"]["errors"][0]["code"] == "REQUIRED"
    async with setup.sessions() as session:
        stored = (
            await (await session.connection()).execute(
                sa.text(
                    "SELECT kind, delivery FROM alert_preferences WHERE user_id = :u ORDER BY kind"
                ),
                {"u": admin.id},
            )
        ).all()
    assert [tuple(r) for r in stored] == [
        ("READ_NOT_BILLED", "OFF"),
        ("ZERO_CONSUMPTION", "IMMEDIATE"),
    ]


async def test_a_read_only_api_key_changes_no_preference(setup: Setup) -> None:
    world = await make_world(setup.sessions, "Paimpol")
    user = world.people["USER"]
    async with setup.sessions() as session:
        # a key without the write scope (load_caller reads only its scopes)
        caller = await load_caller(
            session, user_id=user.id, now=NOW, api_key_id=1, api_key_scopes=["read"]
        )  # type: ignore[arg-type]
    assert caller is not None and caller.read_only_key
    context = Context(
        request=None,
        settings=setup.settings,
        sessions=setup.sessions,
        authentication=Authentication(caller),
        now=NOW,
    )
    result = await build_schema().execute(
        UPDATE,
        {"input": {"preferences": [{"kind": "ZERO_CONSUMPTION", "delivery": "OFF"}]}},
        context_value=context,
    )
    assert result.errors is None
    payload = result.data["updateAlertPreferences"]  # type: ignore[index]
    assert payload["errors"][0]["code"] == "FORBIDDEN"
    assert "lecture seule" in payload["errors"][0]["message"]
    assert payload["preferences"] is None
    async with setup.sessions() as session:
        count = (
            await (await session.connection()).execute(
                sa.text("SELECT count(*) FROM alert_preferences")
            )
        ).scalar()
    assert count == 0


async def _client(setup: Setup) -> httpx.AsyncClient:
    app = create_app(setup.settings)
    app.state.sessions = setup.sessions  # the lifespan's job, which ASGITransport skips
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://api.comptoir.example"
    )


async def test_the_unsubscribe_link_turns_that_kind_off_and_a_tampered_one_is_refused(
    setup: Setup, smtp_server: SmtpServer
) -> None:
    # given the link of a mail the INFRA_USER received
    world = await make_world(setup.sessions, "Lannion")
    infra = world.people["INFRA_USER"]
    await _alert(setup.sessions, world.sites[0].id, AlertKind.ZERO_CONSUMPTION)
    await send_alert_notifications(setup.sessions, setup.settings, now=NOW)
    await _deliver(setup)
    [message] = _to(smtp_server.messages, infra.email)
    link = str(message["List-Unsubscribe"]).strip("<>")
    path = urllib.parse.urlsplit(link).path

    async with await _client(setup) as client:
        # when a tampered token is used: refused in French, nothing changes
        tampered = re.sub(r"\.[^.]+$", ".AAAA", path)
        other_person = path.replace(f"/{infra.id}.", f"/{world.people['ADMIN'].id}.")
        for bad in (tampered, other_person, "/alertes/desabonnement/n-importe-quoi"):
            refused = await client.post(bad)
            assert refused.status_code == 404
            assert "Lien de désabonnement invalide" in refused.text
        # when the mail client posts the one-click request (RFC 8058)
        answer = await client.post(path, content=b"List-Unsubscribe=One-Click")
        # and the person clicks the link as well
        again = await client.get(path)

    # then the page says so in French, and ZERO_CONSUMPTION is OFF for that person only
    assert answer.status_code == 200 and again.status_code == 200
    assert "Désabonnement enregistré" in answer.text
    assert "« Consommation nulle »" in answer.text
    data = await setup.runner.run(PREFERENCES, as_user=infra)
    by_kind = {p["kind"]: p for p in data["alertPreferences"]}
    assert by_kind["ZERO_CONSUMPTION"] == {
        "kind": "ZERO_CONSUMPTION",
        "delivery": "OFF",
        "isDefault": False,
    }
    assert by_kind["NEGATIVE_CONSUMPTION"]["delivery"] == "IMMEDIATE"
    admin = await setup.runner.run(PREFERENCES, as_user=world.people["ADMIN"])
    assert all(p["isDefault"] for p in admin["alertPreferences"])

    # and a new alert of that kind no longer mails them
    smtp_server.messages.clear()
    async with setup.sessions() as session, session.begin():
        await (await session.connection()).execute(sa.text("UPDATE alerts SET status = 'RESOLVED'"))
    await _alert(setup.sessions, world.sites[0].id, AlertKind.ZERO_CONSUMPTION, at=NOW)
    await send_alert_notifications(setup.sessions, setup.settings, now=NOW + timedelta(hours=1))
    await _deliver(setup)
    assert not _to(smtp_server.messages, infra.email)


async def test_a_digest_link_names_every_kind_it_lists(setup: Setup) -> None:
    link = unsubscribe_link(
        setup.settings, 7, [AlertKind.ZERO_CONSUMPTION, AlertKind.REACTIVE_ENERGY]
    )
    token = link.rsplit("/", 1)[1]
    assert token.startswith("7.REACTIVE_ENERGY,ZERO_CONSUMPTION.")
    assert re.fullmatch(r"[A-Za-z0-9_\-]+", token.rsplit(".", 1)[1])


async def test_two_runs_at_once_queue_each_mail_once(setup: Setup, smtp_server: SmtpServer) -> None:
    # given new alerts on every site of a tenant
    world = await make_world(setup.sessions, "Concarneau")
    for site in world.sites:
        await _alert(setup.sessions, site.id, AlertKind.ZERO_CONSUMPTION)

    # when two notification runs and two digest runs go at the same time
    await asyncio.gather(
        send_alert_notifications(setup.sessions, setup.settings, now=NOW),
        send_alert_notifications(setup.sessions, setup.settings, now=NOW),
        send_alert_digests(setup.sessions, setup.settings, now=NOW),
        send_alert_digests(setup.sessions, setup.settings, now=NOW),
    )
    await _deliver(setup)

    # then USER (2 sites), INFRA_USER (1 site) get one mail per alert, ADMIN and THIRD_PARTY
    # one digest each, and no Message-ID arrives twice
    counts = Counter(str(m["To"]) for m in smtp_server.messages)
    assert counts == {
        world.email("USER"): 2,
        world.email("INFRA_USER"): 1,
        world.email("ADMIN"): 1,
        world.email("THIRD_PARTY"): 1,
    }
    assert len(set(smtp_server.collector.message_ids())) == len(smtp_server.messages)
