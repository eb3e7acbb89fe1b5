"""Export files: a table streamed to CSV or XLSX under the files directory, handed out as a
signed URL valid a few minutes.

A resolver describes the table (`api.resolvers.exports.ExportTable`: columns, and an async
iterator of row chunks it reads from the database in batches); `write_export` writes it chunk
by chunk — the writing itself in a worker thread, so a large file never blocks the event
loop — and signs the file key. Memory stays flat: CSV rows go straight to the file, and
xlsxwriter runs in constant-memory mode (each row is flushed to a temporary file as soon as
the next starts).

Each export gets its own directory with an unguessable name (`exports/<32 random bytes>/`),
so the key the token signs names exactly one file, of one requester; the /files route checks
the signature and expiry only (api/files.py). The file is written under a temporary name and
renamed when complete; exports older than an hour are purged when a new one is written.

CSV: `;` separated, UTF-8 with a byte-order mark, dates dd/mm/yyyy and decimal commas, so
French Excel opens it as is. XLSX: one sheet, bold frozen header, autofilter, dates as dates,
numbers as numbers, point numbers and postcodes as text (leading zeros kept).
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import xlsxwriter

from api.graphql.downloads import signed_file_url
from api.resolvers.export_files import new_export_path
from api.resolvers.exports import Column, ColumnKind, ExportTable
from comptoir.settings import Settings
from domain.errors import ErrorCode, Refusal

MAX_XLSX_ROWS = 1_048_575  # a sheet's limit, minus the header


class ExportFormat(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


@dataclass(frozen=True, slots=True)
class ExportedFile:
    url: str
    expires_at: datetime
    row_count: int
    file_key: str


# -- writers (run in a worker thread, one chunk at a time) -----------------------------------


def _csv_value(value: Any, kind: ColumnKind) -> str:
    if value is None:
        return ""
    if kind is ColumnKind.DATE:
        return value.strftime("%d/%m/%Y")
    if kind is ColumnKind.BOOLEAN:
        return "oui" if value else "non"
    if kind is ColumnKind.DECIMAL:
        return format(Decimal(value), "f").replace(".", ",")
    return str(value)


class _CsvWriter:
    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file, delimiter=";", lineterminator="\r\n")
        self._kinds = [c.kind for c in columns]
        self._writer.writerow([c.title for c in columns])

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        kinds = self._kinds
        self._writer.writerows(
            [_csv_value(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows
        )

    def close(self) -> None:
        self._file.close()


class _XlsxWriter:
    def __init__(self, path: Path, columns: Sequence[Column], sheet: str) -> None:
        self._book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_numbers": False}
        )
        self._sheet = self._book.add_worksheet(sheet[:31])
        header = self._book.add_format({"bold": True, "bg_color": "#DDE5F0", "border": 1})
        self._day = self._book.add_format({"num_format": "dd/mm/yyyy"})
        self._columns = list(columns)
        for i, column in enumerate(self._columns):
            self._sheet.set_column(i, i, column.width)
            self._sheet.write_string(0, i, column.title, header)
        self._sheet.freeze_panes(1, 0)
        self._row = 0
        sheet_ = self._sheet
        day = self._day
        # One writer per column kind, chosen once: the loop below is the hot path.
        self._cell: list[Callable[[int, int, Any], Any]] = []
        for column in self._columns:
            match column.kind:
                case ColumnKind.INTEGER | ColumnKind.DECIMAL:
                    self._cell.append(lambda r, c, v: sheet_.write_number(r, c, float(v)))
                case ColumnKind.DATE:
                    self._cell.append(lambda r, c, v: sheet_.write_datetime(r, c, v, day))
                case ColumnKind.BOOLEAN:
                    self._cell.append(
                        lambda r, c, v: sheet_.write_string(r, c, "oui" if v else "non")
                    )
                case _:
                    self._cell.append(lambda r, c, v: sheet_.write_string(r, c, str(v)))

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        cells = self._cell
        for values in rows:
            self._row += 1
            if self._row > MAX_XLSX_ROWS:
                raise Refusal(
                    ErrorCode.TOO_MANY_ITEMS,
                    "Trop de lignes pour un fichier XLSX (1 048 575 au plus) : choisissez le "
                    "format CSV ou restreignez le filtre.",
                    field="format",
                )
            r = self._row
            for c, value in enumerate(values):
                if value is not None and value != "":
                    cells[c](r, c, value)

    def close(self) -> None:
        if self._row:
            self._sheet.autofilter(0, 0, self._row, len(self._columns) - 1)
        self._book.close()


# -- the mechanism --------------------------------------------------------------------------


async def write_export(
    settings: Settings, table: ExportTable, export_format: ExportFormat, *, today: date
) -> ExportedFile:
    """Writes the table and returns its signed URL; a failure leaves no file behind."""
    extension = export_format.value.lower()
    file_key, path = new_export_path(settings, f"{table.name}-{today:%Y%m%d}.{extension}")
    partial = path.with_name(f".{path.name}.part")
    rows = 0
    try:
        writer: _CsvWriter | _XlsxWriter = await asyncio.to_thread(
            (lambda: _CsvWriter(partial, table.columns))
            if export_format is ExportFormat.CSV
            else (lambda: _XlsxWriter(partial, table.columns, table.sheet))
        )
        try:
            async for chunk in table.chunks:
                if chunk:
                    await asyncio.to_thread(writer.write, chunk)
                    rows += len(chunk)
        finally:
            await table.chunks.aclose()  # type: ignore[attr-defined]
            await asyncio.to_thread(writer.close)
        partial.rename(path)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    signed_at = time.time()
    url = signed_file_url(settings, file_key)
    expires_at = datetime.fromtimestamp(int(signed_at + settings.signed_url_ttl_seconds), UTC)
    return ExportedFile(url=url, expires_at=expires_at, row_count=rows, file_key=file_key)
