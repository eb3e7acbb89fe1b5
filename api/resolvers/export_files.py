"""Where export files go, and the one way to write one there.

Each file gets its own unguessable folder under files_dir/exports (`exports/<random>/<name>`),
so the key the download token signs names exactly one file of one requester; folders are
purged after an hour (the signed URLs live minutes). `write_export` writes a table there with
the one table writer (documents/tables.py) under a dated name; on failure the folder goes
too, so nothing half-written is left behind. Signing the key is the schema's job
(api.graphql.downloads.signed_file_url).
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from comptoir.settings import Settings
from documents.tables import FileFormat, Table, dated_filename, write_table

EXPORTS_DIR = "exports"
PURGE_AFTER_SECONDS = 3600
EXPORT_ROWS_AT_A_TIME = 2_000


@dataclass(frozen=True, slots=True)
class WrittenExport:
    file_key: str
    row_count: int


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


async def write_export(
    settings: Settings, table: Table, file_format: FileFormat, *, today: date
) -> WrittenExport:
    """Writes the table as `<name>-<yyyymmdd>.<csv|xlsx>` in a folder of its own."""
    file_key, path = new_export_path(settings, dated_filename(table.name, file_format, today))
    try:
        rows = await write_table(path, table, file_format)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return WrittenExport(file_key, rows)


async def streamed_rows(
    sessions: async_sessionmaker[AsyncSession],
    statement: Any,
    row_of: Callable[[Any], tuple[Any, ...]],
    *,
    rows_at_a_time: int = EXPORT_ROWS_AT_A_TIME,
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """A scoped statement's rows as a table's chunks: streamed from the database a batch at a
    time (memory stays flat whatever the file's length), each row turned into its cells."""
    async with sessions() as session:
        connection = await session.connection()
        result = await connection.stream(statement.execution_options(yield_per=rows_at_a_time))
        async for partition in result.partitions(rows_at_a_time):
            yield [row_of(r) for r in partition]
