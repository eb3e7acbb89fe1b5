"""Interval data of the demo: daily gas for every Gazpar meter over the window, half-hourly
load curves for a sample of Linky sites over the last 12 months.

Both are cut from the same simulated consumption as the readings (demo/readings.py), in
integers, so they agree with the index readings exactly: a month's gas days add up to the
month's m³ to the hundredth, a month's half-hours (W × ½ h) to the month's kWh. Planted:
estimated days, and gaps — a missing gas day's volume comes with the next day (as Gazpar's
next index brings it), a gap in a curve moves its energy to the same day's other half-hours
(the day stays whole against the index).

A random stream of its own, so the rest of the demo (and its fingerprint) does not move.
Rows are tuples in each backend's storage form and go through the raw driver: several
million points would cost a minute through SQLAlchemy's executemany of dicts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from demo.meters import MeterSim
from demo.shapes import WINDOW_MONTHS, SiteDraft
from demo.state import BuildState
from domain.calendar import PARIS
from domain.curves import paris_day_bounds

CURVE_MONTHS = 12
# Every STRIDE-th eligible Linky site gets a curve (≈ 200 at full scale, ≈ 6 small), plus
# the demo member's first few, so the tour's logins see some.
STRIDE = 45
DEMO_MEMBER_SITES = 3

LOAD_CURVE_COLUMNS = ("site_id", "starts_at", "meter_id", "minutes", "power_w", "quality")
GAS_COLUMNS = (
    "site_id", "day", "meter_id", "volume_m3", "coefficient", "energy_kwh", "quality"
)  # fmt: skip


@dataclass(slots=True)
class _Curve:
    site_id: int
    meter_id: int
    lighting: bool
    kwh: list[int]  # per month of the window, all registers


@dataclass(slots=True)
class _Gas:
    site_id: int
    meter: MeterSim
    m3: list[int]  # per month of the window


class CurveBuilder:
    def __init__(self, state: BuildState, seed: int) -> None:
        self.state = state
        self.rng = random.Random(f"curves-{seed}")
        self.curves: list[_Curve] = []
        self.gas: list[_Gas] = []
        self.eligible = 0
        self.demo_member_taken = 0

    def remember(self, site: SiteDraft, *, demo_member: bool) -> None:
        """Called for each site once its readings are simulated."""
        row = site.row
        if row["energy"] == "GAS":
            for meter in site.meters:
                if meter.kind == "GAZPAR":
                    self.gas.append(_Gas(row["id"], meter, site.consumption["BASE"]))
            return
        if site.oddity is not None or site.last_k != WINDOW_MONTHS or row["segment"] != "C5":
            return
        meter = site.meters[-1]
        if meter.kind != "LINKY" or meter.k_from > WINDOW_MONTHS - CURVE_MONTHS:
            return
        self.eligible += 1
        take = self.eligible % STRIDE == 1
        if demo_member and self.demo_member_taken < DEMO_MEMBER_SITES:
            take, self.demo_member_taken = True, self.demo_member_taken + 1
        if not take:
            return
        kwh = [sum(site.consumption[r][m] for r in site.registers) for m in range(WINDOW_MONTHS)]
        self.curves.append(_Curve(row["id"], meter.id, row["profile"] == "EP1", kwh))

    # -- gas ---------------------------------------------------------------------------------

    def gas_rows(self, sqlite: bool) -> Iterator[list[tuple[Any, ...]]]:
        state = self.state
        for number, gas in enumerate(self.gas):
            rng = self.rng
            meter = gas.meter
            coefficient = int(meter.coefficient.scaleb(5))
            rows: list[tuple[Any, ...]] = []
            # One meter in six has estimated days, one in ten a missing day (in a month the
            # meter was in place: the last one always is).
            final = WINDOW_MONTHS - 1
            estimated_month = rng.randint(meter.k_from, final) if number % 6 == 0 else None
            missing_month = rng.randint(meter.k_from, final) if number % 10 == 1 else None
            for m in range(WINDOW_MONTHS):
                if not (meter.k_from <= m and m + 1 <= meter.k_to):
                    continue  # this meter was not in place that whole month
                first, last = state.starts[m], state.ends[m + 1]
                days = [first + timedelta(days=d) for d in range((last - first).days + 1)]
                weights = [
                    max(0.12, 1 + math.cos(2 * math.pi * (d.timetuple().tm_yday - 20) / 365))
                    * rng.uniform(0.8, 1.2)
                    for d in days
                ]
                centi = _split(gas.m3[m] * 100, weights)
                quality = ["ACTUAL"] * len(days)
                if m == estimated_month:
                    start = rng.randrange(len(days) - 3)
                    for d in range(start, start + rng.randint(2, 4)):
                        quality[d] = "ESTIMATED"
                if m == missing_month:
                    d = rng.randrange(len(days) - 1)
                    centi[d + 1] += centi[d]
                    quality[d] = "MISSING"
                for day, volume, kind in zip(days, centi, quality, strict=True):
                    if kind == "MISSING":
                        rows.append(_gas_row(sqlite, gas.site_id, day, meter.id, None,
                                             coefficient, None, kind))  # fmt: skip
                        continue
                    energy = (volume * coefficient + 50_000) // 100_000  # hundredths, half up
                    rows.append(_gas_row(sqlite, gas.site_id, day, meter.id, volume,
                                         coefficient, energy, kind))  # fmt: skip
            yield rows

    # -- electricity ---------------------------------------------------------------------------

    def curve_rows(self, sqlite: bool) -> Iterator[list[tuple[Any, ...]]]:
        """One list of rows per site and month."""
        months = [
            self._month(m, sqlite) for m in range(WINDOW_MONTHS - CURVE_MONTHS, WINDOW_MONTHS)
        ]
        for number, curve in enumerate(self.curves):
            rng = self.rng
            # One site in three has an estimated day, one in three a gap.
            estimated_day = rng.randrange(365) if number % 3 == 0 else None
            gap_day = rng.randrange(365) if number % 3 == 1 else None
            day_offset = 0
            for m, (stamps, shapes, day_sizes) in zip(
                range(WINDOW_MONTHS - CURVE_MONTHS, WINDOW_MONTHS), months, strict=True
            ):
                shape = shapes[1] if curve.lighting else shapes[0]
                day_factors = [rng.uniform(0.85, 1.15) for _ in day_sizes]
                weights: list[float] = []
                for factor, (start, size) in zip(day_factors, _offsets(day_sizes), strict=True):
                    weights += [w * factor for w in shape[start : start + size]]
                watts = _split(curve.kwh[m] * 2000, weights)  # Σ W × ½ h = kWh × 1000
                quality = ["ACTUAL"] * len(watts)
                for d, (start, size) in enumerate(_offsets(day_sizes)):
                    if day_offset + d == estimated_day:
                        quality[start : start + size] = ["ESTIMATED"] * size
                    if day_offset + d == gap_day:
                        _plant_gap(rng, watts, quality, start, size)
                day_offset += len(day_sizes)
                site_id, meter_id = curve.site_id, curve.meter_id
                yield [
                    (site_id, stamp, meter_id, 30, None if kind == "MISSING" else w, kind)
                    for stamp, w, kind in zip(stamps, watts, quality, strict=True)
                ]

    def _month(
        self, m: int, sqlite: bool
    ) -> tuple[list[Any], tuple[list[float], list[float]], list[int]]:
        """The month's half-hour instants (storage form), its office and lighting shapes, and
        the number of half-hours of each of its days (46 or 50 on the changes)."""
        state = self.state
        first, last = state.starts[m], state.ends[m + 1]
        stamps: list[Any] = []
        office: list[float] = []
        lighting: list[float] = []
        sizes: list[int] = []
        day = first
        while day <= last:
            start, end = paris_day_bounds(day)
            t = start
            count = 0
            while t < end:
                local = t.astimezone(PARIS)
                hour = local.hour + local.minute / 60
                weekday = local.weekday() < 5
                working = 7.5 <= hour < 18.5
                office.append(
                    (1.6 if working and weekday else 0.75 if working else 0.45)
                    + 0.25 * math.sin(math.pi * hour / 24)
                )
                dark = hour < 7 or hour >= 18 + (2 if 4 <= local.month <= 9 else 0)
                lighting.append(1.0 if dark else 0.02)
                stamps.append(
                    t.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t
                )
                t += timedelta(minutes=30)
                count += 1
            sizes.append(count)
            day += timedelta(days=1)
        return stamps, (office, lighting), sizes


def _offsets(sizes: list[int]) -> Iterator[tuple[int, int]]:
    start = 0
    for size in sizes:
        yield start, size
        start += size


def _plant_gap(
    rng: random.Random, watts: list[int], quality: list[str], start: int, size: int
) -> None:
    """2 to 8 half-hours missing in a day; their energy goes to the day's other half-hours."""
    length = rng.randint(2, 8)
    at = start + rng.randrange(size - length)
    moved = sum(watts[at : at + length])
    for i in range(at, at + length):
        watts[i] = 0
        quality[i] = "MISSING"
    others = [i for i in range(start, start + size) if quality[i] != "MISSING"]
    share, rest = divmod(moved, len(others))
    for k, i in enumerate(others):
        watts[i] += share + (1 if k < rest else 0)


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` as non-negative integers in proportion to `weights`, adding up exactly."""
    scale = total / sum(weights)
    parts = [int(w * scale) for w in weights]
    missing = total - sum(parts)
    for i in range(missing):
        parts[i % len(parts)] += 1
    return parts


def _gas_row(
    sqlite: bool,
    site_id: int,
    day: date,
    meter_id: int,
    centi_m3: int | None,
    coefficient: int,
    centi_kwh: int | None,
    quality: str,
) -> tuple[Any, ...]:
    if sqlite:  # FixedDecimal's storage: integers of hundredths / 10^-5
        return (site_id, day.isoformat(), meter_id, centi_m3, coefficient, centi_kwh, quality)
    return (
        site_id,
        day,
        meter_id,
        None if centi_m3 is None else Decimal(centi_m3).scaleb(-2),
        Decimal(coefficient).scaleb(-5),
        None if centi_kwh is None else Decimal(centi_kwh).scaleb(-2),
        quality,
    )
