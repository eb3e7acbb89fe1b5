"""Invoice disputes' pure rules: the reasons as data, the whole transition table, the promised
days in working days across French public holidays, and the 2/4/5-year limit of a correction
in the customer's disfavour."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.enums import (
    ChorusStatus,
    CustomerCategory,
    DisputeCorrection,
    DisputeReason,
    DisputeStatus,
)
from domain.errors import ErrorCode, Refusal
from domain.invoice_disputes import (
    REASONS,
    check_claim_number,
    check_resolution,
    check_transition,
    due_on,
    is_overdue,
    reference_number,
    reissue_reaches_too_far,
)

S = DisputeStatus
R = DisputeReason

# Written out by hand (not read from the module): every allowed move.
ALLOWED = {
    (S.RECEIVED, S.IN_ANALYSIS),
    (S.IN_ANALYSIS, S.RESOLVED),
    (S.IN_ANALYSIS, S.REJECTED),
}


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_every_move_of_the_transition_table(before: S, after: S) -> None:
    if (before, after) in ALLOWED:
        check_transition(before, after)
        return
    with pytest.raises(Refusal) as refused:
        check_transition(before, after)
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert refused.value.field == "status"
    if before in (S.RESOLVED, S.REJECTED):
        assert "close" in refused.value.message
    else:
        # the message names what is allowed next
        for b, a in ALLOWED:
            if b is before:
                assert a.value in refused.value.message


def test_the_reasons_follow_the_memo() -> None:
    memo = {
        R.MISSING_DOCUMENT: (ChorusStatus.SUSPENDED, DisputeCorrection.CLARIFICATION, 2, 2),
        R.WRONG_CHORUS_REFERENCES: (ChorusStatus.TO_RECYCLE, DisputeCorrection.REPRINT, 2, 2),
        R.DISPUTED_INDEX: (
            ChorusStatus.REJECTED,
            DisputeCorrection.CANCELLATION_AND_REISSUE,
            10,
            15,
        ),
        R.PRICE_NOT_MATCHING_SCHEDULE: (
            ChorusStatus.REJECTED,
            DisputeCorrection.CANCELLATION_AND_REISSUE,
            10,
            15,
        ),
        R.WRONG_TAXES: (ChorusStatus.REJECTED, DisputeCorrection.CANCELLATION_AND_REISSUE, 10, 15),
        R.WRONG_BILLING_STRUCTURE: (
            ChorusStatus.REJECTED,
            DisputeCorrection.CANCELLATION_AND_REISSUE,
            10,
            15,
        ),
        R.WRONG_SIRET: (ChorusStatus.REJECTED, DisputeCorrection.CANCELLATION_AND_REISSUE, 10, 15),
    }
    assert set(REASONS) == set(R)
    for reason, (chorus, correction, low, high) in memo.items():
        spec = REASONS[reason]
        assert (
            spec.chorus_status,
            spec.correction,
            spec.min_working_days,
            spec.max_working_days,
        ) == (chorus, correction, low, high)


# Days counted by hand on the 2026–2027 calendar: Christmas (Fri 25 Dec), New Year (Fri 1 Jan),
# Ascension (Thu 14 May 2026), Whit Monday (25 May 2026), 14 July (Tue), weekends.
DUE = [
    # 48 h: Wed 23 Dec → Thu 24 (1), [Fri 25 holiday, weekend], Mon 28 (2)
    (R.MISSING_DOCUMENT, date(2026, 12, 23), False, date(2026, 12, 28)),
    (R.WRONG_CHORUS_REFERENCES, date(2026, 12, 23), False, date(2026, 12, 28)),
    # Wed 13 May → [Thu 14 Ascension] Fri 15 (1), Mon 18 (2)
    (R.MISSING_DOCUMENT, date(2026, 5, 13), False, date(2026, 5, 18)),
    # a Saturday: Mon 13 Jul (1), [Tue 14 July], Wed 15 (2)
    (R.WRONG_CHORUS_REFERENCES, date(2026, 7, 11), False, date(2026, 7, 15)),
    # 10 working days from Wed 23 Dec: 24, 28, 29, 30, 31, [1 Jan], 4, 5, 6, 7, 8
    (R.DISPUTED_INDEX, date(2026, 12, 23), False, date(2027, 1, 8)),
    # with a distributor claim, 15: … 11, 12, 13, 14, 15
    (R.DISPUTED_INDEX, date(2026, 12, 23), True, date(2027, 1, 15)),
    # no distributor in the price: the 15 days promised
    (R.PRICE_NOT_MATCHING_SCHEDULE, date(2026, 12, 23), False, date(2027, 1, 15)),
    # 15 from Mon 18 May: 19, 20, 21, 22, [25 Whit Monday], 26, 27, 28, 29, 1, 2, 3, 4, 5, 8, 9
    (R.WRONG_TAXES, date(2026, 5, 18), False, date(2026, 6, 9)),
]


@pytest.mark.parametrize(("reason", "received", "claim", "expected"), DUE)
def test_the_promised_day_counts_working_days_only(
    reason: R, received: date, claim: bool, expected: date
) -> None:
    assert due_on(reason, received, claim_filed=claim) == expected


def test_overdue_is_an_open_dispute_past_its_day() -> None:
    due = date(2026, 12, 28)
    assert not is_overdue(S.RECEIVED, due, due)
    assert is_overdue(S.RECEIVED, due, date(2026, 12, 29))
    assert is_overdue(S.IN_ANALYSIS, due, date(2026, 12, 29))
    assert not is_overdue(S.RESOLVED, due, date(2027, 3, 1))
    assert not is_overdue(S.REJECTED, due, date(2027, 3, 1))


def test_resolution_must_be_the_reasons_correction() -> None:
    check_resolution(R.WRONG_CHORUS_REFERENCES, DisputeCorrection.REPRINT)
    with pytest.raises(Refusal) as refused:
        check_resolution(R.WRONG_CHORUS_REFERENCES, DisputeCorrection.CANCELLATION_AND_REISSUE)
    assert refused.value.code is ErrorCode.INVALID
    with pytest.raises(Refusal) as refused:
        check_resolution(R.WRONG_TAXES, None)
    assert refused.value.code is ErrorCode.REQUIRED


def test_a_claim_number_is_for_a_disputed_index_only() -> None:
    assert check_claim_number(R.DISPUTED_INDEX, " rec-2026-0042 ") == "REC-2026-0042"
    assert check_claim_number(R.WRONG_TAXES, None) is None
    for reason, value in ((R.WRONG_TAXES, "REC-1234"), (R.DISPUTED_INDEX, "a b")):
        with pytest.raises(Refusal) as refused:
            check_claim_number(reason, value)
        assert refused.value.code is ErrorCode.INVALID


@pytest.mark.parametrize(
    ("category", "start", "too_far"),
    [
        # billed on 15 Dec 2026: a public body 4 years back (15 Dec 2022)
        (CustomerCategory.PUBLIC, date(2022, 12, 15), False),
        (CustomerCategory.PUBLIC, date(2022, 12, 14), True),
        (CustomerCategory.PRIVATE, date(2024, 12, 15), False),
        (CustomerCategory.PRIVATE, date(2024, 12, 14), True),
        (CustomerCategory.BUSINESS, date(2021, 12, 15), False),
        (CustomerCategory.BUSINESS, date(2021, 12, 14), True),
    ],
)
def test_a_reissue_against_the_customer_respects_the_limit(
    category: CustomerCategory, start: date, too_far: bool
) -> None:
    billed = date(2026, 12, 15)
    higher = dict(disputed_total=Decimal("100.00"), reissued_total=Decimal("100.01"))
    assert (
        reissue_reaches_too_far(category, **higher, reissued_period_start=start, billed_on=billed)
        is too_far
    )
    # in the customer's favour (or even): never limited
    lower = dict(disputed_total=Decimal("100.00"), reissued_total=Decimal("100.00"))
    assert not reissue_reaches_too_far(
        category, **lower, reissued_period_start=date(2000, 1, 1), billed_on=billed
    )


def test_the_reference() -> None:
    assert reference_number(2026, 42) == "CF-2026-000042"
