"""Customer references printed on invoices: what a valid value is.

Internal code and designation hold 35 characters, the other reference 40 (the invoicing
system's fields); the invoice label of a billing account 30.
"""

from __future__ import annotations

import re
from enum import StrEnum

from domain.errors import ErrorCode

SITE_REFERENCE_LIMITS: dict[str, int] = {
    "internal_code": 35,
    "designation": 35,
    "other_reference": 40,
}
INVOICE_LABEL_LIMIT = 30

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ReferenceProblem(StrEnum):
    REQUIRED = ErrorCode.REQUIRED.value  # blank: to clear a reference, send null
    TOO_LONG = ErrorCode.TOO_LONG.value
    INVALID = (
        ErrorCode.INVALID.value
    )  # control characters (tabs, line breaks…) break printed invoices


def has_control_characters(text: str) -> bool:
    """Tabs, line breaks and other control characters: refused in names and references."""
    return _CONTROL.search(text) is not None


def clean_reference(value: str, limit: int) -> tuple[str | None, ReferenceProblem | None]:
    """The value as stored (spaces trimmed), or the problem it has."""
    if has_control_characters(value):
        return None, ReferenceProblem.INVALID
    cleaned = value.strip()
    if not cleaned:
        return None, ReferenceProblem.REQUIRED
    if len(cleaned) > limit:
        return None, ReferenceProblem.TOO_LONG
    return cleaned, None
