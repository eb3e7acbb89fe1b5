"""What the compose file runs, without containers: `comptoir migrate`, `comptoir serve
--workers 2` and two `comptoir worker`, as separate processes on one database (PostgreSQL in
CI's second pass, SQLite otherwise), with a real SMTP server (aiosmtpd). Requests are answered
by both API workers; every mail is sent exactly once. And `--forwarded-allow-ips`: a proxy's
X-Forwarded-Proto is believed from the trusted address only."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from comptoir.settings import Settings
from db.engine import create_engine, create_session_factory
from tests.conftest import ThrowawayDatabases
from tests.e2e.processes import COMPTOIR, comptoir_env, free_port, run_comptoir, running
from tests.mailers.conftest import TABLE, SmtpServer, queue_confirmations

MAILS = 40
PID = re.compile(r'^comptoir_worker_info\{pid="(\d+)"\} 1\.0$', re.MULTILINE)


def _worker_pid(url: str) -> int:
    # A new connection each time, so that the kernel may hand it to either worker.
    answer = httpx.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=10)
    assert answer.status_code == 200
    [pid] = PID.findall(answer.text)
    return int(pid)


async def _sent(url: str, prefix: str) -> list[tuple[str, int]]:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.select(TABLE.c.status, TABLE.c.attempts).where(
                    TABLE.c.idempotency_key.startswith(prefix)
                )
            )
            return [(str(status), int(attempts)) for status, attempts in rows.all()]
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_two_api_workers_and_two_mail_workers(
    databases: ThrowawayDatabases, tmp_path: Path
) -> None:
    # given: a migrated database (`comptoir migrate`, as the compose file's one-off service)
    url = await databases.new_url()
    smtp = SmtpServer()
    smtp.start()
    smtp.collector.delay_seconds = 0.05  # a slow server: the two workers' batches overlap
    env = comptoir_env(
        url,
        tmp_path,
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=str(smtp.port),
        smtp_starttls="false",
        mail_poll_seconds="0.2",
        mail_batch_size="5",
        log_format="text",
    )
    try:
        run_comptoir("migrate", env=env)
        engine = create_engine(Settings(database_url=url), poolclass=NullPool)
        keys = await queue_confirmations(create_session_factory(engine), "deploy:", MAILS)
        await engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (
            running(
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                env=env,
                log=tmp_path / "serve.log",
                ready_url=f"{base}/health/ready",
            ) as server,
            running("worker", env=env, log=tmp_path / "worker-1.log") as first,
            running("worker", env=env, log=tmp_path / "worker-2.log") as second,
        ):
            # when: requests come in on fresh connections
            pids: set[int] = set()
            for _ in range(300):
                pids.add(await asyncio.to_thread(_worker_pid, base))
                if len(pids) == 2:
                    break
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                answer = await client.post("/graphql", json={"query": "{ __typename }"})
            # and the mail workers drain the outbox
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                sent = await _sent(url, "deploy:")
                if sum(status == "SENT" for status, _ in sent) == MAILS:
                    break
                await asyncio.sleep(0.3)
            await asyncio.sleep(1)  # a double send would land after the SENT mark
            processes = (server, first, second)
            assert all(p.poll() is None for p in processes), "a process died"
        # then: two API processes answered, neither being the supervisor
        assert len(pids) == 2, pids
        assert server.pid not in pids
        assert answer.json() == {"data": {"__typename": "Query"}}
        # every mail sent once, on its first attempt, each the server received once
        assert sorted(await _sent(url, "deploy:")) == [("SENT", 1)] * MAILS
        received = smtp.collector.message_ids()
        assert len(received) == MAILS and len(set(received)) == MAILS
        # both mail workers took part (the slow server makes their batches overlap)
        logs = [(tmp_path / f"worker-{n}.log").read_text() for n in (1, 2)]
        assert all("Envoi des mails" in log for log in logs)
        # SIGTERM: every process stopped cleanly
        assert [p.returncode for p in processes] == [0, 0, 0], logs
        assert keys
    finally:
        smtp.stop()


def _hsts(base: str, forwarded_proto: str) -> str | None:
    answer = httpx.get(
        f"{base}/health/live", headers={"X-Forwarded-Proto": forwarded_proto}, timeout=10
    )
    return answer.headers.get("strict-transport-security")


@pytest.mark.slow
@pytest.mark.parametrize(("trusted", "believed"), [("127.0.0.1", True), ("10.9.9.9", False)])
def test_the_forwarded_scheme_is_believed_from_trusted_proxies_only(
    tmp_path: Path, trusted: str, believed: bool
) -> None:
    env = comptoir_env(f"sqlite+aiosqlite:///{tmp_path / 'proxy.sqlite'}", tmp_path)
    run_comptoir("migrate", env=env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        "serve",
        "--port",
        str(port),
        "--forwarded-allow-ips",
        trusted,
        env=env,
        log=tmp_path / "serve.log",
        ready_url=f"{base}/health/live",
    ):
        # HSTS goes only on answers served over HTTPS: the scheme the proxy reports
        assert (_hsts(base, "https") is not None) is believed
        assert _hsts(base, "http") is None


@pytest.mark.parametrize("workers", ["0", "65", "deux"])
def test_a_bad_worker_count_is_one_french_line(tmp_path: Path, workers: str) -> None:
    done = subprocess.run(
        [str(COMPTOIR), "serve", "--workers", workers],
        env=comptoir_env(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite'}", tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "nombre de processus invalide" in done.stderr
