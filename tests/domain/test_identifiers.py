import pytest

from domain.identifiers import (
    is_luhn_valid,
    is_valid_siren,
    is_valid_siret,
    luhn_check_digit,
    make_siren,
    make_siret,
)


def test_luhn_on_known_numbers() -> None:
    assert is_luhn_valid("79927398713")
    assert not is_luhn_valid("79927398710")
    assert luhn_check_digit("7992739871") == "3"
    assert not is_luhn_valid("12a4")


def test_known_siren_and_siret() -> None:
    # Published identifiers: a SIREN and one of its establishments.
    assert is_valid_siren("732829320")
    assert is_valid_siret("73282932000074")
    assert not is_valid_siren("732829321")
    assert not is_valid_siren("73282932")  # eight digits


def test_generated_identifiers_are_valid() -> None:
    for body in ("21410018", "26410001", "00000000", "99999999"):
        siren = make_siren(body)
        assert is_valid_siren(siren) and siren.startswith(body)
        for nic in ("0001", "0002", "9999"):
            siret = make_siret(siren, nic)
            assert is_valid_siret(siret) and siret[:9] == siren


def test_make_siret_refuses_a_bad_siren() -> None:
    with pytest.raises(ValueError):
        make_siret("123456789", "0001")
