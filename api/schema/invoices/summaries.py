"""What the billing summaries and the per-site history answer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Self

import strawberry
from strawberry import relay

from api.graphql.scalars import Month
from api.resolvers import invoices
from api.schema.enums import InvoiceKind


@strawberry.type(
    description="Totaux d'un ensemble de factures (annulations déduites). Filtrés sur un site, "
    "ce sont la part de ce site (ses lignes par site), non les factures multi-sites entières."
)
class BillingTotals:
    invoice_count: int = strawberry.field(description="Nombre de factures.")
    consumption_kwh: int = strawberry.field(description="Consommation facturée (kWh).")
    total_excl_tax: Decimal = strawberry.field(description="Total HT.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC.")

    @classmethod
    def of(cls, t: invoices.Totals) -> Self:
        return cls(
            invoice_count=t.invoice_count,
            consumption_kwh=t.consumption_kwh,
            total_excl_tax=t.total_excl_tax,
            total_incl_tax=t.total_incl_tax,
        )


@strawberry.type(
    description="Totaux d'un mois : les factures dont la date comptable tombe dans ce mois."
)
class MonthBillingTotals:
    month: Month = strawberry.field(description="Le mois comptable.")
    totals: BillingTotals = strawberry.field(description="Totaux du mois.")


@strawberry.type(description="Totaux d'un compte de contrat.")
class AccountBillingTotals:
    billing_account_number: str = strawberry.field(description="Numéro du compte de contrat.")
    invoice_label: str = strawberry.field(description="Libellé de facture.")
    totals: BillingTotals = strawberry.field(description="Totaux du compte.")
    billing_account_pk: strawberry.Private[int]

    @strawberry.field(description="Identifiant global du compte de contrat.")
    def billing_account_id(self) -> relay.GlobalID:
        return relay.GlobalID("BillingAccount", str(self.billing_account_pk))


@strawberry.type(description="Bilan de facturation sur 6 mois calendaires au plus.")
class BillingSummary:
    accounting_date_from: date = strawberry.field(
        description="Début de la période retenue : le premier jour de son premier mois."
    )
    accounting_date_to: date = strawberry.field(
        description="Fin de la période retenue : le dernier jour de son dernier mois."
    )
    totals: BillingTotals = strawberry.field(description="Totaux de la période.")
    by_month: list[MonthBillingTotals] = strawberry.field(
        description="Totaux par mois de date comptable : chaque mois de la période, du plus "
        "ancien, y compris ceux sans facture (à zéro)."
    )
    by_billing_account: list[AccountBillingTotals] = strawberry.field(
        description="Totaux par compte de contrat."
    )


@strawberry.type(description="Une facture dans le suivi par compteur d'un site.")
class SiteBillingEntry:
    invoice_number: str = strawberry.field(description="Numéro de facture.")
    kind: InvoiceKind = strawberry.field(description="Nature de la facture.")
    accounting_date: date = strawberry.field(description="Date comptable.")
    period_start: date = strawberry.field(description="Début de période.")
    period_end: date = strawberry.field(description="Fin de période.")
    subscription_amount: Decimal = strawberry.field(description="Abonnement HT.")
    consumption_kwh: int = strawberry.field(description="Consommation (kWh).")
    consumption_amount: Decimal = strawberry.field(description="Consommation HT (€).")
    transport_amount: Decimal = strawberry.field(description="Acheminement HT.")
    taxes_amount: Decimal = strawberry.field(description="Taxes et contributions.")
    total_excl_tax: Decimal = strawberry.field(description="Total HT.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC.")
    cumulated_total_excl_tax: Decimal = strawberry.field(description="Cumul HT.")
    cumulated_total_incl_tax: Decimal = strawberry.field(description="Cumul TTC.")
    invoice_pk: strawberry.Private[int]

    @strawberry.field(description="Identifiant global de la facture.")
    def invoice_id(self) -> relay.GlobalID:
        return relay.GlobalID("Invoice", str(self.invoice_pk))


@strawberry.type(description="Suivi de facturation d'un site (« suivi par compteur »).")
class SiteBillingHistory:
    point_number: str = strawberry.field(description="PRM/PDL ou PCE.")
    entries: list[SiteBillingEntry] = strawberry.field(
        description="Les factures du site, de la plus ancienne à la plus récente."
    )


@strawberry.type(
    description="Résumé de l'accueil : facturé sur les trois derniers mois, chaque facture "
    "comptée dans le mois de sa date comptable."
)
class HomeBillingSummary:
    months: list[MonthBillingTotals] = strawberry.field(
        description="Les trois derniers mois calendaires (le mois en cours compris), du plus "
        "ancien, y compris ceux sans facture."
    )
    totals: BillingTotals = strawberry.field(description="Total des trois mois.")
