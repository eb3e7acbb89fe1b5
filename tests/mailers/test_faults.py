"""The worker under faults, in process: transient and permanent refusals, a hanging server,
a database that fails right after a send, backoff from the failure, leases kept alive, a
stop request while the server keeps failing. (Worker processes killed or stopped by a
signal: `test_worker_process.py`.)"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.engine import create_engine, create_session_factory
from db.types import utcnow
from domain.enums import MailStatus
from mailers import worker
from mailers.outbox import message_id
from mailers.transport import build_transport
from mailers.worker import deliver_due_mails
from tests.mailers.conftest import SmtpServer, queue_confirmations, rows, smtp_settings

Sessions = async_sessionmaker[AsyncSession]


async def test_a_transient_refusal_is_retried_then_accepted(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a server that answers 451 to the first message, then accepts
    settings = smtp_settings(test_settings, smtp_server.port)
    [key] = await queue_confirmations(session_factory, key_prefix, 1)
    smtp_server.collector.refusals = ["451 4.3.0 Réessayez plus tard"]
    start = utcnow()

    # when
    first = await deliver_due_mails(
        session_factory, build_transport(settings), settings, now=start, key_prefix=key_prefix
    )
    [waiting] = await rows(session_factory, key_prefix)
    later = start + timedelta(hours=1)
    second = await deliver_due_mails(
        session_factory, build_transport(settings), settings, now=later, key_prefix=key_prefix
    )

    # then
    assert (first.retried, second.sent) == (1, 1)
    assert (waiting.status, waiting.attempts) == (MailStatus.PENDING, 1)
    assert waiting.last_error.startswith("SMTPDataError")
    [row] = await rows(session_factory, key_prefix)
    assert (row.status, row.attempts) == (MailStatus.SENT, 2)
    assert smtp_server.collector.message_ids() == [message_id(key)]


async def test_a_permanent_refusal_is_dead_after_one_attempt(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    settings = smtp_settings(test_settings, smtp_server.port)
    await queue_confirmations(session_factory, key_prefix, 1)
    smtp_server.collector.refusals = ["550 5.7.1 Message refusé"]

    report = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )

    assert (report.sent, report.retried, report.dead) == (0, 0, 1)
    [row] = await rows(session_factory, key_prefix)
    assert (row.status, row.attempts) == (MailStatus.DEAD, 1)
    assert smtp_server.messages == []


async def test_a_hanging_server_holds_one_mail_for_the_send_bound_only(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a server that hangs on the data of the first mail's recipient
    settings = smtp_settings(test_settings, smtp_server.port, mail_send_timeout_seconds=0.5)
    keys = await queue_confirmations(session_factory, key_prefix, 3)
    smtp_server.collector.hang_for = {"agent0@mairie-exemple.fr"}
    smtp_server.collector.hang_seconds = 3.0
    started = time.monotonic()

    # when
    report = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )

    # then the hanging send is cut at its bound and the others go out on a new connection
    assert time.monotonic() - started < 2.5
    assert (report.sent, report.retried) == (2, 1)
    assert sorted(smtp_server.collector.message_ids()) == sorted(message_id(k) for k in keys[1:])
    hung = (await rows(session_factory, key_prefix))[0]
    assert (hung.status, hung.attempts) == (MailStatus.PENDING, 1)
    assert hung.last_error.startswith("TimeoutError")


async def test_a_failed_sent_mark_is_written_when_the_database_answers_again(
    test_settings: Settings,
    session_factory: Sessions,
    smtp_server: SmtpServer,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a database that fails twice when the first mail is marked SENT
    settings = smtp_settings(test_settings, smtp_server.port)
    keys = await queue_confirmations(session_factory, key_prefix, 3)
    real_mark = worker._mark_sent
    failures = {"left": 2}

    async def flaky_mark(sessions: Sessions, mail: object, *, at: object) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("UPDATE outbox_mail", {}, ConnectionError("connexion perdue"))
        await real_mark(sessions, mail, at=at)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "_mark_sent", flaky_mark)

    # when
    report = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )

    # then the batch went on, every mark landed, nothing was sent twice
    assert (report.sent, report.retried, failures["left"]) == (3, 0, 0)
    assert {(r.status, r.attempts) for r in await rows(session_factory, key_prefix)} == {
        (MailStatus.SENT, 1)
    }
    assert Counter(smtp_server.collector.message_ids()) == Counter(message_id(k) for k in keys)


async def test_backoff_counts_from_the_failure_not_the_batch_start(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a slow server refusing both mails for now, and a one-second base delay
    settings = smtp_settings(test_settings, smtp_server.port, mail_retry_base_seconds=1.0)
    await queue_confirmations(session_factory, key_prefix, 2)
    smtp_server.collector.delay_seconds = 0.4
    smtp_server.collector.refusals = ["451 4.3.0 Plus tard"] * 2
    start = utcnow()

    # when
    await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )

    # then the second one waits a full delay after its own failure (≥ 0.8 s into the batch)
    first, second = await rows(session_factory, key_prefix)
    assert first.next_attempt_at >= start + timedelta(seconds=1.4)
    assert second.next_attempt_at >= start + timedelta(seconds=1.8)


@pytest.fixture
async def second_sessions(test_settings: Settings) -> AsyncIterator[Sessions]:
    engine = create_engine(test_settings)
    yield create_session_factory(engine)
    await engine.dispose()


async def test_a_batch_longer_than_its_lease_is_not_taken_over_by_another_worker(
    test_settings: Settings,
    session_factory: Sessions,
    second_sessions: Sessions,
    smtp_server: SmtpServer,
    key_prefix: str,
) -> None:
    # given a batch that takes four times its lease (12 mails, 0.1 s each, 0.3 s leases),
    # and a second worker claiming one mail at a time beside it
    settings = smtp_settings(
        test_settings, smtp_server.port, mail_batch_size=12, mail_lease_seconds=0.3
    )
    eager = settings.model_copy(update={"mail_batch_size": 1})
    smtp_server.collector.delay_seconds = 0.1
    keys = await queue_confirmations(session_factory, key_prefix, 14)

    async def later() -> worker.DeliveryReport:
        await asyncio.sleep(0.05)
        return await deliver_due_mails(
            second_sessions, build_transport(eager), eager, key_prefix=key_prefix
        )

    # when
    one, two = await asyncio.gather(
        deliver_due_mails(
            session_factory, build_transport(settings), settings, key_prefix=key_prefix
        ),
        later(),
    )

    # then the heartbeat kept the long batch its worker's: every mail once
    assert (one.sent, two.sent) == (12, 2)
    assert Counter(smtp_server.collector.message_ids()) == Counter(message_id(k) for k in keys)


async def test_a_stop_request_ends_a_run_between_two_mails_while_the_server_fails(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a refusing server and failed mails due again at once
    settings = smtp_settings(
        test_settings,
        smtp_server.port,
        mail_batch_size=50,
        mail_retry_base_seconds=0.001,
        mail_max_attempts=50,
    )
    await queue_confirmations(session_factory, key_prefix, 20)
    smtp_server.collector.delay_seconds = 0.05
    smtp_server.collector.refusals = ["451 4.3.0 Plus tard"] * 10_000
    stop = asyncio.Event()

    # when a stop is requested during the run
    run = asyncio.create_task(
        deliver_due_mails(
            session_factory, build_transport(settings), settings, key_prefix=key_prefix, stop=stop
        )
    )
    await asyncio.sleep(0.3)
    stop.set()
    report = await asyncio.wait_for(run, timeout=2)

    # then the run ended after the mail in flight; the untried ones are due again at once
    assert 0 < report.retried < 20
    left = await rows(session_factory, key_prefix)
    assert {r.status for r in left} == {MailStatus.PENDING}
    untried = [r for r in left if r.attempts == 0]
    assert len(untried) == 20 - report.retried
    assert all(r.next_attempt_at <= utcnow() for r in untried)
