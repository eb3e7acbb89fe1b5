"""How much demo data each scale holds, and how it spreads over members.

`full` reproduces the supplier's own figures (DESIGN §1); `small` is a miniature of it with
the same proportions of segments, for `make run` and the tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Scale = Literal["small", "full"]


@dataclass(frozen=True, slots=True)
class Plan:
    gas_members: int
    electricity_members: int
    # Per segment. C4 sites (> 36 kVA) are added to the largest electricity members after
    # everything else is built, so the rows built before them do not depend on them.
    sites: dict[str, int]
    technical_requests: int
    # How many of each planted oddity (rollovers, replacements, anomalies…) per kind.
    oddities: int


PLANS: dict[str, Plan] = {
    "full": Plan(
        gas_members=249,
        electricity_members=330,
        sites={"T3": 115, "T2": 1477, "T1": 155, "C5": 11220, "C4": 60},
        technical_requests=420,
        oddities=24,
    ),
    "small": Plan(
        gas_members=8,
        electricity_members=12,
        sites={"T3": 3, "T2": 34, "T1": 4, "C5": 260, "C4": 5},
        technical_requests=36,
        oddities=4,
    ),
}

# A second, smaller purchasing group, so isolation between groups can be tried on demo data.
SECOND_GROUP_PLANS: dict[str, Plan] = {
    "full": Plan(
        gas_members=20,
        electricity_members=30,
        sites={"T3": 8, "T2": 120, "T1": 12, "C5": 900},
        technical_requests=0,
        oddities=0,
    ),
    "small": Plan(
        gas_members=2,
        electricity_members=3,
        sites={"T3": 1, "T2": 6, "T1": 1, "C5": 24},
        technical_requests=0,
        oddities=0,
    ),
}

GAS_SEGMENTS = ("T3", "T2", "T1")


def c4_holders(plan: Plan, site_counts: list[int]) -> list[int]:
    """How many C4 sites each electricity member gets, from its number of sites: the largest
    ones (towns with a pool, a school group, a treatment plant), two each at most."""
    count = plan.sites.get("C4", 0)
    holders = sorted(range(len(site_counts)), key=lambda i: (-site_counts[i], i))
    holders = holders[: (count + 1) // 2]
    shares = [0] * len(site_counts)
    for i, n in zip(
        holders, split_integer(count, [1.0] * len(holders)) if holders else [], strict=True
    ):
        shares[i] = n
    return shares


def plan_for(scale: str) -> Plan:
    try:
        return PLANS[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}: small or full") from None


def planned_site_counts(scale: Scale) -> dict[str, int]:
    """Sites per segment of the main group at this scale (no database involved)."""
    return dict(plan_for(scale).sites)


def planned_member_counts(scale: Scale) -> dict[str, int]:
    plan = plan_for(scale)
    return {"GAS": plan.gas_members, "ELECTRICITY": plan.electricity_members}


def split_integer(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder), each at least `minimum`."""
    count = len(weights)
    spare = total - minimum * count
    if spare < 0:
        raise ValueError("not enough to give everyone the minimum")
    weight_sum = sum(Fraction(w) for w in weights)
    exact = [Fraction(w) * spare / weight_sum for w in weights]
    shares = [int(e) for e in exact]
    order = sorted(range(count), key=lambda i: (shares[i] - exact[i], i))
    for i in order[: spare - sum(shares)]:
        shares[i] += 1
    return [s + minimum for s in shares]


@dataclass(frozen=True, slots=True)
class MemberLayout:
    energy: str  # "GAS" or "ELECTRICITY"
    sites: dict[str, int]  # per segment


def member_layouts(plan: Plan, rng: random.Random) -> list[MemberLayout]:
    """Every member's energy and site counts (C4 apart); totals match the plan exactly.

    Electricity members come first, the largest one leading: it becomes the demo member.
    Sizes are skewed like a real department (a few towns, many villages).
    """
    layouts: list[MemberLayout] = []

    elec_weights = sorted(
        (min(rng.paretovariate(1.2), 40.0) for _ in range(plan.electricity_members)), reverse=True
    )
    c5 = split_integer(plan.sites["C5"], elec_weights, minimum=2)
    layouts += [MemberLayout("ELECTRICITY", {"C5": n}) for n in c5]

    gas_weights = [min(rng.paretovariate(1.3), 30.0) for _ in range(plan.gas_members)]
    t2 = split_integer(plan.sites["T2"], gas_weights, minimum=1)
    # T3 (big boiler rooms) go to the largest members, T1 (small kitchens) anywhere.
    by_size = sorted(range(plan.gas_members), key=lambda i: -gas_weights[i])
    t3_holders = by_size[: max(1, plan.sites["T3"] * 2 // 3)]
    t3 = [0] * plan.gas_members
    for i, n in zip(
        t3_holders,
        split_integer(plan.sites["T3"], [gas_weights[i] for i in t3_holders]),
        strict=True,
    ):
        t3[i] = n
    t1_holders = sorted(
        rng.sample(range(plan.gas_members), min(plan.gas_members, max(1, plan.sites["T1"] // 2)))
    )
    t1 = [0] * plan.gas_members
    for i, n in zip(
        t1_holders, split_integer(plan.sites["T1"], [1.0] * len(t1_holders)), strict=True
    ):
        t1[i] = n
    layouts += [
        MemberLayout("GAS", {"T3": t3[i], "T2": t2[i], "T1": t1[i]})
        for i in range(plan.gas_members)
    ]
    return layouts
