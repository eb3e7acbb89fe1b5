"""Files attached to mails, built at send time from the outbox row's context.

The row stores the data, not the file: a context stays small, readable and re-renderable.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import xlsxwriter

XLSX_CONTENT_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
SITES_FILENAME = "sites-basculés.xlsx"

# (header, context key, column width). Point numbers and postcodes are text: as numbers a
# spreadsheet would drop the postcode's leading zero and show a 14-digit PRM as 1.2E+13.
SITE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("PRM / PCE", "point_number", 18),
    ("Énergie", "energy", 14),
    ("Segment", "segment", 10),
    ("Adresse", "address", 36),
    ("Code postal", "postcode", 12),
    ("Commune", "city", 24),
    ("Code interne", "internal_code", 20),
    ("Désignation", "designation", 30),
    ("Compte de contrat", "billing_account_number", 20),
    ("Début de fourniture", "supply_start", 20),
)


def switched_sites_xlsx(sites: Sequence[Mapping[str, Any]]) -> bytes:
    """One header row, then one row per site, in the order given."""
    buffer = io.BytesIO()
    # in_memory: no temporary files on the worker's disk (the lists are a member's sites,
    # at most a few thousand rows).
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Sites basculés")
    header = workbook.add_format({"bold": True, "bg_color": "#DDE5F0", "border": 1})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for column, (title, _key, width) in enumerate(SITE_COLUMNS):
        sheet.write_string(0, column, title, header)
        sheet.set_column(column, column, width)
    for row, site in enumerate(sites, start=1):
        for column, (_title, key, _width) in enumerate(SITE_COLUMNS):
            value = site.get(key)
            if value is None or value == "":
                sheet.write_blank(row, column, None)
            elif key == "supply_start":
                sheet.write_datetime(row, column, date.fromisoformat(str(value)), day)
            else:
                sheet.write_string(row, column, str(value))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(sites), 1), len(SITE_COLUMNS) - 1)
    workbook.close()
    return buffer.getvalue()
