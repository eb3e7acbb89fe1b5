"""The distribution tariff grids the optimisation study prices options with, as demo data.

Derived from the demo's own prices (demo/tariffs.py), so a grid and the invoices of the same
period agree: gas, GRDF's ATRD options T1–T3 (fixed term × 12 months, proportional term, the
CTA rate on the fixed term) plus a T4 option; electricity C5, each subscribed power with the
BASE (TURPE CU4) and HP/HC (MU4) options (management and fixed withdrawal per kVA × 12 months,
supply + TURPE variable price per register). One grid per price change, dated like it.

The fees are of the order of the distributors' service catalogues (a tariff-option change,
a special reading). Demo figures, not a rate card.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

from demo.tariffs import ELECTRICITY_C5, GAS

C5_POWERS_KVA = (3, 6, 9, 12, 15, 18, 24, 30, 36)
C5_OPTIONS = {"BASE": "CU4", "HP/HC": "MU4"}
# GRDF's T4 (> 5 GWh a year) is not in the demo invoices: its order of magnitude, with the
# capacity term folded into the yearly subscription.
T4_FIXED_YEARLY = D("24500.00")
T4_PRICE = D("0.001200")
GAS_CHANGE_FEE = D("42.00")
GAS_SPECIAL_READING_FEE = D("26.50")
ELECTRICITY_CHANGE_FEE = D("0.00")  # a Linky's option changes remotely, free once a year
ELECTRICITY_SPECIAL_READING_FEE = D("24.00")
OFF_PEAK_SHARE = D("0.38")
GAS_SOURCE = (
    "Démonstration : ordres de grandeur du tarif ATRD7 de GRDF (délibérations de la CRE, "
    "termes fixe et proportionnel par option, T4 sans terme de capacité) et du taux de CTA "
    "(20,80 %) ; frais du catalogue des prestations GRDF. Pas une grille officielle."
)
ELECTRICITY_SOURCE = (
    "Démonstration : ordres de grandeur du TURPE (composantes de gestion, de comptage et de "
    "soutirage CU4/MU4) et des prix de fourniture HT par poste ; CTA sur la part fixe ; "
    "frais du catalogue des prestations Enedis. Pas une grille officielle."
)


def _money(value: D) -> str:
    return str(value.quantize(D("0.01")))


def gas_options(valid_from: date) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    for segment, periods in GAS.items():
        prices = max((p for p in periods if p[0] <= valid_from), key=lambda p: p[0])[1]
        options.append(
            {
                "option": segment,
                "subscribed_power_kva": None,
                "fixed_yearly": _money(prices.atrd_fixed_month * 12),
                "prices": {"BASE": str(prices.atrd_variable)},
                "cta_rate": str(prices.cta_rate),
            }
        )
    cta = options[0]["cta_rate"]
    options.append(
        {
            "option": "T4",
            "subscribed_power_kva": None,
            "fixed_yearly": _money(T4_FIXED_YEARLY),
            "prices": {"BASE": str(T4_PRICE)},
            "cta_rate": cta,
        }
    )
    return sorted(options, key=lambda o: str(o["option"]))


def electricity_options(valid_from: date) -> list[dict[str, Any]]:
    prices = max((p for p in ELECTRICITY_C5 if p[0] <= valid_from), key=lambda p: p[0])[1]
    options: list[dict[str, Any]] = []
    for kva in C5_POWERS_KVA:
        for option, turpe in C5_OPTIONS.items():
            fixed = (prices.management_month + prices.fixed_kva_month[turpe] * kva) * 12
            options.append(
                {
                    "option": option,
                    "subscribed_power_kva": str(kva),
                    "fixed_yearly": _money(fixed),
                    "prices": {
                        register: str(prices.energy[register] + price)
                        for register, price in prices.variable[turpe].items()
                    },
                    "cta_rate": str(prices.cta_rate),
                }
            )
    return options


def grid_rows(first_id: int = 1) -> list[dict[str, Any]]:
    """Every grid, gas then electricity, oldest first."""
    created = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    gas_dates = sorted({d for periods in GAS.values() for d, _ in periods})
    for valid_from in gas_dates:
        rows.append(
            {
                "energy": "GAS",
                "version": f"ATRD7-GRDF-{valid_from:%Y-%m}",
                "valid_from": valid_from,
                "options": gas_options(valid_from),
                "change_fee": GAS_CHANGE_FEE,
                "special_reading_fee": GAS_SPECIAL_READING_FEE,
                "off_peak_share": OFF_PEAK_SHARE,
                "source": GAS_SOURCE,
                "created_at": created,
            }
        )
    for valid_from, _ in ELECTRICITY_C5:
        rows.append(
            {
                "energy": "ELECTRICITY",
                "version": f"TURPE-C5-{valid_from:%Y-%m}",
                "valid_from": valid_from,
                "options": electricity_options(valid_from),
                "change_fee": ELECTRICITY_CHANGE_FEE,
                "special_reading_fee": ELECTRICITY_SPECIAL_READING_FEE,
                "off_peak_share": OFF_PEAK_SHARE,
                "source": ELECTRICITY_SOURCE,
                "created_at": created,
            }
        )
    for offset, row in enumerate(rows):
        row["id"] = first_id + offset
    return rows
