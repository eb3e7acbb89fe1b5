"""comptoir beside a hand-written reference (bench/reference.py), on the full demo data.

    .venv/bin/python bench/compare.py [--database sqlite|postgresql|both] [--rounds 5]
        [--seconds 2] [--connections 4] [--postgresql-url URL]
    .venv/bin/python bench/compare.py --soak MINUTES [--database …]

One server process (uvicorn, one worker) serves both comptoir's /graphql and the reference's
routes on the same database; it is pinned to one CPU and the load generator (asyncio,
HTTP/1.1 keep-alive) to another, where the machine has two. Before any timing each query's
answer is fetched from both and must be byte-identical. Then rounds interleave the two sides
(query by query, in an order that alternates), each side loaded for `--seconds`; a round gives
one ratio per query, so the load of a shared machine weighs on both sides alike. Printed: the
median ratio of requests/s with its spread over the rounds, the server's CPU per request on
each side, and SQL round trips per request (statements, plus pre-pings and BEGIN/COMMIT or
ROLLBACK that the pool and the driver send; the reference counts its own statements).

`--soak MINUTES` (the memory target: RSS after a 10-minute soak within 10 % of its value after
warm-up) loads the same server with the manifest's operations, by hash and as documents, in
turn over the connections, for a minute of warm-up and then MINUTES, and prints the server's
resident memory after warm-up, every minute, and at the end with its drift.

PostgreSQL: `--postgresql-url` (default: the `bench_speed` database on 127.0.0.1) is loaded
with the full demo data when empty. SQLite: var/bench/full-2026-12-01.sqlite (bench/full_data).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRESQL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_speed"

INVOICE_PERIOD = {"accountingDateFrom": "2026-01-01", "accountingDateTo": "2026-11-30"}


def manifest_body(name: str) -> str:
    """A trusted manifest operation's document (the front end's screens: what is measured)."""
    from api.persisted import OPERATIONS_DIR

    return (OPERATIONS_DIR / f"{name}.graphql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    name: str
    operation: str  # a manifest operation's name
    reference: str  # the reference's path (with its query string)
    variables: dict[str, Any] = field(default_factory=dict)
    persisted: bool = False  # sent by hash (compiled when the operation has a plan)

    def body(self) -> bytes:
        """By hash (the manifest's path), or the document with a comment added: the same
        answer through graphql-core (a document outside the manifest is never compiled)."""
        import hashlib

        document = manifest_body(self.operation)
        if self.persisted:
            digest = hashlib.sha256(document.encode()).hexdigest()
            request = {
                "variables": self.variables,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}},
            }
        else:
            request = {"query": document + "# generic\n", "variables": self.variables}
        return json.dumps(request).encode()


# -- the server process ----------------------------------------------------------------------


def build_server_app(database_url: str, folder: Path) -> Any:
    """comptoir's app with the reference's routes and the bench counters beside it."""
    from sqlalchemy import event
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from api.app import create_app
    from bench import reference
    from comptoir.settings import Settings

    settings = Settings(database_url=database_url, files_dir=folder, mail_dir=folder)
    app = create_app(settings)
    counters = {"statements": 0, "round_trips": 0}
    original = app.router.lifespan_context

    def count_statement(*_: Any) -> None:
        counters["statements"] += 1
        counters["round_trips"] += 1

    def count_boundary(connection: Any, *_: Any) -> None:
        # BEGIN, COMMIT and ROLLBACK cost a round trip unless the connection autocommits.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counters["round_trips"] += 1

    def count_checkout(*_: Any) -> None:
        counters["round_trips"] += 1  # the pre-ping

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with original(app):
            engine = app.state.engine.sync_engine
            event.listen(engine, "before_cursor_execute", count_statement)
            if not settings.is_sqlite:
                for name in ("begin", "commit", "rollback"):
                    event.listen(engine, name, count_boundary)
                if getattr(engine.pool, "_pre_ping", False):
                    event.listen(engine.pool, "checkout", count_checkout)
            database = reference.Database(database_url)
            await database.open()
            fetch = database.fetch

            async def counted(sql: str, *args: Any) -> list[Any]:
                counters["reference_statements"] = counters.get("reference_statements", 0) + 1
                return await fetch(sql, *args)

            database.fetch = counted  # type: ignore[method-assign]
            app.state.reference = database
            yield
            await database.close()

    async def read_counters(request: Request) -> JSONResponse:
        usage = os.times()
        return JSONResponse({**counters, "cpu": usage.user + usage.system})

    app.router.lifespan_context = lifespan
    app.router.routes.extend(reference.ROUTES)
    app.router.routes.append(Route("/bench/counters", read_counters, methods=["GET"]))
    return app


def serve(database_url: str, port: int) -> None:
    import gc
    import tempfile

    import uvicorn

    app = build_server_app(database_url, Path(tempfile.mkdtemp(prefix="comptoir-compare-")))
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load generator ----------------------------------------------------------------------


class Client:
    """One HTTP/1.1 keep-alive connection, Nagle off; `post` answers (status, body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def post(path: str, body: bytes, token: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def load(port: int, raw: bytes, seconds: float, connections: int) -> int:
    """Requests answered (200) within `seconds` over `connections` keep-alive connections."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        client = Client(port)
        try:
            while time.perf_counter() < deadline:
                status, _ = await client.request(raw)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}")
                done += 1
        finally:
            client.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done


async def counters(port: int) -> dict[str, float]:
    client = Client(port)
    try:
        _, body = await client.request(
            b"GET /bench/counters HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
    finally:
        client.close()
    result: dict[str, float] = json.loads(body)
    return result


async def log_in(port: int) -> str:
    from demo import DEMO_PASSWORD

    query = (
        'mutation { logIn(input: {email: "admin@demo.comptoir.fr", password: "'
        + DEMO_PASSWORD
        + '"}) { tokens { accessToken } } }'
    )
    client = Client(port)
    try:
        _, body = await client.request(post("/graphql", json.dumps({"query": query}).encode(), ""))
    finally:
        client.close()
    token: str = json.loads(body)["data"]["logIn"]["tokens"]["accessToken"]
    return token


@dataclass
class Side:
    rps: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    statements: float = 0.0
    round_trips: float = 0.0


async def measure_slice(
    port: int, raw: bytes, seconds: float, connections: int
) -> tuple[float, float, dict[str, float]]:
    before = await counters(port)
    started = time.perf_counter()
    done = await load(port, raw, seconds, connections)
    elapsed = time.perf_counter() - started
    after = await counters(port)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return done / elapsed, 1000 * delta["cpu"] / max(done, 1), {**delta, "done": done}


async def technical_sheet_point(database_url: str) -> str:
    """A site of the demo group with a replaced meter (so the sheet lists two meters)."""
    from bench.reference import Database

    database = Database(database_url)
    await database.open()
    try:
        rows = await database.fetch(
            """SELECT s.point_number FROM sites s JOIN members m ON m.id = s.member_id
            WHERE m.group_id = 1 AND (SELECT count(*) FROM meters WHERE site_id = s.id) > 1
            ORDER BY s.point_number LIMIT 1"""
        ) or await database.fetch("SELECT point_number FROM sites ORDER BY point_number LIMIT 1")
    finally:
        await database.close()
    return str(rows[0][0])


def start_server(database_url: str) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", database_url, "--port", str(port)], cwd=ROOT
    )
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(process.pid, {cpus[-1]})
        os.sched_setaffinity(0, {cpus[0]})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("the bench server did not start") from None
            time.sleep(0.2)
    raise RuntimeError("the bench server did not start")


async def compare(
    database_url: str, rounds: int, seconds: float, connections: int
) -> list[list[str]]:
    point = await technical_sheet_point(database_url)
    sheet = f"/reference/technical-sheet?p={point}"
    cases = []
    for persisted, how in ((False, "generic"), (True, "persisted")):
        cases += [
            Case(
                f"sites(first: 50), {how}",
                "SitesPage",
                "/reference/sites",
                {"first": 50},
                persisted,
            ),
            Case(
                f"technical sheet, {how}",
                "TechnicalSheet",
                sheet,
                {"pointNumber": point},
                persisted,
            ),
            Case(
                f"invoices(first: 50), {how}",
                "InvoiceList",
                "/reference/invoices",
                {"first": 50, "filter": INVOICE_PERIOD},
                persisted,
            ),
            Case(f"viewer, {how}", "Viewer", "/reference/viewer", {}, persisted),
        ]
    process, port = start_server(database_url)
    try:
        token = await log_in(port)
        requests: dict[str, tuple[bytes, bytes]] = {}
        for case in cases:
            ours = post("/graphql", case.body(), token)
            theirs = post(case.reference, b"{}", token)
            client = Client(port)
            try:
                _, got = await client.request(ours)
                _, expected = await client.request(theirs)
            finally:
                client.close()
            if got != expected:
                raise SystemExit(
                    f"{case.name}: answers differ\n  comptoir:  {got[:2000]!r}\n"
                    f"  reference: {expected[:2000]!r}"
                )
            requests[case.name] = (ours, theirs)
            await load(port, ours, 0.5, connections)  # warm-up
            await load(port, theirs, 0.5, connections)
        sides = {(c.name, who): Side() for c in cases for who in ("comptoir", "reference")}
        ratios: dict[str, list[float]] = {c.name: [] for c in cases}
        for round_number in range(rounds):
            for case in cases:
                order = ["comptoir", "reference"]
                if round_number % 2:
                    order.reverse()
                rates = {}
                for who in order:
                    raw = requests[case.name][0 if who == "comptoir" else 1]
                    rps, cpu_ms, delta = await measure_slice(port, raw, seconds, connections)
                    side = sides[(case.name, who)]
                    side.rps.append(rps)
                    side.cpu_ms.append(cpu_ms)
                    done = max(delta["done"], 1)
                    if who == "comptoir":
                        side.statements = delta["statements"] / done
                        side.round_trips = delta["round_trips"] / done
                    else:
                        side.statements = side.round_trips = (
                            delta.get("reference_statements", 0) / done
                        )
                    rates[who] = rps
                ratios[case.name].append(rates["comptoir"] / rates["reference"])
        table = []
        for case in cases:
            ours, theirs = sides[(case.name, "comptoir")], sides[(case.name, "reference")]
            r = ratios[case.name]
            table.append(
                [
                    case.name,
                    f"{statistics.median(ours.rps):.0f}",
                    f"{statistics.median(theirs.rps):.0f}",
                    f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f})",
                    f"{statistics.median(ours.cpu_ms):.2f} / "
                    f"{statistics.median(theirs.cpu_ms):.2f}",
                    f"{ours.statements:.0f} / {theirs.statements:.0f}",
                    f"{ours.round_trips:.0f} / {theirs.round_trips:.0f}",
                ]
            )
        return table
    finally:
        process.terminate()
        process.wait(timeout=20)


def resident_mb(pid: int) -> float:
    """A process's resident memory (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def soak(
    database_url: str, minutes: float, connections: int, warm_up: float = 60.0
) -> list[tuple[float, float, int]]:
    """(minutes since warm-up, RSS in MB, requests answered) after warm-up, every minute and
    at the end, the server loaded with every manifest operation of the bench in turn."""
    point = await technical_sheet_point(database_url)
    cases = [
        Case(name, operation, "", variables, persisted)
        for persisted in (True, False)
        for name, operation, variables in (
            ("sites", "SitesPage", {"first": 50}),
            ("sheet", "TechnicalSheet", {"pointNumber": point}),
            ("invoices", "InvoiceList", {"first": 50, "filter": INVOICE_PERIOD}),
            ("viewer", "Viewer", {}),
        )
    ]
    process, port = start_server(database_url)
    try:
        token = await log_in(port)
        requests = [post("/graphql", case.body(), token) for case in cases]
        done = 0

        async def worker(offset: int, until: float) -> None:
            nonlocal done
            client = Client(port)
            try:
                turn = offset
                while time.perf_counter() < until:
                    status, _ = await client.request(requests[turn % len(requests)])
                    if status != 200:
                        raise RuntimeError(f"HTTP {status}")
                    done += 1
                    turn += 1
            finally:
                client.close()

        async def run_for(seconds: float) -> None:
            until = time.perf_counter() + seconds
            await asyncio.gather(*(worker(i, until) for i in range(connections)))

        await run_for(warm_up)
        samples = [(0.0, resident_mb(process.pid), done)]
        print(f"after {warm_up:g} s of warm-up: RSS {samples[0][1]:.1f} MB", flush=True)
        elapsed = 0.0
        while elapsed < minutes * 60:
            step = min(60.0, minutes * 60 - elapsed)
            await run_for(step)
            elapsed += step
            samples.append((elapsed / 60, resident_mb(process.pid), done))
            drift = 100 * (samples[-1][1] / samples[0][1] - 1)
            print(
                f"{elapsed / 60:5.1f} min: RSS {samples[-1][1]:.1f} MB ({drift:+.1f} %), "
                f"{done} requests in all",
                flush=True,
            )
        return samples
    finally:
        process.terminate()
        process.wait(timeout=20)


def print_table(title: str, rows: list[list[str]]) -> None:
    header = [
        "query",
        "comptoir req/s",
        "reference req/s",
        "ratio (min–max)",
        "CPU ms/req ours / ref",
        "SQL statements ours / ref",
        "round trips ours / ref",
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def postgresql_ready(url: str) -> str:
    from bench.full_data import _ready

    asyncio.run(_ready(url))
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--postgresql-url", default=DEFAULT_POSTGRESQL)
    parser.add_argument(
        "--soak", type=float, metavar="MINUTES", help="memory soak instead of the comparison"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    from bench.full_data import full_database_url

    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("SQLite", full_database_url()))
    if args.database in ("postgresql", "both"):
        targets.append(("PostgreSQL", postgresql_ready(args.postgresql_url)))
    for title, url in targets:
        if args.soak:
            print(f"{title}: soak of {args.soak:g} min, {args.connections} connections")
            samples = asyncio.run(soak(url, args.soak, args.connections))
            first, last = samples[0][1], samples[-1][1]
            drift = 100 * (last / first - 1)
            verdict = "within" if abs(drift) <= 10 else "NOT within"
            print(
                f"{title}: RSS {first:.1f} MB after warm-up, {last:.1f} MB after "
                f"{samples[-1][0]:g} min ({drift:+.1f} %, {verdict} 10 %), "
                f"{samples[-1][2]} requests in all"
            )
            continue
        rows = asyncio.run(compare(url, args.rounds, args.seconds, args.connections))
        print_table(
            f"{title}, full demo, one worker, {args.rounds} interleaved rounds of "
            f"{args.seconds:g} s per side, {args.connections} connections",
            rows,
        )


if __name__ == "__main__":
    main()
