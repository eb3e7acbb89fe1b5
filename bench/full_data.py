"""The `full` demo data set in a SQLite file under var/bench, loaded once and reused."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path

from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine
from demo import database_is_empty, load_demo_data

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
# The README's figures; the file is named after it so a load of another date is not reused.
AS_OF = date(2026, 12, 1)


async def _ready(url: str) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    try:
        await migrate.upgrade(engine)
        if await database_is_empty(engine):
            print("loading the full demo data (about 30 s)…", flush=True)
            await load_demo_data(engine, scale="full", as_of=AS_OF)
    finally:
        await engine.dispose()


def full_database_url() -> str:
    """A SQLite URL holding the full demo data at the migrations' head."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{BENCH_DIR / f'full-{AS_OF.isoformat()}.sqlite'}"
    asyncio.run(_ready(url))
    return url
