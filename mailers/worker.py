"""The outbox worker: claims due mails, sends them, records the outcome.

Claiming. A claim is one short transaction that sets the due rows to SENDING with
`next_attempt_at` as a lease (now + `mail_lease_seconds`). On PostgreSQL the rows are chosen
with `SELECT … FOR UPDATE SKIP LOCKED`, then updated in the same transaction, so concurrent
workers take disjoint batches without waiting on each other. On SQLite, which has no row
locks, a single UPDATE … WHERE id IN (SELECT …) RETURNING is atomic because SQLite
serialises writers, and its WHERE re-checks the state. Sending happens after the claim has
committed.

Leases: short, with a heartbeat. While a run holds rows (claimed, outcome not yet written), a
task beside it pushes their lease to now + `mail_lease_seconds` every third of that lease.
Chosen over one lease sized for the whole batch (timeout × batch size: 26 minutes with the
defaults, all of it lost after a crash) and over per-mail renewals done between two sends
(a renewal would then wait behind a slow send or a slow database write): the heartbeat
renews on its own clock whatever the send is doing, so a live worker never sees its lease
expire, and a dead one's mails are due again at most one lease (60 s) after its last beat:
another worker takes them over within a lease plus a poll. No column is needed:
`next_attempt_at` of a SENDING row is its lease.

Stopping. `stop` is checked between two mails: the mail in flight finishes (a whole send is
bounded by `mail_send_timeout_seconds`), the claimed mails not yet tried are released at once
(PENDING, due now, no attempt counted), and the run ends.

Guarantee: at least once. A mail is marked SENT only after the server accepted it, so no
mail is marked sent without reaching the server and none is lost. It is sent twice only when
the server accepted it and its SENT mark never lands: the worker dies (SIGKILL, power loss)
in that window, or the database stays unreachable longer than the lease after the send. A
mark that fails is kept and written again before each next mail and at the end of the run,
while the heartbeat keeps its row held; the batch goes on meanwhile. Every re-send carries
the same Message-ID, derived from the idempotency key (`mailers.outbox.message_id`), so mail
clients and servers that de-duplicate on it show one message.

Failures. A failed send is retried with exponential backoff counted from the failure
(base × 2^(attempts−1), capped, plus up to 10 % jitter so that a fleet does not retry in
step); after `mail_max_attempts` the mail is DEAD: it stays in the table, counted and logged
for operators (`mailers.outbox.requeue_dead_mail` gives it another round). A message the
server refuses for good (5xx on all recipients or on the data) is DEAD at once.

Secrecy. Logs and `last_error` carry ids, templates, counts and the error's type with a
scrubbed message: never a body, a link, a token or the SMTP credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
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
    """How long a claim is held without a heartbeat: what a crash costs before another
    worker takes the mails over."""
    return settings.mail_lease_seconds


def heartbeat_seconds(settings: Settings) -> float:
    """How often a live worker renews its lease: three beats per lease, so that two missed
    ones (a slow database) still leave it held."""
    return settings.mail_lease_seconds / 3


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
        # A crashed worker's mails first: their expired lease is later than the backlog's
        # due times, and they would otherwise wait for the whole backlog to drain.
        .order_by(
            sa.case((TABLE.c.status == MailStatus.SENDING, 0), else_=1),
            TABLE.c.next_attempt_at,
            TABLE.c.id,
        )
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


def _failure_values(
    settings: Settings, mail: _Claimed, error: str, *, now: datetime, permanent: bool
) -> dict[str, Any]:
    attempts = mail.attempts + 1
    dead = permanent or attempts >= settings.mail_max_attempts
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_error": error,
        "status": MailStatus.DEAD if dead else MailStatus.PENDING,
    }
    if not dead:
        values["next_attempt_at"] = now + retry_delay(settings, attempts)
    return values


async def _mark_failed(sessions: Sessions, mail: _Claimed, values: dict[str, Any]) -> None:
    async with transaction(sessions) as session:
        await session.exec(sa.update(TABLE).where(TABLE.c.id == mail.id).values(**values))


Clock = Callable[[], datetime]


class _Holding:
    """The rows a run has claimed and not settled yet, and the heartbeat that keeps their
    lease alive while the run lives (see the module's docstring)."""

    def __init__(self, sessions: Sessions, settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self.ids: set[int] = set()

    async def _renew(self) -> None:
        ids = sorted(self.ids)
        if not ids:
            return
        lease = self._clock() + timedelta(seconds=lease_seconds(self._settings))
        async with transaction(self._sessions) as session:
            await session.exec(
                sa.update(TABLE)
                .where(TABLE.c.id.in_(ids), TABLE.c.status == MailStatus.SENDING)
                .values(next_attempt_at=lease)
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(heartbeat_seconds(self._settings))
            try:
                await self._renew()
            except Exception as exc:  # the next beat tries again; the lease has room for it
                logger.warning(
                    "bail des mails en cours non renouvelé : %s",
                    describe_error(exc, self._settings),
                )

    @contextlib.asynccontextmanager
    async def beating(self) -> AsyncIterator[_Holding]:
        task = asyncio.create_task(self._beat(), name="comptoir-mail-lease")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def release(self, mails: list[_Claimed]) -> None:
        """Gives back claimed mails that were not tried: due at once, no attempt counted."""
        ids = [mail.id for mail in mails]
        if not ids:
            return
        try:
            async with transaction(self._sessions) as session:
                await session.exec(
                    sa.update(TABLE)
                    .where(TABLE.c.id.in_(ids), TABLE.c.status == MailStatus.SENDING)
                    .values(status=MailStatus.PENDING, next_attempt_at=self._clock())
                )
        except Exception as exc:  # they go back to others when their lease ends
            logger.error("mails non rendus à l'arrêt : %s", describe_error(exc, self._settings))
            return
        self.ids.difference_update(ids)


@dataclass(slots=True)
class _Outcome:
    """An outcome to write: kept and written again when the database fails (item: a send
    the server accepted must end up SENT, not re-sent after the lease)."""

    mail: _Claimed
    write: Callable[[], Awaitable[None]]


class _Outcomes:
    def __init__(self, holding: _Holding, settings: Settings) -> None:
        self._holding = holding
        self._settings = settings
        self.unwritten: list[_Outcome] = []

    async def record(self, outcome: _Outcome) -> None:
        self.unwritten.append(outcome)
        await self.flush()

    async def flush(self) -> bool:
        """Writes what is waiting, oldest first; False when the database still fails."""
        while self.unwritten:
            outcome = self.unwritten[0]
            try:
                await outcome.write()
            except Exception as exc:
                logger.error(
                    "issue du mail %s non enregistrée, nouvel essai au prochain mail : %s",
                    outcome.mail.id,
                    describe_error(exc, self._settings),
                )
                return False
            self.unwritten.pop(0)
            self._holding.ids.discard(outcome.mail.id)
        return True

    async def drain(self, stop: asyncio.Event | None) -> None:
        """Waits for the database until every outcome is written; after a stop request, for
        one SMTP timeout at most (the rows then go back to others when their lease ends)."""
        pause = min(1.0, heartbeat_seconds(self._settings))
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        while not await self.flush():
            if stop is not None and stop.is_set():
                deadline = deadline or loop.time() + self._settings.smtp_timeout_seconds
                if loop.time() >= deadline:
                    return
            await asyncio.sleep(pause)


async def _send(
    transport: MailTransport, settings: Settings, mail: _Claimed, now: datetime
) -> None:
    message = build_message(
        idempotency_key=mail.idempotency_key,
        template=mail.template,
        recipients=mail.recipients,
        subject=mail.subject,
        context=mail.context,
        sender=settings.mail_from,
        now=now,
    )
    # The SMTP timeout bounds each step of the dialogue; this bounds the whole of it.
    async with asyncio.timeout(settings.mail_send_timeout_seconds):
        await transport.send(message)


async def _deliver_one(
    sessions: Sessions,
    transport: MailTransport,
    settings: Settings,
    mail: _Claimed,
    *,
    clock: Clock,
    outcomes: _Outcomes,
    report: DeliveryReport,
) -> None:
    try:
        await _send(transport, settings, mail, clock())
    except Exception as exc:  # one bad mail must not stop the others
        error = describe_error(exc, settings)
        if isinstance(exc, TimeoutError) and not error.removeprefix("TimeoutError"):
            error = f"TimeoutError: envoi de plus de {settings.mail_send_timeout_seconds:g} s"
        # Backoff from the failure itself, not from the start of the batch.
        values = _failure_values(settings, mail, error, now=clock(), permanent=_is_permanent(exc))
        if values["status"] is MailStatus.DEAD:
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
        await outcomes.record(_Outcome(mail, lambda: _mark_failed(sessions, mail, values)))
        return
    sent_at = utcnow()
    report.sent += 1
    logger.debug("mail %s (%s) envoyé", mail.id, mail.template)
    await outcomes.record(_Outcome(mail, lambda: _mark_sent(sessions, mail, at=sent_at)))


async def deliver_due_mails(
    sessions: Sessions,
    transport: MailTransport,
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    key_prefix: str | None = None,
    stop: asyncio.Event | None = None,
) -> DeliveryReport:
    """Sends the mails due at `now` (the wall clock when None), batch after batch, until none
    is due, `limit` were handled or `stop` is set. `key_prefix` restricts the run to
    idempotency keys starting with it (tests, or an operator flushing one kind of mail)."""
    report = DeliveryReport()
    clock: Clock = (lambda: now) if now is not None else utcnow
    holding = _Holding(sessions, settings, clock)
    outcomes = _Outcomes(holding, settings)

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    try:
        async with holding.beating():
            while not stopping() and (limit is None or report.handled < limit):
                size = settings.mail_batch_size
                if limit is not None:
                    size = min(size, limit - report.handled)
                if not await outcomes.flush():
                    await outcomes.drain(stop)  # claim nothing more while marks wait
                    continue
                batch = await _claim(
                    sessions, settings, now=clock(), size=size, key_prefix=key_prefix
                )
                holding.ids.update(mail.id for mail in batch)
                for position, mail in enumerate(batch):
                    if stopping():
                        await holding.release(batch[position:])
                        break
                    if outcomes.unwritten:
                        await outcomes.flush()
                    await _deliver_one(
                        sessions,
                        transport,
                        settings,
                        mail,
                        clock=clock,
                        outcomes=outcomes,
                        report=report,
                    )
                if len(batch) < size:
                    break
            await outcomes.drain(stop)
    finally:
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
    """Delivers due mails every `mail_poll_seconds` until `stop` is set (checked between two
    mails, see the module's docstring)."""
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
            await deliver_due_mails(sessions, transport, settings, stop=stop)
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
