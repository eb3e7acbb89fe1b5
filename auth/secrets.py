"""Opaque secrets handed to people (refresh tokens, emailed links, API keys).

Only their SHA-256 is stored: they carry 256 bits of randomness, so a fast hash is enough and
a stolen table gives nothing usable.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
