"""What a technical request's attachment may be: a PDF, a PNG or a JPEG, recognised by its first
bytes (never by its name or the type the client claims), and the name it is shown and stored
under."""

from __future__ import annotations

import re
import unicodedata

# The signatures the formats begin with, and the extension a stored file takes.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
ACCEPTED_LABEL = "PDF, PNG ou JPEG"
MAX_FILENAME_LENGTH = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def sniff(content: bytes) -> tuple[str, str] | None:
    """The content type and extension of the file's format, or None if it is none of those
    accepted."""
    for signature, content_type, extension in SIGNATURES:
        if content.startswith(signature):
            return content_type, extension
    return None


def display_name(filename: str | None, extension: str) -> str:
    """The name shown to people: the client's base name without control characters, cut to
    `MAX_FILENAME_LENGTH`, or a neutral name."""
    base = _CONTROL.sub("", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return base[:MAX_FILENAME_LENGTH] or f"piece-jointe{extension}"


def storage_name(filename: str, extension: str) -> str:
    """The name on disk: ASCII letters, digits, dots, dashes; the extension of the sniffed
    format, whatever the client's name said."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("_", ascii_name.rsplit(".", 1)[0]).strip("._")[:80]
    return f"{stem or 'piece-jointe'}{extension}"
