"""The one table writer, read back as a person's tools read it: openpyxl for XLSX (values,
styles, widths, filter, frozen header) and the csv module for CSV."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from documents import tables
from documents.tables import Column, ColumnKind, FileFormat, Table, dated_filename, write_table
from domain.errors import Refusal

COLUMNS = (
    Column("PRM / PCE", ColumnKind.IDENTIFIER),
    Column("Référence", ColumnKind.TEXT, 20),
    Column("Montant", ColumnKind.MONEY),
    Column("Date", ColumnKind.DATE),
    Column("kWh", ColumnKind.INTEGER),
    Column("Coefficient", ColumnKind.DECIMAL),
    Column("Communicant", ColumnKind.BOOLEAN),
    Column("Énergie", ColumnKind.LABEL, labels={"GAS": "Gaz naturel"}),
)
ROWS: list[Sequence[Any]] = [
    ("01234567890123", '=HYPERLINK("http://x","y")', Decimal("-1234567.89"), date(2026, 1, 31),
     -42, Decimal("11.2345"), True, "GAS"),
    ("00100", "+33 1 23", Decimal("0.00"), date(2025, 12, 1), 7, None, False, "GAS"),
    ("00200", "-moins", Decimal("12.30"), None, None, Decimal("1"), None, None),
    ("00300", "@cmd\t", Decimal("5"), None, 0, None, None, None),
    ("00400", "\ttab", None, None, None, None, None, None),
    ("00500", "\rcr", None, None, None, None, None, None),
    ("00600", "a & b <c>", None, None, None, None, None, None),
]  # fmt: skip


async def _chunks(rows: Sequence[Sequence[Any]]) -> AsyncIterator[Sequence[Sequence[Any]]]:
    yield rows[:2]
    yield rows[2:]


async def _write(tmp_path: Path, file_format: FileFormat, rows: Any = ROWS) -> Path:
    path = tmp_path / dated_filename("parc", file_format, date(2026, 12, 1))
    count = await write_table(path, Table("parc", "Parc", COLUMNS, _chunks(rows)), file_format)
    assert count == len(rows)
    return path


def test_file_names_are_dated() -> None:
    assert dated_filename("parc", FileFormat.XLSX, date(2026, 12, 1)) == "parc-20261201.xlsx"
    assert (
        dated_filename("fichier-de-facturation", FileFormat.CSV, date(2026, 12, 1))
        == "fichier-de-facturation-20261201.csv"
    )


async def test_xlsx_cells_have_their_kind(tmp_path: Path) -> None:
    path = await _write(tmp_path, FileFormat.XLSX)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == [c.title for c in COLUMNS]
    assert all(c.font.b for c in rows[0])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{len(ROWS) + 1}"
    first = rows[1]
    assert first[0].value == "01234567890123" and first[0].number_format == "@"
    assert [r[0].value for r in rows[2:4]] == ["00100", "00200"]  # leading zeros kept
    assert first[1].value == '=HYPERLINK("http://x","y")'  # text, never a formula
    assert first[1].data_type == "s"
    assert first[2].value == pytest.approx(-1234567.89)
    assert first[2].number_format == '#,##0.00\\ "€"'
    assert first[3].value == datetime(2026, 1, 31) and first[3].number_format == "dd/mm/yyyy"
    assert first[4].value == -42
    assert first[5].value == pytest.approx(11.2345)
    assert (first[6].value, rows[2][6].value) == ("oui", "non")
    assert first[7].value == "Gaz naturel"
    assert rows[3][3].value is None  # empty stays empty
    assert rows[7][1].value == "a & b <c>"
    # widths fit the title and what a date or an amount shows
    widths = [sheet.column_dimensions[c.column_letter].width for c in rows[0]]
    assert widths[2] >= len("-1 234 567,89 €") + 1
    assert widths[3] >= len("31/01/2026") + 1
    assert all(w >= len(c.title) for w, c in zip(widths, COLUMNS, strict=True))


async def test_csv_is_french_excel_csv_and_never_starts_a_formula(tmp_path: Path) -> None:
    path = await _write(tmp_path, FileFormat.CSV)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") >= len(ROWS) + 1
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][0] == "PRM / PCE"
    assert rows[1] == [
        "01234567890123",
        '\'=HYPERLINK("http://x","y")',
        "-1234567,89",  # a genuine negative number stays a number
        "31/01/2026",
        "-42",
        "11,2345",
        "oui",
        "Gaz naturel",
    ]
    assert [r[1] for r in rows[2:]] == ["'+33 1 23", "'-moins", "'@cmd\t", "'\ttab", "'\rcr",
                                        "a & b <c>"]  # fmt: skip
    assert rows[4][2] == "5,00" and rows[2][2] == "0,00"


def _csv_module_bytes(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.title for c in columns])
    writer.writerows(rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


async def test_csv_is_byte_for_byte_what_the_csv_module_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer joins its lines itself: quoting must stay the csv module's, for the fields
    # that need it (separator, quote, line breaks) and for the ones that do not.
    monkeypatch.setattr(tables, "MEMO_LIMIT", 3)  # memos that start over give the same file
    columns = (
        Column('Nom; "court"', ColumnKind.TEXT),
        Column("Date", ColumnKind.DATE),
        Column("Montant", ColumnKind.MONEY_CENTS),
    )
    values = ["a;b", 'dit "oui"', "deux\nlignes", "retour\r", "", None, "simple", "=1;2"]
    rows = [
        (v, day, cents)
        for v, day, cents in zip(
            values * 3,
            [date(2026, 1, 2), "2026-02-03", None] * 8,
            [0, -5, 123456, None, 7, -100, 99, 1] * 3,
            strict=True,
        )
    ]

    async def chunks() -> AsyncIterator[Sequence[Sequence[Any]]]:
        yield rows[:5]
        yield rows[5:]

    path = tmp_path / "x.csv"
    await write_table(path, Table("x", "X", columns, chunks()), FileFormat.CSV)
    expected = [
        (
            "" if v is None else ("'" + v if v.startswith("=") else v),
            {date(2026, 1, 2): "02/01/2026", "2026-02-03": "03/02/2026", None: ""}[day],
            "" if c is None else f"{'-' if c < 0 else ''}{abs(c) // 100},{abs(c) % 100:02d}",
        )
        for v, day, c in rows
    ]
    assert path.read_bytes() == _csv_module_bytes(columns, expected)

    alone = (Column("Seule", ColumnKind.TEXT),)

    async def one_column() -> AsyncIterator[Sequence[Sequence[Any]]]:
        yield [("x",), (None,), ("",), ("y",)]

    path = tmp_path / "alone.csv"
    await write_table(path, Table("x", "X", alone, one_column()), FileFormat.CSV)
    assert path.read_bytes() == _csv_module_bytes(alone, [("x",), ("",), ("",), ("y",)])
    read = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline=""), delimiter=";"))
    assert len(read) == 5  # no row lost to an empty line


async def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    async def failing() -> AsyncIterator[Sequence[Sequence[Any]]]:
        yield ROWS[:1]
        raise RuntimeError("the database went away")

    for file_format in FileFormat:
        path = tmp_path / f"x.{file_format.value.lower()}"
        with pytest.raises(RuntimeError):
            await write_table(path, Table("x", "X", COLUMNS, failing()), file_format)
        assert os.listdir(tmp_path) == []


async def test_xlsx_has_a_row_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_XLSX_ROWS", 3)
    with pytest.raises(Refusal) as refused:
        await _write(tmp_path, FileFormat.XLSX)
    assert refused.value.code == "TOO_MANY_ITEMS" and refused.value.field == "format"
    assert os.listdir(tmp_path) == []


def test_xlsx_in_memory_for_a_mail() -> None:
    book = openpyxl.load_workbook(io.BytesIO(tables.xlsx_bytes(COLUMNS, ROWS[:2], "Sites")))
    assert book.sheetnames == ["Sites"]
    assert [r[0] for r in book.active.iter_rows(values_only=True)] == [  # type: ignore[union-attr]
        "PRM / PCE",
        "01234567890123",
        "00100",
    ]
