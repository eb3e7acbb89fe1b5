"""The invoice types: the invoice, its lines, its VAT and its per-site rows, as a client reads
them. Lines and per-site rows arrive already loaded with the list (looked ahead at the
selection); the odd single relation goes through a per-request loader.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from api.graphql.downloads import signed_file_url
from api.graphql.ids import key_of
from api.graphql.loaders import node_by_id_loader, request_loader
from api.resolvers import invoice_pdfs, invoices
from api.resolvers.invoices import InvoiceDetail
from api.schema.enums import (
    EditionStatus,
    Energy,
    IndexBasis,
    InvoiceComponent,
    InvoiceDelivery,
    InvoiceKind,
    PaymentStatus,
)
from api.schema.portfolio import BillingAccount, Site

if TYPE_CHECKING:
    from api.schema.invoice_disputes import InvoiceDispute


@strawberry.type(description="Une ligne de facture : une composante, ou la TVA d'un taux.")
class InvoiceLine:
    position: int = strawberry.field(description="Rang d'impression.")
    component: InvoiceComponent = strawberry.field(description="Composante.")
    label: str = strawberry.field(description="Libellé imprimé.")
    quantity: Decimal | None = strawberry.field(description="Quantité (kWh, mois, kVA.mois…).")
    unit: str | None = strawberry.field(description="Unité de la quantité.")
    unit_price: Decimal | None = strawberry.field(description="Prix unitaire HT.")
    vat_rate: Decimal = strawberry.field(description="Taux de TVA en % (5.50 ou 20.00).")
    vat_base: Decimal | None = strawberry.field(description="Base HT, sur une ligne de TVA.")
    amount: Decimal = strawberry.field(description="Montant HT, ou la TVA sur une ligne de TVA.")

    @classmethod
    def from_row(cls, r: Any) -> Self:
        return cls(
            position=r.position,
            component=r.component,
            label=r.label,
            quantity=r.quantity,
            unit=r.unit,
            unit_price=r.unit_price,
            vat_rate=r.vat_rate,
            vat_base=r.vat_base,
            amount=r.amount,
        )


@strawberry.type(description="La TVA d'un taux et sa base.")
class VatAmount:
    rate: Decimal = strawberry.field(description="Taux en %.")
    base: Decimal = strawberry.field(description="Base HT.")
    amount: Decimal = strawberry.field(description="Montant de TVA.")


@strawberry.type(description="Index imprimé d'un poste horaire.")
class PrintedRegisterIndex:
    register: str = strawberry.field(description="Poste horaire (BASE, HP, HC…).")
    previous: int | None = strawberry.field(description="Index précédent.")
    current: int | None = strawberry.field(description="Nouvel index.")


@strawberry.type(description="La part d'un site dans une facture (multi-sites ou non).")
class InvoiceSiteShare:
    point_number: str = strawberry.field(description="PRM/PDL ou PCE du site.")
    internal_code: str | None = strawberry.field(description="Code interne du client.")
    designation: str | None = strawberry.field(description="Désignation du client.")
    meter_serial: str | None = strawberry.field(description="Compteur relevé.")
    previous_index_on: date | None = strawberry.field(description="Date de l'index précédent.")
    current_index_on: date | None = strawberry.field(description="Date du nouvel index.")
    register_indexes: list[PrintedRegisterIndex] = strawberry.field(description="Index par poste.")
    index_basis: IndexBasis = strawberry.field(description="Index réels ou estimés.")
    consumption_kwh: int = strawberry.field(description="Consommation facturée (kWh).")
    subscription_amount: Decimal = strawberry.field(description="Abonnement HT.")
    energy_amount: Decimal = strawberry.field(
        description="Énergie HT (fourniture, capacité, CEE, régularisation)."
    )
    transport_amount: Decimal = strawberry.field(description="Acheminement HT.")
    taxes_amount: Decimal = strawberry.field(description="Taxes et contributions (CTA, accise…).")
    total_excl_tax: Decimal = strawberry.field(description="Total HT du site.")
    vat_amount: Decimal = strawberry.field(description="TVA du site.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC du site.")
    site_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: Any) -> Self:
        return cls(
            point_number=r.point_number,
            internal_code=r.internal_code,
            designation=r.designation,
            meter_serial=r.meter_serial,
            previous_index_on=r.previous_index_on,
            current_index_on=r.current_index_on,
            register_indexes=[
                PrintedRegisterIndex(
                    register=str(x.get("register", "")),
                    previous=x.get("previous"),
                    current=x.get("current"),
                )
                for x in r.register_indexes or []
            ],
            index_basis=r.index_basis,
            consumption_kwh=r.consumption_kwh,
            subscription_amount=r.subscription_amount,
            energy_amount=r.energy_amount,
            transport_amount=r.transport_amount,
            taxes_amount=r.taxes_amount,
            total_excl_tax=r.total_excl_tax,
            vat_amount=r.vat_amount,
            total_incl_tax=r.total_incl_tax,
            site_id=r.site_id,
        )

    @strawberry.field(description="Le site, s'il est dans votre périmètre.")
    async def site(self, info: strawberry.Info) -> Site | None:
        row = await node_by_id_loader(info.context, "Site").load(self.site_id)
        return Site.from_row(row) if row is not None else None


@strawberry.type(description="Facture, facture d'annulation ou avoir d'un compte de contrat.")
class Invoice(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="Numéro de facture (FA…, AV…, AN…).")
    kind: InvoiceKind = strawberry.field(description="Facture, annulation ou avoir.")
    energy: Energy = strawberry.field(description="Énergie facturée.")
    accounting_date: date = strawberry.field(description="Date comptable (date de facture).")
    period_start: date = strawberry.field(description="Début de la période facturée.")
    period_end: date = strawberry.field(description="Fin de la période facturée.")
    index_basis: IndexBasis = strawberry.field(description="Index réels ou estimés.")
    consumption_kwh: int = strawberry.field(
        description="Consommation facturée (kWh ; négative sur une régularisation)."
    )
    total_excl_tax: Decimal = strawberry.field(description="Total HT.")
    vat_reduced: Decimal = strawberry.field(description="TVA à 5,5 %.")
    vat_standard: Decimal = strawberry.field(description="TVA à 20 %.")
    total_incl_tax: Decimal = strawberry.field(description="Total TTC.")
    due_date: date = strawberry.field(description="Date d'échéance.")
    delivery_mode: InvoiceDelivery = strawberry.field(description="Mode d'envoi.")
    edition_status: EditionStatus = strawberry.field(description="État d'édition.")
    payment_status: PaymentStatus = strawberry.field(description="État de paiement.")
    billing_account_number: str = strawberry.field(description="Numéro du compte de contrat.")
    invoice_label: str = strawberry.field(description="Libellé de facture du compte.")
    billing_account_id: strawberry.Private[int]
    cancels_invoice_id: strawberry.Private[int | None]
    line_rows: strawberry.Private[list[Any] | None]
    site_rows: strawberry.Private[list[Any] | None]

    @classmethod
    def from_detail(cls, d: InvoiceDetail) -> Self:
        r = d.row
        return cls(
            id=r.id,
            number=r.number,
            kind=r.kind,
            energy=r.energy,
            accounting_date=r.accounting_date,
            period_start=r.period_start,
            period_end=r.period_end,
            index_basis=r.index_basis,
            consumption_kwh=r.consumption_kwh,
            total_excl_tax=r.total_excl_tax,
            vat_reduced=r.vat_reduced,
            vat_standard=r.vat_standard,
            total_incl_tax=r.total_incl_tax,
            due_date=r.due_date,
            delivery_mode=r.delivery_mode,
            edition_status=r.edition_status,
            payment_status=r.payment_status,
            billing_account_number=r.billing_account_number,
            invoice_label=r.invoice_label,
            billing_account_id=r.billing_account_id,
            cancels_invoice_id=r.cancels_invoice_id,
            line_rows=d.lines,
            site_rows=d.sites,
        )

    @classmethod
    # strawberry types this method with one overload per `required`; an id outside the
    # perimeter answers None whatever it says, as a missing one does.
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        ids = [key_of(i) for i in node_ids]
        found = await invoices.load_invoices(info.context.sessions, info.context.perimeter, ids)
        return [cls.from_detail(d) if d is not None else None for d in found]

    @strawberry.field(description="Les lignes, dans l'ordre d'impression (TVA comprise).")
    def lines(self) -> list[InvoiceLine]:
        return [InvoiceLine.from_row(r) for r in self.line_rows or []]

    @strawberry.field(description="La TVA par taux, avec sa base.")
    def vat_breakdown(self) -> list[VatAmount]:
        return [
            VatAmount(rate=r.vat_rate, base=r.vat_base, amount=r.amount)
            for r in self.line_rows or []
            if r.component == InvoiceComponent.VAT
        ]

    @strawberry.field(description="La part de chaque site (une seule sur une facture mono-site).")
    def sites(self) -> list[InvoiceSiteShare]:
        return [InvoiceSiteShare.from_row(r) for r in self.site_rows or []]

    @strawberry.field(description="Le compte de contrat facturé.")
    async def billing_account(self, info: strawberry.Info) -> BillingAccount | None:
        row = await node_by_id_loader(info.context, "BillingAccount").load(self.billing_account_id)
        return BillingAccount.from_row(row) if row is not None else None

    @strawberry.field(description="La facture que celle-ci annule (facture d'annulation).")
    async def cancels_invoice(self, info: strawberry.Info) -> Invoice | None:
        if self.cancels_invoice_id is None:
            return None
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[Any]:
            return await invoices.load_invoices(ctx.sessions, ctx.perimeter, ids)

        found = await request_loader(info.context, "InvoiceByIdLoader", load).load(
            self.cancels_invoice_id
        )
        return Invoice.from_detail(found) if found is not None else None

    @strawberry.field(description="La facture d'annulation qui annule celle-ci, s'il y en a une.")
    async def cancelled_by(self, info: strawberry.Info) -> Invoice | None:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[Any]:
            return await invoices.load_invoices(ctx.sessions, ctx.perimeter, ids, by="cancels")

        found = await request_loader(info.context, "InvoiceByCancelledIdLoader", load).load(self.id)
        return Invoice.from_detail(found) if found is not None else None

    @strawberry.field(
        description="La contestation de cette facture (ou celle qu'elle règle, pour une facture "
        "d'annulation ou une nouvelle facture) ; null si aucune."
    )
    async def dispute(
        self, info: strawberry.Info
    ) -> Annotated[InvoiceDispute, strawberry.lazy("api.schema.invoice_disputes")] | None:
        from api.schema.invoice_disputes import dispute_of_invoice

        return await dispute_of_invoice(info, self.id)

    @strawberry.field(
        description="Lien signé vers le PDF de la facture, valable quelques minutes (celui du "
        "système de facturation, sinon rendu à partir des données de la facture)."
    )
    async def pdf_url(self, info: strawberry.Info) -> str | None:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[str | None]:
            keys = await invoice_pdfs.ensure_pdfs(ctx.sessions, ctx.settings, ctx.perimeter, ids)
            return [keys.get(i) for i in ids]

        key = await request_loader(info.context, "InvoicePdfKeyByIdLoader", load).load(self.id)
        return signed_file_url(ctx.settings, key) if key else None
