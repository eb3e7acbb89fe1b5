"""In-process GraphQL helpers: run a document as a given person (their caller loaded from the
database exactly as a request would), and read what the outbox holds for someone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.authentication import Authentication
from api.context import Context
from api.schema.schema import build_schema
from auth.caller import load_caller
from comptoir.settings import Settings
from db.models import OutboxMail, User
from tests.clock import NOW


class Runner:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        now: datetime = NOW,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.now = now  # the request context's clock (tests.clock), never the wall clock

    async def context(self, user: User | None, *, now: datetime | None = None) -> Context:
        """The request's context; `now` injects the request's clock (never the wall clock in
        a test about dates)."""
        caller = None
        if user is not None:
            async with self.sessions() as session:
                caller = await load_caller(session, user_id=user.id, now=now or self.now)  # type: ignore[arg-type]
        return Context(
            request=None,
            settings=self.settings,
            sessions=self.sessions,
            authentication=Authentication(caller),
            now=now or self.now,
        )

    async def run(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        as_user: User | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """The data of the answer; fails on any top-level error."""
        result = await build_schema().execute(
            document, variables, context_value=await self.context(as_user, now=now)
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    async def raw(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        as_user: User | None = None,
        now: datetime | None = None,
    ) -> Any:
        return await build_schema().execute(
            document, variables, context_value=await self.context(as_user, now=now)
        )

    async def mails_to(self, email: str, template: str) -> list[OutboxMail]:
        async with self.sessions() as session:
            rows = await session.exec(
                select(OutboxMail).where(OutboxMail.template == template).order_by(OutboxMail.id)  # type: ignore[arg-type]
            )
            return [m for m in rows.all() if email in m.recipients]

    async def count(self, model: Any, *where: Any) -> int:
        async with self.sessions() as session:
            return (
                await session.exec(select(sa.func.count()).select_from(model).where(*where))
            ).one()
