"""The outbox worker: claims due mails, sends them, records the outcome.

Claiming. A claim is one short transaction that sets the due rows to SENDING with
`next_attempt_at` as a lease (now + `lease_seconds`). On PostgreSQL the rows are chosen with
`SELECT … FOR UPDATE SKIP LOCKED`, then updated in the same transaction, so concurrent
workers take disjoint batches without waiting on each other. On SQLite, which has no row
locks, a single UPDATE … WHERE id IN (SELECT …) RETURNING is atomic because SQLite
serialises writers, and its WHERE re-checks the state. Sending happens after the claim has
committed.

Exactly once. A mail is marked SENT right after the server accepted it. The only way it can
be sent twice is a worker that dies (or stalls past its lease) between the server's
acceptance and that mark: its SENDING row's lease expires and another worker claims it
again. The Message-ID is derived from the idempotency key, so such a re-send is the same
message to every mail client and server that de-duplicates on it.

Failures. A failed send is retried with exponential backoff (base × 2^(attempts−1), capped,
plus up to 10 % jitter so that a fleet does not retry in step); after
`mail_max_attempts` the mail is DEAD: it stays in the table, counted and logged for
operators (`mailers.outbox.requeue_dead_mail` gives it another round). A message the server
refuses for good (5xx on all recipients or on the data) is DEAD at once.

Secrecy. Logs and `last_error` carry ids, templates, counts and the error's type with a
scrubbed message: never a body, a link, a token or the SMTP credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from db.core import OUTBOX
from db.engine import transaction
from db.types import utcnow
from domain.enums import MailStatus
from mailers.mails import build_message
from mailers.outbox import count_by_status
from mailers.transport import ClosableTransport, MailTransport, build_transport

logger = logging.getLogger("comptoir.mailers")

TABLE = OUTBOX
MAX_ERROR_LENGTH = 300
JITTER = 0.1

Sessions = async_sessionmaker[AsyncSession]


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    idempotency_key: str
    template: str
    recipients: list[str]
    subject: str
    context: dict[str, Any]
    attempts: int


def lease_seconds(settings: Settings) -> float:
    """How long a claim is held: a whole batch may hit the SMTP timeout once per mail, and
    the lease must outlast that, or another worker would claim (and send) a mail again."""
    return settings.smtp_timeout_seconds * settings.mail_batch_size + 60.0


def retry_delay(settings: Settings, attempts: int, *, jitter: float | None = None) -> timedelta:
    """The wait before attempt `attempts + 1`, given `attempts` failed ones (≥ 1)."""
    base = min(
        settings.mail_retry_base_seconds * 2 ** max(attempts - 1, 0),
        settings.mail_retry_max_seconds,
    )
    spread = random.uniform(0, JITTER) if jitter is None else jitter
    return timedelta(seconds=base * (1 + spread))


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{24,}")


def describe_error(exc: BaseException, settings: Settings) -> str:
    """The error's type and a short message, with anything secret-looking removed.

    Servers echo parts of the dialogue in their replies; a credential, a link or a token
    must not travel from there into the database or the logs.
    """
    message = " ".join(str(exc).split())
    secrets = [settings.smtp_password.get_secret_value()] if settings.smtp_password else []
    if settings.smtp_username:
        secrets.append(settings.smtp_username)
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    message = _URL.sub("<lien>", message)
    message = _TOKEN.sub("***", message)
    if len(message) > MAX_ERROR_LENGTH:
        message = message[: MAX_ERROR_LENGTH - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _is_permanent(exc: BaseException) -> bool:
    """Refusals that no retry will change (the address or the message is refused)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= e.code < 600 for e in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return 500 <= exc.code < 600
    return False


def _due(now: datetime, key_prefix: str | None) -> list[sa.ColumnElement[bool]]:
    # A SENDING row whose lease has run out belongs to a worker that died: due again.
    conditions = [
        TABLE.c.status.in_([MailStatus.PENDING, MailStatus.SENDING]),
        TABLE.c.next_attempt_at <= now,
    ]
    if key_prefix is not None:
        conditions.append(TABLE.c.idempotency_key.startswith(key_prefix, autoescape=True))
    return conditions


async def _claim(
    sessions: Sessions,
    settings: Settings,
    *,
    now: datetime,
    size: int,
    key_prefix: str | None,
) -> list[_Claimed]:
    due = _due(now, key_prefix)
    chosen = (
        select(TABLE.c.id)
        .where(*due)
        .order_by(TABLE.c.next_attempt_at, TABLE.c.id)
        .limit(size)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    claim = (
        sa.update(TABLE)
        .values(
            status=MailStatus.SENDING,
            next_attempt_at=now + timedelta(seconds=lease_seconds(settings)),
        )
        .returning(
            TABLE.c.id,
            TABLE.c.idempotency_key,
            TABLE.c.template,
            TABLE.c.recipients,
            TABLE.c.subject,
            TABLE.c.context,
            TABLE.c.attempts,
        )
    )
    async with transaction(sessions) as session:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            # Two statements, not `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP
            # LOCKED)`: PostgreSQL may run that sub-select once per outer row, each run
            # skipping the rows the statement itself just updated, and so claim far more
            # than n rows (measured: 30 claimed with a limit of 3).
            ids = list((await session.exec(chosen)).all())
            if not ids:
                return []
            statement = claim.where(TABLE.c.id.in_(ids))
        else:
            # SQLite has no row locks but serialises writers: one UPDATE is atomic, where a
            # SELECT then an UPDATE in a deferred transaction would deadlock two workers.
            statement = claim.where(TABLE.c.id.in_(chosen.scalar_subquery()), *due)
        rows = (await session.exec(statement)).all()
    claimed = [_Claimed(*row) for row in rows]
    claimed.sort(key=lambda mail: mail.id)
    return claimed


# Context entries that carry a live secret (single-use links): once the mail is out, the
# outbox keeps what was said, not the keys to the accounts.
SECRET_CONTEXT_KEYS = ("activation_url", "reset_url")


def scrubbed(context: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ("[envoyé]" if key in SECRET_CONTEXT_KEYS and "#token=" in str(value) else value)
        for key, value in context.items()
    }


async def _mark_sent(sessions: Sessions, mail: _Claimed, *, at: datetime) -> None:
    async with transaction(sessions) as session:
        await session.exec(
            sa.update(TABLE)
            .where(TABLE.c.id == mail.id)
            .values(
                status=MailStatus.SENT,
                sent_at=at,
                attempts=mail.attempts + 1,
                last_error=None,
                context=scrubbed(mail.context),
            )
        )


async def _mark_failed(
    sessions: Sessions,
    settings: Settings,
    mail: _Claimed,
    error: str,
    *,
    now: datetime,
    permanent: bool,
) -> MailStatus:
    attempts = mail.attempts + 1
    dead = permanent or attempts >= settings.mail_max_attempts
    status = MailStatus.DEAD if dead else MailStatus.PENDING
    values: dict[str, Any] = {"attempts": attempts, "last_error": error, "status": status}
    if not dead:
        values["next_attempt_at"] = now + retry_delay(settings, attempts)
    async with transaction(sessions) as session:
        await session.exec(sa.update(TABLE).where(TABLE.c.id == mail.id).values(**values))
    return status


async def _deliver_one(
    sessions: Sessions,
    transport: MailTransport,
    settings: Settings,
    mail: _Claimed,
    *,
    now: datetime,
    report: DeliveryReport,
) -> None:
    try:
        message = build_message(
            idempotency_key=mail.idempotency_key,
            template=mail.template,
            recipients=mail.recipients,
            subject=mail.subject,
            context=mail.context,
            sender=settings.mail_from,
            now=now,
        )
        await transport.send(message)
    except Exception as exc:  # one bad mail must not stop the others
        error = describe_error(exc, settings)
        status = await _mark_failed(
            sessions, settings, mail, error, now=now, permanent=_is_permanent(exc)
        )
        if status is MailStatus.DEAD:
            report.dead += 1
            logger.error(
                "mail %s (%s) abandonné après %d tentative(s) : %s",
                mail.id,
                mail.template,
                mail.attempts + 1,
                error,
            )
        else:
            report.retried += 1
            logger.warning(
                "mail %s (%s) non envoyé, tentative %d/%d : %s",
                mail.id,
                mail.template,
                mail.attempts + 1,
                settings.mail_max_attempts,
                error,
            )
        return
    await _mark_sent(sessions, mail, at=utcnow())
    report.sent += 1
    logger.debug("mail %s (%s) envoyé", mail.id, mail.template)


async def deliver_due_mails(
    sessions: Sessions,
    transport: MailTransport,
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    key_prefix: str | None = None,
) -> DeliveryReport:
    """Sends the mails due at `now`, batch after batch, until none is due or `limit` were
    handled. `key_prefix` restricts the run to idempotency keys starting with it (tests,
    or an operator flushing one kind of mail)."""
    report = DeliveryReport()
    moment = now or utcnow()
    while limit is None or report.handled < limit:
        size = settings.mail_batch_size
        if limit is not None:
            size = min(size, limit - report.handled)
        batch = await _claim(sessions, settings, now=moment, size=size, key_prefix=key_prefix)
        for mail in batch:
            await _deliver_one(sessions, transport, settings, mail, now=moment, report=report)
        if len(batch) < size:
            break
        if now is None:
            moment = utcnow()
    if isinstance(transport, ClosableTransport):
        # Hang up between runs: an idle SMTP connection would be cut by the server anyway.
        await transport.close()
    if report.handled:
        logger.info(
            "outbox : %d envoyé(s), %d à réessayer, %d abandonné(s)",
            report.sent,
            report.retried,
            report.dead,
        )
    return report


async def run_worker(settings: Settings, sessions: Sessions, stop: asyncio.Event) -> None:
    """Delivers due mails every `mail_poll_seconds` until `stop` is set."""
    transport = build_transport(settings)
    logger.info("worker d'envoi des mails démarré (transport %s)", settings.mail_transport)
    try:
        async with sessions() as session:
            dead = (await count_by_status(session))[MailStatus.DEAD]
        if dead:
            logger.warning("%d mail(s) abandonné(s) (statut DEAD) attendent un opérateur", dead)
    except Exception as exc:
        logger.error("outbox illisible : %s", type(exc).__name__)
    while not stop.is_set():
        try:
            await deliver_due_mails(sessions, transport, settings)
        except Exception as exc:  # e.g. the database restarting: try again at the next tick
            logger.error("tour d'envoi interrompu : %s", describe_error(exc, settings))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.mail_poll_seconds)
    if isinstance(transport, ClosableTransport):
        await transport.close()
    logger.info("worker d'envoi des mails arrêté")


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, sessions: Sessions) -> AsyncIterator[None]:
    """The worker as a background task of another process (the API under `make run`, when
    `run_mail_worker` is set): started on entry, stopped and awaited on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, sessions, stop), name="comptoir-mail-worker")
    try:
        yield
    finally:
        stop.set()
        await task
