"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has neither exact decimals nor time zones: money and other fixed-point figures are
stored there as scaled integers (so `SUM` stays exact to the cent), and timestamps are stored
in UTC and handed back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class FixedDecimal(TypeDecorator[Decimal]):
    """NUMERIC(precision, scale) on PostgreSQL, an integer of 10^-scale units on SQLite."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._unit = Decimal(1).scaleb(-scale)
        self._factor: int = 10**scale

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value) if not isinstance(value, Decimal) else value
        if isinstance(value, float):
            raise TypeError("a float never carries money or exact quantities: use Decimal")
        quantised = exact.quantize(self._unit)
        if quantised != exact:
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return int(quantised.scaleb(self.scale))
        return quantised

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            # Exact, and already at the scale: scaleb moves the exponent, nothing to round.
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self._unit)

    def __repr__(self) -> str:
        return f"FixedDecimal(precision={self.precision}, scale={self.scale})"


def Money() -> FixedDecimal:
    """Euros to the cent."""
    return FixedDecimal(14, 2)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant; naive datetimes are refused rather than guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware instant")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = value
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"


def StrEnumType(enum_cls: type[StrEnum], name: str | None = None) -> sa.Enum:
    """An enum stored as its string value, with a CHECK listing the allowed values.

    `name` names the CHECK; give one when a table holds two columns of the same enum.
    """
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        name=name or enum_cls.__name__.lower(),
    )


def IdType() -> sa.types.TypeEngine[int]:
    """64-bit keys on PostgreSQL; SQLite only auto-increments a plain INTEGER primary key."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)
