"""How a site's annual reference consumption (CAR) spreads over the months of the year.

Gas consumption follows heating: a heating profile burns most of its year between November
and March and almost nothing in summer, while a cooking/hot-water profile barely varies.
Electricity on C5 varies mildly (lighting and some electric heating in winter), except public
lighting, which follows the length of the night; C4 buildings follow their use. The weights
below are typical shapes of the distributors' published profiles (GRDF P011-P016, Enedis
RES/PRO/EP/ENT), normalised so that the twelve shares of a profile always sum to exactly 1.
"""

from __future__ import annotations

from fractions import Fraction

# Relative weight of each month, January first. Only the shape matters: shares are normalised.
_WEIGHTS: dict[str, tuple[int, ...]] = {
    # Gas: P011 cooking and hot water only; P012 heating of a small building; P013/P014 larger
    # heating; P015/P016 heating plus process (the flatter T3 profiles).
    "P011": (105, 100, 98, 92, 86, 80, 76, 74, 80, 92, 104, 113),
    "P012": (190, 165, 135, 85, 40, 15, 10, 10, 20, 65, 120, 175),
    "P013": (180, 160, 135, 90, 48, 22, 16, 16, 28, 75, 125, 165),
    "P014": (170, 152, 132, 94, 55, 30, 24, 24, 36, 82, 128, 158),
    "P015": (150, 138, 124, 98, 70, 50, 44, 42, 54, 92, 126, 142),
    "P016": (130, 122, 114, 100, 84, 70, 64, 60, 72, 100, 118, 126),
    # Electricity C5: residential-like (RES), professional (PRO) and public lighting (EP).
    "RES1": (118, 106, 100, 88, 80, 74, 72, 70, 76, 90, 108, 118),
    "RES2": (122, 110, 102, 88, 78, 70, 68, 66, 74, 90, 110, 122),
    "PRO1": (105, 98, 100, 94, 90, 88, 80, 72, 92, 98, 100, 103),
    "PRO2": (112, 104, 102, 92, 86, 82, 76, 70, 88, 96, 104, 110),
    "EP1": (128, 108, 98, 80, 66, 58, 62, 74, 88, 104, 118, 130),
    # Electricity C4 (over 36 kVA): ENT1 short use (school groups, town halls: a summer
    # holiday dip), ENT2 long use (pools, treatment plants, care homes: flatter).
    "ENT1": (122, 114, 106, 92, 84, 70, 44, 40, 90, 100, 114, 124),
    "ENT2": (110, 104, 102, 96, 92, 88, 82, 80, 90, 98, 104, 108),
}

PROFILES: frozenset[str] = frozenset(_WEIGHTS)


def _normalise(weights: tuple[int, ...]) -> tuple[Fraction, ...]:
    total = sum(weights)
    return tuple(Fraction(weight, total) for weight in weights)


# Exact fractions, so the shares of a year add up to 1 with no float drift.
_SHARES: dict[str, tuple[Fraction, ...]] = {name: _normalise(w) for name, w in _WEIGHTS.items()}


def monthly_shares(profile: str) -> tuple[Fraction, ...]:
    """The twelve shares (January to December) of the CAR for `profile`; they sum to 1."""
    try:
        return _SHARES[profile]
    except KeyError:
        raise ValueError(f"unknown consumption profile: {profile!r}") from None


def monthly_share(profile: str, month: int) -> Fraction:
    """The share of the CAR consumed in `month` (1-12)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {month}")
    return monthly_shares(profile)[month - 1]


def expected_consumption(car_kwh: int, profile: str, months: list[int]) -> Fraction:
    """Expected kWh over the given months (1-12, repeats allowed) for a site of CAR `car_kwh`."""
    shares = monthly_shares(profile)
    return car_kwh * sum((shares[month - 1] for month in months), Fraction(0))
