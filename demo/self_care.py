"""Self-care requests (legal name, addresses, invoice delivery, statements) with their
status histories, for every kind and status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from demo import names
from demo.logins import DEMO_MEMBER_ID, MEMBER_USER_ID, OPERATOR_ID
from demo.shapes import Batch, MemberInfo, Row
from demo.state import BuildState
from domain.enums import SelfCareRequestKind, SelfCareRequestStatus


class SelfCareBuilder:
    def __init__(self, state: BuildState, members: list[MemberInfo]) -> None:
        self.state = state
        self.rng = state.rng
        self.as_of = state.as_of
        self.members = members

    def batches(self) -> Iterator[Batch]:
        rng = self.rng
        requests: list[Row] = []
        events: list[Row] = []
        combos = [(k, s) for k in SelfCareRequestKind for s in SelfCareRequestStatus]
        extra = self.state.plan.technical_requests // 5
        combos += [
            (rng.choice(list(SelfCareRequestKind)), rng.choice(list(SelfCareRequestStatus)))
            for _ in range(extra)
        ]
        members = [m for m in self.members if m.account_ids]
        for i, (kind, status) in enumerate(combos):
            member = self.members[0] if i % 4 == 0 else rng.choice(members)
            account_id = rng.choice(member.account_ids)
            approved = status is SelfCareRequestStatus.APPROVED
            payload, account = self._payload(kind, member, account_id, approved)
            age = (
                rng.randint(1, 10)
                if status is SelfCareRequestStatus.SUBMITTED
                else rng.randint(15, 400)
            )
            submitted = self.state.moment(age)
            request_id = self.state.new_id("self_care_requests")
            path = {
                "SUBMITTED": ("SUBMITTED",),
                "IN_PROGRESS": ("SUBMITTED", "IN_PROGRESS"),
                "APPROVED": ("SUBMITTED", "IN_PROGRESS", "APPROVED"),
                "REJECTED": ("SUBMITTED", "IN_PROGRESS", "REJECTED"),
            }[status.value]
            submitter = MEMBER_USER_ID if member.id == DEMO_MEMBER_ID else None
            answer = {
                "APPROVED": "Modification effectuée.",
                "REJECTED": "Justificatif manquant (délibération du conseil).",
            }.get(status.value)
            when = submitted
            for step in path:
                events.append(
                    {
                        "id": self.state.new_id("self_care_request_events"),
                        "request_id": request_id,
                        "status": step,
                        "occurred_at": when,
                        "actor_user_id": submitter if step == "SUBMITTED" else OPERATOR_ID,
                        "comment": answer if step in ("APPROVED", "REJECTED") else None,
                    }
                )
                when = when + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6))
            requests.append(
                {
                    "id": request_id,
                    "reference": f"SC-{submitted.year}-{request_id:06d}",
                    "member_id": member.id,
                    "billing_account_id": account,
                    "kind": kind.value,
                    "status": status.value,
                    "payload": payload,
                    "answer": answer,
                    "submitted_by_user_id": submitter,
                    "submitted_at": submitted,
                    "updated_at": events[-1]["occurred_at"],
                }
            )
        yield "self_care_requests", requests
        yield "self_care_request_events", events

    def _payload(
        self, kind: SelfCareRequestKind, member: MemberInfo, account_id: int, approved: bool
    ) -> tuple[dict[str, Any], int | None]:
        """What was asked; an approved change was applied, so it matches today's data."""
        rng = self.rng
        if kind is SelfCareRequestKind.CHANGE_LEGAL_NAME:
            other = f"{member.legal_name} (ancienne dénomination)"
            return (
                {"legal_name": member.legal_name, "previous_legal_name": other}
                if approved
                else {"legal_name": f"{member.legal_name} – commune nouvelle"}
            ), None
        if kind is SelfCareRequestKind.CHANGE_LEGAL_ADDRESS:
            street = member.street if approved else names.street_address(rng)
            return {"street": street, "postcode": member.postcode, "city": member.commune}, None
        if kind is SelfCareRequestKind.CHANGE_INVOICE_DELIVERY:
            current = member.account_delivery[account_id]
            wanted = (
                current
                if approved
                else rng.choice([d for d in ("POST", "EMAIL", "CHORUS_PRO") if d != current])
            )
            return {"invoice_delivery": wanted}, account_id
        if kind is SelfCareRequestKind.CHANGE_BILLING_ADDRESS:
            street, postcode, city = member.account_address[account_id]
            if not approved:
                street = "Trésorerie, " + names.street_address(rng)
            return {"street": street, "postcode": postcode, "city": city}, account_id
        year = self.as_of.year - 1
        return {
            "from": date(year, 1, 1).isoformat(),
            "to": date(year, 12, 31).isoformat(),
            "format": "PDF",
        }, account_id
