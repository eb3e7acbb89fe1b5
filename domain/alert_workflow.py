"""What a person may do to an alert: OPEN → ACKNOWLEDGED → RESOLVED, and the comments they
write on the way.

Detection (`domain/alerts.py`) opens alerts and resolves them by itself when their cause goes;
a person acknowledges an open alert ("pris en compte") and resolves an open or acknowledged one
with a comment saying what was done. A resolved alert is closed: the next anomaly of that kind
on that site opens a new one.
"""

from __future__ import annotations

import re

from domain.enums import AlertStatus
from domain.errors import ErrorCode, Refusal

COMMENT_LIMIT = 2000  # the `alerts.comment` column

# Line breaks are welcome in a comment; other control characters are not.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_CANNOT_ACKNOWLEDGE = {
    AlertStatus.ACKNOWLEDGED: "Cette alerte est déjà prise en compte.",
    AlertStatus.RESOLVED: "Cette alerte est résolue : elle ne peut plus être prise en compte.",
}
_CANNOT_RESOLVE = {
    AlertStatus.RESOLVED: "Cette alerte est déjà résolue.",
}


def check_acknowledge(status: AlertStatus) -> None:
    """Only an open alert can be acknowledged."""
    message = _CANNOT_ACKNOWLEDGE.get(status)
    if message is not None:
        raise Refusal(ErrorCode.INVALID_STATE, message, field="alertId")


def check_resolve(status: AlertStatus) -> None:
    """An open or acknowledged alert can be resolved; a resolved one stays as it is."""
    message = _CANNOT_RESOLVE.get(status)
    if message is not None:
        raise Refusal(ErrorCode.INVALID_STATE, message, field="alertId")


def clean_comment(value: str | None, *, required: bool) -> str | None:
    """The comment as stored (spaces trimmed), None when absent and optional."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise Refusal(
                ErrorCode.REQUIRED,
                "Un commentaire est requis : dites ce qui a été fait.",
                field="comment",
            )
        return None
    if _CONTROL.search(cleaned):
        raise Refusal(
            ErrorCode.INVALID,
            "Caractères de contrôle interdits (les retours à la ligne sont permis).",
            field="comment",
        )
    if len(cleaned) > COMMENT_LIMIT:
        raise Refusal(ErrorCode.TOO_LONG, f"{COMMENT_LIMIT} caractères au plus.", field="comment")
    return cleaned
