"""What every resolver receives: settings, the database, the caller and their perimeter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from api.authentication import Authentication, client_address
from auth.caller import Caller
from comptoir.settings import Settings
from db.request_reads import RequestReads
from db.scoped import Perimeter
from db.types import utcnow


@dataclass
class Context:
    request: Request | None
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    authentication: Authentication = field(default_factory=Authentication)
    now: datetime = field(default_factory=utcnow)
    loaders: dict[str, Any] = field(default_factory=dict)
    # The request's read connection (HTTP requests): a query's `sessions` become its
    # `reads.sessions` (db/request_reads.py); None in-process (tests' Runner).
    reads: RequestReads | None = None

    @property
    def caller(self) -> Caller | None:
        return self.authentication.caller

    @property
    def perimeter(self) -> Perimeter:
        """Computed once per request from the caller's grants; anonymous → nothing."""
        caller = self.authentication.caller
        return caller.perimeter if caller is not None else Perimeter.nobody()

    @property
    def write_perimeter(self) -> Perimeter:
        caller = self.authentication.caller
        return caller.write_perimeter if caller is not None else Perimeter.nobody()

    @property
    def client_address(self) -> str | None:
        return client_address(self.request)
