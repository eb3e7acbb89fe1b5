"""Operators see the outbox and relaunch dead mails; sent mails keep no live link."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import OutboxMail
from domain.enums import MailStatus, Tier
from mailers import mails
from mailers.transport import FileTransport
from mailers.worker import deliver_due_mails
from tests.clock import NOW
from tests.factories import make_person, make_world
from tests.ids import gid
from tests.runner import Runner

COUNTS = "query { outboxCounts { status mails } }"
DEAD = "query { outboxMails(status: DEAD) { id template attempts lastError } }"
REQUEUE = "mutation($id: ID!) { requeueMail(input: {mailId: $id}) { ok errors { code } } }"


async def test_operators_find_and_relaunch_dead_mails(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    operator, _ = await make_person(
        session_factory, f"ops-{secrets.token_hex(3)}@c.test", tier=Tier.OPERATOR
    )
    async with session_factory() as session, session.begin():
        dead = OutboxMail(
            idempotency_key=f"test-dead:{secrets.token_hex(4)}",
            template="activation",
            recipients=["x@mairie.test"],
            subject="Activez",
            context={},
            status=MailStatus.DEAD,
            attempts=8,
            next_attempt_at=NOW,
            last_error="SMTPRecipientsRefused",
        )
        session.add(dead)
    counts = {
        c["status"]: c["mails"]
        for c in (await runner.run(COUNTS, as_user=operator))["outboxCounts"]
    }
    assert counts["DEAD"] >= 1
    listed = (await runner.run(DEAD, as_user=operator))["outboxMails"]
    mail_id = gid("OutboxMail", dead.id)
    assert {
        "id": mail_id,
        "template": "activation",
        "attempts": 8,
        "lastError": "SMTPRecipientsRefused",
    } in listed
    done = await runner.run(REQUEUE, {"id": mail_id}, as_user=operator)
    assert done["requeueMail"] == {"ok": True, "errors": []}
    again = await runner.run(REQUEUE, {"id": mail_id}, as_user=operator)
    assert again["requeueMail"]["errors"][0]["code"] == "INVALID_STATE"


@pytest.mark.parametrize("tier", ["ADMIN", "USER"])
async def test_customers_do_not_see_the_outbox(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], tier: str
) -> None:
    world = await make_world(session_factory, "Boite")
    result = await runner.raw(COUNTS, as_user=world.people[tier])
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_a_sent_mail_keeps_no_live_link(
    runner: Runner, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    prefix = f"activation:{10**8 + secrets.randbelow(10**8)}"
    token_id = int(prefix.split(":")[1])
    async with session_factory() as session, session.begin():
        await mails.queue_activation(
            session,
            email="lien@mairie.test",
            full_name="Lien",
            token_id=token_id,
            activation_url="https://espace.example/activation#token=SECRET-TOKEN",
            expires_at=NOW,
        )
    report = await deliver_due_mails(
        session_factory, FileTransport(tmp_path), runner.settings, key_prefix=prefix
    )
    assert report.sent == 1
    [eml] = await asyncio.to_thread(lambda: [p.read_text() for p in tmp_path.glob("*.eml")])
    assert "SECRET-TOKEN" in eml  # the person got the link…
    async with session_factory() as session:
        row = (
            await session.exec(select(OutboxMail).where(OutboxMail.idempotency_key == prefix))
        ).one()
    assert row.status == MailStatus.SENT
    assert "SECRET-TOKEN" not in str(row.context)  # …the outbox no longer holds it
