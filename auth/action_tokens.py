"""Emailed single-use links (activation, password reset): minted in one place.

A link carries a fresh secret in its fragment (never sent to a server, never in access logs);
only the secret's digest is stored. Spending a link lives with its use case
(`api/resolvers/account_lifecycle.py`); what a link is worth (its lifetime, the page it opens)
is decided here from the purpose, so an invitation, a resend, a welcome pack and a reset all
mint the same kind of link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.secrets import digest, new_secret
from db.models import ActionToken
from domain.enums import ActionTokenPurpose

# The customer-space page each purpose opens.
LINK_PAGES: dict[ActionTokenPurpose, str] = {
    ActionTokenPurpose.ACTIVATION: "activation",
    ActionTokenPurpose.PASSWORD_RESET: "mot-de-passe",
}


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token_id: int
    url: str
    expires_at: datetime


async def void_open_links(
    session: AsyncSession, user_id: int, purpose: ActionTokenPurpose, *, now: datetime
) -> None:
    """Marks the person's unspent links of this purpose as spent: only the newest one works."""
    await session.exec(
        sa.update(ActionToken)
        .where(
            col(ActionToken.user_id) == user_id,
            col(ActionToken.purpose) == purpose,
            col(ActionToken.used_at).is_(None),
        )
        .values(used_at=now)
    )


async def issue_link(
    session: AsyncSession,
    *,
    user_id: int,
    purpose: ActionTokenPurpose,
    valid_for: timedelta,
    customer_space_url: str,
    now: datetime,
    void_earlier: bool,
) -> IssuedLink:
    """A fresh single-use link for `user_id`; with `void_earlier`, the older ones stop working."""
    if void_earlier:
        await void_open_links(session, user_id, purpose, now=now)
    secret = new_secret()
    token = ActionToken(
        user_id=user_id,
        purpose=purpose,
        token_hash=digest(secret),
        expires_at=now + valid_for,
    )
    session.add(token)
    await session.flush()
    page = LINK_PAGES[purpose]
    assert token.id is not None  # flushed: the key is set
    return IssuedLink(
        token_id=token.id,
        url=f"{customer_space_url.rstrip('/')}/{page}#token={secret}",
        expires_at=token.expires_at,
    )
