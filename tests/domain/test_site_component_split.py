"""The billing file's per-site split in whole cents gives the shares of `allocate`."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.billing import site_component_splitter, split_site_components
from domain.enums import InvoiceComponent as C
from domain.invoicing import allocate

cents = st.integers(min_value=-10_000_000, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@given(
    amount=cents,
    energy=cents.filter(bool),
    capacity=cents.filter(bool),
    saving=cents.filter(bool),
)
def test_the_energy_family_is_split_as_allocate_splits_it(
    amount: Decimal, energy: Decimal, capacity: Decimal, saving: Decimal
) -> None:
    weights = [energy, capacity, saving]
    invoice = {
        C.ENERGY: energy,
        C.CAPACITY: capacity,
        C.ENERGY_SAVING_CERTIFICATES: saving,
    }
    split = site_component_splitter(invoice)({"energy": amount})
    total = sum(weights)
    if total == amount:
        expected = weights
    else:
        expected = allocate(amount, weights if total else [abs(w) for w in weights])
    assert [split[C.ENERGY], split[C.CAPACITY], split[C.ENERGY_SAVING_CERTIFICATES]] == expected
    assert split == split_site_components({"energy": amount}, invoice)
