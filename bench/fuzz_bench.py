"""The fuzz suite on demand: 1,000 generated operations per identity (7 identities: ADMIN,
USER, INFRA_USER, THIRD_PARTY, OPERATOR, a read-only API key, anonymous), over the app's HTTP
stack, against a fresh database. CI runs 200 per identity (tests/api/test_fuzz.py).

.venv/bin/python bench/fuzz_bench.py                       # SQLite, 1,000 per identity
.venv/bin/python bench/fuzz_bench.py --per-identity 300 --seed 7
.venv/bin/python bench/fuzz_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench_fuzz

The PostgreSQL database must exist and be empty (it is migrated). Prints the operations, the
time, the status codes, the error codes seen and every failure (a 5xx, a masked internal
error, a traceback or a logged error) with its document and variables; exits 1 on a failure.
A reference in the same run: `{ __typename }` sent as many times, to read the figures
against the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine, create_session_factory
from tests.api.fuzz_operations import IDENTITIES, fuzz


async def _reference(settings: Settings, count: int) -> float:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://comptoir.test"
        ) as client,
    ):
        started = time.perf_counter()
        for _ in range(count):
            await client.post("/graphql", json={"query": "{ __typename }"})
        return time.perf_counter() - started


async def main(database_url: str | None, per_identity: int, seed: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/fuzz.sqlite"
        engine = create_engine(Settings(database_url=url), poolclass=NullPool)
        await migrate.upgrade(engine)
        settings = Settings(
            env="test",
            database_url=url,
            mail_dir=Path(folder) / "mail",
            files_dir=Path(folder) / "files",
            secret_key="bench-secret-key-bench-secret-key-0123456789",
        )
        try:
            report = await fuzz(
                settings, create_session_factory(engine), per_identity=per_identity, seed=seed
            )
        finally:
            await engine.dispose()
        total = sum(report.operations.values())
        reference = await _reference(settings, total)
    print(f"database: {url.split(':')[0]}; seed {seed}")
    print(
        f"{total} operations ({per_identity} × {len(IDENTITIES)} identities) in "
        f"{report.seconds:.1f} s ({1000 * report.seconds / total:.1f} ms each); reference "
        f"`{{ __typename }}` × {total}: {reference:.1f} s"
    )
    print(f"HTTP statuses: {dict(sorted(report.statuses.items()))}")
    print(f"answers with data: {report.answered_data}; root fields reached: {len(report.fields)}")
    print(f"error codes: {dict(report.codes.most_common())}")
    print(f"failures (5xx, masked, traceback, logged error): {len(report.failures)}")
    for failure in report.failures[:20]:
        print(json.dumps(failure, ensure_ascii=False, default=str))
    return 1 if report.failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--per-identity", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.database_url, arguments.per_identity, arguments.seed)))
