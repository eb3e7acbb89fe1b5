"""Mail delivery under faults, at scale: `comptoir worker` processes against a local aiosmtpd
server made to fail, on a fresh database per scenario.

.venv/bin/python bench/mail_faults.py                      # SQLite files under var/bench
.venv/bin/python bench/mail_faults.py --mails 2000 --kills 15
.venv/bin/python bench/mail_faults.py --database-url postgresql+asyncpg://postgres@127.0.0.1/postgres
.venv/bin/python bench/mail_faults.py --only sigkill

Scenarios: the server down then back; 451 on one mail in ten then accepted; 550 on one in
fifty (DEAD after one attempt); a server hanging once on one mail in a hundred (each send is
bounded); SIGTERM while the server is down; the worker SIGKILLed `--kills` times while
draining, a new one started each time; two and three workers at once.

Per scenario: queued / delivered (distinct Message-IDs received) / duplicates / lost (neither
received nor DEAD) / dead / phantom (SENT but never received: must be 0) / time to drain,
and the recovery time where a worker died (from the kill to its stranded mails being sent).
Leases of 2 s and timeouts of 1 s (through the environment) keep it short; the recovery bound
is the lease plus a poll plus a worker's start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from outbox_throughput import free_port, queue, throwaway_database

from comptoir.settings import Settings, normalise_database_url
from db import migrate
from db.core import OUTBOX
from db.engine import create_engine, create_session_factory
from domain.enums import MailStatus
from mailers.outbox import message_id

COMPTOIR = Path(sys.executable).parent / "comptoir"
LEASE_SECONDS = 2.0
POLL_SECONDS = 0.2
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.MULTILINE | re.IGNORECASE)


class FaultyServer:
    """An aiosmtpd handler refusing, hanging or accepting by recipient; counts Message-IDs."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.transient: set[str] = set()  # 451 the first time
        self.permanent: set[str] = set()  # 550 always
        self.hang_once: set[str] = set()  # hangs the first time (the worker cuts it)
        self._seen: set[str] = set()
        self.delay_seconds = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recipient = envelope.rcpt_tos[0]
        first = recipient not in self._seen
        self._seen.add(recipient)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if recipient in self.hang_once and first:
            await asyncio.sleep(600)
        if recipient in self.permanent:
            return "550 5.7.1 Message refusé"
        if recipient in self.transient and first:
            return "451 4.3.0 Réessayez plus tard"
        found = _MESSAGE_ID.search(envelope.original_content or envelope.content)
        self.received[found.group(1).decode() if found else "?"] += 1
        return "250 2.0.0 OK"


def recipient(n: int) -> str:
    return f"agent{n}@mairie-exemple.fr"


@dataclass
class Outcome:
    name: str
    queued: int
    seconds: float = 0.0
    recoveries: list[float] = field(default_factory=list)
    notes: str = ""


class Bench:
    def __init__(self, url: str, mails: int, folder: Path) -> None:
        self.url = url
        self.mails = mails
        self.folder = folder
        self.server = FaultyServer()
        self.port = free_port()
        self.controller: Controller | None = None
        self.engine = create_engine(Settings(database_url=url))
        self.sessions = create_session_factory(self.engine)
        self.first_id = 0

    def start_server(self) -> None:
        self.controller = Controller(self.server, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop_server(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def worker(self, **settings: object) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPTOIR_")}
        values: dict[str, object] = {
            "database_url": self.url,
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_starttls": "false",
            "smtp_timeout_seconds": 1,
            "mail_send_timeout_seconds": 1,
            "mail_poll_seconds": POLL_SECONDS,
            "mail_lease_seconds": LEASE_SECONDS,
            "mail_retry_base_seconds": 0.5,
            "mail_retry_max_seconds": 2,
            **settings,
        }
        env.update({f"COMPTOIR_{k.upper()}": str(v) for k, v in values.items()})
        return subprocess.Popen(
            [str(COMPTOIR), "worker", "--log-level", "critical"],
            env=env,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def reset(self) -> list[str]:
        """An empty outbox and a fresh server; `mails` new mails queued: their Message-IDs."""
        async with self.sessions() as session, session.begin():
            await session.exec(sa.delete(OUTBOX))
        self.server = FaultyServer()
        self.first_id += 10**6
        settings = Settings(database_url=self.url)
        await queue(settings, self.mails, self.first_id)
        async with self.sessions() as session:
            keys = (await session.exec(sa.select(OUTBOX.c.idempotency_key))).scalars().all()
        return [message_id(k) for k in keys]

    async def statuses(self) -> dict[str, MailStatus]:
        async with self.sessions() as session:
            rows = (await session.exec(sa.select(OUTBOX.c.idempotency_key, OUTBOX.c.status))).all()
        return {message_id(key): MailStatus(status) for key, status in rows}

    async def attempts(self) -> int:
        """Send attempts made so far, over every mail."""
        async with self.sessions() as session:
            total = (await session.exec(sa.select(sa.func.sum(OUTBOX.c.attempts)))).one()
        return int(total[0] or 0)

    async def drained(self, *, within: float = 600) -> float:
        started = time.monotonic()
        while True:
            states = set((await self.statuses()).values())
            if states <= {MailStatus.SENT, MailStatus.DEAD}:
                return time.monotonic() - started
            if time.monotonic() - started > within:
                raise TimeoutError("la file ne s'est pas vidée")
            await asyncio.sleep(0.1)

    async def report(self, outcome: Outcome, ids: list[str]) -> None:
        states = await self.statuses()
        received = self.server.received
        delivered = sum(1 for i in ids if received[i])
        dead = sum(1 for i in ids if states[i] is MailStatus.DEAD)
        duplicates = sum(count - 1 for i, count in received.items() if count > 1)
        lost = sum(1 for i in ids if not received[i] and states[i] is not MailStatus.DEAD)
        phantom = sum(1 for i in ids if states[i] is MailStatus.SENT and not received[i])
        line = (
            f"{outcome.name:<22} queued={outcome.queued} delivered={delivered} "
            f"duplicates={duplicates} lost={lost} dead={dead} phantom={phantom} "
            f"drain={outcome.seconds:.1f}s"
        )
        if outcome.recoveries:
            line += (
                f" kills={len(outcome.recoveries)} recovery max={max(outcome.recoveries):.1f}s "
                f"mean={sum(outcome.recoveries) / len(outcome.recoveries):.1f}s"
            )
        if outcome.notes:
            line += f" {outcome.notes}"
        print(line, flush=True)

    async def with_workers(self, name: str, count: int = 1, **settings: object) -> None:
        ids = await self.reset()
        self.start_server()
        started = time.monotonic()
        workers = [self.worker(**settings) for _ in range(count)]
        try:
            await self.drained()
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            for process in workers:
                process.wait(30)
            self.stop_server()
        await self.report(Outcome(name, len(ids), time.monotonic() - started), ids)

    async def faults(self, name: str, kind: str, every: int) -> None:
        ids = await self.reset()
        targets = {recipient(n) for n in range(0, self.mails, every)}
        setattr(self.server, kind, targets)
        self.start_server()
        started = time.monotonic()
        process = self.worker()
        try:
            await self.drained()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            self.stop_server()
        await self.report(Outcome(name, len(ids), time.monotonic() - started), ids)

    async def down_then_back(self, down_seconds: float = 3.0) -> None:
        ids = await self.reset()
        process = self.worker()
        await asyncio.sleep(down_seconds)
        self.start_server()
        back = time.monotonic()
        try:
            await self.drained()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            self.stop_server()
        await self.report(
            Outcome("down-then-back", len(ids), time.monotonic() - back, notes="(from back)"), ids
        )

    async def sigterm_during_failures(self) -> None:
        ids = await self.reset()
        process = self.worker(mail_retry_base_seconds=0.05, mail_max_attempts=50)
        # Stopped once it is failing sends, not while it starts up (a loaded machine may take
        # more than a few seconds to import and migrate-check).
        while await self.attempts() < 10:  # noqa: ASYNC110 - polling another process's rows
            await asyncio.sleep(0.1)
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 120)
        exit_seconds = time.monotonic() - asked
        sending = sum(1 for s in (await self.statuses()).values() if s is MailStatus.SENDING)
        self.start_server()
        started = time.monotonic()
        process = self.worker()
        try:
            await self.drained()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            self.stop_server()
        notes = f"exit={exit_seconds:.2f}s code={code} left_sending={sending}"
        await self.report(
            Outcome("sigterm-in-failures", len(ids), time.monotonic() - started, notes=notes), ids
        )

    async def sigkills(self, kills: int) -> None:
        ids = await self.reset()
        self.server.delay_seconds = 0.01
        self.start_server()
        started = time.monotonic()
        process = self.worker()
        recoveries: list[float] = []
        try:
            for _ in range(kills):
                # Killed while it holds mails, not while it starts up.
                states = await self.statuses()
                while MailStatus.SENDING not in set(states.values()):
                    if MailStatus.PENDING not in set(states.values()):
                        break  # nothing left to hold
                    await asyncio.sleep(0.05)
                    states = await self.statuses()
                await asyncio.sleep(random.uniform(0.2, 1.0))
                states = await self.statuses()
                if all(s in (MailStatus.SENT, MailStatus.DEAD) for s in states.values()):
                    break
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                killed = time.monotonic()
                stranded = {
                    i for i, s in (await self.statuses()).items() if s is MailStatus.SENDING
                }
                process = self.worker()
                while stranded:
                    states = await self.statuses()
                    stranded = {i for i in stranded if states[i] is MailStatus.SENDING}
                    if time.monotonic() - killed > 120:
                        raise TimeoutError("reprise trop lente")
                    await asyncio.sleep(0.05)
                recoveries.append(time.monotonic() - killed)
                if all(s in (MailStatus.SENT, MailStatus.DEAD) for s in states.values()):
                    break
            await self.drained()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
            self.stop_server()
        await self.report(
            Outcome("sigkill", len(ids), time.monotonic() - started, recoveries=recoveries), ids
        )

    async def close(self) -> None:
        await self.engine.dispose()


SCENARIOS = (
    "down",
    "451",
    "550",
    "hanging",
    "sigterm",
    "sigkill",
    "two-workers",
    "three-workers",
)


async def run(url: str, mails: int, kills: int, only: list[str]) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    print(
        f"backend={make_url(url).get_backend_name()} mails={mails} lease={LEASE_SECONDS:g}s "
        f"poll={POLL_SECONDS:g}s send bound=1s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(url, mails, Path(folder))
        try:
            for name in only:
                if name == "down":
                    await bench.down_then_back()
                elif name == "451":
                    await bench.faults("451-then-accepted", "transient", 10)
                elif name == "550":
                    await bench.faults("550-dead", "permanent", 50)
                elif name == "hanging":
                    await bench.faults("hanging-once", "hang_once", 100)
                elif name == "sigterm":
                    await bench.sigterm_during_failures()
                elif name == "sigkill":
                    await bench.sigkills(kills)
                elif name == "two-workers":
                    await bench.with_workers("two-workers", 2)
                elif name == "three-workers":
                    await bench.with_workers("three-workers", 3)
        finally:
            await bench.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=15)
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    if args.database_url:
        server = normalise_database_url(args.database_url)
        url = asyncio.run(throwaway_database(server))
        try:
            asyncio.run(run(url, args.mails, args.kills, args.only))
        finally:
            asyncio.run(throwaway_database(server, drop=make_url(url).database))
        return
    path = Path("var/bench/mail_faults.sqlite").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    asyncio.run(run(f"sqlite+aiosqlite:///{path}", args.mails, args.kills, args.only))


if __name__ == "__main__":
    main()
