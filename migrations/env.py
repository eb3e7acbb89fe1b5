"""Alembic environment: async engine, every model imported, batch mode for SQLite."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import AutoString

import db.models
from comptoir.settings import Settings
from db.engine import create_engine

config = context.config
target_metadata = db.models.metadata


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write the project's column types so that migrations import nothing but `db.types`."""
    if kind != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if type(obj).__module__ == "db.types":
        autogen_context.imports.add("import db.types")
        return f"db.types.{obj!r}"
    return False


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    options: dict[str, Any] = {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_as_batch": True,  # SQLite alters tables by copying them
        "render_item": _render_item,
    }
    if connection is not None:
        context.configure(connection=connection, **options)
    else:
        context.configure(url=url, literal_binds=True, **options)


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def _database_url() -> str:
    return config.attributes.get("database_url") or Settings().database_url


if context.is_offline_mode():
    _configure(url=_database_url())
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    _run_sync(connection)
else:
    asyncio.run(_run_async(_database_url()))
