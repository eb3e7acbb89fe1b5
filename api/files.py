"""GET /files/{token}: serves a stored file to whoever holds a valid, unexpired signed URL.

The route checks the signature and the expiry only, never a session: the URL was handed out
by a resolver that applied the caller's perimeter (api/graphql/downloads.py signs it).
Every refusal is the same 404.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from auth.signed_urls import InvalidSignedToken, verify_file_token
from comptoir.settings import Settings

NOT_FOUND = "Fichier introuvable ou lien expiré."


def _stored_path(settings: Settings, file_key: str) -> Path | None:
    root = settings.files_dir.resolve()
    candidate = (root / file_key).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


async def download(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    secret = settings.signing_secret
    try:
        file_key = verify_file_token(secret, request.path_params["token"])
    except InvalidSignedToken:
        return PlainTextResponse(NOT_FOUND, status_code=404)
    path = _stored_path(settings, file_key)
    if path is None:
        return PlainTextResponse(NOT_FOUND, status_code=404)
    return FileResponse(path, filename=path.name, headers={"Cache-Control": "private, no-store"})
