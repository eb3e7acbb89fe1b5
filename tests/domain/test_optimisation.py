"""The optimisation study against hand-computed cases, and the rule that a proposal is never
a loss (hypothesis)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.consumption import MeterBasis, ReadingPoint
from domain.enums import Energy, ReadingSource
from domain.optimisation import (
    ConsumptionBasis,
    OptionPrice,
    SiteToStudy,
    TariffGrid,
    YearlyConsumption,
    answer_deadline,
    grid_in_force,
    in_second_year_of_supply,
    study_site,
    worth_proposing,
    yearly_consumption,
)

GAS = TariffGrid(
    energy=Energy.GAS,
    version="TEST-GAS-2026",
    valid_from=date(2026, 2, 1),
    options=(
        OptionPrice("T1", D("50"), {"BASE": D("0.03")}, D("0.2")),
        OptionPrice("T2", D("180"), {"BASE": D("0.01")}, D("0.2")),
        OptionPrice("T3", D("1200"), {"BASE": D("0.007")}, D("0.2")),
    ),
    change_fee=D("40"),
    special_reading_fee=D("25"),
)
ELECTRICITY = TariffGrid(
    energy=Energy.ELECTRICITY,
    version="TEST-C5-2026",
    valid_from=date(2026, 2, 1),
    options=(
        OptionPrice("BASE", D("100"), {"BASE": D("0.14")}, D("0.15"), D("9")),
        OptionPrice("HP/HC", D("120"), {"HP": D("0.15"), "HC": D("0.11")}, D("0.15"), D("9")),
        OptionPrice("BASE", D("150"), {"BASE": D("0.14")}, D("0.15"), D("12")),
    ),
    change_fee=D("20"),
    special_reading_fee=D("28"),
    off_peak_share=D("0.38"),
)


def car(kwh: int) -> YearlyConsumption:
    return YearlyConsumption({"BASE": kwh}, ConsumptionBasis.CAR)


def test_a_t3_site_consuming_like_a_t2_is_proposed_t2_with_gains_computed_by_hand() -> None:
    # T1: 50 × 1.2 + 0.03 × 80,000 = 2,460; T2: 180 × 1.2 + 800 = 1,016; T3: 1,440 + 560 = 2,000.
    study = study_site(SiteToStudy(Energy.GAS, "T3", None, 80_000), car(80_000), GAS)
    assert study is not None
    assert {c.option: c.yearly_cost for c in study.options} == {
        "T1": D("2460.00"),
        "T2": D("1016.00"),
        "T3": D("2000.00"),
    }
    assert (study.current.option, study.best.option) == ("T3", "T2")
    assert study.gross_gain == D("984.00")
    assert study.fees == D("65.00")
    assert study.net_gain == D("919.00")
    assert worth_proposing(study, D("500"))
    assert worth_proposing(study, D("919.00"))  # at the threshold: kept
    assert not worth_proposing(study, D("919.01"))


def test_a_site_already_on_its_best_option_gets_nothing() -> None:
    study = study_site(SiteToStudy(Energy.GAS, "T2", None, 80_000), car(80_000), GAS)
    assert study is not None and not study.proposes_change
    assert study.gross_gain == 0 and study.net_gain == 0
    assert not worth_proposing(study, D("0"))


def test_a_tie_keeps_the_current_option() -> None:
    # T1 and T2 cost the same at 60 + 0.03 k = 216 + 0.01 k, k = 7,800 kWh.
    study = study_site(SiteToStudy(Energy.GAS, "T1", None, 7_800), car(7_800), GAS)
    assert study is not None
    assert study.current.yearly_cost == study.best.yearly_cost == D("294.00")
    assert study.best.option == "T1" and not study.proposes_change


def test_electricity_compares_options_at_the_same_power_with_the_measured_split() -> None:
    measured = YearlyConsumption({"HP": 6_000, "HC": 4_000}, ConsumptionBasis.READINGS)
    site = SiteToStudy(Energy.ELECTRICITY, "BASE", D("9"), 9_000)
    study = study_site(site, measured, ELECTRICITY)
    assert study is not None
    # BASE 9 kVA: 100 × 1.15 + 0.14 × 10,000 = 1,515; HP/HC: 138 + 900 + 440 = 1,478.
    # The 12 kVA option is not offered (another power).
    assert [(c.option, c.yearly_cost) for c in study.options] == [
        ("BASE", D("1515.00")),
        ("HP/HC", D("1478.00")),
    ]
    assert study.best.label == "HP/HC 9 kVA"
    assert study.gross_gain == D("37.00") and study.net_gain == D("-11.00")
    assert not worth_proposing(study, D("0"))  # the fees eat the first year's gain


def test_a_total_is_split_by_the_grids_off_peak_share() -> None:
    site = SiteToStudy(Energy.ELECTRICITY, "BASE", D("9"), 10_000)
    study = study_site(site, car(10_000), ELECTRICITY)
    assert study is not None
    # HP/HC: 138 + 0.15 × 6,200 + 0.11 × 3,800 = 1,486.
    assert study.best.yearly_cost == D("1486.00") and study.gross_gain == D("29.00")


def test_an_option_missing_from_the_grid_is_not_studied() -> None:
    assert study_site(SiteToStudy(Energy.GAS, "T4", None, 1), car(1), GAS) is None
    site = SiteToStudy(Energy.ELECTRICITY, "BASE", D("36"), 1)
    assert study_site(site, car(1), ELECTRICITY) is None


def _reading(
    day: date, index: int, source: ReadingSource = ReadingSource.DISTRIBUTOR_ACTUAL
) -> ReadingPoint:
    return ReadingPoint(1, "BASE", day, index, source)


METER = [MeterBasis(1, 6, D("1"))]


def test_a_year_of_actual_readings_replaces_the_car() -> None:
    readings = [
        _reading(date(2025, 10, 31), 1_000),
        _reading(date(2026, 1, 31), 9_999, ReadingSource.SUPPLIER_ESTIMATED),  # ignored
        _reading(date(2026, 4, 30), 4_000),
        _reading(date(2026, 10, 31), 9_000),
    ]
    used = yearly_consumption(20_000, readings, METER, as_of=date(2026, 12, 1))
    assert used.basis is ConsumptionBasis.READINGS
    assert used.total_kwh == 8_000  # 181 + 184 = 365 days
    assert (used.period_from, used.period_to) == (date(2025, 10, 31), date(2026, 10, 31))


def test_readings_covering_part_of_a_year_are_brought_to_365_days() -> None:
    readings = [
        _reading(date(2025, 11, 30), 1_000),
        _reading(date(2026, 10, 31), 12_000),  # 335 days, 11,000 kWh
    ]
    used = yearly_consumption(20_000, readings, METER, as_of=date(2026, 12, 1))
    assert used.basis is ConsumptionBasis.READINGS
    assert used.total_kwh == round(11_000 * 365 / 335)


def test_too_few_actual_readings_fall_back_on_the_car() -> None:
    readings = [_reading(date(2026, 4, 30), 4_000), _reading(date(2026, 10, 31), 9_000)]
    used = yearly_consumption(20_000, readings, METER, as_of=date(2026, 12, 1))
    assert used.basis is ConsumptionBasis.CAR and used.total_kwh == 20_000
    assert yearly_consumption(7, [], METER, as_of=date(2026, 12, 1)).total_kwh == 7


def test_readings_after_the_study_day_do_not_count() -> None:
    readings = [_reading(date(2025, 10, 31), 1_000), _reading(date(2026, 10, 31), 9_000)]
    used = yearly_consumption(20_000, readings, METER, as_of=date(2026, 10, 30))
    assert used.basis is ConsumptionBasis.CAR


def test_the_grid_in_force_is_the_latest_not_after_the_day() -> None:
    older = TariffGrid(Energy.GAS, "OLD", date(2025, 2, 1), GAS.options, D(0), D(0))
    grids = [older, GAS, ELECTRICITY]
    assert grid_in_force(grids, Energy.GAS, date(2026, 1, 31)) is older
    assert grid_in_force(grids, Energy.GAS, date(2026, 2, 1)) is GAS
    assert grid_in_force(grids, Energy.GAS, date(2025, 1, 1)) is None


def test_deadline_and_second_year_of_supply() -> None:
    assert answer_deadline(date(2026, 12, 1)) == date(2026, 12, 31)
    assert in_second_year_of_supply(date(2025, 12, 1), date(2026, 12, 1))
    assert not in_second_year_of_supply(date(2025, 12, 2), date(2026, 12, 1))


_amount = st.decimals(min_value=0, max_value=50_000, places=2)
_price = st.decimals(min_value=0, max_value=D("0.2"), places=6)
_rate = st.decimals(min_value=0, max_value=D("0.3"), places=4)


@st.composite
def _grids_and_sites(draw: st.DrawFn) -> tuple[TariffGrid, SiteToStudy, YearlyConsumption]:
    names = draw(
        st.lists(st.sampled_from(["T1", "T2", "T3", "T4"]), min_size=1, max_size=4, unique=True)
    )
    options = tuple(
        OptionPrice(n, draw(_amount), {"BASE": draw(_price)}, draw(_rate)) for n in names
    )
    grid = TariffGrid(Energy.GAS, "P", date(2026, 1, 1), options, draw(_amount), draw(_amount))
    kwh = draw(st.integers(min_value=0, max_value=20_000_000))
    site = SiteToStudy(Energy.GAS, draw(st.sampled_from(names)), None, kwh)
    return grid, site, car(kwh)


@settings(max_examples=300, deadline=None)
@given(_grids_and_sites(), st.decimals(min_value=-1_000, max_value=5_000, places=2))
def test_no_proposed_option_costs_more_than_the_current_one(
    case: tuple[TariffGrid, SiteToStudy, YearlyConsumption], threshold: D
) -> None:
    grid, site, consumption = case
    study = study_site(site, consumption, grid)
    assert study is not None
    assert study.best.yearly_cost <= study.current.yearly_cost
    assert all(study.best.yearly_cost <= c.yearly_cost for c in study.options)
    if worth_proposing(study, threshold):
        assert study.best.yearly_cost < study.current.yearly_cost
        assert study.net_gain >= threshold
        assert study.net_gain == study.gross_gain - study.fees
