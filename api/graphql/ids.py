"""Relay global IDs in inputs: decoded to a key of the expected type, or "not found"."""

from __future__ import annotations

from typing import overload

from strawberry import relay

from domain.errors import not_found


@overload
def pk_of(global_id: relay.GlobalID, type_name: str, field: str) -> int: ...
@overload
def pk_of(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None: ...
def pk_of(global_id: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    if global_id is None:
        return None
    if global_id.type_name != type_name or not str(global_id.node_id).isdigit():
        raise not_found(field)
    return int(global_id.node_id)


def pks_of(global_ids: list[relay.GlobalID] | None, type_name: str, field: str) -> list[int]:
    return [pk for gid in global_ids or [] if (pk := pk_of(gid, type_name, field)) is not None]
