"""Annual reference consumption (CAR) classes for the portfolio charts, as data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CarClass:
    label: str
    min_kwh: int
    max_kwh: int | None  # exclusive; None for the last class


CAR_CLASSES: tuple[CarClass, ...] = (
    CarClass("Moins de 6 MWh", 0, 6_000),
    CarClass("6 à 30 MWh", 6_000, 30_000),
    CarClass("30 à 100 MWh", 30_000, 100_000),
    CarClass("100 à 300 MWh", 100_000, 300_000),
    CarClass("300 MWh à 1 GWh", 300_000, 1_000_000),
    CarClass("1 GWh et plus", 1_000_000, None),
)
