"""Statements built once per shape (db/prepared.py): a template run with a request's values
answers what the statement built from those values answers, one template serves every value
of a shape, and the shape separates what changes the SQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db import prepared
from db.core import SITES, core
from db.prepared import Stand, Templates, UnboundStandIn, template_of
from db.scoped import Perimeter, scoped_sites
from tests.factories import make_world


def _sites(perimeter: Perimeter, point_like: str | None) -> Any:
    statement = scoped_sites(perimeter, SITES.c.id)
    if point_like is not None:
        statement = statement.where(SITES.c.point_number.like(f"%{point_like}%"))
    return statement.order_by(SITES.c.id)


async def _both(
    sessions: async_sessionmaker[AsyncSession], perimeter: Perimeter, point_like: str | None
) -> tuple[list[int], list[int]]:
    stand = Stand()
    scope = stand.perimeter(perimeter)
    pattern = stand.value(point_like)
    async with sessions() as session:
        direct = [r.id for r in await core(session, _sites(perimeter, point_like))]
        templated = [
            r.id
            for r in await prepared.run(
                session, "test.sites", lambda: _sites(scope, pattern), stand
            )
        ]
    return direct, templated


async def test_a_template_answers_as_the_statement_it_stands_for(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    mine = await make_world(session_factory, "Gabarit")
    other = await make_world(session_factory, "Gabarit autre")
    perimeters = [
        Perimeter(group_ids=frozenset({mine.group.id})),
        Perimeter(group_ids=frozenset({mine.group.id, other.group.id})),
        Perimeter(member_ids=frozenset({other.member.id})),
        Perimeter(billing_account_ids=frozenset(a.id for a in mine.accounts[:2])),
        Perimeter(
            group_ids=frozenset({other.group.id}),
            billing_account_ids=frozenset({mine.accounts[2].id}),
            served_since=date(2021, 12, 2),
        ),
        Perimeter.nobody(),
        Perimeter(served_since=date(2021, 12, 2)),
    ]
    point = mine.sites[1].point_number[-6:]
    for perimeter in perimeters:
        for like in (None, point):
            direct, templated = await _both(session_factory, perimeter, like)
            assert templated == direct, (perimeter, like)
    assert await _both(session_factory, perimeters[1], None) != ([], [])


def test_one_template_per_shape() -> None:
    templates = Templates()
    built: list[int] = []

    def template(perimeter: Perimeter) -> prepared.Template:
        stand = Stand()
        scope = stand.perimeter(perimeter)

        def build() -> Any:
            built.append(1)
            return _sites(scope, None)

        return templates.get(tuple(stand.shape), build, len(stand.values))

    one = template(Perimeter(group_ids=frozenset({1})))
    assert template(Perimeter(group_ids=frozenset({7, 8, 9}))) is one  # lists of any length
    assert len(built) == 1
    assert template(Perimeter(member_ids=frozenset({1}))) is not one  # another scope
    assert template(Perimeter(group_ids=frozenset({1}), served_since=date(2021, 1, 1))) is not one


def test_stand_ins_bind_each_kind_of_value() -> None:
    stand = Stand()
    values = [7, Decimal("12.50"), date(2026, 5, 1), "ABC", frozenset({3, 1})]
    ins = [stand.value(v) for v in values[:4]] + [stand.ids(values[4])]
    statement = sa.select(SITES.c.id).where(
        SITES.c.id == ins[0],
        SITES.c.car_kwh == ins[1],
        SITES.c.supply_start == ins[2],
        SITES.c.city.like(f"{ins[3]}%"),
        SITES.c.member_id.in_(sorted(ins[4])),
    )
    template = template_of(statement, len(stand.values))
    assert sorted(template.bind(stand.values).values(), key=str) == sorted(
        [7, Decimal("12.50"), date(2026, 5, 1), "ABC%", [1, 3]], key=str
    )


def test_a_list_mixing_a_stand_in_with_values_is_refused() -> None:
    stand = Stand()
    mixed = [*stand.ids({5}), 4]
    with pytest.raises(UnboundStandIn):
        template_of(sa.select(SITES.c.id).where(SITES.c.id.in_(mixed)), len(stand.values))
