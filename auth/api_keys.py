"""API keys for third parties and integrations: `cpt_<prefix>.<secret>`, shown once.

The prefix is stored in clear to find the key and to let people recognise it in lists; the
whole key is stored as a SHA-256 only.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from auth.secrets import digest

KEY_MARK = "cpt_"


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: str  # shown once to its creator, never stored
    prefix: str
    key_hash: str


def new_api_key() -> NewApiKey:
    prefix = f"{KEY_MARK}{secrets.token_hex(6)}"
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, key_hash=digest(key))


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(KEY_MARK)


def prefix_of(key: str) -> str | None:
    prefix, dot, rest = key.partition(".")
    if not dot or not rest or not prefix.startswith(KEY_MARK) or len(prefix) > 16:
        return None
    return prefix


def key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(digest(key), key_hash)
