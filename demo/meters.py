"""One site's meters and readings over the window: the true consumption, then what was read.

Indexes are simulated unwrapped (a running total); what a meter shows is that total modulo
10^digits, and a reading whose total crossed a multiple of 10^digits since the previous
reading of its register is flagged as a rollover. Actual readings are laid down first;
estimated ones are then interpolated between the surrounding actuals along the expected
(profile-shaped) consumption, so indexes never go down whatever their source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal


@dataclass(slots=True)
class MeterSim:
    id: int
    kind: str
    serial: str
    communicating: bool
    digits: int
    registers: list[str]
    coefficient: Decimal
    k_from: int  # first month-end position the meter reads (0 = the window's start)
    k_to: int  # last one (inclusive)
    start: dict[str, int]  # unwrapped index at k_from per register
    actual_ks: set[int] = field(default_factory=set)
    # Unwrapped index of each register at each position k_from..k_to as read (actual or
    # estimated), filled by `lay_readings`.
    shown: dict[str, dict[int, int]] = field(default_factory=dict)
    true: dict[str, dict[int, int]] = field(default_factory=dict)


def true_totals(meter: MeterSim, consumption: dict[str, list[int]]) -> None:
    """The meter's real unwrapped indexes at every month-end it was in place."""
    for register in meter.registers:
        values = {meter.k_from: meter.start[register]}
        running = meter.start[register]
        for k in range(meter.k_from + 1, meter.k_to + 1):
            running += consumption[register][k - 1]
            values[k] = running
        meter.true[register] = values


def lay_readings(meter: MeterSim, expected: list[float]) -> None:
    """Shown indexes: actual where read, interpolated between actual anchors elsewhere.

    `expected[k]` is the expected cumulative consumption share at position k; the next anchor
    after the last actual is the true index at the meter's last position (a reading still to
    come), so estimates never overtake a later actual.
    """
    anchors = sorted(meter.actual_ks | {meter.k_from})
    for register in meter.registers:
        true = meter.true[register]
        shown: dict[int, int] = {}
        for k in range(meter.k_from, meter.k_to + 1):
            if k in meter.actual_ks or k == meter.k_from:
                shown[k] = true[k]
                continue
            before = max(a for a in anchors if a < k)
            later = [a for a in anchors if a > k]
            after = later[0] if later else meter.k_to
            span = expected[after] - expected[before]
            fraction = (expected[k] - expected[before]) / span if span > 0 else 0.0
            shown[k] = true[before] + int((true[after] - true[before]) * fraction)
        meter.shown[register] = shown


def to_kwh(native: int, coefficient: Decimal) -> int:
    """kWh from a meter's native units (m³ for gas, kWh for electricity)."""
    if coefficient == 1:
        return native
    return int((native * coefficient).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def digits_for(kind: str, two_years: int) -> int:
    base = {
        "LINKY": 6,
        "ELECTROMECHANICAL": 5,
        "ELECTRONIC": 7,
        "GAZPAR": 5,
        "GAS_CONVENTIONAL": 5,
    }[kind]
    needed = len(str(max(1, two_years * 3)))
    return min(9, max(base, needed))


def starting_index(rng: random.Random, digits: int, two_years: int) -> int:
    room = 10**digits - 1 - two_years
    return rng.randint(0, max(0, room // 2))


def month_end_dates(window_start: date) -> list[date]:
    """Month-end dates at positions k = 0..24 (k = 0 is the day before the window)."""
    ends = []
    year, month = window_start.year, window_start.month
    for _ in range(25):
        ends.append(date(year, month, 1).fromordinal(date(year, month, 1).toordinal() - 1))
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return ends
