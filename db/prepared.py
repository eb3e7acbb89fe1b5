"""Statements built once per shape and run with each request's values (issue 11).

SQLAlchemy compiles a statement once and caches it, but every request still builds the
statement's objects again (the perimeter's predicates, the joins, a hundred labelled columns)
and walks the whole tree to compute its cache key: measured at 1.5–3 ms of CPU per statement
on the parc list, against a fraction of a millisecond to run it. A `Template` is built once per
*shape* (what changes the SQL: which scopes a perimeter has, which criteria are set, the
ordering, the page size) by the very same builders (`db/scoped.py`, the resolvers' queries),
from stand-in values; each stand-in's bound parameter is then renamed, and a request runs the
cached statement object with its own values as parameters. The SQL is exactly the builders'
(the perimeter stays in it, bound as parameters), SQLAlchemy's compiled cache always hits, and
the cache key of a reused statement is computed once.

    stand = Stand()
    perimeter = stand.perimeter(ctx.perimeter)  # stand-ins, and the real values recorded
    key = ("sites.count", order, first)         # everything else the SQL depends on
    rows = await run(session, key, lambda: count_statement(perimeter), stand)

The builder must use the stand-ins it is given and nothing else of the request (whatever else
it reads is part of `key`), and only put them in the SQL, never test them in Python. A value
the stand cannot stand for (an enum, a boolean, None) goes in the key instead (`stand.fixed`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from db.core import RowValues
from db.request_reads import connection_of
from db.scoped import Perimeter

MAX_TEMPLATES = 512  # shapes kept per process (least recently used out)

# Stand-ins no real value can equal: negative ids far below any key, amounts near the lowest
# a column holds, dates in the year 1000, texts with NUL characters (refused by every input
# check) around digits (so that upper() or strip() keep them).
_INT_BASE = -7_000_000_000_000
_AMOUNT_BASE = Decimal("-999999990000.00")
_DAY_ONE = date(1000, 1, 1)
_TEXT = re.compile("\x00(\\d+)\x00")
_SLOTS = 100_000


def _int_stand(slot: int) -> int:
    return _INT_BASE - slot


def _text_stand(slot: int) -> str:
    return f"\x00{slot}\x00"


def _slot_of(value: Any) -> int | None:
    if type(value) is int and _INT_BASE - _SLOTS < value <= _INT_BASE:
        return _INT_BASE - value
    if type(value) is Decimal and _AMOUNT_BASE - _SLOTS < value <= _AMOUNT_BASE:
        return int(_AMOUNT_BASE - value)
    if type(value) is date and _DAY_ONE <= value < _DAY_ONE + timedelta(days=_SLOTS):
        return (value - _DAY_ONE).days
    if type(value) is str:
        found = _TEXT.fullmatch(value)
        if found:
            return int(found.group(1))
    return None


class Stand:
    """The stand-ins of one request: each call records the real value in a slot and returns
    a value that stands for it while a template is built; `shape` collects the values put in
    the key instead."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.shape: list[Hashable] = []

    def value(self, real: Any) -> Any:
        """A stand-in for an id, a number, a date or a text (None stays None, in the shape)."""
        if real is None or isinstance(real, bool):
            return self.fixed(real)
        slot = len(self.values)
        self.values.append(real)
        self.shape.append(type(real).__name__)
        if isinstance(real, int):
            return _int_stand(slot)
        if isinstance(real, Decimal):
            return _AMOUNT_BASE - slot
        if isinstance(real, date):
            return _DAY_ONE + timedelta(days=slot)
        if isinstance(real, str):
            return _text_stand(slot)
        raise TypeError(f"no stand-in for {type(real).__name__}")

    def ids(self, real: Iterable[int]) -> frozenset[int]:
        """A set of ids (an `IN` list, whatever its length): empty stays empty (the SQL
        differs), otherwise one stand-in id for the whole list."""
        values = sorted(set(real))
        self.shape.append(bool(values))
        if not values:
            return frozenset()
        slot = len(self.values)
        self.values.append(values)
        return frozenset({_int_stand(slot)})

    def fixed(self, value: Hashable) -> Any:
        """A value the SQL depends on as it is: part of the key."""
        self.shape.append(value)
        return value

    def perimeter(self, real: Perimeter) -> Perimeter:
        return Perimeter(
            self.ids(real.group_ids),
            self.ids(real.member_ids),
            self.ids(real.billing_account_ids),
            served_since=self.value(real.served_since),
        )


@dataclass(frozen=True, slots=True)
class Template:
    statement: sa.Executable
    # (parameter name, slot, text pattern or None): a text stand-in inside a longer text
    # (`LIKE '%…%'`) is replaced in that text.
    parameters: tuple[tuple[str, int, str | None], ...]

    def bind(self, values: list[Any]) -> dict[str, Any]:
        bound = {}
        for name, slot, pattern in self.parameters:
            value = values[slot]
            if pattern is not None:
                value = pattern.replace(_text_stand(slot), value)
            bound[name] = value
        return bound


class UnboundStandIn(Exception):
    """A stand-in went into the SQL in a way the template cannot rebind (a bug: fix the
    builder, or put the value in the key)."""


def template_of(statement: sa.Executable, slots: int) -> Template:
    """The statement with each stand-in's bound parameter renamed `s<slot>_<n>`."""
    parameters: list[tuple[str, int, str | None]] = []

    def rename(element: Any, **_: Any) -> Any:
        if not isinstance(element, BindParameter):
            return None
        value = element.value
        slot: int | None
        pattern = None
        if isinstance(value, list | tuple):
            found = {_slot_of(v) for v in value}
            if not value or found == {None}:
                return None
            if len(found) != 1 or len(value) != 1:
                raise UnboundStandIn(f"a list mixing stand-ins: {value!r}")
            slot = found.pop()
        else:
            slot = _slot_of(value)
            if slot is None and isinstance(value, str) and _TEXT.search(value):
                matches = _TEXT.findall(value)
                if len(matches) != 1:
                    raise UnboundStandIn(f"several stand-ins in one text: {value!r}")
                slot, pattern = int(matches[0]), value
        if slot is None:
            return None
        if slot >= slots:
            raise UnboundStandIn(f"a stand-in of no slot: {value!r}")
        name = f"s{slot}_{len(parameters)}"
        parameters.append((name, slot, pattern))
        return sa.bindparam(
            name,
            type_=element.type,
            expanding=element.expanding,
            literal_execute=element.literal_execute,
        )

    # A stand-in may reach no parameter: SQLAlchemy folds `false AND …` (an empty perimeter
    # with a retention cut-off), and the SQL then does not depend on it.
    rebuilt: Any = visitors.replacement_traverse(statement, {}, rename)  # type: ignore[call-overload]
    return Template(rebuilt, tuple(parameters))


class Templates:
    """The process's templates by key (least recently used out)."""

    def __init__(self, size: int = MAX_TEMPLATES) -> None:
        self.size = size
        self._templates: OrderedDict[Hashable, Template] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], sa.Executable], slots: int) -> Template:
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = template_of(build(), slots)
            if len(self._templates) > self.size:
                self._templates.popitem(last=False)
        else:
            self._templates.move_to_end(key)
        return template


TEMPLATES = Templates()


async def run(
    session: AsyncSession, key: Hashable, build: Callable[[], sa.Executable], stand: Stand
) -> sa.CursorResult[*RowValues]:
    """Runs the template of `key` (built by `build` from `stand`'s stand-ins on first use)
    with `stand`'s real values, on the session's connection (Core rows)."""
    connection = await connection_of(session)
    full_key = (connection.dialect.name, key, tuple(stand.shape))
    template = TEMPLATES.get(full_key, build, len(stand.values))
    return await connection.execute(template.statement, template.bind(stand.values))
