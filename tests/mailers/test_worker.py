"""The worker against a real SMTP server: once each, retries, dead letters, concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.engine import create_engine, create_session_factory, transaction
from db.types import utcnow
from domain.enums import MailStatus
from mailers.outbox import count_by_status, enqueue_mail, message_id, requeue_dead_mail
from mailers.transport import build_transport
from mailers.worker import (
    TABLE,
    deliver_due_mails,
    lease_seconds,
    retry_delay,
    running_worker,
)
from tests.mailers.conftest import SmtpServer, queue_confirmations, rows, smtp_settings

Sessions = async_sessionmaker[AsyncSession]


async def test_queued_mails_are_delivered_once_each(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given
    settings = smtp_settings(test_settings, smtp_server.port, mail_batch_size=4)
    keys = await queue_confirmations(session_factory, key_prefix, 10)

    # when
    report = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )
    again = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )

    # then
    assert (report.sent, report.retried, report.dead) == (10, 0, 0)
    assert again.handled == 0
    assert sorted(smtp_server.collector.message_ids()) == sorted(message_id(k) for k in keys)
    assert {(r.status, r.attempts) for r in await rows(session_factory, key_prefix)} == {
        (MailStatus.SENT, 1)
    }
    assert all(r.sent_at is not None for r in await rows(session_factory, key_prefix))


async def test_mails_wait_while_the_server_is_down_then_arrive_exactly_once(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a server that is down (nothing listens on its port)
    settings = smtp_settings(test_settings, smtp_server.port)
    keys = await queue_confirmations(session_factory, key_prefix, 6)
    smtp_server.stop()
    start = utcnow()

    # when the worker runs
    down = await deliver_due_mails(
        session_factory, build_transport(settings), settings, now=start, key_prefix=key_prefix
    )

    # then every mail waits for a later attempt, none is lost
    assert (down.sent, down.retried, down.dead) == (0, 6, 0)
    waiting = await rows(session_factory, key_prefix)
    assert len(waiting) == 6
    assert all(r.status == MailStatus.PENDING and r.attempts == 1 for r in waiting)
    assert all(r.next_attempt_at > start for r in waiting)
    assert all(r.last_error and "Connect" in r.last_error for r in waiting)
    not_yet = await deliver_due_mails(
        session_factory, build_transport(settings), settings, now=start, key_prefix=key_prefix
    )
    assert not_yet.handled == 0

    # when the server comes back and the retry time has come
    smtp_server.start()
    later = start + retry_delay(settings, 1, jitter=0.1) + timedelta(seconds=1)
    back = await deliver_due_mails(
        session_factory, build_transport(settings), settings, now=later, key_prefix=key_prefix
    )
    await deliver_due_mails(
        session_factory,
        build_transport(settings),
        settings,
        now=later + timedelta(days=1),
        key_prefix=key_prefix,
    )

    # then every mail arrived, exactly once
    assert back.sent == 6
    assert Counter(smtp_server.collector.message_ids()) == Counter(message_id(k) for k in keys)
    assert {(r.status, r.attempts) for r in await rows(session_factory, key_prefix)} == {
        (MailStatus.SENT, 2)
    }


async def test_a_mail_is_dead_after_the_last_attempt_and_operators_can_requeue_it(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a server that stays down and two attempts allowed
    settings = smtp_settings(
        test_settings, smtp_server.port, mail_max_attempts=2, mail_retry_base_seconds=1.0
    )
    await queue_confirmations(session_factory, key_prefix, 1)
    smtp_server.stop()
    start = utcnow()
    transport = build_transport(settings)

    # when
    first = await deliver_due_mails(
        session_factory, transport, settings, now=start, key_prefix=key_prefix
    )
    second = await deliver_due_mails(
        session_factory, transport, settings, now=start + timedelta(hours=1), key_prefix=key_prefix
    )
    third = await deliver_due_mails(
        session_factory, transport, settings, now=start + timedelta(days=9), key_prefix=key_prefix
    )

    # then
    assert (first.retried, second.dead, third.handled) == (1, 1, 0)
    [row] = await rows(session_factory, key_prefix)
    assert (row.status, row.attempts) == (MailStatus.DEAD, 2)
    assert row.last_error
    async with session_factory() as session:
        assert (await count_by_status(session))[MailStatus.DEAD] >= 1

    # when an operator requeues it and the server is back
    async with transaction(session_factory) as session:
        assert await requeue_dead_mail(session, row.id, now=start)
    smtp_server.start()
    resent = await deliver_due_mails(
        session_factory, transport, settings, now=start + timedelta(days=9), key_prefix=key_prefix
    )
    assert resent.sent == 1


def test_backoff_doubles_up_to_the_cap(test_settings: Settings) -> None:
    settings = test_settings.model_copy(
        update={"mail_retry_base_seconds": 30.0, "mail_retry_max_seconds": 3600.0}
    )
    delays = [retry_delay(settings, n, jitter=0).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert 30 <= retry_delay(settings, 1).total_seconds() <= 33


@pytest.fixture
async def second_sessions(test_settings: Settings) -> AsyncIterator[Sessions]:
    """Another engine on the same database: what a second worker process would have."""
    engine = create_engine(test_settings)
    async with engine.connect() as connection:  # connected up front, as a running worker is
        await connection.execute(sa.text("SELECT 1"))
    yield create_session_factory(engine)
    await engine.dispose()


async def test_two_workers_at_once_deliver_each_mail_exactly_once(
    test_settings: Settings,
    session_factory: Sessions,
    second_sessions: Sessions,
    smtp_server: SmtpServer,
    key_prefix: str,
) -> None:
    # given small batches and a slow server, so that the two workers claim in turns
    settings = smtp_settings(test_settings, smtp_server.port, mail_batch_size=3)
    smtp_server.collector.delay_seconds = 0.005
    keys = await queue_confirmations(session_factory, key_prefix, 30)

    # when
    one, two = await asyncio.gather(
        deliver_due_mails(
            session_factory, build_transport(settings), settings, key_prefix=key_prefix
        ),
        deliver_due_mails(
            second_sessions, build_transport(settings), settings, key_prefix=key_prefix
        ),
    )

    # then
    assert one.sent + two.sent == 30
    assert one.sent and two.sent  # both took part: the claims really did race
    assert one.retried + two.retried + one.dead + two.dead == 0
    assert Counter(smtp_server.collector.message_ids()) == Counter(message_id(k) for k in keys)


async def test_a_claim_skips_rows_another_worker_holds(
    test_settings: Settings,
    session_factory: Sessions,
    second_sessions: Sessions,
    smtp_server: SmtpServer,
    key_prefix: str,
) -> None:
    if not test_settings.database_url.startswith("postgresql"):
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's; SQLite has none")
    # given another worker holding a lock on two of the four due mails
    settings = smtp_settings(test_settings, smtp_server.port)
    keys = await queue_confirmations(session_factory, key_prefix, 4)
    held = keys[:2]
    async with second_sessions() as holder, holder.begin():
        await holder.exec(
            sa.select(TABLE.c.id)  # type: ignore[call-overload]
            .where(TABLE.c.idempotency_key.in_(held))
            .with_for_update()
        )

        # when this worker runs meanwhile (it must neither wait nor take them)
        report = await asyncio.wait_for(
            deliver_due_mails(
                session_factory, build_transport(settings), settings, key_prefix=key_prefix
            ),
            timeout=5,
        )

        # then
        assert report.sent == 2
        assert sorted(smtp_server.collector.message_ids()) == sorted(
            message_id(k) for k in keys[2:]
        )
    after = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )
    assert after.sent == 2


async def test_a_claim_whose_lease_expired_is_sent_again_as_the_same_message(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a mail claimed by a worker that died before marking it
    settings = smtp_settings(test_settings, smtp_server.port)
    [key] = await queue_confirmations(session_factory, key_prefix, 1)
    start = utcnow()
    async with transaction(session_factory) as session:
        await session.exec(
            sa.update(TABLE)
            .where(TABLE.c.idempotency_key == key)
            .values(status=MailStatus.SENDING, next_attempt_at=start + timedelta(seconds=60))
        )

    # when
    during = await deliver_due_mails(
        session_factory, build_transport(settings), settings, now=start, key_prefix=key_prefix
    )
    after = await deliver_due_mails(
        session_factory,
        build_transport(settings),
        settings,
        now=start + timedelta(seconds=61),
        key_prefix=key_prefix,
    )

    # then the lease protects it, then it is taken over, with the key's Message-ID
    assert (during.handled, after.sent) == (0, 1)
    assert smtp_server.collector.message_ids() == [message_id(key)]
    assert lease_seconds(settings) == settings.mail_lease_seconds


async def test_the_file_transport_is_the_default_and_writes_one_eml_per_mail(
    test_settings: Settings, session_factory: Sessions, key_prefix: str
) -> None:
    # given
    keys = await queue_confirmations(session_factory, key_prefix, 3)
    before = set(test_settings.mail_dir.glob("*.eml")) if test_settings.mail_dir.exists() else set()

    # when
    report = await deliver_due_mails(
        session_factory, build_transport(test_settings), test_settings, key_prefix=key_prefix
    )

    # then
    assert report.sent == 3
    written = set(test_settings.mail_dir.glob("*.eml")) - before
    ids = {message_id(k).strip("<>").split("@")[0] for k in keys}
    assert {path.stem.split("_", 1)[1] for path in written} == ids


async def test_the_in_process_worker_delivers_then_stops_with_its_host(
    private_settings: Settings, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a worker running beside another task, on a database of its own
    settings = smtp_settings(private_settings, smtp_server.port, mail_poll_seconds=0.05)
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    keys = await queue_confirmations(sessions, key_prefix, 2)

    # when
    async with running_worker(settings, sessions):
        for _ in range(100):
            if {message_id(k) for k in keys} <= set(smtp_server.collector.message_ids()):
                break
            await asyncio.sleep(0.05)
    await engine.dispose()

    # then
    assert Counter(smtp_server.collector.message_ids()) == Counter(message_id(k) for k in keys)


async def test_one_bad_mail_does_not_stop_the_others(
    test_settings: Settings, session_factory: Sessions, smtp_server: SmtpServer, key_prefix: str
) -> None:
    # given a mail whose context lacks what its template needs, queued before a good one
    settings = smtp_settings(test_settings, smtp_server.port)
    async with transaction(session_factory) as session:
        await enqueue_mail(
            session,
            template="activation_confirmation",
            recipients=["x@mairie-exemple.fr"],
            context={"supplier_name": "Comptoir Énergie"},
            idempotency_key=f"{key_prefix}0-broken",
        )
    [good] = await queue_confirmations(session_factory, f"{key_prefix}1-", 1)

    # when
    report = await deliver_due_mails(
        session_factory, build_transport(settings), settings, key_prefix=key_prefix
    )

    # then
    assert (report.sent, report.retried) == (1, 1)
    assert smtp_server.collector.message_ids() == [message_id(good)]
    broken = [r for r in await rows(session_factory, key_prefix) if r.status != MailStatus.SENT]
    assert broken[0].last_error.startswith("UndefinedError")
