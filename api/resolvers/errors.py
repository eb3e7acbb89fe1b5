"""Expected failures of use cases: a code, a French message and the input field at fault.

Resolvers raise `Refusal`; the schema turns it into a `UserError` in the mutation payload.
A refusal raised inside a mutation's transaction rolls the whole change back.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    THROTTLED = "THROTTLED"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_USED = "TOKEN_USED"
    TOKEN_REUSED = "TOKEN_REUSED"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
    PASSWORD_CONTAINS_EMAIL = "PASSWORD_CONTAINS_EMAIL"
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    EXCEEDS_OWN_SCOPE = "EXCEEDS_OWN_SCOPE"
    INVALID_STATE = "INVALID_STATE"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    PERIOD_TOO_LONG = "PERIOD_TOO_LONG"
    # Self-readings (domain/self_reading.py)
    METER_COMMUNICATING = "METER_COMMUNICATING"
    REGISTERS_MISMATCH = "REGISTERS_MISMATCH"
    TOO_MANY_DIGITS = "TOO_MANY_DIGITS"
    DATE_IN_FUTURE = "DATE_IN_FUTURE"
    DATE_BEFORE_LAST_READING = "DATE_BEFORE_LAST_READING"
    INDEX_BELOW_LAST = "INDEX_BELOW_LAST"
    CHECK_FIGURES = "CHECK_FIGURES"


NOT_FOUND_MESSAGE = "Objet introuvable."


class Refusal(Exception):
    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_seconds = retry_after_seconds


class Refusals(Refusal):
    """Several refusals at once (one per input field), reported together."""

    def __init__(self, refusals: list[Refusal]) -> None:
        first = refusals[0]
        super().__init__(first.code, first.message, field=first.field)
        self.refusals = refusals


def not_found(field: str | None = "id") -> Refusal:
    """The one answer for "does not exist" and "not yours": no existence leak."""
    return Refusal(ErrorCode.NOT_FOUND, NOT_FOUND_MESSAGE, field=field)
