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
