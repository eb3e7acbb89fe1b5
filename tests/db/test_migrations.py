"""Alembic owns the schema: it upgrades from empty, downgrades to base and matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

import db.models
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine
from tests.conftest import ThrowawayDatabases


def _table_names(sync_connection: sa.Connection) -> set[str]:
    return set(sa.inspect(sync_connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_from_empty_then_downgrade_to_base(databases: ThrowawayDatabases) -> None:
    # given an empty database
    engine = create_engine(Settings(database_url=await databases.new_url()), poolclass=NullPool)
    try:
        # when it is upgraded to head
        await migrate.upgrade(engine)
        # then every model table exists, at the head revision
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
        assert tables == set(db.models.metadata.tables)
        assert await migrate.current_revision(engine) == migrate.head_revision()

        # when it is downgraded to base, then nothing of ours is left
        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == set()
        assert await migrate.current_revision(engine) is None

        # and it upgrades again cleanly
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_models_and_migrations_do_not_drift(engine: sa.ext.asyncio.AsyncEngine) -> None:
    def differences(sync_connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
        return compare_metadata(context, db.models.metadata)

    async with engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == [], f"autogenerate would change the schema: {diff}"
