"""The portfolio summary: counts by energy, segment and status, and CAR classes, in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.resolvers.portfolio import SiteCriteria, site_conditions
from db.core import core_rows
from db.models import Site
from db.scoped import Perimeter
from domain.consumption_classes import CAR_CLASSES, CarClass
from domain.enums import Energy, Segment, SiteStatus

EXCLUDED_FROM_CHARTS = (SiteStatus.TERMINATED, SiteStatus.TERMINATING)


@dataclass
class Summary:
    sites: int = 0
    by_energy: dict[Energy, int] = field(default_factory=dict)
    by_segment: dict[Segment, int] = field(default_factory=dict)
    by_status: dict[SiteStatus, int] = field(default_factory=dict)
    classes: list[tuple[CarClass, int]] = field(default_factory=list)
    excluded: int = 0


def _class_of() -> sa.ColumnElement[int]:
    """The index of a site's CAR class, in SQL."""
    return sa.case(
        *(
            (col(Site.car_kwh) < c.max_kwh, index)
            for index, c in enumerate(CAR_CLASSES)
            if c.max_kwh is not None
        ),
        else_=len(CAR_CLASSES) - 1,
    )


async def portfolio_summary(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, criteria: SiteCriteria
) -> Summary:
    """One GROUP BY over the matching sites: energy × segment × status × CAR class."""
    car_class = _class_of().label("car_class")
    query = (
        sa.select(col(Site.energy), col(Site.segment), col(Site.status), car_class, sa.func.count())
        .where(*site_conditions(perimeter, criteria))
        .group_by(col(Site.energy), col(Site.segment), col(Site.status), car_class)
    )
    summary = Summary(
        by_energy=dict.fromkeys(Energy, 0),
        by_segment={},
        by_status=dict.fromkeys(SiteStatus, 0),
    )
    per_class = [0] * len(CAR_CLASSES)
    async with sessions() as session:
        rows = await core_rows(session, query)
    for energy, segment, status, class_index, count in rows:
        summary.sites += count
        summary.by_energy[Energy(energy)] += count
        summary.by_segment[Segment(segment)] = summary.by_segment.get(Segment(segment), 0) + count
        summary.by_status[SiteStatus(status)] += count
        if SiteStatus(status) in EXCLUDED_FROM_CHARTS:
            summary.excluded += count
        else:
            per_class[class_index] += count
    summary.by_segment = {s: summary.by_segment[s] for s in Segment if s in summary.by_segment}
    summary.classes = list(zip(CAR_CLASSES, per_class, strict=True))
    return summary
