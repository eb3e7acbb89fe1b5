"""The `small` demo data set, loaded once per session into a fresh migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine
from demo import DemoReport, load_demo_data

AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="session")
async def demo_engine(databases) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def demo_report(demo_engine: AsyncEngine) -> DemoReport:
    return await load_demo_data(demo_engine, scale="small", as_of=AS_OF)
