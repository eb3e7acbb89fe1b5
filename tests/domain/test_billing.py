"""Pure billing rules: search windows, cumulated totals, per-site split, import checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.billing import (
    DraftInvoice,
    DraftLine,
    add_months_clamped,
    cumulate,
    default_window,
    invoice_problems,
    month_span,
    spans_more_than,
    split_site_components,
    whole_months,
)
from domain.calendar import paris_date
from domain.enums import InvoiceComponent as C
from domain.enums import InvoiceKind

D = Decimal


def test_twelve_months_is_the_longest_search() -> None:
    assert not spans_more_than(date(2025, 1, 1), date(2025, 12, 31), 12)
    assert spans_more_than(date(2025, 1, 1), date(2026, 1, 1), 12)
    assert add_months_clamped(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert default_window(date(2026, 11, 22), 12) == (date(2025, 11, 23), date(2026, 11, 22))


def test_business_dates_are_in_paris() -> None:
    # 23:30 UTC on 31 December is already New Year's Day in Paris
    assert paris_date(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 1, 1)


def test_summary_windows_are_whole_calendar_months() -> None:
    today = date(2026, 12, 1)  # the day after a billing run: the run's month stays in
    assert whole_months(None, None, today=today, months=6) == (date(2026, 7, 1), date(2026, 12, 31))
    assert whole_months(None, None, today=date(2026, 1, 15), months=3) == (
        date(2025, 11, 1),
        date(2026, 1, 31),
    )
    # each given day stands for its month
    window = whole_months(date(2026, 6, 2), date(2026, 11, 3), today=today, months=6)
    assert window == (date(2026, 6, 1), date(2026, 11, 30))
    assert month_span(*window) == 6
    assert whole_months(None, date(2026, 3, 9), today=today, months=6)[0] == date(2025, 10, 1)
    assert whole_months(date(2026, 5, 1), None, today=today, months=6) == (
        date(2026, 5, 1),
        date(2026, 12, 31),
    )
    assert month_span(date(2026, 6, 1), date(2026, 12, 1)) == 7


@given(st.dates(date(1990, 1, 1), date(2090, 12, 31)), st.integers(1, 24))
def test_a_default_window_is_the_current_month_and_those_before(today: date, n: int) -> None:
    first, last = whole_months(None, None, today=today, months=n)
    assert first.day == 1 and (last + timedelta(days=1)).day == 1
    assert first <= today <= last
    assert month_span(first, last) == n


def test_cumulated_totals_are_exact() -> None:
    assert cumulate([D("0.10"), D("0.20"), D("-0.30")]) == [D("0.10"), D("0.30"), D("0.00")]


def test_a_site_split_by_component_adds_up_to_its_families() -> None:
    invoice = {C.ENERGY: D("100.00"), C.CAPACITY: D("3.00"), C.TRANSPORT: D("40.00"),
               C.CTA: D("2.00"), C.EXCISE: D("20.00"), C.SUBSCRIPTION: D("10.00")}  # fmt: skip
    families = {"subscription": D("5.00"), "energy": D("51.51"), "transport": D("20.00"),
                "taxes": D("11.01")}  # fmt: skip
    split = split_site_components(families, invoice)
    assert split[C.ENERGY] + split[C.CAPACITY] == D("51.51")
    assert split[C.CTA] + split[C.EXCISE] == D("11.01")
    assert split[C.TRANSPORT] == D("20.00") and split[C.SUBSCRIPTION] == D("5.00")
    assert all(v == v.quantize(D("0.01")) for v in split.values())


def _draft(**changes: object) -> DraftInvoice:
    values: dict[str, object] = dict(
        kind=InvoiceKind.INVOICE, period_start=date(2026, 1, 1), period_end=date(2026, 2, 28),
        accounting_date=date(2026, 3, 1), due_date=date(2026, 3, 31), consumption_kwh=566,
        total_excl_tax=D("94.56"), vat_reduced=D("1.36"), vat_standard=D("13.98"),
        total_incl_tax=D("109.90"), cancels=None,
        lines=[
            DraftLine(C.SUBSCRIPTION, D("24.68"), D("5.50")),
            DraftLine(C.ENERGY, D("69.88"), D("20.00")),
            DraftLine(C.VAT, D("1.36"), D("5.50"), D("24.68")),
            DraftLine(C.VAT, D("13.98"), D("20.00"), D("69.88")),
        ],
    )  # fmt: skip
    values.update(changes)
    return DraftInvoice(**values)  # type: ignore[arg-type]


def test_a_coherent_invoice_has_no_problem() -> None:
    assert invoice_problems(_draft()) == []


def test_lines_must_add_up_to_the_cent() -> None:
    problems = invoice_problems(_draft(total_excl_tax=D("94.57"), total_incl_tax=D("109.91")))
    assert any("94,56 € HT" in p for p in problems)


def test_vat_must_match_its_base_and_rate() -> None:
    draft = _draft()
    draft.lines[3] = DraftLine(C.VAT, D("13.97"), D("20.00"), D("69.88"))
    problems = invoice_problems(draft)
    assert any("TVA à 20 % vaut 13,97 €, attendu 13,98 €" in p for p in problems)


def test_a_cancellation_must_name_what_it_cancels() -> None:
    assert invoice_problems(_draft(kind=InvoiceKind.CANCELLATION))
    assert invoice_problems(_draft(cancels="FA1"))
