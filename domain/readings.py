"""Readings (relèves): what an index says about consumption, and what kind of figure it is.

An index is what a meter shows on one register. The consumption between two readings of the
same register of the same meter is the difference of their indexes, except when the meter
went round ("tour compteur"): a meter of N digits shows its running total modulo 10**N, so
after passing 99…9 it restarts at 0 and the consumption is `(10**N - previous) + current`.

A wrap is recognised in two ways:
- the reading is flagged `rollover` (the distributor or the self-reading rules said so);
- or the index went down and the wrap is the plausible explanation: the consumption it implies
  is at most `PLAUSIBLE_WRAP_SHARE` of the meter's range. A small drop on a meter far from its
  maximum (e.g. an estimate corrected by a lower actual index) is not a wrap: it is a negative
  consumption, shown as such.

Consumption here is in the meter's own units (kWh for electricity, m³ for gas); `to_kwh`
converts with the meter's reading coefficient.

A self-reading's consumption is measured from the last reading that counts on its register
(actual, special or accepted self-reading; estimates are no reference, a real index may well
be below an estimated one): that is what the self-reading rules check, what the confirmation
mail tells the customer and what the readings list shows, so the three always agree. An
accepted self-reading never shows a drop: the rules accepted a lower index only as one turn of
the meter. Other readings measure from the previous reading of any kind, so that a real index
below an estimate shows the correction (a negative consumption).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.enums import ESTIMATED_SOURCES, MeterKind, ReadingSource

# A lower index is read as a wrap when the implied consumption is at most this share of the
# meter's range (10**digits); above it, the index simply went down.
PLAUSIBLE_WRAP_SHARE = Decimal("0.5")


class ReadingKind(StrEnum):
    """The four families of sources a customer filters on."""

    ACTUAL = "ACTUAL"  # read by the distributor
    ESTIMATED = "ESTIMATED"  # estimated by the distributor or the supplier
    SELF_READING = "SELF_READING"  # sent by the customer
    SPECIAL = "SPECIAL"  # special reading on request, meter change


KIND_SOURCES: dict[ReadingKind, frozenset[ReadingSource]] = {
    ReadingKind.ACTUAL: frozenset({ReadingSource.DISTRIBUTOR_ACTUAL}),
    ReadingKind.ESTIMATED: ESTIMATED_SOURCES,
    ReadingKind.SELF_READING: frozenset({ReadingSource.SELF_READING}),
    ReadingKind.SPECIAL: frozenset({ReadingSource.SPECIAL}),
}


def kind_of(source: ReadingSource | str) -> ReadingKind:
    """The family of a reading's source."""
    source = ReadingSource(source)
    for kind, sources in KIND_SOURCES.items():
        if source in sources:
            return kind
    raise ValueError(f"source without a kind: {source}")  # pragma: no cover - enums are closed


def sources_of(kinds: list[ReadingKind] | tuple[ReadingKind, ...]) -> frozenset[ReadingSource]:
    """Every source of the given kinds."""
    return frozenset(source for kind in kinds for source in KIND_SOURCES[ReadingKind(kind)])


# The readings a self-reading is measured from (and checked against).
REFERENCE_SOURCES = frozenset(ReadingSource) - ESTIMATED_SOURCES

GAS_METER_KINDS = frozenset({MeterKind.GAZPAR, MeterKind.GAS_CONVENTIONAL})


def index_unit(meter_kind: MeterKind | str) -> str:
    """The unit a meter's index counts in: m³ on a gas meter, kWh on an electricity one."""
    return "m³" if MeterKind(meter_kind) in GAS_METER_KINDS else "kWh"


def is_estimated(source: ReadingSource | str) -> bool:
    """True when the index was estimated (by the distributor or the supplier), not read."""
    return ReadingSource(source) in ESTIMATED_SOURCES


def meter_range(digits: int) -> int:
    """How many distinct figures a meter of `digits` digits shows (it wraps after 10**N - 1)."""
    if digits < 1:
        raise ValueError(f"a meter has at least one digit, not {digits}")
    figures: int = 10**digits  # int ** int is typed Any (a negative power is a float)
    return figures


def wrapped_consumption(previous: int, current: int, digits: int) -> int:
    """The consumption when the meter went round once between `previous` and `current`."""
    return (meter_range(digits) - previous) + current


def is_plausible_wrap(previous: int, current: int, digits: int) -> bool:
    """A lower index explained by one turn of the meter rather than by a drop."""
    if current >= previous:
        return False
    return wrapped_consumption(previous, current, digits) <= PLAUSIBLE_WRAP_SHARE * meter_range(
        digits
    )


@dataclass(frozen=True, slots=True)
class Step:
    """What happened on a register between two readings."""

    consumption: int  # in the meter's units; negative when the index went down
    wrapped: bool  # the meter went round (flagged, or recognised as plausible)


def consumption_between(
    previous: int | None, current: int, *, digits: int, rollover: bool = False
) -> Step | None:
    """The consumption since the previous reading of the same register on the same meter.

    None for the first reading of a register (nothing to compare with). A reading flagged
    `rollover` always counts one turn of the meter; an unflagged lower index counts as a turn
    when that is plausible (see `is_plausible_wrap`), else as a negative consumption.
    """
    if previous is None:
        return None
    if rollover:
        return Step(wrapped_consumption(previous, current, digits), wrapped=True)
    if is_plausible_wrap(previous, current, digits):
        return Step(wrapped_consumption(previous, current, digits), wrapped=True)
    return Step(current - previous, wrapped=False)


def to_kwh(consumption: int, coefficient: Decimal) -> int:
    """kWh from a consumption in the meter's units (m³ of gas × its conversion coefficient),
    rounded half up to the kWh."""
    if coefficient == 1:
        return consumption
    return int((Decimal(consumption) * coefficient).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def step_of_reading(
    source: ReadingSource | str,
    *,
    current: int,
    digits: int,
    rollover: bool,
    previous_any: int | None,
    previous_reference: int | None,
) -> Step | None:
    """The consumption a reading shows (see the module's docstring): a self-reading from the
    last reference reading, where a lower index is one turn of the meter (the rules accepted
    it as such); any other reading from the previous reading of any kind."""
    if ReadingSource(source) is ReadingSource.SELF_READING:
        if previous_reference is None:
            return None
        wrapped = rollover or current < previous_reference
        return consumption_between(previous_reference, current, digits=digits, rollover=wrapped)
    return consumption_between(previous_any, current, digits=digits, rollover=rollover)
