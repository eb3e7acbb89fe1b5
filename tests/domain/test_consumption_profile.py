from fractions import Fraction

import pytest

from domain.consumption_profile import (
    PROFILES,
    expected_consumption,
    monthly_share,
    monthly_shares,
)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_shares_sum_to_one(profile: str) -> None:
    shares = monthly_shares(profile)
    assert len(shares) == 12 and sum(shares) == 1 and all(s > 0 for s in shares)


def test_gas_heating_is_strongly_seasonal_and_electricity_mildly() -> None:
    assert monthly_share("P012", 1) > 10 * monthly_share("P012", 7)
    assert monthly_share("RES1", 1) < 2 * monthly_share("RES1", 7)


def test_expected_consumption_over_a_year_is_the_car() -> None:
    assert expected_consumption(12_000, "P013", list(range(1, 13))) == Fraction(12_000)


def test_unknown_profile_and_month() -> None:
    with pytest.raises(ValueError):
        monthly_shares("XYZ")
    with pytest.raises(ValueError):
        monthly_share("P011", 13)
