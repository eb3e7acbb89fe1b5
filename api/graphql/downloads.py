"""Signed download URLs: what a field or mutation hands out for a stored file.

The /files route (api/files.py) checks the signature and expiry only, so a URL is signed
only for a file the resolver found inside the caller's perimeter.
"""

from __future__ import annotations

from auth.signed_urls import sign_file_key
from comptoir.settings import Settings


def signed_file_url(settings: Settings, file_key: str) -> str:
    """The absolute download URL for a stored file, valid `signed_url_ttl_seconds`."""
    secret = settings.signing_secret
    token = sign_file_key(secret, file_key, settings.signed_url_ttl_seconds)
    return f"{settings.public_url.rstrip('/')}/files/{token}"
