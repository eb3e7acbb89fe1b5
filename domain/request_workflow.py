"""What every request workflow shares: a table of allowed moves, checked with a message that
names the statuses allowed next, and the free-text note (comment or reason) each step carries.

Technical requests (`domain.technical_request_workflow`) and self-care requests
(`domain.self_care_requests`) each hold their own table and labels and check moves here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from domain.errors import ErrorCode, Refusal

NOTE_LIMIT = 2000
S = TypeVar("S", bound=StrEnum)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def allowed_moves(table: Mapping[S, frozenset[S]], status: S) -> list[S]:
    """The statuses `status` may move to, in the enum's order."""
    order = list(type(status))
    return sorted(table.get(status, frozenset()), key=order.index)


def check_move(
    table: Mapping[S, frozenset[S]],
    labels: Mapping[S, str],
    status: S,
    to: S,
    *,
    closed_message: str | None = None,
) -> None:
    """Refuses a move outside `table` (INVALID_STATE), naming the statuses allowed next."""
    allowed = allowed_moves(table, status)
    if to in allowed:
        return
    if allowed:
        names = ", ".join(f"{labels[s]} ({s.value})" for s in allowed)
        message = (
            f"Une demande « {labels[status]} » ne peut passer à « {labels[to]} » : "
            f"seuls sont permis {names}."
        )
    else:
        message = (
            closed_message or f"Une demande « {labels[status]} » est close : elle n'évolue plus."
        )
    raise Refusal(ErrorCode.INVALID_STATE, message, field="status")


def clean_note(value: str | None, *, required: bool, field: str = "note") -> str | None:
    """A comment or a reason: trimmed, line breaks allowed, other control characters refused,
    2,000 characters at most; REQUIRED when a reason is needed and none is given."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise Refusal(ErrorCode.REQUIRED, "Un motif est obligatoire.", field=field)
        return None
    if _CONTROL.search(cleaned):
        raise Refusal(
            ErrorCode.INVALID,
            "Caractères de contrôle interdits (les retours à la ligne sont permis).",
            field=field,
        )
    if len(cleaned) > NOTE_LIMIT:
        raise Refusal(ErrorCode.TOO_LONG, f"{NOTE_LIMIT} caractères au plus.", field=field)
    return cleaned
