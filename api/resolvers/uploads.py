"""A file a customer uploads with a request (a technical request's signed service order, a
dispute's meter photo or documents): size-capped, recognised by its first bytes (PDF, PNG or
JPEG, `domain.technical_request_attachments`), stored under files_dir/attachments/<random>/
with its SHA-256. The caller records the row in its transaction and removes the folder when
that transaction fails, so a refused upload or a rolled-back change leaves no file."""

from __future__ import annotations

import hashlib
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from comptoir.settings import Settings
from domain.errors import ErrorCode, Refusal
from domain.technical_request_attachments import (
    ACCEPTED_LABEL,
    display_name,
    sniff,
    storage_name,
)

ATTACHMENTS_DIR = "attachments"


@dataclass(frozen=True, slots=True)
class StoredUpload:
    filename: str  # as shown to people
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    folder: Path  # remove it if the transaction that records the file fails


def store_upload(
    settings: Settings, filename: str | None, content: bytes, *, field: str = "file"
) -> StoredUpload:
    """Checks and writes one uploaded file: `content` holds at most `max_attachment_bytes + 1`
    bytes (one more tells it is too big). TOO_LONG, REQUIRED (empty) or INVALID (format) name
    `field`; nothing is written for a refused file."""
    cap = settings.max_attachment_bytes
    if len(content) > cap:
        raise Refusal(
            ErrorCode.TOO_LONG,
            f"Fichier trop gros : {cap // 1_000_000 or 1} Mo au plus ({cap} octets).",
            field=field,
        )
    if not content:
        raise Refusal(ErrorCode.REQUIRED, "Le fichier est vide.", field=field)
    kind = sniff(content)
    if kind is None:
        raise Refusal(
            ErrorCode.INVALID,
            f"Format non accepté : {ACCEPTED_LABEL} seulement (reconnu à son contenu, pas à "
            "son nom).",
            field=field,
        )
    content_type, extension = kind
    shown = display_name(filename, extension)
    random_part = secrets.token_urlsafe(24)
    key = f"{ATTACHMENTS_DIR}/{random_part}/{storage_name(shown, extension)}"
    folder = settings.files_dir / ATTACHMENTS_DIR / random_part
    folder.mkdir(parents=True, exist_ok=False)
    (settings.files_dir / key).write_bytes(content)
    return StoredUpload(
        filename=shown,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_key=key,
        folder=folder,
    )


def remove_uploads(stored: list[StoredUpload]) -> None:
    for upload in stored:
        shutil.rmtree(upload.folder, ignore_errors=True)
