"""The self-reading rules: one test per rule, then properties over random submissions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.enums import MeterKind, Register, Segment, SiteStatus
from domain.readings import consumption_between, to_kwh
from domain.self_reading import (
    DEFAULT_POLICY,
    LastReading,
    MeterFacts,
    Rule,
    SelfReadingPolicy,
    SiteFacts,
    Submission,
    Verdict,
    allowed_kwh,
    check_self_reading,
    counts_in_next_billing_cycle,
    expected_kwh,
    self_reading_possible,
)

SITE = SiteFacts(segment=Segment.C5, status=SiteStatus.ACTIVE, car_kwh=12_000, profile="PRO1")
METER = MeterFacts(
    kind=MeterKind.ELECTROMECHANICAL,
    is_communicating=False,
    digits=5,
    registers=(Register.HP, Register.HC),
    installed_on=date(2020, 1, 1),
)
LAST = {
    Register.HP: LastReading(10_000, date(2026, 1, 31)),
    Register.HC: LastReading(5_000, date(2026, 1, 31)),
}
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def check(
    entries: list[tuple[Register, str]] | None = None,
    *,
    read_on: date = date(2026, 3, 9),
    confirmed: bool = True,
    site: SiteFacts = SITE,
    meter: MeterFacts = METER,
    last: dict[Register, LastReading] | None = None,
    now: datetime = NOW,
    self_read_days: frozenset[date] = frozenset(),
    submitted_days: frozenset[date] = frozenset(),
) -> Verdict:
    return check_self_reading(
        site=site,
        meter=meter,
        submission=Submission(
            read_on=read_on,
            entries=entries
            if entries is not None
            else [(Register.HP, "10500"), (Register.HC, "5200")],
            confirmed=confirmed,
            self_read_days=self_read_days,
            submitted_days=submitted_days,
        ),
        last_readings=LAST if last is None else last,
        received_at=now,
    )


def codes(verdict: Verdict) -> set[str]:
    return {v.code for v in verdict.violations}


def test_plausible_indexes_are_accepted_with_their_consumption() -> None:
    verdict = check()
    assert verdict.ok
    assert [(a.register, a.index, a.rollover, a.consumption) for a in verdict.accepted] == [
        (Register.HP, 10_500, False, 500),
        (Register.HC, 5_200, False, 200),
    ]


def test_communicating_meters_take_no_self_reading() -> None:
    linky = MeterFacts(MeterKind.LINKY, True, 6, (Register.BASE,))
    assert codes(check(meter=linky)) == {Rule.METER_COMMUNICATING}
    # a communicating kind even if not flagged, and a flagged meter of any kind
    unflagged = MeterFacts(MeterKind.GAZPAR, False, 5, (Register.BASE,))
    assert codes(check(meter=unflagged)) == {Rule.METER_COMMUNICATING}
    flagged = MeterFacts(MeterKind.GAS_CONVENTIONAL, True, 5, (Register.BASE,))
    assert codes(check(meter=flagged)) == {Rule.METER_COMMUNICATING}


def test_segments_read_monthly_take_no_self_reading() -> None:
    t3 = SiteFacts(Segment.T3, SiteStatus.ACTIVE, 500_000, "P016")
    assert codes(check(site=t3)) == {Rule.METER_COMMUNICATING}


def test_a_terminated_contract_takes_no_self_reading() -> None:
    ended = SiteFacts(Segment.C5, SiteStatus.TERMINATED, 12_000, "PRO1")
    assert codes(check(site=ended)) == {Rule.SITE_TERMINATED}
    terminating = SiteFacts(Segment.C5, SiteStatus.TERMINATING, 12_000, "PRO1")
    assert check(site=terminating).ok


def test_self_reading_possible_says_what_the_sheet_shows() -> None:
    assert self_reading_possible(SITE, METER)
    assert not self_reading_possible(SITE, MeterFacts(MeterKind.LINKY, True, 6, (Register.BASE,)))


def test_the_figures_must_be_confirmed() -> None:
    verdict = check(confirmed=False)
    assert codes(verdict) == {Rule.NOT_CONFIRMED}
    assert verdict.violations[0].field == "confirmed"


def test_one_index_per_register_none_missing() -> None:
    assert codes(check([(Register.HP, "10500")])) == {Rule.REGISTERS_MISMATCH}


def test_one_index_per_register_none_extra_or_twice() -> None:
    extra = [(Register.HP, "10500"), (Register.HC, "5200"), (Register.BASE, "1")]
    assert codes(check(extra)) == {Rule.REGISTERS_MISMATCH}
    twice = [(Register.HP, "10500"), (Register.HP, "10600"), (Register.HC, "5200")]
    assert codes(check(twice)) == {Rule.REGISTERS_MISMATCH}


def test_an_index_is_a_whole_non_negative_number() -> None:
    for text in ("-5", "12,5", "12.5", "", "abc", "1e3", "١٢٣"):
        verdict = check([(Register.HP, text), (Register.HC, "5200")])
        assert codes(verdict) == {Rule.INDEX_NOT_A_NUMBER}, text
        assert verdict.violations[0].register is Register.HP
    # spaces and leading zeros as on the meter are fine
    assert check([(Register.HP, " 10 500 "), (Register.HC, "05200")]).ok


def test_an_index_has_at_most_the_meters_digits() -> None:
    verdict = check([(Register.HP, "100000"), (Register.HC, "5200")])
    assert codes(verdict) == {Rule.TOO_MANY_DIGITS}
    assert check([(Register.HP, "010500"), (Register.HC, "5200")]).ok  # a leading zero


def test_the_reading_date_is_not_in_the_future_in_paris() -> None:
    # 23:30 UTC on 9 March is already 10 March in Paris
    late = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    assert check(read_on=date(2026, 3, 10), now=late).ok
    assert codes(check(read_on=date(2026, 3, 11), now=late)) == {Rule.DATE_IN_FUTURE}


def test_the_reading_date_is_not_before_the_last_reading() -> None:
    assert codes(check(read_on=date(2026, 1, 30))) == {Rule.DATE_BEFORE_LAST_READING}
    same_day = check(
        [(Register.HP, "10000"), (Register.HC, "5000")],
        read_on=date(2026, 1, 31),
    )
    assert same_day.ok


def test_the_reading_date_is_not_before_the_meter_was_installed() -> None:
    verdict = check(read_on=date(2019, 12, 31), last={})
    assert codes(verdict) == {Rule.DATE_BEFORE_LAST_READING}


def test_one_self_reading_per_site_and_day() -> None:
    dated = check(self_read_days=frozenset({date(2026, 3, 9)}))
    assert codes(dated) == {Rule.ALREADY_SUBMITTED}
    received_today = check(submitted_days=frozenset({date(2026, 3, 10)}))
    assert codes(received_today) == {Rule.ALREADY_SUBMITTED}


def test_an_index_below_the_last_one_is_refused_unless_the_meter_went_round() -> None:
    verdict = check([(Register.HP, "9000"), (Register.HC, "5200")])
    assert codes(verdict) == {Rule.INDEX_BELOW_LAST}
    assert verdict.violations[0].register is Register.HP


def test_a_plausible_rollover_is_accepted_and_flagged() -> None:
    near_max = {
        Register.HP: LastReading(99_900, date(2026, 1, 31)),
        Register.HC: LastReading(5_000, date(2026, 1, 31)),
    }
    verdict = check([(Register.HP, "00150"), (Register.HC, "5100")], last=near_max)
    assert verdict.ok
    hp = verdict.accepted[0]
    assert (hp.rollover, hp.consumption) == (True, 250)


def test_a_consumption_far_above_the_car_asks_to_check_the_figures() -> None:
    # given 37 days at a CAR of 12,000 kWh: about 1,200 kWh expected, 3x + 500 allowed
    limit = allowed_kwh(SITE, date(2026, 1, 31), date(2026, 3, 9))
    assert 3_500 < limit < 5_000
    verdict = check([(Register.HP, "13000"), (Register.HC, "7000")])  # 5,000 kWh
    assert codes(verdict) == {Rule.CHECK_FIGURES}
    assert "vérifiez" in verdict.violations[0].message


def test_gas_figures_are_compared_in_kwh() -> None:
    gas_site = SiteFacts(Segment.T2, SiteStatus.ACTIVE, 30_000, "P012")
    gas_meter = MeterFacts(
        MeterKind.GAS_CONVENTIONAL, False, 5, (Register.BASE,), coefficient=Decimal("11.2")
    )
    last = {Register.BASE: LastReading(1_000, date(2026, 1, 31))}
    # February-March of P012 at 30 MWh: ~4,800 kWh expected, ~430 m³
    assert check([(Register.BASE, "1400")], site=gas_site, meter=gas_meter, last=last).ok
    too_much = check([(Register.BASE, "3000")], site=gas_site, meter=gas_meter, last=last)
    assert codes(too_much) == {Rule.CHECK_FIGURES}


def test_the_expected_consumption_follows_the_monthly_profile() -> None:
    # a whole year from the CAR, a whole month from its share
    assert expected_kwh(SITE, date(2025, 12, 31), date(2026, 12, 31)) == 12_000
    january = expected_kwh(SITE, date(2025, 12, 31), date(2026, 1, 31))
    assert january == Fraction(
        12_000 * 105, sum((105, 98, 100, 94, 90, 88, 80, 72, 92, 98, 100, 103))
    )
    assert expected_kwh(SITE, date(2026, 1, 31), date(2026, 1, 31)) == 0
    # an unknown profile spreads the CAR evenly
    odd = SiteFacts(Segment.C5, SiteStatus.ACTIVE, 1_200, "XYZ")
    assert expected_kwh(odd, date(2026, 2, 28), date(2026, 3, 31)) == 100


def test_the_factor_and_floor_are_parameters() -> None:
    strict = SelfReadingPolicy(excess_factor=Fraction(1), excess_floor_kwh=0)
    assert allowed_kwh(SITE, date(2026, 1, 31), date(2026, 3, 9), strict) < allowed_kwh(
        SITE, date(2026, 1, 31), date(2026, 3, 9)
    )


def test_a_meter_without_previous_reading_takes_any_index() -> None:
    verdict = check([(Register.HP, "42"), (Register.HC, "7")], last={})
    assert verdict.ok
    assert all(a.consumption is None for a in verdict.accepted)


def test_several_rules_are_reported_at_once() -> None:
    verdict = check([(Register.HP, "abc")], confirmed=False, read_on=date(2027, 1, 1))
    assert codes(verdict) == {
        Rule.NOT_CONFIRMED,
        Rule.REGISTERS_MISMATCH,
        Rule.INDEX_NOT_A_NUMBER,
        Rule.DATE_IN_FUTURE,
    }


def test_received_before_the_20th_in_paris_counts_in_the_next_billing_cycle() -> None:
    assert counts_in_next_billing_cycle(datetime(2026, 3, 19, 21, 59, tzinfo=UTC))  # 22:59 Paris
    # 23:30 UTC on the 19th is already the 20th in Paris (winter time, UTC+1)
    assert not counts_in_next_billing_cycle(datetime(2026, 3, 19, 23, 30, tzinfo=UTC))
    # summer time (UTC+2): 22:30 UTC on 19 June is the 20th in Paris
    assert not counts_in_next_billing_cycle(datetime(2026, 6, 19, 22, 30, tzinfo=UTC))
    assert counts_in_next_billing_cycle(datetime(2026, 6, 1, 0, 0, tzinfo=UTC))
    assert not counts_in_next_billing_cycle(datetime(2026, 6, 25, tzinfo=UTC))
    assert counts_in_next_billing_cycle(datetime(2026, 6, 22, tzinfo=UTC), cutoff_day=25)
    assert DEFAULT_POLICY.billing_cutoff_day == 20


# -- properties -----------------------------------------------------------------------------

index_text = st.one_of(
    st.integers(min_value=0, max_value=2 * 10**6).map(str),
    st.integers(min_value=0, max_value=99_999).map(lambda v: f"{v:05d}"),
    st.text(max_size=8),
)
# A step: days since the last reading, then either the deltas to add to each register's last
# index (wrapping like the meter; negative = a lower figure) or entries typed at random, whether
# the figures are confirmed, and how many hours after the reading date it is received.
deltas = st.tuples(
    st.integers(min_value=-2_000, max_value=12_000), st.integers(min_value=-2_000, max_value=12_000)
)
random_entries = st.lists(
    st.tuples(st.sampled_from([Register.HP, Register.HC, Register.BASE]), index_text), max_size=4
)
step = st.tuples(
    st.integers(min_value=-20, max_value=90),
    st.one_of(deltas, random_entries),
    st.booleans() | st.just(True),
    st.integers(min_value=0, max_value=48),
)


@settings(max_examples=300, deadline=None)
@given(
    digits=st.integers(min_value=4, max_value=7),
    start=st.integers(min_value=0, max_value=10**7),
    car=st.integers(min_value=0, max_value=200_000),
    steps=st.lists(step, min_size=1, max_size=12),
)
def test_random_submissions_never_break_a_rule_once_accepted(
    digits: int, start: int, car: int, steps: list[tuple[int, object, bool, int]]
) -> None:
    site = SiteFacts(Segment.C5, SiteStatus.ACTIVE, car, "RES1")
    meter = MeterFacts(
        MeterKind.ELECTROMECHANICAL,
        False,
        digits,
        (Register.HP, Register.HC),
        installed_on=date(2020, 1, 1),
    )
    modulus = 10**digits
    last = {
        Register.HP: LastReading(start % modulus, date(2025, 1, 1)),
        Register.HC: LastReading((start // 3) % modulus, date(2025, 1, 1)),
    }
    read_days: set[date] = set()
    received_days: set[date] = set()
    for days, typed, confirmed, hours in steps:
        previous_day = max(r.read_on for r in last.values())
        read_on = previous_day + timedelta(days=days)
        received_at = datetime.combine(read_on, datetime.min.time(), tzinfo=UTC) + timedelta(
            hours=hours
        )
        if isinstance(typed, tuple):
            entries = [
                (register, str((last[register].index + delta) % modulus))
                for register, delta in zip((Register.HP, Register.HC), typed, strict=True)
            ]
        else:
            entries = typed  # type: ignore[assignment]
        # when a person sends it
        verdict = check_self_reading(
            site=site,
            meter=meter,
            submission=Submission(read_on, entries, confirmed, read_days, received_days),
            last_readings=last,
            received_at=received_at,
        )
        # then either refused with documented codes, or every rule holds
        if not verdict.ok:
            assert not verdict.accepted
            assert {v.code for v in verdict.violations} <= set(vars(Rule).values())
            assert all(v.message and v.field for v in verdict.violations)
            continue
        assert confirmed
        assert sorted(a.register for a in verdict.accepted) == sorted(meter.registers)
        assert sorted(r for r, _ in entries) == sorted(meter.registers)
        assert read_on >= previous_day
        assert read_on <= (received_at + timedelta(hours=2)).date()  # Paris is UTC+1/+2
        assert read_on not in read_days
        total = 0
        for accepted in verdict.accepted:
            before = last[accepted.register]
            assert 0 <= accepted.index < modulus
            assert accepted.rollover == (accepted.index < before.index)
            expected = consumption_between(
                before.index, accepted.index, digits=digits, rollover=accepted.rollover
            )
            assert expected is not None and expected.consumption == accepted.consumption
            assert accepted.consumption >= 0
            total += to_kwh(accepted.consumption, meter.coefficient)
        assert total <= allowed_kwh(site, previous_day, read_on)
        # the accepted reading becomes the reference for the next one
        for accepted in verdict.accepted:
            last[accepted.register] = LastReading(accepted.index, read_on)
        read_days.add(read_on)
        received_days.add(received_at.date())


@settings(max_examples=200, deadline=None)
@given(
    previous=st.integers(min_value=0, max_value=99_999),
    current=st.integers(min_value=0, max_value=99_999),
    days=st.integers(min_value=0, max_value=400),
)
def test_a_lower_index_is_accepted_only_as_a_plausible_turn(
    previous: int, current: int, days: int
) -> None:
    meter = MeterFacts(MeterKind.ELECTROMECHANICAL, False, 5, (Register.BASE,))
    last = {Register.BASE: LastReading(previous, date(2025, 1, 1))}
    verdict = check_self_reading(
        site=SITE,
        meter=meter,
        submission=Submission(
            date(2025, 1, 1) + timedelta(days=days), [(Register.BASE, str(current))], True
        ),
        last_readings=last,
        received_at=datetime(2027, 1, 1, tzinfo=UTC),
    )
    if current < previous and verdict.ok:
        (accepted,) = verdict.accepted
        assert accepted.rollover
        assert accepted.consumption == 100_000 - previous + current
    if current < previous and not verdict.ok:
        assert {v.code for v in verdict.violations} == {Rule.INDEX_BELOW_LAST}
