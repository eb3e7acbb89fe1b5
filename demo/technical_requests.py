"""Technical requests to the distributor, with their status histories, in every status."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from demo import identifiers as ids
from demo import names
from demo.logins import ADMIN_ID, DEMO_MEMBER_ID, MEMBER_USER_ID, OPERATOR_ID
from demo.shapes import Batch, MemberInfo, Row
from demo.state import BuildState
from domain.enums import TechnicalRequestStatus

_COMMON_TYPES = (
    "SUPPLIER_CHANGE",
    "TERMINATION",
    "METER_CHECK",
    "METER_MOVE",
    "CLAIM",
    "MISCELLANEOUS",
    "COMMISSIONING",
    "TEMPORARY_CUT",
    "METER_REMOVAL",
    "CONNECTION",
    "TEMPORARY_CONNECTION",
    "NETWORK_SEPARATION",
    "DISTRIBUTOR_COMMUNICATION",
    "ADD_SITE_SUPPLIER_CHANGE",
    "ADD_SITE_COMMISSIONING",
)
_ELECTRICITY_TYPES = (
    "POWER_CHANGE",
    "TARIFF_OPTION_CHANGE",
    "EXPRESS_COMMISSIONING",
    "BREAKER_CHANGE",
    "OPTIMISATION",
    "TELEMETRY_ACTIVATION",
)
# The status paths a request can have followed, ending on its current status.
_PATHS = {
    "SUBMITTED": ("SUBMITTED",),
    "FORWARDED": ("SUBMITTED", "FORWARDED"),
    "SCHEDULED": ("SUBMITTED", "FORWARDED", "SCHEDULED"),
    "DONE": ("SUBMITTED", "FORWARDED", "SCHEDULED", "DONE"),
    "ABANDONED": ("SUBMITTED", "FORWARDED", "ABANDONED"),
    "REJECTED": ("SUBMITTED", "FORWARDED", "REJECTED"),
}
_EVENT_COMMENTS = {
    "SUBMITTED": "Demande enregistrée, récapitulatif envoyé par courriel",
    "FORWARDED": "Transmise au distributeur",
    "SCHEDULED": "Rendez-vous fixé par le distributeur",
    "DONE": "Intervention réalisée",
    "ABANDONED": "Demande abandonnée à la demande du client",
    "REJECTED": "Refusée par le distributeur : pièces justificatives manquantes",
}


class TechnicalRequestBuilder:
    def __init__(
        self, state: BuildState, members: list[MemberInfo], point_counter: dict[str, int]
    ) -> None:
        self.state = state
        self.rng = state.rng
        self.as_of = state.as_of
        self.members = members
        # Sites added by a request get point numbers past the parc's.
        self.point_counter = point_counter

    def _contact(self, member: MemberInfo) -> tuple[str, str, str]:
        first, last = names.person(self.rng)
        email = f"{names.ascii_slug(first)}.{names.ascii_slug(last)}@{member.email_domain}"
        return (
            f"{first} {last}",
            f"06 {self.rng.randint(10, 99)} {self.rng.randint(10, 99)} "
            f"{self.rng.randint(10, 99)} {self.rng.randint(10, 99)}",
            email,
        )

    def batches(self) -> Iterator[Batch]:
        rng = self.rng
        members = [m for m in self.members if m.sites]
        statuses = list(TechnicalRequestStatus)
        requests: list[Row] = []
        events: list[Row] = []
        attachments: list[Row] = []
        count = self.state.plan.technical_requests
        for i in range(count):
            member = self.members[0] if i % 5 == 0 else rng.choice(members)
            status = (
                statuses[i % len(statuses)].value
                if i < 2 * len(statuses)
                else rng.choices([s.value for s in statuses], (8, 10, 10, 45, 15, 12))[0]
            )
            types = _COMMON_TYPES + (_ELECTRICITY_TYPES if member.energy == "ELECTRICITY" else ())
            request_type = types[i % len(types)] if i < len(types) else rng.choice(types)
            site = rng.choice(member.sites)
            new_site = request_type.startswith("ADD_SITE")
            age = rng.randint(1, 6) if status == "SUBMITTED" else rng.randint(20, 540)
            submitted = self.state.moment(age)
            request_id = self.state.new_id("technical_requests")
            reference = f"DT-{submitted.year}-{request_id:06d}"
            details: dict[str, Any] = {}
            point: str | None = site.point_number
            if new_site:
                counter = self.point_counter[member.energy] + 10_000 + i
                point = (
                    (ids.prm(counter) if member.energy == "ELECTRICITY" else ids.pce(counter))
                    if request_type == "ADD_SITE_SUPPLIER_CHANGE"
                    else None
                )
                details = {
                    "designation": rng.choice(
                        (
                            "Nouvelle école maternelle",
                            "Maison des associations",
                            "Vestiaires du stade",
                            "Local technique",
                        )
                    ),
                    "street": names.street_address(rng),
                    "postcode": member.postcode,
                    "city": member.commune,
                    "billing_label": "Budget principal",
                    "green_share_pct": rng.choice((0, 0, 50, 100)),
                    "segment": "C5" if member.energy == "ELECTRICITY" else "T2",
                }
                if member.energy == "ELECTRICITY":
                    details |= {
                        "subscribed_power_kva": str(rng.choice((6, 9, 12, 18))),
                        "tariff_option": rng.choice(("BASE", "HP/HC")),
                    }
                else:
                    details |= {"car_kwh": rng.randint(20_000, 120_000)}
            elif request_type == "POWER_CHANGE":
                current = int(site.kva or 9)
                details = {
                    "current_power_kva": str(current),
                    "requested_power_kva": str(min(36, current + 3)),
                }
            elif request_type == "TARIFF_OPTION_CHANGE":
                details = {
                    "current_tariff_option": site.tariff_option,
                    "requested_tariff_option": "BASE" if site.tariff_option != "BASE" else "HP/HC",
                }
            elif request_type == "TERMINATION":
                details = {
                    "requested_date": (submitted.date() + timedelta(days=30)).isoformat(),
                    "reason": "Bâtiment vendu",
                }
            else:
                details = {"desired_date": (submitted.date() + timedelta(days=21)).isoformat()}
            contact_name, contact_phone, contact_email = self._contact(member)
            path = _PATHS[status]
            forwarded = "FORWARDED" in path
            distributor = "GRDF" if member.energy == "GAS" else "ENEDIS"
            case = (
                (
                    f"OMEGA{rng.randint(10**8, 10**9 - 1)}"
                    if distributor == "GRDF"
                    else f"SGE{rng.randint(10**9, 10**10 - 1)}"
                )
                if forwarded
                else None
            )
            appointment = None
            if "SCHEDULED" in path:
                day = submitted.date() + timedelta(days=rng.randint(8, 25))
                appointment = datetime(
                    day.year, day.month, day.day, rng.choice((7, 12)), 0, tzinfo=UTC
                )
            submitter = (
                MEMBER_USER_ID if member.id == DEMO_MEMBER_ID else rng.choice((ADMIN_ID, None))
            )
            when = submitted
            for step in path:
                events.append(
                    {
                        "id": self.state.new_id("technical_request_events"),
                        "request_id": request_id,
                        "status": step,
                        "occurred_at": when,
                        "actor_user_id": submitter if step == "SUBMITTED" else OPERATOR_ID,
                        "comment": _EVENT_COMMENTS[step],
                    }
                )
                when = when + timedelta(
                    days=rng.randint(1, 2) if step == "SUBMITTED" else rng.randint(3, 12),
                    hours=rng.randint(0, 5),
                )
            requests.append(
                {
                    "id": request_id,
                    "reference": reference,
                    "member_id": member.id,
                    "billing_account_id": site.account_id,
                    "site_id": None if new_site else site.id,
                    "request_type": request_type,
                    "status": status,
                    "energy": member.energy,
                    "point_number": point,
                    "contact_name": contact_name,
                    "contact_phone": contact_phone,
                    "contact_email": contact_email,
                    "details": details,
                    "comment": rng.choice(
                        (
                            None,
                            "Accès par le portail côté parking, clé en mairie",
                            "Merci de prévenir le secrétariat de mairie la veille",
                        )
                    ),
                    "distributor_case_number": case,
                    "appointment_at": appointment,
                    "submitted_by_user_id": submitter,
                    "submitted_at": submitted,
                    "updated_at": events[-1]["occurred_at"],
                }
            )
            if new_site or i % 15 == 0:
                filename = "bon-de-commande-signe.pdf"
                attachments.append(
                    {
                        "id": self.state.new_id("technical_request_attachments"),
                        "request_id": request_id,
                        "filename": filename,
                        "content_type": "application/pdf",
                        "size_bytes": rng.randint(80_000, 900_000),
                        "sha256": hashlib.sha256(reference.encode()).hexdigest(),
                        "storage_key": f"attachments/{reference}/{filename}",
                        "uploaded_by_user_id": submitter,
                        "created_at": submitted,
                    }
                )
        yield "technical_requests", requests
        yield "technical_request_events", events
        yield "technical_request_attachments", attachments
