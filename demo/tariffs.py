"""Prices and tax rates of the demo invoices, as data.

Figures are of the order of the published 2024-2026 ones (TURPE 6/7 for C5 and C4, ATRD 7
for GRDF, the accise rates, the CTA rates) and of a public buyers' fixed-price supply
contract; they are demo figures, not a rate card. A price applies to a billing period
according to the period's first day. VAT rates live in domain/invoicing.py (they are a rule,
not a price).

With these figures one C5 site, 6 kVA BASE on CU4, billed 566 kWh over two months in 2025
comes to about: supply 59 €, transport 40 €, taxes 16 €, total incl. VAT 145 € — the 2021
example of the notes (107.08 €) at today's prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ElectricityPrices:
    subscription_month: D  # supplier's subscription, € per month
    energy: dict[str, D]  # € per kWh by register
    capacity: D  # € per kWh
    cee: D  # € per kWh
    management_month: D  # TURPE management + metering components, € per month
    fixed_kva_month: dict[str, D]  # TURPE fixed withdrawal, € per kVA per month, by tariff
    variable: dict[str, dict[str, D]]  # TURPE variable withdrawal, € per kWh, tariff→register
    excise: D  # € per kWh
    cta_rate: D  # share of the fixed transport components
    reactive_kvarh: D = D(0)  # TURPE reactive energy beyond the allowance, € per kVArh (C4)


@dataclass(frozen=True, slots=True)
class GasPrices:
    subscription_month: D
    energy: D
    atrd_fixed_month: D  # distribution fixed term, € per month
    atrd_variable: D  # distribution proportional term, € per kWh
    atrt_variable: D  # transport and storage, € per kWh
    excise: D
    cta_rate: D  # share of the distribution fixed term


ELECTRICITY_C5: tuple[tuple[date, ElectricityPrices], ...] = (
    (
        date(2024, 2, 1),
        ElectricityPrices(
            subscription_month=D("2.90"),
            energy={"BASE": D("0.112400"), "HP": D("0.121800"), "HC": D("0.096500")},
            capacity=D("0.003900"),
            cee=D("0.006800"),
            management_month=D("2.270000"),
            fixed_kva_month={"CU4": D("0.790000"), "MU4": D("0.920000")},
            variable={
                "CU4": {"BASE": D("0.046800")},
                "MU4": {"HP": D("0.051400"), "HC": D("0.033900")},
            },
            excise=D("0.021000"),
            cta_rate=D("0.2193"),
        ),
    ),
    (
        date(2025, 2, 1),
        ElectricityPrices(
            subscription_month=D("2.90"),
            energy={"BASE": D("0.095200"), "HP": D("0.103400"), "HC": D("0.081900")},
            capacity=D("0.003100"),
            cee=D("0.007400"),
            management_month=D("2.330000"),
            fixed_kva_month={"CU4": D("0.810000"), "MU4": D("0.950000")},
            variable={
                "CU4": {"BASE": D("0.047900")},
                "MU4": {"HP": D("0.052600"), "HC": D("0.034700")},
            },
            excise=D("0.022500"),
            cta_rate=D("0.1500"),
        ),
    ),
    (
        date(2026, 2, 1),
        ElectricityPrices(
            subscription_month=D("3.05"),
            energy={"BASE": D("0.091800"), "HP": D("0.099700"), "HC": D("0.079000")},
            capacity=D("0.002600"),
            cee=D("0.008900"),
            management_month=D("2.410000"),
            fixed_kva_month={"CU4": D("0.830000"), "MU4": D("0.980000")},
            variable={
                "CU4": {"BASE": D("0.049300")},
                "MU4": {"HP": D("0.054100"), "HC": D("0.035700")},
            },
            excise=D("0.025190"),
            cta_rate=D("0.1500"),
        ),
    ),
)

# C4 (BT > 36 kVA): four time-of-use registers; TURPE short (CU) or long (LU) use, with a
# fixed withdrawal charge per subscribed kVA and reactive energy billed beyond tan φ 0.4.
ELECTRICITY_C4: tuple[tuple[date, ElectricityPrices], ...] = (
    (
        date(2024, 2, 1),
        ElectricityPrices(
            subscription_month=D("12.00"),
            energy={
                "HPH": D("0.148000"),
                "HCH": D("0.112000"),
                "HPE": D("0.099000"),
                "HCE": D("0.076000"),
            },
            capacity=D("0.003900"),
            cee=D("0.006800"),
            management_month=D("44.500000"),
            fixed_kva_month={"BTSUPCU4": D("1.020000"), "BTSUPLU4": D("2.450000")},
            variable={
                "BTSUPCU4": {
                    "HPH": D("0.068100"),
                    "HCH": D("0.043700"),
                    "HPE": D("0.024900"),
                    "HCE": D("0.016300"),
                },
                "BTSUPLU4": {
                    "HPH": D("0.041200"),
                    "HCH": D("0.027800"),
                    "HPE": D("0.013900"),
                    "HCE": D("0.010100"),
                },
            },
            excise=D("0.020500"),
            cta_rate=D("0.2193"),
            reactive_kvarh=D("0.020300"),
        ),
    ),
    (
        date(2025, 2, 1),
        ElectricityPrices(
            subscription_month=D("12.00"),
            energy={
                "HPH": D("0.127300"),
                "HCH": D("0.096300"),
                "HPE": D("0.085100"),
                "HCE": D("0.065400"),
            },
            capacity=D("0.003100"),
            cee=D("0.007400"),
            management_month=D("45.800000"),
            fixed_kva_month={"BTSUPCU4": D("1.050000"), "BTSUPLU4": D("2.520000")},
            variable={
                "BTSUPCU4": {
                    "HPH": D("0.070100"),
                    "HCH": D("0.045000"),
                    "HPE": D("0.025600"),
                    "HCE": D("0.016800"),
                },
                "BTSUPLU4": {
                    "HPH": D("0.042400"),
                    "HCH": D("0.028600"),
                    "HPE": D("0.014300"),
                    "HCE": D("0.010400"),
                },
            },
            excise=D("0.020500"),
            cta_rate=D("0.1500"),
            reactive_kvarh=D("0.020900"),
        ),
    ),
    (
        date(2026, 2, 1),
        ElectricityPrices(
            subscription_month=D("12.60"),
            energy={
                "HPH": D("0.122200"),
                "HCH": D("0.092400"),
                "HPE": D("0.081700"),
                "HCE": D("0.062800"),
            },
            capacity=D("0.002600"),
            cee=D("0.008900"),
            management_month=D("47.300000"),
            fixed_kva_month={"BTSUPCU4": D("1.080000"), "BTSUPLU4": D("2.600000")},
            variable={
                "BTSUPCU4": {
                    "HPH": D("0.072200"),
                    "HCH": D("0.046400"),
                    "HPE": D("0.026400"),
                    "HCE": D("0.017300"),
                },
                "BTSUPLU4": {
                    "HPH": D("0.043700"),
                    "HCH": D("0.029500"),
                    "HPE": D("0.014700"),
                    "HCE": D("0.010700"),
                },
            },
            excise=D("0.022500"),
            cta_rate=D("0.1500"),
            reactive_kvarh=D("0.021500"),
        ),
    ),
)

GAS: dict[str, tuple[tuple[date, GasPrices], ...]] = {
    "T1": (
        (
            date(2024, 2, 1),
            GasPrices(
                D("2.50"),
                D("0.061500"),
                D("3.890000"),
                D("0.030600"),
                D("0.004300"),
                D("0.016370"),
                D("0.2080"),
            ),
        ),
        (
            date(2025, 2, 1),
            GasPrices(
                D("2.50"),
                D("0.053800"),
                D("4.010000"),
                D("0.031500"),
                D("0.004900"),
                D("0.017160"),
                D("0.2080"),
            ),
        ),
        (
            date(2026, 2, 1),
            GasPrices(
                D("2.60"),
                D("0.050900"),
                D("4.120000"),
                D("0.032300"),
                D("0.005100"),
                D("0.015430"),
                D("0.2080"),
            ),
        ),
    ),
    "T2": (
        (
            date(2024, 2, 1),
            GasPrices(
                D("6.00"),
                D("0.052400"),
                D("14.180000"),
                D("0.008900"),
                D("0.004300"),
                D("0.016370"),
                D("0.2080"),
            ),
        ),
        (
            date(2025, 2, 1),
            GasPrices(
                D("6.00"),
                D("0.045900"),
                D("14.620000"),
                D("0.009200"),
                D("0.004900"),
                D("0.017160"),
                D("0.2080"),
            ),
        ),
        (
            date(2026, 2, 1),
            GasPrices(
                D("6.20"),
                D("0.043700"),
                D("15.010000"),
                D("0.009400"),
                D("0.005100"),
                D("0.015430"),
                D("0.2080"),
            ),
        ),
    ),
    "T3": (
        (
            date(2024, 2, 1),
            GasPrices(
                D("30.00"),
                D("0.047800"),
                D("96.350000"),
                D("0.006300"),
                D("0.004300"),
                D("0.016370"),
                D("0.2080"),
            ),
        ),
        (
            date(2025, 2, 1),
            GasPrices(
                D("30.00"),
                D("0.041600"),
                D("99.350000"),
                D("0.006500"),
                D("0.004900"),
                D("0.017160"),
                D("0.2080"),
            ),
        ),
        (
            date(2026, 2, 1),
            GasPrices(
                D("31.00"),
                D("0.039900"),
                D("102.050000"),
                D("0.006700"),
                D("0.005100"),
                D("0.015430"),
                D("0.2080"),
            ),
        ),
    ),
}


def electricity_prices(on: date, segment: str = "C5") -> ElectricityPrices:
    return _in_force(ELECTRICITY_C4 if segment == "C4" else ELECTRICITY_C5, on)


def gas_prices(segment: str, on: date) -> GasPrices:
    return _in_force(GAS[segment], on)


def _in_force(schedule: tuple[tuple[date, T], ...], on: date) -> T:
    current = schedule[0][1]  # before the first change, the oldest prices apply
    for start, prices in schedule:
        if start <= on:
            current = prices
    return current


# Line labels as printed, by (component, detail).
REGISTER_WORDS = {
    "BASE": "base",
    "HP": "heures pleines",
    "HC": "heures creuses",
    "HPH": "heures pleines d'hiver",
    "HCH": "heures creuses d'hiver",
    "HPE": "heures pleines d'été",
    "HCE": "heures creuses d'été",
}
LABELS = {
    "subscription": "Abonnement fourniture",
    "energy_elec": "Consommation d'électricité – {register}",
    "energy_gas": "Consommation de gaz naturel",
    "capacity": "Mécanisme de capacité",
    "cee": "Certificats d'économies d'énergie (CEE)",
    "management": "TURPE – composantes de gestion et de comptage",
    "fixed": "TURPE – composante de soutirage fixe ({tariff})",
    "variable": "TURPE – soutirage variable {register} ({tariff})",
    "atrd_fixed": "Acheminement distribution (ATRD) – terme fixe",
    "atrd_variable": "Acheminement distribution (ATRD) – terme proportionnel",
    "atrt": "Acheminement transport et stockage (ATRT)",
    "reactive": "TURPE – énergie réactive au-delà de tg φ 0,4",
    "cta": "Contribution tarifaire d'acheminement (CTA)",
    "excise_elec": "Accise sur l'électricité",
    "excise_gas": "Accise sur le gaz naturel",
    "regularisation": "Régularisation sur relevé réel – {register}",
    "vat": "TVA {rate} %",
}
