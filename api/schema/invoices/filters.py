"""The invoice filter as clients write it, and its translation into the resolvers' query."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry import relay

from api.graphql.ids import capped_pks_of, pk_of, pks_of
from api.graphql.input_limits import max_items
from api.resolvers.invoices import InvoiceQuery
from api.schema.enums import (
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceDelivery,
    InvoiceKind,
    PaymentStatus,
)
from domain import billing
from domain.errors import ErrorCode, Refusal


@strawberry.input(description="Filtre des factures (liste, bilans, exports).")
class InvoiceFilter:
    accounting_date_from: date | None = strawberry.field(
        default=None, description="Date comptable à partir de (incluse)."
    )
    accounting_date_to: date | None = strawberry.field(
        default=None, description="Date comptable jusqu'à (incluse) ; par défaut aujourd'hui."
    )
    billing_account_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Les comptes de contrat (100 au plus)."
    )
    site_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Un site. La liste et les exports ne limitent alors plus la période à 12 "
        "mois (un bilan reste limité à 6 mois) ; les bilans comptent la part de ce site dans "
        "chaque facture.",
    )
    invoice_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None,
        description="Des factures précises (500 au plus).",
        metadata=max_items(billing.MAX_PDF_EXPORT),
    )
    kinds: list[InvoiceKind] | None = strawberry.field(
        default=None, description="Natures : facture, annulation, avoir."
    )
    index_basis: IndexBasis | None = strawberry.field(
        default=None, description="Index réels ou estimés."
    )
    delivery_mode: InvoiceDelivery | None = strawberry.field(
        default=None, description="Mode d'envoi."
    )
    edition_status: EditionStatus | None = strawberry.field(
        default=None, description="État d'édition."
    )
    payment_status: PaymentStatus | None = strawberry.field(
        default=None, description="État de paiement."
    )
    energy: Energy | None = strawberry.field(default=None, description="Énergie.")
    number: str | None = strawberry.field(
        default=None, description="Numéro de facture exact (la période n'est alors pas limitée)."
    )
    min_total_incl_tax: Decimal | None = strawberry.field(
        default=None, description="Montant TTC minimal."
    )
    max_total_incl_tax: Decimal | None = strawberry.field(
        default=None, description="Montant TTC maximal."
    )
    exclude_disputed: bool = strawberry.field(
        default=False,
        description="Vrai : laisse de côté les factures sous contestation en cours (leurs "
        "montants sont contestés), dans la liste comme dans les bilans.",
    )


def to_query(f: InvoiceFilter | None) -> InvoiceQuery:
    """The resolver's query from the GraphQL filter (IDs of the wrong type → not found)."""
    if f is None:
        return InvoiceQuery()
    if len(f.invoice_ids or []) > billing.MAX_PDF_EXPORT:
        raise Refusal(
            ErrorCode.TOO_MANY_ITEMS,
            f"{billing.MAX_PDF_EXPORT} factures au plus.",
            field="invoiceIds",
        )
    return InvoiceQuery(
        accounting_from=f.accounting_date_from,
        accounting_to=f.accounting_date_to,
        billing_account_ids=(
            tuple(capped_pks_of(f.billing_account_ids, "BillingAccount", "billingAccountIds"))
            if f.billing_account_ids is not None
            else None
        ),
        invoice_ids=(
            tuple(pks_of(f.invoice_ids, "Invoice", "invoiceIds"))
            if f.invoice_ids is not None
            else None
        ),
        site_id=pk_of(f.site_id, "Site", "siteId"),
        kinds=tuple(f.kinds or ()),
        index_basis=f.index_basis,
        delivery_mode=f.delivery_mode,
        edition_status=f.edition_status,
        payment_status=f.payment_status,
        energy=f.energy,
        number=f.number,
        min_total_incl_tax=f.min_total_incl_tax,
        max_total_incl_tax=f.max_total_incl_tax,
        exclude_disputed=f.exclude_disputed,
    )
