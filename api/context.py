"""What every resolver receives: settings, the database, the caller's perimeter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from comptoir.settings import Settings
from db.scoped import Perimeter


@dataclass
class Context:
    request: Request | None
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    # Computed once per request from the caller's grants; anonymous callers reach nothing.
    perimeter: Perimeter = field(default_factory=Perimeter.nobody)
    loaders: dict[str, Any] = field(default_factory=dict)
