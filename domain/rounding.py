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
    floors = [math.floor(x) for x in exact]
    missing = total - sum(floors)
    if not 0 <= missing <= len(exact):
        raise ValueError(f"{total} is out of reach of these parts")
    order = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for index in order[:missing]:
        floors[index] += 1
    return floors
