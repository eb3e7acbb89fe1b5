"""Invoice building for the demo: per-site charges, then lines, VAT and per-site rows.

A site's charges for a period are exact (unrounded) quantities × unit prices. Lines sum the
sites' charges with the same label and price; each line is rounded to the cent once and split
back over the sites by largest remainder (domain/invoicing.py), so per-site rows add up to the
invoice exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from demo.tariffs import LABELS, REGISTER_WORDS, electricity_prices, gas_prices
from domain.enums import InvoiceComponent as C
from domain.invoicing import ZERO, split_exact, vat_by_rate, vat_rate

# Print order of the components on an invoice.
COMPONENT_ORDER = {
    C.SUBSCRIPTION: 0,
    C.ENERGY: 1,
    C.CAPACITY: 2,
    C.ENERGY_SAVING_CERTIFICATES: 3,
    C.REGULARISATION: 4,
    C.TRANSPORT: 5,
    C.CTA: 6,
    C.EXCISE: 7,
    C.LOCAL_TAX: 8,
    C.VAT: 9,
}
FAMILY = {
    C.SUBSCRIPTION: "subscription",
    C.ENERGY: "energy",
    C.CAPACITY: "energy",
    C.ENERGY_SAVING_CERTIFICATES: "energy",
    C.REGULARISATION: "energy",
    C.TRANSPORT: "transport",
    C.CTA: "taxes",
    C.EXCISE: "taxes",
    C.LOCAL_TAX: "taxes",
}

# Reactive energy up to this tan φ (reactive / active energy) is not billed.
REACTIVE_ALLOWANCE = Decimal("0.4")

# (component, label, unit, unit price, VAT rate): what identifies an invoice line.
LineKey = tuple[C, str, str, Decimal, Decimal]


@dataclass(slots=True)
class SitePeriod:
    """What one site contributes to one invoice, before rounding."""

    site_id: int
    charges: list[tuple[LineKey, Decimal]]  # (line key, quantity)
    consumption_kwh: int
    basis: str
    meter_serial: str | None
    previous_index_on: date | None
    current_index_on: date | None
    register_indexes: list[dict[str, object]]  # {"register", "previous", "current"}


@dataclass(slots=True)
class SiteTariff:
    energy: str
    segment: str
    tariff: str  # CU4 / MU4 for C5, BTSUPCU4 / BTSUPLU4 for C4
    kva: Decimal | None
    reduced_vat: bool
    # C4: the site's ratio of reactive to active energy in full hours, and from when
    # capacitors keep it within the allowance (no reactive energy billed from then on).
    tan_phi: Decimal | None = None
    compensated_from: date | None = None


def site_charges(
    tariff: SiteTariff,
    period_start: date,
    months: int,
    energy_kwh: dict[str, int],
    regularisation_kwh: dict[str, int],
) -> list[tuple[LineKey, Decimal]]:
    """The charges of one site for a period of `months` billed months."""
    charges: list[tuple[LineKey, Decimal]] = []

    def add(component: C, label: str, unit: str, price: Decimal, quantity: Decimal) -> None:
        rate = vat_rate(component, period_start, reduced_eligible=tariff.reduced_vat)
        charges.append(((component, label, unit, price, rate), quantity))

    n = Decimal(months)
    total_energy = Decimal(sum(energy_kwh.values()))
    if tariff.energy == "ELECTRICITY":
        p = electricity_prices(period_start, tariff.segment)
        if tariff.segment == "C4":
            # Only the season's two registers move: no line for the other two.
            energy_kwh = {register: kwh for register, kwh in energy_kwh.items() if kwh}
        add(C.SUBSCRIPTION, LABELS["subscription"], "mois", p.subscription_month, n)
        for register, kwh in energy_kwh.items():
            add(
                C.ENERGY,
                LABELS["energy_elec"].format(register=REGISTER_WORDS[register]),
                "kWh",
                p.energy[register],
                Decimal(kwh),
            )
        add(C.CAPACITY, LABELS["capacity"], "kWh", p.capacity, total_energy)
        add(C.ENERGY_SAVING_CERTIFICATES, LABELS["cee"], "kWh", p.cee, total_energy)
        for register, kwh in regularisation_kwh.items():
            if kwh:
                price = (
                    p.energy[register]
                    + p.capacity
                    + p.cee
                    + p.variable[tariff.tariff][register]
                    + p.excise
                )
                add(
                    C.REGULARISATION,
                    LABELS["regularisation"].format(register=REGISTER_WORDS[register]),
                    "kWh",
                    price,
                    Decimal(kwh),
                )
        assert tariff.kva is not None
        management = p.management_month * n
        fixed = p.fixed_kva_month[tariff.tariff] * tariff.kva * n
        add(C.TRANSPORT, LABELS["management"], "mois", p.management_month, n)
        add(
            C.TRANSPORT,
            LABELS["fixed"].format(tariff=tariff.tariff),
            "kVA.mois",
            p.fixed_kva_month[tariff.tariff],
            tariff.kva * n,
        )
        for register, kwh in energy_kwh.items():
            add(
                C.TRANSPORT,
                LABELS["variable"].format(register=REGISTER_WORDS[register], tariff=tariff.tariff),
                "kWh",
                p.variable[tariff.tariff][register],
                Decimal(kwh),
            )
        reactive = reactive_kvarh(tariff, period_start, energy_kwh)
        if reactive:
            add(C.TRANSPORT, LABELS["reactive"], "kVArh", p.reactive_kvarh, Decimal(reactive))
        add(C.CTA, LABELS["cta"], "€", p.cta_rate, management + fixed)
        add(C.EXCISE, LABELS["excise_elec"], "kWh", p.excise, total_energy)
    else:
        g = gas_prices(tariff.segment, period_start)
        add(C.SUBSCRIPTION, LABELS["subscription"], "mois", g.subscription_month, n)
        add(C.ENERGY, LABELS["energy_gas"], "kWh", g.energy, total_energy)
        regul = sum(regularisation_kwh.values())
        if regul:
            add(
                C.REGULARISATION,
                LABELS["regularisation"].format(register="gaz naturel"),
                "kWh",
                g.energy + g.atrd_variable + g.atrt_variable + g.excise,
                Decimal(regul),
            )
        add(C.TRANSPORT, LABELS["atrd_fixed"], "mois", g.atrd_fixed_month, n)
        add(C.TRANSPORT, LABELS["atrd_variable"], "kWh", g.atrd_variable, total_energy)
        add(C.TRANSPORT, LABELS["atrt"], "kWh", g.atrt_variable, total_energy)
        add(C.CTA, LABELS["cta"], "€", g.cta_rate, g.atrd_fixed_month * n)
        add(C.EXCISE, LABELS["excise_gas"], "kWh", g.excise, total_energy)
    return charges


def reactive_kvarh(tariff: SiteTariff, period_start: date, energy_kwh: dict[str, int]) -> int:
    """The reactive energy billed (kVArh): what the site drew in full hours beyond the free
    allowance of tan φ = 0.4 times its active energy there, none once compensated."""
    if tariff.tan_phi is None or tariff.tan_phi <= REACTIVE_ALLOWANCE:
        return 0
    if tariff.compensated_from is not None and period_start >= tariff.compensated_from:
        return 0
    full_hours = sum(kwh for register, kwh in energy_kwh.items() if register in ("HPH", "HPE"))
    return int((tariff.tan_phi - REACTIVE_ALLOWANCE) * full_hours)


@dataclass(slots=True)
class BuiltInvoice:
    # Rows for Core `insert()`, without ids (shapes.Row; imported from there would be a cycle)
    lines: list[dict[str, Any]]
    sites: list[dict[str, Any]]
    total_excl_tax: Decimal
    vat_reduced: Decimal
    vat_standard: Decimal
    total_incl_tax: Decimal
    consumption_kwh: int
    basis: str
    extra: dict[str, object] = field(default_factory=dict)


def build_invoice(periods: list[SitePeriod]) -> BuiltInvoice:
    """Lines (one per key, rounded once, split exactly over the sites) and per-site rows."""
    index_of = {period.site_id: i for i, period in enumerate(periods)}
    quantities: dict[LineKey, list[Decimal]] = {}
    for period in periods:
        slot = index_of[period.site_id]
        for key, quantity in period.charges:
            per_site = quantities.setdefault(key, [ZERO] * len(periods))
            per_site[slot] += quantity
    keys = sorted(quantities, key=lambda k: (COMPONENT_ORDER[k[0]], k[1], k[3]))

    families = [
        {"subscription": ZERO, "energy": ZERO, "transport": ZERO, "taxes": ZERO} for _ in periods
    ]
    site_bases: list[dict[Decimal, Decimal]] = [{} for _ in periods]
    lines: list[dict[str, object]] = []
    amounts_by_rate: list[tuple[Decimal, Decimal]] = []
    for key in keys:
        component, label, unit, price, rate = key
        per_site = quantities[key]
        shares = split_exact([q * price for q in per_site])
        amount = sum(shares, ZERO)
        lines.append(
            {
                "component": component.value,
                "label": label,
                "quantity": sum(per_site, ZERO),
                "unit": unit,
                "unit_price": price,
                "vat_rate": rate,
                "vat_base": None,
                "amount": amount,
            }
        )
        amounts_by_rate.append((amount, rate))
        family = FAMILY[component]
        for i, share in enumerate(shares):
            families[i][family] += share
            site_bases[i][rate] = site_bases[i].get(rate, ZERO) + share

    site_vat = [ZERO] * len(periods)
    vat_reduced = vat_standard = ZERO
    for vat in vat_by_rate(amounts_by_rate):
        shares = split_exact([bases.get(vat.rate, ZERO) * vat.rate / 100 for bases in site_bases])
        if sum(shares, ZERO) != vat.amount:
            raise AssertionError("VAT split does not add up")
        for i, share in enumerate(shares):
            site_vat[i] += share
        label = LABELS["vat"].format(rate=f"{vat.rate.normalize():f}".replace(".", ","))
        lines.append(
            {
                "component": C.VAT.value,
                "label": label,
                "quantity": None,
                "unit": None,
                "unit_price": None,
                "vat_rate": vat.rate,
                "vat_base": vat.base,
                "amount": vat.amount,
            }
        )
        if vat.rate == Decimal("5.50"):
            vat_reduced += vat.amount
        else:
            vat_standard += vat.amount

    total_excl = sum((amount for amount, _ in amounts_by_rate), ZERO)
    rows: list[dict[str, object]] = []
    for i, period in enumerate(periods):
        fam = families[i]
        excl = fam["subscription"] + fam["energy"] + fam["transport"] + fam["taxes"]
        rows.append(
            {
                "site_id": period.site_id,
                "meter_serial": period.meter_serial,
                "previous_index_on": period.previous_index_on,
                "current_index_on": period.current_index_on,
                "register_indexes": period.register_indexes,
                "index_basis": period.basis,
                "consumption_kwh": period.consumption_kwh,
                "subscription_amount": fam["subscription"],
                "energy_amount": fam["energy"],
                "transport_amount": fam["transport"],
                "taxes_amount": fam["taxes"],
                "total_excl_tax": excl,
                "vat_amount": site_vat[i],
                "total_incl_tax": excl + site_vat[i],
            }
        )
    basis = "ESTIMATED" if any(p.basis == "ESTIMATED" for p in periods) else "ACTUAL"
    return BuiltInvoice(
        lines=lines,
        sites=rows,
        total_excl_tax=total_excl,
        vat_reduced=vat_reduced,
        vat_standard=vat_standard,
        total_incl_tax=total_excl + vat_reduced + vat_standard,
        consumption_kwh=sum(p.consumption_kwh for p in periods),
        basis=basis,
    )
