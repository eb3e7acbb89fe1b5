"""Login latency over HTTP beside the argon2 cost it is made of, on the small demo data.

.venv/bin/python bench/login_latency.py [--logins 60]

Starts the app on a free loopback port (fresh SQLite file under var/bench), logs the demo
member user in N times, and prints p50/p99 of: a bare argon2id verification (the floor), the
login over HTTP, and an authenticated `viewer` query (token check + grants + perimeter).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auth.passwords import hash_password, verify_password
from comptoir.settings import Settings
from db import migrate
from db.engine import create_engine
from demo import DEMO_PASSWORD, load_demo_data
from tests.e2e.server import http_client, serve

LOG_IN = """mutation($e: String!, $p: String!) {
  logIn(input: {email: $e, password: $p}) { tokens { accessToken } errors { code } } }"""
VIEWER = "query { viewer { person { email } perimeter { sites } } }"
EMAIL = "utilisateur@demo.comptoir.fr"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms"


async def prepare(url: str) -> None:
    engine = create_engine(Settings(database_url=url), poolclass=NullPool)
    await migrate.upgrade(engine)
    await load_demo_data(engine, scale="small")
    await engine.dispose()


async def measure(base: str, logins: int) -> tuple[list[float], list[float]]:
    login_times: list[float] = []
    viewer_times: list[float] = []
    async with http_client(base) as client:
        token = ""
        for _ in range(logins):
            start = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": LOG_IN, "variables": {"e": EMAIL, "p": DEMO_PASSWORD}}
            )
            login_times.append(time.perf_counter() - start)
            token = response.json()["data"]["logIn"]["tokens"]["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(logins * 5):
            start = time.perf_counter()
            await client.post("/graphql", json={"query": VIEWER}, headers=headers)
            viewer_times.append(time.perf_counter() - start)
    return login_times, viewer_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=60)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="comptoir-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'login.db'}"
    asyncio.run(prepare(url))
    stored = hash_password(DEMO_PASSWORD)
    floor = []
    for _ in range(args.logins):
        start = time.perf_counter()
        verify_password(DEMO_PASSWORD, stored)
        floor.append(time.perf_counter() - start)
    settings = Settings(database_url=url, files_dir=folder / "files", mail_dir=folder / "mail")
    for server in serve(settings):
        logins, viewers = asyncio.run(measure(server.url, args.logins))
    print(f"argon2id verify (m=64 MiB, t=3, p=4) : {percentiles(floor)}")
    print(f"logIn over HTTP ({args.logins} runs)      : {percentiles(logins)}")
    print(f"viewer over HTTP ({len(viewers)} runs)    : {percentiles(viewers)}")


if __name__ == "__main__":
    main()
