"""Scheduled work run inside the API process under `make run` (production calls the CLI).

The API root may not import resolvers (import contract), so the app's lifespan starts the
loops through this module, as it starts the mail worker through `mailers.worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.alert_detection import detect_alerts
from api.resolvers.alert_notifications import send_alert_notifications
from comptoir.settings import Settings
from db.types import utcnow

log = logging.getLogger("comptoir.scheduled")


async def run_alert_detection_every(
    seconds: float,
    sessions: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    settings: Settings | None = None,
) -> None:
    """Detects alerts now, then every `seconds`, until `stop` is set; with `settings`, queues
    the immediate mails of the new alerts after each run. A failed run is logged and the next
    one comes at its time: each run is safe to repeat."""
    while not stop.is_set():
        try:
            now = utcnow()
            report = await detect_alerts(sessions, now=now)
            log.info("détection des alertes : %s", report.summary())
            if settings is not None:
                sent = await send_alert_notifications(sessions, settings, now=now)
                log.info("notification des alertes : %s", sent.summary())
        except Exception:  # a bug or the database away: keep the schedule going
            log.exception("la détection des alertes a échoué")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


@asynccontextmanager
async def running_alert_detection(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[None]:
    """The detection loop as a background task: started on entry, stopped on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_alert_detection_every(
            settings.alert_detection_interval_minutes * 60, sessions, stop, settings
        ),
        name="comptoir-alert-detection",
    )
    try:
        yield
    finally:
        stop.set()
        await task
