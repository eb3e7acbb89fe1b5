"""Signed download tokens: valid until they expire, useless once touched."""

from __future__ import annotations

import pytest

from auth.signed_urls import InvalidSignedToken, sign_file_key, verify_file_token

SECRET = "s" * 40


def test_a_fresh_token_grants_its_file() -> None:
    token = sign_file_key(SECRET, "exports/abc.csv", 300, now=1_000)
    assert verify_file_token(SECRET, token, now=1_200) == "exports/abc.csv"


def test_an_expired_token_is_refused() -> None:
    token = sign_file_key(SECRET, "exports/abc.csv", 300, now=1_000)
    with pytest.raises(InvalidSignedToken):
        verify_file_token(SECRET, token, now=1_301)


def test_a_tampered_token_is_refused() -> None:
    token = sign_file_key(SECRET, "exports/abc.csv", 300, now=1_000)
    forged = sign_file_key("another-secret" * 3, "exports/other.csv", 300, now=1_000)
    _payload, signature = token.split(".")
    forged_payload = forged.split(".")[0]
    for bad in (f"{forged_payload}.{signature}", token[:-2] + "AA", "garbage", "a.b.c", ""):
        with pytest.raises(InvalidSignedToken):
            verify_file_token(SECRET, bad, now=1_100)


def test_another_secret_cannot_verify() -> None:
    token = sign_file_key(SECRET, "exports/abc.csv", 300, now=1_000)
    with pytest.raises(InvalidSignedToken):
        verify_file_token("x" * 40, token, now=1_100)
