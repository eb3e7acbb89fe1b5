"""Outbox throughput: queue mails, then time the worker sending them to a local SMTP server
(aiosmtpd on loopback) and to `.eml` files.

.venv/bin/python bench/outbox_throughput.py                  # a fresh SQLite file under var/bench
.venv/bin/python bench/outbox_throughput.py --mails 5000 --workers 2
.venv/bin/python bench/outbox_throughput.py --database-url postgresql+asyncpg://postgres@127.0.0.1/postgres
    # PostgreSQL: a throwaway database comptoir_bench_<random> is made on that server and dropped

The workers share this process (and its one core) with the SMTP server: `--workers 2` shows
that concurrent claims stay exact, not how far separate worker processes scale.

Each mail is an activation mail (subject, French HTML + text from the templates, one
recipient), rendered at send time as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import make_url, text
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from comptoir.settings import MailTransport, Settings, normalise_database_url
from db import migrate
from db.engine import create_engine, create_session_factory, transaction
from db.types import utcnow
from mailers.mails import queue_activation
from mailers.transport import build_transport
from mailers.worker import DeliveryReport, deliver_due_mails


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Counting:
    """An SMTP handler that accepts and counts (the server's own cost stays small)."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 2.0.0 OK"


async def queue(settings: Settings, count: int, first_id: int) -> float:
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    expires = utcnow() + timedelta(hours=24)
    started = time.perf_counter()
    for chunk in range(0, count, 500):
        async with transaction(sessions) as session:
            for n in range(chunk, min(chunk + 500, count)):
                await queue_activation(
                    session,
                    email=f"agent{n}@mairie-exemple.fr",
                    full_name=f"Agent {n}",
                    activation_url=f"https://espace.comptoir.example/activer?jeton=bench{n}",
                    expires_at=expires,
                    token_id=first_id + n,
                )
    seconds = time.perf_counter() - started
    await engine.dispose()
    return seconds


async def deliver(settings: Settings, workers: int) -> tuple[float, list[DeliveryReport]]:
    engines = [create_engine(settings) for _ in range(workers)]
    started = time.perf_counter()
    reports = await asyncio.gather(
        *(
            deliver_due_mails(create_session_factory(e), build_transport(settings), settings)
            for e in engines
        )
    )
    seconds = time.perf_counter() - started
    for engine in engines:
        await engine.dispose()
    return seconds, list(reports)


async def run(url: str, mails: int, workers: int) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    backend = make_url(url).get_backend_name()
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            base = Settings(database_url=url, mail_dir=Path(folder) / "mail")
            smtp = base.model_copy(
                update={
                    "mail_transport": MailTransport.SMTP,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_starttls": False,
                }
            )
            for name, settings, first_id in (("smtp", smtp, 10**9), ("file", base, 2 * 10**9)):
                queued = await queue(settings, mails, first_id)
                seconds, reports = await deliver(settings, workers)
                sent = sum(r.sent for r in reports)
                failed = sum(r.retried + r.dead for r in reports)
                print(
                    f"backend={backend} transport={name} workers={workers} mails={mails} "
                    f"queue={mails / queued:,.0f}/s deliver={seconds:.2f}s "
                    f"throughput={sent / seconds:,.0f} mails/s sent={sent} failed={failed}"
                    + (f" received={handler.received}" if name == "smtp" else "")
                )
            files = len(list((Path(folder) / "mail").glob("*.eml")))
            print(f"  .eml files written: {files}")
    finally:
        controller.stop()


async def throwaway_database(server_url: str, *, drop: str | None = None) -> str:
    admin = create_engine(
        Settings(database_url=server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    name = drop or f"comptoir_bench_{secrets.token_hex(4)}"
    async with admin.connect() as connection:
        if drop:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: a fresh SQLite file)")
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="concurrent workers")
    args = parser.parse_args()
    if args.database_url:
        server = normalise_database_url(args.database_url)
        url = asyncio.run(throwaway_database(server))
        try:
            asyncio.run(run(url, args.mails, args.workers))
        finally:
            asyncio.run(throwaway_database(server, drop=make_url(url).database))
        return
    else:
        path = Path("var/bench/outbox.sqlite")
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(run(url, args.mails, args.workers))


if __name__ == "__main__":
    main()
