"""Invoices on the `full` demo data: the billing file (CSV, XLSX) beside a hand-written
reference, a 500-PDF zip, the money check, and `invoices(first: 50)` over HTTP beside a
hand-written SQL + Starlette endpoint serving the same JSON, in the same process and run.

.venv/bin/python bench/invoices_bench.py   # the full demo data of bench/full_data.py (loaded once)
.venv/bin/python bench/invoices_bench.py --billing-file-only [--rounds 3] | --memory \
    --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/db_with_full_demo

The billing file's reference is one plain SQL statement (the same rows, joins and order, the
four stored family amounts instead of the nine split components, codes instead of labels)
streamed into csv.writer or xlsxwriter in constant-memory mode: no project code. Times are
wall clock and process CPU (on a shared machine, CPU time is the steadier of the two).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import gc
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
import uvicorn
import xlsxwriter
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from api.resolvers import billing_file, invoice_pdfs
from api.resolvers.invoices import InvoiceQuery
from bench.full_data import full_database_url
from comptoir.settings import Settings, normalise_database_url
from db.engine import create_engine, create_session_factory
from db.models import Group
from db.scoped import Perimeter
from db.types import utcnow
from demo import DEMO_PASSWORD
from documents.tables import FileFormat
from domain.billing import MAX_SEARCH_MONTHS, default_window
from domain.calendar import paris_date
from tests.e2e.server import http_client

AS_OF = date(2026, 11, 1)
FILES = Path("var/bench/invoice_files")

PAGE = """
query($first: Int!) { invoices(first: $first) { totalCount edges { node {
  id number kind accountingDate consumptionKwh totalExclTax totalInclTax deliveryMode
  editionStatus billingAccountNumber invoiceLabel } } } }"""

REFERENCE_SQL = sa.text(
    """
    SELECT i.id, i.number, i.kind, i.accounting_date, i.consumption_kwh, i.total_excl_tax,
           i.total_incl_tax, i.delivery_mode, i.edition_status, b.number AS account_number,
           b.invoice_label
    FROM invoices i JOIN billing_accounts b ON b.id = i.billing_account_id
    WHERE b.member_id IN (SELECT id FROM members WHERE group_id = :group)
      AND i.accounting_date BETWEEN :start AND :end
    ORDER BY i.accounting_date DESC, i.id DESC LIMIT :limit
    """
)
REFERENCE_COUNT = sa.text(
    """
    SELECT count(*) FROM invoices i JOIN billing_accounts b ON b.id = i.billing_account_id
    WHERE b.member_id IN (SELECT id FROM members WHERE group_id = :group)
      AND i.accounting_date BETWEEN :start AND :end
    """
)


BILLING_FILE_REFERENCE = sa.text(
    """
    SELECT i.number, i.kind, i.accounting_date, i.period_start, i.period_end, i.due_date,
           i.index_basis, i.delivery_mode, i.edition_status, i.payment_status, c.number,
           b.number, b.invoice_label, m.legal_name, m.customer_number, i.energy,
           s.point_number, s.internal_code, s.designation, s.segment, s.city, x.meter_serial,
           x.previous_index_on, x.current_index_on, x.consumption_kwh,
           x.subscription_amount, x.energy_amount, x.transport_amount, x.taxes_amount,
           x.total_excl_tax, x.vat_amount, x.total_incl_tax
    FROM invoice_sites x JOIN invoices i ON i.id = x.invoice_id
    JOIN billing_accounts b ON b.id = i.billing_account_id
    JOIN members m ON m.id = b.member_id JOIN sites s ON s.id = x.site_id
    LEFT JOIN invoices c ON c.id = i.cancels_invoice_id
    WHERE m.group_id = :group
    ORDER BY i.accounting_date, i.id, s.point_number
    """
)


async def reference_billing_file(url: str, path: Path, fmt: str) -> str:
    """The billing file's rows by hand: plain SQL, csv or xlsxwriter, no project code."""
    engine = create_async_engine(url)
    rows = 0
    try:
        async with engine.connect() as connection:
            result = await connection.stream(
                BILLING_FILE_REFERENCE.execution_options(yield_per=10_000), {"group": 1}
            )
            if fmt == "CSV":
                with path.open("w", encoding="utf-8-sig", newline="") as handle:
                    writer = csv.writer(handle, delimiter=";")
                    async for part in result.partitions(10_000):
                        writer.writerows(part)
                        rows += len(part)
            else:
                book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
                sheet = book.add_worksheet()
                async for part in result.partitions(10_000):
                    for values in part:
                        rows += 1
                        for column, value in enumerate(values):
                            if value is not None:
                                sheet.write(rows, column, value)
                book.close()
    finally:
        await engine.dispose()
    return f"{rows} rows"


async def billing_files(settings: Settings, rounds: int) -> None:
    """The billing file of the whole group, CSV and XLSX, each beside its reference, in
    interleaved rounds; then each side's median wall and CPU time and the ratio."""
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    perimeter = Perimeter(group_ids=frozenset({1}))
    shutil.rmtree(FILES, ignore_errors=True)
    os.makedirs(FILES, exist_ok=True)
    gc.freeze()  # as `comptoir serve` does once started (STYLE.md)
    times: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for file_format in FileFormat:

            async def whole_file(fmt: Any = file_format) -> str:
                exported = await billing_file.export_billing_file(
                    sessions,
                    settings,
                    perimeter,
                    InvoiceQuery(),
                    file_format=fmt,
                    today=AS_OF,
                    check_period=False,
                )
                size = (settings.files_dir / exported.file_key).stat().st_size
                return (
                    f"{exported.invoice_count} invoices, {exported.row_count} rows, "
                    f"{size / 1e6:.1f} MB"
                )

            ours = f"billing file {file_format.value} (all)"
            times.setdefault(ours, []).append(await measured(ours)(whole_file))
            reference = FILES / f"reference.{file_format.value.lower()}"
            theirs = f"  hand-written reference {file_format.value}"
            times.setdefault(theirs, []).append(
                await measured(theirs)(
                    lambda fmt=file_format.value, out=reference: reference_billing_file(
                        settings.database_url, out, fmt
                    )
                )
            )
    await engine.dispose()
    print(f"medians over {rounds} round(s):")
    for label, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{label:34} {wall:7.2f} s (CPU {cpu:6.2f} s)")


async def one_billing_file(settings: Settings, file_format: FileFormat, energy: str) -> None:
    """One billing file in this process (--memory's child): its rows and peak RSS growth."""
    from domain.enums import Energy

    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    gc.freeze()
    before = _rss_mb()
    exported = await billing_file.export_billing_file(
        sessions,
        settings,
        Perimeter(group_ids=frozenset({1})),
        InvoiceQuery(energy=None if energy == "ALL" else Energy(energy)),
        file_format=file_format,
        today=AS_OF,
        check_period=False,
    )
    print(
        f"billing file {file_format.value} {energy:5} {exported.row_count:7} rows   "
        f"peak RSS {before:6.0f} → {_rss_mb():6.0f} MB (+{_rss_mb() - before:.0f})",
        flush=True,
    )
    await engine.dispose()


def billing_file_memory(url: str) -> None:
    """Memory flat: the gas invoices' file (a tenth of the rows) and the whole file, each in a
    process of its own, so each peak RSS is that file's."""
    for file_format in FileFormat:
        for energy in ("GAS", "ALL"):
            subprocess.run(
                [sys.executable, __file__, "--database-url", url, "--one", file_format.value,
                 energy],
                check=True,
            )  # fmt: skip


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measured(label: str) -> Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]:
    """Wall time, and the process's peak RSS before → after (tracemalloc slowed the Decimal
    work tenfold, so memory is the kernel's high-water mark: it only grows when a step needs
    more than every step before it)."""

    async def run(work: Callable[[], Awaitable[Any]]) -> Any:
        before = _rss_mb()
        started = time.perf_counter()
        cpu = time.process_time()
        result = await work()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        print(
            f"{label:34} {seconds:7.2f} s (CPU {cpu:6.2f} s)   "
            f"peak RSS {before:6.0f} → {_rss_mb():6.0f} MB   {result}",
            flush=True,
        )
        return seconds, cpu

    return run


async def files_and_money(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = create_session_factory(engine)
    async with engine.connect() as connection:
        group_id = (await connection.execute(sa.select(Group.id).limit(1))).scalar_one()
        # Decimal end to end: the invoices summed by SQL and from every line, in Python.
        sql_total = (
            await connection.execute(sa.text("SELECT count(*) FROM invoices"))
        ).scalar_one()
        from db.models import Invoice, InvoiceLine

        incl = (
            await connection.execute(sa.select(sa.func.sum(Invoice.total_incl_tax)))
        ).scalar_one()
        lines = Decimal("0.00")
        async for (amount,) in await connection.stream(sa.select(InvoiceLine.amount)):
            lines += amount
        print(
            f"money check: {sql_total} invoices, SQL sum {incl} €, lines sum {lines} € → "
            f"{'same cents' if incl == lines else 'MISMATCH'}"
        )
    perimeter = Perimeter(group_ids=frozenset({group_id}))
    async with sessions() as session:
        ids = list(
            (
                await session.exec(  # type: ignore[call-overload]
                    sa.select(Invoice.id).order_by(Invoice.accounting_date.desc()).limit(500)  # type: ignore[attr-defined]
                )
            ).scalars()
        )

    async def zip_of_pdfs() -> str:
        exported = await invoice_pdfs.export_pdf_zip(
            sessions, settings, perimeter, InvoiceQuery(invoice_ids=tuple(ids)), today=AS_OF
        )
        size = (settings.files_dir / exported.file_key).stat().st_size
        return f"{exported.invoice_count} PDFs rendered, zip {size / 1e6:.1f} MB"

    await measured("500-PDF zip (rendered)")(zip_of_pdfs)

    async def zip_again() -> str:
        exported = await invoice_pdfs.export_pdf_zip(
            sessions, settings, perimeter, InvoiceQuery(invoice_ids=tuple(ids)), today=AS_OF
        )
        return f"{exported.invoice_count} PDFs reused from disk"

    await measured("500-PDF zip (cached PDFs)")(zip_again)
    await engine.dispose()


async def throughput(settings: Settings, seconds: float, concurrency: int) -> None:
    app = create_app(settings)
    engine = create_engine(settings)

    async def reference(request: Request) -> Response:
        first = int(request.query_params.get("first", "50"))
        group = int(request.query_params["group"])
        start, end = default_window(paris_date(utcnow()), MAX_SEARCH_MONTHS)
        params = {"group": group, "start": start, "end": end, "limit": first}
        async with engine.connect() as connection:
            rows = (await connection.execute(REFERENCE_SQL, params)).all()
            total = (await connection.execute(REFERENCE_COUNT, params)).scalar_one()
        edges = [
            {
                "node": {
                    "id": base64.b64encode(f"Invoice:{r.id}".encode()).decode(),
                    "number": r.number,
                    "kind": r.kind,
                    "accountingDate": str(r.accounting_date),
                    "consumptionKwh": r.consumption_kwh,
                    # SQLite keeps cents as integers: format them as the API does.
                    "totalExclTax": f"{Decimal(r.total_excl_tax) / 100:.2f}",
                    "totalInclTax": f"{Decimal(r.total_incl_tax) / 100:.2f}",
                    "deliveryMode": r.delivery_mode,
                    "editionStatus": r.edition_status,
                    "billingAccountNumber": r.account_number,
                    "invoiceLabel": r.invoice_label,
                }
            }
            for r in rows
        ]
        body = {"data": {"invoices": {"totalCount": total, "edges": edges}}}
        return Response(orjson.dumps(body), media_type="application/json")

    app.router.routes.append(Route("/reference", reference, methods=["GET"]))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        async with http_client(base) as client:
            login = await client.post(
                "/graphql",
                json={
                    "query": "mutation($e: String!, $p: String!) { logIn(input: {email: $e, "
                    "password: $p}) { tokens { accessToken } } }",
                    "variables": {"e": "admin@demo.comptoir.fr", "p": DEMO_PASSWORD},
                },
            )
            token = login.json()["data"]["logIn"]["tokens"]["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            async with engine.connect() as connection:
                group = (await connection.execute(sa.select(Group.id).limit(1))).scalar_one()
            graphql_body = {"query": PAGE, "variables": {"first": 50}}
            sample = (await client.post("/graphql", json=graphql_body, headers=headers)).json()
            assert "errors" not in sample, sample
            ref = (await client.get(f"/reference?group={group}&first=50")).json()
            assert len(ref["data"]["invoices"]["edges"]) == 50
            print(
                f"same page: {sample['data']['invoices']['totalCount']} vs "
                f"{ref['data']['invoices']['totalCount']} invoices, first numbers "
                f"{sample['data']['invoices']['edges'][0]['node']['number']} / "
                f"{ref['data']['invoices']['edges'][0]['node']['number']}"
            )

            async def hammer(call: Callable[[], Awaitable[Any]], label: str) -> None:
                latencies: list[float] = []
                deadline = time.perf_counter() + seconds

                async def worker() -> None:
                    while time.perf_counter() < deadline:
                        started = time.perf_counter()
                        response = await call()
                        assert response.status_code == 200
                        latencies.append(time.perf_counter() - started)

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                elapsed = time.perf_counter() - started
                latencies.sort()
                print(
                    f"{label:34} {len(latencies) / elapsed:7.1f} req/s   "
                    f"p50 {statistics.median(latencies) * 1000:6.1f} ms   "
                    f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:6.1f} ms"
                )

            await hammer(
                lambda: client.post("/graphql", json=graphql_body, headers=headers),
                "invoices(first: 50) GraphQL",
            )
            await hammer(
                lambda: client.get(f"/reference?group={group}&first=50"),
                "hand-written SQL + Starlette",
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per throughput run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", help="a database holding the full demo data")
    parser.add_argument("--billing-file-only", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="billing file rounds")
    parser.add_argument("--memory", action="store_true", help="billing file peak RSS only")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # --memory's child
    args = parser.parse_args()
    url = normalise_database_url(args.database_url) if args.database_url else full_database_url()
    settings = Settings(
        database_url=url,
        files_dir=FILES,
        secret_key="bench-secret-key-bench-secret-key-0123456789",
    )
    if args.one:
        asyncio.run(one_billing_file(settings, FileFormat(args.one[0]), args.one[1]))
        return
    print(f"backend={sa.make_url(url).get_backend_name()}", flush=True)
    if args.memory:
        billing_file_memory(url)
        return
    asyncio.run(billing_files(settings, args.rounds))
    if args.billing_file_only:
        return
    asyncio.run(files_and_money(settings))
    asyncio.run(throughput(settings, args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
