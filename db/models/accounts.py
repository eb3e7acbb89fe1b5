"""People, what they may reach, and the credentials they hold."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.models.base import created_at_field, fk_field, id_field, instant_field
from db.types import StrEnumType, UTCDateTime
from domain.enums import ActionTokenPurpose, Tier, UserStatus


class User(SQLModel, table=True):
    """A nominative login. Emails are stored lower-cased."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
        sa.CheckConstraint(
            "status = 'INVITED' OR password_hash IS NOT NULL", name="active_has_password"
        ),
    )

    id: int | None = id_field()
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    password_hash: str | None = Field(default=None, max_length=255)
    status: UserStatus = Field(sa_type=StrEnumType(UserStatus), index=True)
    last_login_at: datetime | None = instant_field()
    created_at: datetime = created_at_field()


class AccessGrant(SQLModel, table=True):
    """One tier held by a person, with its scope.

    ADMIN: a group. USER: a member. INFRA_USER: billing accounts of one member (listed in
    grant_billing_accounts). THIRD_PARTY: billing accounts across members of one group.
    OPERATOR: the back office, no customer scope.
    """

    __tablename__ = "access_grants"
    __table_args__ = (
        sa.CheckConstraint(
            "(tier = 'ADMIN' AND group_id IS NOT NULL AND member_id IS NULL)"
            " OR (tier IN ('USER', 'INFRA_USER') AND member_id IS NOT NULL)"
            " OR (tier = 'THIRD_PARTY' AND group_id IS NOT NULL AND member_id IS NULL)"
            " OR (tier = 'OPERATOR' AND group_id IS NULL AND member_id IS NULL)",
            name="scope_matches_tier",
        ),
    )

    id: int | None = id_field()
    user_id: int = fk_field("users.id")
    tier: Tier = Field(sa_type=StrEnumType(Tier), index=True)
    group_id: int | None = fk_field("groups.id", nullable=True)
    member_id: int | None = fk_field("members.id", nullable=True)
    # THIRD_PARTY grants are read-only unless this allows self-readings and requests.
    may_submit: bool = Field(default=True)
    granted_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    created_at: datetime = created_at_field()
    suspended_at: datetime | None = instant_field()
    revoked_at: datetime | None = instant_field()


class GrantBillingAccount(SQLModel, table=True):
    """The billing accounts an INFRA_USER or THIRD_PARTY grant is limited to."""

    __tablename__ = "grant_billing_accounts"

    grant_id: int = Field(
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        foreign_key="access_grants.id",
        ondelete="CASCADE",
        primary_key=True,
    )
    billing_account_id: int = Field(
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        foreign_key="billing_accounts.id",
        primary_key=True,
        index=True,
    )


class ApiKey(SQLModel, table=True):
    """A key for a third party or an integration: shown once, stored hashed."""

    __tablename__ = "api_keys"

    id: int | None = id_field()
    user_id: int = fk_field("users.id")
    grant_id: int | None = fk_field("access_grants.id", nullable=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)  # shown in lists to recognise the key
    key_hash: str = Field(max_length=128)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    expires_at: datetime = Field(sa_type=UTCDateTime())
    last_used_at: datetime | None = instant_field()
    created_by_user_id: int | None = fk_field("users.id", nullable=True, index=False)
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = instant_field()


class RefreshToken(SQLModel, table=True):
    """A single-use refresh token; reuse of a spent one revokes its whole family."""

    __tablename__ = "refresh_tokens"

    id: int | None = id_field()
    user_id: int = fk_field("users.id")
    family_id: str = Field(max_length=36, index=True)
    token_hash: str = Field(max_length=128, unique=True)
    issued_at: datetime = Field(sa_type=UTCDateTime())
    expires_at: datetime = Field(sa_type=UTCDateTime())
    used_at: datetime | None = instant_field()
    revoked_at: datetime | None = instant_field()


class ActionToken(SQLModel, table=True):
    """A single-use emailed link (activation, password reset), stored hashed."""

    __tablename__ = "action_tokens"

    id: int | None = id_field()
    user_id: int = fk_field("users.id")
    purpose: ActionTokenPurpose = Field(sa_type=StrEnumType(ActionTokenPurpose))
    token_hash: str = Field(max_length=128, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime())
    used_at: datetime | None = instant_field()
    created_at: datetime = created_at_field()


class ThrottleCounter(SQLModel, table=True):
    """Recent failures of one throttled key (an account or a client address, per flow).

    Kept in the database so that every API worker sees the same counters.
    """

    __tablename__ = "throttle_counters"

    key: str = Field(max_length=120, primary_key=True)  # e.g. "login:account:<sha256>"
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_type=UTCDateTime())
    blocked_until: datetime | None = instant_field()
