"""What every builder shares for one load: the random stream, the calendar and the ids.

Everything comes from one `random.Random(seed)` consumed in a fixed order, and ids are given
here, so the same (scale, seed, as_of) always yields the same rows.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from demo.meters import month_end_dates
from demo.plan import Plan, Scale, plan_for
from demo.shapes import WINDOW_MONTHS, instant
from domain.billing import add_months_clamped


class BuildState:
    def __init__(self, scale: Scale, seed: int, as_of: date, password_hash: str) -> None:
        self.scale = scale
        self.plan: Plan = plan_for(scale)
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.password_hash = password_hash
        self.window_start = add_months_clamped(date(as_of.year, as_of.month, 1), -WINDOW_MONTHS)
        self.ends = month_end_dates(self.window_start)  # k = 0..24
        self.starts = [add_months_clamped(self.window_start, m) for m in range(WINDOW_MONTHS + 1)]
        self._next_id: dict[str, int] = {}
        self._instants: dict[date, datetime] = {}

    def new_id(self, table: str) -> int:
        value = self._next_id.get(table, 0) + 1
        self._next_id[table] = value
        return value

    def created(self, day: date) -> datetime:
        """When a row dated `day` was written: the next morning, one shared instant per day."""
        value = self._instants.get(day)
        if value is None:
            value = self._instants[day] = instant(day + timedelta(days=1), 5)
        return value

    def moment(self, days_back: int) -> datetime:
        """An office-hours instant `days_back` days before `as_of` (requests, their events)."""
        day = self.as_of - timedelta(days=days_back)
        return datetime(
            day.year,
            day.month,
            day.day,
            self.rng.randint(7, 16),
            self.rng.choice((0, 15, 30, 45)),
            tzinfo=UTC,
        )
