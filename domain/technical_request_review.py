"""The coordinator's yearly review of technical requests: per member and type, how many were
filed, where each stands, and how long the distributor took (median working days from filing
to the intervention). Pure: the rows come in, the review's lines go out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from statistics import median

from domain.calendar import working_days_between
from domain.enums import TechnicalRequestStatus, TechnicalRequestType

ALL_MEMBERS = "Tous les membres"


@dataclass(frozen=True, slots=True)
class FiledRequest:
    member_legal_name: str
    request_type: TechnicalRequestType
    status: TechnicalRequestStatus
    submitted_on: date
    done_on: date | None  # the intervention's day, once DONE


@dataclass(frozen=True, slots=True)
class ReviewLine:
    member_legal_name: str  # ALL_MEMBERS on the totals per type
    request_type: TechnicalRequestType
    count: int
    by_status: dict[TechnicalRequestStatus, int]
    # Working days from filing to the intervention, over the DONE requests (None: none done).
    median_lead_working_days: float | None


def _line(member: str, kind: TechnicalRequestType, requests: list[FiledRequest]) -> ReviewLine:
    by_status = dict.fromkeys(TechnicalRequestStatus, 0)
    for request in requests:
        by_status[request.status] += 1
    leads = [
        working_days_between(r.submitted_on, r.done_on)
        for r in requests
        if r.status is TechnicalRequestStatus.DONE and r.done_on is not None
    ]
    return ReviewLine(
        member, kind, len(requests), by_status, float(median(leads)) if leads else None
    )


def yearly_review(requests: Iterable[FiledRequest]) -> list[ReviewLine]:
    """One line per member and type (members A to Z, types in catalogue order), then one line
    per type over all members."""
    by_member: dict[tuple[str, TechnicalRequestType], list[FiledRequest]] = defaultdict(list)
    by_type: dict[TechnicalRequestType, list[FiledRequest]] = defaultdict(list)
    for request in requests:
        by_member[(request.member_legal_name, request.request_type)].append(request)
        by_type[request.request_type].append(request)
    order = {kind: rank for rank, kind in enumerate(TechnicalRequestType)}
    lines = [
        _line(member, kind, group)
        for (member, kind), group in sorted(
            by_member.items(), key=lambda item: (item[0][0], order[item[0][1]])
        )
    ]
    lines += [
        _line(ALL_MEMBERS, kind, group)
        for kind, group in sorted(by_type.items(), key=lambda item: order[item[0]])
    ]
    return lines
