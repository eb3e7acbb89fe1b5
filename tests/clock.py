"""The suite's fixed clock: every in-process request runs at `NOW` (the `runner` fixture puts
it on the request context), and factories date their rows relative to `TODAY`.

A test that read the wall clock would see its windows move under it: a run crossing midnight
at a month's end put the invoices made "today" in another month than the one queried.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.calendar import paris_date

# Mid-month, mid-morning in Paris: no day or month boundary within hours either way.
NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
TODAY = paris_date(NOW)
