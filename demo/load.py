"""Public entry points: load the demo data into an empty database, fast and all at once.

Rows are inserted with SQLAlchemy Core `insert()` in chunks (executemany, no RETURNING):
ids are given by the generator, so nothing needs to come back from the database.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.curve_partitions import ensure_month_partitions
from db.models import SQLModel
from db.site_search import refresh_site_search
from demo.curves import GAS_COLUMNS, LOAD_CURVE_COLUMNS
from demo.generate import DemoGenerator
from demo.help import demo_guides
from demo.logins import DEMO_PASSWORD
from domain.calendar import paris_today

# Insert order: every table after the tables it points to.
TABLE_ORDER = (
    "groups",
    "tariff_grids",
    "users",
    "members",
    "billing_accounts",
    "sites",
    "meters",
    "readings",
    "invoices",
    "invoice_lines",
    "invoice_sites",
    "alerts",
    "access_grants",
    "grant_billing_accounts",
    "technical_requests",
    "technical_request_events",
    "technical_request_attachments",
    "self_care_requests",
    "self_care_request_events",
    "invoice_disputes",
    "invoice_dispute_events",
    "contacts",
    "collection_campaigns",
    "collection_journeys",
    "collection_lots",
    "collection_sites",
)
CHUNK = 5_000
CURVE_CHUNK = 100_000
FLUSH_AT = 40_000


class DemoDataError(Exception):
    """The demo data cannot be loaded (e.g. the database already holds data)."""


@dataclass(slots=True)
class DemoReport:
    as_of: date
    counts: dict[str, int] = field(default_factory=dict)
    sites_by_segment: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    interval_seconds: float = 0.0  # of which: daily gas and load curves (demo/curves.py)


def _table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


async def database_is_empty(engine: AsyncEngine) -> bool:
    """True when no purchasing group exists yet."""
    async with engine.connect() as connection:
        found = await connection.scalar(sa.select(sa.func.count()).select_from(_table("groups")))
    return not found


async def load_demo_data(
    engine: AsyncEngine,
    *,
    scale: Literal["small", "full"],
    seed: int = 2026,
    as_of: date | None = None,
    files_dir: Path | None = None,
    supplier_name: str = "Comptoir Énergie",
) -> DemoReport:
    """Load the demo data set in one transaction; deterministic for (scale, seed, as_of).

    Without `as_of` the data set is dated today (Paris): the only clock the loader reads.
    With `files_dir` (the app's COMPTOIR_FILES_DIR), the Help tab's guides are rendered as
    PDFs there and listed; without it the demo has no guides.
    """
    from auth.passwords import hash_password

    started = time.perf_counter()
    as_of = as_of or paris_today()
    password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
    generator = DemoGenerator(scale, seed, as_of, password_hash)
    report = DemoReport(as_of)
    async with engine.begin() as connection:
        # Checked inside the transaction, so two loaders racing cannot both pass.
        found = await connection.scalar(sa.select(sa.func.count()).select_from(_table("groups")))
        if found:
            raise DemoDataError(
                "La base contient déjà des données (un groupement existe) : "
                "les données de démonstration ne se chargent que dans une base vide."
            )
        buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_ORDER}
        buffered = 0
        for table, rows in generator.batches():
            buffers[table].extend(rows)
            report.counts[table] = report.counts.get(table, 0) + len(rows)
            buffered += len(rows)
            if buffered >= FLUSH_AT:
                await _flush(connection, buffers)
                buffered = 0
        await _flush(connection, buffers)
        if files_dir is not None:
            guides = demo_guides(files_dir, as_of, supplier_name)
            await connection.execute(sa.insert(_table("guides")), guides)
            report.counts["guides"] = len(guides)
        interval_started = time.perf_counter()
        await _load_interval_data(connection, generator, report)
        report.interval_seconds = time.perf_counter() - interval_started
        await refresh_site_search(connection)
        # Fresh statistics: without them SQLite's planner picks the readings' `source` index
        # over the site index for the last-readings query (measured 54 ms → 3 ms at full scale).
        await connection.exec_driver_sql("ANALYZE")
        if connection.dialect.name == "postgresql":
            await _reset_sequences(connection)
    report.sites_by_segment = dict(sorted(generator.sites_by_segment.items()))
    report.seconds = time.perf_counter() - started
    return report


async def _flush(connection: AsyncConnection, buffers: dict[str, list[dict[str, Any]]]) -> None:
    """Insert everything buffered, parents before children."""
    for name in TABLE_ORDER:
        rows = buffers[name]
        if not rows:
            continue
        statement = sa.insert(_table(name))
        for start in range(0, len(rows), CHUNK):
            await connection.execute(statement, rows[start : start + CHUNK])
        rows.clear()


async def _load_interval_data(
    connection: AsyncConnection, generator: DemoGenerator, report: DemoReport
) -> None:
    """Daily gas and load curves through the raw driver (COPY on PostgreSQL): millions of
    points as tuples, after every site and meter they point at."""
    curves = generator.curves
    sqlite = connection.dialect.name == "sqlite"
    state = generator.state
    await ensure_month_partitions(connection, state.starts[0], state.starts[-1])
    raw: Any = None if sqlite else (await connection.get_raw_connection()).driver_connection
    for table, columns, chunks in (
        ("gas_daily_consumptions", GAS_COLUMNS, curves.gas_rows(sqlite)),
        ("load_curve_points", LOAD_CURVE_COLUMNS, curves.curve_rows(sqlite)),
    ):
        count = 0
        pending: list[tuple[Any, ...]] = []
        for rows in chunks:
            pending += rows
            if len(pending) >= CURVE_CHUNK:
                await _write_points(connection, raw, table, columns, pending)
                count += len(pending)
                pending = []
        await _write_points(connection, raw, table, columns, pending)
        report.counts[table] = count + len(pending)


async def _write_points(
    connection: AsyncConnection,
    raw: Any,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    if not rows:
        return
    if raw is not None:
        await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    marks = ", ".join("?" * len(columns))
    await connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
    )


async def _reset_sequences(connection: AsyncConnection) -> None:
    """Explicit ids leave PostgreSQL's sequences behind: move them past the loaded rows."""
    for name in TABLE_ORDER:
        if "id" not in _table(name).c:
            continue
        await connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )
