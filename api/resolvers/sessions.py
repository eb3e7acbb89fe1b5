"""Logging in and out: credentials → a login session (refresh-token family) and tokens."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth import throttle
from auth.passwords import hash_password, needs_rehash, verify_password
from auth.secrets import digest, new_secret
from auth.tokens import issue_access_token
from comptoir.settings import Settings
from db.engine import transaction
from db.models import RefreshToken, User
from db.models.base import persisted_id
from db.types import utcnow
from domain.enums import UserStatus
from domain.errors import ErrorCode, Refusal

BAD_CREDENTIALS = "Adresse email ou mot de passe incorrect."


@dataclass(frozen=True, slots=True)
class Tokens:
    user_id: int
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def throttled(exc: throttle.Throttled) -> Refusal:
    return Refusal(
        ErrorCode.THROTTLED,
        f"Trop de tentatives : réessayez dans {exc.retry_after_seconds} secondes.",
        retry_after_seconds=exc.retry_after_seconds,
    )


async def open_session(
    session: AsyncSession,
    settings: Settings,
    user_id: int,
    *,
    now: datetime,
    family_id: str | None = None,
) -> Tokens:
    """Issues a refresh token (new family unless given) and an access token."""
    family = family_id or str(uuid.uuid4())
    refresh = new_secret()
    refresh_expires = now + timedelta(days=settings.refresh_token_ttl_days)
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family,
            token_hash=digest(refresh),
            issued_at=now,
            expires_at=refresh_expires,
        )
    )
    secret = settings.secret_key.get_secret_value()  # type: ignore[union-attr]  # set by Settings
    access, access_expires = issue_access_token(
        secret,
        user_id=user_id,
        family_id=family,
        ttl_seconds=settings.access_token_ttl_seconds,
        now=now,
    )
    return Tokens(user_id, access, access_expires, refresh, refresh_expires)


async def log_in(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    password: str,
    client_address: str | None,
    now: datetime | None = None,
) -> Tokens:
    """Same answer, and about the same time, for an unknown email and a wrong password."""
    now = now or utcnow()
    email = normalise_email(email)
    keys = throttle.keys_for("login", account=email, address=client_address)
    tokens: Tokens | None = None
    async with transaction(sessions) as session:
        try:
            await throttle.ensure_not_blocked(session, keys, now=now)
        except throttle.Throttled as exc:
            raise throttled(exc) from None
        user = (await session.exec(select(User).where(User.email == email))).first()
        stored_hash = user.password_hash if user is not None else None
        # argon2 takes ~100 ms of CPU: keep the event loop free for other requests.
        matches = await asyncio.to_thread(verify_password, password[:1024], stored_hash)
        if user is not None and matches and user.status == UserStatus.ACTIVE:
            if stored_hash is not None and needs_rehash(stored_hash):
                user.password_hash = await asyncio.to_thread(hash_password, password)
            user.last_login_at = now
            session.add(user)
            await throttle.clear(session, keys[:1])
            tokens = await open_session(session, settings, persisted_id(user), now=now)
        else:
            await throttle.record_failure(session, keys, now=now)
    if tokens is None:
        raise Refusal(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)
    return tokens


async def _revoke_family(session: AsyncSession, family_id: str, *, now: datetime) -> None:
    await session.exec(
        sa.update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def refresh_session(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    refresh_token: str,
    now: datetime | None = None,
) -> Tokens:
    """Rotates a refresh token. A spent one presented again revokes its whole family: either
    its owner or a thief used it first, and the family can no longer be trusted."""
    now = now or utcnow()
    refusal: Refusal | None = None
    tokens: Tokens | None = None
    async with transaction(sessions) as session:
        row = (
            await session.exec(
                select(RefreshToken)
                .where(RefreshToken.token_hash == digest(refresh_token))
                .with_for_update()
            )
        ).first()
        invalid = Refusal(ErrorCode.TOKEN_INVALID, "Session invalide : reconnectez-vous.")
        if row is None or row.revoked_at is not None:
            refusal = invalid
        elif row.used_at is not None:
            await _revoke_family(session, row.family_id, now=now)
            refusal = Refusal(
                ErrorCode.TOKEN_REUSED,
                "Ce jeton a déjà servi : la session est close par sécurité, reconnectez-vous.",
            )
        elif row.expires_at <= now:
            refusal = Refusal(ErrorCode.TOKEN_EXPIRED, "Session expirée : reconnectez-vous.")
        else:
            user = await session.get(User, row.user_id)
            if user is None or user.status != UserStatus.ACTIVE:
                await _revoke_family(session, row.family_id, now=now)
                refusal = invalid
            else:
                row.used_at = now
                session.add(row)
                tokens = await open_session(
                    session, settings, row.user_id, now=now, family_id=row.family_id
                )
    if refusal is not None:
        raise refusal
    assert tokens is not None
    return tokens


async def log_out(
    sessions: async_sessionmaker[AsyncSession], *, family_id: str, now: datetime | None = None
) -> None:
    async with transaction(sessions) as session:
        await _revoke_family(session, family_id, now=now or utcnow())


async def family_of(sessions: async_sessionmaker[AsyncSession], refresh_token: str) -> str | None:
    async with sessions() as session:
        return (
            await session.exec(
                select(RefreshToken.family_id).where(
                    RefreshToken.token_hash == digest(refresh_token)
                )
            )
        ).first()


async def owner_of_family(sessions: async_sessionmaker[AsyncSession], family_id: str) -> int | None:
    async with sessions() as session:
        return (
            await session.exec(
                select(RefreshToken.user_id).where(RefreshToken.family_id == family_id).limit(1)
            )
        ).first()
