from datetime import date
from decimal import Decimal as D

import pytest

from domain.enums import InvoiceComponent as C
from domain.invoicing import (
    allocate,
    invoice_totals,
    round_cents,
    split_exact,
    vat_by_rate,
    vat_rate,
)


def test_round_half_up_to_the_cent() -> None:
    assert round_cents(D("0.005")) == D("0.01")
    assert round_cents(D("0.025")) == D("0.03")  # banker's rounding would give 0.02
    assert round_cents(D("2.345")) == D("2.35")
    assert round_cents(D("-0.005")) == D("-0.01")
    assert round_cents(D("1.2349")) == D("1.23")


def test_reduced_rate_ends_on_1_august_2025() -> None:
    assert vat_rate(C.SUBSCRIPTION, date(2025, 7, 31)) == D("5.50")
    assert vat_rate(C.CTA, date(2025, 7, 1)) == D("5.50")
    assert vat_rate(C.SUBSCRIPTION, date(2025, 8, 1)) == D("20.00")
    assert vat_rate(C.ENERGY, date(2024, 1, 1)) == D("20.00")
    assert vat_rate(C.SUBSCRIPTION, date(2024, 1, 1), reduced_eligible=False) == D("20.00")
    with pytest.raises(ValueError):
        vat_rate(C.VAT, date(2024, 1, 1))


def test_vat_is_computed_once_per_rate() -> None:
    lines = [
        (D("5.80"), D("5.50")),
        (D("3.07"), D("5.50")),
        (D("59.53"), D("20.00")),
        (D("40.52"), D("20.00")),
    ]
    reduced, standard = vat_by_rate(lines)
    assert (reduced.rate, reduced.base, reduced.amount) == (D("5.50"), D("8.87"), D("0.49"))
    assert (standard.base, standard.amount) == (D("100.05"), D("20.01"))
    assert vat_by_rate([(D("0"), D("5.50"))]) == []


def test_invoice_totals_from_lines() -> None:
    totals = invoice_totals(
        [
            (C.SUBSCRIPTION, D("5.80"), D("5.50")),
            (C.ENERGY, D("100.25"), D("20.00")),
            (C.REGULARISATION, D("-30.10"), D("20.00")),
            (C.VAT, D("0.32"), D("5.50")),
            (C.VAT, D("14.03"), D("20.00")),
        ]
    )
    assert totals.total_excl_tax == D("75.95")
    assert (totals.vat_reduced, totals.vat_standard) == (D("0.32"), D("14.03"))
    assert totals.total_incl_tax == D("90.30")


@pytest.mark.parametrize(
    "amount, weights",
    [
        (D("100.00"), [1, 1, 1]),
        (D("0.01"), [3, 1, 1]),
        (D("-107.08"), [566, 123, 4000, 1]),
        (D("12.34"), [D("2.5"), D("-1.25"), D("0.75")]),
        (D("-0.05"), [0, 0, 0]),
    ],
)
def test_allocation_adds_up_exactly(amount: D, weights: list) -> None:  # type: ignore[type-arg]
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    assert all(share == round_cents(share) for share in shares)


def test_allocation_follows_the_weights() -> None:
    assert allocate(D("100.00"), [1, 1, 1]) == [D("33.34"), D("33.33"), D("33.33")]
    assert allocate(D("10.00"), [3, 1]) == [D("7.50"), D("2.50")]


def test_split_exact_with_negative_parts() -> None:
    parts = [D("1.005"), D("-2.333"), D("0.334"), D("-0.006")]
    shares = split_exact(parts)
    assert sum(shares) == round_cents(sum(parts))
    assert all(abs(s - p) < D("0.01") for s, p in zip(shares, parts, strict=True))
