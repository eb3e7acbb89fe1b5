"""Interval data rules: the steps a curve is read at, the point limit, the Paris day of an
instant (46 or 50 half-hours on daylight-saving days), and the distributors' CSV lines.

Pure Python: the import (api/resolvers/curve_import.py), the queries
(api/resolvers/curves.py) and the demo generator all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from domain.calendar import PARIS
from domain.enums import CurveQuality


class CurveStep(StrEnum):
    """The width of the points a curve is returned at, finest first."""

    HALF_HOUR = "HALF_HOUR"
    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


CURVE_STEP_LABELS = {
    CurveStep.HALF_HOUR: "demi-heure",
    CurveStep.HOUR: "heure",
    CurveStep.DAY: "jour",
    CurveStep.WEEK: "semaine",
    CurveStep.MONTH: "mois",
}
GAS_STEPS = (CurveStep.DAY, CurveStep.WEEK, CurveStep.MONTH)
# Per site: a month of half-hours (31 × 48 + 2 on the October change) fits, a year by day too.
MAX_POINTS = 1_500
MAX_PERIOD_DAYS = 3 * 366
MAX_CURVE_SITES = 4
QUALITY_RANK = {
    CurveQuality.ACTUAL: 0,
    CurveQuality.CORRECTED: 1,
    CurveQuality.ESTIMATED: 2,
    CurveQuality.MISSING: 3,
}
QUALITY_BY_RANK = {rank: quality for quality, rank in QUALITY_RANK.items()}


def paris_midnight(day: date) -> datetime:
    """The UTC instant a Paris day starts at."""
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)


def paris_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Paris day in UTC: 23, 24 or 25 hours long."""
    return paris_midnight(day), paris_midnight(day + timedelta(days=1))


def half_hours_in(day: date) -> int:
    """48, or 46 on the March change, 50 on the October change."""
    start, end = paris_day_bounds(day)
    return int((end - start).total_seconds()) // 1800


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def bucket_count(step: CurveStep, first: date, last: date) -> int:
    """How many points a site's curve has at `step` over the Paris days first..last."""
    if step is CurveStep.HALF_HOUR or step is CurveStep.HOUR:
        start = paris_midnight(first)
        end = paris_midnight(last + timedelta(days=1))
        minutes = 30 if step is CurveStep.HALF_HOUR else 60
        return int((end - start).total_seconds()) // (60 * minutes)
    if step is CurveStep.DAY:
        return (last - first).days + 1
    if step is CurveStep.WEEK:
        return (week_start(last) - week_start(first)).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def finest_allowed_step(first: date, last: date, steps: tuple[CurveStep, ...]) -> CurveStep:
    """The finest of `steps` whose point count stays within MAX_POINTS."""
    for step in steps:
        if bucket_count(step, first, last) <= MAX_POINTS:
            return step
    return steps[-1]


# -- CSV lines ---------------------------------------------------------------------------------

QUALITY_WORDS = {
    "R": CurveQuality.ACTUAL,
    "REEL": CurveQuality.ACTUAL,
    "RÉEL": CurveQuality.ACTUAL,
    "REELLE": CurveQuality.ACTUAL,
    "RÉELLE": CurveQuality.ACTUAL,
    "MESURE": CurveQuality.ACTUAL,
    "MESURÉ": CurveQuality.ACTUAL,
    "ACTUAL": CurveQuality.ACTUAL,
    "E": CurveQuality.ESTIMATED,
    "ESTIME": CurveQuality.ESTIMATED,
    "ESTIMÉ": CurveQuality.ESTIMATED,
    "ESTIMEE": CurveQuality.ESTIMATED,
    "ESTIMÉE": CurveQuality.ESTIMATED,
    "ESTIMATED": CurveQuality.ESTIMATED,
    "C": CurveQuality.CORRECTED,
    "CORRIGE": CurveQuality.CORRECTED,
    "CORRIGÉ": CurveQuality.CORRECTED,
    "CORRIGEE": CurveQuality.CORRECTED,
    "CORRIGÉE": CurveQuality.CORRECTED,
    "CORRECTED": CurveQuality.CORRECTED,
    "M": CurveQuality.MISSING,
    "ABSENT": CurveQuality.MISSING,
    "ABSENTE": CurveQuality.MISSING,
    "MANQUANT": CurveQuality.MISSING,
    "MANQUANTE": CurveQuality.MISSING,
    "MISSING": CurveQuality.MISSING,
}
MAX_POWER_W = 100_000_000  # 100 MW: far above any C2 site, far below the integer column's range
MAX_DAILY_M3 = Decimal("10000000")


class LineError(ValueError):
    """A bad CSV line: the message is French and shown with the line's number."""


@dataclass(frozen=True, slots=True)
class PowerPoint:
    point_number: str
    starts_at: datetime  # UTC
    minutes: int
    power_w: int | None
    quality: CurveQuality
    day: date  # the Paris day the point belongs to


@dataclass(frozen=True, slots=True)
class GasDay:
    point_number: str
    day: date
    volume_m3: Decimal | None
    coefficient: Decimal
    energy_kwh: Decimal | None
    quality: CurveQuality


def _point_number(text: str) -> str:
    value = text.strip()
    if len(value) != 14 or not value.isdigit():
        raise LineError(f"numéro de point invalide « {value[:20]} » : 14 chiffres attendus")
    return value


def _quality(text: str, *, empty_value: bool) -> CurveQuality:
    word = text.strip().upper()
    if not word:
        return CurveQuality.MISSING if empty_value else CurveQuality.ACTUAL
    quality = QUALITY_WORDS.get(word)
    if quality is None:
        raise LineError(f"qualité inconnue « {text.strip()[:20]} » (R, E, C ou M attendu)")
    return quality


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise LineError(f"{what} invalide « {text.strip()[:20]} »") from None
    if not value.is_finite():
        raise LineError(f"{what} invalide « {text.strip()[:20]} »")
    return value


def parse_instant(text: str) -> datetime:
    """ISO 8601 with its UTC offset (required: around the October change, 02:30 happens twice
    in Paris and only the offset says which)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LineError(f"horodate invalide « {text.strip()[:32]} »") from None
    if value.tzinfo is None:
        raise LineError(f"horodate sans décalage horaire « {text.strip()[:32]} » (ex. +01:00)")
    return value.astimezone(UTC)


def power_point(
    point: str, instant: str, value: str, unit: str, step: str, quality: str
) -> PowerPoint:
    """A load-curve CSV line's fields, checked."""
    starts_at = parse_instant(instant)
    minutes_text = step.strip().upper().removeprefix("PT").removesuffix("M") or "30"
    if minutes_text not in ("10", "30"):
        raise LineError(f"pas invalide « {step.strip()[:10]} » : 10 ou 30 minutes")
    minutes = int(minutes_text)
    if starts_at.minute % minutes or starts_at.second or starts_at.microsecond:
        raise LineError(f"l'horodate ne tombe pas sur un pas de {minutes} minutes")
    empty = not value.strip()
    kind = _quality(quality, empty_value=empty)
    power_w: int | None = None
    if kind is CurveQuality.MISSING:
        if not empty:
            raise LineError("un point manquant (M) ne porte pas de valeur")
    else:
        if empty:
            raise LineError("valeur manquante pour un point réel, estimé ou corrigé")
        number = _decimal(value, "valeur")
        unit_word = unit.strip().upper() or "W"
        if unit_word == "KW":
            number *= 1000
        elif unit_word != "W":
            raise LineError(f"unité inconnue « {unit.strip()[:10]} » (W ou kW)")
        if number < 0:
            raise LineError("puissance négative")
        watts = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if watts > MAX_POWER_W:
            raise LineError("puissance hors limites (100 MW au plus)")
        power_w = int(watts)
    return PowerPoint(
        _point_number(point), starts_at, minutes, power_w, kind, starts_at.astimezone(PARIS).date()
    )


class PowerLines:
    """`power_point` for a whole file, with what repeats cached: a file holds the same
    instants for every site and the same unit, step and quality on nearly every line, and
    parsing them once each is what keeps an import of millions of lines in budget."""

    CACHE_LIMIT = 200_000

    def __init__(self) -> None:
        self.instants: dict[str, tuple[datetime, date]] = {}
        self.kinds: dict[tuple[str, str, str, bool], tuple[int, int, CurveQuality]] = {}
        self.points: set[str] = set()

    def parse(
        self, point: str, instant: str, value: str, unit: str, step: str, quality: str
    ) -> PowerPoint:
        cached = self.instants.get(instant)
        empty = not value
        kind = self.kinds.get((unit, step, quality, empty))
        if cached is None or kind is None or point not in self.points:
            parsed = power_point(point, instant, value, unit, step, quality)
            if len(self.instants) >= self.CACHE_LIMIT:
                self.instants.clear()
            self.instants[instant] = (parsed.starts_at, parsed.day)
            factor = 1000 if unit.strip().upper() == "KW" else 1
            self.kinds[(unit, step, quality, empty)] = (factor, parsed.minutes, parsed.quality)
            if len(self.points) < self.CACHE_LIMIT:
                self.points.add(point)
            return parsed
        factor, minutes, quality_kind = kind
        starts_at, day = cached
        if starts_at.minute % minutes:
            raise LineError(f"l'horodate ne tombe pas sur un pas de {minutes} minutes")
        if quality_kind is CurveQuality.MISSING:
            return PowerPoint(point, starts_at, minutes, None, quality_kind, day)
        if value.isdigit() and factor == 1 and len(value) < 10:
            watts = int(value)
            if watts > MAX_POWER_W:
                raise LineError("puissance hors limites (100 MW au plus)")
            return PowerPoint(point, starts_at, minutes, watts, quality_kind, day)
        return power_point(point, instant, value, unit, step, quality)


def gas_day(
    point: str, day: str, volume: str, coefficient: str, energy: str, quality: str
) -> GasDay:
    """A daily gas CSV line's fields, checked; the energy, when given, must be the volume
    times the coefficient (to the kWh), and is computed from them otherwise."""
    try:
        when = date.fromisoformat(day.strip())
    except ValueError:
        raise LineError(f"date invalide « {day.strip()[:12]} » (AAAA-MM-JJ)") from None
    empty = not volume.strip()
    kind = _quality(quality, empty_value=empty)
    factor = _decimal(coefficient, "coefficient")
    if not Decimal("5") <= factor <= Decimal("15"):
        raise LineError("coefficient de conversion hors limites (5 à 15 kWh/m³)")
    factor = factor.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
    if kind is CurveQuality.MISSING:
        if not empty or energy.strip():
            raise LineError("un jour manquant (M) ne porte ni volume ni énergie")
        return GasDay(_point_number(point), when, None, factor, None, kind)
    if empty:
        raise LineError("volume manquant pour un jour réel, estimé ou corrigé")
    m3 = _decimal(volume, "volume")
    if m3 < 0 or m3 > MAX_DAILY_M3:
        raise LineError("volume hors limites")
    m3 = m3.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    computed = (m3 * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if energy.strip():
        given = _decimal(energy, "énergie")
        if abs(given - computed) > 1:
            raise LineError(
                f"énergie {given} kWh incohérente avec volume × coefficient ({computed} kWh)"
            )
    return GasDay(_point_number(point), when, m3, factor, computed, kind)
