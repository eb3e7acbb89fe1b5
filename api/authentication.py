"""Who sent this request: `Authorization: Bearer <access token | API key>` → a Caller.

Anonymous requests (no header) get no caller; a bad or expired credential gets no caller and
a reason, which the permission errors report so that clients know to refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from auth import throttle
from auth.api_keys import key_matches, looks_like_api_key, prefix_of
from auth.caller import Caller, load_caller
from auth.tokens import InvalidAccessToken, read_access_token
from comptoir.settings import Settings
from db.engine import transaction
from db.models import ApiKey
from domain.errors import ErrorCode

# Writing last_used_at on every call would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Authentication:
    caller: Caller | None = None
    problem: ErrorCode | None = None
    retry_after_seconds: int | None = None


def client_address(request: Request | None) -> str | None:
    return request.client.host if request is not None and request.client else None


async def authenticate(
    request: Request,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime,
    reads: async_sessionmaker[AsyncSession] | None = None,
) -> Authentication:
    """`reads`, when given, serves the access-token path (one read statement) on the request's
    read connection; API keys write (throttle, last use) through `sessions`."""
    header = request.headers.get("authorization")
    if not header:
        return Authentication()
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return Authentication(problem=ErrorCode.TOKEN_INVALID)
    if looks_like_api_key(credential):
        return await _by_api_key(sessions, credential, client_address(request), now=now)
    secret = settings.signing_secret
    try:
        claims = read_access_token(secret, credential, now=now)
    except InvalidAccessToken as exc:
        return Authentication(
            problem=ErrorCode.TOKEN_EXPIRED if exc.expired else ErrorCode.TOKEN_INVALID
        )
    async with (reads or sessions)() as session:
        caller = await load_caller(
            session, user_id=claims.user_id, family_id=claims.family_id, now=now
        )
    return Authentication(caller, None if caller else ErrorCode.TOKEN_INVALID)


async def _by_api_key(
    sessions: async_sessionmaker[AsyncSession], key: str, address: str | None, *, now: datetime
) -> Authentication:
    keys = throttle.keys_for("api_key", account=None, address=address)
    async with transaction(sessions) as session:
        try:
            await throttle.ensure_not_blocked(session, keys, now=now)
        except throttle.Throttled as exc:
            return Authentication(
                problem=ErrorCode.THROTTLED, retry_after_seconds=exc.retry_after_seconds
            )
        prefix = prefix_of(key)
        row = None
        if prefix is not None:
            row = (await session.exec(select(ApiKey).where(ApiKey.prefix == prefix))).first()
        usable = (
            row is not None
            and key_matches(key, row.key_hash)
            and row.revoked_at is None
            and row.expires_at > now
        )
        if not usable:
            await throttle.record_failure(session, keys, now=now)
            return Authentication(problem=ErrorCode.TOKEN_INVALID)
        assert row is not None
        caller = await load_caller(
            session,
            user_id=row.user_id,
            now=now,
            api_key_id=row.id,
            api_key_grant_id=row.grant_id,
            api_key_scopes=row.scopes,
        )
        if caller is not None and (
            row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION
        ):
            await session.exec(
                sa.update(ApiKey).where(col(ApiKey.id) == row.id).values(last_used_at=now)
            )
    return Authentication(caller, None if caller else ErrorCode.TOKEN_INVALID)
