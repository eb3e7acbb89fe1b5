"""The catalogue of technical requests, the form's rules per type, the fees, the workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.calendar import is_working_day
from domain.enums import Distributor, Energy, TechnicalRequestStatus, TechnicalRequestType
from domain.errors import ErrorCode, Refusal
from domain.technical_request_workflow import (
    TRANSITIONS,
    Step,
    allowed_next,
    check_step,
    check_transition,
)
from domain.technical_requests import (
    CATALOGUE,
    Characteristic,
    Characteristics,
    check_characteristics,
    check_point_number,
    earliest_wished_date,
    intervention_fee,
    reference_number,
)

T = TechnicalRequestType
S = TechnicalRequestStatus
MONDAY = date(2026, 5, 11)  # the week of Ascension (Thursday 14 May)


def test_every_type_is_in_the_catalogue_with_the_suppliers_labels() -> None:
    assert set(CATALOGUE) == set(T)
    assert CATALOGUE[T.TEMPORARY_CONNECTION].label == "Branchement provisoire"
    assert CATALOGUE[T.POWER_CHANGE].label == "Changement de puissance"
    assert CATALOGUE[T.EXPRESS_COMMISSIONING].energies == {Energy.ELECTRICITY}
    assert CATALOGUE[T.ADD_SITE_COMMISSIONING].new_site
    assert CATALOGUE[T.ADD_SITE_SUPPLIER_CHANGE].new_site
    assert all(spec.targets_existing_site for c, spec in CATALOGUE.items() if "ADD_SITE" not in c)
    assert all(spec.lead_time_working_days > 0 for spec in CATALOGUE.values())


def test_fees_of_express_commissioning() -> None:
    spec = CATALOGUE[T.EXPRESS_COMMISSIONING]
    assert spec.fees.express == Decimal("45.00")
    assert spec.fees.standard == Decimal("20.00")
    assert spec.fees.express_within_working_days == 2
    # Scheduled Wednesday 13 May: 2 working days later is Monday 18 (Ascension, weekend).
    scheduled = date(2026, 5, 13)
    assert intervention_fee(spec, scheduled_on=scheduled, done_on=date(2026, 5, 18)) == Decimal(
        "45.00"
    )
    assert intervention_fee(spec, scheduled_on=scheduled, done_on=date(2026, 5, 19)) == Decimal(
        "20.00"
    )
    assert (
        intervention_fee(spec, scheduled_on=scheduled, done_on=None, customer_absent=True)
        == spec.fees.wasted_trip
    )
    assert spec.fees.wasted_trip is not None


def _refused_fields(refusals: list[Refusal]) -> dict[str | None, ErrorCode]:
    return {r.field: r.code for r in refusals}


def test_power_change_requires_power_and_dates() -> None:
    spec = CATALOGUE[T.POWER_CHANGE]
    _, refusals = check_characteristics(
        spec, Energy.ELECTRICITY, Characteristics(), submitted_on=MONDAY
    )
    assert _refused_fields(refusals) == {
        "characteristics.desiredPowerKva": ErrorCode.REQUIRED,
        "characteristics.wishedDates": ErrorCode.REQUIRED,
    }
    assert all("Changement de puissance" in r.message for r in refusals)


def test_valid_power_change_is_stored_normalised() -> None:
    spec = CATALOGUE[T.POWER_CHANGE]
    earliest = earliest_wished_date(spec, MONDAY)
    assert is_working_day(earliest)
    stored, refusals = check_characteristics(
        spec,
        Energy.ELECTRICITY,
        Characteristics(desired_power_kva="12,0", wished_dates=[earliest]),
        submitted_on=MONDAY,
    )
    assert refusals == []
    assert stored == {"desired_power_kva": "12.0", "wished_dates": [earliest.isoformat()]}


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        (Characteristics(desired_power_kva="douze"), "desiredPowerKva", ErrorCode.INVALID),
        (Characteristics(desired_power_kva="-3"), "desiredPowerKva", ErrorCode.INVALID),
        (Characteristics(desired_power_kva="12.34"), "desiredPowerKva", ErrorCode.INVALID),
        (Characteristics(wished_dates=[date(2026, 5, 16)]), "wishedDates", ErrorCode.INVALID),
        (Characteristics(wished_dates=[date(2026, 5, 12)]), "wishedDates", ErrorCode.INVALID),
        (Characteristics(description="x"), "description", ErrorCode.INVALID),
        (Characteristics(desired_tariff_option="HP/HC"), "desiredTariffOption", ErrorCode.INVALID),
    ],
)
def test_each_bad_field_is_named(given: Characteristics, field: str, code: ErrorCode) -> None:
    _, refusals = check_characteristics(
        CATALOGUE[T.POWER_CHANGE], Energy.ELECTRICITY, given, submitted_on=MONDAY
    )
    assert _refused_fields(refusals)[f"characteristics.{field}"] is code


def test_wished_date_before_the_lead_time_says_the_earliest() -> None:
    spec = CATALOGUE[T.COMMISSIONING]  # 5 working days: Ascension pushes it to Tuesday 19
    assert earliest_wished_date(spec, MONDAY) == date(2026, 5, 19)
    _, refusals = check_characteristics(
        spec, Energy.GAS, Characteristics(wished_dates=[date(2026, 5, 18)]), submitted_on=MONDAY
    )
    assert "19/05/2026" in refusals[0].message


def test_gas_power_is_not_asked_and_not_accepted() -> None:
    spec = CATALOGUE[T.TEMPORARY_CONNECTION]
    day = earliest_wished_date(spec, MONDAY)
    stored, refusals = check_characteristics(
        spec, Energy.GAS, Characteristics(wished_dates=[day]), submitted_on=MONDAY
    )
    assert refusals == [] and Characteristic.DESIRED_POWER_KVA.value not in stored
    _, refusals = check_characteristics(
        spec,
        Energy.GAS,
        Characteristics(wished_dates=[day], desired_power_kva="6"),
        submitted_on=MONDAY,
    )
    assert _refused_fields(refusals) == {"characteristics.desiredPowerKva": ErrorCode.INVALID}


def test_point_numbers() -> None:
    assert check_point_number("0123 4567 8901 23", "p") == ("01234567890123", None)
    assert check_point_number("123", "p")[1] is not None
    assert check_point_number("", "p")[1].code is ErrorCode.REQUIRED  # type: ignore[union-attr]


def test_reference_number() -> None:
    assert reference_number(2026, 123) == "DT-2026-000123"


# -- the workflow ------------------------------------------------------------------------------


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_transition_table_is_exhaustive(before: S, after: S) -> None:
    expected = {
        (S.SUBMITTED, S.FORWARDED),
        (S.SUBMITTED, S.ABANDONED),
        (S.SUBMITTED, S.REJECTED),
        (S.FORWARDED, S.SCHEDULED),
        (S.FORWARDED, S.ABANDONED),
        (S.FORWARDED, S.REJECTED),
        (S.SCHEDULED, S.SCHEDULED),
        (S.SCHEDULED, S.DONE),
        (S.SCHEDULED, S.ABANDONED),
        (S.SCHEDULED, S.REJECTED),
    }
    assert ((before, after) in expected) == (after in TRANSITIONS[before])
    if (before, after) in expected:
        check_transition(before, after)
    else:
        with pytest.raises(Refusal) as refused:
            check_transition(before, after)
        assert refused.value.code is ErrorCode.INVALID_STATE
        for allowed in allowed_next(before):
            assert allowed.value in refused.value.message


def test_customer_may_only_cancel_before_forwarding() -> None:
    check_transition(S.SUBMITTED, S.ABANDONED, by_customer=True)
    for before in S:
        if before is not S.SUBMITTED:
            with pytest.raises(Refusal):
                check_transition(before, S.ABANDONED, by_customer=True)


def test_steps_need_their_data() -> None:
    assert [r.field for r in check_step(Step(S.FORWARDED), Distributor.GRDF)] == ["caseNumber"]
    assert check_step(Step(S.FORWARDED, case_number="OMEGA123456789"), Distributor.GRDF) == []
    assert check_step(Step(S.FORWARDED, case_number="SGE1234567890"), Distributor.GRDF)
    assert check_step(Step(S.FORWARDED, case_number="SGE1234567890"), Distributor.ENEDIS) == []
    assert [r.field for r in check_step(Step(S.SCHEDULED), Distributor.ENEDIS)] == ["appointmentAt"]
    at = datetime(2026, 5, 20, 8, tzinfo=UTC)
    assert check_step(Step(S.SCHEDULED, appointment_at=at), Distributor.ENEDIS) == []
    assert [r.code for r in check_step(Step(S.REJECTED), Distributor.ENEDIS)] == [
        ErrorCode.REQUIRED
    ]
