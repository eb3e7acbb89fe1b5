"""A site's meters and readings rows, from its simulated consumption (demo/meters.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from demo import identifiers as ids
from demo.logins import DEMO_MEMBER_ID, MEMBER_USER_ID
from demo.meters import MeterSim, digits_for, lay_readings, starting_index, true_totals
from demo.shapes import WINDOW_MONTHS, MemberInfo, Row, SiteDraft, instant
from demo.state import BuildState
from domain.consumption_profile import monthly_shares
from domain.enums import COMMUNICATING_METER_KINDS


class ReadingBuilder:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.rng = state.rng
        self.meter_counter = 0

    def simulate(self, site: SiteDraft, info: MemberInfo, out: dict[str, list[Row]]) -> None:
        rng = self.rng
        row = site.row
        shares = monthly_shares(row["profile"])
        car = row["car_kwh"]
        gas = row["energy"] == "GAS"
        coefficient = (
            Decimal(rng.randint(1_095_000, 1_145_000)) / 100_000 if gas else Decimal("1.00000")
        )
        # True consumption per month, per register, in the meter's native unit.
        kwh = []
        for m in range(WINDOW_MONTHS):
            value = car * float(shares[self.state.starts[m].month - 1]) * rng.uniform(0.86, 1.14)
            if site.zero_from is not None and m >= site.zero_from:
                value = 0.0
            if site.excess_from is not None and m >= site.excess_from:
                value *= rng.uniform(2.6, 3.2)
            kwh.append(value)
        for register in site.registers:
            site.consumption[register] = [
                round(
                    v
                    * site.register_part(register, self.state.starts[m].month)
                    / float(coefficient)
                )
                for m, v in enumerate(kwh)
            ]
        expected = [0.0]
        for m in range(WINDOW_MONTHS):
            expected.append(expected[-1] + float(shares[self.state.starts[m].month - 1]))

        swap = None
        if len(site.kinds) == 2:
            swap = site.phase + 6 + 1  # the position (k) of the old meter's last reading
        spans = (
            [(site.kinds[0], 0, swap), (site.kinds[1], swap, site.last_k)]
            if swap
            else [(site.kinds[0], 0, site.last_k)]
        )
        two_years = max(sum(v) for v in site.consumption.values())
        for number, (kind, k_from, k_to) in enumerate(spans):
            self.meter_counter += 1
            communicating = kind in COMMUNICATING_METER_KINDS
            digits = digits_for(kind, two_years)
            if number == 0:
                start = {r: starting_index(rng, digits, two_years) for r in site.registers}
                if site.oddity == "rollover":
                    # Close to the maximum: the index wraps some months into the window.
                    first = site.registers[0]
                    months = rng.randint(4, 12)
                    start[first] = 10**digits - sum(site.consumption[first][:months]) + 1
                    start[first] = max(10**digits - two_years // 2, start[first])
            else:
                start = {r: rng.randint(0, 40) for r in site.registers}
            meter = MeterSim(
                id=self.state.new_id("meters"),
                kind=kind,
                serial=ids.meter_serial(kind, self.meter_counter),
                communicating=communicating,
                digits=digits,
                registers=site.registers,
                coefficient=coefficient,
                k_from=k_from,
                k_to=k_to,
                start=start,
            )
            if communicating:
                meter.actual_ks = set(range(k_from, k_to + 1))
            else:
                meter.actual_ks = {
                    k for k in range(k_from, k_to + 1) if (k - 1) % 6 == site.phase and k >= 1
                }
                meter.actual_ks |= (
                    {k_from, k_to} if (swap or site.last_k < WINDOW_MONTHS) else {k_from}
                )
                if site.missing_after is not None:
                    meter.actual_ks = {k for k in meter.actual_ks if k <= site.missing_after + 1}
            true_totals(meter, site.consumption)
            lay_readings(meter, expected)
            site.meters.append(meter)
            installed_on = (
                self.state.ends[k_from]
                if number
                else date(2012 + rng.randint(0, 10), rng.randint(1, 12), 1)
            )
            out["meters"].append(
                {
                    "id": meter.id,
                    "site_id": row["id"],
                    "serial": meter.serial,
                    "kind": kind,
                    "is_communicating": communicating,
                    "digits": digits,
                    "registers": list(site.registers),
                    "reading_coefficient": coefficient,
                    "installed_on": min(installed_on, self.state.ends[k_from]),
                    "removed_on": self.state.ends[k_to] if swap and number == 0 else None,
                }
            )
            self._readings(site, meter, info, out, replaced=bool(swap), first=number == 0)

    def _readings(
        self,
        site: SiteDraft,
        meter: MeterSim,
        info: MemberInfo,
        out: dict[str, list[Row]],
        *,
        replaced: bool,
        first: bool,
    ) -> None:
        rng = self.rng
        gas = site.row["energy"] == "GAS"
        estimated_source = "SUPPLIER_ESTIMATED" if gas else "DISTRIBUTOR_ESTIMATED"
        modulus = 10**meter.digits
        site_id = site.row["id"]
        # Self-readings: on some estimated months of non-communicating meters, sent before
        # the 20th so they count in the next billing cycle.
        self_months: dict[int, str] = {}
        if not meter.communicating:
            estimated = [
                k for k in range(meter.k_from + 1, meter.k_to + 1) if k not in meter.actual_ks
            ]
            if site.oddity == "self_rejected" and estimated:
                self_months[estimated[-1]] = "REJECTED"
            if estimated and rng.random() < 0.3:
                for k in rng.sample(estimated, min(len(estimated), rng.randint(1, 2))):
                    self_months.setdefault(k, "ACCEPTED")
        submitter = MEMBER_USER_ID if info.id == DEMO_MEMBER_ID else None
        readings = out["readings"]
        self_dates = {
            k: self.state.ends[k] - timedelta(days=rng.randint(11, 14)) for k in self_months
        }
        for register in meter.registers:
            shown = meter.shown[register]
            previous_turns = shown[meter.k_from] // modulus
            for k in range(meter.k_from, meter.k_to + 1):
                if k in self_months:
                    low, high = shown[k - 1], shown[k]
                    value = low + (high - low) * 3 // 5
                    turns = value // modulus
                    read_on = self_dates[k]
                    status = self_months[k]
                    readings.append(
                        {
                            "id": self.state.new_id("readings"),
                            "site_id": site_id,
                            "meter_id": meter.id,
                            "register_code": register,
                            "read_on": read_on,
                            "index_value": value % modulus,
                            "source": "SELF_READING",
                            "rollover": turns > previous_turns,
                            "submitted_by_user_id": submitter,
                            "self_reading_status": status,
                            "rejection_reason": (
                                "Photo du compteur illisible, merci de renouveler la saisie"
                                if status == "REJECTED"
                                else None
                            ),
                            "confirmation_emails": [info.email],
                            "created_at": instant(read_on, 8, 30),
                        }
                    )
                    previous_turns = turns
                value = shown[k]
                turns = value // modulus
                if (k == meter.k_from and not first) or (k == meter.k_to and replaced and first):
                    source = "SPECIAL"  # meter change: removal and installation indexes
                elif k in meter.actual_ks:
                    source = "DISTRIBUTOR_ACTUAL"
                else:
                    source = estimated_source
                readings.append(
                    {
                        "id": self.state.new_id("readings"),
                        "site_id": site_id,
                        "meter_id": meter.id,
                        "register_code": register,
                        "read_on": self.state.ends[k],
                        "index_value": value % modulus,
                        "source": source,
                        "rollover": turns > previous_turns,
                        "submitted_by_user_id": None,
                        "self_reading_status": None,
                        "rejection_reason": None,
                        "confirmation_emails": None,
                        "created_at": self.state.created(self.state.ends[k]),
                    }
                )
                previous_turns = turns
