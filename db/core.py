"""SQLAlchemy Core for the lists, aggregates and exports that read rows, not objects: the
table handles and the one way to run a Core statement on a session's connection.

STYLE.md: Core selects of columns cost a third to a sixth of ORM reads for the same SQL, so
hot paths select from these tables. The ORM classes stay the one definition of each table.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import (
    BillingAccount,
    GrantBillingAccount,
    Group,
    Invoice,
    InvoiceLine,
    InvoiceSite,
    Member,
    Meter,
    OutboxMail,
    Reading,
    Site,
    ThrottleCounter,
)
from db.request_reads import connection_of


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table a SQLModel class maps."""
    table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
    assert isinstance(table, sa.Table)
    return table


GROUPS = table_of(Group)
MEMBERS = table_of(Member)
ACCOUNTS = table_of(BillingAccount)
SITES = table_of(Site)
METERS = table_of(Meter)
READINGS = table_of(Reading)
INVOICES = table_of(Invoice)
LINES = table_of(InvoiceLine)
SHARES = table_of(InvoiceSite)  # an invoice's per-site rows
GRANT_ACCOUNTS = table_of(GrantBillingAccount)  # the billing accounts a grant is limited to
OUTBOX = table_of(OutboxMail)
THROTTLE_COUNTERS = table_of(ThrottleCounter)


RowValues = tuple[Any, ...]  # a Core row's values, untyped: the selects are built at run time


async def core(session: AsyncSession, statement: sa.Executable) -> sa.CursorResult[*RowValues]:
    """Runs a Core statement on the session's connection: rows, without the ORM layer."""
    return await (await connection_of(session)).execute(statement)


async def core_rows(session: AsyncSession, statement: sa.Executable) -> list[sa.Row[*RowValues]]:
    """Every row of a Core select."""
    return list((await core(session, statement)).all())
