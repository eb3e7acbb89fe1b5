"""API keys: created by an ADMIN for a third party's grant, or by a person for themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.access import grant_scope, visible_grants
from api.resolvers.writable import require_writing_credential
from auth.api_keys import new_api_key
from auth.caller import READ_SCOPE, WRITE_SCOPE, Caller
from auth.permissions import admin_groups, may_manage
from comptoir.settings import Settings
from db import audit
from db.engine import transaction
from db.models import AccessGrant, ApiKey
from db.models.base import persisted_id
from domain.enums import Tier
from domain.errors import ErrorCode, Refusal, not_found

KNOWN_SCOPES = (READ_SCOPE, WRITE_SCOPE)


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: int
    name: str
    prefix: str
    user_id: int
    grant_id: int | None
    scopes: tuple[str, ...]
    expires_at: datetime
    last_used_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None


def key_row(key: ApiKey) -> ApiKeyRow:
    return ApiKeyRow(
        id=persisted_id(key),
        name=key.name,
        prefix=key.prefix,
        user_id=key.user_id,
        grant_id=key.grant_id,
        scopes=tuple(key.scopes),
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


def _managed_third_party_grants(caller: Caller) -> sa.ColumnElement[bool]:
    groups = sorted(admin_groups(caller))
    return sa.and_(
        col(AccessGrant.tier) == Tier.THIRD_PARTY,
        col(AccessGrant.group_id).in_(groups),
    )


def _keys_visible_to(caller: Caller) -> sa.ColumnElement[bool]:
    """One's own keys, and the keys of the third-party grants one administers."""
    managed = select(AccessGrant.id).where(_managed_third_party_grants(caller))
    return sa.or_(
        col(ApiKey.user_id) == caller.user_id,
        col(ApiKey.grant_id).in_(managed),
    )


async def list_api_keys(
    sessions: async_sessionmaker[AsyncSession], caller: Caller, *, include_revoked: bool
) -> list[ApiKeyRow]:
    query = select(ApiKey).where(_keys_visible_to(caller))
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    async with sessions() as session:
        keys = (await session.exec(query.order_by(col(ApiKey.id)))).all()
    return [key_row(k) for k in keys]


async def _grant_for_key(session: AsyncSession, caller: Caller, grant_id: int) -> AccessGrant:
    grant = (
        await session.exec(
            select(AccessGrant).where(
                AccessGrant.id == grant_id,
                col(AccessGrant.revoked_at).is_(None),
                visible_grants(caller),
            )
        )
    ).first()
    if grant is None:
        raise not_found("grantId")
    own = grant.user_id == caller.user_id
    if not own and not (
        grant.tier == Tier.THIRD_PARTY and may_manage(caller, await grant_scope(session, grant))
    ):
        raise Refusal(
            ErrorCode.EXCEEDS_OWN_SCOPE,
            "Une clé se crée pour soi-même, ou par un administrateur pour un tiers de son "
            "groupement.",
            field="grantId",
        )
    return grant


async def create_api_key(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    caller: Caller,
    *,
    name: str,
    grant_id: int | None,
    expires_in_days: int,
    scopes: list[str],
    now: datetime,
    client_address: str | None,
) -> tuple[ApiKeyRow, str]:
    """Returns the key's row and the key itself, which is never shown again."""
    name = " ".join(name.split())
    if not name:
        raise Refusal(ErrorCode.REQUIRED, "Donnez un nom à la clé.", field="name")
    if len(name) > 100:
        raise Refusal(ErrorCode.TOO_LONG, "100 caractères au plus.", field="name")
    if not 1 <= expires_in_days <= settings.api_key_max_days:
        raise Refusal(
            ErrorCode.INVALID,
            f"La durée de validité va de 1 à {settings.api_key_max_days} jours.",
            field="expiresInDays",
        )
    unknown = sorted(set(scopes) - set(KNOWN_SCOPES))
    if unknown or not scopes:
        raise Refusal(
            ErrorCode.INVALID,
            f"Portées possibles : {', '.join(KNOWN_SCOPES)}.",
            field="scopes",
        )
    if caller.api_key_id is not None:
        raise Refusal(ErrorCode.FORBIDDEN, "Une clé d'API ne crée pas d'autre clé.", field="name")
    if (
        WRITE_SCOPE in scopes
        and grant_id is None
        and not any(grant.allows_writes for grant in caller.grants)
    ):
        # a read-only person (a third party without submissions) mints no key that writes
        raise Refusal(
            ErrorCode.EXCEEDS_OWN_SCOPE,
            "Votre accès est en lecture seule : la clé ne peut pas écrire.",
            field="scopes",
        )
    async with transaction(sessions) as session:
        owner_id = caller.user_id
        if grant_id is not None:
            grant = await _grant_for_key(session, caller, grant_id)
            owner_id = grant.user_id
            if WRITE_SCOPE in scopes and grant.tier == Tier.THIRD_PARTY and not grant.may_submit:
                raise Refusal(
                    ErrorCode.EXCEEDS_OWN_SCOPE,
                    "Ce tiers est en lecture seule : la clé ne peut pas écrire.",
                    field="scopes",
                )
        fresh = new_api_key()
        key = ApiKey(
            user_id=owner_id,
            grant_id=grant_id,
            name=name,
            prefix=fresh.prefix,
            key_hash=fresh.key_hash,
            scopes=sorted(set(scopes)),
            expires_at=now + timedelta(days=expires_in_days),
            created_by_user_id=caller.user_id,
            created_at=now,
        )
        session.add(key)
        await session.flush()
        audit.record(
            session,
            actor_user_id=caller.user_id,
            action="api_key.created",
            object_type="ApiKey",
            object_id=persisted_id(key),
            now=now,
            client_address=client_address,
            details={
                "prefix": key.prefix,
                "user_id": owner_id,
                "grant_id": grant_id,
                "scopes": key.scopes,
            },
        )
    return key_row(key), fresh.key


async def revoke_api_key(
    sessions: async_sessionmaker[AsyncSession],
    caller: Caller,
    *,
    api_key_id: int,
    now: datetime,
    client_address: str | None,
) -> ApiKeyRow:
    require_writing_credential(caller)
    async with transaction(sessions) as session:
        key = (
            await session.exec(
                select(ApiKey).where(ApiKey.id == api_key_id, _keys_visible_to(caller))
            )
        ).first()
        if key is None:
            raise not_found("apiKeyId")
        if key.revoked_at is None:
            key.revoked_at = now
            session.add(key)
            audit.record(
                session,
                actor_user_id=caller.user_id,
                action="api_key.revoked",
                object_type="ApiKey",
                object_id=persisted_id(key),
                now=now,
                client_address=client_address,
                details={"prefix": key.prefix},
            )
    return key_row(key)
