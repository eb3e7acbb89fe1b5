"""Uploaded files kept under the files directory: one way to check, name and store them, for a
technical request's attachment and a guide of the Help tab alike.

A file is recognised by its first bytes (never by its name or the type the client claims), cut
at a size, stored under `<files_dir>/<directory>/<random>/<safe name>` with its SHA-256, and
served through signed URLs (api/files.py). The caller removes `folder` when its transaction
fails, so a refused upload or a rolled-back change leaves no file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from comptoir.settings import Settings
from domain.errors import ErrorCode, Refusal
from domain.technical_request_attachments import (
    ACCEPTED_LABEL,
    SIGNATURES,
    display_name,
    sniff,
    storage_name,
)

# A customer's attachment to a request (a technical request's service order, a dispute's meter
# photo or documents): PDF, PNG or JPEG, under files_dir/attachments/.
ATTACHMENTS_DIR = "attachments"
ATTACHMENT_TYPES = frozenset(content_type for _, content_type, _ in SIGNATURES)


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str  # under files_dir, what a signed URL names
    filename: str  # shown to people
    content_type: str
    size_bytes: int
    sha256: str
    folder: Path  # to remove if the transaction that records the file fails


def store_upload(
    settings: Settings,
    *,
    directory: str,
    filename: str | None,
    content: bytes,
    accepted: frozenset[str],
    accepted_label: str,
    field: str = "file",
) -> StoredFile:
    """Checks `content` (at most `max_attachment_bytes + 1` bytes read: one more tells it is
    too big; one of the `accepted` content types by its first bytes) and writes it."""
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
    if kind is None or kind[0] not in accepted:
        raise Refusal(
            ErrorCode.INVALID,
            f"Format non accepté : {accepted_label} seulement (reconnu à son contenu, "
            "pas à son nom).",
            field=field,
        )
    content_type, extension = kind
    shown = display_name(filename, extension)
    random_part = secrets.token_urlsafe(24)
    key = f"{directory}/{random_part}/{storage_name(shown, extension)}"
    folder = settings.files_dir / directory / random_part
    folder.mkdir(parents=True, exist_ok=False)
    (settings.files_dir / key).write_bytes(content)
    return StoredFile(
        key=key,
        filename=shown,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        folder=folder,
    )


def store_attachment(
    settings: Settings, filename: str | None, content: bytes, *, field: str = "file"
) -> StoredFile:
    """`store_upload` for a customer's attachment to a request (PDF, PNG or JPEG)."""
    return store_upload(
        settings,
        directory=ATTACHMENTS_DIR,
        filename=filename,
        content=content,
        accepted=ATTACHMENT_TYPES,
        accepted_label=ACCEPTED_LABEL,
        field=field,
    )


def discard_all(stored: Iterable[StoredFile]) -> None:
    for one in stored:
        discard(one)


def discard(stored: StoredFile | None) -> None:
    """Removes a stored file's folder (its transaction failed, or the file was replaced)."""
    if stored is not None:
        shutil.rmtree(stored.folder, ignore_errors=True)


def remove_key(settings: Settings, key: str) -> None:
    """Removes a stored file by its key, and its folder when that leaves it empty."""
    path = settings.files_dir / key
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty, or already gone
        path.parent.rmdir()
