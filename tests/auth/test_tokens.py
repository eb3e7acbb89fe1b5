"""Access tokens: what they carry, and that the injected clock alone decides their expiry."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from auth.tokens import InvalidAccessToken, issue_access_token, read_access_token
from tests.clock import NOW

SECRET = "t" * 40


def test_a_token_names_the_person_and_the_login_session() -> None:
    token, expires_at = issue_access_token(
        SECRET, user_id=42, family_id="fam-1", ttl_seconds=900, now=NOW
    )
    assert expires_at == NOW + timedelta(seconds=900)
    claims = read_access_token(SECRET, token, now=NOW + timedelta(seconds=899))
    assert (claims.user_id, claims.family_id, claims.expires_at) == (42, "fam-1", expires_at)


def test_a_token_expires_at_its_ttl_on_the_given_clock() -> None:
    token, _ = issue_access_token(SECRET, user_id=1, family_id="f", ttl_seconds=900, now=NOW)
    for later in (timedelta(seconds=900), timedelta(days=1)):
        with pytest.raises(InvalidAccessToken) as refused:
            read_access_token(SECRET, token, now=NOW + later)
        assert refused.value.expired


def test_without_a_clock_the_wall_clock_judges() -> None:
    # NOW lies in the past of any run of this suite: the token is long expired
    token, _ = issue_access_token(SECRET, user_id=1, family_id="f", ttl_seconds=900, now=NOW)
    with pytest.raises(InvalidAccessToken) as refused:
        read_access_token(SECRET, token)
    assert refused.value.expired


def test_a_token_issued_after_the_clock_is_refused() -> None:
    token, _ = issue_access_token(
        SECRET, user_id=1, family_id="f", ttl_seconds=900, now=NOW + timedelta(minutes=5)
    )
    with pytest.raises(InvalidAccessToken) as refused:
        read_access_token(SECRET, token, now=NOW)
    assert not refused.value.expired


def test_another_secret_or_a_tampered_token_is_invalid_not_expired() -> None:
    token, _ = issue_access_token(SECRET, user_id=1, family_id="f", ttl_seconds=900, now=NOW)
    header, payload, signature = token.split(".")
    for bad in (
        issue_access_token("u" * 40, user_id=1, family_id="f", ttl_seconds=900, now=NOW)[0],
        f"{header}.{payload}.{signature[:-3]}AAA",
        "not-a-token",
        "",
    ):
        with pytest.raises(InvalidAccessToken) as refused:
            read_access_token(SECRET, bad, now=NOW)
        assert not refused.value.expired, bad


def test_a_token_missing_a_claim_or_with_a_bad_subject_is_invalid() -> None:
    from auth.tokens import _key  # the signing key, to forge well-signed but wrong claims

    base = {
        "iss": "comptoir",
        "aud": "comptoir-api",
        "sub": "7",
        "fam": "f",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    }
    for claims in (
        {k: v for k, v in base.items() if k != "fam"},
        base | {"sub": "not-a-number"},
        base | {"aud": "someone-else"},
        base | {"exp": "later"},
    ):
        token = jwt.encode(claims, _key(SECRET), algorithm="HS256")
        with pytest.raises(InvalidAccessToken):
            read_access_token(SECRET, token, now=NOW)


def test_a_token_verified_once_is_still_judged_against_each_clock() -> None:
    # The second and later reads come from the process's verified tokens (auth/tokens.py).
    token, _ = issue_access_token(SECRET, user_id=7, family_id="g", ttl_seconds=900, now=NOW)
    assert read_access_token(SECRET, token, now=NOW).user_id == 7
    assert read_access_token(SECRET, token, now=NOW + timedelta(seconds=899)).user_id == 7
    with pytest.raises(InvalidAccessToken) as expired:
        read_access_token(SECRET, token, now=NOW + timedelta(seconds=900))
    assert expired.value.expired
    with pytest.raises(InvalidAccessToken) as early:
        read_access_token(SECRET, token, now=NOW - timedelta(seconds=1))
    assert not early.value.expired
    with pytest.raises(InvalidAccessToken) as other:
        read_access_token("u" * 40, token, now=NOW)
    assert not other.value.expired
