"""Relay global IDs in inputs: decoded to a key of the expected type, or "not found"."""

from __future__ import annotations

import re
from typing import overload

from strawberry import relay

from domain.errors import ErrorCode, Refusal, not_found

# Keys are PostgreSQL `integer` columns: a larger number would overflow in the driver.
MAX_KEY = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


def key_of(node_id: object) -> int | None:
    """The integer key a global ID's node part names, or None when it names none (not ASCII
    digits, or beyond the column's range: such an object cannot exist)."""
    text = str(node_id)
    if not _DIGITS.fullmatch(text) or (key := int(text)) > MAX_KEY:
        return None
    return key


@overload
def pk_of(global_id: relay.GlobalID, type_name: str, field: str) -> int: ...


@overload
def pk_of(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None: ...
def pk_of(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    if global_id is None:
        return None
    key = key_of(global_id.node_id) if global_id.type_name == type_name else None
    if key is None:
        raise not_found(field)
    return key


def pks_of(global_ids: list[relay.GlobalID] | None, type_name: str, field: str) -> list[int]:
    return [pk for gid in global_ids or [] if (pk := pk_of(gid, type_name, field)) is not None]


MAX_FILTER_IDS = 100  # IDs a filter may name (a SQL `IN` list, not a dump of the perimeter)


def capped_pks_of(
    global_ids: list[relay.GlobalID] | None,
    type_name: str,
    field: str,
    *,
    at_most: int = MAX_FILTER_IDS,
) -> list[int]:
    """`pks_of` for a filter's list of IDs, refused with TOO_MANY_ITEMS beyond `at_most`."""
    if len(global_ids or []) > at_most:
        raise Refusal(ErrorCode.TOO_MANY_ITEMS, f"{at_most} identifiants au plus.", field=field)
    return pks_of(global_ids, type_name, field)
