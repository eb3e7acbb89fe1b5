"""A digest of what must not change between two runs with the same inputs."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

from demo.generate import DemoGenerator
from demo.plan import Scale


def fingerprint_of(point_numbers: list[str], invoice_totals: list[tuple[str, Decimal]]) -> str:
    """A cheap digest of point numbers and invoice totals (from the generator or a database)."""
    digest = hashlib.sha256()
    for point in sorted(point_numbers):
        digest.update(point.encode())
    for number, total in sorted(invoice_totals):
        digest.update(f"{number}={total}".encode())
    return digest.hexdigest()


def fingerprint(scale: Scale, seed: int, as_of: date) -> str:
    """The digest of the point numbers and invoice totals the loader would write."""
    points: list[str] = []
    totals: list[tuple[str, Any]] = []
    for table, rows in DemoGenerator(scale, seed, as_of, "x").batches():
        if table == "sites":
            points += [row["point_number"] for row in rows]
        elif table == "invoices":
            totals += [(row["number"], row["total_incl_tax"]) for row in rows]
    return fingerprint_of(points, totals)
