"""Password hashing (argon2id through the passlib API, `libpass` distribution) and policy."""

from __future__ import annotations

from enum import StrEnum

from passlib.context import CryptContext
from zxcvbn import zxcvbn

from domain.errors import ErrorCode

# Parameters of RFC 9106's second recommended option, scaled to keep a login near 100 ms on
# the 2-core machines this runs on. Changing them makes `needs_rehash` true at next login.
_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=65536,
    argon2__time_cost=3,
    argon2__parallelism=4,
)

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 has no limit, but a megabyte "password" is a denial of service
MIN_STRENGTH = 3  # zxcvbn score, 0-4: 3 = "safely unguessable" for an online attack

# Verified when the email is unknown, so that both failures cost the same time.
_DUMMY_HASH = _context.hash("comptoir: no such account, same cost")


class PasswordProblem(StrEnum):
    TOO_SHORT = ErrorCode.PASSWORD_TOO_SHORT.value
    TOO_LONG = ErrorCode.PASSWORD_TOO_LONG.value
    CONTAINS_EMAIL = ErrorCode.PASSWORD_CONTAINS_EMAIL.value
    TOO_COMMON = ErrorCode.PASSWORD_TOO_COMMON.value


PROBLEM_MESSAGES: dict[PasswordProblem, str] = {
    PasswordProblem.TOO_SHORT: f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères.",
    PasswordProblem.TOO_LONG: f"Le mot de passe ne peut dépasser {MAX_LENGTH} caractères.",
    PasswordProblem.CONTAINS_EMAIL: "Le mot de passe ne doit pas reprendre votre adresse email.",
    PasswordProblem.TOO_COMMON: (
        "Ce mot de passe est trop courant ou trop facile à deviner : choisissez-en un autre, "
        "par exemple une phrase de plusieurs mots."
    ),
}


def hash_password(password: str) -> str:
    hashed: str = _context.hash(password)  # passlib ships no types
    return hashed


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when it matches; an absent hash still costs one verification."""
    if password_hash is None:
        _context.verify(password, _DUMMY_HASH)
        return False
    matches: bool = _context.verify(password, password_hash)
    return matches


def needs_rehash(password_hash: str) -> bool:
    outdated: bool = _context.needs_update(password_hash)
    return outdated


def password_problem(password: str, *, email: str, full_name: str = "") -> PasswordProblem | None:
    """The first rule the password breaks, or None."""
    if len(password) < MIN_LENGTH:
        return PasswordProblem.TOO_SHORT
    if len(password) > MAX_LENGTH:
        return PasswordProblem.TOO_LONG
    lowered = password.casefold()
    local_part = email.split("@", 1)[0].casefold()
    if email.casefold() in lowered or (len(local_part) >= 4 and local_part in lowered):
        return PasswordProblem.CONTAINS_EMAIL
    hints = [email, local_part, *full_name.split(), "comptoir"]
    if zxcvbn(password[:100], user_inputs=hints)["score"] < MIN_STRENGTH:
        return PasswordProblem.TOO_COMMON
    return None
