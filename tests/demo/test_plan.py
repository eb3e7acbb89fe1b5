from datetime import date

from demo import planned_member_counts, planned_site_counts
from demo.fingerprint import fingerprint
from demo.plan import split_integer


def test_full_plan_matches_the_suppliers_figures() -> None:
    assert planned_site_counts("full") == {
        "T3": 115,
        "T2": 1477,
        "T1": 155,
        "C5": 11220,
        "C4": 60,  # the C4 sites the demo adds so reactive energy has something to show
    }
    assert planned_member_counts("full") == {"GAS": 249, "ELECTRICITY": 330}


def test_small_plan_is_a_miniature_with_the_same_proportions() -> None:
    small, full = planned_site_counts("small"), planned_site_counts("full")
    assert 250 <= sum(small.values()) <= 350
    small_c4, full_c4 = small.pop("C4"), full.pop("C4")
    ratio = sum(small.values()) / sum(full.values())
    for segment, count in full.items():
        assert abs(small[segment] - count * ratio) <= 1.5
    # A handful of C4 sites, more than the proportion: each case (reactive energy billed, not
    # billed, no longer billed) shows on the small demo.
    assert 3 <= small_c4 <= 8 and small_c4 < full_c4
    assert sum(planned_member_counts("small").values()) == 20


def test_split_integer_adds_up() -> None:
    shares = split_integer(11220, [5.0, 1.0, 0.3, 2.2], minimum=2)
    assert sum(shares) == 11220 and min(shares) >= 2


def test_generation_is_deterministic() -> None:
    as_of = date(2026, 11, 1)
    first = fingerprint("small", 2026, as_of)
    assert first == fingerprint("small", 2026, as_of)
    assert first != fingerprint("small", 7, as_of)
