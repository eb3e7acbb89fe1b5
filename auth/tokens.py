"""Short-lived access tokens (signed JWT, HS256) carried as `Authorization: Bearer …`.

An access token names the person and the login session (the refresh-token family) it belongs
to; logging out revokes the family, and the per-request caller lookup refuses a revoked one,
so a token dies with its session rather than only at expiry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt

if TYPE_CHECKING:  # PyJWT's TypedDict of decode options; only annotations use it
    from jwt.types import Options

_ISSUER = "comptoir"
_AUDIENCE = "comptoir-api"


class InvalidAccessToken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.expired = reason == "expired"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    family_id: str
    expires_at: datetime


def _key(secret: str) -> bytes:
    # Derived so that the same secret signs files and tokens with unrelated keys.
    return hmac.new(secret.encode(), b"comptoir/access-token/v1", hashlib.sha256).digest()


def issue_access_token(
    secret: str, *, user_id: int, family_id: str, ttl_seconds: int, now: datetime
) -> tuple[str, datetime]:
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": _ISSUER,
        "aud": _AUDIENCE,
        "sub": str(user_id),
        "fam": family_id,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, _key(secret), algorithm="HS256"), expires_at


# Tokens already verified by this process (signature, issuer, audience, claims), by secret and
# token: a client sends the same token with every request for its lifetime, and verifying it
# costs more than the request's SQL (PyJWT, about 0.3 ms). Only a verified token gets in; its
# dates are judged again against each request's clock, and its session by the caller's
# statement, so a hit answers exactly what a full check would.
MAX_VERIFIED = 4096
_VERIFIED: OrderedDict[tuple[str, str], tuple[AccessClaims, datetime]] = OrderedDict()


def _judge(expires_at: datetime, issued_at: datetime, now: datetime) -> None:
    if issued_at > now:
        raise InvalidAccessToken("invalid")  # issued in the future, as PyJWT's own check
    if expires_at <= now:
        raise InvalidAccessToken("expired")


def read_access_token(secret: str, token: str, *, now: datetime | None = None) -> AccessClaims:
    # Given `now` (the request's clock), expiry is judged against it alone, so that an injected
    # clock decides; without it PyJWT judges against the wall clock.
    if now is not None:
        verified = _VERIFIED.get((secret, token))
        if verified is not None:
            _VERIFIED.move_to_end((secret, token))
            access, issued_at = verified
            _judge(access.expires_at, issued_at, now)
            return access
    options: Options = {
        "require": ["exp", "sub", "fam", "iat"],
        "verify_exp": now is None,
        "verify_iat": now is None,
    }
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=["HS256"],
            audience=_AUDIENCE,
            issuer=_ISSUER,
            options=options,
            leeway=0,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidAccessToken("expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken("invalid") from exc
    try:
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidAccessToken("invalid") from exc
    if now is not None:
        _judge(expires_at, issued_at, now)
    try:
        access = AccessClaims(int(claims["sub"]), str(claims["fam"]), expires_at)
    except (TypeError, ValueError) as exc:
        raise InvalidAccessToken("invalid") from exc
    if now is not None:
        _VERIFIED[(secret, token)] = (access, issued_at)
        if len(_VERIFIED) > MAX_VERIFIED:
            _VERIFIED.popitem(last=False)
    return access
