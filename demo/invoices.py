"""Invoices, their lines and per-site rows, billing run after billing run.

Communicating meters are billed on actual indexes; the others on estimates from the site's
reference consumption (CAR) and profile: an estimated index is the previous invoice's index
plus the estimate, and the next actual index regularises what the estimates missed (a credit
when they overshot). Every printed index pair moves by the kWh it bills. A
`cancellation` oddity gets a cancellation invoice and a corrected one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from demo.billing import BuiltInvoice, SitePeriod, build_invoice, site_charges
from demo.meters import to_kwh
from demo.shapes import WINDOW_MONTHS, Row, SiteDraft, instant
from demo.state import BuildState
from domain.billing import site_parts_of
from domain.consumption_profile import monthly_shares

# Per-site amounts a cancellation negates.
_SITE_AMOUNTS = (
    "subscription_amount",
    "energy_amount",
    "transport_amount",
    "taxes_amount",
    "total_excl_tax",
    "vat_amount",
    "total_incl_tax",
)


@dataclass(slots=True)
class BilledIndexes:
    """The indexes a site's last invoice printed as current (unwrapped), per register: the
    next invoice starts from them, estimated or not."""

    serial: str | None = None
    index: dict[str, int] = field(default_factory=dict)


class InvoiceBuilder:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.rng = state.rng
        self.invoice_seq: dict[str, int] = {}
        # What the dispute builder contests: each account's latest invoice, and each
        # cancelled invoice with its cancellation and corrected invoice (demo/disputes.py).
        self.latest: dict[int, Row] = {}
        self.reissues: list[tuple[Row, Row, Row]] = []

    def invoices(self, account: Row, sites: list[SiteDraft], out: dict[str, list[Row]]) -> None:
        monthly = account["billing_frequency"] == "MONTHLY"
        step = 1 if monthly else 2
        # T3 and C4 are billed on the 10th, on the distributor's month-end actual readings.
        tenth = any(s.segment in ("T3", "C4") for s in sites)
        billed = {s.row["id"]: BilledIndexes() for s in sites}
        cancel = any(s.oddity == "cancellation" for s in sites)
        built_invoices: list[tuple[Row, BuiltInvoice]] = []
        for m0 in range(0, WINDOW_MONTHS, step):
            m1 = m0 + step - 1
            run = self.state.starts[m1 + 1] + timedelta(days=9 if tenth else 0)
            if run > self.state.as_of:
                break
            periods = []
            for site in sites:
                period = self._site_period(site, m0, m1, billed[site.row["id"]])
                if period is not None:
                    periods.append(period)
            if not periods:
                continue
            built = build_invoice(periods)
            invoice = self._invoice_row(
                account, built, self.state.starts[m0], self.state.ends[m1 + 1], run
            )
            built_invoices.append((invoice, built))
            self._emit_invoice(invoice, built, out)
            if invoice["kind"] == "INVOICE":
                self.latest[account["id"]] = invoice
        if cancel:
            old = [
                (inv, b)
                for inv, b in built_invoices
                if inv["kind"] == "INVOICE"
                and inv["accounting_date"] < self.state.as_of - timedelta(days=120)
            ]
            if old:
                self._cancel_and_reissue(account, *old[len(old) // 2], out)

    def _site_period(
        self, site: SiteDraft, m0: int, m1: int, billed: BilledIndexes
    ) -> SitePeriod | None:
        k0, k1 = m0, min(m1 + 1, site.last_k)
        if k1 <= k0:
            return None
        months = k1 - k0
        meter = next(mt for mt in site.meters if mt.k_from <= k0 and k1 <= mt.k_to)
        row = site.row
        assert site.tariff is not None
        if billed.serial != meter.serial:  # a new meter: billing starts from its first index
            billed.serial = meter.serial
            billed.index = {r: meter.shown[r][k0] for r in meter.registers}
        previous = dict(billed.index)
        energy: dict[str, int] = {}
        regul: dict[str, int] = {}
        if meter.communicating:
            basis = "ACTUAL"
            for r in meter.registers:
                billed.index[r] = meter.true[r][k1]
                energy[r] = to_kwh(billed.index[r] - previous[r], meter.coefficient)
        else:
            shares = monthly_shares(row["profile"])
            estimate = round(
                row["car_kwh"]
                * float(sum(shares[self.state.starts[m].month - 1] for m in range(k0, k1)))
            )
            actual = k1 in meter.actual_ks
            basis = "ACTUAL" if actual else "ESTIMATED"
            for r in meter.registers:
                part = site.register_part(r, self.state.starts[k0].month)  # BASE, HP or HC
                # Estimated in the meter's unit, so the estimated index moves by what is billed.
                native = round(estimate * part / float(meter.coefficient))
                energy[r] = to_kwh(native, meter.coefficient)
                if actual:
                    # The actual index settles everything billed on estimates since the last
                    # one: the regularisation is what the index moved beyond this estimate.
                    billed.index[r] = meter.true[r][k1]
                    moved = to_kwh(billed.index[r] - previous[r], meter.coefficient)
                    regul[r] = moved - energy[r]
                else:
                    billed.index[r] = previous[r] + native
        modulus = 10**meter.digits
        return SitePeriod(
            site_id=row["id"],
            charges=site_charges(site.tariff, self.state.starts[m0], months, energy, regul),
            consumption_kwh=sum(energy.values()) + sum(regul.values()),
            basis=basis,
            meter_serial=meter.serial,
            previous_index_on=self.state.ends[k0],
            current_index_on=self.state.ends[k1],
            register_indexes=[
                {
                    "register": r,
                    "previous": previous[r] % modulus,
                    "current": billed.index[r] % modulus,
                }
                for r in meter.registers
            ],
        )

    def _number(self, prefix: str, day: date) -> str:
        key = f"{prefix}{day.year}{day.month:02d}"
        seq = self.invoice_seq.get(key, 0) + 1
        self.invoice_seq[key] = seq
        return f"{key}{seq:06d}"

    def _invoice_row(
        self, account: Row, built: BuiltInvoice, start: date, end: date, run: date
    ) -> Row:
        rng = self.rng
        negative = built.total_incl_tax < 0
        due = run + timedelta(days=30)
        if due < self.state.as_of:
            payment = "PAID" if rng.random() < 0.96 else rng.choice(("PARTIALLY_PAID", "UNPAID"))
        else:
            payment = "UNPAID" if rng.random() < 0.85 else "PARTIALLY_PAID"
        if negative and payment == "PARTIALLY_PAID":
            payment = "UNPAID"
        edition = (
            "PENDING"
            if run + timedelta(days=7) > self.state.as_of
            else (
                "REPRINTED"
                if account["invoice_delivery"] == "CHORUS_PRO" and rng.random() < 0.03
                else "ISSUED"
            )
        )
        return {
            "id": self.state.new_id("invoices"),
            "number": self._number("AV" if negative else "FA", run),
            "billing_account_id": account["id"],
            "energy": account["energy"],
            "kind": "CREDIT_NOTE" if negative else "INVOICE",
            "accounting_date": run,
            "period_start": start,
            "period_end": end,
            "index_basis": built.basis,
            "consumption_kwh": built.consumption_kwh,
            "total_excl_tax": built.total_excl_tax,
            "vat_reduced": built.vat_reduced,
            "vat_standard": built.vat_standard,
            "total_incl_tax": built.total_incl_tax,
            "due_date": due,
            "delivery_mode": account["invoice_delivery"],
            "edition_status": edition,
            "payment_status": payment,
            "cancels_invoice_id": None,
            "pdf_key": None,
            "created_at": instant(run, 4),
        }

    def _emit_invoice(self, invoice: Row, built: BuiltInvoice, out: dict[str, list[Row]]) -> None:
        out["invoices"].append(invoice)
        for position, line in enumerate(built.lines, start=1):
            out["invoice_lines"].append(
                {
                    "id": self.state.new_id("invoice_lines"),
                    "invoice_id": invoice["id"],
                    "position": position,
                    **line,
                }
            )
        parts = site_parts_of(built.lines)
        for site_row in built.sites:
            out["invoice_sites"].append(
                {
                    "id": self.state.new_id("invoice_sites"),
                    "invoice_id": invoice["id"],
                    **site_row,
                    **parts(site_row),
                }
            )

    def _cancel_and_reissue(
        self, account: Row, original: Row, built: BuiltInvoice, out: dict[str, list[Row]]
    ) -> None:
        """A disputed invoice (wrong SIRET): a cancellation invoice, then a corrected one."""
        original["payment_status"] = "CANCELLED"
        day = original["accounting_date"] + timedelta(days=self.rng.randint(10, 15))
        negated = BuiltInvoice(
            lines=[
                {
                    **line,
                    "quantity": -line["quantity"] if line["quantity"] is not None else None,
                    "vat_base": -line["vat_base"] if line["vat_base"] is not None else None,
                    "amount": -line["amount"],
                }
                for line in built.lines
            ],
            sites=[
                {
                    **row,
                    "consumption_kwh": -row["consumption_kwh"],
                    **{key: -row[key] for key in _SITE_AMOUNTS},
                }
                for row in built.sites
            ],
            total_excl_tax=-built.total_excl_tax,
            vat_reduced=-built.vat_reduced,
            vat_standard=-built.vat_standard,
            total_incl_tax=-built.total_incl_tax,
            consumption_kwh=-built.consumption_kwh,
            basis=built.basis,
        )
        cancellation = {
            **original,
            "id": self.state.new_id("invoices"),
            "number": self._number("AN", day),
            "kind": "CANCELLATION",
            "accounting_date": day,
            "due_date": day + timedelta(days=30),
            "consumption_kwh": negated.consumption_kwh,
            "total_excl_tax": negated.total_excl_tax,
            "vat_reduced": negated.vat_reduced,
            "vat_standard": negated.vat_standard,
            "total_incl_tax": negated.total_incl_tax,
            # Nothing to pay: it and the invoice it cancels net to zero, both shown cancelled.
            "payment_status": "CANCELLED",
            "edition_status": "ISSUED",
            "cancels_invoice_id": original["id"],
            "created_at": instant(day, 4),
        }
        self._emit_invoice(cancellation, negated, out)
        corrected = {
            **original,
            "id": self.state.new_id("invoices"),
            "number": self._number("FA", day),
            "accounting_date": day,
            "due_date": day + timedelta(days=30),
            "edition_status": "ISSUED",
            "payment_status": "PAID" if day + timedelta(days=30) < self.state.as_of else "UNPAID",
            "created_at": instant(day, 4, 5),
        }
        self._emit_invoice(corrected, built, out)
        self.reissues.append((original, cancellation, corrected))
