"""The async engine and the session factory: one session per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer writes; SQLite leaves foreign keys off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    """An engine for the configured database, with the per-backend tuning applied."""
    options: dict[str, Any] = {"echo": settings.database_echo}
    if settings.is_sqlite:
        # A file database: make sure its folder exists, and keep connections (cheap) pooled.
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:
        # No pre-ping (a round trip per checkout): a dead connection fails its statement, and
        # SQLAlchemy then invalidates every connection of the pool checked out before (it
        # recognises disconnects); pool_recycle retires connections before servers or proxies
        # drop idle ones.
        options.update(pool_size=10, max_overflow=10, pool_pre_ping=False, pool_recycle=1800)
    options.update(overrides)
    if options.get("poolclass") is NullPool:
        options.pop("pool_size", None)
        options.pop("max_overflow", None)
    engine = create_async_engine(settings.database_url, **options)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without a lazy reload, which
    # async SQLAlchemy cannot do.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends, roll everything back if it raises."""
    async with factory() as session, session.begin():
        yield session
