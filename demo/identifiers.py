"""Business numbers of the demo: point numbers, meter serials, SIREN/SIRET, references.

Numbers come from an affine bijection of a running counter (modulo a power of ten), so they
are unique by construction yet look scattered, and need no "already used?" bookkeeping.
"""

from __future__ import annotations

from domain.identifiers import make_siren, make_siret

# Multipliers coprime with 10, so i ↦ (a·i + b) mod 10^k is a bijection on k-digit numbers.
_PRM = (7_919_173, 2_141_000_000_000, 13)  # PRM: Enedis delivery points
_PCE = (3_571_291, 1_490_000_000_000, 13)  # PCE: GRDF delivery points
_SERIAL = (6_700_417, 300_000_000_000, 12)


def _scatter(index: int, spec: tuple[int, int, int]) -> int:
    multiplier, offset, digits = spec
    modulus: int = 10**digits  # int ** int is typed Any (a negative power is a float)
    return (multiplier * index + offset) % modulus


def prm(index: int) -> str:
    """An electricity delivery point number (14 digits; real PRMs start with 0 to 3)."""
    return f"0{_scatter(index, _PRM):013d}"


def pce(index: int) -> str:
    """A GRDF delivery point number for T1-T3 (14 digits)."""
    return f"2{_scatter(index, _PCE):013d}"


def meter_serial(kind: str, index: int) -> str:
    value = _scatter(index, _SERIAL)
    if kind == "LINKY":
        return f"{value:012d}"
    if kind == "ELECTROMECHANICAL":
        return f"CBE{value % 10**9:09d}"
    if kind == "ELECTRONIC":  # C4 and above: a remotely read electronic meter
        return f"PME{value % 10**9:09d}"
    if kind == "GAZPAR":
        return f"GZ{value % 10**10:010d}"
    return f"AC{value % 10**8:08d}G4"


SIREN_PREFIXES = {
    # First digits of public bodies' SIRENs in the department (41): communes 21, public
    # establishments 26 (hospitals, CCAS), EPCIs 24/20, syndicates 25, schools 19.
    "commune": "2141",
    "ccas": "2641",
    "epci": "2441",
    "syndicat": "2541",
    "school": "1941",
    "health": "2641",
}


def siren(kind: str, serial: int) -> str:
    """A Luhn-valid SIREN; `serial` (0-9999) distinguishes bodies of the same kind."""
    return make_siren(f"{SIREN_PREFIXES[kind]}{serial:04d}")


def siret(siren_number: str, establishment: int) -> str:
    return make_siret(siren_number, f"{establishment:04d}")


def customer_number(index: int) -> str:
    return f"CL{410_000_00 + index:08d}"


def billing_account_number(index: int) -> str:
    return f"CC{_scatter(index, (9_001, 4_100_000_000, 10)):010d}"
