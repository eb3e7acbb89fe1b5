"""An account's life by email: activation of an invitation, password reset.

Links carry a single-use secret stored hashed (`auth/action_tokens.py`); an expired or used
link gets a clear error. Requests for a reset get the same answer whether the email exists or
not; for an invited account that never activated, the request sends a fresh activation link
(the person lost or let expire the first one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.sessions import normalise_email, throttled
from auth import throttle
from auth.action_tokens import IssuedLink, issue_link
from auth.passwords import PROBLEM_MESSAGES, hash_password, password_problem
from auth.secrets import digest
from comptoir.settings import Settings
from db import audit
from db.engine import transaction
from db.models import ActionToken, RefreshToken, User
from db.models.base import persisted_id
from domain.enums import ActionTokenPurpose, UserStatus
from domain.errors import ErrorCode, Refusal
from mailers import contacts, mails

RESET_ANSWER = (
    "Si un compte correspond à cette adresse, un lien vient d'y être envoyé : de "
    "réinitialisation (valable une heure), ou d'activation si le compte n'est pas encore activé."
)


async def issue_activation(
    session: AsyncSession,
    settings: Settings,
    user_id: int,
    *,
    now: datetime,
    void_earlier: bool = True,
) -> IssuedLink:
    """A fresh activation link; by default the earlier ones stop working."""
    return await issue_link(
        session,
        user_id=user_id,
        purpose=ActionTokenPurpose.ACTIVATION,
        valid_for=timedelta(hours=settings.activation_link_ttl_hours),
        customer_space_url=settings.customer_space_url,
        now=now,
        void_earlier=void_earlier,
    )


async def send_activation(
    session: AsyncSession, settings: Settings, user: User, *, now: datetime
) -> IssuedLink:
    """A fresh activation link in the outbox (invitation, resend, reset of an invited account);
    the link sent before stops working."""
    link = await issue_activation(session, settings, persisted_id(user), now=now)
    await mails.queue_activation(
        session,
        email=user.email,
        full_name=user.full_name,
        activation_url=link.url,
        expires_at=link.expires_at,
        token_id=link.token_id,
        customer_service=await contacts.for_user(session, settings, persisted_id(user)),
    )
    return link


async def _set_password(user: User, password: str) -> None:
    """Checks the policy, then hashes off the event loop (argon2id takes tens of ms)."""
    problem = password_problem(password, email=user.email, full_name=user.full_name)
    if problem is not None:
        raise Refusal(ErrorCode(problem.value), PROBLEM_MESSAGES[problem], field="password")
    user.password_hash = await asyncio.to_thread(hash_password, password)


async def _usable_token(
    session: AsyncSession, secret: str, purpose: ActionTokenPurpose, *, now: datetime
) -> tuple[ActionToken, User]:
    token = (
        await session.exec(
            select(ActionToken)
            .where(ActionToken.token_hash == digest(secret), ActionToken.purpose == purpose)
            .with_for_update()
        )
    ).first()
    if token is None:
        raise Refusal(ErrorCode.TOKEN_INVALID, "Lien invalide.", field="token")
    if token.used_at is not None:
        raise Refusal(
            ErrorCode.TOKEN_USED,
            "Ce lien a déjà servi. Demandez-en un nouveau si besoin.",
            field="token",
        )
    if token.expires_at <= now:
        raise Refusal(
            ErrorCode.TOKEN_EXPIRED,
            "Ce lien a expiré. Demandez-en un nouveau.",
            field="token",
        )
    user = await session.get(User, token.user_id)
    assert user is not None
    return token, user


LinkUse = Callable[[AsyncSession, ActionToken, User], Awaitable[None]]


async def _follow_link(
    sessions: async_sessionmaker[AsyncSession],
    *,
    flow: str,
    purpose: ActionTokenPurpose,
    audit_action: str,
    token: str,
    now: datetime,
    client_address: str | None,
    use: LinkUse,
) -> int:
    """Spends a single-use emailed link in one transaction: `use` applies its effect, and
    the link is marked used and audited with it. A bad link is counted against the client address
    (guessing links is what throttling is for) and committed before the answer."""
    keys = throttle.keys_for(flow, account=None, address=client_address)
    failure: Refusal | None = None
    async with transaction(sessions) as session:
        try:
            await throttle.ensure_not_blocked(session, keys, now=now)
        except throttle.Throttled as exc:
            raise throttled(exc) from None
        try:
            action, user = await _usable_token(session, token, purpose, now=now)
        except Refusal as refusal:
            await throttle.record_failure(session, keys, now=now)
            failure = refusal
        else:
            await use(session, action, user)
            action.used_at = now
            session.add_all([user, action])
            audit.record(
                session,
                actor_user_id=user.id,
                action=audit_action,
                object_type="User",
                object_id=persisted_id(user),
                now=now,
                client_address=client_address,
            )
    if failure is not None:
        raise failure
    return persisted_id(user)


async def activate_account(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    token: str,
    password: str,
    now: datetime,
    client_address: str | None,
) -> int:
    """Sets the first password of an invited person; a confirmation mail follows."""

    async def activate(session: AsyncSession, action: ActionToken, user: User) -> None:
        if user.status != UserStatus.INVITED:
            raise Refusal(ErrorCode.TOKEN_USED, "Ce compte est déjà activé.", field="token")
        await _set_password(user, password)
        user.status = UserStatus.ACTIVE
        await mails.queue_activation_confirmation(
            session,
            email=user.email,
            full_name=user.full_name,
            user_id=persisted_id(user),
            customer_service=await contacts.for_user(session, settings, persisted_id(user)),
        )

    return await _follow_link(
        sessions,
        flow="activation",
        purpose=ActionTokenPurpose.ACTIVATION,
        audit_action="user.activated",
        token=token,
        now=now,
        client_address=client_address,
        use=activate,
    )


async def request_password_reset(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    now: datetime,
    client_address: str | None,
) -> str:
    """Always the same answer: whether the address has an account is nobody's business."""
    email = normalise_email(email)
    keys = throttle.keys_for("reset", account=email, address=client_address)
    async with transaction(sessions) as session:
        try:
            await throttle.ensure_not_blocked(session, keys, now=now)
        except throttle.Throttled as exc:
            raise throttled(exc) from None
        # Every request counts: a reset flood on one address is throttled like failures.
        await throttle.record_failure(session, keys, now=now)
        user = (await session.exec(select(User).where(User.email == email))).first()
        if user is not None and user.status == UserStatus.INVITED:
            await send_activation(session, settings, user, now=now)
        elif user is not None and user.status == UserStatus.ACTIVE:
            link = await issue_link(
                session,
                user_id=persisted_id(user),
                purpose=ActionTokenPurpose.PASSWORD_RESET,
                valid_for=timedelta(minutes=settings.reset_link_ttl_minutes),
                customer_space_url=settings.customer_space_url,
                now=now,
                void_earlier=False,
            )
            await mails.queue_password_reset(
                session,
                email=user.email,
                full_name=user.full_name,
                reset_url=link.url,
                expires_at=link.expires_at,
                token_id=link.token_id,
                customer_service=await contacts.for_user(session, settings, persisted_id(user)),
            )
    return RESET_ANSWER


async def reset_password(
    sessions: async_sessionmaker[AsyncSession],
    *,
    token: str,
    password: str,
    now: datetime,
    client_address: str | None,
) -> int:
    """Sets a new password and closes every open session of the person."""

    async def reset(session: AsyncSession, action: ActionToken, user: User) -> None:
        if user.status != UserStatus.ACTIVE:
            raise Refusal(ErrorCode.TOKEN_INVALID, "Lien invalide.", field="token")
        await _set_password(user, password)
        await session.exec(
            sa.update(RefreshToken)
            .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        await throttle.clear(session, throttle.keys_for("login", account=user.email, address=None))

    return await _follow_link(
        sessions,
        flow="reset",
        purpose=ActionTokenPurpose.PASSWORD_RESET,
        audit_action="user.password_reset",
        token=token,
        now=now,
        client_address=client_address,
        use=reset,
    )
