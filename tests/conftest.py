"""Shared fixtures: a throwaway database per test session, migrated to head.

SQLite by default (a file in a temporary folder). When COMPTOIR_TEST_DATABASE_URL (or
COMPTOIR_DATABASE_URL) points at PostgreSQL, a fresh database named comptoir_test_<random> is
created on that server for the session and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings, normalise_database_url
from db import migrate
from db.engine import create_engine, create_session_factory
from demo import DemoReport, load_demo_data
from tests.e2e.server import LiveServer, serve
from tests.runner import Runner
from tests.sql_counter import SqlCounter


def _server_url() -> str | None:
    url = os.environ.get("COMPTOIR_TEST_DATABASE_URL") or os.environ.get("COMPTOIR_DATABASE_URL")
    if url and not make_url(url).get_backend_name().startswith("sqlite"):
        return normalise_database_url(url)
    return None


async def _create_postgres_database(server_url: str) -> str:
    name = f"comptoir_test_{secrets.token_hex(4)}"
    admin = create_engine(
        Settings(database_url=server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = create_engine(
        Settings(database_url=server_url), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


class ThrowawayDatabases:
    """Makes empty databases on the configured backend and removes them afterwards."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.server_url = _server_url()
        self._made: list[str] = []

    @property
    def backend(self) -> str:
        return "postgresql" if self.server_url else "sqlite"

    async def new_url(self) -> str:
        if self.server_url:
            url = await _create_postgres_database(self.server_url)
        else:
            url = f"sqlite+aiosqlite:///{self.tmp_dir / f'db_{secrets.token_hex(4)}.sqlite'}"
        self._made.append(url)
        return url

    async def drop_all(self) -> None:
        if self.server_url:
            for url in self._made:
                await _drop_postgres_database(self.server_url, url)


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ThrowawayDatabases]:
    made = ThrowawayDatabases(tmp_path_factory.mktemp("databases"))
    yield made
    await made.drop_all()


@pytest.fixture(scope="session")
async def migrated_url(databases: ThrowawayDatabases) -> str:
    """URL of the session's database, upgraded to the migrations' head (no create_all)."""
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture(scope="session")
def test_settings(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    files = tmp_path_factory.mktemp("files")
    return Settings(
        env="test",
        database_url=migrated_url,
        mail_dir=files / "mail",
        files_dir=files / "files",
        secret_key="test-secret-key-test-secret-key-0123456789",
    )


@pytest.fixture(scope="session")
async def engine(test_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(test_settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
def count_sql(engine: AsyncEngine) -> SqlCounter:
    """Counts SQL statements (N+1 tests): `with count_sql() as counted: …; len(counted)`."""
    return SqlCounter(engine)


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"


@pytest.fixture(scope="session")
def runner(test_settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> Runner:
    """Runs GraphQL documents in process, as a given person."""
    return Runner(test_settings, session_factory)


@pytest.fixture(scope="session")
def live_server(test_settings: Settings) -> Iterator[LiveServer]:
    """The app served by uvicorn on a free loopback port, for tests over real HTTP."""
    yield from serve(test_settings)


# The demo data's day; requests against it run at tests.clock.NOW, a fortnight later.
DEMO_AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="session")
async def demo_engine(databases: ThrowawayDatabases) -> AsyncIterator[AsyncEngine]:
    """A fresh migrated database of its own for the `small` demo data."""
    url = await databases.new_url()
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def demo_report(demo_engine: AsyncEngine, test_settings: Settings) -> DemoReport:
    """The `small` demo data, loaded once per session (its guides under the tests' files)."""
    return await load_demo_data(
        demo_engine, scale="small", as_of=DEMO_AS_OF, files_dir=test_settings.files_dir
    )


@pytest.fixture(scope="session")
def demo_runner(
    demo_engine: AsyncEngine, demo_report: DemoReport, test_settings: Settings
) -> Runner:
    """Runs GraphQL documents against the demo data, as one of its people."""
    settings = test_settings.model_copy(
        update={"database_url": demo_engine.url.render_as_string(hide_password=False)}
    )
    return Runner(settings, create_session_factory(demo_engine))
