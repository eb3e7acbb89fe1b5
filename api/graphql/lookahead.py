"""Looking ahead at the selection: a list's root resolver loads only the levels asked for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField


def _children(selection: Any) -> Iterable[Any]:
    return getattr(selection, "selections", []) or []


def _fields_named(selections: Iterable[Any], name: str) -> list[SelectedField]:
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                found.append(selection)
        elif isinstance(selection, InlineFragment | FragmentSpread):
            found.extend(_fields_named(_children(selection), name))
    return found


def selects(info: strawberry.Info, *path: str) -> bool:
    """True when the query selects `path` below the current field (through fragments)."""
    level: list[Any] = list(info.selected_fields)
    for name in path:
        selections = [child for field in level for child in _children(field)]
        level = _fields_named(selections, name)
        if not level:
            return False
    return True
