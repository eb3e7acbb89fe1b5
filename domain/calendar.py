"""Business dates are Paris dates: a reading sent at 23:30 UTC on the 19th counts on the 20th.

The one place that knows the business time zone; everything else asks here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")


def paris_date(instant: datetime) -> date:
    """The calendar date in Paris at a timezone-aware instant."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no Paris date: give a timezone-aware instant")
    return instant.astimezone(PARIS).date()


def paris_today() -> date:
    return datetime.now(PARIS).date()


# -- working days ------------------------------------------------------------------------------
# Distributors count their deadlines in working days: Monday to Friday, French public holidays
# of metropolitan France excluded (the `holidays` package keeps the list; Alsace-Moselle's two
# extra days are not the distributors' national rule).

_FRENCH_HOLIDAYS = holidays.country_holidays("FR")


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a French public holiday."""
    return day.weekday() < 5 and day not in _FRENCH_HOLIDAYS


def add_working_days(start: date, days: int) -> date:
    """The working day `days` working days after `start` (before it when negative); zero gives
    `start` itself when it is a working day, else the next working day."""
    step = 1 if days >= 0 else -1
    current = start
    if days == 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    remaining = abs(days)
    while remaining:
        current += timedelta(days=step)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """How many working days `add_working_days` steps from `start` to reach `end`: those after
    `start` up to and including `end`, or, when `end` precedes, minus those from `end` up to
    the day before `start`."""
    if end < start:
        return -sum(1 for k in range((start - end).days) if is_working_day(end + timedelta(k)))
    return sum(1 for k in range(1, (end - start).days + 1) if is_working_day(start + timedelta(k)))


def latest_start_overdue_on(today: date, days: int) -> date:
    """The latest day whose deadline `days` working days later has passed by `today`: a step
    started that day or before is overdue (`add_working_days` never goes back in time as its
    start moves forward, so "started on or before this day" is the whole set, one SQL bound)."""
    day = today - timedelta(days=1)
    while add_working_days(day, days) >= today:
        day -= timedelta(days=1)
    return day
