"""French business identifiers: the Luhn key shared by SIREN, SIRET and meter point checks.

Pure functions, no I/O. SIREN (9 digits) and SIRET (SIREN + 5-digit NIC = 14 digits) are both
Luhn-valid numbers. La Poste's establishments are the one known exception to the SIRET rule
(their SIRET digits sum to a multiple of 5); public buyers never use it, so it is not handled.
"""

from __future__ import annotations

SIREN_LENGTH = 9
SIRET_LENGTH = 14


def luhn_sum(digits: str) -> int:
    """The Luhn weighted sum of a digit string, doubling every second digit from the right."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def is_luhn_valid(digits: str) -> bool:
    return digits.isascii() and digits.isdigit() and luhn_sum(digits) % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit to append to `payload` so that the whole number is Luhn-valid."""
    if not (payload.isascii() and payload.isdigit()):
        raise ValueError(f"not a digit string: {payload!r}")
    # With the check digit appended, every payload digit moves one place to the left.
    return str((10 - luhn_sum(payload + "0") % 10) % 10)


def is_valid_siren(siren: str) -> bool:
    return len(siren) == SIREN_LENGTH and is_luhn_valid(siren)


def is_valid_siret(siret: str) -> bool:
    return len(siret) == SIRET_LENGTH and is_luhn_valid(siret)


def make_siren(body: str) -> str:
    """A valid SIREN from its first eight digits."""
    if len(body) != SIREN_LENGTH - 1:
        raise ValueError("a SIREN body has eight digits")
    return body + luhn_check_digit(body)


def make_siret(siren: str, nic_body: str) -> str:
    """A valid SIRET of an establishment of `siren`, from the first four digits of its NIC.

    The SIRET's Luhn key covers all 14 digits, so the NIC's last digit is the check digit.
    """
    if not is_valid_siren(siren):
        raise ValueError(f"invalid SIREN: {siren!r}")
    if len(nic_body) != 4:
        raise ValueError("a NIC body has four digits")
    payload = siren + nic_body
    return payload + luhn_check_digit(payload)


def siren_of(siret: str) -> str:
    return siret[:SIREN_LENGTH]
