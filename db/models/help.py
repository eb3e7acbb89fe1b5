"""The Help tab: the supplier's guides (files) and the contacts ("vos interlocuteurs").

Contacts are the one source of every mail's and PDF's customer-service block
(mailers/contacts.py). A contact is the supplier's (no group: technical support, the Chorus Pro
team, the default customer service), a group's (its coordinator's account manager, business
developer, customer service) or a member's (its dedicated adviser).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field
from db.types import StrEnumType
from domain.enums import ContactRole, GuideAudience


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.CheckConstraint(
            "member_id IS NULL OR group_id IS NOT NULL", name="member_contact_has_group"
        ),
    )

    id: int | None = id_field()
    group_id: int | None = fk_field("groups.id", nullable=True, ondelete="CASCADE")
    member_id: int | None = fk_field("members.id", nullable=True, ondelete="CASCADE")
    role: ContactRole = Field(sa_type=StrEnumType(ContactRole))
    name: str = Field(max_length=120)
    phone: str = Field(max_length=32)
    email: str = Field(max_length=254)
    opening_hours: str = Field(max_length=200)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = instant_field()


class Guide(SQLModel, table=True):
    """A PDF the supplier publishes in the Help tab, stored under files/guides/."""

    __tablename__ = "guides"

    id: int | None = id_field()
    title: str = Field(max_length=120)
    description: str = Field(max_length=500)
    audience: GuideAudience = Field(sa_type=StrEnumType(GuideAudience))
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200, unique=True)
    uploaded_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = instant_field()
