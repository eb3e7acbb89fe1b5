"""API keys: `cpt_<prefix>.<secret>`, recognised by their prefix, stored as a digest only."""

from __future__ import annotations

from auth.api_keys import KEY_MARK, key_matches, looks_like_api_key, new_api_key, prefix_of


def test_a_new_key_is_its_prefix_then_a_secret_and_only_its_digest_is_kept() -> None:
    made = new_api_key()
    assert made.key.startswith(made.prefix + ".")
    assert made.prefix.startswith(KEY_MARK) and len(made.prefix) <= 16
    assert made.key not in made.key_hash and made.key.split(".")[1] not in made.key_hash
    assert prefix_of(made.key) == made.prefix
    assert looks_like_api_key(made.key)
    assert key_matches(made.key, made.key_hash)


def test_two_keys_never_share_a_prefix_or_a_secret() -> None:
    keys = [new_api_key() for _ in range(50)]
    assert len({k.prefix for k in keys}) == 50
    assert len({k.key_hash for k in keys}) == 50


def test_a_changed_key_does_not_match() -> None:
    made = new_api_key()
    assert not key_matches(made.key + "x", made.key_hash)
    assert not key_matches(new_api_key().key, made.key_hash)


def test_malformed_keys_have_no_prefix() -> None:
    for bad in ("cpt_abc", "cpt_abc.", ".secret", "xyz_abc.secret", "cpt_" + "a" * 20 + ".s"):
        assert prefix_of(bad) is None, bad
    assert not looks_like_api_key("eyJhbGciOi.jwt.token")
