"""Keyset cursors and page sizes (first/after: default 50, at most 100).

A cursor is the base64 of the sort values of the last row seen, so a page is a SQL
`WHERE (sort) > (cursor) … LIMIT first + 1`, never a slice of a Python list.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from domain.errors import ErrorCode, Refusal

DEFAULT_PAGE = 50
MAX_PAGE = 100


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise Refusal(
            ErrorCode.INVALID, f"`first` doit être compris entre 1 et {MAX_PAGE}.", field="first"
        )
    return first


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after") from None
    if not isinstance(values, list):
        raise Refusal(ErrorCode.INVALID, "Curseur invalide.", field="after")
    return values
