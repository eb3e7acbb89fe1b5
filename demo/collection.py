"""A collection campaign in progress for the demo: the main group has just awarded its gas lot,
and its electricity members are filling in their journeys for the new gas sites.

A third of them validated, a third are halfway, a third have not started; the demo USER's
member is halfway (its administrative data saved, half its sites confirmed), so `make run`
shows a journey to finish and a coordinator's view with every state. Built last, with a
random stream of its own, so no row built before depends on it. The progress columns are
computed with the domain's rules, exactly as the API stores them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from demo import identifiers as ids
from demo.logins import DEMO_MEMBER_ID, GROUP_ID, MEMBER_USER_ID, OPERATOR_ID
from demo.shapes import Batch, MemberInfo, Row, instant
from demo.state import BuildState
from domain import collection as rules
from domain.billing import add_months_clamped
from domain.collection import JourneyStatus, SiteDecision
from domain.enums import Segment

CAMPAIGN_ID = 1
# PCE indexes far beyond the parc's, so the new sites' numbers never meet an existing one
# (the PCE numbering is a bijection of the index).
FIRST_POINT_INDEX = 50_000_000
MAX_MEMBERS = {"small": 12, "full": 60}
STREETS = ("rue de la Gare", "place du Marché", "allée des Écoles", "route du Stade")


class CollectionBuilder:
    def __init__(self, state: BuildState, members: list[MemberInfo]) -> None:
        self.state = state
        self.rng = random.Random(f"collection-{state.scale}-{state.as_of}")
        electricity = [m for m in members if m.energy == "ELECTRICITY"]
        electricity.sort(key=lambda m: (m.id != DEMO_MEMBER_ID, m.id))
        self.members = electricity[: MAX_MEMBERS[state.scale]]
        self.points = FIRST_POINT_INDEX

    def batches(self) -> Iterator[Batch]:
        as_of = self.state.as_of
        opens_on = as_of - timedelta(days=10)
        yield (
            "collection_campaigns",
            [
                {
                    "id": CAMPAIGN_ID,
                    "group_id": GROUP_ID,
                    "energy": "GAS",
                    "name": f"Gaz naturel {as_of.year + 1} – lot 2",
                    "opens_on": opens_on,
                    "closes_on": as_of + timedelta(days=10),
                    "supply_start": add_months_clamped(as_of.replace(day=1), 3),
                    "default_payment_method": "TRANSFER",
                    "default_invoice_delivery": "POST",
                    "default_green_share_pct": 0,
                    "default_grouped": False,
                    "default_frequencies": {
                        s.value: rules.DEFAULT_FREQUENCIES[s].value
                        for s in (Segment.T1, Segment.T2, Segment.T3, Segment.T4)
                    },
                    "created_by_user_id": OPERATOR_ID,
                    "created_at": instant(opens_on - timedelta(days=1), 9),
                    "closed_at": None,
                }
            ],
        )
        journeys: list[Row] = []
        lots: list[Row] = []
        sites: list[Row] = []
        for index, info in enumerate(self.members):
            journey_id = index + 1
            status = self._status(index)
            member_sites = self._sites(info, journey_id)
            administrative = None
            member_lots: list[Row] = []
            if status is not JourneyStatus.NOT_STARTED:
                administrative = self._administrative(info, complete=index == 0 or index % 3 == 1)
            if status is JourneyStatus.VALIDATED:
                for k, site in enumerate(member_sites):
                    refused = k == 2  # a third site turned out terminated
                    site["decision"] = "REFUSED" if refused else "CONFIRMED"
                    site["refusal_reason"] = "TERMINATED" if refused else None
                member_lots = self._lots(journey_id, member_sites, administrative or {})
            elif status is JourneyStatus.IN_PROGRESS:
                for site in member_sites[: (len(member_sites) + 1) // 2]:
                    site["decision"] = "CONFIRMED"
            lots += member_lots
            sites += member_sites
            journeys.append(
                self._journey(journey_id, info, status, administrative, member_sites, member_lots)
            )
        yield "collection_journeys", journeys
        yield "collection_lots", lots
        yield "collection_sites", sites

    @staticmethod
    def _status(index: int) -> JourneyStatus:
        if index == 0 or index % 3 == 0:
            return JourneyStatus.IN_PROGRESS
        return JourneyStatus.VALIDATED if index % 3 == 1 else JourneyStatus.NOT_STARTED

    def _sites(self, info: MemberInfo, journey_id: int) -> list[Row]:
        rng = self.rng
        count = rng.choice((2, 3, 3, 4))
        rows = []
        for k in range(count):
            segment = rng.choices(("T1", "T2", "T3"), (20, 70, 10))[0]
            if info.id == DEMO_MEMBER_ID:
                segment = "T2"  # one billing perimeter is enough to finish it in the tour
            site_id = self.state.new_id("collection_sites")
            rows.append(
                {
                    "id": site_id,
                    "journey_id": journey_id,
                    "prefilled": True,
                    "energy": "GAS",
                    "point_number": ids.pce(self.points),
                    "distributor": "GRDF",
                    "distributor_name": "GRDF",
                    "segment": segment,
                    "tariff_option": segment,
                    "transport_tariff": segment,
                    "profile": {"T1": "P011", "T2": "P012", "T3": "P013"}[segment],
                    "car_kwh": {"T1": 4_000, "T2": 60_000, "T3": 400_000}[segment]
                    + rng.randint(0, 3_000),
                    "street": f"{3 + 2 * k} {STREETS[k % len(STREETS)]}",
                    "postcode": info.postcode,
                    "city": info.commune,
                    "distributor_status": "En service",
                    "activation_date": None,
                    "decision": "PENDING",
                    "refusal_reason": None,
                    "refusal_comment": None,
                    "internal_code": None,
                    "designation": None,
                    "other_reference": None,
                    "contact_name": None,
                    "contact_email": None,
                    "contact_phone": None,
                    "lot_id": None,
                    "outcome": None,
                    "site_id": None,
                    "created_at": instant(self.state.as_of - timedelta(days=11), 9),
                }
            )
            self.points += 1
        return rows

    def _administrative(self, info: MemberInfo, *, complete: bool) -> dict[str, Any]:
        contact = {
            "name": f"Service énergie de {info.commune}"[:200],
            "email": f"energie@{info.email_domain}",
            "phone": "0254000000",
        }
        data: dict[str, Any] = {
            "legalName": info.legal_name,
            "siren": info.siren,
            "street": info.street,
            "postcode": info.postcode,
            "city": info.commune,
            "mainContact": contact,
        }
        if complete:
            data |= {
                "billingContact": {**contact, "name": "Service comptabilité"},
                "technicalContact": {**contact, "name": "Services techniques"},
                "invoiceDelivery": "CHORUS_PRO",
                "recipientSiret": ids.siret(info.siren, 1),
                "chorusServiceCode": "FINANCES",
            }
        return data

    def _lots(self, journey_id: int, sites: list[Row], administrative: dict[str, Any]) -> list[Row]:
        confirmed = [s for s in sites if s["decision"] == "CONFIRMED"]
        lots = []
        for segment in sorted({s["segment"] for s in confirmed}):
            lot_id = self.state.new_id("collection_lots")
            members = [s for s in confirmed if s["segment"] == segment]
            for site in members:
                site["lot_id"] = lot_id
            lots.append(
                {
                    "id": lot_id,
                    "journey_id": journey_id,
                    "name": f"Gaz {segment}",
                    "segment": segment,
                    "is_multi_site": len(members) > 1,
                    "payment_method": "PUBLIC_ACCOUNTING_MANDATE",
                    "billing_frequency": rules.DEFAULT_FREQUENCIES[Segment(segment)].value,
                    "invoice_delivery": administrative.get("invoiceDelivery", "POST"),
                    "green_share_pct": 10,
                    "defaulted": False,
                    "billing_account_id": None,
                    "created_at": instant(self.state.as_of - timedelta(days=3), 10),
                }
            )
        return lots

    def _journey(
        self,
        journey_id: int,
        info: MemberInfo,
        status: JourneyStatus,
        administrative: dict[str, Any] | None,
        sites: list[Row],
        lots: list[Row],
    ) -> Row:
        missing = rules.missing_items(
            administrative,
            [
                rules.SiteState(
                    s["id"],
                    s["point_number"],
                    Segment(s["segment"]),
                    SiteDecision(s["decision"]),
                    s["lot_id"],
                )
                for s in sites
            ],
            [
                rules.LotState(
                    lot["id"], lot["name"], Segment(lot["segment"]), lot["is_multi_site"]
                )
                for lot in lots
            ],
        )
        # A validated journey is complete, as the API would have required.
        assert status is not JourneyStatus.VALIDATED or not missing, missing
        as_of = self.state.as_of
        touched = status is not JourneyStatus.NOT_STARTED
        edits = 0 if not touched else 2 + len(lots) * 2 + (1 if lots else 0)
        return {
            "id": journey_id,
            "campaign_id": CAMPAIGN_ID,
            "member_id": info.id,
            "version": 1 + edits,
            "status": status.value,
            "administrative": administrative,
            "steps_done": rules.steps_done(missing),
            "sites_total": len(sites),
            "sites_confirmed": sum(s["decision"] == "CONFIRMED" for s in sites),
            "sites_refused": sum(s["decision"] == "REFUSED" for s in sites),
            "started_at": instant(as_of - timedelta(days=8), 9) if touched else None,
            "updated_at": instant(as_of - timedelta(days=2), 15) if touched else None,
            "updated_by_user_id": MEMBER_USER_ID if info.id == DEMO_MEMBER_ID and touched else None,
            "validated_at": instant(as_of - timedelta(days=2), 15)
            if status is JourneyStatus.VALIDATED
            else None,
            "validated_by_user_id": None,
            "closed_at": None,
        }
