"""The alert rules on crafted histories, and the properties of detection and resolution."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.alerts import (
    AlertPolicy,
    Cleared,
    Finding,
    InvoiceFacts,
    InvoiceLineFacts,
    MeterFacts,
    OpenAlert,
    ReadingFacts,
    SiteFacts,
    SiteHistory,
    alerts_to_open,
    alerts_to_resolve,
    detect,
    excessive_consumption,
    findings_of,
    is_reactive_energy,
    missing_distributor_reading,
    negative_consumption,
    reactive_energy,
    read_not_billed,
    zero_consumption,
)
from domain.enums import AlertKind, Energy, InvoiceKind, ReadingSource, Segment, SiteStatus

ACTUAL = ReadingSource.DISTRIBUTOR_ACTUAL
ESTIMATED = ReadingSource.DISTRIBUTOR_ESTIMATED
SELF = ReadingSource.SELF_READING
SPECIAL = ReadingSource.SPECIAL
LINKY = MeterFacts(id=1, digits=6, coefficient=Decimal(1), communicating=True)
OLD_METER = MeterFacts(id=1, digits=5, coefficient=Decimal(1), communicating=False)


def site(**changes: object) -> SiteFacts:
    values: dict[str, object] = {
        "id": 7,
        "point_number": "12345678901234",
        "energy": Energy.ELECTRICITY,
        "segment": Segment.C5,
        "status": SiteStatus.ACTIVE,
        "supply_start": date(2024, 1, 1),
        "supply_end": None,
        "car_kwh": 12_000,
        "profile": "PRO1",
        "billing_months": 2,
    }
    values.update(changes)
    return SiteFacts(**values)  # type: ignore[arg-type]


_ids = iter(range(1, 10**9))


def reading(
    on: date,
    index: int,
    source: ReadingSource = ACTUAL,
    *,
    register: str = "BASE",
    meter: int = 1,
    rollover: bool = False,
    rejected: bool = False,
) -> ReadingFacts:
    return ReadingFacts(next(_ids), meter, register, on, index, source, rollover, rejected)


def history(
    readings: list[ReadingFacts],
    *,
    meters: tuple[MeterFacts, ...] = (LINKY,),
    invoices: tuple[InvoiceFacts, ...] = (),
    lines: tuple[InvoiceLineFacts, ...] = (),
    **site_changes: object,
) -> SiteHistory:
    return SiteHistory(site(**site_changes), meters, tuple(readings), invoices, lines)


def invoice(number: str, on: date, *, kind: InvoiceKind = InvoiceKind.INVOICE) -> InvoiceFacts:
    return InvoiceFacts(next(_ids), number, kind, on, on, on, 500)


# -- MISSING_DISTRIBUTOR_READING -----------------------------------------------------------------

LAST = date(2026, 1, 10)


def test_a_monthly_read_meter_may_go_45_days_without_an_actual_reading_not_46() -> None:
    h = history([reading(LAST, 1_000)])
    assert isinstance(missing_distributor_reading(h, today=LAST + timedelta(days=45)), Cleared)
    found = missing_distributor_reading(h, today=LAST + timedelta(days=46))
    assert isinstance(found, Finding)
    assert found.kind is AlertKind.MISSING_DISTRIBUTOR_READING
    assert found.evidence["last_actual_reading_on"] == "2026-01-10"
    assert found.evidence["days_without_actual_reading"] == 46
    assert found.evidence["cadence"] == "MONTHLY"
    assert found.evidence["ways_out"] == ["SPECIAL_READING_REQUEST"]
    assert [r["index"] for r in found.evidence["readings"]] == [1_000]
    assert found.threshold.value == "45" and found.threshold.unit == "jours"
    assert "10/01/2026" in found.message and "46 jours" in found.message
    assert len(found.message) <= 300


def test_a_six_monthly_meter_may_go_7_months_and_offers_a_self_reading() -> None:
    h = history([reading(LAST, 1_000)], meters=(OLD_METER,))
    assert isinstance(missing_distributor_reading(h, today=date(2026, 8, 10)), Cleared)
    found = missing_distributor_reading(h, today=date(2026, 8, 11))
    assert isinstance(found, Finding)
    assert found.evidence["cadence"] == "SIX_MONTHLY"
    assert found.evidence["ways_out"] == ["SELF_READING", "SPECIAL_READING_REQUEST"]
    assert found.threshold.value == "7" and found.threshold.unit == "mois"
    assert "auto-relève" in found.message


def test_a_t3_site_is_read_monthly_even_on_a_conventional_meter_and_takes_no_self_reading() -> None:
    h = history([reading(LAST, 1_000)], meters=(OLD_METER,), segment=Segment.T3, energy=Energy.GAS)
    found = missing_distributor_reading(h, today=LAST + timedelta(days=46))
    assert isinstance(found, Finding)
    assert found.evidence["ways_out"] == ["SPECIAL_READING_REQUEST"]


def test_estimates_and_rejected_self_readings_do_not_count_accepted_ones_do() -> None:
    today = LAST + timedelta(days=60)
    base = [reading(LAST, 1_000)]
    for late in (reading(today, 1_500, ESTIMATED), reading(today, 1_500, SELF, rejected=True)):
        assert isinstance(missing_distributor_reading(history([*base, late]), today=today), Finding)
    cleared = missing_distributor_reading(
        history([*base, reading(today, 1_500, SELF)]), today=today
    )
    assert isinstance(cleared, Cleared) and "(auto-relève)" in cleared.reason


def test_a_site_never_read_counts_from_its_supply_start_and_a_terminated_site_clears() -> None:
    found = missing_distributor_reading(history([]), today=date(2024, 2, 16))
    assert isinstance(found, Finding) and found.evidence["last_actual_reading_on"] is None
    assert missing_distributor_reading(history([]), today=date(2024, 2, 15)) is None
    gone = missing_distributor_reading(
        history([], status=SiteStatus.TERMINATED), today=date(2026, 1, 1)
    )
    assert isinstance(gone, Cleared) and "résilié" in gone.reason


# -- ZERO_CONSUMPTION ----------------------------------------------------------------------------


def test_zero_between_two_actual_readings_on_a_c5_site_is_found_and_resumption_clears() -> None:
    zero = history([reading(date(2025, 11, 30), 4_000), reading(date(2025, 12, 31), 4_000)])
    found = zero_consumption(zero, today=date(2026, 1, 5))
    assert isinstance(found, Finding)
    assert found.evidence["period_start"] == "2025-11-30"
    assert len(found.evidence["readings"]) == 2
    resumed = history([*zero.readings, reading(date(2026, 1, 31), 4_250)])
    cleared = zero_consumption(resumed, today=date(2026, 2, 5))
    assert isinstance(cleared, Cleared) and "250 kWh" in cleared.reason


def test_zero_consumption_ignores_t3_sites_and_periods_outside_the_contract() -> None:
    readings = [reading(date(2025, 11, 30), 4_000), reading(date(2025, 12, 31), 4_000)]
    assert zero_consumption(history(readings, segment=Segment.T3), today=date(2026, 1, 5)) is None
    started_late = history(readings, supply_start=date(2025, 12, 15))
    assert zero_consumption(started_late, today=date(2026, 1, 5)) is None


def test_an_estimate_between_two_actual_readings_is_not_compared() -> None:
    h = history(
        [
            reading(date(2025, 11, 30), 4_000),
            reading(date(2025, 12, 15), 4_000, ESTIMATED),
            reading(date(2025, 12, 31), 4_300),
        ]
    )
    assert isinstance(zero_consumption(h, today=date(2026, 1, 5)), Cleared)


# -- NEGATIVE_CONSUMPTION ------------------------------------------------------------------------


def test_an_actual_index_below_the_previous_one_is_negative_consumption() -> None:
    h = history([reading(date(2025, 11, 30), 4_000), reading(date(2025, 12, 31), 3_900)])
    found = negative_consumption(h, today=date(2026, 1, 5))
    assert isinstance(found, Finding)
    assert found.evidence["consumption_by_register"] == {"BASE": -100}


def test_a_recorded_rollover_or_a_regularised_estimate_is_not_negative_consumption() -> None:
    rolled = history(
        [reading(date(2025, 11, 30), 999_900), reading(date(2025, 12, 31), 40, rollover=True)]
    )
    assert isinstance(negative_consumption(rolled, today=date(2026, 1, 5)), Cleared)
    # an estimate ran ahead of the actual index: the regularisation, not an anomaly
    regularised = history(
        [
            reading(date(2025, 10, 31), 4_000),
            reading(date(2025, 11, 30), 4_600, ESTIMATED),
            reading(date(2025, 12, 31), 4_400),
        ]
    )
    assert isinstance(negative_consumption(regularised, today=date(2026, 1, 5)), Cleared)


def test_a_meter_change_compares_the_new_meter_only() -> None:
    new_meter = MeterFacts(id=2, digits=6, coefficient=Decimal(1), communicating=True)
    old = MeterFacts(id=1, digits=6, coefficient=Decimal(1), communicating=True,
                     removed_on=date(2025, 12, 1))  # fmt: skip
    h = history(
        [
            reading(date(2025, 11, 30), 80_000, meter=1),
            reading(date(2025, 12, 1), 80_010, SPECIAL, meter=1),
            reading(date(2025, 12, 1), 5, SPECIAL, meter=2),
            reading(date(2025, 12, 31), 900, meter=2),
        ],
        meters=(old, new_meter),
    )
    assert isinstance(negative_consumption(h, today=date(2026, 1, 5)), Cleared)


# -- EXCESSIVE_CONSUMPTION -----------------------------------------------------------------------


def test_excessive_consumption_is_measured_against_the_car_pro_rated_by_the_profile() -> None:
    start, end = date(2025, 12, 31), date(2026, 1, 31)
    policy = AlertPolicy(excess_factor=Fraction(2), excess_floor_kwh=200)
    ok = history([reading(start, 10_000), reading(end, 11_500)])
    assert isinstance(excessive_consumption(ok, today=end, policy=policy), Cleared)
    found = excessive_consumption(
        history([reading(start, 10_000), reading(end, 14_000)]), today=end, policy=policy
    )
    assert isinstance(found, Finding)
    # PRO1 weighs January 105 of 1,120: 12,000 × 105 / 1,120 = 1,125 kWh; 2 × 1,125 + 200
    assert found.evidence["expected_kwh"] == 1_125
    assert found.evidence["limit_kwh"] == 2_450
    assert found.evidence["consumption_kwh"] == 4_000
    assert found.threshold.value == "2450"


def test_the_excess_factor_is_data() -> None:
    h = history([reading(date(2025, 12, 31), 10_000), reading(date(2026, 1, 31), 14_000)])
    assert isinstance(
        excessive_consumption(
            h, today=date(2026, 2, 1), policy=AlertPolicy(excess_factor=Fraction(5))
        ),
        Cleared,
    )


def test_gas_consumption_counts_in_kwh_through_the_meter_coefficient() -> None:
    gas = MeterFacts(id=1, digits=5, coefficient=Decimal("11.2"), communicating=True)
    h = history(
        [reading(date(2025, 6, 30), 1_000), reading(date(2025, 7, 31), 1_300)],
        meters=(gas,),
        energy=Energy.GAS,
        segment=Segment.T2,
        profile="P012",
        car_kwh=20_000,
    )
    found = excessive_consumption(h, today=date(2025, 8, 1))
    assert isinstance(found, Finding) and found.evidence["consumption_kwh"] == 3_360


# -- REACTIVE_ENERGY -----------------------------------------------------------------------------


def _line(invoice_id: int, label: str, amount: str, component: str = "TRANSPORT",
          unit: str | None = None) -> InvoiceLineFacts:  # fmt: skip
    return InvoiceLineFacts(next(_ids), invoice_id, component, label, unit, None, Decimal(amount))


def test_reactive_energy_on_the_last_invoice_of_a_c4_site_is_found() -> None:
    first, last = invoice("FA1", date(2025, 11, 10)), invoice("FA2", date(2025, 12, 10))
    lines = (
        _line(first.id, "Énergie réactive", "40.00"),
        _line(last.id, "Consommation d'électricité", "900.00", "ENERGY"),
        _line(last.id, "Dépassement d'énergie réactive", "12.50"),
    )
    h = history([], invoices=(first, last), lines=lines, segment=Segment.C4)
    found = reactive_energy(h, today=date(2025, 12, 20))
    assert isinstance(found, Finding)
    assert found.evidence["invoice"]["number"] == "FA2"
    assert [line["amount"] for line in found.evidence["lines"]] == ["12.50"]
    assert "12,50 €" in found.message


def test_reactive_energy_clears_on_an_invoice_without_it_and_ignores_c5_sites() -> None:
    first, last = invoice("FA1", date(2025, 11, 10)), invoice("FA2", date(2025, 12, 10))
    lines = (_line(first.id, "Énergie réactive", "40.00"),)
    c4 = history([], invoices=(first, last), lines=lines, segment=Segment.C4)
    assert isinstance(reactive_energy(c4, today=date(2025, 12, 20)), Cleared)
    c5 = history([], invoices=(first,), lines=lines)
    assert reactive_energy(c5, today=date(2025, 12, 20)) is None


def test_a_line_is_reactive_energy_by_component_unit_or_label() -> None:
    assert is_reactive_energy(_line(1, "Composante X", "1", "REACTIVE_ENERGY"))
    assert is_reactive_energy(_line(1, "Composante X", "1", unit="kVArh"))
    assert is_reactive_energy(_line(1, "ENERGIE REACTIVE", "1"))
    assert not is_reactive_energy(_line(1, "Énergie active", "1", "ENERGY", "kWh"))


# -- READ_NOT_BILLED -----------------------------------------------------------------------------


def test_an_actual_reading_unbilled_after_its_cycle_and_the_grace_is_found() -> None:
    read_on = date(2025, 10, 31)  # bimonthly account: due by 31/12 + 25 days = 25/01/2026
    h = history(
        [reading(date(2025, 8, 31), 1_000), reading(read_on, 1_500)],
        invoices=(invoice("FA1", date(2025, 8, 31)),),
    )
    assert isinstance(read_not_billed(h, today=date(2026, 1, 25)), Cleared)
    found = read_not_billed(h, today=date(2026, 1, 26))
    assert isinstance(found, Finding)
    assert found.evidence["oldest_unbilled_reading_on"] == "2025-10-31"
    assert found.evidence["billed_until"] == "2025-08-31"
    assert found.evidence["deadline"] == "2026-01-25"
    billed = history(list(h.readings), invoices=(*h.invoices, invoice("FA2", date(2025, 12, 31))))
    cleared = read_not_billed(billed, today=date(2026, 1, 26))
    assert isinstance(cleared, Cleared) and "FA2" in cleared.reason


def test_a_cancellation_does_not_bill_a_reading() -> None:
    h = history(
        [reading(date(2025, 10, 31), 1_500)],
        invoices=(invoice("AN1", date(2025, 12, 31), kind=InvoiceKind.CANCELLATION),),
    )
    assert isinstance(read_not_billed(h, today=date(2026, 3, 1)), Finding)


# -- resolution ------------------------------------------------------------------------------


def test_open_alerts_resolve_when_their_cause_is_cleared_and_stay_otherwise() -> None:
    h = history([reading(LAST, 1_000), reading(LAST + timedelta(days=40), 1_300)])
    outcomes = {(7, k): o for k, o in detect(h, today=LAST + timedelta(days=41)).items()}
    open_alerts = [
        OpenAlert(1, 7, AlertKind.MISSING_DISTRIBUTOR_READING),
        OpenAlert(2, 7, AlertKind.REACTIVE_ENERGY),  # the rule cannot tell on a C5 site
    ]
    resolved = alerts_to_resolve(open_alerts, outcomes)
    assert [(r.alert_id, r.kind) for r in resolved] == [(1, AlertKind.MISSING_DISTRIBUTOR_READING)]
    assert resolved[0].reason.startswith("Relevé réel reçu le 19/02/2026")


# -- properties ----------------------------------------------------------------------------------

SOURCES = st.sampled_from([ACTUAL, ACTUAL, ESTIMATED, SELF, SPECIAL])


@st.composite
def histories(draw: st.DrawFn) -> tuple[SiteHistory, date]:
    segment = draw(st.sampled_from([Segment.C5, Segment.C4, Segment.T2, Segment.T3]))
    communicating = draw(st.booleans())
    meter = MeterFacts(1, 6, Decimal(1), communicating)
    day, index, readings = date(2024, 1, 1), draw(st.integers(0, 999_000)), []
    for _ in range(draw(st.integers(0, 8))):
        day += timedelta(days=draw(st.integers(1, 120)))
        index = (index + draw(st.integers(-300, 3_000))) % 1_000_000
        readings.append(
            reading(
                day,
                index,
                draw(SOURCES),
                rollover=draw(st.booleans()),
                rejected=draw(st.booleans()),
            )
        )
    invoices = tuple(
        invoice(f"FA{n}", date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 900))))
        for n in range(draw(st.integers(0, 3)))
    )
    lines = tuple(
        _line(i.id, draw(st.sampled_from(["Énergie réactive", "Fourniture"])), "10.00")
        for i in invoices
    )
    h = history(
        readings,
        meters=(meter,),
        invoices=invoices,
        lines=lines,
        segment=segment,
        energy=Energy.GAS if segment in (Segment.T2, Segment.T3) else Energy.ELECTRICITY,
        status=draw(st.sampled_from(list(SiteStatus))),
        car_kwh=draw(st.integers(0, 50_000)),
    )
    return h, day + timedelta(days=draw(st.integers(0, 400)))


@settings(max_examples=200, deadline=None)
@given(histories())
def test_detection_run_twice_opens_nothing_new(case: tuple[SiteHistory, date]) -> None:
    h, today = case
    first = detect(h, today=today)
    opened = alerts_to_open(findings_of(first.values()), [])
    stored = [OpenAlert(n, f.site_id, f.kind) for n, f in enumerate(opened)]
    second = detect(h, today=today)
    assert second == first
    assert alerts_to_open(findings_of(second.values()), stored) == []
    # nothing just opened resolves on the same facts
    outcomes = {(7, k): o for k, o in second.items()}
    assert alerts_to_resolve(stored, outcomes) == []


@settings(max_examples=200, deadline=None)
@given(histories(), st.lists(st.sampled_from(list(AlertKind)), unique=True))
def test_resolution_is_idempotent(case: tuple[SiteHistory, date], kinds: list[AlertKind]) -> None:
    h, today = case
    outcomes = {(7, k): o for k, o in detect(h, today=today).items()}
    stored = [OpenAlert(n, 7, kind) for n, kind in enumerate(kinds)]
    resolved = alerts_to_resolve(stored, outcomes)
    assert all(isinstance(outcomes[(7, r.kind)], Cleared) for r in resolved)
    still_open = [a for a in stored if a.id not in {r.alert_id for r in resolved}]
    assert alerts_to_resolve(still_open, outcomes) == []
    # what stays open is exactly what is still found or cannot be told
    assert all(not isinstance(outcomes.get((7, a.kind)), Cleared) for a in still_open)
