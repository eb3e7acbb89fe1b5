"""Counting the SQL statements a request runs (N+1 tests): a `before_cursor_execute` listener
on the engine's sync engine, the one way the suite counts (fixture `count_sql` in conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class StatementCount:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __len__(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[StatementCount]:
    counted = StatementCount()

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counted.statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        yield counted
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)


class SqlCounter:
    """`with count_sql() as counted:` counts what runs on the test database while the block
    is open; `count_sql(other_engine)` counts on another one (the demo database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self, engine: AsyncEngine | None = None) -> AbstractContextManager[StatementCount]:
        return count_statements(engine or self.engine)


class RoundTrips:
    """What a request costs the database: statements, transaction boundaries the driver sends
    (BEGIN, COMMIT, ROLLBACK: none on an AUTOCOMMIT connection) and pool checkouts."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.boundaries = 0
        self.checkouts = 0

    @property
    def total(self) -> int:
        return len(self.statements) + self.boundaries


@contextmanager
def count_round_trips(engine: AsyncEngine) -> Iterator[RoundTrips]:
    counted = RoundTrips()
    sync_engine = engine.sync_engine

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        counted.statements.append(text)

    def boundary(conn: Any, *args: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counted.boundaries += 1

    def checkout(*args: Any) -> None:
        counted.checkouts += 1

    listeners: list[tuple[Any, str, Any]] = [
        (sync_engine, "before_cursor_execute", statement),
        (sync_engine, "begin", boundary),
        (sync_engine, "commit", boundary),
        (sync_engine, "rollback", boundary),
        (sync_engine.pool, "checkout", checkout),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield counted
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
