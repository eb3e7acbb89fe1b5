"""Alerts on a site's consumption (zero, negative, excessive, no actual reading)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from demo.logins import DEMO_MEMBER_ID, MEMBER_USER_ID
from demo.shapes import WINDOW_MONTHS, MemberInfo, Row, SiteDraft, instant
from demo.state import BuildState
from domain.billing import add_months_clamped
from domain.consumption_profile import monthly_shares


class AlertBuilder:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.rng = state.rng

    def alerts(
        self, site: SiteDraft, info: MemberInfo, out: dict[str, list[Row]], admin_id: int
    ) -> None:
        """The site's alerts; acknowledged by the demo member's user, else the group's ADMIN."""
        rng = self.rng
        row = site.row
        point = row["point_number"]
        label = "PCE" if row["energy"] == "GAS" else "PRM"
        found: list[tuple[str, date, str, dict[str, Any]]] = []
        if site.zero_from is not None:
            since = self.state.starts[site.zero_from]
            detected = self.state.ends[min(site.zero_from + 3, WINDOW_MONTHS)] + timedelta(days=2)
            if detected <= self.state.as_of:
                found.append(
                    (
                        "ZERO_CONSUMPTION",
                        detected,
                        f"Consommation nulle depuis le {since:%d/%m/%Y} sur le {label} {point}",
                        {"since": since.isoformat(), "months": WINDOW_MONTHS - site.zero_from},
                    )
                )
        if site.oddity == "zero_credit":
            # The parc gives every zero_credit site the month its zeros start from.
            assert site.zero_from is not None
            detected = self.state.ends[site.zero_from + 6] + timedelta(days=5)
            found.append(
                (
                    "NEGATIVE_CONSUMPTION",
                    detected,
                    f"Consommation négative facturée après régularisation sur le {label} {point}",
                    {"period_end": self.state.ends[site.zero_from + 6].isoformat()},
                )
            )
        if site.missing_after is not None:
            last = self.state.ends[site.missing_after + 1]
            detected = add_months_clamped(last, 7).replace(day=1)  # the 1st of the 7th month after
            if detected <= self.state.as_of:
                found.append(
                    (
                        "MISSING_DISTRIBUTOR_READING",
                        detected,
                        f"Aucun relevé réel du distributeur depuis le {last:%d/%m/%Y} "
                        f"sur le {label} {point}",
                        {"last_actual_reading_on": last.isoformat()},
                    )
                )
        if site.excess_from is not None:
            month = self.state.starts[site.excess_from]
            expected = round(
                row["car_kwh"] * float(monthly_shares(row["profile"])[month.month - 1])
            )
            found.append(
                (
                    "EXCESSIVE_CONSUMPTION",
                    self.state.ends[site.excess_from + 1] + timedelta(days=2),
                    f"Consommation très supérieure à la consommation de référence sur le "
                    f"{label} {point}",
                    {"month": month.isoformat(), "expected_kwh": expected, "ratio": "2.8"},
                )
            )
        for kind, detected, message, details in found:
            age = (self.state.as_of - detected).days
            status = (
                "RESOLVED"
                if age > 200 and rng.random() < 0.7
                else "ACKNOWLEDGED"
                if age > 30 and rng.random() < 0.5
                else "OPEN"
            )
            acknowledged = status != "OPEN"
            out["alerts"].append(
                {
                    "id": self.state.new_id("alerts"),
                    "site_id": row["id"],
                    "kind": kind,
                    "status": status,
                    "detected_on": detected,
                    "message": message[:300],
                    "details": details,
                    "acknowledged_by_user_id": (
                        MEMBER_USER_ID if info.id == DEMO_MEMBER_ID else admin_id
                    )
                    if acknowledged
                    else None,
                    "acknowledged_at": instant(detected + timedelta(days=3), 9)
                    if acknowledged
                    else None,
                    "resolved_at": instant(detected + timedelta(days=40), 9)
                    if status == "RESOLVED"
                    else None,
                    "notified_at": instant(detected, 7),
                    "created_at": instant(detected, 6),
                }
            )
