"""Shared pieces of the table models: metadata naming and column helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic_core import PydanticUndefined
from sqlmodel import Field, SQLModel
from sqlmodel.main import OnDeleteType

from db.types import IdType, UTCDateTime, utcnow

# Stable constraint names, so alembic can drop and compare them on every backend.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def id_field() -> Any:
    return Field(default=None, sa_type=IdType(), primary_key=True)


def fk_field(
    target: str,
    *,
    nullable: bool = False,
    index: bool = True,
    ondelete: OnDeleteType | None = None,
) -> Any:
    """A foreign key column of the project's key type."""
    return Field(
        default=None,
        foreign_key=target,
        ondelete=ondelete or PydanticUndefined,  # sqlmodel's "not given"
        sa_type=IdType(),
        nullable=nullable,
        index=index,
    )


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime(), nullable=False)


def instant_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


def max_length_check(column: str, limit: int) -> sa.CheckConstraint:
    """The customer-visible length limits are business rules: keep them in the schema too."""
    return sa.CheckConstraint(f"length({column}) <= {limit}", name=f"{column}_max_{limit}")


class _Keyed(Protocol):
    id: int | None


def persisted_id(row: _Keyed) -> int:
    """The key of a row the database has numbered (loaded, or added and flushed): SQLModel
    types every `id` as optional because a new object has none until the flush."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


__all__ = [
    "SQLModel",
    "created_at_field",
    "datetime",
    "fk_field",
    "id_field",
    "instant_field",
    "max_length_check",
    "persisted_id",
]
