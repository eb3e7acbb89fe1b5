"""Invoice disputes in every status: the main group's cancelled-and-reissued invoices as
resolved disputes, and recent invoices contested for each reason, open (some overdue),
rejected or settled by an explanation.

No random draw: the builder runs after the requests, before the second group and the C4
sites, whose rows must not depend on it (demo/generate.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from demo.invoices import InvoiceBuilder
from demo.logins import DEMO_MEMBER_ID, MEMBER_USER_ID, OPERATOR_ID
from demo.shapes import Batch, MemberInfo, Row, instant
from demo.state import BuildState
from domain.calendar import paris_date
from domain.enums import DisputeCorrection, DisputeReason, DisputeStatus
from domain.invoice_disputes import REASONS, due_on, reference_number

R, S = DisputeReason, DisputeStatus
# (reason, status, days before as_of it was received, what the customer wrote)
RECENT: tuple[tuple[DisputeReason, DisputeStatus, int, str], ...] = (
    (R.MISSING_DOCUMENT, S.RECEIVED, 1, "Merci de joindre le détail des relevés du trimestre."),
    (R.DISPUTED_INDEX, S.IN_ANALYSIS, 30, "Le compteur affiche un index plus bas."),
    (R.WRONG_TAXES, S.REJECTED, 60, "Le taux de TVA réduit devrait s'appliquer."),
    (R.WRONG_CHORUS_REFERENCES, S.RECEIVED, 9, "Le code service n'est pas le bon."),
    (R.PRICE_NOT_MATCHING_SCHEDULE, S.IN_ANALYSIS, 3, "Le prix du kWh ne suit pas le BPU."),
    (R.MISSING_DOCUMENT, S.RESOLVED, 45, "Pouvez-vous expliquer la régularisation ?"),
)
ANSWERS = {
    S.REJECTED: "Taux vérifié : la puissance souscrite dépasse le seuil du taux réduit.",
    S.RESOLVED: "Détail des relevés et calcul de la régularisation envoyés.",
}


class DisputeBuilder:
    def __init__(
        self, state: BuildState, members: list[MemberInfo], invoices: InvoiceBuilder
    ) -> None:
        self.state = state
        self.members = members
        self.invoices = invoices
        self.rows: list[Row] = []
        self.events: list[Row] = []

    def batches(self) -> Iterator[Batch]:
        owner = {a: m for m in self.members for a in m.account_ids}
        for original, cancellation, corrected in self.invoices.reissues:
            member = owner.get(original["billing_account_id"])
            if member is None:  # the second group's or a C4 account: not in the requests
                continue
            received = instant(original["accounting_date"] + timedelta(days=2), 9)
            self._dispute(
                member,
                original,
                R.WRONG_BILLING_STRUCTURE,
                S.RESOLVED,
                received,
                "Les sites ne sont pas répartis comme convenu.",
                closed=instant(cancellation["accounting_date"], 10),
                links=(cancellation["id"], corrected["id"]),
            )
        # Recent invoices contested for each reason: the demo member's first, then every
        # tenth member's, cycling through the reasons and statuses.
        chosen = [m for m in self.members if m.id == DEMO_MEMBER_ID]
        chosen += [m for m in self.members[1::10] if m.id != DEMO_MEMBER_ID]
        turn = 0
        for member in chosen:
            for account_id in member.account_ids:
                invoice = self.invoices.latest.get(account_id)
                if invoice is None or invoice["payment_status"] == "CANCELLED":
                    continue
                reason, status, age, comment = RECENT[turn % len(RECENT)]
                turn += 1
                # never before the invoice it contests, never after today
                day = max(
                    self.state.as_of - timedelta(days=age),
                    min(invoice["accounting_date"] + timedelta(days=1), self.state.as_of),
                )
                received = instant(day, 9)
                closed = (
                    received + timedelta(days=4) if status in (S.RESOLVED, S.REJECTED) else None
                )
                self._dispute(member, invoice, reason, status, received, comment, closed=closed)
                if member.id != DEMO_MEMBER_ID or turn >= len(RECENT):
                    break
        yield "invoice_disputes", self.rows
        yield "invoice_dispute_events", self.events

    def _dispute(
        self,
        member: MemberInfo,
        invoice: Row,
        reason: DisputeReason,
        status: DisputeStatus,
        received: datetime,
        comment: str,
        *,
        closed: datetime | None,
        links: tuple[int, int] | None = None,
    ) -> None:
        dispute_id = self.state.new_id("invoice_disputes")
        claim = "REC-" + str(invoice["id"]).zfill(8) if reason is R.DISPUTED_INDEX else None
        received_on = paris_date(received)
        author = MEMBER_USER_ID if member.id == DEMO_MEMBER_ID else None
        path = {
            S.RECEIVED: (S.RECEIVED,),
            S.IN_ANALYSIS: (S.RECEIVED, S.IN_ANALYSIS),
            S.RESOLVED: (S.RECEIVED, S.IN_ANALYSIS, S.RESOLVED),
            S.REJECTED: (S.RECEIVED, S.IN_ANALYSIS, S.REJECTED),
        }[status]
        answer = ANSWERS.get(status) if links is None else "Facture annulée et rééditée."
        when = received
        for step in path:
            if step in (S.RESOLVED, S.REJECTED) and closed is not None:
                when = closed
            self.events.append(
                {
                    "id": self.state.new_id("invoice_dispute_events"),
                    "request_id": dispute_id,
                    "status": step.value,
                    "occurred_at": when,
                    "actor_user_id": author if step is S.RECEIVED else OPERATOR_ID,
                    "comment": answer if step in (S.RESOLVED, S.REJECTED) else None,
                }
            )
            when = when + timedelta(days=1)
        figures: dict[str, object] = {"point_numbers": []}
        if reason is R.DISPUTED_INDEX:
            figures["index"] = {"value": 12345, "register": None, "read_on": None}
        correction = REASONS[reason].correction if status is S.RESOLVED else None
        self.rows.append(
            {
                "id": dispute_id,
                "reference": reference_number(received_on.year, dispute_id),
                "invoice_id": invoice["id"],
                "billing_account_id": invoice["billing_account_id"],
                "member_id": member.id,
                "reason": reason.value,
                "status": status.value,
                "correction": correction.value if correction else None,
                "comment": comment,
                "site_ids": [],
                "figures": figures,
                "distributor_claim_number": claim if status is not S.RECEIVED else None,
                "answer": answer if status in (S.RESOLVED, S.REJECTED) else None,
                "received_on": received_on,
                "due_on": due_on(reason, received_on, claim_filed=claim is not None),
                "cancellation_invoice_id": links[0] if links else None,
                "reissued_invoice_id": links[1] if links else None,
                "submitted_by_user_id": author,
                "submitted_at": received,
                "updated_at": self.events[-1]["occurred_at"],
                "closed_at": closed,
            }
        )
        assert correction in (None, DisputeCorrection.CLARIFICATION) or links is not None
