"""One connection for all the reads of a request (STYLE.md, lessons: per-request costs dominate
small queries).

A query's root resolvers and DataLoaders each open `async with ctx.sessions() as session:`;
with the application's session factory every such block checked a connection out of the pool
and wrapped its statements in BEGIN … ROLLBACK: three round trips of overhead per block, a
dozen blocks on the technical sheet. `RequestReads` holds one pooled connection for the whole
request, in AUTOCOMMIT (the driver sends no BEGIN/ROLLBACK: every statement is its own
snapshot, as each session's was), and its `sessions` is a drop-in `async_sessionmaker` whose
sessions are bound to that connection.

strawberry resolves sibling fields concurrently and a connection runs one statement at a time:
a session block holds the request's lock from `async with` to its end, so blocks take turns.
The lock is re-entrant for the task that holds it (a resolver nesting two blocks). A block that
waits longer than `SECOND_CONNECTION_AFTER` (a resolver holding a block while it awaits a
DataLoader would otherwise wait for ever) gets a connection of its own instead: slower, never
stuck.

Writes never come here: mutations keep the application's factory (one transaction each), and
a session of this factory refuses `begin()`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

SECOND_CONNECTION_AFTER = 2.0  # seconds


class ReadOnlySessionError(RuntimeError):
    """A write attempted through a query's shared read connection (a bug: write in a mutation)."""


class RequestReads:
    """The request's read connection, opened on first use and given back by `close()`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0
        self.sessions = SharedSessions(self)

    async def connection(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self.engine.connect()
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = connection
        return self._connection

    async def acquire(self) -> AsyncConnection | None:
        """Takes the request's turn: None when this block got the shared connection (release
        with `release()`), or a private connection when the turn took too long."""
        task = asyncio.current_task()
        if self._owner is task and task is not None:
            self._depth += 1
            return None
        if not self._lock.locked():
            # Free: taken at once (wait_for's timer costs more than most blocks' SQL).
            await self._lock.acquire()
            self._owner, self._depth = task, 1
            return None
        try:
            await asyncio.wait_for(self._lock.acquire(), SECOND_CONNECTION_AFTER)
        except TimeoutError:
            private = await self.engine.connect()
            await private.execution_options(isolation_level="AUTOCOMMIT")
            return private
        self._owner, self._depth = task, 1
        return None

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()


class SharedSession(AsyncSession):
    """A session on the request's read connection, holding the request's turn while open."""

    _reads: RequestReads
    _private: AsyncConnection | None = None
    _turn = False

    async def __aenter__(self) -> SharedSession:
        private = await self._reads.acquire()
        if private is None:
            self._turn = True
            connection = await self._reads.connection()
        else:
            self._private = connection = private
        self.bind = connection
        self.sync_session.bind = connection.sync_connection
        return self

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._private is not None:
                private, self._private = self._private, None
                await private.close()
            if self._turn:
                self._turn = False
                self._reads.release()

    def begin(self) -> Any:
        raise ReadOnlySessionError("a query reads only: writes belong to a mutation")


class SharedSessions(async_sessionmaker[AsyncSession]):
    """`async with sessions() as session:` on the request's read connection."""

    def __init__(self, reads: RequestReads) -> None:
        super().__init__(
            class_=SharedSession, expire_on_commit=False, autoflush=False, bind=reads.engine
        )
        self._reads = reads

    def __call__(self, **local_kw: Any) -> AsyncSession:
        session = super().__call__(**local_kw)
        assert isinstance(session, SharedSession)
        session._reads = self._reads
        return session


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The connection to run Core statements on: a shared session's own connection as it is
    (in autocommit, no ORM transaction to begin and close: measured 0.2 ms of CPU per block),
    any other session's through `session.connection()`."""
    if isinstance(session, SharedSession) and isinstance(session.bind, AsyncConnection):
        return session.bind
    return await session.connection()
