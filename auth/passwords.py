"""Password hashing: argon2id through the passlib API (the maintained `libpass` distribution)."""

from __future__ import annotations

from passlib.context import CryptContext

# Parameters of RFC 9106's second recommended option, scaled to keep a login near 100 ms on
# the 2-core machines this runs on. Changing them makes `needs_rehash` true at next login.
_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=65536,
    argon2__time_cost=3,
    argon2__parallelism=4,
)


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _context.verify(password, password_hash)


def needs_rehash(password_hash: str) -> bool:
    return _context.needs_update(password_hash)
