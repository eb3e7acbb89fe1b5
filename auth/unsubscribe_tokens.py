"""One-click unsubscribe tokens: "this person wants no more mail about these kinds of alert".

The token is `<user id>.<kind>[,<kind>…].<HMAC-SHA256>` (one kind for an alert's own mail, the
kinds it lists for a digest) under a key derived from the secret key with its
own purpose, so a download token can never be passed off as an unsubscribe one (nor the
reverse). It does not expire: a mail read months later must still unsubscribe (RFC 8058), and
all it can do is turn one kind of alert mail off for the person it was sent to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from domain.enums import AlertKind

_PURPOSE = b"comptoir/alert-unsubscribe/v1"
_KINDS = {kind.value: kind for kind in AlertKind}


class InvalidUnsubscribeToken(Exception):
    """Tampered or malformed: the route answers alike for both."""


def _names(kinds: Iterable[AlertKind]) -> str:
    return ",".join(sorted({kind.value for kind in kinds}))


def _signature(secret: str, payload: str) -> str:
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_unsubscribe(secret: str, user_id: int, kinds: Iterable[AlertKind]) -> str:
    names = _names(kinds)
    if not names:
        raise ValueError("an unsubscribe token names at least one kind")
    payload = f"{user_id}.{names}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_unsubscribe(secret: str, token: str) -> tuple[int, frozenset[AlertKind]]:
    """The person and the kinds the token names, or InvalidUnsubscribeToken."""
    user, _, rest = token.partition(".")
    names, _, signature = rest.partition(".")
    kinds = names.split(",")
    if not (user.isascii() and user.isdigit() and len(user) <= 18) or not all(
        name in _KINDS for name in kinds
    ):
        raise InvalidUnsubscribeToken("malformed")
    if not hmac.compare_digest(_signature(secret, f"{user}.{names}"), signature):
        raise InvalidUnsubscribeToken("bad signature")
    return int(user), frozenset(_KINDS[name] for name in kinds)
