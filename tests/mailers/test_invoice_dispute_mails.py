"""Invoice dispute mails, end to end: a contest and each step of its workflow queue a mail to
the author in the same transaction; the worker sends them to a real SMTP server (aiosmtpd);
what arrives tells the reference, the invoice, the reason, the promised day and the step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy.pool import NullPool

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from domain.enums import InvoiceKind, Tier
from mailers.transport import build_transport
from mailers.worker import deliver_due_mails
from tests.clock import NOW
from tests.factories import make_invoice, make_person, make_world
from tests.ids import gid
from tests.mailers.conftest import SmtpServer, smtp_settings
from tests.runner import Runner

CONTEST = """
mutation($i: ContestInvoiceInput!) {
  contestInvoice(input: $i) { invoiceDispute { id reference dueOn } errors { code message } }
}"""
ADVANCE = """
mutation($i: AdvanceInvoiceDisputeInput!) {
  advanceInvoiceDispute(input: $i) { invoiceDispute { status } errors { code message } }
}"""


@pytest.fixture
async def runner_smtp(
    databases: Any, test_settings: Settings, smtp_server: SmtpServer
) -> AsyncIterator[Runner]:
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    settings = smtp_settings(test_settings, smtp_server.port, database_url=url)
    engine = create_engine(settings)
    yield Runner(settings, create_session_factory(engine))
    await engine.dispose()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def _deliver(runner: Runner) -> None:
    report = await deliver_due_mails(
        runner.sessions,
        build_transport(runner.settings),
        runner.settings,
        now=NOW + timedelta(days=1),
    )
    assert report.dead == 0 and report.retried == 0


async def test_each_step_of_a_dispute_reaches_its_author_over_smtp(
    runner_smtp: Runner, smtp_server: SmtpServer
) -> None:
    runner = runner_smtp
    world = await make_world(runner.sessions, "Courriel")
    operator, _ = await make_person(runner.sessions, "guichet@c.test", tier=Tier.OPERATOR)
    disputed = await make_invoice(
        runner.sessions, world.accounts[0], [world.sites[0]], accounting_date=date(2026, 9, 7)
    )
    answer = await runner.run(
        CONTEST,
        {
            "i": {
                "invoiceId": gid("Invoice", disputed.id),
                "reason": "DISPUTED_INDEX",
                "comment": "Le compteur affiche 1 234.",
                "index": {"value": 1234, "register": "BASE"},
            }
        },
        as_user=world.people["USER"],
    )
    dispute = answer["contestInvoice"]["invoiceDispute"]
    cancellation = await make_invoice(
        runner.sessions,
        world.accounts[0],
        [world.sites[0]],
        accounting_date=date(2026, 11, 10),
        kind=InvoiceKind.CANCELLATION,
        cancels=disputed,
    )
    reissued = await make_invoice(
        runner.sessions,
        world.accounts[0],
        [world.sites[0]],
        accounting_date=date(2026, 11, 10),
        kwh=300,
    )
    steps = [
        {"status": "IN_ANALYSIS", "distributorClaimNumber": "REC-2026-0042"},
        {
            "status": "RESOLVED",
            "correction": "CANCELLATION_AND_REISSUE",
            "cancellationInvoiceNumber": cancellation.number,
            "reissuedInvoiceNumber": reissued.number,
            "note": "Index corrigé par le distributeur.",
        },
    ]
    for step in steps:
        moved = await runner.run(
            ADVANCE, {"i": {"disputeId": dispute["id"], **step}}, as_user=operator
        )
        assert moved["advanceInvoiceDispute"]["errors"] == []
    await _deliver(runner)
    received = [m for m in smtp_server.messages if m["To"] == world.email("USER")]
    assert len(received) == 3
    first, analysis, resolved = received
    reference = dispute["reference"]
    assert str(first["Subject"]) == (
        f"Votre contestation {reference} de la facture {disputed.number} est enregistrée"
    )
    body = _text(first)
    assert "Index contesté" in body and "Rejetée" in body  # the reason and its Chorus status
    assert "30/11/2026" in body  # 10 working days from Monday 16 November
    assert "1234 (Base)" in body
    assert str(analysis["Subject"]) == f"Votre contestation {reference} : En analyse"
    assert "REC-2026-0042" in _text(analysis)
    assert "07/12/2026" in _text(analysis)  # the claim's longer delay
    assert str(resolved["Subject"]) == f"Votre contestation {reference} : Résolue"
    text = _text(resolved)
    assert cancellation.number in text and reissued.number in text
    assert "Index corrigé par le distributeur." in text
