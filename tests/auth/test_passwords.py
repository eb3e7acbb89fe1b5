"""Passwords: the policy's first broken rule, argon2id hashing, and when a hash needs redoing."""

from __future__ import annotations

import pytest
from passlib.context import CryptContext

from auth.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    PROBLEM_MESSAGES,
    PasswordProblem,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)

EMAIL = "claire.martin@mairie-quimper.test"
STRONG = "Vélo rouge sous la pluie de Brest 42"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("x" * (MIN_LENGTH - 1), PasswordProblem.TOO_SHORT),
        ("Vélo rouge " * (MAX_LENGTH // 10), PasswordProblem.TOO_LONG),
        (f"{EMAIL} 2026!", PasswordProblem.CONTAINS_EMAIL),
        ("CLAIRE.MARTIN et la mer 93", PasswordProblem.CONTAINS_EMAIL),
        ("password1234", PasswordProblem.TOO_COMMON),
        ("comptoir2026!", PasswordProblem.TOO_COMMON),
        (STRONG, None),
    ],
)
def test_the_first_rule_a_password_breaks(password: str, problem: PasswordProblem | None) -> None:
    assert password_problem(password, email=EMAIL, full_name="Claire Martin") is problem


def test_a_short_local_part_is_not_held_against_the_password() -> None:
    # "jo" inside a password proves nothing: only local parts of 4 characters and more count
    assert password_problem("Jolie vache normande 1987", email="jo@x.test") is None


def test_every_problem_has_a_french_message() -> None:
    assert set(PROBLEM_MESSAGES) == set(PasswordProblem)
    assert str(MIN_LENGTH) in PROBLEM_MESSAGES[PasswordProblem.TOO_SHORT]


def test_a_hash_is_argon2id_salted_and_verifies_only_its_password() -> None:
    first, second = hash_password(STRONG), hash_password(STRONG)
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert verify_password(STRONG, first)
    assert not verify_password(STRONG + " ", first)
    assert not needs_rehash(first)


def test_an_unknown_account_still_costs_a_verification_and_fails() -> None:
    assert verify_password(STRONG, None) is False


def test_a_hash_made_with_weaker_parameters_needs_redoing() -> None:
    weaker = CryptContext(
        schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__time_cost=1
    ).hash(STRONG)
    assert verify_password(STRONG, weaker)
    assert needs_rehash(weaker)
