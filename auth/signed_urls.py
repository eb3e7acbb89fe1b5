"""Signed, expiring download tokens for /files/…: the route checks the signature, never a session.

A token names one stored file and an expiry, with an HMAC-SHA256 of both under a key derived
from the secret key. Whoever holds the URL may download until it expires, so the URL is only
ever handed to a caller whose perimeter contains the file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

_PURPOSE = b"comptoir/files/v1"


class InvalidSignedToken(Exception):
    """Tampered, malformed or expired: the route answers 404 alike for all of them."""


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_file_key(secret: str, file_key: str, ttl_seconds: int, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    payload = f"{file_key}|{expires}".encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify_file_token(secret: str, token: str, *, now: float | None = None) -> str:
    """The file key the token grants, or InvalidSignedToken."""
    try:
        payload_part, signature_part = token.split(".", 1)
        payload = _unb64(payload_part)
        signature = _unb64(signature_part)
    except (ValueError, TypeError) as exc:
        raise InvalidSignedToken("malformed") from exc
    expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidSignedToken("bad signature")
    file_key, _, expires = payload.decode(errors="replace").rpartition("|")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        raise InvalidSignedToken("expired")
    return file_key
