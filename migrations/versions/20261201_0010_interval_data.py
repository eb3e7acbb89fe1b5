"""interval data: load curves (partitioned by month on PostgreSQL) and daily gas consumption

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

import db.types
from db.curve_partitions import PARTITION_SCHEMA, months_between, partition_ddl

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_QUALITIES = ("ACTUAL", "ESTIMATED", "CORRECTED", "MISSING")
# Months created with the table; imports and demo loads add the others on demand.
_FIRST_MONTH = date(2024, 1, 1)
_LAST_MONTH = date(2027, 12, 1)


def _quality() -> sa.Enum:
    return sa.Enum(
        *_QUALITIES, name="curvequality", native_enum=False, create_constraint=True, length=9
    )


def _site_and_meter(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f(f"fk_{table}_site_id_sites")),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f(f"fk_{table}_meter_id_meters")
        ),
    ]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "load_curve_points",
        sa.Column("site_id", _ID, nullable=False, autoincrement=False),
        sa.Column("starts_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("meter_id", _ID, nullable=False),
        sa.Column("minutes", sa.SmallInteger(), nullable=False),
        sa.Column("power_w", sa.Integer(), nullable=True),
        sa.Column("quality", _quality(), nullable=False),
        sa.CheckConstraint(
            "minutes IN (10, 30)", name=op.f("ck_load_curve_points_minutes_ten_or_thirty")
        ),
        sa.CheckConstraint("power_w >= 0", name=op.f("ck_load_curve_points_power_not_negative")),
        sa.CheckConstraint(
            "(quality = 'MISSING') = (power_w IS NULL)",
            name=op.f("ck_load_curve_points_power_null_iff_missing"),
        ),
        sa.PrimaryKeyConstraint("site_id", "starts_at", name=op.f("pk_load_curve_points")),
        # PostgreSQL: one partition per Paris month (declarative partitioning); the primary
        # key (site, instant) is the composite index every read goes through. SQLite: the
        # rows are clustered on that key, with no rowid beside it.
        postgresql_partition_by="RANGE (starts_at)",
        sqlite_with_rowid=False,
    )
    if postgresql:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {PARTITION_SCHEMA}")
        for month in months_between(_FIRST_MONTH, _LAST_MONTH):
            op.execute(partition_ddl(month))
    op.create_table(
        "gas_daily_consumptions",
        sa.Column("site_id", _ID, nullable=False, autoincrement=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("meter_id", _ID, nullable=False),
        sa.Column("volume_m3", db.types.FixedDecimal(precision=10, scale=2), nullable=True),
        sa.Column("coefficient", db.types.FixedDecimal(precision=8, scale=5), nullable=False),
        sa.Column("energy_kwh", db.types.FixedDecimal(precision=12, scale=2), nullable=True),
        sa.Column("quality", _quality(), nullable=False),
        sa.CheckConstraint(
            "volume_m3 >= 0", name=op.f("ck_gas_daily_consumptions_volume_not_negative")
        ),
        sa.CheckConstraint(
            "energy_kwh >= 0", name=op.f("ck_gas_daily_consumptions_energy_not_negative")
        ),
        sa.CheckConstraint(
            "(quality = 'MISSING') = (volume_m3 IS NULL AND energy_kwh IS NULL)",
            name=op.f("ck_gas_daily_consumptions_volume_null_iff_missing"),
        ),
        *_site_and_meter("gas_daily_consumptions"),
        sa.PrimaryKeyConstraint("site_id", "day", name=op.f("pk_gas_daily_consumptions")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("gas_daily_consumptions")
    op.drop_table("load_curve_points")  # its partitions go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SCHEMA IF EXISTS {PARTITION_SCHEMA}")
