"""The Prometheus exposition (`GET /metrics`): requests and latency per operation, errors by
code, the mail outbox's depth by status and the database pool's use. One registry per app, so
that several apps in one process (the tests) never share series."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from api.access_log import RequestRecord
from db.models import OutboxMail
from domain.enums import MailStatus

# Operation names are the clients' choice: past this many distinct ones, the rest share one
# label, so that no client can grow the series without bound.
MAX_OPERATIONS = 200
OTHER = "(other)"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "comptoir_requests",
            "Requests answered, by GraphQL operation (or route) and outcome (ok / error).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "comptoir_request_duration_seconds",
            "Time to answer a request, by GraphQL operation (or route).",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "comptoir_errors",
            "Errors answered, by code (an ErrorCode, or HTTP_<status> without one).",
            ["code"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "comptoir_outbox_mails",
            "Mails in the outbox by status (read at each scrape).",
            ["status"],
            registry=self.registry,
        )
        self.pool_checked_out = Gauge(
            "comptoir_db_pool_checked_out",
            "Database connections in use by this process.",
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "comptoir_db_pool_size",
            "Database connections the pool keeps (without overflow).",
            registry=self.registry,
        )
        # Which process answered: under `comptoir serve --workers N` each worker keeps its own
        # series, and a scrape reaches one of them.
        self.worker = Gauge(
            "comptoir_worker_info",
            "The API worker process that answered this scrape (its pid).",
            ["pid"],
            registry=self.registry,
        )
        self.worker.labels(str(os.getpid())).set(1)
        self._operations: set[str] = set()

    def _operation_label(self, record: RequestRecord) -> str:
        name = record.operation or f"{record.method} {record.route}"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATIONS:
                return OTHER
            self._operations.add(name)
        return name

    def observe(self, record: RequestRecord) -> None:
        """Counts one answered request (an observer of the access log)."""
        operation = self._operation_label(record)
        outcome = "ok" if record.outcome == "ok" else "error"
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(record.duration_ms / 1000)
        codes = record.error_codes or ([f"HTTP_{record.status}"] if record.status >= 400 else [])
        for code in codes:
            self.errors.labels(code).inc()

    async def exposition(self, engine: AsyncEngine) -> bytes:
        """The text exposition, the outbox and pool gauges read now (one GROUP BY)."""
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(col(OutboxMail.status), func.count()).group_by(col(OutboxMail.status))
                )
            ).all()
        depth = {str(status): count for status, count in rows}
        for status in MailStatus:
            self.outbox.labels(status.value).set(depth.get(status.value, 0))
        pool = engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        self.pool_checked_out.set(checked_out() if callable(checked_out) else 0)
        self.pool_size.set(size() if callable(size) else 0)
        return generate_latest(self.registry)
