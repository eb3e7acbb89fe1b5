"""Interval data: electricity load curves (mean power over 10 or 30 minutes) and daily gas
consumption (Gazpar), one narrow row per point.

Layout chosen by measurement (bench/curves_layout.py, quoted in the README): one row per
point rather than one row per site and day holding the day's points, because every step of
`consumptionCurve` is then one `GROUP BY` that reads the same on SQLite and PostgreSQL, each
point keeps its own quality, and re-importing a day is a range `DELETE` + `INSERT`.

On PostgreSQL `load_curve_points` is partitioned by month on `starts_at` (the migration
declares it; `db.curve_partitions` adds a month's partition on demand): a one-site-one-year
read touches twelve partitions through the primary key (site, instant), and old months can be
detached whole. On SQLite the same table is a WITHOUT ROWID table clustered on that key.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.types import FixedDecimal, IdType, StrEnumType, UTCDateTime
from domain.enums import CurveQuality


class LoadCurvePoint(SQLModel, table=True):
    """One point of a site's power curve: the mean power over `minutes` from `starts_at`.

    `power_w` is in watts (as the distributors send it); NULL exactly when the point is
    MISSING. The energy of the point is `power_w × minutes / 60` Wh.
    """

    __tablename__ = "load_curve_points"
    __table_args__ = (
        sa.CheckConstraint("minutes IN (10, 30)", name="minutes_ten_or_thirty"),
        sa.CheckConstraint("power_w >= 0", name="power_not_negative"),
        sa.CheckConstraint(
            "(quality = 'MISSING') = (power_w IS NULL)", name="power_null_iff_missing"
        ),
        {"sqlite_with_rowid": False},
    )

    # No foreign keys here: checking two per point cost more than the rest of an import of
    # millions of points (PostgreSQL runs one trigger per row and key); the import resolves
    # both from the database before writing, and sites and meters are never deleted.
    site_id: int = Field(sa_column=sa.Column(IdType(), primary_key=True, autoincrement=False))
    starts_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), primary_key=True))
    meter_id: int = Field(sa_column=sa.Column(IdType(), nullable=False))
    minutes: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    power_w: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    quality: CurveQuality = Field(sa_column=sa.Column(StrEnumType(CurveQuality), nullable=False))


class GasDailyConsumption(SQLModel, table=True):
    """One gas day of a site (Gazpar): the volume in m³, the conversion coefficient (higher
    heating value × pressure and temperature correction) and the energy in kWh it gives.

    `day` is the Paris calendar day; volume and energy are NULL exactly when MISSING.
    """

    __tablename__ = "gas_daily_consumptions"
    __table_args__ = (
        sa.CheckConstraint("volume_m3 >= 0", name="volume_not_negative"),
        sa.CheckConstraint("energy_kwh >= 0", name="energy_not_negative"),
        sa.CheckConstraint(
            "(quality = 'MISSING') = (volume_m3 IS NULL AND energy_kwh IS NULL)",
            name="volume_null_iff_missing",
        ),
        {"sqlite_with_rowid": False},
    )

    site_id: int = Field(
        sa_column=sa.Column(
            IdType(), sa.ForeignKey("sites.id"), primary_key=True, autoincrement=False
        )
    )
    day: date = Field(sa_column=sa.Column(sa.Date(), primary_key=True))
    meter_id: int = Field(sa_column=sa.Column(IdType(), sa.ForeignKey("meters.id"), nullable=False))
    volume_m3: Decimal | None = Field(
        default=None, sa_column=sa.Column(FixedDecimal(10, 2), nullable=True)
    )
    coefficient: Decimal = Field(sa_column=sa.Column(FixedDecimal(8, 5), nullable=False))
    energy_kwh: Decimal | None = Field(
        default=None, sa_column=sa.Column(FixedDecimal(12, 2), nullable=True)
    )
    quality: CurveQuality = Field(sa_column=sa.Column(StrEnumType(CurveQuality), nullable=False))
