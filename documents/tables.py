"""The one writer of tables handed to people: every CSV and XLSX the project produces (the
parc, readings and consumption exports, the billing file, the welcome pack's attachment).

A table is described once (`Table`: columns with a French title, a kind and a width; rows in
chunks) and written as CSV or XLSX, so every file agrees on what a cell looks like:

- CSV: `;` separated, UTF-8 with a byte-order mark, CRLF, dates dd/mm/yyyy, decimal commas —
  what French Excel opens without an import wizard. A text cell that starts with `=`, `+`,
  `-`, `@`, a tab or a carriage return is prefixed with `'`, so a spreadsheet never runs it as
  a formula; numbers are written from numbers, so a genuine negative amount stays a number.
- XLSX: one sheet, a bold shaded header row, frozen, with an autofilter; dates are dates,
  money is a number with two decimals and a euro format, identifiers (point numbers,
  postcodes, SIREN, invoice numbers) are text, so leading zeros stay; widths follow the kind
  and the title, so no date or amount shows `###`. A sheet holds at most `MAX_XLSX_ROWS` rows.

Why the XLSX is written here rather than by xlsxwriter: the billing file has 160,000 rows of
37 columns, and xlsxwriter's per-cell API (dispatch, checks, XML escaping) cost 5–10 µs a
cell, 30 s for the file. The sheet is plain SpreadsheetML streamed into the zip row by row
(memory stays flat whatever the size), each column formatted by a function chosen once.

A file is written under a temporary name and renamed when complete; on any failure the
partial file is removed, so a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from domain.errors import ErrorCode, Refusal

MAX_XLSX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, minus the header
# Rows formatted at a time, whatever the chunk a reader hands over: a chunk's cells as
# texts are several times its values' size, and memory must not follow the chunk size.
ROWS_AT_A_TIME = 2_000


class FileFormat(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"


class ColumnKind(StrEnum):
    TEXT = "TEXT"
    IDENTIFIER = "IDENTIFIER"  # always text: point numbers, postcodes, SIREN, numbers
    INTEGER = "INTEGER"
    DECIMAL = "DECIMAL"
    MONEY = "MONEY"  # euros, two decimals
    MONEY_CENTS = "MONEY_CENTS"  # euros given as whole cents (an int): no Decimal per cell
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"  # oui / non
    LABEL = "LABEL"  # a coded value, shown with its French label (Column.labels)


# The narrowest a column of each kind may be, in characters: a date dd/mm/yyyy, an amount
# like "-1 234 567,89 €", a 14-digit point number, each with room to spare.
MIN_WIDTHS: dict[ColumnKind, float] = {
    ColumnKind.TEXT: 10,
    ColumnKind.IDENTIFIER: 12,
    ColumnKind.INTEGER: 11,
    ColumnKind.DECIMAL: 11,
    ColumnKind.MONEY: 16,
    ColumnKind.MONEY_CENTS: 16,
    ColumnKind.DATE: 12,
    ColumnKind.BOOLEAN: 7,
    ColumnKind.LABEL: 12,
}
MAX_TITLE_WIDTH = 40
HEADER_BUTTON = 3  # the autofilter's drop-down button takes about three characters


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its French title, its kind and, for text, the width its values need."""

    title: str
    kind: ColumnKind = ColumnKind.TEXT
    width: float | None = None
    labels: Mapping[Any, str] | None = None  # LABEL: code → French label

    @property
    def display_width(self) -> float:
        """Wide enough for the title (and its filter button) and for any value of the kind."""
        title = min(len(self.title) + HEADER_BUTTON, MAX_TITLE_WIDTH)
        return max(MIN_WIDTHS[self.kind], self.width or 0, title)


@dataclass(slots=True)
class Table:
    """A file name stem, the sheet's title, the columns, and the rows in chunks."""

    name: str
    sheet: str
    columns: Sequence[Column]
    chunks: AsyncIterator[Sequence[Sequence[Any]]] = field(repr=False)


def dated_filename(stem: str, file_format: FileFormat, day: date) -> str:
    """`parc-20261201.xlsx`: what the file holds and the day it was made."""
    return f"{stem}-{day:%Y%m%d}.{file_format.value.lower()}"


def _too_many_rows() -> Refusal:
    return Refusal(
        ErrorCode.TOO_MANY_ITEMS,
        f"Trop de lignes pour un fichier XLSX ({MAX_XLSX_ROWS:,} au plus) : choisissez le "
        "format CSV ou restreignez le filtre.".replace(",", "\u202f"),
        field="format",
    )


def _label(labels: Mapping[Any, str] | None) -> Callable[[Any], str]:
    known = dict(labels or {})
    return lambda v: known.get(v) or str(v)


def _checked(rows: Iterable[Sequence[Any]], cells: Sequence[Any]) -> Sequence[Sequence[Any]]:
    """The rows as a sequence, once the first row's width is checked (the writers' strict
    zip() checks that every other row has the same width)."""
    rows = rows if isinstance(rows, Sequence) else list(rows)
    if rows and len(rows[0]) != len(cells):
        raise ValueError(f"a row has {len(rows[0])} values for {len(cells)} columns")
    return rows


# -- CSV ---------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What makes a cell need quotes in `;`-separated CSV with CRLF lines (the csv module's
# QUOTE_MINIMAL for this dialect): the separator, the quote, a line break.
_NEEDS_QUOTES = re.compile(r'[;"\r\n]')
MEMO_LIMIT = 20_000  # distinct values kept per column before a memo starts over


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_field(text: str) -> str:
    """A text as one CSV field: neutralised, then quoted if it holds `;`, `"` or a line break."""
    text = _neutral(text)
    if _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _csv_money(value: Any) -> str:
    text = str(value)  # a Decimal read from a money column already has two decimals
    if len(text) > 3 and text[-3] == ".":
        return text[:-3] + "," + text[-2:]
    return f"{value:.2f}".replace(".", ",")


def cents_text(cents: int, point: str = ",") -> str:
    """1234 → "12,34", -5 → "-0,05": what a Decimal's two decimals print, from an int."""
    if cents < 0:
        return "-" + cents_text(-cents, point)
    return f"{cents // 100}{point}{cents % 100:02d}"


def _csv_cents(value: Any) -> str:
    cents = int(value)
    return f"{cents // 100},{cents % 100:02d}" if cents >= 0 else cents_text(cents)


def _iso_date(value: date | str) -> date:
    """A date, or the ISO text SQLite stores one as (a reader may skip the conversion)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


class _Memo(dict[Any, str]):
    """A column's texts by value, each worked out once: `map(memo.__getitem__, values)` runs
    in C for every value met before. Text, date and label columns of a big file repeat a
    few thousand values (dates, labels, a site's name and town on each of its invoices); a
    memo that reaches `MEMO_LIMIT` values starts over, so memory stays bounded whatever the
    file. Amounts rarely repeat: they are formatted as they come (`_csv_column`)."""

    def __init__(self, text: Callable[[Any], str]) -> None:
        super().__init__()
        self._text = text

    def __missing__(self, value: Any) -> str:
        if len(self) >= MEMO_LIMIT:
            self.clear()
        found = self[value] = "" if value is None or value == "" else self._text(value)
        return found


def _csv_cell(column: Column) -> Callable[[Any], str]:
    """The function that turns a value of the column (not None) into its CSV field."""
    match column.kind:
        case ColumnKind.INTEGER:
            return lambda v: str(int(v))
        case ColumnKind.DECIMAL:
            return lambda v: format(Decimal(v), "f").replace(".", ",")
        case ColumnKind.MONEY:
            return _csv_money
        case ColumnKind.MONEY_CENTS:
            return _csv_cents
        case ColumnKind.DATE:
            return lambda v: f"{_iso_date(v):%d/%m/%Y}"
        case ColumnKind.BOOLEAN:
            return lambda v: "oui" if v else "non"
        case ColumnKind.LABEL:
            label = _label(column.labels)
            return lambda v: _csv_field(label(v))
        case _:
            return lambda v: _csv_field(str(v))


def _csv_column(column: Column) -> Callable[[Sequence[Any]], list[str]]:
    """The function that turns a chunk's values of the column into their CSV fields."""
    cell = _csv_cell(column)
    match column.kind:
        case ColumnKind.MONEY_CENTS:  # the frequent case inline: 2 million amounts a file
            return lambda values: [
                f"{v // 100},{v % 100:02d}"
                if v.__class__ is int and v >= 0
                else ("" if v is None or v == "" else cell(v))
                for v in values
            ]
        case ColumnKind.INTEGER:
            return lambda values: [
                str(v) if v.__class__ is int else ("" if v is None or v == "" else cell(v))
                for v in values
            ]
        case ColumnKind.MONEY | ColumnKind.DECIMAL:
            return lambda values: ["" if v is None or v == "" else cell(v) for v in values]
        case _:
            memo = _Memo(cell)
            return lambda values: list(map(memo.__getitem__, values))


class CsvWriter:
    """Rows to a CSV file, as they come.

    Each column's fields are made in one pass (text, dates and labels through a memo: each
    distinct value formatted and quoted once) and each line joined in C: the csv module's
    per-field checks were most of the time on a 6-million-cell file. The output is what
    `csv.writer(delimiter=";", lineterminator="\r\n")` writes (tested byte for byte).
    """

    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        self._handle = path.open("w", encoding="utf-8-sig", newline="")
        self._columns = [_csv_column(c) for c in columns]
        # One column: an empty field alone would be an empty line, which a reader skips.
        self._alone = len(columns) == 1
        self._handle.write(";".join(_csv_field(c.title) for c in columns) + "\r\n")
        self.rows = 0

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        rows = _checked(rows, self._columns)
        for start in range(0, len(rows), ROWS_AT_A_TIME):
            self._write(rows[start : start + ROWS_AT_A_TIME])

    def _write(self, rows: Sequence[Sequence[Any]]) -> None:
        # Column by column: each column's fields in one pass, the lines put back by zip().
        # strict: every row has the columns' width (checked in C while transposing).
        columns = zip(self._columns, zip(*rows, strict=True), strict=True)
        fields = [fields_of(values) for fields_of, values in columns]
        lines = list(map(";".join, zip(*fields, strict=True)))
        if self._alone:
            lines = [line or '""' for line in lines]
        lines.append("")
        self._handle.write("\r\n".join(lines))
        self.rows += len(rows)

    def close(self) -> None:
        self._handle.close()

    def abort(self) -> None:
        self._handle.close()


# -- XLSX ---------------------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# Cell styles (cellXfs indexes in STYLES_XML).
STYLE_HEADER, STYLE_DATE, STYLE_MONEY, STYLE_TEXT, STYLE_INTEGER = 1, 2, 3, 4, 5
MONEY_FORMAT = '#,##0.00\\ "€"'  # Excel's own code for "1 234,56 €" in a French locale
DATE_FORMAT = "dd/mm/yyyy"

STYLES_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN_NS}"><numFmts count="2"><numFmt numFmtId="164" formatCode={
    quoteattr(DATE_FORMAT)
}/><numFmt numFmtId="165" formatCode={quoteattr(MONEY_FORMAT)}/></numFmts><fonts count="2">\
<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="3"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFDDE5F0"/><bgColor indexed="64"/>\
</patternFill></fill></fills><borders count="2"><border><left/><right/><top/><bottom/>\
<diagonal/></border><border><left style="thin"><color auto="1"/></left><right style="thin">\
<color auto="1"/></right><top style="thin"><color auto="1"/></top><bottom style="thin">\
<color auto="1"/></bottom><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" \
applyBorder="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" \
applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" \
applyNumberFormat="1"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" \
applyNumberFormat="1"/><xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" \
applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" \
builtinId="0"/></cellStyles></styleSheet>"""

CONTENT_TYPES_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

ROOT_RELS_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PACKAGE_REL_NS}"><Relationship Id="rId1" \
Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""

WORKBOOK_RELS_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PACKAGE_REL_NS}"><Relationship Id="rId1" Type="{REL_NS}/worksheet" \
Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL_NS}/styles" \
Target="styles.xml"/></Relationships>"""

# Characters XML 1.0 does not allow, and the three that must be escaped in text.
_NOT_PLAIN = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = date(1899, 12, 30).toordinal()  # a spreadsheet's day 0 (1900 date system)


def _xml_text(text: str) -> str:
    if _NOT_PLAIN.search(text) is None:
        return text
    return escape(_NOT_XML.sub("", text))


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _inline(ref: str, style: int | None = None) -> Callable[[str, str], str]:
    s = f' s="{style}"' if style else ""
    open_, close = f'<c r="{ref}', f'"{s} t="inlineStr"><is><t xml:space="preserve">'
    # An empty text is an empty cell: nothing is written.
    return lambda row, text: open_ + row + close + _xml_text(text) + "</t></is></c>" if text else ""


def _number(ref: str, style: int | None) -> tuple[str, str]:
    return f'<c r="{ref}', (f'" s="{style}"><v>' if style else '"><v>')


def _decimal_text(value: Any) -> str:
    return str(value) if isinstance(value, int | float) else format(value, "f")


def _xlsx_cell(column: Column, ref: str) -> Callable[[str, Any], str]:
    """The function that turns a non-empty value of the column, on a row, into its cell."""
    match column.kind:
        case ColumnKind.INTEGER:
            a, b = _number(ref, STYLE_INTEGER)
            return lambda r, v: f"{a}{r}{b}{int(v)}</v></c>"
        case ColumnKind.DECIMAL:
            a, b = _number(ref, None)
            return lambda r, v: f"{a}{r}{b}{_decimal_text(v)}</v></c>"
        case ColumnKind.MONEY:
            a, b = _number(ref, STYLE_MONEY)  # str(Decimal) is a valid xsd:double
            return lambda r, v: f"{a}{r}{b}{v}</v></c>"
        case ColumnKind.MONEY_CENTS:
            a, b = _number(ref, STYLE_MONEY)
            return lambda r, v: f"{a}{r}{b}{cents_text(int(v), '.')}</v></c>"
        case ColumnKind.DATE:
            a, b = _number(ref, STYLE_DATE)
            return lambda r, v: f"{a}{r}{b}{_iso_date(v).toordinal() - _EPOCH}</v></c>"
        case ColumnKind.BOOLEAN:
            text = _inline(ref)
            return lambda r, v: text(r, "oui" if v else "non")
        case ColumnKind.IDENTIFIER:
            text = _inline(ref, STYLE_TEXT)
            return lambda r, v: text(r, str(v))
        case ColumnKind.LABEL:
            text, label = _inline(ref), _label(column.labels)
            return lambda r, v: text(r, label(v))
        case _:
            text = _inline(ref)
            return lambda r, v: text(r, str(v))


def _xlsx_column(column: Column, ref: str) -> Callable[[Sequence[Any], list[str]], list[str]]:
    """The function that turns a chunk's values of the column, with their row numbers, into
    their cells ("" for an empty one). The frequent kinds are written inline, as in CSV."""
    cell = _xlsx_cell(column, ref)
    match column.kind:
        case ColumnKind.MONEY_CENTS:
            a, b = _number(ref, STYLE_MONEY)
            return lambda values, rows: [
                f"{a}{r}{b}{v // 100}.{v % 100:02d}</v></c>"
                if v.__class__ is int and v >= 0
                else ("" if v is None else cell(r, v))
                for r, v in zip(rows, values, strict=True)
            ]
        case ColumnKind.MONEY:
            a, b = _number(ref, STYLE_MONEY)  # str(Decimal) is a valid xsd:double
            return lambda values, rows: [
                "" if v is None else f"{a}{r}{b}{v}</v></c>"
                for r, v in zip(rows, values, strict=True)
            ]
        case ColumnKind.INTEGER:
            a, b = _number(ref, STYLE_INTEGER)
            return lambda values, rows: [
                f"{a}{r}{b}{v}</v></c>" if v.__class__ is int else ("" if v is None else cell(r, v))
                for r, v in zip(rows, values, strict=True)
            ]
        case ColumnKind.DATE:
            a, b = _number(ref, STYLE_DATE)
            serials = _Memo(lambda v: f"{b}{_iso_date(v).toordinal() - _EPOCH}</v></c>")
            return lambda values, rows: [
                a + r + serials[v] if v is not None else ""
                for r, v in zip(rows, values, strict=True)
            ]
        case ColumnKind.LABEL | ColumnKind.TEXT | ColumnKind.IDENTIFIER:
            # Each distinct text's cell (after the row reference) made once, as in CSV.
            text = _label(column.labels) if column.kind is ColumnKind.LABEL else str
            style = f' s="{STYLE_TEXT}"' if column.kind is ColumnKind.IDENTIFIER else ""
            close = f'"{style} t="inlineStr"><is><t xml:space="preserve">'
            tails = _Memo(
                lambda v: close + _xml_text(t) + "</t></is></c>" if (t := text(v)) else ""
            )
            head = f'<c r="{ref}'
            return lambda values, rows: [
                head + r + tail if (tail := tails[v]) else ""
                for r, v in zip(rows, values, strict=True)
            ]
        case _:
            return lambda values, rows: [
                "" if v is None else cell(r, v) for r, v in zip(rows, values, strict=True)
            ]


class XlsxWriter:
    """Rows to an XLSX package, the sheet streamed into the zip as rows come."""

    def __init__(self, target: str | Path | IO[bytes], columns: Sequence[Column], sheet: str):
        self._columns = list(columns)
        self._sheet_name = re.sub(r"[\[\]:*?/\\]", " ", sheet)[:31] or "Feuille"
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._stream = io.TextIOWrapper(
            self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True),
            encoding="utf-8",
            newline="",
        )
        self._last = column_letters(len(self._columns) - 1)
        self._cells = [_xlsx_column(c, column_letters(i)) for i, c in enumerate(self._columns)]
        self.rows = 0
        widths = "".join(
            f'<col min="{i}" max="{i}" width="{c.display_width:.2f}" customWidth="1"/>'
            for i, c in enumerate(self._columns, start=1)
        )
        header = "".join(
            f'<c r="{column_letters(i)}1" s="{STYLE_HEADER}" t="inlineStr"><is><t>'
            f"{_xml_text(c.title)}</t></is></c>"
            for i, c in enumerate(self._columns)
        )
        self._stream.write(
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheetViews>'
            '<sheetView tabSelected="1" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" '
            'activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData>'
            f'<row r="1">{header}</row>'
        )

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        rows = _checked(rows, self._cells)
        if self.rows + len(rows) > MAX_XLSX_ROWS:
            raise _too_many_rows()
        for start in range(0, len(rows), ROWS_AT_A_TIME):
            self._write(rows[start : start + ROWS_AT_A_TIME])

    def _write(self, rows: Sequence[Sequence[Any]]) -> None:
        # Column by column, as CSV: each column's cells in one pass, then the rows.
        numbers = [str(n) for n in range(self.rows + 2, self.rows + 2 + len(rows))]
        columns = zip(self._cells, zip(*rows, strict=True), strict=True)
        cells = [f(values, numbers) for f, values in columns]
        self._stream.write(
            "".join(
                [
                    f'<row r="{r}">{"".join(row)}</row>'
                    for r, row in zip(numbers, zip(*cells, strict=True), strict=True)
                ]
            )
        )
        self.rows += len(rows)

    def close(self) -> None:
        last_row = self.rows + 1
        area = f"A1:{self._last}{last_row}"
        self._stream.write(f'</sheetData><autoFilter ref="{area}"/></worksheet>')
        self._stream.close()
        quoted = escape("'" + self._sheet_name.replace("'", "''") + "'")
        self._zip.writestr("[Content_Types].xml", CONTENT_TYPES_XML)
        self._zip.writestr("_rels/.rels", ROOT_RELS_XML)
        self._zip.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><bookViews><workbookView/>'
            f'</bookViews><sheets><sheet name={quoteattr(self._sheet_name)} sheetId="1" '
            'r:id="rId1"/></sheets><definedNames><definedName name="_xlnm._FilterDatabase" '
            f'localSheetId="0" hidden="1">{quoted}!$A$1:${self._last}$'
            f"{last_row}</definedName></definedNames></workbook>",
        )
        self._zip.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS_XML)
        self._zip.writestr("xl/styles.xml", STYLES_XML)
        self._zip.close()

    def abort(self) -> None:
        try:
            self._stream.close()
        finally:
            self._zip.close()


# -- writing a table ----------------------------------------------------------------------------


def xlsx_bytes(columns: Sequence[Column], rows: Iterable[Sequence[Any]], sheet: str) -> bytes:
    """A small table as XLSX in memory (a mail's attachment)."""
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer, columns, sheet)
    writer.write(rows)
    writer.close()
    return buffer.getvalue()


def _open_writer(path: Path, table: Table, file_format: FileFormat) -> CsvWriter | XlsxWriter:
    if file_format is FileFormat.CSV:
        return CsvWriter(path, table.columns)
    return XlsxWriter(path, table.columns, table.sheet)


async def write_table(path: Path, table: Table, file_format: FileFormat) -> int:
    """Writes the table to `path` chunk by chunk and returns its row count.

    Formatting is CPU work: each chunk is written in a worker thread, so the event loop keeps
    serving requests, and the next chunk is read while the current one is written (one chunk
    written and one read at a time: memory stays bounded). The file appears at `path`
    complete or not at all.
    """
    partial = path.with_name(f".{path.name}.part")
    writer: CsvWriter | XlsxWriter | None = None
    writing: asyncio.Future[None] | None = None
    try:
        writer = await asyncio.to_thread(_open_writer, partial, table, file_format)
        try:
            async for chunk in table.chunks:
                if writing is not None:
                    await writing  # one write at a time: the writer is not shared
                    writing = None
                if chunk:
                    writing = asyncio.ensure_future(asyncio.to_thread(writer.write, chunk))
            if writing is not None:
                await writing
                writing = None
        finally:
            if writing is not None:  # a failure while reading: let the write end first
                await asyncio.wait([writing])
            aclose = getattr(table.chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        rows = writer.rows
        await asyncio.to_thread(writer.close)
        writer = None
        partial.rename(path)
    except BaseException:
        if writer is not None:
            writer.abort()
        partial.unlink(missing_ok=True)
        raise
    return rows
