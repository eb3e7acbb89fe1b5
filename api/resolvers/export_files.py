"""Where export files go: an unguessable folder per file under files_dir/exports, purged
after an hour (the signed URLs live minutes). Every export (parc, readings, consumption,
invoices) takes its path from here."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from comptoir.settings import Settings

EXPORTS_DIR = "exports"
PURGE_AFTER_SECONDS = 3600


def _purge_old_exports(root: Path, now: float) -> None:
    if not root.is_dir():
        return
    for entry in root.iterdir():
        try:
            if now - entry.stat().st_mtime > PURGE_AFTER_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:  # another worker purged it first
            continue


def new_export_path(settings: Settings, filename: str) -> tuple[str, Path]:
    """A fresh, unguessable file key and its path: exports/<random>/<filename>."""
    root = settings.files_dir / EXPORTS_DIR
    _purge_old_exports(root, time.time())
    folder = secrets.token_urlsafe(32)
    path = root / folder / filename
    path.parent.mkdir(parents=True, exist_ok=False)
    return f"{EXPORTS_DIR}/{folder}/{filename}", path
