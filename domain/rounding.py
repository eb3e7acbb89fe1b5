"""Rounding a list of exact parts to whole units without losing the total: the one
largest-remainder rule behind invoice cents (`domain/invoicing.split_exact`) and monthly kWh
(`domain/consumption.split_exact`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def largest_remainder(exact: Sequence[Fraction], total: int) -> list[int]:
    """Whole numbers, each the floor or the ceiling of its exact part, adding up to `total`.

    Every part is rounded down first (towards minus infinity, so negative parts work too), then
    the missing units go to the parts that lost the most, the earliest first on a tie. `total`
    must be reachable that way: between the sum of the floors and that sum plus one per part.
    """
    if not exact:
        return largest_remainder_over([], 1, total)
    denominator = math.lcm(*(x.denominator for x in exact))
    return largest_remainder_over(
        [x.numerator * (denominator // x.denominator) for x in exact], denominator, total
    )


def largest_remainder_over(numerators: Sequence[int], denominator: int, total: int) -> list[int]:
    """`largest_remainder` of the parts `numerator / denominator` (denominator > 0), in
    integers throughout: the demo's 400,000 invoice lines spent 10 s making Fractions."""
    floors = [n // denominator for n in numerators]
    missing = total - sum(floors)
    if not 0 <= missing <= len(numerators):
        raise ValueError(f"{total} is out of reach of these parts")
    if missing:
        # What each part lost, in units of 1/denominator: the most first, the earliest on a tie.
        lost = [n - f * denominator for n, f in zip(numerators, floors, strict=True)]
        order = sorted(range(len(numerators)), key=lambda i: (-lost[i], i))
        for index in order[:missing]:
            floors[index] += 1
    return floors
