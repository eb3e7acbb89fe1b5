"""`comptoir worker` processes under signals: SIGTERM while the server keeps failing, SIGKILL
in the middle of a drain then another worker. Short leases and timeouts through the
environment keep each test a few seconds long."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory, transaction
from domain.enums import MailStatus
from mailers.outbox import message_id
from tests.conftest import ThrowawayDatabases
from tests.mailers.conftest import TABLE, SmtpServer, queue_confirmations, rows

Sessions = async_sessionmaker[AsyncSession]
COMPTOIR = Path(sys.executable).parent / "comptoir"
LEASE_SECONDS = 1.0
POLL_SECONDS = 0.1
SMTP_TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module")
async def worker_url(databases: ThrowawayDatabases) -> str:
    """A database of these tests' own: a worker process sends every due mail it finds."""
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture
async def sessions(worker_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(Settings(database_url=worker_url))
    factory = create_session_factory(engine)
    async with transaction(factory) as session:
        await session.exec(sa.delete(TABLE))
    yield factory
    await engine.dispose()


def start_worker(url: str, port: int, folder: Path, **settings: object) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
    values: dict[str, object] = {
        "env": "test",
        "database_url": url,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": "false",
        "smtp_timeout_seconds": SMTP_TIMEOUT_SECONDS,
        "mail_send_timeout_seconds": SMTP_TIMEOUT_SECONDS,
        "mail_poll_seconds": POLL_SECONDS,
        "mail_lease_seconds": LEASE_SECONDS,
        **settings,
    }
    env.update({f"COMPTOIR_{name.upper()}": str(value) for name, value in values.items()})
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "stderr.log").open("wb") as errors:  # the child keeps its own copy
        return subprocess.Popen(
            [str(COMPTOIR), "worker", "--log-level", "error"],
            env=env,
            cwd=folder,  # no .env of the repository
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


async def wait_until(condition: Callable[[], Awaitable[bool]], *, within: float) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_sigterm_while_the_server_keeps_failing_stops_the_worker_promptly(
    sessions: Sessions, worker_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    # given a server that is down and failed mails due again almost at once
    keys = await queue_confirmations(sessions, "term:", 30)
    smtp_server.stop()
    process = start_worker(
        worker_url,
        smtp_server.port,
        tmp_path,
        mail_batch_size=5,
        mail_retry_base_seconds=0.05,
        mail_retry_max_seconds=0.2,
        mail_max_attempts=50,
    )

    async def retrying() -> bool:
        return any(r.attempts >= 2 for r in await rows(sessions, "term:"))

    try:
        await wait_until(retrying, within=20)

        # when
        sent_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 10)
        took = time.monotonic() - sent_at
    finally:
        process.kill()

    # then it left within the SMTP timeout (plus a little), nothing held, nothing lost
    assert code == 0
    assert took < SMTP_TIMEOUT_SECONDS + 1.5, took
    left = await rows(sessions, "term:")
    assert len(left) == len(keys)
    assert {r.status for r in left} == {MailStatus.PENDING}


async def test_a_worker_killed_mid_drain_is_taken_over_within_the_lease(
    sessions: Sessions, worker_url: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    # given a worker draining 40 mails from a slow server
    keys = await queue_confirmations(sessions, "kill:", 40)
    smtp_server.collector.delay_seconds = 0.05
    first = start_worker(worker_url, smtp_server.port, tmp_path / "first", mail_batch_size=10)

    async def some_sent() -> bool:
        return len(smtp_server.messages) >= 8

    try:
        await wait_until(some_sent, within=20)

        # when it is killed, then another worker starts
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        killed_at = time.monotonic()
        held = {r.idempotency_key for r in await rows(sessions, "kill:")}
        stranded = {
            r.idempotency_key
            for r in await rows(sessions, "kill:")
            if r.status == MailStatus.SENDING
        }
        second = start_worker(worker_url, smtp_server.port, tmp_path / "second")
    finally:
        first.kill()

    async def all_sent() -> bool:
        return {r.status for r in await rows(sessions, "kill:")} == {MailStatus.SENT}

    try:
        await wait_until(all_sent, within=30)
        recovered = time.monotonic() - killed_at
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 10)

    # then nothing was lost; a duplicate only for the mail in flight at the kill (accepted,
    # not yet marked), with the same Message-ID; taken over within a lease (+ start-up)
    received = Counter(smtp_server.collector.message_ids())
    assert set(received) == {message_id(k) for k in keys}
    duplicated = {mid for mid, count in received.items() if count > 1}
    assert len(duplicated) <= 1
    assert duplicated <= {message_id(k) for k in stranded}
    assert stranded and held
    assert recovered < LEASE_SECONDS + POLL_SECONDS + 8, recovered
