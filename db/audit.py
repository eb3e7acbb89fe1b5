"""The audit log: one row per change that matters (access, references, request decisions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    actor_user_id: int | None,
    action: str,
    object_type: str,
    object_id: int | str,
    now: datetime,
    details: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> None:
    """Adds the entry to the caller's transaction: it lands with the change, or not at all."""
    session.add(
        AuditEntry(
            occurred_at=now,
            actor_user_id=actor_user_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            details=details or {},
            client_address=client_address,
        )
    )
