"""Pure invoicing rules: rounding, VAT by rate, invoice totals, allocation across sites.

Money is always `Decimal`. Every amount printed on an invoice is rounded to the cent, half up
(the commercial rule, not the banker's one). An invoice's totals are derived from its lines,
and a multi-site invoice's per-site rows are an exact split of those lines, so that the sites
always add up to the invoice to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from domain.enums import InvoiceComponent
from domain.rounding import largest_remainder_over

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

REDUCED_VAT_RATE = Decimal("5.50")
STANDARD_VAT_RATE = Decimal("20.00")

# Components that bore the reduced rate on small supplies (electricity ≤ 36 kVA, gas under
# the threshold), and the day that ended: from 2025-08-01 every component is at 20 %
# (loi de finances 2025). Kept as data: a new change is a new row, not new code.
REDUCED_RATE_COMPONENTS = frozenset({InvoiceComponent.SUBSCRIPTION, InvoiceComponent.CTA})
REDUCED_RATE_PERIODS: tuple[tuple[date, date | None], ...] = (
    (date(1995, 1, 1), date(2025, 7, 31)),
)


def round_cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (0.005 → 0.01, -0.005 → -0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_rate(component: InvoiceComponent, on: date, *, reduced_eligible: bool = True) -> Decimal:
    """The VAT rate (percent) of a component billed for a period starting `on`."""
    if component is InvoiceComponent.VAT:
        raise ValueError("a VAT line has no VAT rate of its own")
    if reduced_eligible and component in REDUCED_RATE_COMPONENTS:
        for start, end in REDUCED_RATE_PERIODS:
            if start <= on and (end is None or on <= end):
                return REDUCED_VAT_RATE
    return STANDARD_VAT_RATE


@dataclass(frozen=True, slots=True)
class VatLine:
    rate: Decimal
    base: Decimal
    amount: Decimal


def vat_by_rate(lines: Iterable[tuple[Decimal, Decimal]]) -> list[VatLine]:
    """One VAT line per rate from (amount excl. VAT, rate) pairs of the non-VAT lines.

    VAT is computed once on each rate's base (not line by line), as invoices print it; rates
    whose base is zero produce no line. Ordered by rate.
    """
    bases: dict[Decimal, Decimal] = {}
    for amount, rate in lines:
        bases[rate] = bases.get(rate, ZERO) + amount
    return [
        VatLine(rate=rate, base=base, amount=round_cents(base * rate / 100))
        for rate, base in sorted(bases.items())
        if base != 0
    ]


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    total_excl_tax: Decimal
    vat_reduced: Decimal
    vat_standard: Decimal
    total_incl_tax: Decimal


def invoice_totals(lines: Iterable[tuple[InvoiceComponent, Decimal, Decimal]]) -> InvoiceTotals:
    """Totals from an invoice's lines given as (component, amount, VAT rate).

    The excl.-tax total is the sum of the non-VAT lines; VAT lines are summed per rate.
    """
    excl = reduced = standard = ZERO
    for component, amount, rate in lines:
        if component is InvoiceComponent.VAT:
            if rate == REDUCED_VAT_RATE:
                reduced += amount
            elif rate == STANDARD_VAT_RATE:
                standard += amount
            else:
                raise ValueError(f"unexpected VAT rate {rate}")
        else:
            excl += amount
    return InvoiceTotals(excl, reduced, standard, excl + reduced + standard)


def split_exact(parts: Sequence[Decimal]) -> list[Decimal]:
    """Round each exact part to the cent so that they add up to the rounded total exactly
    (largest remainder, `domain/rounding.py`; negative parts too)."""
    if not parts:
        return []
    cents = int(round_cents(sum(parts, ZERO)) / CENT)
    # Each part as an integer over one power of ten (exactly: no context rounding), in cents.
    shapes = [part.as_tuple() for part in parts]
    lowest = min(min(int(shape.exponent) for shape in shapes), -2)
    numerators = [
        int(Decimal((shape.sign, shape.digits, 0))) * 10 ** (int(shape.exponent) - lowest)
        for shape in shapes
    ]
    denominator = 10 ** (-2 - lowest)
    return [Decimal(n) * CENT for n in largest_remainder_over(numerators, denominator, cents)]


def allocate(amount: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Split `amount` (to the cent) in proportion to `weights`, adding up to it exactly.

    Weights may be of mixed sign as long as they do not sum to zero; all-zero weights split
    evenly.
    """
    if not weights:
        raise ValueError("nothing to allocate to")
    if round_cents(amount) != amount:
        raise ValueError(f"{amount} is not a whole number of cents")
    exact = [Decimal(w) for w in weights]
    total = sum(exact, Decimal(0))
    if total == 0:
        if any(exact):
            raise ValueError("weights sum to zero")
        exact = [Decimal(1)] * len(exact)
        total = Decimal(len(exact))
    parts = [amount * w / total for w in exact]
    shares = split_exact(parts)
    # Exact division may leave a sub-cent drift in sum(parts): fix the total on the last share.
    drift = amount - sum(shares, ZERO)
    if drift:
        biggest = max(range(len(shares)), key=lambda i: abs(exact[i]))
        shares[biggest] += drift
    return shares
