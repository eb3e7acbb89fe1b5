"""Reading and writing people's alert preferences (the stored choices, never the defaults).

Shared by the preferences mutation, the one-click unsubscribe route and the notification run,
so that "set this person's delivery for these kinds" is written once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import core, table_of
from db.models import AlertPreference
from domain.alert_notifications import AlertDelivery
from domain.enums import AlertKind

PREFERENCES = table_of(AlertPreference)


async def chosen_deliveries(
    session: AsyncSession, user_ids: Iterable[int]
) -> dict[int, dict[AlertKind, AlertDelivery]]:
    """What each person chose, kind by kind (one statement; absent: never chose)."""
    ids = sorted(set(user_ids))
    chosen: dict[int, dict[AlertKind, AlertDelivery]] = defaultdict(dict)
    if not ids:
        return chosen
    rows = await core(
        session,
        sa.select(PREFERENCES.c.user_id, PREFERENCES.c.kind, PREFERENCES.c.delivery).where(
            PREFERENCES.c.user_id.in_(ids)
        ),
    )
    for row in rows:
        chosen[row.user_id][AlertKind(row.kind)] = AlertDelivery(row.delivery)
    return chosen


async def set_deliveries(
    session: AsyncSession,
    user_id: int,
    deliveries: Mapping[AlertKind, AlertDelivery],
    *,
    now: datetime,
) -> None:
    """Stores these choices in the caller's transaction: an upsert per (person, kind), so two
    concurrent changes never collide on the unique key."""
    if not deliveries:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PREFERENCES)
    statement = insert.values(
        [
            {"user_id": user_id, "kind": kind, "delivery": delivery, "updated_at": now}
            for kind, delivery in sorted(deliveries.items())
        ]
    )
    await core(
        session,
        statement.on_conflict_do_update(
            index_elements=["user_id", "kind"],
            set_={
                "delivery": statement.excluded.delivery,
                "updated_at": statement.excluded.updated_at,
            },
        ),
    )
