"""Business dates are Paris dates: a reading sent at 23:30 UTC on the 19th counts on the 20th.

The one place that knows the business time zone; everything else asks here.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def paris_date(instant: datetime) -> date:
    """The calendar date in Paris at a timezone-aware instant."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no Paris date: give a timezone-aware instant")
    return instant.astimezone(PARIS).date()


def paris_today() -> date:
    return datetime.now(PARIS).date()
