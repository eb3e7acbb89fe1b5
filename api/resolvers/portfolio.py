"""The parc: which sites match a filter inside the perimeter, and the rows a page shows.

`sites_matching` is the one way to turn a customer's filter into SQL: lists, summaries and
exports all start from it, so they always agree and always stay inside the perimeter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from db.models import Alert, Member, Meter, Site
from db.scoped import Perimeter, billing_account_in
from domain.enums import (
    AlertStatus,
    Distributor,
    Energy,
    MeterKind,
    Segment,
    SiteStatus,
)
from domain.search import search_words


@dataclass(frozen=True, slots=True)
class SiteCriteria:
    """A customer's filter on the parc; empty tuples mean "any"."""

    text: str | None = None
    energies: tuple[Energy, ...] = ()
    segments: tuple[Segment, ...] = ()
    statuses: tuple[SiteStatus, ...] = ()
    member_ids: tuple[int, ...] = ()
    billing_account_ids: tuple[int, ...] = ()
    distributors: tuple[Distributor, ...] = ()
    meter_kinds: tuple[MeterKind, ...] = ()
    communicating: bool | None = None
    with_open_alerts: bool | None = None


def _current_meters() -> Any:
    return select(Meter.site_id).where(Meter.removed_on.is_(None))  # type: ignore[union-attr]


def site_conditions(perimeter: Perimeter, criteria: SiteCriteria) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses: the perimeter first, then each criterion."""
    where: list[sa.ColumnElement[bool]] = [
        billing_account_in(perimeter, Site.billing_account_id, Site.member_id)
    ]
    for word in search_words(criteria.text or ""):
        where.append(Site.search_text.like(f"%{word}%"))  # type: ignore[attr-defined]
    for column, values in (
        (Site.energy, criteria.energies),
        (Site.segment, criteria.segments),
        (Site.status, criteria.statuses),
        (Site.member_id, criteria.member_ids),
        (Site.billing_account_id, criteria.billing_account_ids),
        (Site.distributor, criteria.distributors),
    ):
        if values:
            where.append(column.in_(sorted(set(values))))  # type: ignore[attr-defined]
    meters = _current_meters()
    if criteria.meter_kinds:
        where.append(
            Site.id.in_(meters.where(Meter.kind.in_(sorted(set(criteria.meter_kinds)))))  # type: ignore[union-attr,attr-defined]
        )
    if criteria.communicating is not None:
        where.append(
            Site.id.in_(meters.where(Meter.is_communicating == criteria.communicating))  # type: ignore[union-attr]
        )
    if criteria.with_open_alerts is not None:
        open_alerts = select(Alert.site_id).where(Alert.status != AlertStatus.RESOLVED)
        has_open = Site.id.in_(open_alerts)  # type: ignore[union-attr]
        where.append(has_open if criteria.with_open_alerts else sa.not_(has_open))
    return where


def sites_matching(perimeter: Perimeter, criteria: SiteCriteria, *columns: Any) -> Any:
    """`SELECT columns FROM sites WHERE <perimeter and criteria>` (Site objects by default)."""
    return select(*(columns or (Site,))).where(*site_conditions(perimeter, criteria))


class SiteOrder(StrEnum):
    POINT_NUMBER = "POINT_NUMBER"
    LEGAL_NAME = "LEGAL_NAME"
    CITY = "CITY"
    POSTCODE = "POSTCODE"
    INTERNAL_CODE = "INTERNAL_CODE"
    SEGMENT = "SEGMENT"
    CAR_DESC = "CAR_DESC"
    SUPPLY_START_DESC = "SUPPLY_START_DESC"


# The sort key of each ordering (ties broken by id, in the same direction), and whether it
# descends. Nullable columns are coalesced so that keyset comparisons stay total.
ORDER_KEYS: dict[SiteOrder, tuple[Any, bool]] = {
    SiteOrder.POINT_NUMBER: (Site.point_number, False),
    SiteOrder.LEGAL_NAME: (Member.legal_name, False),
    SiteOrder.CITY: (Site.city, False),
    SiteOrder.POSTCODE: (Site.postcode, False),
    SiteOrder.INTERNAL_CODE: (sa.func.coalesce(Site.internal_code, ""), False),
    SiteOrder.SEGMENT: (Site.segment, False),
    SiteOrder.CAR_DESC: (Site.car_kwh, True),
    SiteOrder.SUPPLY_START_DESC: (Site.supply_start, True),
}
