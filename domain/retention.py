"""How long customer data stays served after a contract ends (DESIGN §1: five years).

A site's consumption and billing data stay readable, with the same logins, until five years
after its supply ended; the day after, the site, its readings and its invoices are no longer
served and `comptoir purge-expired` may remove them. The rule is a date comparison, applied in
SQL by `db.scoped` with the cut-off computed here once per request from the injected clock.
"""

from __future__ import annotations

from datetime import date

RETENTION_YEARS = 5


def served_since(today: date) -> date:
    """The earliest contract end still served on `today`: a site whose supply ended on this
    day or later is readable; one that ended before is not. (29 February → 28 February.)"""
    year = today.year - RETENTION_YEARS
    try:
        return today.replace(year=year)
    except ValueError:
        return today.replace(year=year, day=28)


def is_served(supply_end: date | None, today: date) -> bool:
    """Whether a site whose supply ended on `supply_end` (None: still supplied) is served."""
    return supply_end is None or supply_end >= served_since(today)
