"""Relèves: dated indexes per register, including self-readings."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, max_length_check
from db.types import StrEnumType
from domain.enums import ReadingSource, Register, SelfReadingStatus


class Reading(SQLModel, table=True):
    """One index on one register of one meter at one date.

    `rollover` records a "tour compteur": the index passed the meter's maximum since the
    previous reading of this register, so a lower figure is not a drop.
    """

    __tablename__ = "readings"
    __table_args__ = (
        sa.UniqueConstraint("meter_id", "register_code", "read_on", "source"),
        sa.CheckConstraint("index_value >= 0", name="index_not_negative"),
        sa.CheckConstraint(
            "(source = 'SELF_READING') = (self_reading_status IS NOT NULL)",
            name="self_reading_status_iff_self_reading",
        ),
        max_length_check("rejection_reason", 200),
        sa.Index("ix_readings_site_id_read_on", "site_id", "read_on"),
        sa.Index(
            "ix_readings_meter_id_register_code_read_on", "meter_id", "register_code", "read_on"
        ),
        sa.Index("ix_readings_source", "source"),
    )

    id: int | None = id_field()
    site_id: int = fk_field("sites.id", index=False)
    meter_id: int = fk_field("meters.id", index=False)
    register_code: Register = Field(sa_type=StrEnumType(Register))
    read_on: date = Field(sa_type=sa.Date())
    index_value: int = Field(sa_type=sa.BigInteger())
    source: ReadingSource = Field(sa_type=StrEnumType(ReadingSource))
    rollover: bool = Field(default=False)
    # Self-reading only: who sent it, what became of it, whom to confirm to.
    submitted_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    self_reading_status: SelfReadingStatus | None = Field(
        default=None, sa_type=StrEnumType(SelfReadingStatus), nullable=True
    )
    rejection_reason: str | None = Field(default=None, max_length=200)
    confirmation_emails: list[str] | None = Field(default=None, sa_type=sa.JSON())
    created_at: datetime = created_at_field()
